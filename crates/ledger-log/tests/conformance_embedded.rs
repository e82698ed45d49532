//! The log conformance suite against the embedded sled log.

use ledger_core::log::EventLog;
use ledger_log::EmbeddedLog;

#[test]
fn embedded_log_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    ledger_log::conformance::run_all(&|| {
        Box::new(EmbeddedLog::open(&path, 4).unwrap()) as Box<dyn EventLog>
    });
}

#[test]
fn reopening_with_another_partition_count_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(EmbeddedLog::open(dir.path(), 4).unwrap());
    assert!(EmbeddedLog::open(dir.path(), 8).is_err());
}
