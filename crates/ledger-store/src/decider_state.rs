//! The decider's keyed state on sled (the `ledger_core::keyed::StateStore` port): one tree in
//! the read store's database, holding one row per entity a decision reads plus, per partition,
//! the log position those rows reflect (the checkpoint).
//!
//! Durability: `commit` writes a group's rows and the new checkpoints in one atomic sled batch,
//! without an fsync of its own. After a crash the tree holds some prefix of the committed
//! batches, each whole, so the rows always agree with their checkpoint; the decider then folds
//! the log from the checkpoint on (the log is the durable record).

use ledger_core::Sha256Hash;
use ledger_core::keyed::{RowBytes, RowChange, StateError, StateStore};
use ledger_core::log::PartitionHead;

/// Checkpoint rows: `0xff ‖ "ckpt" ‖ partition (u32 BE)`. No state key starts with 0xff.
const CHECKPOINT: &[u8] = b"\xffckpt";

fn storage(e: sled::Error) -> StateError {
    StateError::Storage(e.to_string())
}

fn checkpoint_key(partition: u32) -> Vec<u8> {
    let mut key = CHECKPOINT.to_vec();
    key.extend_from_slice(&partition.to_be_bytes());
    key
}

#[derive(Clone)]
pub struct SledStateStore {
    tree: sled::Tree,
}

impl SledStateStore {
    pub(crate) fn new(tree: sled::Tree) -> Self {
        SledStateStore { tree }
    }
}

impl StateStore for SledStateStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.tree.get(key).map_err(storage)?.map(|v| v.to_vec()))
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<RowBytes>, StateError> {
        self.tree
            .scan_prefix(prefix)
            .map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(storage))
            .collect()
    }

    fn checkpoint(&self, partition: u32) -> Result<Option<PartitionHead>, StateError> {
        let Some(v) = self.tree.get(checkpoint_key(partition)).map_err(storage)? else {
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
        let mut batch = sled::Batch::default();
        for (k, v) in rows {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        for (p, head) in heads {
            let mut value = head.next_offset.to_be_bytes().to_vec();
            value.extend_from_slice(&head.last_hash.0);
            batch.insert(checkpoint_key(*p), value);
        }
        self.tree.apply_batch(batch).map_err(storage)
    }

    fn clear(&self) -> Result<(), StateError> {
        self.tree.clear().map_err(storage)
    }
}
