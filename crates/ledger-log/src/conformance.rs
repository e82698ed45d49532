//! One conformance suite for every `EventLog` implementation: append, read, heads, density, the
//! hash chain and restart. Each backend's tests call `run_all` with a function that opens the
//! same log again (a restart).

use chrono::{TimeZone, Utc};
use ledger_core::envelope::{EventDraft, Sha256Hash, verify_link};
use ledger_core::log::{EventLog, LogError, StoredEvent};
use ledger_core::rejection::{CommandRejected, Rejection};

/// Seals `count` events for `partition` continuing the log's head.
pub fn sealed(log: &dyn EventLog, partition: u32, count: usize, tag: &str) -> Vec<StoredEvent> {
    let head = log.head(partition).expect("head");
    let mut prev = head.last_hash;
    (0..count)
        .map(|i| {
            let offset = head.next_offset + i as u64;
            let draft = EventDraft {
                event_id: uuid::Uuid::from_u128(((partition as u128) << 64) | offset as u128),
                command_id: format!("{tag}-{partition}-{offset}"),
                key: format!("test:{partition}"),
                recorded_at: Utc.timestamp_opt(1_700_000_000 + offset as i64, 0).unwrap(),
                effective_at: None,
                actor: None,
                body_sha256: None,
                event: CommandRejected {
                    command_type: "test.append".into(),
                    rejection: Rejection::Refused {
                        message: format!("{tag} {i}"),
                    },
                }
                .into(),
            };
            let (env, bytes) = draft.seal(partition, offset, prev);
            prev = env.hash;
            StoredEvent {
                partition,
                offset,
                bytes,
            }
        })
        .collect()
}

/// Reads a whole partition and checks every link of its chain.
pub fn check_chain(log: &dyn EventLog, partition: u32) -> u64 {
    let mut prev = Sha256Hash::GENESIS;
    let mut next = 0;
    loop {
        let batch = log.read(partition, next, 1000).expect("read");
        if batch.is_empty() {
            return next;
        }
        for e in batch {
            assert_eq!(e.offset, next, "offsets are dense");
            let env = verify_link(&e.bytes, partition, e.offset, prev).expect("chain holds");
            prev = env.hash;
            next += 1;
        }
    }
}

pub fn append_and_read(log: &dyn EventLog) {
    let p = log.partitions() - 1;
    let before = log.head(p).unwrap().next_offset;
    let events = sealed(log, p, 5, "append");
    log.append(&events).unwrap();
    assert_eq!(log.head(p).unwrap().next_offset, before + 5);
    let back = log.read(p, before, 100).unwrap();
    assert_eq!(back, events, "read returns exactly what was appended");
    let partial = log.read(p, before + 3, 1).unwrap();
    assert_eq!(partial, events[3..4].to_vec());
    assert_eq!(check_chain(log, p), before + 5);
}

pub fn refuses_gaps_and_overwrites(log: &dyn EventLog) {
    let p = 0;
    log.append(&sealed(log, p, 2, "gap")).unwrap();
    let head = log.head(p).unwrap();
    let mut gap = sealed(log, p, 1, "gap2");
    gap[0].offset += 1;
    assert!(matches!(log.append(&gap), Err(LogError::NotDense { .. })));
    let mut overwrite = sealed(log, p, 1, "gap3");
    overwrite[0].offset -= 1;
    assert!(matches!(
        log.append(&overwrite),
        Err(LogError::NotDense { .. })
    ));
    assert_eq!(
        log.head(p).unwrap(),
        head,
        "a refused append changes nothing"
    );
}

pub fn multi_partition_append_is_all_or_nothing(log: &dyn EventLog) {
    if log.partitions() < 2 {
        return;
    }
    let heads: Vec<_> = (0..2).map(|p| log.head(p).unwrap()).collect();
    let mut batch = sealed(log, 0, 2, "multi");
    let mut bad = sealed(log, 1, 2, "multi");
    bad[1].offset += 5;
    batch.extend(bad);
    assert!(log.append(&batch).is_err());
    for (p, head) in heads.iter().enumerate() {
        assert_eq!(log.head(p as u32).unwrap(), *head);
        assert_eq!(log.read(p as u32, head.next_offset, 10).unwrap(), vec![]);
    }
    let mut good = sealed(log, 0, 2, "multi-ok");
    good.extend(sealed(log, 1, 3, "multi-ok"));
    log.append(&good).unwrap();
    assert_eq!(log.head(0).unwrap().next_offset, heads[0].next_offset + 2);
    assert_eq!(log.head(1).unwrap().next_offset, heads[1].next_offset + 3);
}

pub fn survives_restart(open: &dyn Fn() -> Box<dyn EventLog>) {
    let written = {
        let log = open();
        let events = sealed(log.as_ref(), 0, 3, "restart");
        log.append(&events).unwrap();
        events
    };
    let log = open();
    let head = log.head(0).unwrap();
    assert_eq!(head.next_offset, written.last().unwrap().offset + 1);
    let back = log.read(0, written[0].offset, 10).unwrap();
    assert_eq!(back, written);
    let more = sealed(log.as_ref(), 0, 1, "after-restart");
    log.append(&more).unwrap();
    check_chain(log.as_ref(), 0);
}

/// Runs every check. `open` must open the same log each time it is called.
pub fn run_all(open: &dyn Fn() -> Box<dyn EventLog>) {
    {
        let log = open();
        append_and_read(log.as_ref());
        refuses_gaps_and_overwrites(log.as_ref());
        multi_partition_append_is_all_or_nothing(log.as_ref());
    }
    survives_restart(open);
    let log = open();
    for p in 0..log.partitions() {
        check_chain(log.as_ref(), p);
    }
}
