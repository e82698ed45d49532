//! `ingest-embedded`: N mixed commands through the embedded engine's command path (the writer
//! with group commit, then the projector), in process and without HTTP, until every event is
//! projected and the last command's outcome is queryable. Baseline: the same event bytes
//! appended raw to a fresh embedded log (the segment log) in batches of the same size, each one
//! durable append, plus the same bytes written as raw redb transactions of that size with the
//! read store's durability policy (non-durable commits, a durable one every
//! `ledger_store::DURABLE_EVERY_MS` and at the end): the two stores the engine writes, the log
//! and the read models.

use super::{
    BenchArgs, CountingLog, LogKind, Scratch, median, per_second, read_all, report, workload,
};
use crate::engine::Engine;
use ledger_api::bus::{CommandBus, Decided, Submission};
use ledger_core::log::StoredEvent;
use ledger_store::ReadStore;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Prepares `n` submissions of the mixed stream (not timed: the HTTP decoding is not part of
/// this path).
pub fn prepare(n: u64, keep_body: bool) -> anyhow::Result<Vec<Submission>> {
    (0..n)
        .map(|i| workload::submission(&workload::item(i), keep_body))
        .collect()
}

/// What one engine run did.
pub struct EngineRun {
    pub elapsed: Duration,
    pub events: u64,
    pub refused: u64,
    pub mean_group: f64,
}

/// Submits `subs` with at most `window` in flight, waits until everything is projected and the
/// last outcome is readable.
pub fn engine_run(
    dir: &Path,
    subs: Vec<Submission>,
    window: usize,
    partitions: u32,
    kind: LogKind,
) -> anyhow::Result<EngineRun> {
    let log = Arc::new(CountingLog::new(kind.open(&dir.join("log"), partitions)?));
    let store = Arc::new(ReadStore::open(&dir.join("store"))?);
    let engine = Arc::new(Engine::start(
        log.clone(),
        store.clone(),
        Arc::new(ledger_api::Metrics::new()),
    )?);
    let last_id = subs
        .last()
        .map(|s| s.meta.command_id.clone())
        .unwrap_or_default();
    // One thread, FIFO task order: commands reach the writer in stream order, so a payment
    // always follows its bill.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let start = Instant::now();
    let refused = runtime.block_on(submit_all(engine.clone(), subs, window))?;
    let ends = engine.log_ends();
    while engine
        .applied_positions()
        .iter()
        .zip(&ends)
        .any(|(applied, end)| applied < end)
    {
        std::thread::sleep(Duration::from_micros(200));
    }
    anyhow::ensure!(
        store.command_record(&last_id)?.is_some(),
        "the last command's outcome is not queryable"
    );
    let elapsed = start.elapsed();
    let events = ends.iter().sum();
    let mean_group = log.mean_group();
    drop(runtime);
    if let Ok(engine) = Arc::try_unwrap(engine) {
        engine.shutdown()?;
    }
    Ok(EngineRun {
        elapsed,
        events,
        refused,
        mean_group,
    })
}

/// Submits everything with at most `window` commands in flight; returns how many were refused.
pub async fn submit_all(
    bus: Arc<dyn CommandBus>,
    subs: Vec<Submission>,
    window: usize,
) -> anyhow::Result<u64> {
    let permits = Arc::new(tokio::sync::Semaphore::new(window.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut refused = 0;
    let mut count = |r: Result<Result<Decided, ledger_api::BusError>, _>| -> anyhow::Result<()> {
        match r? {
            Ok(Decided::Refused(_)) => refused += 1,
            Ok(Decided::Logged { .. }) => {}
            Err(e) => anyhow::bail!("submit failed: {e}"),
        }
        Ok(())
    };
    for s in subs {
        let permit = permits.clone().acquire_owned().await?;
        let bus = bus.clone();
        tasks.spawn(async move {
            let r = bus.submit(s).await;
            drop(permit);
            r
        });
        while let Some(r) = tasks.try_join_next() {
            count(r)?;
        }
    }
    while let Some(r) = tasks.join_next().await {
        count(r)?;
    }
    Ok(refused)
}

fn event_key(partition: u32, offset: u64) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..4].copy_from_slice(&partition.to_be_bytes());
    key[4..].copy_from_slice(&offset.to_be_bytes());
    key
}

/// Raw log: the events appended to a fresh embedded log in batches of `batch` (each one durable
/// append, in the writer's partition-interleaved order).
pub fn raw_log(
    kind: LogKind,
    dir: &Path,
    events: &[StoredEvent],
    batch: usize,
    partitions: u32,
) -> anyhow::Result<Duration> {
    let log = kind.open(dir, partitions)?;
    let start = Instant::now();
    for chunk in events.chunks(batch.max(1)) {
        log.append(chunk)?;
    }
    Ok(start.elapsed())
}

/// Raw log append then raw read-store transactions of the same events at `batch`: the
/// baseline's time.
fn raw_both(
    args: &BenchArgs,
    events: &[StoredEvent],
    batch: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let log = Scratch::new(args, "raw-log")?;
    let store = Scratch::new(args, "raw-store")?;
    Ok((
        raw_log(args.log, log.path(), events, batch, args.partitions)?,
        raw_store(store.path(), events, batch)?,
    ))
}

/// Raw redb, the read store's engine: the events in transactions of `batch` rows, committed as
/// the read store commits (non-durable, a durable commit every `DURABLE_EVERY_MS` and at the
/// end).
pub fn raw_store(dir: &Path, events: &[StoredEvent], batch: usize) -> anyhow::Result<Duration> {
    const ROWS: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("rows");
    let db = redb::Database::create(dir.join("raw.redb"))?;
    let every = Duration::from_millis(ledger_store::DURABLE_EVERY_MS);
    let start = Instant::now();
    let mut last_durable = start;
    let chunks = events.chunks(batch.max(1));
    let last = chunks.len();
    for (i, chunk) in chunks.enumerate() {
        let mut txn = db.begin_write()?;
        let durable = i + 1 == last || last_durable.elapsed() >= every;
        if durable {
            txn.set_quick_repair(true);
            last_durable = Instant::now();
        } else {
            txn.set_durability(redb::Durability::None)?;
        }
        {
            let mut table = txn.open_table(ROWS)?;
            for e in chunk {
                table.insert(
                    event_key(e.partition, e.offset).as_slice(),
                    e.bytes.as_slice(),
                )?;
            }
        }
        txn.commit()?;
    }
    Ok(start.elapsed())
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let n = args.n.unwrap_or(1_000_000);
    println!(
        "ingest-embedded: {n} mixed commands (BaaS bill/payment, utility charge/payment), at most {} in flight, {} partitions, {}, release build",
        args.batch,
        args.partitions,
        args.log.name()
    );
    let t = Instant::now();
    let subs = prepare(n, false)?;
    println!(
        "  prepared {n} decoded commands in {:.1?} (not timed)",
        t.elapsed()
    );
    let scratch = Scratch::new(args, "ingest")?;
    let run = engine_run(scratch.path(), subs, args.batch, args.partitions, args.log)?;
    let log = args
        .log
        .open(&scratch.path().join("log"), args.partitions)?;
    let mut events = read_all(log.as_ref())?;
    drop(log);
    // The writer's order interleaves partitions; so does the baseline's.
    events.sort_by_key(|e| (e.offset, e.partition));
    let bytes: usize = events.iter().map(|e| e.bytes.len()).sum();
    println!(
        "  engine: {} commands → {} events ({} refused) in {:.2?}; mean group {:.0} events per durable append; mean event {} bytes",
        n,
        run.events,
        run.refused,
        run.elapsed,
        run.mean_group,
        bytes / events.len().max(1)
    );
    let count = events.len() as u64;
    let (mut baseline, mut log_only, mut store_only, mut at_group) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let group = (run.mean_group.round() as usize).max(1);
    for _ in 0..args.runs.max(1) {
        let (log, store) = raw_both(args, &events, args.batch)?;
        baseline.push(per_second(count, log + store));
        log_only.push(per_second(count, log));
        store_only.push(per_second(count, store));
        if group != args.batch {
            let (log, store) = raw_both(args, &events, group)?;
            at_group.push(per_second(count, log + store));
        }
    }
    println!(
        "  (baseline parts, batch {}: raw {} append {:.0} events/s, raw redb transaction {:.0} \
         events/s)",
        args.batch,
        args.log.name(),
        median(log_only),
        median(store_only)
    );
    if !at_group.is_empty() {
        println!(
            "  (raw log + redb at the engine's mean group size {group}: {:.0} events/s, median of {})",
            median(at_group),
            args.runs
        );
    }
    report(
        (
            "events/s: commands decided, appended (fsync per group), projected, queryable",
            per_second(run.events, run.elapsed),
        ),
        (
            &format!(
                "events/s: raw {} append, then raw redb transactions, batch {}, median of {}",
                args.log.name(),
                args.batch,
                args.runs
            ),
            median(baseline),
        ),
        "≥ 0.5 at batch ≥ 100",
    );
    Ok(())
}
