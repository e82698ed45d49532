//! Online backup: the server side of `GET /admin/backup` (a consistent copy of the embedded
//! log, streamed while the node keeps serving) and `ledger backup`, which writes that copy as a
//! data dir `serve`, `verify` and `replay` accept. `export`, `verify` and `dry-run` take
//! `--server URL` and run on such a copy in a temporary directory (one code path); without it,
//! a data dir a running server holds is refused with a message saying so.
//!
//! The stream is JSON lines: a [`Header`] (format, partition count, and per partition the end
//! at the cut: next offset and last hash), then every partition's stored events up to its end
//! (partition by partition, in offset order, the bytes exactly as stored, so the hash chain
//! travels with them), then a [`Trailer`] holding the event count; a copy without it was cut
//! short. The cut is every partition's head when the request is handled: the head moves only
//! after an append is durable and a command is acknowledged only after that, so every command
//! acknowledged before the backup started is in it, and nothing half-written is.
//!
//! The read models are not transferred: they are derived from the log, a copy of them would
//! have to be cut at exactly the log's positions (the projector is usually behind the log's
//! end), and a rebuild is byte-identical (ARCHITECTURE invariant 5). `ledger backup` rebuilds
//! them on the copy from the copied log, off the server; the decider state is left out too and
//! folded from the log when `serve` starts on the copy.

use crate::audit::export::{Appender, Staging};
use crate::audit::progress::Progress;
use crate::engine::projector::catch_up;
use anyhow::Context;
use ledger_core::{EventLog, PartitionHead};
use ledger_log::EmbeddedLog;
use ledger_store::{ReadStore, StoreError};
use serde::{Deserialize, Serialize};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The first line of the stream.
#[derive(Debug, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`]; a client refuses another.
    pub version: u32,
    /// The log's partition count (its `segment-log.meta`).
    pub partitions: u32,
    /// Per partition, the end at the cut.
    pub heads: Vec<Head>,
}

/// A partition's end: the next offset and the hash of its last event (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub next_offset: u64,
    pub last_hash: String,
}

impl From<&PartitionHead> for Head {
    fn from(h: &PartitionHead) -> Self {
        Head {
            next_offset: h.next_offset,
            last_hash: h.last_hash.to_hex(),
        }
    }
}

/// The last line of the stream: how many events it carried.
#[derive(Debug, Serialize, Deserialize)]
pub struct Trailer {
    pub end: u64,
}

pub const FORMAT: &str = "ledger-backup";
pub const VERSION: u32 = 1;

/// What `backup.json` in the copy records.
pub const INFO_FILE: &str = "backup.json";

/// Events read from the log per chunk of the stream.
const CHUNK_EVENTS: u64 = 4096;

/// The stream of a copy of `log` cut at its heads now (read before this returns).
pub fn stream(log: Arc<dyn EventLog>) -> Result<ledger_api::access::BackupChunks, String> {
    let heads: Vec<PartitionHead> = (0..log.partitions())
        .map(|p| log.head(p))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        partitions: log.partitions(),
        heads: heads.iter().map(Head::from).collect(),
    };
    let ends: Vec<u64> = heads.iter().map(|h| h.next_offset).collect();
    let total: u64 = ends.iter().sum();
    let (mut partition, mut next, mut finished) = (0usize, 0u64, false);
    let body = std::iter::from_fn(move || {
        while !finished {
            let Some(&end) = ends.get(partition) else {
                finished = true;
                return Some(json_line(&Trailer { end: total }));
            };
            if next >= end {
                (partition, next) = (partition + 1, 0);
                continue;
            }
            let p = partition as u32;
            let batch = match log.read(p, next, (end - next).min(CHUNK_EVENTS) as usize) {
                Ok(batch) if !batch.is_empty() => batch,
                Ok(_) => {
                    finished = true;
                    return Some(Err(format!(
                        "partition {p} ends at {next}, before the cut at {end}"
                    )));
                }
                Err(e) => {
                    finished = true;
                    return Some(Err(e.to_string()));
                }
            };
            let mut chunk = Vec::new();
            for e in batch.iter().take_while(|e| e.offset < end) {
                if e.offset != next {
                    finished = true;
                    return Some(Err(format!("partition {p}: offset {next} is missing")));
                }
                chunk.extend_from_slice(&e.bytes);
                chunk.push(b'\n');
                next += 1;
            }
            return Some(Ok(chunk));
        }
        None
    });
    Ok(Box::new(std::iter::once(json_line(&header)).chain(body)))
}

