//! Upgrading (issue 14 item 6): a data dir whose log is in the old sled format is refused by
//! every subcommand with a message naming `ledger migrate`; `ledger migrate` converts it keeping
//! every event byte for byte, and the server, `verify` and the read models work on the result.
//!
//! The old data dir is made by running the server (so the read store is the engine's), then
//! writing its events through `SledLog`: the sled log code the server used before the segment
//! log, unchanged but for its name.

mod common;

use common::Server;
use ledger_core::EventLog;
use ledger_core::log::StoredEvent;
use ledger_log::{SegmentLog, SledLog};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const BAAS_HEADERS: &[(&str, &str)] = &[
    ("sign", "xxxdesdfasdfasdfasdf6xxxx7bxxx60"),
    ("appkey", "xxxde52a0axxxaefa93c6xxxx7bxxx60"),
];
const BAAS_QUERY: &str = "/occ/http/srv_baas_feeowed_qry";

fn bill(server: &Server, id: &str, customer: &str, amount: &str) {
    let r = server.post(
        "/occ/http/baas/bills",
        BAAS_HEADERS,
        &json!({"billId": id, "tenantId": "MVNE", "extCustId": customer, "serviceId": "1001",
                "periodStart": "20160101000000", "periodEnd": "20160131235959",
                "amount": amount}),
    );
    assert_eq!(r.body["returnCode"], "BaaS-000000", "{}", r.body);
}

fn owed_query(customer: &str) -> Value {
    json!({"tradeSeq": format!("MVNE201604011212120000{customer}"), "tenantId": "MVNE",
           "extCustId": customer, "serviceId": "1001", "beginDate": "20160101000000",
           "endDate": "20160501000000"})
}

/// What the read side answers: a BaaS query per customer, the outcome of a command, and the
/// position and read-model digest every reply carries.
fn observations(server: &Server) -> Vec<Value> {
    let mut seen = Vec::new();
    for customer in ["10010111", "10010112"] {
        let r = server.post(BAAS_QUERY, BAAS_HEADERS, &owed_query(customer));
        assert_eq!(r.status, 200, "{}", r.body);
        seen.push(r.body);
    }
    let r = server.get("/commands/t-3");
    seen.push(r.body);
    for header in ["x-ledger-position", "x-ledger-digest"] {
        seen.push(json!(r.headers[header].to_str().unwrap()));
    }
    seen
}

fn all_events(log: &dyn EventLog) -> Vec<StoredEvent> {
    (0..log.partitions())
        .flat_map(|p| log.read(p, 0, usize::MAX).unwrap())
        .collect()
}

/// Replaces the data dir's log with a sled log holding the same events.
fn downgrade_to_sled(data: &Path) -> Vec<StoredEvent> {
    let log_dir = data.join("log");
    let events = {
        let log = SegmentLog::open_existing(&log_dir).unwrap();
        let sled_dir = data.join("log.sled-building");
        let sled = SledLog::open(&sled_dir, log.partitions()).unwrap();
        let events = all_events(&log);
        sled.append(&events).unwrap();
        events
    };
    std::fs::remove_dir_all(&log_dir).unwrap();
    std::fs::rename(data.join("log.sled-building"), &log_dir).unwrap();
    events
}

/// Runs `ledger <args>`: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_old_sled_data_dir_is_refused_then_migrated_intact() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let server = Server::start(&data);
    for i in 0..8 {
        common::save_fee_config(&server, i, &format!("1000{}", i % 3));
    }
    bill(&server, "B1", "10010111", "60.50");
    bill(&server, "B2", "10010112", "38.50");
    bill(&server, "B3", "10010111", "1.25");
    let before = observations(&server);
    assert_eq!(server.terminate(), Some(0));
    let events = downgrade_to_sled(&data);
    assert_eq!(events.len(), 11);

    // Every subcommand on the log refuses the old format, naming the command.
    let named = format!("ledger migrate --data-dir {d}");
    let into = dir.path().join("replayed");
    for args in [
        vec!["serve", "--data-dir", d, "--listen", "127.0.0.1:0"],
        vec!["verify", "--data-dir", d],
        vec!["export", "--data-dir", d, "--what", "events"],
        vec!["replay", "--data-dir", d, "--into", into.to_str().unwrap()],
    ] {
        let (code, _, err) = run(&args);
        assert_ne!(code, 0, "{args:?}");
        assert!(
            err.contains("is in the old sled format") && err.contains(&named),
            "{args:?}: {err}"
        );
    }
    assert_eq!(
        all_events(&SledLog::open_existing(&data.join("log")).unwrap()),
        events,
        "the refusals left the sled log as it was"
    );

    let (code, out, err) = run(&["migrate", "--data-dir", d]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("migrated 11 events") && out.contains("log.sled-old"),
        "{out}"
    );
    assert_eq!(
        all_events(&SegmentLog::open_existing(&data.join("log")).unwrap()),
        events,
        "every event at its partition and offset, byte for byte"
    );
    assert_eq!(
        all_events(&SledLog::open_existing(&data.join("log.sled-old")).unwrap()),
        events,
        "the sled log is kept"
    );
    let (code, _, err) = run(&["migrate", "--data-dir", d]);
    assert_ne!(code, 0);
    assert!(err.contains("already a segment log"), "{err}");

    let (code, out, _) = run(&["verify", "--data-dir", d]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("identical to a rebuild from the log"), "{out}");

    let server = Server::start(&data);
    assert_eq!(
        observations(&server),
        before,
        "the read side answers as before"
    );
    bill(&server, "B4", "10010112", "2.00");
    assert_eq!(server.log_len(), 12, "the migrated log takes new commands");
}

#[test]
fn an_interrupted_migration_resumes_from_the_kept_sled_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    for i in 0..3 {
        common::save_fee_config(&server, i, &format!("1000{}", i % 3));
    }
    assert_eq!(server.terminate(), Some(0));
    let events = downgrade_to_sled(&data);
    // The state a crash between the two renames leaves: the sled log moved aside, a partial
    // new log not yet in place.
    std::fs::rename(data.join("log"), data.join("log.sled-old")).unwrap();
    std::fs::create_dir(data.join("log.migrating")).unwrap();
    std::fs::write(data.join("log.migrating/garbage.seg"), b"partial").unwrap();

    let (code, out, err) = run(&["migrate", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("migrated 3 events"), "{out}");
    assert_eq!(
        all_events(&SegmentLog::open_existing(&data.join("log")).unwrap()),
        events
    );
    assert!(!data.join("log.migrating").exists());
}
