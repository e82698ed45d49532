//! Fault test: SIGKILL at seeded kill points of a mixed command stream (property fee configs,
//! BaaS bills, call-center cost centers from four client threads). Each round restarts the
//! server on the same data dir, streams until `k` commands of the round are acknowledged, and
//! kills it. After every restart each acknowledged command is present exactly once; at the end
//! every command ever sent is re-sent (duplicates append nothing), the log holds exactly one
//! event per command, and `ledger verify` passes (chain, and replay equals live). The number
//! of kill points and the counts checked are printed.

mod common;

use common::{Server, ledger};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const KILL_POINTS: usize = 20;
const THREADS: usize = 4;

/// Command `n`: its path, headers, body and command id (each appends exactly one event).
fn command(n: usize) -> (&'static str, Vec<(String, String)>, Value, String) {
    match n % 3 {
        0 => {
            let id = format!("P-{n:06}");
            (
                "/app/feeConfig.saveFeeConfig",
                vec![("transaction-id".into(), id.clone())],
                json!({"configId": format!("cfg-{n}"), "feeTypeCd": "1001", "feeName": "物业费",
                       "feeFlag": "Y", "startTime": "2024-01-01", "endTime": "2024-12-31",
                       "computingFormula": "1001", "squarePrice": "2.50",
                       "additionalAmount": "10.00", "communityId": format!("c{}", n % 5),
                       "billType": "MONTHLY"}),
                id,
            )
        }
        1 => (
            "/occ/http/baas/bills",
            vec![],
            json!({"billId": format!("B-{n}"), "tenantId": "MVNE", "extCustId": format!("{}", n % 7),
                   "serviceId": "1001", "periodStart": "20160101000000",
                   "periodEnd": "20160131235959", "amount": "60.50"}),
            format!("baas:MVNE:bill:B-{n}"),
        ),
        _ => {
            let id = format!("CC-{n:06}");
            (
                "/api/bill/cost-center",
                vec![("X-Request-Id".into(), id.clone())],
                json!({"bg": format!("bg{n}"), "bu": "二手房", "cost_center": "人力资源部",
                       "cost_center_code": "67.10.00.34.09"}),
                id,
            )
        }
    }
}

fn send(server: &Server, n: usize) -> Option<bool> {
    let (path, headers, body, _) = command(n);
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = server.try_post(path, &h, &body)?;
    Some(r.status == 200)
}

/// Exactly one event recorded for the command.
fn applied_once(server: &Server, n: usize) -> bool {
    let id = command(n).3;
    let r = server.get(&format!("/commands/{}", encode(&id)));
    r.status == 200 && r.body["events"].as_array().map(Vec::len) == Some(1)
}

fn encode(text: &str) -> String {
    text.replace(':', "%3A")
}

#[test]
fn sigkill_at_seeded_points_loses_and_doubles_no_acknowledged_command() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng: u64 = 0x0FA1_7ED5;
    let mut next_k = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        1 + (rng % 15) as usize
    };
    let next = AtomicUsize::new(0);
    let acknowledged = Mutex::new(Vec::<usize>::new());
    let mut checked = 0usize;
    let mut kill_points = Vec::new();
    for _ in 0..KILL_POINTS {
        let k = next_k();
        kill_points.push(k);
        let server = Server::start(dir.path());
        // Every command acknowledged in earlier rounds survived its kill, exactly once.
        for &n in acknowledged.lock().unwrap().iter() {
            assert!(
                applied_once(&server, n),
                "acknowledged command {n} present once"
            );
            checked += 1;
        }
        let round_acks = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    while !stop.load(Ordering::SeqCst) {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        match send(&server, n) {
                            Some(true) => {
                                acknowledged.lock().unwrap().push(n);
                                round_acks.fetch_add(1, Ordering::SeqCst);
                            }
                            Some(false) => panic!("command {n} refused"),
                            None => return,
                        }
                    }
                });
            }
            while round_acks.load(Ordering::SeqCst) < k {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            std::process::Command::new("kill")
                .args(["-KILL", &server.child.id().to_string()])
                .status()
                .unwrap();
            stop.store(true, Ordering::SeqCst);
        });
        drop(server);
    }
    let server = Server::start(dir.path());
    let acknowledged = acknowledged.into_inner().unwrap();
    for &n in &acknowledged {
        assert!(
            applied_once(&server, n),
            "acknowledged command {n} present once"
        );
        checked += 1;
    }
    // Re-send everything ever sent (some were in flight at a kill): each answers success,
    // already-logged ones append nothing, and the log ends with one event per command.
    let sent = next.load(Ordering::SeqCst);
    for n in 0..sent {
        assert_eq!(send(&server, n), Some(true), "command {n} on resend");
    }
    assert_eq!(
        server.log_len() as usize,
        sent,
        "exactly one event per command"
    );
    for n in 0..sent {
        assert!(applied_once(&server, n), "command {n} once after resend");
    }
    server.terminate();
    let (code, out) = ledger(&["verify", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("identical to a rebuild"), "{out}");
    eprintln!(
        "fault: {} kill points (acks before each kill: {kill_points:?}), {} commands acknowledged, \
         {checked} survival checks, {sent} commands sent and each found exactly once after resend, \
         verify ok",
        KILL_POINTS,
        acknowledged.len()
    );
}

#[test]
fn an_unusable_data_dir_at_start_up_is_a_clear_error_not_a_panic() {
    // A data dir that cannot be created (its parent is a file): the same path a full or
    // read-only disk takes, without needing one (tests run as root, which ignores modes).
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let data = blocker.join("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("RUST_LOG", "warn")
        .output()
        .expect("ledger runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot create"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