fn json_line(value: &impl Serialize) -> Result<Vec<u8>, String> {
    let mut line = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    line.push(b'\n');
    Ok(line)
}

/// Where a tool reads a running server's data from.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ServerArgs {
    /// A running ledger's base URL (e.g. `http://127.0.0.1:8080`): work on an online backup it
    /// streams (`GET /admin/backup`, admin token), taken into a temporary directory, instead of
    /// `--data-dir`.
    #[arg(long)]
    pub server: Option<String>,
    /// The admin token for `--server` (default: `[auth] admin_token` of `--config`, the demo
    /// one without a config).
    #[arg(long, env = "LEDGER_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

impl ServerArgs {
    fn token(&self, config: Option<&Path>) -> anyhow::Result<String> {
        if let Some(t) = &self.admin_token {
            return Ok(t.clone());
        }
        let config = crate::config::Config::resolve(&crate::config::ConfigArgs {
            config: config.map(Path::to_path_buf),
            ..Default::default()
        })?;
        config
            .auth
            .admin_token
            .context("no admin token: give --admin-token or [auth] admin_token in --config")
    }
}

/// `ledger backup --server URL --out DIR`.
#[derive(clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The config file the admin token is read from (`[auth] admin_token`).
    #[arg(long, env = "LEDGER_CONFIG")]
    pub config: Option<PathBuf>,
    /// The directory the copy is written to (must not exist): a data dir `serve`, `verify` and
    /// `replay` accept.
    #[arg(long)]
    pub out: PathBuf,
}

/// What a backup holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct BackupInfo {
    /// The server it was taken from.
    pub server: String,
    pub taken_at: chrono::DateTime<chrono::Utc>,
    pub partitions: u32,
    /// Per partition, the end at the cut (the copy's `X-Ledger-Position`).
    pub heads: Vec<Head>,
    pub events: u64,
}

/// Takes a backup of the server `args` names into `out` (which must not exist), atomically:
/// written in a temporary directory beside it and renamed into place once complete. `config`
/// is the config file holding the admin token.
pub fn take(args: &ServerArgs, config: Option<&Path>, out: &Path) -> anyhow::Result<BackupInfo> {
    let server = args
        .server
        .as_deref()
        .context("--server URL names the running ledger to back up")?;
    anyhow::ensure!(
        !out.exists(),
        "{} already exists: a backup writes a new directory",
        out.display()
    );
    let token = args.token(config)?;
    let staging = Staging::beside(out, "backup")?;
    let result = download(server, &token, &staging.tmp).and_then(|info| {
        std::fs::rename(&staging.tmp, out).with_context(|| {
            format!(
                "cannot rename {} to {}",
                staging.tmp.display(),
                out.display()
            )
        })?;
        Ok(info)
    });
    if result.is_err() {
        staging.abandon();
    }
    result
}

