//! `ledger bench <scenario>`: performance benchmarks that print, per scenario, the figure, a
//! baseline measured in the same run on the same machine, and their ratio. They are never run by
//! `cargo test` (timings are noisy on shared machines; nothing asserts them).
//!
//! Scenarios: `ingest-embedded` (command path → projected, vs raw sled batches), `ingest-kafka`
//! (produce → decide → project through a broker, vs raw rdkafka produce → consume),
//! `http-command` and `http-query` (`wrk` against a `ledger serve` child, vs its `/healthz`),
//! `replay` (rebuild every read model, vs a raw sequential read of the log), `scale` (query
//! latency, RSS and disk bytes per event at growing log sizes), `log-formats` (the embedded log's
//! candidates appending and reading the same events: segment log, redb, the old sled log),
//! `handover` (a Kafka node taking partitions over after following them, vs a node without
//! state folding the whole topic).

pub mod handover;
mod http;
mod ingest;
mod kafka;
mod log_formats;
mod replay;
mod scale;
pub mod workload;
mod wrk;

use ledger_core::log::{EventLog, LogError, PartitionHead, StoredEvent};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    IngestEmbedded,
    IngestKafka,
    HttpCommand,
    HttpQuery,
    Replay,
    Scale,
    LogFormats,
    Handover,
}

/// Which embedded log a scenario runs on.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    Segment,
    Sled,
}

impl LogKind {
    pub fn open(self, dir: &Path, partitions: u32) -> anyhow::Result<Arc<dyn EventLog>> {
        Ok(match self {
            LogKind::Segment => Arc::new(ledger_log::SegmentLog::open_or_create(dir, partitions)?),
            LogKind::Sled => Arc::new(ledger_log::SledLog::open_or_create(dir, partitions)?),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            LogKind::Segment => "segment log",
            LogKind::Sled => "sled log",
        }
    }
}

/// Which engine a scenario's read store (read models and decider state) is built on.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    Redb,
    Sled,
}

impl StoreKind {
    pub fn engine(self) -> ledger_store::Engine {
        match self {
            StoreKind::Redb => ledger_store::Engine::Redb,
            StoreKind::Sled => ledger_store::Engine::Sled,
        }
    }

    /// Opens (or creates) a read store on this engine with the default cache.
    pub fn open(self, dir: &Path) -> anyhow::Result<ledger_store::ReadStore> {
        Ok(ledger_store::ReadStore::open_on(
            dir,
            ledger_store::DEFAULT_CACHE_BYTES,
            self.engine(),
        )?)
    }
}

#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
    /// Which benchmark to run.
    #[arg(value_enum)]
    pub scenario: Scenario,
    /// Commands (or events) to run; each scenario has its own default.
    #[arg(long)]
    pub n: Option<u64>,
    /// Commands in flight per group (ingest) / events per raw batch (baseline).
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Repeats of each timed part; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// An out-of-process broker (`host:port`); without it librdkafka's in-process mock cluster.
    #[arg(long)]
    pub kafka: Option<String>,
    /// Client connections of the HTTP scenarios.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Seconds per timed HTTP run.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Log partitions.
    #[arg(long, default_value_t = 8)]
    pub partitions: u32,
    /// The served node's memory budget (`scale`).
    #[arg(long, default_value_t = 256)]
    pub memory_mib: u64,
    /// Keep the scratch subdirectory (e.g. `scale`'s data dir, to profile a start on it).
    #[arg(long)]
    pub keep: bool,
    /// The embedded log of `replay` and `ingest-embedded`: `sled` runs them on the old sled log
    /// (the before/after comparison of the segment log).
    #[arg(long, value_enum, default_value_t = LogKind::Segment)]
    pub log: LogKind,
    /// The read store's engine of `scale` and `replay`: `sled` builds them on sled (the
    /// before/after comparison of the redb store).
    #[arg(long, value_enum, default_value_t = StoreKind::Redb)]
    pub store: StoreKind,
    /// HTTP scenarios: record a `perf record -g` profile of the server during each path's
    /// runs into this directory (`perf-<path>-<run>.data`).
    #[arg(long)]
    pub perf: Option<PathBuf>,
    /// HTTP scenarios: run only the paths containing one of these texts (comma-separated,
    /// e.g. `QueryUserArrearages`); the `/healthz` baseline always runs.
    #[arg(long, value_delimiter = ',')]
    pub paths: Vec<String>,
    /// Scratch directory (a fresh subdirectory is made and removed).
    #[arg(long, env = "LEDGER_BENCH_DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    KEEP_SCRATCH.store(args.keep, Ordering::SeqCst);
    println!(
        "machine: {} cores, {} MiB memory; scenario {:?}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mem_total_mib(),
        args.scenario
    );
    match args.scenario {
        Scenario::IngestEmbedded => ingest::run(&args),
        Scenario::IngestKafka => kafka::run(&args),
        Scenario::HttpCommand => http::run_command(&args),
        Scenario::HttpQuery => http::run_query(&args),
        Scenario::Replay => replay::run(&args),
        Scenario::Scale => scale::run(&args),
        Scenario::LogFormats => log_formats::run(&args),
        Scenario::Handover => handover::run(&args),
    }
}

