//! `log-formats`: the candidates for the embedded log, measured in one run on the same events.
//! The same sealed events (the mixed workload's, decided once, not timed) are appended in groups
//! of `--batch` events with one durable commit per group to (a) the segment log, (b) redb (one
//! write transaction per group, committed with redb's default immediate durability) and (c) the
//! old sled log (one batch + flush per group); then everything is read back sequentially,
//! partition by partition. Medians of `--runs` fresh runs; ratios are to the segment log.

use super::{BenchArgs, Scratch, dir_bytes, median, per_second, read_all, replay};
use ledger_core::envelope::stored_hash;
use ledger_core::log::{EventLog, LogError, PartitionHead, StoredEvent};
use ledger_log::{SegmentLog, SledLog};
use redb::ReadableDatabase;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

const EVENTS: redb::TableDefinition<(u32, u64), &[u8]> = redb::TableDefinition::new("events");

/// redb as an event log: one table keyed (partition, offset); one write transaction per append.
/// Only for this benchmark: heads are kept in memory and not recovered.
struct RedbLog {
    db: redb::Database,
    partitions: u32,
    heads: Mutex<Vec<PartitionHead>>,
}

fn storage(e: impl std::fmt::Display) -> LogError {
    LogError::Storage(e.to_string())
}

impl RedbLog {
    fn create(dir: &Path, partitions: u32) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(RedbLog {
            db: redb::Database::create(dir.join("events.redb"))?,
            partitions,
            heads: Mutex::new(vec![PartitionHead::default(); partitions as usize]),
        })
    }
}

impl EventLog for RedbLog {
    fn partitions(&self) -> u32 {
        self.partitions
    }

    /// Durable on return: redb commits with immediate durability (fsync) by default.
    fn append(&self, events: &[StoredEvent]) -> Result<(), LogError> {
        let mut heads = self.heads.lock().map_err(storage)?;
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut table = txn.open_table(EVENTS).map_err(storage)?;
            for e in events {
                table
                    .insert((e.partition, e.offset), e.bytes.as_slice())
                    .map_err(storage)?;
            }
        }
        txn.commit().map_err(storage)?;
        for e in events {
            heads[e.partition as usize] = PartitionHead {
                next_offset: e.offset + 1,
                last_hash: stored_hash(&e.bytes).unwrap_or_default(),
            };
        }
        Ok(())
    }

    fn read(&self, partition: u32, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(EVENTS).map_err(storage)?;
        table
            .range((partition, from)..=(partition, u64::MAX))
            .map_err(storage)?
            .take(max)
            .map(|r| {
                let (k, v) = r.map_err(storage)?;
                Ok(StoredEvent {
                    partition,
                    offset: k.value().1,
                    bytes: v.value().to_vec(),
                })
            })
            .collect()
    }

    fn head(&self, partition: u32) -> Result<PartitionHead, LogError> {
        self.heads
            .lock()
            .map_err(storage)?
            .get(partition as usize)
            .copied()
            .ok_or(LogError::NoSuchPartition(partition))
    }
}

type Open = fn(&Path, u32) -> anyhow::Result<Box<dyn EventLog>>;

const CANDIDATES: [(&str, Open); 3] = [
    ("segment log", |dir, p| {
        Ok(Box::new(SegmentLog::open(dir, p)?))
    }),
    ("redb 4", |dir, p| Ok(Box::new(RedbLog::create(dir, p)?))),
    ("sled 0.34 (old log)", |dir, p| {
        Ok(Box::new(SledLog::open(dir, p)?))
    }),
];

/// Medians of one candidate: append events/s, read events/s, bytes on disk.
struct Figures {
    append: f64,
    read: f64,
    disk: u64,
}

fn measure(
    args: &BenchArgs,
    open: Open,
    events: &[StoredEvent],
    group: usize,
) -> anyhow::Result<Figures> {
    let (mut append, mut read, mut disk) = (Vec::new(), Vec::new(), 0);
    for _ in 0..args.runs.max(1) {
        let scratch = Scratch::new(args, "log-format")?;
        let dir = scratch.path().join("log");
        let log = open(&dir, args.partitions)?;
        let t = Instant::now();
        for chunk in events.chunks(group) {
            log.append(chunk)?;
        }
        append.push(per_second(events.len() as u64, t.elapsed()));
        let t = Instant::now();
        let back = read_all(log.as_ref())?;
        read.push(per_second(back.len() as u64, t.elapsed()));
        anyhow::ensure!(
            back.len() == events.len(),
            "read back {} events",
            back.len()
        );
        drop(log);
        disk = dir_bytes(&dir);
    }
    Ok(Figures {
        append: median(append),
        read: median(read),
        disk,
    })
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let n = args.n.unwrap_or(200_000);
    let group = args.batch.max(1);
    let source = Scratch::new(args, "log-formats-source")?;
    let state = std::sync::Arc::new(ledger_core::keyed::MemStateStore::default());
    let (log, _) = replay::build_log(&source.path().join("log"), state, n, args.partitions)?;
    let mut events = read_all(log.as_ref())?;
    drop(log);
    // The writer's order interleaves partitions; so do the appends here.
    events.sort_by_key(|e| (e.offset, e.partition));
    events.truncate(n as usize);
    let bytes: u64 = events.iter().map(|e| e.bytes.len() as u64).sum();
    let mean = bytes / (events.len() as u64).max(1);
    println!(
        "log-formats: {} events (mean {mean} bytes), {group} events per durable append, {} \
         partitions, median of {} runs",
        events.len(),
        args.partitions,
        args.runs
    );
    let mb = |events_per_s: f64| events_per_s * mean as f64 / 1e6;
    let mut rows = Vec::new();
    for (name, open) in CANDIDATES {
        let f = measure(args, open, &events, group)?;
        println!(
            "  {name}: append {:.0} events/s, read {:.0} events/s",
            f.append, f.read
        );
        rows.push((name, f));
    }
    let (base_append, base_read) = (rows[0].1.append, rows[0].1.read);
    println!(
        "\n| log | append events/s | append MB/s | ratio | sequential read events/s | read MB/s \
         | ratio | bytes on disk per event |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, f) in rows {
        println!(
            "| {name} | {:.0} | {:.1} | {:.2} | {:.0} | {:.1} | {:.2} | {:.0} |",
            f.append,
            mb(f.append),
            f.append / base_append.max(1e-9),
            f.read,
            mb(f.read),
            f.read / base_read.max(1e-9),
            f.disk as f64 / (events.len() as f64).max(1.0)
        );
    }
    Ok(())
}
