//! The log conformance suite against the segment log: with the default segment size, and with
//! tiny segments so appends roll and reads cross sealed segments.

use ledger_core::log::{EventLog, StoredEvent};
use ledger_log::{SegmentLog, SegmentOptions};

#[test]
fn segment_log_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    ledger_log::conformance::run_all(&|| {
        Box::new(SegmentLog::open(&path, 4).unwrap()) as Box<dyn EventLog>
    });
}

#[test]
fn segment_log_with_tiny_segments_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let options = SegmentOptions {
        segment_bytes: 2048,
    };
    ledger_log::conformance::run_all(&|| {
        Box::new(SegmentLog::open_with(&path, 4, options).unwrap()) as Box<dyn EventLog>
    });
    assert!(
        SegmentLog::open(&path, 4).unwrap().segments() > 2,
        "segments rolled"
    );
}

#[test]
fn reopening_with_another_partition_count_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SegmentLog::open(dir.path(), 4).unwrap());
    assert!(SegmentLog::open(dir.path(), 8).is_err());
}

/// Every window `(from, max)` of every partition reads exactly the expected events.
fn check_windows(log: &SegmentLog, all: &[Vec<StoredEvent>]) {
    for (p, events) in all.iter().enumerate() {
        for from in 0..=events.len() + 1 {
            for max in [1, 4, 1000] {
                let want: Vec<_> = events.iter().skip(from).take(max).cloned().collect();
                assert_eq!(
                    log.read(p as u32, from as u64, max).unwrap(),
                    want,
                    "partition {p} from {from} max {max}"
                );
            }
        }
    }
}

#[test]
fn reads_from_any_offset_cross_sealed_segments_before_and_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let options = SegmentOptions {
        segment_bytes: 4096,
    };
    let mut all: Vec<Vec<StoredEvent>> = vec![Vec::new(); 3];
    let log = SegmentLog::open_with(dir.path(), 3, options).unwrap();
    for round in 0..40 {
        let mut batch = Vec::new();
        for p in 0..3u32 {
            // Partition 2 skips rounds, so some segments hold none of its events.
            if p < 2 || round % 9 == 0 {
                let n = 1 + (round + p as usize) % 3;
                batch.extend(ledger_log::conformance::sealed(&log, p, n, "window"));
            }
        }
        log.append(&batch).unwrap();
        for e in batch {
            all[e.partition as usize].push(e);
        }
    }
    assert!(log.segments() > 5, "the log rolled");
    check_windows(&log, &all);
    drop(log);
    check_windows(
        &SegmentLog::open_with(dir.path(), 3, options).unwrap(),
        &all,
    );
}
