//! `ledger replay`: rebuild every read model from the log (or a prefix of it) into a fresh store,
//! and the replays behind `at=` queries. The output directory is laid out like a data dir
//! without a log (`OUT/store`, plus `OUT/replay.json` naming the positions), so
//! `ledger serve --data-dir OUT --read-only` serves it.

use super::progress::Progress;
use crate::engine::projector::catch_up;
use anyhow::Context;
use chrono::{DateTime, Utc};
use ledger_api::audit::{History, format_positions, parse_positions};
use ledger_core::{EventEnvelope, EventLog, ReadModels};
use ledger_store::ReadStore;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What `replay.json` records about a replayed store.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReplayInfo {
    pub partitions: u32,
    /// Next offset applied per partition.
    pub positions: Vec<u64>,
    pub until_offset: Option<String>,
    pub until_time: Option<DateTime<Utc>>,
    pub events: u64,
    pub read_model_digest: String,
}

pub const REPLAY_INFO: &str = "replay.json";

pub fn read_info(data_dir: &Path) -> anyhow::Result<Option<ReplayInfo>> {
    let path = data_dir.join(REPLAY_INFO);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Some(serde_json::from_slice(&text)?))
}

/// Per partition, the next offset a replay stops at: the log's end, cut by `until_offset`
/// (`P:N,…`, exclusive; unnamed partitions 0, as in `at=`) and by `until_time` (the first event
/// recorded after it).
pub fn limits(
    log: &dyn EventLog,
    until_offset: Option<&str>,
    until_time: Option<DateTime<Utc>>,
) -> anyhow::Result<Vec<u64>> {
    let n = log.partitions() as usize;
    let mut limits: Vec<u64> = (0..n as u32)
        .map(|p| log.head(p).map(|h| h.next_offset))
        .collect::<Result<_, _>>()?;
    if let Some(text) = until_offset {
        // A position names the whole state: a partition it leaves out had no events yet.
        let cut = parse_positions(text, n).map_err(anyhow::Error::msg)?;
        // Past the end is refused, not clamped: a position beyond the log names a state this
        // log never had (another node's, a typo), and a replay of less would pass for it.
        for (p, (limit, cut)) in limits.iter_mut().zip(cut).enumerate() {
            anyhow::ensure!(
                cut <= *limit,
                "--until-offset {p}:{cut} is past the end of partition {p}, which ends at \
                 offset {limit} (its next offset)"
            );
            *limit = cut;
        }
    }
    if let Some(t) = until_time {
        for (p, limit) in limits.iter_mut().enumerate() {
            *limit = first_after(log, p as u32, *limit, t)?;
        }
    }
    Ok(limits)
}

/// The offset of the first event of `p` below `limit` recorded after `t` (else `limit`). The
/// writer stamps `recorded_at` in append order, so everything before it is at or before `t`.
fn first_after(log: &dyn EventLog, p: u32, limit: u64, t: DateTime<Utc>) -> anyhow::Result<u64> {
    let mut from = 0;
    while from < limit {
        let batch = log.read(p, from, 4096.min((limit - from) as usize))?;
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            let env = EventEnvelope::decode(&e.bytes)
                .with_context(|| format!("event {p}:{} cannot be read", e.offset))?;
            if env.recorded_at > t {
                return Ok(e.offset);
            }
        }
        from = batch.last().map(|e| e.offset + 1).unwrap_or(limit);
    }
    Ok(limit)
}

