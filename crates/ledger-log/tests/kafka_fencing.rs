//! The Kafka log's chain fence and chain index (see `ledger_log::kafka`): of two writers that
//! both seal on the same end of a partition, the record the broker appends first is the one on
//! the chain, the other writer's append fails, and every reader skips its record. Run on
//! librdkafka's mock cluster, and on the broker named by `LEDGER_TEST_KAFKA` (ignored unless
//! asked for: `.ci/run` starts Tansu and runs them with `--ignored`).

use ledger_core::log::{EventLog, LogError};
use ledger_log::conformance::{check_chain, sealed};
use ledger_log::{KafkaConfig, KafkaLog};
use rdkafka::mocking::MockCluster;

fn open(brokers: &str, topic: &str, index: Option<&std::path::Path>) -> KafkaLog {
    let mut config = KafkaConfig::new(brokers, topic, 2);
    config.index_dir = index.map(std::path::Path::to_path_buf);
    KafkaLog::open(config).expect("kafka log opens")
}

fn command_ids(log: &dyn EventLog, p: u32) -> Vec<String> {
    log.read(p, 0, 10_000)
        .unwrap()
        .iter()
        .map(|e| {
            ledger_core::EventEnvelope::decode(&e.bytes)
                .unwrap()
                .command_id
        })
        .collect()
}

/// Two writers on one partition: the deposed one (its end is stale) is refused after its
/// write, and its record is on no reader's chain; after reading the end again it writes on.
fn a_deposed_writer_is_fenced_by_the_chain(brokers: &str, topic: &str) {
    let deposed = open(brokers, topic, None);
    let owner = open(brokers, topic, None);
    let p = 1;
    // Both look at the same end, as a paused owner and its successor do.
    let stale = sealed(&deposed, p, 3, "deposed");
    let winning = sealed(&owner, p, 2, "owner");
    owner.append(&winning).unwrap();
    let refused = deposed.append(&stale).unwrap_err();
    assert!(
        matches!(refused, LogError::NotDense { partition: 1, .. }),
        "{refused:?}"
    );
    let reader = open(brokers, topic, None);
    assert_eq!(
        check_chain(&reader, p),
        2,
        "only the owner's events are on the chain"
    );
    assert_eq!(
        reader.skipped_records(),
        1,
        "the deposed writer's record is skipped"
    );
    let ids = command_ids(&reader, p);
    assert!(ids.iter().all(|id| id.starts_with("owner-")), "{ids:?}");
    // The deposed writer learns the end and continues the chain.
    assert_eq!(deposed.head(p).unwrap(), owner.head(p).unwrap());
    deposed.append(&sealed(&deposed, p, 4, "later")).unwrap();
    let fresh = open(brokers, topic, None);
    assert_eq!(check_chain(&fresh, p), 6);
    assert_eq!(
        owner.head(p).unwrap().next_offset,
        2,
        "the owner's cached end"
    );
    owner.forget_head(p);
    assert_eq!(owner.head(p).unwrap().next_offset, 6);
    // A record written on the owner's stale end now loses in turn.
    let stale_again = sealed(&open(brokers, topic, None), p, 1, "x");
    deposed.append(&sealed(&deposed, p, 1, "y")).unwrap();
    assert!(owner.append(&stale_again).is_err());
    assert_eq!(check_chain(&open(brokers, topic, None), p), 7);
}

/// A partition read from the middle starts at the nearest index point, also in a new process
/// (the index file), and an index of another topic's history is detected and dropped.
fn reads_start_from_the_index(brokers: &str, topic: &str, other_topic: &str) {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(brokers, topic, Some(dir.path()));
    let p = 0;
    for _ in 0..30 {
        writer.append(&sealed(&writer, p, 100, "bulk")).unwrap();
    }
    drop(writer);
    let reader = open(brokers, topic, Some(dir.path()));
    let middle = reader.read(p, 2_500, 10).unwrap();
    assert_eq!(
        middle.iter().map(|e| e.offset).collect::<Vec<_>>(),
        (2_500..2_510).collect::<Vec<_>>()
    );
    assert_eq!(reader.head(p).unwrap().next_offset, 3_000);
    assert_eq!(check_chain(&reader, p), 3_000);
    // The same index files under another topic's name: their points match no record there.
    let other = open(brokers, other_topic, None);
    for _ in 0..3 {
        other.append(&sealed(&other, p, 500, "other")).unwrap();
    }
    drop(other);
    let renamed = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        std::fs::copy(
            dir.path().join(&name),
            renamed.path().join(name.replace(topic, other_topic)),
        )
        .unwrap();
    }
    let confused = open(brokers, other_topic, Some(renamed.path()));
    let back = confused.read(p, 1_200, 5).unwrap();
    assert_eq!(back.len(), 5);
    assert_eq!(back[0].offset, 1_200);
    assert_eq!(
        ledger_core::EventEnvelope::decode(&back[0].bytes)
            .unwrap()
            .offset,
        1_200
    );
    assert_eq!(confused.head(p).unwrap().next_offset, 1_500);
}

fn mock() -> (
    MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    String,
) {
    let cluster = MockCluster::new(1).unwrap();
    for topic in ["fence", "index", "index.other"] {
        cluster.create_topic(topic, 2, 1).unwrap();
    }
    let brokers = cluster.bootstrap_servers();
    (cluster, brokers)
}

#[test]
fn a_deposed_writer_is_fenced_on_the_mock_cluster() {
    let (_cluster, brokers) = mock();
    a_deposed_writer_is_fenced_by_the_chain(&brokers, "fence");
}

#[test]
fn reads_start_from_the_index_on_the_mock_cluster() {
    let (_cluster, brokers) = mock();
    reads_start_from_the_index(&brokers, "index", "index.other");
}

fn external() -> (String, String) {
    let brokers = std::env::var("LEDGER_TEST_KAFKA")
        .expect("LEDGER_TEST_KAFKA names the broker this ignored test needs");
    (brokers, format!("fee.events.fence.{}", std::process::id()))
}

#[test]
#[ignore = "needs a Kafka broker: LEDGER_TEST_KAFKA=host:port (.ci/run starts Tansu)"]
fn a_deposed_writer_is_fenced_on_an_external_broker() {
    let (brokers, topic) = external();
    a_deposed_writer_is_fenced_by_the_chain(&brokers, &topic);
}

#[test]
#[ignore = "needs a Kafka broker: LEDGER_TEST_KAFKA=host:port (.ci/run starts Tansu)"]
fn reads_start_from_the_index_on_an_external_broker() {
    let (brokers, topic) = external();
    reads_start_from_the_index(
        &brokers,
        &format!("{topic}.index"),
        &format!("{topic}.other"),
    );
}
