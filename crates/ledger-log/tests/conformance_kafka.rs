//! The log conformance suite against real Kafka protocol: librdkafka's in-process mock cluster,
//! and an out-of-process broker when `LEDGER_TEST_KAFKA` names one (CI starts Tansu).

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
fn kafka_log_conforms_on_an_external_broker() {
    let Ok(brokers) = std::env::var("LEDGER_TEST_KAFKA") else {
        eprintln!("LEDGER_TEST_KAFKA not set: external-broker conformance skipped");
        return;
    };
    let topic = std::env::var("LEDGER_TEST_KAFKA_TOPIC")
        .unwrap_or_else(|_| format!("fee.events.conformance.{}", std::process::id()));
    run_against(&brokers, &topic);
}
