//! Kafka client configuration (issue 17): librdkafka properties reach every client, TLS and
//! SASL (PLAIN, SCRAM) are built in, and the event topic's retention is checked. The tests that
//! need an out-of-process broker are ignored unless asked for (`.ci/run` starts Tansu).

use ledger_core::log::LogError;
use ledger_log::kafka::{TopicRole, ensure_topic};
use ledger_log::{KafkaConfig, KafkaLog};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::BaseProducer;

fn with_properties(pairs: &[(&str, &str)]) -> KafkaConfig {
    let mut config = KafkaConfig::new("127.0.0.1:9", "fee.events", 4);
    for (k, v) in pairs {
        config.properties.insert(k.to_string(), v.to_string());
    }
    config
}

/// librdkafka lists what it was built with in `builtin.features`: TLS and SCRAM need OpenSSL,
/// which the `ssl-vendored` feature compiles in. Clients configured for each mechanism are then
/// created from the ledger's own settings plus the properties.
#[test]
fn tls_and_sasl_clients_can_be_configured() {
    let features = with_properties(&[])
        .client()
        .create_native_config()
        .unwrap()
        .get("builtin.features")
        .unwrap();
    for needed in ["ssl", "sasl_plain", "sasl_scram"] {
        assert!(
            features.split(',').any(|f| f == needed),
            "{needed} missing from {features}"
        );
    }
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let config = with_properties(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", mechanism),
            ("sasl.username", "ledger"),
            ("sasl.password", "secret"),
            ("ssl.endpoint.identification.algorithm", "https"),
        ]);
        let created: Result<BaseProducer, _> = config.client().create();
        assert!(created.is_ok(), "{mechanism}: {:?}", created.err());
    }
    let tls_only = with_properties(&[("security.protocol", "SSL")]);
    assert!(tls_only.client().create::<BaseProducer>().is_ok());
}

#[test]
fn an_unknown_property_is_refused_naming_it() {
    let config = with_properties(&[("sasl.mechansim", "PLAIN")]);
    let err = config
        .client()
        .create::<BaseProducer>()
        .err()
        .expect("a misspelt property is refused");
    assert!(err.to_string().contains("sasl.mechansim"), "{err}");
}

fn broker() -> String {
    std::env::var("LEDGER_TEST_KAFKA")
        .expect("LEDGER_TEST_KAFKA names the broker this ignored test needs")
}

fn unique(name: &str) -> String {
    format!("{name}.{}.{}", std::process::id(), rand_suffix())
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn retention_of(config: &KafkaConfig, topic: &str) -> Option<String> {
    let admin: AdminClient<DefaultClientContext> = config.client().create().unwrap();
    let mut described = futures_executor::block_on(
        admin.describe_configs([&ResourceSpecifier::Topic(topic)], &AdminOptions::new()),
    )
    .unwrap();
    let resource = described.pop().unwrap().unwrap();
    resource.get("retention.ms").and_then(|e| e.value.clone())
}

#[test]
#[ignore = "needs a Kafka broker: LEDGER_TEST_KAFKA=host:port (.ci/run starts Tansu)"]
fn the_event_topic_is_created_to_keep_its_events_forever() {
    let topic = unique("fee.events.forever");
    let config = KafkaConfig::new(&broker(), &topic, 2);
    let log = KafkaLog::open(config.clone()).expect("opens on a new topic");
    drop(log);
    assert_eq!(retention_of(&config, &topic).as_deref(), Some("-1"));
    // The command topic is a queue: the ledger leaves its retention to the broker.
    let commands = unique("fee.commands.queue");
    assert_eq!(
        ensure_topic(&config, &commands, 2, TopicRole::Commands).unwrap(),
        2
    );
}

#[test]
#[ignore = "needs a Kafka broker: LEDGER_TEST_KAFKA=host:port (.ci/run starts Tansu)"]
fn an_event_topic_with_finite_retention_is_refused_unless_allowed() {
    let topic = unique("fee.events.finite");
    let mut config = KafkaConfig::new(&broker(), &topic, 2);
    let admin: AdminClient<DefaultClientContext> = config.client().create().unwrap();
    let new = NewTopic::new(&topic, 2, TopicReplication::Fixed(1)).set("retention.ms", "86400000");
    for r in futures_executor::block_on(admin.create_topics([&new], &AdminOptions::new())).unwrap()
    {
        r.unwrap();
    }
    match KafkaLog::open(config.clone()) {
        Err(LogError::Misconfigured(why)) => {
            assert!(why.contains("retention.ms=86400000"), "{why}");
            assert!(why.contains("--kafka-allow-finite-retention"), "{why}");
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| "a log")),
    }
    config.topics.allow_finite_retention = true;
    assert!(KafkaLog::open(config).is_ok());
}
