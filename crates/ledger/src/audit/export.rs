//! `ledger export` and `ledger import`. Events export as their stored bytes (one sealed event a
//! line in JSONL, so the hash chain travels with them) or as CSV columns; a read model exports
//! its rows under a key prefix. `import` appends an events JSONL export to an empty log,
//! checking every link, so the import replays to the same read models.

use super::progress::Progress;
use anyhow::Context;
use chrono::{DateTime, Utc};
use ledger_core::{EventEnvelope, EventLog, Sha256Hash, StoredEvent, verify_link};
use ledger_log::EmbeddedLog;
use ledger_store::ReadStore;
use std::io::{BufRead, Write};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

/// Streams the events (recorded in `[from, until)`) or the rows of a read model to `out`.
pub fn export(
    data_dir: &Path,
    what: &str,
    format: Format,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    if what == "events" {
        let log = EmbeddedLog::open_existing(&crate::log_dir(data_dir))?;
        return export_events(&log, format, from, until, out);
    }
    anyhow::ensure!(
        from.is_none() && until.is_none(),
        "--from/--until select events by recorded_at; a read model is exported as it stands"
    );
    let store = ReadStore::open(&crate::store_dir(data_dir))?;
    export_rows(&store, what.as_bytes(), format, out)
}

/// The CSV columns of an event: every field of the stored envelope (an absent optional one is
/// an empty cell), `type` and `payload` being the event's.
pub const CSV_COLUMNS: [&str; 14] = [
    "partition",
    "offset",
    "event_id",
    "type",
    "schema_version",
    "key",
    "command_id",
    "recorded_at",
    "effective_at",
    "actor",
    "body_sha256",
    "payload",
    "prev_hash",
    "hash",
];

fn export_events(
    log: &dyn EventLog,
    format: Format,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let total: u64 = (0..log.partitions())
        .map(|p| log.head(p).map(|h| h.next_offset))
        .sum::<Result<u64, _>>()?;
    let mut progress = Progress::new("export", total);
    if format == Format::Csv {
        writeln!(out, "{}", CSV_COLUMNS.join(","))?;
    }
    let mut written = 0;
    for p in 0..log.partitions() {
        let mut next = 0;
        loop {
            let batch = log.read(p, next, 4096)?;
            let Some(last) = batch.last() else { break };
            next = last.offset + 1;
            progress.inc(batch.len() as u64);
            for e in &batch {
                let env = EventEnvelope::decode(&e.bytes)
                    .with_context(|| format!("event {p}:{} cannot be read", e.offset))?;
                if from.is_some_and(|f| env.recorded_at < f)
                    || until.is_some_and(|u| env.recorded_at >= u)
                {
                    continue;
                }
                match format {
                    Format::Jsonl => {
                        out.write_all(&e.bytes)?;
                        out.write_all(b"\n")?;
                    }
                    Format::Csv => {
                        let payload = serde_json::to_string(&env.event.payload_ref())?;
                        let fields: [String; CSV_COLUMNS.len()] = [
                            p.to_string(),
                            e.offset.to_string(),
                            env.event_id.to_string(),
                            env.event.type_name().to_string(),
                            env.schema_version.to_string(),
                            env.key.clone(),
                            env.command_id.clone(),
                            env.recorded_at
                                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                            env.effective_at
                                .map(|t| {
                                    t.format(ledger_core::envelope::BUSINESS_TIME_FORMAT)
                                        .to_string()
                                })
                                .unwrap_or_default(),
                            env.actor.clone().unwrap_or_default(),
                            env.body_sha256.map(|h| h.to_hex()).unwrap_or_default(),
                            payload,
                            env.prev_hash.to_hex(),
                            env.hash.to_hex(),
                        ];
                        writeln!(out, "{}", csv_line(&fields))?;
                    }
                }
                written += 1;
            }
        }
    }
    progress.finish();
    out.flush()?;
    Ok(written)
}

