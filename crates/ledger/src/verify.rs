//! `ledger verify`: recompute every partition's hash chain, then rebuild the read models in a
//! scratch store up to the live store's positions and compare them key by key.

use crate::engine::projector::catch_up;
use ledger_core::{EventLog, Sha256Hash, verify_link};
use ledger_log::EmbeddedLog;
use ledger_store::{ReadStore, Row};
use std::path::Path;

/// The first broken link of a partition, if any: (offset, description).
pub fn check_partition(log: &dyn EventLog, p: u32) -> anyhow::Result<Result<u64, (u64, String)>> {
    let mut prev = Sha256Hash::GENESIS;
    let mut next = 0u64;
    loop {
        let batch = log.read(p, next, 4096)?;
        if batch.is_empty() {
            return Ok(Ok(next));
        }
        for e in batch {
            if e.offset != next {
                return Ok(Err((
                    next,
                    format!("offset {next} is missing (next stored is {})", e.offset),
                )));
            }
            match verify_link(&e.bytes, p, e.offset, prev) {
                Ok(env) => prev = env.hash,
                Err(err) => return Ok(Err((e.offset, err.to_string()))),
            }
            next += 1;
        }
    }
}

/// Prints a report; returns whether everything verified.
pub fn run(data_dir: &Path) -> anyhow::Result<bool> {
    let log = EmbeddedLog::open_existing(&crate::log_dir(data_dir))?;
    let mut ok = true;
    for p in 0..log.partitions() {
        match check_partition(&log, p)? {
            Ok(len) => println!("partition {p}: {len} events, chain ok"),
            Err((offset, why)) => {
                println!("partition {p}: BROKEN at offset {offset}: {why}");
                ok = false;
            }
        }
    }
    if !ok {
        return Ok(false);
    }
    let live = ReadStore::open(&crate::store_dir(data_dir))?;
    let positions: Vec<u64> = (0..log.partitions())
        .map(|p| live.position(p))
        .collect::<Result<_, _>>()?;
    let scratch_dir = tempfile_dir(data_dir)?;
    let scratch = ReadStore::open(&scratch_dir)?;
    catch_up(&log, &scratch, Some(&positions), &mut |_| {})?;
    let (a, b) = (live.dump()?, scratch.dump()?);
    let mismatch = first_difference(&a, &b);
    drop(scratch);
    let _ = std::fs::remove_dir_all(&scratch_dir);
    match mismatch {
        None => {
            println!(
                "read models: {} keys identical to a rebuild from the log",
                a.len()
            );
            Ok(true)
        }
        Some(report) => {
            println!("read models: {report}");
            Ok(false)
        }
    }
}

/// The first key (in key order) whose live row differs from the rebuilt one, described.
fn first_difference(live: &[Row], rebuilt: &[Row]) -> Option<String> {
    let show = |v: Option<&Vec<u8>>| match v {
        None => "absent".to_string(),
        Some(v) => String::from_utf8_lossy(v).chars().take(200).collect(),
    };
    let (mut i, mut j) = (0, 0);
    loop {
        let (x, y) = (live.get(i), rebuilt.get(j));
        let key = match (x, y) {
            (None, None) => return None,
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
                continue;
            }
            (Some(x), Some(y)) => x.0.clone().min(y.0.clone()),
            (Some(x), None) => x.0.clone(),
            (None, Some(y)) => y.0.clone(),
        };
        let live_value = x.filter(|r| r.0 == key).map(|r| &r.1);
        let rebuilt_value = y.filter(|r| r.0 == key).map(|r| &r.1);
        let key = crate::audit::export::printable_key(&key);
        return Some(match (live_value, rebuilt_value) {
            (Some(a), Some(b)) => format!(
                "first differing key {key} (live → rebuilt):\n{}",
                crate::audit::dry_run::field_changes(a, b).trim_end()
            ),
            (a, b) => format!(
                "first differing key {key}: live {}, rebuilt {}",
                show(a),
                show(b)
            ),
        });
    }
}

fn tempfile_dir(data_dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let dir = data_dir.join(format!("verify-scratch-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(dir)
}
