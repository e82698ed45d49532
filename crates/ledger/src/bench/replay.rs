//! `replay`: rebuild every read model from an N-event log into an empty store (the projector's
//! catch-up, then a flush), against a raw sequential read of the same log. The decider's fold
//! of the whole log (what a restart costs) is printed too.

use super::{BenchArgs, LogKind, Scratch, median, per_second, report, workload};
use crate::engine::{projector, writer};
use ledger_core::EventLog;
use ledger_core::keyed::StateStore;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Writes the first `n` commands of the mixed stream into a log in `dir` through the decider
/// (groups of 1000, one durable append each); returns the log and its event count.
/// The decider keeps its keyed state in `state`.
pub fn build_log(
    dir: &Path,
    state: Arc<dyn StateStore>,
    n: u64,
    partitions: u32,
) -> anyhow::Result<(Arc<dyn EventLog>, u64)> {
    build_log_on(LogKind::Segment, dir, state, n, partitions)
}

/// `build_log` on the given kind of embedded log.
pub fn build_log_on(
    kind: LogKind,
    dir: &Path,
    state: Arc<dyn StateStore>,
    n: u64,
    partitions: u32,
) -> anyhow::Result<(Arc<dyn EventLog>, u64)> {
    let log = kind.open(dir, partitions)?;
    let mut decider = writer::Decider::recover(
        log.clone(),
        state,
        (0..partitions).collect(),
        Arc::new(ledger_api::Metrics::new()),
    )?;
    let mut i = 0;
    while i < n {
        let mut stored = Vec::new();
        for j in i..(i + 1000).min(n) {
            let s = workload::submission(&workload::item(j), false)?;
            decider.decide(&s.meta, &s.command, s.origin, &mut stored)?;
        }
        decider.commit(&stored)?;
        i = (i + 1000).min(n);
    }
    let events = (0..partitions)
        .map(|p| log.head(p).map(|h| h.next_offset))
        .sum::<Result<u64, _>>()?;
    Ok((log, events))
}

/// Reads every event of the log once, in partition order, touching every byte's length: the
/// replay baseline issue 14 names (a raw sequential read of the log).
fn raw_read(log: &dyn EventLog) -> anyhow::Result<(u64, u64)> {
    let (mut events, mut bytes) = (0u64, 0u64);
    for p in 0..log.partitions() {
        let mut next = 0;
        loop {
            let batch = log.read(p, next, projector::PROJECT_BATCH)?;
            let Some(last) = batch.last() else { break };
            next = last.offset + 1;
            events += batch.len() as u64;
            bytes += batch.iter().map(|e| e.bytes.len() as u64).sum::<u64>();
        }
    }
    Ok((events, bytes))
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let n = args.n.unwrap_or(1_000_000);
    println!(
        "replay: rebuild every read model from the log of {n} mixed commands, {} partitions, {}",
        args.partitions,
        args.log.name()
    );
    let scratch = Scratch::new(args, "replay")?;
    let t = Instant::now();
    let state_store = args.store.open(&scratch.path().join("state"))?;
    let (log, events) = build_log_on(
        args.log,
        &scratch.path().join("log"),
        Arc::new(state_store.decider_state()?),
        n,
        args.partitions,
    )?;
    println!(
        "  built a {events}-event log in {:.1?} (not timed)",
        t.elapsed()
    );
    let (mut figure, mut baseline, mut fold) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.runs.max(1) {
        let t = Instant::now();
        let (read, _) = raw_read(log.as_ref())?;
        baseline.push(per_second(read, t.elapsed()));

        let store_dir = Scratch::new(args, "replay-store")?;
        let store = args.store.open(store_dir.path())?;
        let t = Instant::now();
        let positions = projector::catch_up(log.as_ref(), &store, None, &mut |_| {})?;
        store.flush()?;
        let elapsed = t.elapsed();
        anyhow::ensure!(positions.iter().sum::<u64>() == events, "replay incomplete");
        figure.push(per_second(events, elapsed));

        let t = Instant::now();
        writer::fold_log(log.as_ref(), &(0..args.partitions).collect::<Vec<_>>())?;
        fold.push(per_second(events, t.elapsed()));
    }
    println!(
        "  (decider state fold of the whole log: {:.0} events/s, median of {})",
        median(fold),
        args.runs
    );
    report(
        (
            "events/s: read, decode, project into an empty store, flush",
            median(figure),
        ),
        (
            &format!(
                "events/s: raw sequential read of the log ({})",
                args.log.name()
            ),
            median(baseline),
        ),
        "≥ 0.2 and ≥ 100k events/s",
    );
    Ok(())
}