fn export_rows(
    store: &ReadStore,
    prefix: &[u8],
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let rows = store.dump()?;
    let mut progress = Progress::new("export", 0);
    if format == Format::Csv {
        writeln!(out, "key,value")?;
    }
    let mut written = 0;
    for (k, v) in rows.iter().filter(|(k, _)| k.starts_with(prefix)) {
        let key = printable_key(k);
        match format {
            Format::Jsonl => {
                let value: serde_json::Value = serde_json::from_slice(v)
                    .unwrap_or_else(|_| serde_json::Value::String(hex::encode(v)));
                writeln!(out, "{}", serde_json::json!({"key": key, "value": value}))?;
            }
            Format::Csv => {
                let value = String::from_utf8(v.clone()).unwrap_or_else(|_| hex::encode(v));
                writeln!(out, "{}", csv_line(&[key, value]))?;
            }
        }
        written += 1;
        progress.inc(1);
    }
    progress.finish();
    out.flush()?;
    Ok(written)
}

/// A key with its non-printable bytes (big-endian numbers) as `\xNN`.
pub fn printable_key(key: &[u8]) -> String {
    let mut out = String::new();
    for chunk in key.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// RFC 4180: quote every field holding a comma, quote or line break; double inner quotes.
fn csv_line(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Imports an events JSONL export into a new log under `data_dir`, atomically: the log is
/// written into a temporary directory beside `data_dir` and renamed into place only once every
/// line is in and every link checked, so a refused import leaves nothing behind and a retry
/// starts clean. Without `partitions` the count is inferred from the events (see
/// [`infer_partitions`]); the input is then read twice, so stdin is first spooled into the
/// temporary directory. Returns the number of events and the partition count.
pub fn import(
    data_dir: &Path,
    partitions: Option<u32>,
    input: Option<&Path>,
) -> anyhow::Result<(u64, u32)> {
    let log_dir = crate::log_dir(data_dir);
    anyhow::ensure!(
        !log_dir.exists(),
        "{} already exists: import fills an empty log",
        log_dir.display()
    );
    let staging = Staging::beside(data_dir, "importing")?;
    let tmp = staging.tmp.clone();
    let result = import_into(&tmp, partitions, input).and_then(|done| {
        if data_dir.exists() {
            std::fs::rename(crate::log_dir(&tmp), &log_dir)?;
            std::fs::remove_dir_all(&tmp)?;
        } else {
            std::fs::remove_file(tmp.join(SPOOL)).or_else(ignore_missing)?;
            std::fs::rename(&tmp, data_dir)?;
        }
        Ok(done)
    });
    if result.is_err() {
        staging.abandon();
    }
    result
}

/// A temporary directory beside a directory a tool writes atomically (`import`, `backup`): it
/// is filled first and renamed into place only once complete, so a refused or failed run
/// leaves nothing behind and a retry starts clean.
pub struct Staging {
    /// The temporary directory (`.NAME.LABEL-PID` beside the target), created empty.
    pub tmp: std::path::PathBuf,
    /// The outermost directory the staging created (the target's missing ancestors, else the
    /// temporary directory itself): what [`Staging::abandon`] removes.
    created: std::path::PathBuf,
}

impl Staging {
    pub fn beside(target: &Path, label: &str) -> anyhow::Result<Staging> {
        let name = target
            .file_name()
            .with_context(|| format!("{} names no directory", target.display()))?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let created_parent = parent
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .last()
            .map(Path::to_path_buf);
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let tmp = parent.join(format!(
            ".{}.{label}-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        Ok(Staging {
            created: created_parent.unwrap_or_else(|| tmp.clone()),
            tmp,
        })
    }

    /// Removes everything the staging created.
    pub fn abandon(&self) {
        let _ = std::fs::remove_dir_all(&self.created);
    }
}

/// Where stdin is kept while an import without `--partitions` reads it twice.
const SPOOL: &str = "import.jsonl";

fn ignore_missing(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

fn import_into(
    tmp: &Path,
    partitions: Option<u32>,
    input: Option<&Path>,
) -> anyhow::Result<(u64, u32)> {
    let open = |path: &Path| -> anyhow::Result<std::io::BufReader<std::fs::File>> {
        let f =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        Ok(std::io::BufReader::new(f))
    };
    let spool = tmp.join(SPOOL);
    let input = match (partitions, input) {
        (None, None) => {
            std::io::copy(
                &mut std::io::stdin().lock(),
                &mut std::fs::File::create(&spool)?,
            )?;
            Some(spool.as_path())
        }
        (_, input) => input,
    };
    let partitions = match (partitions, input) {
        (Some(n), _) => n,
        (None, path) => infer_partitions(&mut open(
            path.context("the input to infer partitions from")?,
        )?)?,
    };
    let n = match input {
        Some(path) => import_lines(tmp, partitions, &mut open(path)?)?,
        None => import_lines(tmp, partitions, &mut std::io::stdin().lock())?,
    };
    Ok((n, partitions))
}

/// The partition count of the log an export came from: the smallest count, at least one more
/// than the highest partition seen, under which every event's key hashes to its partition
/// (`partition_for`, as the writer placed it). Only the highest partition would undercount an
/// export whose last partitions hold no events; the keys tell the real count.
pub fn infer_partitions(input: &mut dyn BufRead) -> anyhow::Result<u32> {
    let mut placed = std::collections::HashMap::<String, u32>::new();
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let env = EventEnvelope::decode(line.as_bytes())
            .with_context(|| format!("line {}: not a sealed event", n + 1))?;
        if let Some(p) = placed.insert(env.key.clone(), env.partition) {
            anyhow::ensure!(
                p == env.partition,
                "line {}: key {} is in partitions {p} and {}: give --partitions",
                n + 1,
                env.key,
                env.partition
            );
        }
    }
    let lowest = placed.values().map(|p| p + 1).max().unwrap_or(1);
    (lowest..=MAX_INFERRED_PARTITIONS)
        .find(|&n| {
            placed
                .iter()
                .all(|(k, p)| ledger_core::partition_for(k, n) == *p)
        })
        .with_context(|| {
            format!(
                "no partition count from {lowest} to {MAX_INFERRED_PARTITIONS} places every \
                 key where the export has it: give --partitions"
            )
        })
}

/// Where the search for a partition count gives up and asks for `--partitions`.
const MAX_INFERRED_PARTITIONS: u32 = 1024;

/// Appends an events JSONL export to a new log of `partitions` partitions under `data_dir`.
/// Every line must continue its partition's chain; returns the number of events imported.
fn import_lines(data_dir: &Path, partitions: u32, input: &mut dyn BufRead) -> anyhow::Result<u64> {
    let mut appender = Appender::create(data_dir, partitions, "import")?;
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        appender.push(n + 1, line.into_bytes())?;
    }
    Ok(appender.finish()?.0)
}

/// Writes sealed events (stored bytes, in each partition's offset order) into a new log,
/// checking that every one continues its partition's chain: `import` and `backup` fill their
/// logs with it.
pub struct Appender {
    log: EmbeddedLog,
    partitions: u32,
    heads: Vec<(u64, Sha256Hash)>,
    pending: Vec<StoredEvent>,
    progress: Progress,
    count: u64,
}

impl Appender {
    /// A new log of `partitions` partitions under `data_dir`; `label` names the progress line.
    pub fn create(
        data_dir: &Path,
        partitions: u32,
        label: &'static str,
    ) -> anyhow::Result<Appender> {
        Ok(Appender {
            log: EmbeddedLog::open_or_create(&crate::log_dir(data_dir), partitions)?,
            partitions,
            heads: vec![(0u64, Sha256Hash::GENESIS); partitions as usize],
            pending: Vec::new(),
            progress: Progress::new(label, 0),
            count: 0,
        })
    }

    /// Appends one sealed event (`line` numbers it in messages).
    pub fn push(&mut self, line: usize, bytes: Vec<u8>) -> anyhow::Result<()> {
        let env = EventEnvelope::decode(&bytes)
            .with_context(|| format!("line {line}: not a sealed event"))?;
        let p = env.partition;
        let partitions = self.partitions;
        let head = self
            .heads
            .get_mut(p as usize)
            .with_context(|| format!("line {line}: partition {p} >= --partitions {partitions}"))?;
        verify_link(&bytes, p, head.0, head.1)
            .map_err(|e| anyhow::anyhow!("line {line}: {p}:{}: {e}", head.0))?;
        *head = (head.0 + 1, env.hash);
        self.pending.push(StoredEvent {
            partition: p,
            offset: env.offset,
            bytes,
        });
        self.count += 1;
        if self.pending.len() >= 4096 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        self.progress.inc(self.pending.len() as u64);
        if !self.pending.is_empty() {
            self.log.append(&std::mem::take(&mut self.pending))?;
        }
        Ok(())
    }

    /// Appends what is pending; returns the number of events and every partition's head
    /// (next offset, last hash).
    pub fn finish(mut self) -> anyhow::Result<(u64, Vec<(u64, Sha256Hash)>)> {
        self.flush()?;
        self.progress.finish();
        Ok((self.count, self.heads))
    }
}
