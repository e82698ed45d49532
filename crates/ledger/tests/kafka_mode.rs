//! Kafka mode end to end over real Kafka protocol: librdkafka's mock cluster runs in this test
//! process and listens on a loopback port; the ledger nodes are separate processes that reach
//! it over TCP like any broker.

mod common;

use common::Server;
use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 4;

/// The tests of this file run one at a time: each starts broker clients and ledger nodes whose
/// timing (rebalances, outage timeouts) would otherwise compete for the machine's two cores.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn cluster() -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("fee.events", PARTITIONS, 1).unwrap();
    cluster.create_topic("fee.commands", PARTITIONS, 1).unwrap();
    cluster
}

fn node(brokers: &str, dir: &std::path::Path) -> Server {
    Server::start_with(
        dir,
        &[
            "--kafka",
            brokers,
            "--partitions",
            "4",
            "--command-wait-ms",
            "15000",
        ],
    )
}

fn config(i: usize, community: &str) -> Value {
    json!({
        "configId": format!("cfg-{i}"), "feeTypeCd": "1001", "feeName": format!("物业费{i}"),
        "feeFlag": "Y", "startTime": "2024-01-01", "endTime": "2024-12-31",
        "computingFormula": "1001", "squarePrice": "2.50", "additionalAmount": "10.00",
        "communityId": community, "billType": "MONTHLY"
    })
}

fn publish(brokers: &str, key: &str, payload: &[u8]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("partitioner", "murmur2_random")
        .create()
        .unwrap();
    let delivery = producer
        .send_result(FutureRecord::to("fee.commands").key(key).payload(payload))
        .map_err(|(e, _)| e)
        .unwrap();
    futures_executor::block_on(delivery).unwrap().unwrap();
}

fn wait_for(server: &Server, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = server.get(path);
        if r.status == 200 {
            return r.body;
        }
        assert!(Instant::now() < deadline, "{path} never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_nodes_decide_once_and_answer_alike() {
    let _serial = serial();
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = node(&brokers, da.path());
    let b = node(&brokers, db.path());

    for i in 0..20 {
        let server = if i % 2 == 0 { &a } else { &b };
        let r = server.post(
            "/app/feeConfig.saveFeeConfig",
            &[("transaction-id", &format!("k-{i}"))],
            &config(i, &format!("c{}", i % 5)),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["configId"], format!("cfg-{i}"));
    }
    // A repeat through the other node is the same command.
    let again = b.post(
        "/app/feeConfig.saveFeeConfig",
        &[("transaction-id", "k-0")],
        &config(0, "c0"),
    );
    assert_eq!(again.body["data"]["configId"], "cfg-0");

    for community in 0..5 {
        let path = format!("/app/feeConfig.listFeeConfigs?communityId=c{community}");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (ra, rb) = (a.get(&path).body, b.get(&path).body);
            if ra == rb && ra["data"]["total"] == 4 {
                break;
            }
            assert!(Instant::now() < deadline, "nodes disagree: {ra} vs {rb}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert_eq!(a.log_len(), 20, "each command decided exactly once");
}

#[test]
fn garbage_on_the_command_topic_is_rejected_and_the_next_command_still_runs() {
    let _serial = serial();
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let a = node(&brokers, dir.path());

    let garbage = b"{this is not json";
    publish(&brokers, "community:g1", garbage);
    let valid = json!({
        "command_id": "from-a-producer-1", "type": "fee_config.create", "key": "community:g1",
        "payload": config(1, "g1")
    });
    publish(
        &brokers,
        "community:g1",
        &serde_json::to_vec(&valid).unwrap(),
    );

    let hash = ledger_core::Sha256Hash::of(garbage).to_hex();
    let rejected = wait_for(&a, &format!("/commands/sha256:{hash}"));
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["rejection"]["kind"], "malformed");
    assert_eq!(rejected["rejection"]["raw_sha256"], hash);
    assert!(
        rejected["rejection"]["message"]
            .as_str()
            .unwrap()
            .contains("not a command envelope")
    );

    let accepted = wait_for(&a, "/commands/from-a-producer-1");
    assert_eq!(accepted["status"], "accepted");
    let listed = a
        .get("/app/feeConfig.listFeeConfigs?communityId=g1&configId=cfg-1")
        .body;
    assert_eq!(listed["data"]["total"], 1);
}

#[test]
fn killing_one_node_hands_its_partitions_to_the_other() {
    let _serial = serial();
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    const COMMANDS: usize = 200;
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = node(&brokers, da.path());
    let b = node(&brokers, db.path());
    let body = |i: usize| config(i, &format!("k{}", i % 7));
    let txn = |i: usize| format!("kill-{i}");

    let next = AtomicUsize::new(0);
    let acknowledged = Mutex::new(Vec::new());
    let b_pid = b.child.id();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (a, b, next, acknowledged) = (&a, &b, &next, &acknowledged);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= COMMANDS {
                        return;
                    }
                    let server = if (i + t) % 2 == 0 { a } else { b };
                    if let Some(r) = server.try_post(
                        "/app/feeConfig.saveFeeConfig",
                        &[("transaction-id", &txn(i))],
                        &body(i),
                    ) && r.status == 200
                    {
                        acknowledged.lock().unwrap().push(i);
                    }
                }
            });
        }
        while next.load(Ordering::SeqCst) < COMMANDS / 3 {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::process::Command::new("kill")
            .args(["-KILL", &b_pid.to_string()])
            .status()
            .unwrap();
    });
    b.kill();
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(
        acknowledged.len() > COMMANDS / 4,
        "{} acknowledged",
        acknowledged.len()
    );

    // Every acknowledged command is visible on the survivor, exactly once.
    for &i in &acknowledged {
        let o = wait_for(&a, &format!("/commands/{}", txn(i)));
        assert_eq!(o["events"].as_array().unwrap().len(), 1);
    }
    // Resending everything through the survivor converges on one event per command.
    for i in 0..COMMANDS {
        let r = a.post(
            "/app/feeConfig.saveFeeConfig",
            &[("transaction-id", &txn(i))],
            &body(i),
        );
        assert_eq!(r.status, 200, "command {i}: {}", r.body);
        assert_eq!(r.body["data"]["configId"], format!("cfg-{i}"));
    }
    assert_eq!(a.log_len(), COMMANDS as u64, "no command lost or doubled");
    eprintln!(
        "node kill: {} of {COMMANDS} acknowledged before the kill settled",
        acknowledged.len()
    );
}

