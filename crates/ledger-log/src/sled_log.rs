//! The old embedded event log (before the segment log): kept as the source of `ledger migrate`
//! and as a benchmark candidate. One sled tree holding every partition, keyed
//! `partition (u32 BE) ‖ offset (u64 BE)` so a partition is one contiguous, ordered range and one
//! `apply_batch` appends to several partitions atomically.
//!
//! Durability: `append` applies one sled batch and then `flush`es (fsync) before it returns, so an
//! acknowledged append survives a crash; an append interrupted by a crash is either entirely
//! present or entirely absent after recovery (sled batches are atomic).

use ledger_core::envelope::stored_hash;
use ledger_core::log::{EventLog, LogError, PartitionHead, StoredEvent};
use std::path::Path;
use std::sync::Mutex;

const EVENTS_TREE: &str = "events";
const META_TREE: &str = "meta";
const META_PARTITIONS: &[u8] = b"partitions";

pub struct SledLog {
    db: sled::Db,
    events: sled::Tree,
    partitions: u32,
    /// Heads of every partition, loaded at open and advanced by `append`. The mutex also makes
    /// appends from several threads take turns.
    heads: Mutex<Vec<PartitionHead>>,
}

fn storage(e: impl std::fmt::Display) -> LogError {
    LogError::Storage(e.to_string())
}

fn event_key(partition: u32, offset: u64) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..4].copy_from_slice(&partition.to_be_bytes());
    key[4..].copy_from_slice(&offset.to_be_bytes());
    key
}

fn split_key(key: &[u8]) -> Result<(u32, u64), LogError> {
    if key.len() != 12 {
        return Err(storage(format!("bad event key length {}", key.len())));
    }
    let partition = u32::from_be_bytes(key[..4].try_into().expect("4 bytes"));
    let offset = u64::from_be_bytes(key[4..].try_into().expect("8 bytes"));
    Ok((partition, offset))
}

impl SledLog {
    /// Opens the log in `dir`, creating it with `partitions` partitions when it does not exist
    /// yet; an existing log keeps the count it was created with.
    pub fn open_or_create(dir: &Path, partitions: u32) -> Result<Self, LogError> {
        let stored = Self::stored_partitions(dir)?;
        Self::open(
            dir,
            crate::partitions_to_open(dir, stored, Some(partitions))?,
        )
    }

    /// Opens an existing log with the partition count it was created with.
    pub fn open_existing(dir: &Path) -> Result<Self, LogError> {
        let stored = Self::stored_partitions(dir)?;
        Self::open(dir, crate::partitions_to_open(dir, stored, None)?)
    }

    fn stored_partitions(dir: &Path) -> Result<Option<u32>, LogError> {
        if !dir.join("conf").exists() {
            return Ok(None);
        }
        let db = sled::Config::new().path(dir).open().map_err(storage)?;
        let meta = db.open_tree(META_TREE).map_err(storage)?;
        let stored = meta.get(META_PARTITIONS).map_err(storage)?;
        Ok(stored.and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes)))
    }

    /// Opens (or creates) the log in `dir`. The partition count is fixed when the log is created;
    /// opening it with another count is an error, because keys would land in other partitions.
    pub fn open(dir: &Path, partitions: u32) -> Result<Self, LogError> {
        if partitions == 0 {
            return Err(storage("partition count must be at least 1"));
        }
        let db = sled::Config::new()
            .path(dir)
            .flush_every_ms(None)
            .open()
            .map_err(storage)?;
        let meta = db.open_tree(META_TREE).map_err(storage)?;
        match meta.get(META_PARTITIONS).map_err(storage)? {
            Some(stored) => {
                let stored = u32::from_be_bytes(
                    stored
                        .as_ref()
                        .try_into()
                        .map_err(|_| storage("bad partition count"))?,
                );
                if stored != partitions {
                    return Err(storage(format!(
                        "log in {} has {stored} partitions, asked for {partitions}",
                        dir.display()
                    )));
                }
            }
            None => {
                meta.insert(META_PARTITIONS, &partitions.to_be_bytes())
                    .map_err(storage)?;
                db.flush().map_err(storage)?;
            }
        }
        let events = db.open_tree(EVENTS_TREE).map_err(storage)?;
        let mut heads = vec![PartitionHead::default(); partitions as usize];
        for (p, head) in heads.iter_mut().enumerate() {
            let range = event_key(p as u32, 0)..=event_key(p as u32, u64::MAX);
            if let Some(entry) = events.range(range).next_back() {
                let (key, value) = entry.map_err(storage)?;
                let (_, offset) = split_key(&key)?;
                *head = PartitionHead {
                    next_offset: offset + 1,
                    last_hash: stored_hash(&value)
                        .ok_or_else(|| storage(format!("event {p}:{offset} has no hash")))?,
                };
            }
        }
        Ok(SledLog {
            db,
            events,
            partitions,
            heads: Mutex::new(heads),
        })
    }

    /// Overwrites stored bytes in place. Only for tests and tools that prove `verify` catches
    /// tampering; the ledger itself never rewrites the log.
    pub fn tamper(
        &self,
        partition: u32,
        offset: u64,
        bytes: Option<&[u8]>,
    ) -> Result<(), LogError> {
        let key = event_key(partition, offset);
        match bytes {
            Some(b) => self.events.insert(key, b).map(|_| ()),
            None => self.events.remove(key).map(|_| ()),
        }
        .map_err(storage)?;
        self.db.flush().map_err(storage)?;
        Ok(())
    }

    /// Bytes on disk of the log, for benchmarks and scale reports.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

impl EventLog for SledLog {
    fn partitions(&self) -> u32 {
        self.partitions
    }

    /// Durable on return: one atomic sled batch, then an fsync.
    fn append(&self, events: &[StoredEvent]) -> Result<(), LogError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut heads = self
            .heads
            .lock()
            .map_err(|_| storage("log lock poisoned"))?;
        let mut next = heads.clone();
        let mut batch = sled::Batch::default();
        for e in events {
            let head = next
                .get_mut(e.partition as usize)
                .ok_or(LogError::NoSuchPartition(e.partition))?;
            if e.offset != head.next_offset {
                return Err(LogError::NotDense {
                    partition: e.partition,
                    offset: e.offset,
                    expected: head.next_offset,
                });
            }
            head.next_offset += 1;
            head.last_hash = stored_hash(&e.bytes).ok_or_else(|| {
                storage(format!("event {}:{} is not sealed", e.partition, e.offset))
            })?;
            batch.insert(&event_key(e.partition, e.offset), e.bytes.as_slice());
        }
        self.events.apply_batch(batch).map_err(storage)?;
        self.db.flush().map_err(storage)?;
        *heads = next;
        Ok(())
    }

    fn read(&self, partition: u32, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError> {
        if partition >= self.partitions {
            return Err(LogError::NoSuchPartition(partition));
        }
        let mut out = Vec::new();
        for entry in self
            .events
            .range(event_key(partition, from)..=event_key(partition, u64::MAX))
            .take(max)
        {
            let (key, value) = entry.map_err(storage)?;
            let (_, offset) = split_key(&key)?;
            out.push(StoredEvent {
                partition,
                offset,
                bytes: value.to_vec(),
            });
        }
        Ok(out)
    }

    fn head(&self, partition: u32) -> Result<PartitionHead, LogError> {
        let heads = self
            .heads
            .lock()
            .map_err(|_| storage("log lock poisoned"))?;
        heads
            .get(partition as usize)
            .copied()
            .ok_or(LogError::NoSuchPartition(partition))
    }
}