/// Reads the stream into a new data dir `dir`: the log (every link checked, every head compared
/// with the header), the read models rebuilt from it, and `backup.json`.
fn download(server: &str, token: &str, dir: &Path) -> anyhow::Result<BackupInfo> {
    let url = format!("{}/admin/backup", server.trim_end_matches('/'));
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // A large log streams for long; the connect timeout catches an absent server.
        .timeout(None)
        .build()?;
    let reply = client
        .get(&url)
        .bearer_auth(token)
        .send()
        .with_context(|| format!("cannot reach the ledger at {server}"))?;
    let status = reply.status();
    if !status.is_success() {
        let text = reply.text().unwrap_or_default();
        let why = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or(text);
        anyhow::bail!("{server} refused the backup ({status}): {why}");
    }
    let mut lines = std::io::BufReader::with_capacity(1 << 20, reply).lines();
    let cut_short = "the backup stream was cut short";
    let header: Header = serde_json::from_str(&lines.next().context(cut_short)??)
        .context("the reply is not a ledger backup")?;
    anyhow::ensure!(
        header.format == FORMAT && header.version == VERSION,
        "the server sent a {} v{} backup; this ledger reads {FORMAT} v{VERSION}",
        header.format,
        header.version
    );
    anyhow::ensure!(
        header.heads.len() == header.partitions as usize,
        "the backup header names {} heads for {} partitions",
        header.heads.len(),
        header.partitions
    );
    let expected: u64 = header.heads.iter().map(|h| h.next_offset).sum();
    let mut appender = Appender::create(dir, header.partitions, "backup")?;
    for n in 0..expected {
        let line = lines
            .next()
            .with_context(|| format!("{cut_short} after {n} of {expected} events"))?
            .with_context(|| format!("the backup stream broke after {n} of {expected} events"))?;
        appender.push(n as usize + 2, line.into_bytes())?;
    }
    let trailer: Trailer = serde_json::from_str(&lines.next().context(cut_short)??)
        .with_context(|| format!("{cut_short}: no trailer after {expected} events"))?;
    anyhow::ensure!(
        trailer.end == expected,
        "the backup trailer counts {} events, the header {expected}",
        trailer.end
    );
    let (events, heads) = appender.finish()?;
    for (p, ((next, hash), want)) in heads.iter().zip(&header.heads).enumerate() {
        anyhow::ensure!(
            *next == want.next_offset && hash.to_hex() == want.last_hash,
            "partition {p} of the copy ends at {next} ({}), the server's cut at {} ({})",
            hash.to_hex(),
            want.next_offset,
            want.last_hash
        );
    }
    rebuild_read_models(dir, expected)?;
    let info = BackupInfo {
        server: server.to_string(),
        taken_at: chrono::Utc::now(),
        partitions: header.partitions,
        heads: header.heads,
        events,
    };
    std::fs::write(dir.join(INFO_FILE), serde_json::to_vec_pretty(&info)?)?;
    Ok(info)
}

/// Projects the copied log into the copy's read store, as the server's projector would.
fn rebuild_read_models(dir: &Path, events: u64) -> anyhow::Result<()> {
    let log = EmbeddedLog::open_existing(&crate::log_dir(dir))?;
    let store = ReadStore::open(&crate::store_dir(dir))?;
    let mut progress = Progress::new("read models", events);
    catch_up(&log, &store, None, &mut |n| progress.inc(n))?;
    progress.finish();
    store.flush()?;
    Ok(())
}

/// The data dir a tool works on: `--data-dir` itself, or an online backup of `--server` in a
/// temporary directory removed when this is dropped.
pub struct Source {
    pub data_dir: PathBuf,
    scratch: Option<PathBuf>,
}

impl Drop for Source {
    fn drop(&mut self) {
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// With `--server`, takes an online backup into a temporary directory (the admin token from
/// `config` unless given); without it, `data_dir`, refused when a running server holds it
/// (`tool` names the command in the message).
pub fn source(
    args: &ServerArgs,
    config: Option<&Path>,
    data_dir: &Path,
    tool: &str,
) -> anyhow::Result<Source> {
    if args.server.is_none() {
        ensure_not_served(data_dir, tool)?;
        return Ok(Source {
            data_dir: data_dir.to_path_buf(),
            scratch: None,
        });
    }
    let scratch = std::env::temp_dir().join(format!("ledger-online-{}", std::process::id()));
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)?;
    }
    let source = Source {
        data_dir: scratch.join("data"),
        scratch: Some(scratch),
    };
    let info = take(args, config, &source.data_dir)?;
    eprintln!(
        "online backup of {}: {} events in {} partitions",
        info.server, info.events, info.partitions
    );
    Ok(source)
}

/// Refuses a data dir whose read store a running server holds (redb's file lock; sled's for an
/// old store): opening its log beside the server would race the server's appends, and the
/// store cannot be opened at all.
pub fn ensure_not_served(data_dir: &Path, tool: &str) -> anyhow::Result<()> {
    let store = crate::store_dir(data_dir);
    if !store.exists() {
        return Ok(());
    }
    match ReadStore::open(&store) {
        Err(StoreError::Locked { .. }) => Err(anyhow::anyhow!(held_message(data_dir, tool))),
        // Anything else is the tool's own business: it opens the store and reports it.
        _ => Ok(()),
    }
}

/// What a tool says when a running server holds its data dir.
pub fn held_message(data_dir: &Path, tool: &str) -> String {
    format!(
        "{} is held by a running ledger server (its read store is locked). Run `ledger {tool} \
         --server URL` instead (e.g. --server http://127.0.0.1:8080): it works on an online \
         backup the server streams (admin token: --admin-token, or [auth] admin_token of \
         --config), while the server keeps serving; or stop the server first",
        data_dir.display()
    )
}
