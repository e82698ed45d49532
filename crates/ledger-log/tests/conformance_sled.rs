//! The log conformance suite against the old sled log (still the source of `ledger migrate`).

use ledger_core::log::EventLog;
use ledger_log::SledLog;

/// Opens the log again after the previous handle was dropped. sled releases its file lock
/// when its last background reference goes, which can be just after the drop returns (seen as
/// "could not acquire lock … WouldBlock" on a loaded machine), so a held lock is retried.
fn reopen(path: &std::path::Path) -> SledLog {
    let mut attempts = 0;
    loop {
        match SledLog::open(path, 4) {
            Ok(log) => return log,
            Err(e) if e.to_string().contains("WouldBlock") && attempts < 500 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => panic!("the sled log does not open: {e}"),
        }
    }
}

#[test]
fn sled_log_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    ledger_log::conformance::run_all(&|| Box::new(reopen(&path)) as Box<dyn EventLog>);
}

#[test]
fn reopening_with_another_partition_count_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SledLog::open(dir.path(), 4).unwrap());
    assert!(SledLog::open(dir.path(), 8).is_err());
}
