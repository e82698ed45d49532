//! A Kafka hand-over folds only the tail (issue 17 item 4): a node that followed the partitions
//! it did not own (`Decider::follow`, between its groups) and then takes them over folds just
//! the events written after its last follow, and ends in the same state as a node that folds the
//! whole topic. Runs over real Kafka protocol on librdkafka's mock cluster.

use super::differential::all_rows;
use super::writer::Decider;
use crate::bench::handover::{follow_to_end, write_commands};
use ledger_api::Metrics;
use ledger_core::keyed::{MemStateStore, StateStore};
use ledger_core::log::EventLog;
use ledger_log::{KafkaConfig, KafkaLog};
use rdkafka::mocking::MockCluster;
use std::sync::Arc;

#[test]
fn a_hand_over_folds_only_the_tail_after_what_the_node_followed() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("handover.events", 4, 1).unwrap();
    let config = KafkaConfig::new(&cluster.bootstrap_servers(), "handover.events", 4);
    let node_log = || -> Arc<dyn EventLog> { Arc::new(KafkaLog::open(config.clone()).unwrap()) };
    let metrics = Arc::new(Metrics::new());
    let all = vec![0, 1, 2, 3];

    // Node A owns every partition and writes a history.
    let mut a = Decider::recover(
        node_log(),
        Arc::new(MemStateStore::default()),
        all.clone(),
        metrics.clone(),
    )
    .unwrap();
    let history = write_commands(&mut a, 0..600, 50).unwrap();
    assert!(history >= 600);

    // Node B owns nothing and follows, in chunks smaller than the history.
    let log_b = node_log();
    let state_b = Arc::new(MemStateStore::default());
    let mut b =
        Decider::recover(log_b.clone(), state_b.clone(), Vec::new(), metrics.clone()).unwrap();
    assert_eq!(
        b.caught_up(),
        0,
        "owning nothing, it folds nothing at start"
    );
    assert_eq!(follow_to_end(&mut b, 64).unwrap(), history);

    // A writes on; then B takes every partition over.
    let tail = write_commands(&mut a, 600..640, 50).unwrap();
    assert!(tail >= 40);
    let taken = Decider::recover(log_b, state_b.clone(), all.clone(), metrics.clone()).unwrap();
    assert_eq!(
        taken.caught_up(),
        tail,
        "the hand-over folds the tail written after B's last follow, not the {} events before it",
        history
    );

    // A node without state folds everything, and ends in the same state.
    let state_c = Arc::new(MemStateStore::default());
    let cold = Decider::recover(node_log(), state_c.clone(), all, metrics).unwrap();
    assert_eq!(cold.caught_up(), history + tail);
    assert_eq!(all_rows(state_b.as_ref()), all_rows(state_c.as_ref()));
    for p in 0..4 {
        assert_eq!(
            state_b.checkpoint(p).unwrap(),
            state_c.checkpoint(p).unwrap()
        );
    }
}