#[test]
fn a_broker_outage_fails_fast_with_503_and_recovers() {
    let _serial = serial();
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let a = node(&brokers, dir.path());
    let ok = a.post(
        "/app/feeConfig.saveFeeConfig",
        &[("transaction-id", "before")],
        &config(1, "o1"),
    );
    assert_eq!(ok.status, 200);

    cluster.broker_down(1).unwrap();
    let started = Instant::now();
    let r = a.post(
        "/app/feeConfig.saveFeeConfig",
        &[("transaction-id", "during")],
        &config(2, "o1"),
    );
    let took = started.elapsed();
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["code"], "503");
    assert!(!r.body["msg"].as_str().unwrap().is_empty());
    assert!(
        took < Duration::from_secs(15),
        "answered within the bounded wait ({took:?})"
    );

    cluster.broker_up(1).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = a.post(
            "/app/feeConfig.saveFeeConfig",
            &[("transaction-id", "after")],
            &config(3, "o1"),
        );
        if r.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "never recovered: {}", r.body);
        std::thread::sleep(Duration::from_millis(200));
    }
    let listed = a.get("/app/feeConfig.listFeeConfigs?communityId=o1").body;
    let ids: Vec<&str> = listed["data"]["feeConfigs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["configId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"cfg-1") && ids.contains(&"cfg-3"), "{ids:?}");
}

/// A command topic whose partition count differs from the event topic's would have deciders
/// deciding keys of partitions they do not own: the node refuses to start and says how to fix
/// it, before deciding anything.
#[test]
fn a_command_topic_with_another_partition_count_is_refused_at_start() {
    let _serial = serial();
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("fee.events", PARTITIONS, 1).unwrap();
    cluster
        .create_topic("fee.commands", PARTITIONS * 2, 1)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args([
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--kafka",
            &cluster.bootstrap_servers(),
        ])
        .env("RUST_LOG", "warn")
        .output()
        .expect("ledger runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(
            "the command topic fee.commands has 8 partitions and the event topic fee.events has 4"
        ),
        "{err}"
    );
    assert!(
        err.contains("recreate the command topic with 4 partitions"),
        "{err}"
    );
}

