//! The log conformance suite against the segment log: with the default segment size, and with
//! tiny segments so appends roll and reads cross sealed segments.

use ledger_core::log::EventLog;
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
