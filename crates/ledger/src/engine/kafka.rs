//! Kafka mode: several ledger nodes share one broker. Commands go through the command topic
//! (`fee.commands`): any producer may publish a command envelope there, and an HTTP node
//! publishes the commands it receives. The nodes' deciders form one consumer group, so each
//! command partition has exactly one decider at a time, deciding on a state folded from that
//! partition's events. Every node projects every event partition, so any node answers queries.
//!
//! Durability and handover: a decider commits its command-topic offsets only after the events
//! of those commands are acknowledged by the broker. After a crash or a rebalance the next owner
//! re-reads the uncommitted commands, and deduplicates them by command id against the events
//! already in the log, so no decision is lost or doubled.

use super::projector::{self, Projector, Wake};
use super::writer::Decider;
use chrono::Utc;
use ledger_api::Metrics;
use ledger_api::bus::{BoxFuture, BusError, CommandBus, Decided, Origin, Submission};
use ledger_core::keyed::StateStore;
use ledger_core::log::StoredEvent;
use ledger_core::{EventLog, Position};
use ledger_log::{KafkaConfig, KafkaLog};
use ledger_store::ReadStore;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Where the cluster is and what it is called.
#[derive(Debug, Clone)]
pub struct KafkaMode {
    pub log: KafkaConfig,
    pub commands_topic: String,
    pub group: String,
    /// The business time zone the deciders read a command's instant in.
    pub zone: chrono_tz::Tz,
}

