//! The log conformance suite against real Kafka protocol: librdkafka's in-process mock cluster,
//! and an out-of-process broker named by `LEDGER_TEST_KAFKA` (ignored unless asked for:
//! `.ci/run` starts Tansu and runs it with `--ignored`).

use ledger_core::log::EventLog;
use ledger_log::{KafkaConfig, KafkaLog};
use rdkafka::mocking::MockCluster;

fn run_against(brokers: &str, topic: &str) {
    let config = KafkaConfig::new(brokers, topic, 4);
    ledger_log::conformance::run_all(&|| {
        Box::new(KafkaLog::open(config.clone()).expect("kafka log opens")) as Box<dyn EventLog>
    });
}

#[test]
fn kafka_log_conforms_on_the_mock_cluster() {
    let cluster = MockCluster::new(1).unwrap();
    cluster
        .create_topic("fee.events.conformance", 4, 1)
        .unwrap();
    run_against(&cluster.bootstrap_servers(), "fee.events.conformance");
}

#[test]
#[ignore = "needs a Kafka broker: LEDGER_TEST_KAFKA=host:port (.ci/run starts Tansu)"]
fn kafka_log_conforms_on_an_external_broker() {
    let brokers = std::env::var("LEDGER_TEST_KAFKA")
        .expect("LEDGER_TEST_KAFKA names the broker this ignored test needs");
    let topic = std::env::var("LEDGER_TEST_KAFKA_TOPIC")
        .unwrap_or_else(|_| format!("fee.events.conformance.{}", std::process::id()));
    run_against(&brokers, &topic);
}
