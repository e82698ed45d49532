//! The decider's keyed state (the `ledger_core::keyed::StateStore` port): its own redb file
//! beside the read models (a tree of the read store's database on a sled store), holding one row
//! per entity a decision reads plus, per partition, the log position those rows reflect (the
//! checkpoint). A file of its own, because the writer commits here while the projector commits
//! the read models: two files are two writers that never wait for each other.
//!
//! Durability: `commit` writes a group's rows and the new checkpoints in one atomic transaction,
//! without an fsync of its own (see `kv`). After a crash the store holds some prefix of the
//! committed groups, each whole, so the rows always agree with their checkpoint; the decider then
//! folds the log from the checkpoint on (the log is the durable record).

use ledger_core::Sha256Hash;
use ledger_core::keyed::{RowBytes, RowChange, StateError, StateStore};
use ledger_core::log::PartitionHead;
use std::sync::Arc;

use crate::kv::Kv;
use crate::store::StoreError;

/// Checkpoint rows: `0xff ‖ "ckpt" ‖ partition (u32 BE)`. No state key starts with 0xff.
const CHECKPOINT: &[u8] = b"\xffckpt";

fn storage(e: StoreError) -> StateError {
    StateError::Storage(e.to_string())
}

fn checkpoint_key(partition: u32) -> Vec<u8> {
    let mut key = CHECKPOINT.to_vec();
    key.extend_from_slice(&partition.to_be_bytes());
    key
}

#[derive(Clone)]
pub struct DeciderState {
    kv: Arc<Kv>,
}

impl DeciderState {
    pub(crate) fn new(kv: Arc<Kv>) -> Self {
        DeciderState { kv }
    }
}

impl StateStore for DeciderState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.kv.get(key).map_err(storage)
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<RowBytes>, StateError> {
        self.kv.scan_prefix(prefix).map_err(storage)
    }

    fn checkpoint(&self, partition: u32) -> Result<Option<PartitionHead>, StateError> {
        let Some(v) = self.kv.get(&checkpoint_key(partition)).map_err(storage)? else {
            return Ok(None);
        };
        let corrupt = || StateError::Corrupt {
            key: format!("checkpoint {partition}"),
            reason: "not 40 bytes".into(),
        };
        if v.len() != 40 {
            return Err(corrupt());
        }
        Ok(Some(PartitionHead {
            next_offset: u64::from_be_bytes(v[..8].try_into().map_err(|_| corrupt())?),
            last_hash: Sha256Hash(v[8..40].try_into().map_err(|_| corrupt())?),
        }))
    }

    /// One atomic batch: the rows and the checkpoints survive a crash together or not at all.
    fn commit(
        &self,
        rows: Vec<RowChange>,
        heads: &[(u32, PartitionHead)],
    ) -> Result<(), StateError> {
        let checkpoints: Vec<(Vec<u8>, Vec<u8>)> = heads
            .iter()
            .map(|(p, head)| {
                let mut value = head.next_offset.to_be_bytes().to_vec();
                value.extend_from_slice(&head.last_hash.0);
                (checkpoint_key(*p), value)
            })
            .collect();
        self.kv
            .write(
                rows.iter()
                    .map(|(k, v)| (k.as_slice(), v.as_deref()))
                    .chain(
                        checkpoints
                            .iter()
                            .map(|(k, v)| (k.as_slice(), Some(v.as_slice()))),
                    ),
            )
            .map_err(storage)
    }

    fn clear(&self) -> Result<(), StateError> {
        self.kv.clear().map_err(storage)
    }
}
