//! Crash safety (invariants 1, 2, 4, 6): a client streams 10,000 commands from several threads
//! while the server is killed with SIGKILL. After a restart, every command that got a success
//! reply is in the read model exactly once, offsets are dense, the hash chain verifies, and
//! re-sending every command converges on exactly one event per command.

mod common;

use common::{Server, ledger};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const COMMANDS: usize = 10_000;
const THREADS: usize = 8;
const KILL_AFTER_SUCCESSES: usize = 3_000;

fn body(i: usize) -> Value {
    json!({
        "configId": format!("cfg-{i:05}"), "feeTypeCd": "1001", "feeName": format!("物业费{i}"),
        "feeFlag": "Y", "startTime": "2024-01-01", "endTime": "2024-12-31",
        "computingFormula": "1001", "squarePrice": format!("{}.{:02}", i % 7, i % 100),
        "additionalAmount": "10.00", "communityId": format!("c{}", i % 13), "billType": "MONTHLY"
    })
}

fn txn(i: usize) -> String {
    format!("1000000000202401010000{i:08}")
}

/// Sends commands `next..COMMANDS` from `THREADS` threads; returns the indices answered "0".
fn stream(server: &Server, next: &AtomicUsize, stop: &AtomicBool) -> Vec<usize> {
    let ok = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= COMMANDS {
                        return;
                    }
                    let Some(r) = server.try_post(
                        "/app/feeConfig.saveFeeConfig",
                        &[("transaction-id", &txn(i))],
                        &body(i),
                    ) else {
                        return;
                    };
                    if r.status == 200 && r.body["code"] == "0" {
                        ok.lock().unwrap().push(i);
                    }
                }
            });
        }
    });
    ok.into_inner().unwrap()
}

