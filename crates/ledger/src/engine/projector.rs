//! The projector: reads each partition of the log from the read store's stored position and
//! applies events in atomic batches (read models + position together, invariant 4), so after a
//! crash it resumes exactly where the last committed batch ended.

use anyhow::Context;
use ledger_api::Metrics;
use ledger_core::{EventEnvelope, EventLog};
use ledger_store::ReadStore;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Events applied per sled batch.
pub const PROJECT_BATCH: usize = 2048;

/// A wake-up signal from the writer: "the log grew".
#[derive(Clone)]
pub struct Wake(Arc<(Mutex<u64>, Condvar)>);

impl Wake {
    pub fn new() -> Self {
        Wake(Arc::new((Mutex::new(0), Condvar::new())))
    }

    pub fn notify(&self) {
        let (lock, cv) = &*self.0;
        if let Ok(mut generation) = lock.lock() {
            *generation += 1;
            cv.notify_all();
        }
    }

    /// Waits for a notification newer than `seen`, at most `timeout`; returns the generation.
    pub fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let (lock, cv) = &*self.0;
        let Ok(generation) = lock.lock() else {
            return seen;
        };
        match cv.wait_timeout_while(generation, timeout, |g| *g == seen) {
            Ok((g, _)) => *g,
            Err(_) => seen,
        }
    }
}

impl Default for Wake {
    fn default() -> Self {
        Self::new()
    }
}

/// Applies one batch of partition `p` (at most `limit` as next offset); returns the new
/// position, or None when there was nothing to apply.
fn step(
    log: &dyn EventLog,
    store: &ReadStore,
    p: u32,
    limit: Option<u64>,
) -> anyhow::Result<Option<u64>> {
    let from = store.position(p)?;
    let max = match limit {
        Some(l) if l <= from => return Ok(None),
        Some(l) => ((l - from) as usize).min(PROJECT_BATCH),
        None => PROJECT_BATCH,
    };
    let stored = log.read(p, from, max)?;
    if stored.is_empty() {
        return Ok(None);
    }
    let envelopes = stored
        .iter()
        .map(|e| {
            EventEnvelope::decode(&e.bytes)
                .with_context(|| format!("event {}:{} cannot be projected", e.partition, e.offset))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(store.apply(p, &envelopes)?))
}

/// Applies everything in the log (or up to `until[p]` per partition) and returns the positions.
/// `progress` is called with the number of events applied by each batch.
pub fn catch_up(
    log: &dyn EventLog,
    store: &ReadStore,
    until: Option<&[u64]>,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<Vec<u64>> {
    let mut positions = Vec::with_capacity(log.partitions() as usize);
    for p in 0..log.partitions() {
        let limit = until.map(|u| u.get(p as usize).copied().unwrap_or(0));
        let mut position = store.position(p)?;
        while let Some(next) = step(log, store, p, limit)? {
            progress(next - position);
            position = next;
        }
        positions.push(position);
    }
    Ok(positions)
}

pub struct Projector {
    pub log: Arc<dyn EventLog>,
    pub store: Arc<ReadStore>,
    pub applied: watch::Sender<Vec<u64>>,
    pub wake: Wake,
    pub stop: Arc<AtomicBool>,
    pub metrics: Arc<Metrics>,
}

impl Projector {
    pub fn run(self) {
        let mut seen = 0;
        loop {
            let mut progressed = false;
            for p in 0..self.log.partitions() {
                let started = Instant::now();
                match step(self.log.as_ref(), &self.store, p, None) {
                    Ok(Some(next)) => {
                        self.metrics.observe_project(started.elapsed());
                        progressed = true;
                        self.applied
                            .send_modify(|positions| positions[p as usize] = next);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(partition = p, error = %e, "projection stalled");
                    }
                }
            }
            if !progressed {
                if self.stop.load(Ordering::SeqCst) {
                    return;
                }
                seen = self.wake.wait(seen, Duration::from_millis(50));
            }
        }
    }
}