/// `ledger publish` (issue 17 item 5): a JSON-lines file of command envelopes, one without a
/// key (derived from the payload), one with it, and one that is not a command. The valid two are
/// published keyed by their partition key and decided by the node; the invalid line is named
/// and not published, and the exit status says so.
#[test]
fn ledger_publish_sends_envelopes_keyed_by_their_partition_key() {
    let _serial = serial();
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let a = node(&brokers, &dir.path().join("node"));
    let lines = [
        json!({"command_id": "pub-1", "type": "fee_config.create", "payload": config(1, "p1")}),
        json!({"command_id": "pub-2", "type": "fee_config.create", "key": "community:p2",
               "payload": config(2, "p2")}),
        json!({"command_id": "pub-3", "type": "no.such.command", "payload": {}}),
    ];
    let file = dir.path().join("commands.jsonl");
    std::fs::write(
        &file,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["publish", "--kafka", &brokers, file.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .output()
        .expect("ledger runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!out.status.success(), "one line was invalid: {stderr}");
    assert!(
        stdout.contains("published 2 commands") && stdout.contains("1 invalid lines"),
        "{stdout}"
    );
    assert!(stderr.contains("line 3: not published"), "{stderr}");
    for (id, community) in [("pub-1", "p1"), ("pub-2", "p2")] {
        let o = wait_for(&a, &format!("/commands/{id}"));
        assert_eq!(o["status"], "accepted");
        assert_eq!(o["key"], format!("community:{community}"));
    }
    assert_eq!(
        a.get("/commands/pub-3").status,
        404,
        "the invalid line never reached the topic"
    );
}

#[test]
fn one_body_hash_on_both_paths_and_a_reused_id_with_another_body_is_refused_on_both() {
    let _serial = serial();
    let cluster = cluster();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let a = node(&brokers, dir.path());
    let save = "/app/feeConfig.saveFeeConfig";
    let first = config(1, "h1");
    let r = a.post(save, &[("transaction-id", "hash-1")], &first);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(a.log_len(), 1);
    let id = format!("property:{}:hash-1", common::demo::APP_ID);
    let on_topic = |command_id: &str, payload: &Value| {
        let envelope = json!({"command_id": command_id, "type": "fee_config.create",
            "key": "community:h1", "payload": payload});
        publish(
            &brokers,
            "community:h1",
            &serde_json::to_vec(&envelope).unwrap(),
        );
    };
    // A partition's commands are decided in order: once a marker published after them is
    // decided, so are they.
    let marker = |n: usize| {
        on_topic(&format!("marker-{n}"), &config(100 + n, "h1"));
        wait_for(&a, &format!("/commands/marker-{n}"));
    };

    // The HTTP command's payload on the topic, keys in another order: the same body hash, so
    // a duplicate that appends nothing.
    let reordered: serde_json::Map<String, Value> = first
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .rev()
        .collect();
    on_topic(&id, &Value::Object(reordered));
    marker(1);
    assert_eq!(
        a.log_len(),
        2,
        "the repeat appended nothing, the marker one event"
    );

    // Another body under the id on the topic, delivered twice: one refusal, logged under an
    // id derived from the id and that body; the id's first outcome stays.
    let mut other = first.clone();
    other["feeName"] = json!("另一个名字");
    on_topic(&id, &other);
    on_topic(&id, &other);
    marker(2);
    assert_eq!(a.log_len(), 4, "one logged refusal and the marker");
    let hash = ledger_wire::Fields::from_map(other.as_object().unwrap().clone())
        .body_sha256()
        .to_hex();
    let refused = wait_for(&a, &format!("/commands/{id}%23conflict-{hash}"));
    assert_eq!(refused["status"], "rejected");
    assert_eq!(refused["rejection"]["kind"], "conflict");
    let message = refused["rejection"]["message"].as_str().unwrap();
    assert!(message.contains(&id), "{message}");
    assert!(
        message.contains("already used with another body"),
        "{message}"
    );
    assert_eq!(a.get(&format!("/commands/{id}")).body["status"], "accepted");

    // Over HTTP, another body under the id is answered 409 and never published: a published
    // third body would have logged a refusal of its own before the next marker.
    let mut third = first.clone();
    third["feeName"] = json!("第三个名字");
    let r = a.post(save, &[("transaction-id", "hash-1")], &third);
    assert_eq!(
        (r.status, &r.body["code"]),
        (409, &json!("409")),
        "{}",
        r.body
    );
    assert!(
        r.body["msg"].as_str().unwrap().contains("another body"),
        "{}",
        r.body
    );
    marker(3);
    assert_eq!(a.log_len(), 5, "the refused request appended nothing");
    // The first body over HTTP still gets the first answer.
    let r = a.post(save, &[("transaction-id", "hash-1")], &first);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["configId"], "cfg-1");
    assert_eq!(a.log_len(), 5);
}
