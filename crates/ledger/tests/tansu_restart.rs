//! The broker stops and restarts mid-stream (Tansu, an out-of-process Kafka-protocol broker with
//! persistent sqlite storage): no acknowledged command is lost, commands during the outage fail
//! with the family's 503 envelope, and the stream resumes after the restart (how soon is printed,
//! not asserted: benchmarks measure time). The node creates its topics on the fresh broker.
//! Ignored unless asked for, since it needs `tansu` on PATH: `.ci/run` installs it and runs the
//! ignored tests. The broker's stderr is kept in
//! `<broker dir>.tansu.log` and the node's in `<data dir>.server.log`
//! (`LEDGER_TEST_RUST_LOG` raises the node's log level).

mod common;

use common::Server;
use serde_json::json;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn tansu_available() -> bool {
    Command::new("tansu")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A broker process, killed when dropped so a failing test leaves no broker behind.
struct Broker(Child);

impl Broker {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn start_tansu(port: u16, dir: &std::path::Path) -> Broker {
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new("tansu")
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        // Tansu reads the sqlite URL's path relative to its working directory.
        .args(["--storage-engine", "sqlite://tansu.db"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.with_extension("tansu.log"))
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null()),
        )
        .spawn()
        .expect("tansu starts");
    let mut broker = Broker(child);
    // Until it listens, or it has exited (then its log says why).
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = broker.0.try_wait() {
            panic!("tansu exited before listening: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    broker
}

/// A Tansu broker of its own on a free port, in a temporary directory.
fn fresh_broker() -> (u16, tempfile::TempDir, Broker) {
    assert!(tansu_available(), "tansu is not on PATH");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let broker = start_tansu(port, dir.path());
    (port, dir, broker)
}

/// Starts the broker again on its port and directory once the killed one has freed the port.
fn restart_tansu(port: u16, dir: &std::path::Path) -> Broker {
    while TcpListener::bind(("127.0.0.1", port)).is_err() {
        std::thread::yield_now();
    }
    start_tansu(port, dir)
}

fn body(i: usize) -> serde_json::Value {
    json!({
        "configId": format!("t-{i}"), "feeTypeCd": "1001", "feeName": "物业费", "feeFlag": "Y",
        "startTime": "2024-01-01", "endTime": "2024-12-31", "computingFormula": "1001",
        "squarePrice": "2.50", "additionalAmount": "10.00",
        "communityId": format!("r{}", i % 3), "billType": "MONTHLY"
    })
}

/// Attempts to get a command through after the restart before the test gives up (each attempt
/// is answered, 503 or 200, within the node's command wait; 200 ms apart).
const RESUME_ATTEMPTS: usize = 300;

#[test]
#[ignore = "needs the tansu broker on PATH (cargo install tansu --features libsql; .ci/run has it)"]
fn a_broker_restart_loses_no_acknowledged_command() {
    let (port, broker_dir, mut broker) = fresh_broker();
    let brokers = format!("127.0.0.1:{port}");
    // No topic exists yet: the node creates both (admin CreateTopics) with 4 partitions.
    let dir = tempfile::tempdir().unwrap();
    let node = Server::start_with(
        dir.path(),
        &[
            "--kafka",
            &brokers,
            "--partitions",
            "4",
            "--command-wait-ms",
            "15000",
        ],
    );

    let mut acknowledged = Vec::new();
    for i in 0..30 {
        let r = node.post(
            "/app/feeConfig.saveFeeConfig",
            &[("transaction-id", &format!("tr-{i}"))],
            &body(i),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        acknowledged.push(i);
    }

    broker.stop();
    let r = node.post(
        "/app/feeConfig.saveFeeConfig",
        &[("transaction-id", "tr-outage")],
        &body(1000),
    );
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["code"], "503");

    let mut broker = restart_tansu(port, broker_dir.path());
    let restarted = Instant::now();
    // Clients reconnect within a second of the broker's return (reconnect.backoff.max.ms) and
    // the decider keeps its group membership, so the stream resumes within seconds.
    let mut attempts = 0;
    let mut i = 30;
    while i < 60 {
        let r = node.try_post(
            "/app/feeConfig.saveFeeConfig",
            &[("transaction-id", &format!("tr-{i}"))],
            &body(i),
        );
        match r {
            Some(r) if r.status == 200 => {
                if i == 30 {
                    eprintln!(
                        "stream resumed {:?} after the broker restarted",
                        restarted.elapsed()
                    );
                }
                acknowledged.push(i);
                i += 1;
            }
            _ => {
                attempts += 1;
                assert!(
                    attempts < RESUME_ATTEMPTS,
                    "the stream did not resume after the broker's restart (last answer: {:?})",
                    r.map(|r| (r.status, r.body))
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    for i in &acknowledged {
        let o = node.get(&format!("/commands/tr-{i}"));
        assert_eq!(
            o.status, 200,
            "acknowledged command {i} survived the broker restart"
        );
        assert_eq!(o.body["events"].as_array().unwrap().len(), 1);
    }
    broker.stop();
}

/// The broker is SIGKILLed while a writer appends commands of many events each: after the
/// restart every command is on the partition whole or not at all (a command's events are one
/// record) and every acknowledged one is there. (Writing on after this restart is left to the
/// restart test above: Tansu 0.6 killed in the middle of a produce can come back unable to take
/// the next produce on that partition, panicking "more or less than one row" in its sqlite
/// storage.)
#[test]
#[ignore = "needs the tansu broker on PATH (cargo install tansu --features libsql; .ci/run has it)"]
fn a_broker_killed_mid_command_leaves_each_command_whole_or_absent() {
    use ledger_core::EventLog;
    use ledger_log::conformance::sealed;
    use std::sync::atomic::{AtomicUsize, Ordering};
    const EVENTS: usize = 40;
    let (port, broker_dir, mut broker) = fresh_broker();
    let mut config = ledger_log::KafkaConfig::new(&format!("127.0.0.1:{port}"), "cut", 1);
    config.op_timeout_ms = 2000;
    let log = ledger_log::KafkaLog::open(config.clone()).unwrap();
    let acknowledged = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            for i in 0.. {
                // Sealing reads the end, which needs the broker.
                if log.head(0).is_err() {
                    return;
                }
                let events = sealed(&log, 0, EVENTS, &format!("cmd{i}"));
                if log.append(&events).is_err() {
                    return;
                }
                acknowledged.store(i + 1, Ordering::SeqCst);
            }
        });
        while acknowledged.load(Ordering::SeqCst) < 5 {
            std::thread::yield_now();
        }
        broker.stop();
        writer.join().unwrap();
    });
    let acknowledged = acknowledged.into_inner();
    let _broker = restart_tansu(port, broker_dir.path());
    let reader = ledger_log::KafkaLog::open(config).unwrap();
    let mut per_command = std::collections::BTreeMap::<String, usize>::new();
    let mut next = 0;
    loop {
        let batch = reader.read(0, next, 1000).unwrap();
        if batch.is_empty() {
            break;
        }
        for e in batch {
            let id = ledger_core::EventEnvelope::decode(&e.bytes)
                .unwrap()
                .command_id;
            let command = id.split('-').next().unwrap().to_string();
            *per_command.entry(command).or_default() += 1;
            next = e.offset + 1;
        }
    }
    for i in 0..acknowledged {
        assert!(
            per_command.contains_key(&format!("cmd{i}")),
            "acknowledged cmd{i}"
        );
    }
    for (command, n) in &per_command {
        assert_eq!(*n, EVENTS, "{command} is whole");
    }
    eprintln!(
        "broker kill mid-command: {acknowledged} commands acknowledged, {} on the partition after the restart",
        per_command.len()
    );
}