pub struct KafkaEngine {
    mode: KafkaMode,
    producer: FutureProducer,
    log: Arc<KafkaLog>,
    store: Arc<ReadStore>,
    applied: watch::Receiver<Vec<u64>>,
    stop: Arc<AtomicBool>,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// A command-topic message, copied out of the consumer.
struct Received {
    partition: u32,
    offset: i64,
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
}

impl KafkaEngine {
    /// Catches this node's projection up before returning, so a Kafka node is ready as soon as
    /// it serves.
    pub fn start(
        mode: KafkaMode,
        store: Arc<ReadStore>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<KafkaEngine> {
        let log = Arc::new(KafkaLog::open(mode.log.clone())?);
        let command_partitions = ledger_log::kafka::ensure_topic(
            &mode.log,
            &mode.commands_topic,
            log.partitions(),
            ledger_log::kafka::TopicRole::Commands,
        )?;
        // A decider owns command partition p and writes event partition p: with other counts
        // a command's key would hash to a partition its decider does not own.
        anyhow::ensure!(
            command_partitions == log.partitions(),
            "the command topic {} has {command_partitions} partitions and the event topic {} has \
             {}: they must have the same count (a command is decided by the owner of its key's \
             partition in both); recreate the command topic with {} partitions",
            mode.commands_topic,
            mode.log.topic,
            log.partitions(),
            log.partitions()
        );
        let positions = projector::catch_up(log.as_ref(), &store, None, &mut |_| {})?;
        let (applied_tx, applied_rx) = watch::channel(positions);
        let stop = Arc::new(AtomicBool::new(false));
        let producer: FutureProducer = mode
            .log
            .client()
            // Commands need no idempotent producer: a duplicate is recognised by its command
            // id. Without idempotence a batch that timed out during a broker outage cannot
            // leave the producer in a fatal state.
            .set("enable.idempotence", "false")
            .set("acks", "all")
            .set("linger.ms", "1")
            .set("message.timeout.ms", mode.log.op_timeout_ms.to_string())
            .set("partitioner", "murmur2_random")
            .create()?;
        let projector = Projector {
            log: log.clone(),
            store: store.clone(),
            applied: applied_tx.into(),
            wake: Wake::new(),
            fresh: None,
            stop: stop.clone(),
            metrics: metrics.clone(),
        };
        let projector_thread = std::thread::Builder::new()
            .name("ledger-projector".into())
            .spawn(move || projector.run())?;
        // The decider writes through its own log client, so its cached partition ends are
        // never disturbed by queries; it shares the chain index.
        let decider_log = Arc::new(log.sibling()?);
        let decider_mode = mode.clone();
        let decider_stop = stop.clone();
        let decider_producer = producer.clone();
        let decider_state: Arc<dyn StateStore> = Arc::new(store.decider_state()?);
        let decider_thread = std::thread::Builder::new()
            .name("ledger-decider".into())
            .spawn(move || {
                run_decider(
                    decider_mode,
                    decider_log,
                    decider_state,
                    decider_producer,
                    &decider_stop,
                    &metrics,
                )
            })?;
        Ok(KafkaEngine {
            mode,
            producer,
            log,
            store,
            applied: applied_rx,
            stop,
            threads: std::sync::Mutex::new(vec![decider_thread, projector_thread]),
        })
    }

    /// Stops deciding (committing what was decided), stops projecting, flushes the store.
    pub fn shutdown(self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.into_inner().unwrap_or_default() {
            let _ = t.join();
        }
        self.store.flush()?;
        Ok(())
    }
}

fn consumer(mode: &KafkaMode) -> anyhow::Result<BaseConsumer> {
    let consumer: BaseConsumer = mode
        .log
        .client()
        .set("group.id", &mode.group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        // Also the rebalance timeout: how long a coordinator waits for members to rejoin.
        // Tansu waits that long for a member that died, so it is kept short; the decider polls
        // at least every 100 ms between groups.
        .set("max.poll.interval.ms", "20000")
        .set("heartbeat.interval.ms", "500")
        .set("fetch.wait.max.ms", "10")
        .create()?;
    consumer.subscribe(&[&mode.commands_topic])?;
    Ok(consumer)
}

/// The decider loop. After a failure (broker outage, events not acknowledged) it rewinds its
/// consumer to the first command not yet committed and folds the log again; the consumer itself
/// is kept, because librdkafka reconnects it and keeps its group membership. A consumer rebuilt
/// during an outage would leave its predecessor in the group as a member that never answers,
/// and the coordinator would hold the next rebalance for it (Tansu waits the whole rebalance
/// timeout), so the stream would resume long after the broker did.
fn run_decider(
    mode: KafkaMode,
    log: Arc<KafkaLog>,
    state: Arc<dyn StateStore>,
    producer: FutureProducer,
    stop: &AtomicBool,
    metrics: &Arc<Metrics>,
) {
    let mut current: Option<BaseConsumer> = None;
    // Per command partition: the first offset read but not yet committed.
    let mut uncommitted: BTreeMap<u32, i64> = BTreeMap::new();
    while !stop.load(Ordering::SeqCst) {
        let consumer = match current.take() {
            Some(c) => c,
            None => match consumer(&mode) {
                Ok(c) => {
                    uncommitted.clear();
                    c
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot create the command consumer");
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                }
            },
        };
        match decide_until_failure(
            &mode,
            &log,
            &state,
            &producer,
            &consumer,
            &mut uncommitted,
            stop,
            metrics,
        ) {
            Ok(()) => current = Some(consumer),
            Err(e) => {
                tracing::warn!(error = %e, "decider resuming from the last committed command");
                std::thread::sleep(Duration::from_millis(500));
                if rewind(&consumer, &mode.commands_topic, &mut uncommitted) {
                    current = Some(consumer);
                }
            }
        }
    }
}

/// Moves the consumer back to the first uncommitted command of each partition it still owns;
/// false when it cannot (the consumer is then rebuilt and starts from the committed offsets).
fn rewind(consumer: &BaseConsumer, topic: &str, uncommitted: &mut BTreeMap<u32, i64>) -> bool {
    let owned = assigned_partitions(consumer, topic);
    let mut ok = true;
    for (&p, &offset) in uncommitted.iter() {
        if !owned.contains(&p) {
            continue;
        }
        if let Err(e) = consumer.seek(
            topic,
            p as i32,
            Offset::Offset(offset),
            Duration::from_secs(2),
        ) {
            tracing::warn!(partition = p, offset, error = %e, "cannot rewind the command consumer; rebuilding it");
            ok = false;
        }
    }
    uncommitted.clear();
    ok
}

fn assigned_partitions(consumer: &BaseConsumer, topic: &str) -> Vec<u32> {
    let mut owned: Vec<u32> = consumer
        .assignment()
        .map(|tpl| {
            tpl.elements()
                .iter()
                .filter(|e| e.topic() == topic)
                .map(|e| e.partition() as u32)
                .collect()
        })
        .unwrap_or_default();
    owned.sort_unstable();
    owned
}

#[allow(clippy::too_many_arguments)]
fn decide_until_failure(
    mode: &KafkaMode,
    log: &Arc<KafkaLog>,
    state: &Arc<dyn StateStore>,
    producer: &FutureProducer,
    consumer: &BaseConsumer,
    uncommitted: &mut BTreeMap<u32, i64>,
    stop: &AtomicBool,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<()> {
    let mut decider: Option<Decider> = None;
    while !stop.load(Ordering::SeqCst) {
        let mut batch = Vec::new();
        let mut wait = Duration::from_millis(100);
        while batch.len() < super::MAX_GROUP {
            match consumer.poll(wait) {
                None => break,
                // Informational: the consumer reconnects by itself. An outage queues one such
                // error per reconnection attempt; they are skipped, not treated as failures.
                Some(Err(e)) if ledger_log::kafka::transient(&e) => {
                    tracing::debug!(error = %e, "command consumer waiting for the broker");
                }
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(m)) => {
                    // Recorded before anything can fail, so a failure rewinds to it.
                    uncommitted
                        .entry(m.partition() as u32)
                        .or_insert(m.offset());
                    batch.push(Received {
                        partition: m.partition() as u32,
                        offset: m.offset(),
                        key: m.key().map(<[u8]>::to_vec),
                        payload: m.payload().unwrap_or_default().to_vec(),
                    });
                }
            }
            wait = Duration::ZERO;
        }
        let owned = assigned_partitions(consumer, &mode.commands_topic);
        uncommitted.retain(|p, _| owned.contains(p));
        if decider.as_ref().map(Decider::owned) != Some(owned.as_slice()) {
            tracing::info!(partitions = ?owned, "decider assignment changed; folding the tail of the owned partitions after their checkpoints");
            decider = Some(
                Decider::recover(log.clone(), state.clone(), owned.clone(), metrics.clone())?
                    .in_zone(mode.zone),
            );
        }
        let decider = decider.as_mut().expect("decider set above");
        decider.begin_group()?;
        let mut stored: Vec<StoredEvent> = Vec::new();
        let mut consumed: BTreeMap<u32, i64> = BTreeMap::new();
        for m in batch {
            if !owned.contains(&m.partition) {
                continue;
            }
            consumed.insert(m.partition, m.offset);
            match ledger_wire::command::decode_envelope(&m.payload, m.key.as_deref(), Utc::now()) {
                Ok((meta, command)) => {
                    let target = decider.partition_of(&meta.key);
                    if target != m.partition {
                        // Published with another partitioner: hand it to the partition that
                        // owns its key, whose decider will decide it.
                        let record = FutureRecord::to(&mode.commands_topic)
                            .partition(target as i32)
                            .key(meta.key.as_bytes())
                            .payload(&m.payload);
                        let delivery = producer.send_result(record).map_err(|(e, _)| e)?;
                        futures_block_on(delivery)?;
                        continue;
                    }
                    decider.decide(&meta, &command, Origin::Topic, &mut stored)?;
                }
                Err(u) => {
                    decider.refuse_unreadable(
                        &u.command_id,
                        &u.command_type,
                        &u.key,
                        m.partition,
                        u.rejection,
                        &mut stored,
                    )?;
                }
            }
        }
        decider.commit(&stored)?;
        // Keeping the state of the other partitions current makes a hand-over fold only
        // their tail (a node that never owned a partition would otherwise fold all of it).
        let followed = decider.follow(FOLLOW_CHUNK)?;
        if followed > 0 {
            tracing::debug!(
                events = followed,
                "decider state follows the partitions of other nodes"
            );
        }
        if !consumed.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for (&p, &offset) in &consumed {
                tpl.add_partition_offset(
                    &mode.commands_topic,
                    p as i32,
                    Offset::Offset(offset + 1),
                )?;
            }
            consumer.commit(&tpl, CommitMode::Sync)?;
            for p in consumed.keys() {
                uncommitted.remove(p);
            }
        }
    }
    Ok(())
}

/// Events of each partition another node owns that the decider folds between two groups: enough
/// to keep up with that node's stream, small enough not to delay the next group much.
pub const FOLLOW_CHUNK: usize = 2048;

fn futures_block_on(delivery: rdkafka::producer::DeliveryFuture) -> anyhow::Result<()> {
    match futures_executor::block_on(delivery) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((e, _))) => Err(e.into()),
        Err(_) => anyhow::bail!("delivery cancelled"),
    }
}