#[test]
fn sigkill_mid_stream_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Server::start(dir.path()));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let successes = AtomicUsize::new(0);

    // Kill the server from another thread once enough commands have succeeded.
    let acknowledged: Vec<usize> = std::thread::scope(|s| {
        let killer = s.spawn(|| {
            while successes.load(Ordering::SeqCst) < KILL_AFTER_SUCCESSES
                && next.load(Ordering::SeqCst) < COMMANDS
            {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            let pid = server.child.id();
            std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .unwrap();
        });
        let streamer = s.spawn(|| stream(&server, &next, &stop));
        // Watch the log grow to pick the moment of the kill.
        while !killer.is_finished() {
            if let Some(n) = server
                .try_get("/log/positions")
                .and_then(|r| r.body["events"].as_u64())
            {
                successes.store(n as usize, Ordering::SeqCst);
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        killer.join().unwrap();
        stop.store(true, Ordering::SeqCst);
        streamer.join().unwrap()
    });
    let killed_at = next.load(Ordering::SeqCst).min(COMMANDS);
    assert!(killed_at < COMMANDS, "the kill happened mid-stream");
    assert!(!acknowledged.is_empty());
    drop(Arc::try_unwrap(server).ok());

    let server = Server::start(dir.path());
    let logged = server.log_len() as usize;
    assert!(
        logged >= acknowledged.len(),
        "every acknowledged command is in the log"
    );
    for &i in &acknowledged {
        let outcome = server.get(&format!("/commands/{}", txn(i)));
        assert_eq!(outcome.status, 200, "acknowledged command {i} survived");
        assert_eq!(
            outcome.body["events"].as_array().unwrap().len(),
            1,
            "applied once"
        );
        let listed = server.get(&format!(
            "/app/feeConfig.listFeeConfigs?communityId=c{}&configId=cfg-{i:05}",
            i % 13
        ));
        assert_eq!(
            listed.body["data"]["total"], 1,
            "command {i} is in the read model"
        );
    }

    // Resend everything: already-logged commands are duplicates, the rest are appended.
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let all_ok = stream(&server, &next, &stop);
    assert_eq!(all_ok.len(), COMMANDS, "every command succeeds on resend");
    assert_eq!(
        server.log_len() as usize,
        COMMANDS,
        "exactly one event per command"
    );
    let positions = server.get("/log/positions").body;
    for p in positions["partitions"].as_array().unwrap() {
        assert_eq!(p["end"], p["applied"], "projection caught up");
    }
    let ids: HashSet<String> = (0..COMMANDS)
        .map(|i| {
            let o = server.get(&format!("/commands/{}", txn(i))).body;
            assert_eq!(o["events"].as_array().unwrap().len(), 1);
            format!("{}:{}", o["partition"], o["first_offset"])
        })
        .collect();
    assert_eq!(ids.len(), COMMANDS, "no two commands share a log position");
    server.terminate();

    let (code, out) = ledger(&["verify", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("chain ok") && !out.contains("BROKEN"), "{out}");
    assert!(out.contains("identical to a rebuild"), "{out}");
    eprintln!(
        "crash test: {} acknowledged before the kill (stream at {killed_at}), {logged} logged after restart, {COMMANDS} after resend",
        acknowledged.len()
    );
}

/// Kill point between a group's durable append and its state commit (issue 14): the server
/// aborts right after its fifth append. After a restart the decider's checkpoint is behind the
/// log, so start-up must fold the tail: the command whose append was durable (but never
/// answered) is a duplicate when re-sent, and nothing is appended twice.
#[test]
fn abort_between_append_and_state_commit_folds_the_tail_at_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_env(
        dir.path(),
        &[],
        &[("LEDGER_FAULT_ABORT_AFTER_APPENDS", "5")],
    );
    let send = |server: &Server, i: usize| {
        server.try_post(
            "/app/feeConfig.saveFeeConfig",
            &[("transaction-id", &txn(i))],
            &body(i),
        )
    };
    for i in 0..4 {
        let r = send(&server, i).expect("answered");
        assert_eq!(r.body["code"], "0", "{}", r.body);
    }
    assert!(
        send(&server, 4).is_none(),
        "the server aborts after the fifth append, before answering"
    );
    server.kill();

    let server = Server::start(dir.path());
    assert_eq!(
        server.log_len(),
        5,
        "the fifth command's append was durable"
    );
    for i in 0..5 {
        let r = send(&server, i).expect("answered");
        assert_eq!(r.body["code"], "0", "resend {i}: {}", r.body);
    }
    assert_eq!(
        server.log_len(),
        5,
        "every resend, the unanswered fifth included, is a duplicate"
    );
    let r = send(&server, 5).expect("answered");
    assert_eq!(r.body["code"], "0", "{}", r.body);
    assert_eq!(server.log_len(), 6);
}

/// What the read side answers for the commands of `read_store_that_cannot_be_opened…`: each
/// command's outcome, with the position and read-model digest the last reply carries.
fn read_side(server: &Server, commands: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut last = None;
    for i in 0..commands {
        let r = server.get(&format!("/commands/t-{i}"));
        assert_eq!(r.status, 200, "{}", r.body);
        seen.push(r.body.to_string());
        last = Some(r);
    }
    let last = last.expect("at least one command");
    for header in ["x-ledger-position", "x-ledger-digest"] {
        seen.push(last.headers[header].to_str().unwrap().to_string());
    }
    seen
}

/// Issue 14 item 7: a read store that fails to open (here its file overwritten with garbage) is
/// moved aside, the server says so in its log, and the read models are rebuilt from the log:
/// every command answers as before, at the same position and digest.
#[test]
fn a_read_store_that_cannot_be_opened_is_moved_aside_and_rebuilt_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    for i in 0..5 {
        common::save_fee_config(&server, i, "c-rebuild");
    }
    let before = read_side(&server, 5);
    assert_eq!(server.terminate(), Some(0));

    let file = data.join("store").join("read-models.redb");
    assert!(file.is_file(), "the read models live in {}", file.display());
    std::fs::write(&file, vec![0xA5; 64 * 1024]).unwrap();

    let server = Server::start(&data);
    assert_eq!(read_side(&server, 5), before);
    let aside: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("store.broken-"))
        .collect();
    assert_eq!(aside.len(), 1, "the broken store is kept aside: {aside:?}");
    let log = std::fs::read_to_string(data.with_extension("server.log")).unwrap();
    assert!(
        log.contains("moving it aside and rebuilding it from the log"),
        "{log}"
    );
}
