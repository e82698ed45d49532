//! A decider state store that misbehaves on demand, for the crash and full-disk tests: its
//! commits fail (a full disk) or are silently lost (a process killed between a group's durable
//! append and its state commit).

use ledger_core::keyed::{RowBytes, RowChange, StateError, StateStore};
use ledger_core::log::PartitionHead;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct FaultyState<S> {
    pub inner: S,
    /// Commits fail while set.
    pub full: AtomicBool,
    /// The next commit reports success but writes nothing.
    pub lose_next_commit: AtomicBool,
}

impl<S> FaultyState<S> {
    pub fn new(inner: S) -> Self {
        FaultyState {
            inner,
            full: AtomicBool::new(false),
            lose_next_commit: AtomicBool::new(false),
        }
    }
}

impl<S: StateStore> StateStore for FaultyState<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.inner.get(key)
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<RowBytes>, StateError> {
        self.inner.scan_prefix(prefix)
    }
    fn checkpoint(&self, partition: u32) -> Result<Option<PartitionHead>, StateError> {
        self.inner.checkpoint(partition)
    }
    fn commit(
        &self,
        rows: Vec<RowChange>,
        heads: &[(u32, PartitionHead)],
    ) -> Result<(), StateError> {
        if self.full.load(Ordering::SeqCst) {
            return Err(StateError::Storage("No space left on device".into()));
        }
        if self.lose_next_commit.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        self.inner.commit(rows, heads)
    }
    fn clear(&self) -> Result<(), StateError> {
        self.inner.clear()
    }
}