impl CommandBus for KafkaEngine {
    /// Publishes the command and waits until this node's projection holds its outcome,
    /// whichever node decided it.
    fn submit(&self, submission: Submission) -> BoxFuture<Result<Decided, BusError>> {
        let producer = self.producer.clone();
        let topic = self.mode.commands_topic.clone();
        let store = self.store.clone();
        let mut applied = self.applied.clone();
        let partition = ledger_core::partition_for(&submission.meta.key, self.log.partitions());
        Box::pin(async move {
            let command_id = submission.meta.command_id.clone();
            let known = |store: &ReadStore| {
                store
                    .command_record(&command_id)
                    .ok()
                    .flatten()
                    .map(|o| Decided::Logged {
                        last: Position {
                            partition: o.partition,
                            offset: o.last_offset,
                        },
                        duplicate: false,
                    })
            };
            if let Some(d) = known(&store) {
                return Ok(d);
            }
            let envelope = ledger_wire::command::encode_envelope(
                &submission.meta,
                submission.command.type_name(),
                &submission.body,
            )
            .map_err(|r| BusError::Unavailable(r.to_string()))?;
            let record = FutureRecord::to(&topic)
                .partition(partition as i32)
                .key(submission.meta.key.as_bytes())
                .payload(&envelope);
            let delivery = producer.send_result(record).map_err(|(e, _)| {
                BusError::Unavailable(format!("cannot publish the command: {e}"))
            })?;
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => {
                    return Err(BusError::Unavailable(format!(
                        "the broker did not take the command: {e}"
                    )));
                }
                Err(_) => return Err(BusError::Unavailable("publishing was cancelled".into())),
            }
            loop {
                if let Some(d) = known(&store) {
                    return Ok(d);
                }
                if applied.changed().await.is_err() {
                    return Err(BusError::Unavailable("the projector has stopped".into()));
                }
            }
        })
    }

    fn wait_projected(&self, position: Position, deadline: Instant) -> BoxFuture<bool> {
        super::wait_projected(self.applied.clone(), position, deadline)
    }

    fn applied_positions(&self) -> Vec<u64> {
        self.applied.borrow().clone()
    }

    fn read_events(
        &self,
        partition: u32,
        first: u64,
        last: u64,
    ) -> BoxFuture<Result<Vec<ledger_core::EventEnvelope>, BusError>> {
        ledger_api::bus::read_log_events(self.log.clone(), partition, first, last)
    }

    fn log_ends(&self) -> Vec<u64> {
        (0..self.log.partitions())
            .map(|p| {
                self.log.forget_head(p);
                self.log.head(p).map(|h| h.next_offset).unwrap_or(0)
            })
            .collect()
    }
}
