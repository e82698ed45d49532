//! The log conformance suite against the old sled log (still the source of `ledger migrate`).

use ledger_core::log::EventLog;
use ledger_log::SledLog;

#[test]
fn sled_log_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    ledger_log::conformance::run_all(&|| {
        Box::new(SledLog::open(&path, 4).unwrap()) as Box<dyn EventLog>
    });
}

#[test]
fn reopening_with_another_partition_count_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SledLog::open(dir.path(), 4).unwrap());
    assert!(SledLog::open(dir.path(), 8).is_err());
}
