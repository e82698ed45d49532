//! The projector: reads each partition of the log from the read store's stored position and
//! applies events in atomic batches (read models + position together, invariant 4), so after a
//! crash it resumes exactly where the last committed batch ended.
//!
//! In embedded mode the writer also hands the projector the envelopes it has just sealed and
//! appended ([`Fresh`]), so the live path does not read back and re-decode (re-hash) what this
//! process wrote a moment ago; the log stays the source of truth: a handed-over event is used
//! only when it is exactly the next one the store needs, and anything else is read from the log.

use anyhow::Context;
use ledger_api::Metrics;
use ledger_core::{EventEnvelope, EventLog};
use ledger_store::ReadStore;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Events applied per store transaction.
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

/// Envelopes the writer sealed and appended, waiting for the projector (embedded mode). Bounded:
/// when the projector is far behind, the writer stops handing over and the projector reads the
/// log instead, so memory stays flat.
#[derive(Clone, Default)]
pub struct Fresh(Arc<Mutex<Vec<EventEnvelope>>>);

/// Handed-over envelopes kept at most; beyond it the projector reads the log.
const FRESH_CAP: usize = 16_384;

impl Fresh {
    /// Hands over envelopes that are durable in the log, in append order.
    pub fn push(&self, envelopes: Vec<EventEnvelope>) {
        if let Ok(mut fresh) = self.0.lock()
            && fresh.len() + envelopes.len() <= FRESH_CAP
        {
            fresh.extend(envelopes);
        }
    }

    fn take(&self) -> Vec<EventEnvelope> {
        self.0
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default()
    }
}

/// The applied positions the waiting requests watch, and the lock every application to the read
/// store takes: the projector thread and (embedded mode) the writer projecting its own group
/// apply under it, so no event is applied twice and a published position only grows.
#[derive(Clone)]
pub struct Applied(Arc<(watch::Sender<Vec<u64>>, Mutex<()>)>);

impl From<watch::Sender<Vec<u64>>> for Applied {
    fn from(positions: watch::Sender<Vec<u64>>) -> Self {
        Applied(Arc::new((positions, Mutex::new(()))))
    }
}

impl Applied {
    /// Runs `apply` (which returns the new positions of the partitions it moved) under the lock
    /// and publishes what moved.
    pub fn apply<E>(
        &self,
        apply: impl FnOnce() -> Result<BTreeMap<u32, u64>, E>,
    ) -> Result<BTreeMap<u32, u64>, E> {
        let (positions, lock) = &*self.0;
        let _applying = lock.lock().unwrap_or_else(|e| e.into_inner());
        let moved = apply()?;
        if !moved.is_empty() {
            positions.send_modify(|positions| {
                for (p, next) in &moved {
                    positions[*p as usize] = *next;
                }
            });
        }
        Ok(moved)
    }
}

/// The writer's own projection (embedded mode): a group is applied to the read store by the
/// writer thread right after its append and state commit, so the group's requests are answered
/// without waiting for the projector thread to be scheduled (issue 19). When the store is not
/// at the group's start (the projector is still catching up after a start, or the store
/// failed), nothing is applied and the group goes to the projector as before.
pub struct InStep {
    pub store: Arc<ReadStore>,
    pub applied: Applied,
    pub metrics: Arc<Metrics>,
}

impl InStep {
    /// Applies `sealed` (a group just made durable); returns it back when it was not applied.
    pub fn project(&self, sealed: Vec<EventEnvelope>) -> Option<Vec<EventEnvelope>> {
        let started = Instant::now();
        match self.applied.apply(|| self.store.apply_all(&sealed)) {
            Ok(_) => {
                self.metrics.observe_project(started.elapsed());
                None
            }
            Err(e) => {
                tracing::debug!(error = %e, "the writer did not project its group; the projector will");
                Some(sealed)
            }
        }
    }
}

/// The envelopes of the groups the writer made durable most recently (embedded mode), by
/// position: a command's reply reads its own events from here instead of reading and decoding
/// them from the log on the blocking pool (8 % of the command path's samples, issue 19). Only
/// durable groups are put here, and a range not wholly here is read from the log.
#[derive(Clone, Default)]
pub struct Recent(Arc<Mutex<RecentEnvelopes>>);

#[derive(Default)]
struct RecentEnvelopes {
    by_position: std::collections::HashMap<(u32, u64), EventEnvelope>,
    order: VecDeque<(u32, u64)>,
}