/// A scratch directory removed when dropped.
/// `--keep`: scratch directories outlive the run.
static KEEP_SCRATCH: AtomicBool = AtomicBool::new(false);

pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(args: &BenchArgs, name: &str) -> anyhow::Result<Scratch> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!(
            "ledger-bench-{}-{name}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if KEEP_SCRATCH.load(Ordering::SeqCst) {
            eprintln!("kept {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// Prints the three lines every scenario ends with.
pub fn report(figure: (&str, f64), baseline: (&str, f64), target: &str) {
    let ratio = figure.1 / baseline.1.max(1e-9);
    println!("  figure:   {:>12.0}  {}", figure.1, figure.0);
    println!("  baseline: {:>12.0}  {}", baseline.1, baseline.0);
    println!("  ratio:    {ratio:>12.3}  (target {target})");
}

/// Resident set size of this process, from /proc (0 where unavailable).
fn mem_total_mib() -> u64 {
    proc_kib("/proc/meminfo", "MemTotal:") / 1024
}

pub fn proc_kib(file: &str, field: &str) -> u64 {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Bytes of every file under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Wraps a log to count appends (one per writer group), so the mean group size is reported.
pub struct CountingLog<L> {
    pub inner: L,
    pub appends: AtomicU64,
    pub appended: AtomicU64,
}

impl<L> CountingLog<L> {
    pub fn new(inner: L) -> Self {
        CountingLog {
            inner,
            appends: AtomicU64::new(0),
            appended: AtomicU64::new(0),
        }
    }

    pub fn mean_group(&self) -> f64 {
        self.appended.load(Ordering::Relaxed) as f64
            / self.appends.load(Ordering::Relaxed).max(1) as f64
    }
}

impl<L: EventLog + ?Sized> EventLog for CountingLog<Arc<L>> {
    fn partitions(&self) -> u32 {
        self.inner.partitions()
    }

    fn append(&self, events: &[StoredEvent]) -> Result<(), LogError> {
        self.appends.fetch_add(1, Ordering::Relaxed);
        self.appended
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        self.inner.append(events)
    }

    fn read(&self, partition: u32, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError> {
        self.inner.read(partition, from, max)
    }

    fn head(&self, partition: u32) -> Result<PartitionHead, LogError> {
        self.inner.head(partition)
    }

    fn forget_head(&self, partition: u32) {
        self.inner.forget_head(partition)
    }
}

/// Every event of a log, partition by partition.
pub fn read_all(log: &dyn EventLog) -> anyhow::Result<Vec<StoredEvent>> {
    let mut out = Vec::new();
    for p in 0..log.partitions() {
        let mut next = 0;
        loop {
            let batch = log.read(p, next, 4096)?;
            let Some(last) = batch.last() else { break };
            next = last.offset + 1;
            out.extend(batch);
        }
    }
    Ok(out)
}
