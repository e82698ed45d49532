//! An independent client (kafka-python, no librdkafka) publishes a command envelope to
//! `fee.commands`; the ledger decides it; the same client reads the event from `fee.events`; the
//! query endpoint shows the change. Runs against the out-of-process broker named by
//! `LEDGER_TEST_KAFKA` and needs Python's `kafka` module (kafka-python cannot read metadata from
//! librdkafka's mock cluster), so it is ignored unless asked for: `.ci/run` installs both and
//! runs it with `--ignored`.

mod common;

use common::Server;
use std::process::Command;

fn kafka_python_available() -> bool {
    Command::new("python3")
        .args(["-c", "import kafka"])
        .status()
        .is_ok_and(|s| s.success())
}

fn roundtrip(brokers: &str) {
    let dir = tempfile::tempdir().unwrap();
    let node = Server::start_with(dir.path(), &["--kafka", brokers, "--partitions", "4"]);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/kafka_python/roundtrip.py"
    );
    let command_id = format!("py-{}", std::process::id());
    let out = Command::new("python3")
        .args([script, brokers, &command_id, "py-community"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "kafka-python roundtrip failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["type"], "fee_config.created");
    assert_eq!(event["command_id"], command_id.as_str());
    assert_eq!(event["key"], "community:py-community");
    // Python writes the float 2.50 as `2.5`; the ledger keeps the number exactly as written.
    assert_eq!(event["payload"]["config"]["squarePrice"], "2.5");
    assert_eq!(event["hash"].as_str().unwrap().len(), 64);

    let listed = node.get(&format!(
        "/app/feeConfig.listFeeConfigs?communityId=py-community&configId=py-{command_id}"
    ));
    assert_eq!(listed.body["data"]["total"], 1, "{}", listed.body);
    assert_eq!(listed.body["data"]["feeConfigs"][0]["feeName"], "物业费");
}

#[test]
#[ignore = "needs a Kafka broker (LEDGER_TEST_KAFKA=host:port) and kafka-python; .ci/run has both"]
fn kafka_python_publishes_a_command_and_reads_its_event() {
    assert!(
        kafka_python_available(),
        "python3 module `kafka` missing (pip install kafka-python)"
    );
    let brokers = std::env::var("LEDGER_TEST_KAFKA")
        .expect("LEDGER_TEST_KAFKA names the broker this ignored test needs");
    roundtrip(&brokers);
}