/// Recent envelopes kept at most (a few groups of [`super::MAX_GROUP`]).
const RECENT_CAP: usize = 8_192;

impl Recent {
    /// Remembers envelopes of a durable append, forgetting the oldest beyond the cap.
    pub fn push(&self, envelopes: &[EventEnvelope]) {
        let Ok(mut recent) = self.0.lock() else {
            return;
        };
        for env in envelopes {
            let position = (env.partition, env.offset);
            if recent.by_position.insert(position, env.clone()).is_none() {
                recent.order.push_back(position);
            }
        }
        while recent.order.len() > RECENT_CAP {
            if let Some(oldest) = recent.order.pop_front() {
                recent.by_position.remove(&oldest);
            }
        }
    }

    /// Events `first..=last` of `partition`, when every one of them is here.
    pub fn get(&self, partition: u32, first: u64, last: u64) -> Option<Vec<EventEnvelope>> {
        let recent = self.0.lock().ok()?;
        (first..=last)
            .map(|offset| recent.by_position.get(&(partition, offset)).cloned())
            .collect()
    }
}

/// Handed-over envelopes by partition, in offset order, kept across rounds.
type Pending = BTreeMap<u32, VecDeque<EventEnvelope>>;

/// One projector round: reads up to [`PROJECT_BATCH`] events of every partition from the
/// store's position and applies them all in one atomic batch.
/// Returns the new positions of the partitions that moved (empty when nothing was pending).
/// Handed-over envelopes in `pending` are used where they continue a partition exactly; the log
/// is read for the rest (up to where the handed-over run begins).
fn round(
    log: &dyn EventLog,
    store: &ReadStore,
    pending: &mut Pending,
) -> anyhow::Result<BTreeMap<u32, u64>> {
    let mut envelopes = Vec::new();
    for p in 0..log.partitions() {
        let from = store.position(p)?;
        let mut limit = None;
        if let Some(run) = pending.get_mut(&p) {
            while run.front().is_some_and(|e| e.offset < from) {
                run.pop_front();
            }
            match run.front().map(|e| e.offset) {
                Some(first) if first == from => {
                    // Only the dense prefix: a push dropped at the cap leaves a gap, which the
                    // next round reads from the log.
                    let dense = run
                        .iter()
                        .zip(from..)
                        .take(PROJECT_BATCH)
                        .take_while(|(e, offset)| e.offset == *offset)
                        .count();
                    envelopes.extend(run.drain(..dense));
                    continue;
                }
                Some(first) => limit = Some(first),
                None => {}
            }
        }
        if let Some(max) = batch_len(from, limit) {
            envelopes.extend(read_decoded(log, p, from, max)?);
        }
    }
    if envelopes.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(store.apply_all(&envelopes)?)
}

