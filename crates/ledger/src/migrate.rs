//! `ledger migrate`: converts a data directory's event log from the old sled format to the
//! segment log. Every partition, offset and stored byte is copied as it is, so hashes and the
//! chain are unchanged; the new log is written to `log.migrating/`, checked (bytes equal to the
//! source, every chain link holds) and only then renamed into place, the sled log kept as
//! `log.sled-old/`.

use anyhow::{Context, bail};
use ledger_core::EventLog;
use ledger_log::{LogFormat, SegmentLog, SledLog, log_format};
use std::path::{Path, PathBuf};

/// Events copied per append (one frame, one fsync each).
const BATCH: usize = 4096;

/// What a migration did.
pub struct Migrated {
    pub events: u64,
    pub partitions: u32,
    /// Where the sled log was kept.
    pub old: PathBuf,
}

/// The directory the sled log is moved to.
pub fn old_log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("log.sled-old")
}

/// Migrates `data_dir`. A crash at any point leaves either the sled log in `log/` (run again) or
/// the sled log in `log.sled-old/` with no `log/` (run again: it resumes from there), never a
/// half-written `log/`.
pub fn run(data_dir: &Path) -> anyhow::Result<Migrated> {
    let log_dir = crate::log_dir(data_dir);
    let old = old_log_dir(data_dir);
    let tmp = data_dir.join("log.migrating");
    let source = match (log_format(&log_dir), old.exists()) {
        (LogFormat::Sled, false) => log_dir.clone(),
        (LogFormat::Sled, true) => bail!(
            "{} already exists; move it away before migrating {}",
            old.display(),
            log_dir.display()
        ),
        (LogFormat::Segment, _) => bail!(
            "the event log in {} is already a segment log; nothing to migrate",
            log_dir.display()
        ),
        // An earlier run moved the sled log aside and stopped before renaming the new one in.
        (LogFormat::None, true) if !log_dir.exists() => old.clone(),
        (LogFormat::None, _) => bail!("no sled event log in {}", log_dir.display()),
    };
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)
            .with_context(|| format!("cannot remove the leftover {}", tmp.display()))?;
    }
    let from = SledLog::open_existing(&source)?;
    let to = SegmentLog::open(&tmp, from.partitions())?;
    let mut events = 0;
    for p in 0..from.partitions() {
        let mut next = 0;
        loop {
            let batch = from.read(p, next, BATCH)?;
            let Some(last) = batch.last() else { break };
            next = last.offset + 1;
            events += batch.len() as u64;
            to.append(&batch).with_context(|| {
                format!(
                    "partition {p} of the sled log cannot be copied as it is (offsets must be \
                     dense from 0)"
                )
            })?;
        }
    }
    check_copy(&from, &to)?;
    drop((from, to));
    if source == log_dir {
        std::fs::rename(&log_dir, &old)
            .with_context(|| format!("cannot move {} aside", log_dir.display()))?;
    }
    std::fs::rename(&tmp, &log_dir)
        .with_context(|| format!("cannot move {} into place", tmp.display()))?;
    std::fs::File::open(data_dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", data_dir.display()))?;
    Ok(Migrated {
        events,
        partitions: SegmentLog::open_existing(&log_dir)?.partitions(),
        old,
    })
}

/// The copy holds exactly the source's events (same offsets, same bytes) and every partition's
/// chain holds in it.
fn check_copy(from: &SledLog, to: &SegmentLog) -> anyhow::Result<()> {
    for p in 0..from.partitions() {
        if from.head(p)? != to.head(p)? {
            bail!("partition {p}: the copy's head differs from the sled log's");
        }
        let mut next = 0;
        loop {
            let (a, b) = (from.read(p, next, BATCH)?, to.read(p, next, BATCH)?);
            if a != b {
                bail!("partition {p}: the copy differs from the sled log after offset {next}");
            }
            let Some(last) = a.last() else { break };
            next = last.offset + 1;
        }
        if let Err((offset, why)) = crate::verify::check_partition(to, p)? {
            bail!(
                "partition {p}: the chain breaks at offset {offset} ({why}), in the sled log as \
                 well; nothing was changed"
            );
        }
    }
    Ok(())
}
