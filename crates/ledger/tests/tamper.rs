//! `ledger verify` catches tampering with the stored log (invariant 6): one changed byte, a
//! deleted event and two swapped events are each reported at exactly the partition and offset.

mod common;

use common::{Server, ledger};
use ledger_core::EventLog;
use ledger_log::EmbeddedLog;

/// A data dir holding `n` fee configs, all in one community so they share a partition.
fn populated(n: usize) -> (tempfile::TempDir, u32) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for i in 0..n {
        common::save_fee_config(&server, i, "10001");
    }
    let partition = server.get("/commands/t-0").body["partition"]
        .as_u64()
        .unwrap() as u32;
    assert_eq!(server.terminate(), Some(0));
    (dir, partition)
}

fn verify(dir: &std::path::Path) -> (i32, String) {
    ledger(&["verify", "--data-dir", dir.to_str().unwrap()])
}

fn log(dir: &std::path::Path) -> EmbeddedLog {
    EmbeddedLog::open_existing(&dir.join("log")).unwrap()
}

#[test]
fn a_clean_log_verifies() {
    let (dir, _) = populated(5);
    let (code, out) = verify(dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("5 events, chain ok"), "{out}");
}

#[test]
fn one_changed_byte_is_reported_at_its_offset() {
    let (dir, p) = populated(6);
    {
        let log = log(dir.path());
        let mut bytes = log.read(p, 3, 1).unwrap().remove(0).bytes;
        // Change one digit of the square price inside the payload: "2.50" becomes "2.60".
        let at = bytes.windows(4).position(|w| w == b"2.50").unwrap();
        bytes[at + 2] = b'6';
        log.tamper(p, 3, Some(&bytes)).unwrap();
    }
    let (code, out) = verify(dir.path());
    assert_ne!(code, 0);
    assert!(
        out.contains(&format!("partition {p}: BROKEN at offset 3: hash mismatch")),
        "{out}"
    );
}

#[test]
fn a_deleted_event_is_reported_at_its_offset() {
    let (dir, p) = populated(6);
    log(dir.path()).tamper(p, 2, None).unwrap();
    let (code, out) = verify(dir.path());
    assert_ne!(code, 0);
    assert!(
        out.contains(&format!(
            "partition {p}: BROKEN at offset 2: offset 2 is missing"
        )),
        "{out}"
    );
}

#[test]
fn two_swapped_events_are_reported_at_the_first() {
    let (dir, p) = populated(6);
    {
        let log = log(dir.path());
        let a = log.read(p, 1, 1).unwrap().remove(0).bytes;
        let b = log.read(p, 4, 1).unwrap().remove(0).bytes;
        log.tamper(p, 1, Some(&b)).unwrap();
        log.tamper(p, 4, Some(&a)).unwrap();
    }
    let (code, out) = verify(dir.path());
    assert_ne!(code, 0);
    assert!(
        out.contains(&format!(
            "partition {p}: BROKEN at offset 1: event says partition {p} offset 4"
        )),
        "{out}"
    );
}
