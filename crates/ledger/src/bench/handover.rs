//! `handover`: what a Kafka node pays when partitions are handed to it (a node died or the
//! group rebalanced), at a history of `--n` commands. Node A owns every partition and writes
//! the history through its decider; node B owns none and follows them between its groups
//! (`Decider::follow`, as the Kafka decider loop does); A writes `--batch` more commands (the
//! tail B has not followed yet); then B takes every partition over (`Decider::recover`, what
//! the decider loop runs on an assignment change) and the time until it can decide is
//! measured, `--runs` times. Baseline, same run: a node without state taking the same
//! partitions over, which folds the whole topic (what every hand-over cost before
//! `Decider::follow`).

use super::{BenchArgs, Scratch, median, per_second, workload};
use crate::engine::kafka::FOLLOW_CHUNK;
use crate::engine::writer::Decider;
use ledger_api::Metrics;
use ledger_core::keyed::{MemStateStore, StateStore};
use ledger_core::log::{EventLog, StoredEvent};
use ledger_log::{KafkaConfig, KafkaLog};
use ledger_store::ReadStore;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Commands per group (one append) while the history is written.
const GROUP: u64 = 1000;

/// Decides the workload's commands `range` in groups of `group`, each group one append;
/// returns the number of events appended.
pub fn write_commands(decider: &mut Decider, range: Range<u64>, group: u64) -> anyhow::Result<u64> {
    let mut events = 0;
    let mut i = range.start;
    while i < range.end {
        decider.begin_group()?;
        let mut stored: Vec<StoredEvent> = Vec::new();
        for j in i..(i + group).min(range.end) {
            let s = workload::submission(&workload::item(j), false)?;
            decider.decide(&s.meta, &s.command, s.origin, &mut stored)?;
        }
        decider.commit(&stored)?;
        events += stored.len() as u64;
        i += group;
    }
    Ok(events)
}

/// Follows the partitions `decider` does not own until nothing is new; returns the events
/// folded.
pub fn follow_to_end(decider: &mut Decider, chunk: usize) -> anyhow::Result<u64> {
    let mut total = 0;
    loop {
        let folded = decider.follow(chunk)?;
        if folded == 0 {
            return Ok(total);
        }
        total += folded;
    }
}

/// A node's decider state on redb, as `serve` keeps it (in the node's read store).
fn node_state(dir: &Path) -> anyhow::Result<Arc<dyn StateStore>> {
    Ok(Arc::new(ReadStore::open(dir)?.decider_state()?))
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let n = args.n.unwrap_or(100_000);
    let tail = args.batch as u64;
    let partitions = args.partitions;
    // librdkafka's mock cluster keeps about 5 MiB a partition (rdkafka_mock.c: max_size) and
    // drops older segments, which an event topic must never do.
    anyhow::ensure!(
        args.kafka.is_some() || (n + tail * args.runs as u64) <= 4_000 * u64::from(partitions),
        "the mock cluster keeps about 5 MiB a partition, {} events at this partition count: \
         run with --kafka (tools/tansu.sh start) or more --partitions",
        4_000 * partitions
    );
    let topic = format!("bench{}.events", std::process::id());
    let (_mock, brokers, which) = super::kafka::broker(args, std::slice::from_ref(&topic))?;
    println!(
        "handover: {n} commands of history, a tail of {tail} commands, {partitions} partitions, through {which}"
    );
    let config = KafkaConfig::new(&brokers, &topic, partitions);
    let metrics = Arc::new(Metrics::new());
    let all: Vec<u32> = (0..partitions).collect();
    let scratch = Scratch::new(args, "handover")?;

    let log_a: Arc<dyn EventLog> = Arc::new(KafkaLog::open(config.clone())?);
    let mut a = Decider::recover(
        log_a,
        Arc::new(MemStateStore::default()),
        all.clone(),
        metrics.clone(),
    )?;
    let started = Instant::now();
    let history = write_commands(&mut a, 0..n, GROUP)?;
    println!(
        "  history: {history} events written by node A in {:.1?} ({:.0} events/s)",
        started.elapsed(),
        per_second(history, started.elapsed())
    );

    let log_b: Arc<dyn EventLog> = Arc::new(KafkaLog::open(config.clone())?);
    let state_b = node_state(&scratch.path().join("b"))?;
    let mut b = Decider::recover(log_b.clone(), state_b.clone(), Vec::new(), metrics.clone())?;
    let started = Instant::now();
    let followed = follow_to_end(&mut b, FOLLOW_CHUNK)?;
    println!(
        "  node B follows the history: {followed} events in {:.1?} ({:.0} events/s, in {FOLLOW_CHUNK}-event chunks between its groups)",
        started.elapsed(),
        per_second(followed, started.elapsed())
    );

    let mut times = Vec::new();
    let mut folded = Vec::new();
    let mut next = n;
    for _ in 0..args.runs.max(1) {
        follow_to_end(&mut b, FOLLOW_CHUNK)?;
        let written = write_commands(&mut a, next..next + tail, GROUP)?;
        next += tail;
        let started = Instant::now();
        let taken = Decider::recover(log_b.clone(), state_b.clone(), all.clone(), metrics.clone())?;
        times.push(started.elapsed());
        folded.push(taken.caught_up());
        anyhow::ensure!(
            taken.caught_up() == written,
            "the hand-over folded {} events, the tail is {written}",
            taken.caught_up()
        );
        // Hand the partitions back: B follows again, owning none.
        drop(taken);
        b = Decider::recover(log_b.clone(), state_b.clone(), Vec::new(), metrics.clone())?;
    }
    let handover = median_duration(times);

    let log_c: Arc<dyn EventLog> = Arc::new(KafkaLog::open(config)?);
    let state_c = node_state(&scratch.path().join("c"))?;
    let started = Instant::now();
    let cold = Decider::recover(log_c, state_c, all, metrics)?;
    let cold_time = started.elapsed();
    println!(
        "  figure:   {:>10.1} ms  hand-over to a node that followed: folds the tail of {} events (median of {})",
        handover.as_secs_f64() * 1e3,
        median(folded.iter().map(|&f| f as f64).collect()),
        args.runs.max(1)
    );
    println!(
        "  baseline: {:>10.1} ms  hand-over to a node without state: folds the whole topic, {} events (one run)",
        cold_time.as_secs_f64() * 1e3,
        cold.caught_up()
    );
    println!(
        "  ratio:    {:>10.4}     (hand-over time / whole-topic fold; lower is better)",
        handover.as_secs_f64() / cold_time.as_secs_f64().max(1e-9)
    );
    Ok(())
}

fn median_duration(times: Vec<Duration>) -> Duration {
    Duration::from_secs_f64(median(times.iter().map(Duration::as_secs_f64).collect()))
}
