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
        writeln!(
            out,
            "partition,offset,event_id,type,schema_version,key,command_id,recorded_at,effective_at,payload,prev_hash,hash"
        )?;
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
                        let fields = [
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

/// Appends an events JSONL export to a new log of `partitions` partitions under `data_dir`.
/// Every line must continue its partition's chain; returns the number of events imported.
pub fn import(data_dir: &Path, partitions: u32, input: &mut dyn BufRead) -> anyhow::Result<u64> {
    let log_dir = crate::log_dir(data_dir);
    anyhow::ensure!(
        !log_dir.exists(),
        "{} already exists: import fills an empty log",
        log_dir.display()
    );
    let log = EmbeddedLog::open_or_create(&log_dir, partitions)?;
    let mut heads = vec![(0u64, Sha256Hash::GENESIS); partitions as usize];
    let mut pending: Vec<StoredEvent> = Vec::new();
    let mut progress = Progress::new("import", 0);
    let mut count = 0;
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let bytes = line.into_bytes();
        let env = EventEnvelope::decode(&bytes)
            .with_context(|| format!("line {}: not a sealed event", n + 1))?;
        let p = env.partition;
        let head = heads.get_mut(p as usize).with_context(|| {
            format!("line {}: partition {p} >= --partitions {partitions}", n + 1)
        })?;
        verify_link(&bytes, p, head.0, head.1)
            .map_err(|e| anyhow::anyhow!("line {}: {p}:{}: {e}", n + 1, head.0))?;
        *head = (head.0 + 1, env.hash);
        pending.push(StoredEvent {
            partition: p,
            offset: env.offset,
            bytes,
        });
        count += 1;
        if pending.len() >= 4096 {
            progress.inc(pending.len() as u64);
            log.append(&std::mem::take(&mut pending))?;
        }
    }
    progress.inc(pending.len() as u64);
    if !pending.is_empty() {
        log.append(&pending)?;
    }
    progress.finish();
    Ok(count)
}
