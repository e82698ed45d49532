//! Failed appends and state writes (a full disk, an I/O error) leave the decider consistent:
//! nothing of the failed group is kept or answered as accepted, readiness reports the failure
//! while it lasts, and once the storage works again commands succeed without a restart.

use super::faulty_state::FaultyState;
use super::writer::Decider;
use crate::bench::workload;
use ledger_api::Metrics;
use ledger_api::bus::Decided;
use ledger_core::keyed::StateStore;
use ledger_core::log::{EventLog, LogError, PartitionHead, StoredEvent};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A log whose appends fail while `full` is set, as on a full disk.
struct FullDiskLog {
    inner: ledger_log::EmbeddedLog,
    full: AtomicBool,
}

impl EventLog for FullDiskLog {
    fn partitions(&self) -> u32 {
        self.inner.partitions()
    }
    fn append(&self, events: &[StoredEvent]) -> Result<(), LogError> {
        if self.full.load(Ordering::SeqCst) {
            return Err(LogError::Storage(
                "No space left on device (os error 28)".into(),
            ));
        }
        self.inner.append(events)
    }
    fn read(&self, partition: u32, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError> {
        self.inner.read(partition, from, max)
    }
    fn head(&self, partition: u32) -> Result<PartitionHead, LogError> {
        self.inner.head(partition)
    }
}

fn decide_one(decider: &mut Decider, i: u64) -> (Result<(), LogError>, Decided) {
    let s = workload::submission(&workload::item(i), false).unwrap();
    decider.begin_group().unwrap();
    let mut stored = Vec::new();
    let decided = decider
        .decide(&s.meta, &s.command, s.origin, &mut stored)
        .unwrap();
    (decider.commit(&stored), decided)
}

/// Whether a logged decision was a duplicate (None: refused, not logged).
fn duplicate(decided: &Decided) -> Option<bool> {
    match decided {
        Decided::Logged { duplicate, .. } => Some(*duplicate),
        Decided::Refused(_) => None,
    }
}

fn log_end(log: &dyn EventLog) -> u64 {
    (0..log.partitions())
        .map(|p| log.head(p).unwrap().next_offset)
        .sum()
}

#[test]
fn a_full_disk_refuses_the_group_reports_unready_and_recovers_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(FullDiskLog {
        inner: ledger_log::EmbeddedLog::open_or_create(dir.path(), 2).unwrap(),
        full: AtomicBool::new(false),
    });
    let state = Arc::new(FaultyState::new(
        ledger_core::keyed::MemStateStore::default(),
    ));
    let mut decider = Decider::recover(
        log.clone(),
        state.clone(),
        vec![0, 1],
        Arc::new(Metrics::new()),
    )
    .unwrap();
    let health = decider.health();
    // Command 0: a BaaS bill, accepted.
    assert!(decide_one(&mut decider, 0).0.is_ok());
    assert_eq!(log_end(log.as_ref()), 1);

    // The disk fills: command 4 (the next bill) cannot be appended.
    log.full.store(true, Ordering::SeqCst);
    let (appended, _) = decide_one(&mut decider, 4);
    assert!(appended.is_err());
    assert!(!health.ok(), "readiness reports the failure");
    assert_eq!(
        log_end(log.as_ref()),
        1,
        "nothing of the failed group is in the log"
    );

    // Space comes back: the same command is decided afresh (not a duplicate of the failed
    // attempt), and the node is healthy again.
    log.full.store(false, Ordering::SeqCst);
    let (appended, decided) = decide_one(&mut decider, 4);
    assert!(appended.is_ok());
    assert_eq!(duplicate(&decided), Some(false), "{decided:?}");
    assert!(health.ok());
    assert_eq!(log_end(log.as_ref()), 2);

    // The state store fills after a durable append: the command stands (its events are in the
    // log), and the next group folds the log's tail into the state before deciding.
    state.full.store(true, Ordering::SeqCst);
    assert!(decide_one(&mut decider, 8).0.is_ok());
    assert_eq!(log_end(log.as_ref()), 3);
    state.full.store(false, Ordering::SeqCst);
    // A resend of command 8 is a duplicate: the state caught up with the log first.
    let (appended, decided) = decide_one(&mut decider, 8);
    assert!(appended.is_ok());
    assert_eq!(duplicate(&decided), Some(true), "{decided:?}");
    assert_eq!(log_end(log.as_ref()), 3);
    assert_eq!(
        checkpointed(&state.inner, 2),
        3,
        "the checkpoints reached the log's end"
    );
}

/// The sum of every partition's checkpoint in `state` (events its rows reflect).
fn checkpointed(state: &dyn StateStore, partitions: u32) -> u64 {
    (0..partitions)
        .map(|p| state.checkpoint(p).unwrap().map_or(0, |h| h.next_offset))
        .sum()
}

#[test]
fn a_group_answered_before_its_state_commit_survives_a_stop_between_them() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> =
        Arc::new(ledger_log::EmbeddedLog::open_or_create(dir.path(), 2).unwrap());
    let state = Arc::new(ledger_core::keyed::MemStateStore::default());
    let metrics = Arc::new(Metrics::new());
    let mut first =
        Decider::recover(log.clone(), state.clone(), vec![0, 1], metrics.clone()).unwrap();
    let s = workload::submission(&workload::item(0), false).unwrap();
    first.begin_group().unwrap();
    let mut stored = Vec::new();
    let decided = first
        .decide(&s.meta, &s.command, s.origin, &mut stored)
        .unwrap();
    assert_eq!(duplicate(&decided), Some(false), "{decided:?}");
    // The writer answers here, after the durable append and before its state commit.
    first.append(&stored).unwrap();
    assert_eq!(log_end(log.as_ref()), 1);
    assert_eq!(
        checkpointed(state.as_ref(), 2),
        0,
        "the rows are not written before commit_state"
    );
    // The process stops before the state commit: a restart folds the log's tail.
    drop(first);
    let mut second = Decider::recover(log.clone(), state.clone(), vec![0, 1], metrics).unwrap();
    assert_eq!(second.caught_up(), 1);
    assert_eq!(checkpointed(state.as_ref(), 2), 1);
    let (appended, decided) = decide_one(&mut second, 0);
    assert!(appended.is_ok());
    assert_eq!(
        duplicate(&decided),
        Some(true),
        "the answered command is not decided twice: {decided:?}"
    );
    assert_eq!(log_end(log.as_ref()), 1);
}