/// Replays `log` up to `limits` into `OUT/store` (which must not exist) and writes `replay.json`.
pub fn replay_into(
    log: &dyn EventLog,
    out: &Path,
    limits: &[u64],
    until_offset: Option<String>,
    until_time: Option<DateTime<Utc>>,
) -> anyhow::Result<ReplayInfo> {
    let store_dir = crate::store_dir(out);
    anyhow::ensure!(
        !store_dir.exists(),
        "{} already exists: replay builds a fresh store",
        store_dir.display()
    );
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let store = ReadStore::open(&store_dir)?;
    let total: u64 = limits.iter().sum();
    let mut progress = Progress::new("replay", total);
    let positions = catch_up(log, &store, Some(limits), &mut |n| progress.inc(n))?;
    progress.finish();
    store.flush()?;
    let info = ReplayInfo {
        partitions: log.partitions(),
        events: positions.iter().sum(),
        positions,
        until_offset,
        until_time,
        read_model_digest: store.digest()?,
    };
    std::fs::write(out.join(REPLAY_INFO), serde_json::to_vec_pretty(&info)?)?;
    Ok(info)
}

/// Replays for `at=` queries, one scratch store per position, the last few kept within a disk
/// budget; an evicted store's directory is deleted. The API lets only authenticated callers
/// ask, one replay at a time.
pub struct LogHistory {
    log: Arc<dyn EventLog>,
    dir: PathBuf,
    budget_bytes: u64,
    cache: Mutex<Vec<Cached>>,
}

struct Cached {
    positions: Vec<u64>,
    store: Arc<ReadStore>,
    dir: PathBuf,
}

/// How many replayed positions `at=` keeps open.
const HISTORY_CACHE: usize = 4;

/// Disk the kept replays may take together (the newest is kept even when larger, as it is
/// being answered from).
pub const HISTORY_BUDGET_BYTES: u64 = 256 << 20;

/// Empties the `at=` replay directory. Best effort: whatever it holds is scratch, and a
/// directory that cannot be emptied must never stop the node from starting.
pub fn clear_at_cache(dir: &Path) {
    if dir.exists()
        && let Err(e) = std::fs::remove_dir_all(dir)
    {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot empty the at= replay directory");
    }
}

impl LogHistory {
    /// Scratch stores live under `dir`, which is emptied first (best effort).
    pub fn new(log: Arc<dyn EventLog>, dir: PathBuf, budget_bytes: u64) -> Self {
        clear_at_cache(&dir);
        LogHistory {
            log,
            dir,
            budget_bytes,
            cache: Mutex::new(Vec::new()),
        }
    }

    /// Drops the oldest kept replay and deletes its directory. The store may still be answering
    /// a request (its `Arc`); its open files stay readable until it is dropped.
    fn evict_oldest(cache: &mut Vec<Cached>) {
        let old = cache.remove(0);
        drop(old.store);
        if let Err(e) = std::fs::remove_dir_all(&old.dir) {
            tracing::warn!(dir = %old.dir.display(), error = %e, "cannot delete an evicted replay");
        }
    }
}

impl History for LogHistory {
    fn log(&self) -> Option<Arc<dyn EventLog>> {
        Some(self.log.clone())
    }

    fn store_at(&self, positions: &[u64]) -> Result<Arc<dyn ReadModels>, String> {
        let mut cache = self.cache.lock().map_err(|e| e.to_string())?;
        if let Some(c) = cache.iter().find(|c| c.positions == positions) {
            return Ok(c.store.clone());
        }
        while cache.len() >= HISTORY_CACHE {
            Self::evict_oldest(&mut cache);
        }
        let name = format_positions(positions).replace([':', ','], "_");
        let dir = self.dir.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
        }
        let store = ReadStore::open(&dir).map_err(|e| e.to_string())?;
        let replayed = catch_up(self.log.as_ref(), &store, Some(positions), &mut |_| {});
        let store = Arc::new(store);
        if let Err(e) = replayed {
            drop(store);
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e.to_string());
        }
        cache.push(Cached {
            positions: positions.to_vec(),
            store: store.clone(),
            dir,
        });
        let size = |c: &Cached| c.store.size_on_disk().unwrap_or(0);
        while cache.len() > 1 && cache.iter().map(size).sum::<u64>() > self.budget_bytes {
            Self::evict_oldest(&mut cache);
        }
        Ok(store)
    }
}