/// Applies everything in the log (or up to `until[p]` per partition) and returns the positions.
/// `progress` is called with the number of events applied by each batch.
///
/// Reading and decoding (JSON parse and hash check) run on a second thread, one round ahead of
/// the thread applying to the store, so a rebuild uses both cores. Only this function writes
/// the store while it runs, so the reader can track positions itself.
pub fn catch_up(
    log: &dyn EventLog,
    store: &ReadStore,
    until: Option<&[u64]>,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<Vec<u64>> {
    let mut positions = (0..log.partitions())
        .map(|p| store.position(p))
        .collect::<Result<Vec<u64>, _>>()?;
    let start = positions.clone();
    std::thread::scope(|scope| {
        let (batches, decoded) = std::sync::mpsc::sync_channel(2);
        scope.spawn(move || read_ahead(log, start, until, &batches));
        let applied = (|| {
            for batch in decoded.iter() {
                let moved = store.apply_all(&batch?)?;
                for (p, next) in moved {
                    progress(next - positions[p as usize]);
                    positions[p as usize] = next;
                }
            }
            anyhow::Ok(())
        })();
        // Dropping the receiver stops a reader still waiting to hand over a batch.
        drop(decoded);
        applied
    })?;
    Ok(positions)
}

/// The reading half of [`catch_up`]: sends decoded rounds (up to [`PROJECT_BATCH`] events per
/// partition) from `next` on, until a round finds nothing or the receiver is gone.
fn read_ahead(
    log: &dyn EventLog,
    mut next: Vec<u64>,
    until: Option<&[u64]>,
    batches: &std::sync::mpsc::SyncSender<anyhow::Result<Vec<EventEnvelope>>>,
) {
    loop {
        let mut round = Vec::new();
        for p in 0..log.partitions() {
            let from = next[p as usize];
            let limit = until.map(|u| u.get(p as usize).copied().unwrap_or(0));
            let Some(max) = batch_len(from, limit) else {
                continue;
            };
            match read_decoded(log, p, from, max) {
                Ok(events) => {
                    next[p as usize] += events.len() as u64;
                    round.extend(events);
                }
                Err(e) => {
                    let _ = batches.send(Err(e));
                    return;
                }
            }
        }
        if round.is_empty() || batches.send(Ok(round)).is_err() {
            return;
        }
    }
}

/// How many events to read from `from` (at most [`PROJECT_BATCH`], not past `limit`); `None`
/// when the limit is reached.
fn batch_len(from: u64, limit: Option<u64>) -> Option<usize> {
    match limit {
        Some(l) if l <= from => None,
        Some(l) => Some(((l - from) as usize).min(PROJECT_BATCH)),
        None => Some(PROJECT_BATCH),
    }
}

/// Up to `max` events of partition `p` from `from` on, decoded and hash-checked.
fn read_decoded(
    log: &dyn EventLog,
    p: u32,
    from: u64,
    max: usize,
) -> anyhow::Result<Vec<EventEnvelope>> {
    log.read(p, from, max)?
        .iter()
        .map(|e| {
            EventEnvelope::decode(&e.bytes)
                .with_context(|| format!("event {}:{} cannot be projected", e.partition, e.offset))
        })
        .collect()
}

pub struct Projector {
    pub log: Arc<dyn EventLog>,
    pub store: Arc<ReadStore>,
    pub applied: Applied,
    pub wake: Wake,
    /// Envelopes the writer hands over (embedded mode); `None` reads everything from the log.
    pub fresh: Option<Fresh>,
    pub stop: Arc<AtomicBool>,
    pub metrics: Arc<Metrics>,
}

impl Projector {
    pub fn run(self) {
        let mut seen = 0;
        let mut pending = Pending::new();
        loop {
            if let Some(fresh) = &self.fresh {
                for env in fresh.take() {
                    pending.entry(env.partition).or_default().push_back(env);
                }
            }
            let started = Instant::now();
            let progressed = match self
                .applied
                .apply(|| round(self.log.as_ref(), &self.store, &mut pending))
            {
                Ok(moved) if moved.is_empty() => false,
                Ok(_) => {
                    self.metrics.observe_project(started.elapsed());
                    true
                }
                Err(e) => {
                    tracing::error!(error = %e, "projection stalled");
                    false
                }
            };
            if !progressed {
                if self.stop.load(Ordering::SeqCst) {
                    return;
                }
                seen = self.wake.wait(seen, Duration::from_millis(50));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::workload;
    use crate::engine::writer::Decider;

    fn mem_state() -> Arc<dyn ledger_core::keyed::StateStore> {
        Arc::new(ledger_core::keyed::MemStateStore::default())
    }

    /// The handoff is only an optimisation if what the writer hands over is exactly what the
    /// projector would have decoded from the log (timestamps included).
    #[test]
    fn handed_over_envelopes_equal_the_ones_decoded_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(ledger_log::EmbeddedLog::open_or_create(dir.path(), 4).unwrap());
        let fresh = Fresh::default();
        let mut decider = Decider::recover(
            log.clone(),
            mem_state(),
            (0..4).collect(),
            Arc::new(Metrics::new()),
        )
        .unwrap()
        .handing_over(fresh.clone());
        let mut stored = Vec::new();
        for i in 0..40 {
            let s = workload::submission(&workload::item(i), false).unwrap();
            decider
                .decide(&s.meta, &s.command, s.origin, &mut stored)
                .unwrap();
        }
        decider.commit(&stored).unwrap();
        let handed = fresh.take();
        assert_eq!(handed.len(), 40, "every appended event is handed over once");
        for env in handed {
            let read = log.read(env.partition, env.offset, 1).unwrap();
            assert_eq!(EventEnvelope::decode(&read[0].bytes).unwrap(), env);
        }
        assert!(fresh.take().is_empty(), "taking empties the buffer");
    }

    /// A round uses a handed-over run only where it continues the store's position, and reads
    /// the log up to where the run begins otherwise; either way every event is applied once.
    #[test]
    fn a_round_reads_the_log_up_to_a_handed_over_run_and_applies_each_event_once() {
        let dir = tempfile::tempdir().unwrap();
        let log =
            Arc::new(ledger_log::EmbeddedLog::open_or_create(&dir.path().join("log"), 1).unwrap());
        let store = ReadStore::open(&dir.path().join("store")).unwrap();
        let fresh = Fresh::default();
        let mut decider =
            Decider::recover(log.clone(), mem_state(), vec![0], Arc::new(Metrics::new()))
                .unwrap()
                .handing_over(fresh.clone());
        for group in 0..3 {
            let mut stored = Vec::new();
            for i in group * 10..group * 10 + 10 {
                let s = workload::submission(&workload::item(i), false).unwrap();
                decider
                    .decide(&s.meta, &s.command, s.origin, &mut stored)
                    .unwrap();
            }
            decider.commit(&stored).unwrap();
        }
        // Only the last group's envelopes are still pending: the first 20 must come from the log.
        let mut pending = Pending::new();
        for env in fresh.take().into_iter().skip(20) {
            pending.entry(env.partition).or_default().push_back(env);
        }
        let first = round(log.as_ref(), &store, &mut pending).unwrap();
        assert_eq!(
            first.get(&0),
            Some(&20),
            "the log is read up to the handed-over run"
        );
        let second = round(log.as_ref(), &store, &mut pending).unwrap();
        assert_eq!(second.get(&0), Some(&30), "then the run itself is applied");
        assert!(
            round(log.as_ref(), &store, &mut pending)
                .unwrap()
                .is_empty()
        );

        let replayed = ReadStore::open(&dir.path().join("replayed")).unwrap();
        catch_up(log.as_ref(), &replayed, None, &mut |_| {}).unwrap();
        assert_eq!(store.dump().unwrap(), replayed.dump().unwrap());
    }

    /// The writer applies a group itself when the store is at the group's start (published at
    /// once, nothing handed over), and hands it over when the store is behind (here: a group
    /// the projector has not applied yet); every event ends up applied once.
    #[test]
    fn the_writer_projects_its_group_in_step_or_hands_it_over() {
        let dir = tempfile::tempdir().unwrap();
        let log =
            Arc::new(ledger_log::EmbeddedLog::open_or_create(&dir.path().join("log"), 1).unwrap());
        let store = Arc::new(ReadStore::open(&dir.path().join("store")).unwrap());
        let metrics = Arc::new(Metrics::new());
        let fresh = Fresh::default();
        let (positions, published) = watch::channel(vec![0u64]);
        let applied = Applied::from(positions);
        let recent = Recent::default();
        let mut decider = Decider::recover(log.clone(), mem_state(), vec![0], metrics.clone())
            .unwrap()
            .handing_over(fresh.clone())
            .remembering(recent.clone());
        let group = |decider: &mut Decider, n: u64| {
            let mut stored = Vec::new();
            for i in n * 10..n * 10 + 10 {
                let s = workload::submission(&workload::item(i), false).unwrap();
                decider
                    .decide(&s.meta, &s.command, s.origin, &mut stored)
                    .unwrap();
            }
            decider.commit(&stored).unwrap();
        };
        group(&mut decider, 0);
        assert!(decider.handed_over(), "without in-step projection");
        let mut decider = decider.projecting(InStep {
            store: store.clone(),
            applied: applied.clone(),
            metrics,
        });
        group(&mut decider, 1);
        assert!(decider.handed_over(), "the store is behind the group");
        assert_eq!(store.position(0).unwrap(), 0, "nothing of it applied");
        assert_eq!(published.borrow()[0], 0);

        let mut pending = Pending::new();
        for env in fresh.take() {
            pending.entry(env.partition).or_default().push_back(env);
        }
        while !applied
            .apply(|| round(log.as_ref(), &store, &mut pending))
            .unwrap()
            .is_empty()
        {}
        assert_eq!(
            published.borrow()[0],
            20,
            "the projector applied both groups"
        );

        group(&mut decider, 2);
        assert!(!decider.handed_over(), "projected in step");
        assert_eq!(store.position(0).unwrap(), 30);
        assert_eq!(published.borrow()[0], 30, "and published before any reply");
        assert!(fresh.take().is_empty(), "nothing handed over");

        let replayed = ReadStore::open(&dir.path().join("replayed")).unwrap();
        catch_up(log.as_ref(), &replayed, None, &mut |_| {}).unwrap();
        assert_eq!(store.dump().unwrap(), replayed.dump().unwrap());

        let from_log: Vec<EventEnvelope> = log
            .read(0, 0, 30)
            .unwrap()
            .iter()
            .map(|e| EventEnvelope::decode(&e.bytes).unwrap())
            .collect();
        assert_eq!(
            recent.get(0, 0, 29),
            Some(from_log),
            "every committed group is remembered as the log holds it"
        );
        assert_eq!(recent.get(0, 25, 30), None, "a range past the log's end");
    }

    /// The recent envelopes are bounded: the oldest are forgotten, and a range missing one of
    /// its events is not answered (the reply reads the log).
    #[test]
    fn recent_envelopes_forget_the_oldest_beyond_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(ledger_log::EmbeddedLog::open_or_create(dir.path(), 1).unwrap());
        let mut decider =
            Decider::recover(log.clone(), mem_state(), vec![0], Arc::new(Metrics::new()))
                .unwrap()
                .handing_over(Fresh::default());
        let mut stored = Vec::new();
        let s = workload::submission(&workload::item(0), false).unwrap();
        decider
            .decide(&s.meta, &s.command, s.origin, &mut stored)
            .unwrap();
        let one = EventEnvelope::decode(&stored[0].bytes).unwrap();
        let recent = Recent::default();
        let envelopes: Vec<EventEnvelope> = (0..RECENT_CAP as u64 + 10)
            .map(|offset| EventEnvelope {
                offset,
                ..one.clone()
            })
            .collect();
        recent.push(&envelopes[..100]);
        recent.push(&envelopes[100..]);
        assert_eq!(recent.get(0, 9, 9), None, "forgotten");
        assert_eq!(
            recent.get(0, 9, 12),
            None,
            "a range missing its first event"
        );
        assert_eq!(
            recent.get(0, 10, 12),
            Some(envelopes[10..=12].to_vec()),
            "kept"
        );
    }

    /// A push dropped at the cap leaves a gap in the handed-over run: a round takes only the
    /// dense part, reads the missing events from the log, and never skips one.
    #[test]
    fn a_gap_in_the_handed_over_run_is_read_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log =
            Arc::new(ledger_log::EmbeddedLog::open_or_create(&dir.path().join("log"), 1).unwrap());
        let store = ReadStore::open(&dir.path().join("store")).unwrap();
        let fresh = Fresh::default();
        let mut decider =
            Decider::recover(log.clone(), mem_state(), vec![0], Arc::new(Metrics::new()))
                .unwrap()
                .handing_over(fresh.clone());
        let mut stored = Vec::new();
        for i in 0..30 {
            let s = workload::submission(&workload::item(i), false).unwrap();
            decider
                .decide(&s.meta, &s.command, s.origin, &mut stored)
                .unwrap();
        }
        decider.commit(&stored).unwrap();
        let mut pending = Pending::new();
        for env in fresh.take() {
            if !(5..10).contains(&env.offset) {
                pending.entry(env.partition).or_default().push_back(env);
            }
        }
        let mut positions = Vec::new();
        loop {
            let moved = round(log.as_ref(), &store, &mut pending).unwrap();
            match moved.get(&0) {
                Some(p) => positions.push(*p),
                None => break,
            }
        }
        assert_eq!(
            positions,
            [5, 10, 30],
            "dense part, the gap from the log, the rest"
        );
        let replayed = ReadStore::open(&dir.path().join("replayed")).unwrap();
        catch_up(log.as_ref(), &replayed, None, &mut |_| {}).unwrap();
        assert_eq!(store.dump().unwrap(), replayed.dump().unwrap());
        let gap: Vec<EventEnvelope> = [0, 2]
            .iter()
            .map(|o| EventEnvelope::decode(&log.read(0, *o, 1).unwrap()[0].bytes).unwrap())
            .collect();
        let empty = ReadStore::open(&dir.path().join("empty")).unwrap();
        assert!(matches!(
            empty.apply_all(&gap),
            Err(ledger_store::StoreError::Gap {
                partition: 0,
                offset: 2,
                expected: 1
            })
        ));
        assert_eq!(
            empty.position(0).unwrap(),
            0,
            "nothing of a refused batch is written"
        );
    }
}
