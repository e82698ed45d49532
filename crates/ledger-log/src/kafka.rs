//! The Kafka event log: topic `fee.events` (configurable), one Kafka partition per ledger
//! partition, written by an idempotent producer (`enable.idempotence=true`, `acks=all`).
//! Kafka offsets are the ledger offsets: a non-transactional idempotent producer writes no
//! control records, so offsets stay dense, and the hash chain is the same as in the embedded log.
//!
//! Durability: `append` returns once the broker acknowledged every message with `acks=all`.
//! Before writing, it checks that the partition's end is where this writer expects it, so a
//! second writer for the same partition (a zombie after a rebalance) is refused instead of
//! forking the chain.

use futures_executor::block_on;
use ledger_core::envelope::stored_hash;
use ledger_core::log::{EventLog, LogError, PartitionHead, StoredEvent};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How to reach the broker and which topic holds the events.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `host:port[,host:port…]`.
    pub brokers: String,
    /// The event topic, `fee.events` by default.
    pub topic: String,
    /// Partitions of the topic when the ledger creates it (an existing topic keeps its count).
    pub partitions: u32,
    /// How long one broker operation may take before the log reports itself unavailable.
    pub op_timeout_ms: u64,
    /// librdkafka properties passed to every client (TLS and SASL settings, timeouts…). They
    /// override the settings all clients share, not those a client needs to be correct (the
    /// event producer's `acks=all` and idempotence, the readers' manual offsets).
    pub properties: BTreeMap<String, String>,
    /// How the topics the ledger creates are replicated, and whether a finite retention on the
    /// event topic is tolerated.
    pub topics: TopicSettings,
}

/// Replication and retention of the ledger's topics.
#[derive(Debug, Clone, Default)]
pub struct TopicSettings {
    /// Replicas of a topic the ledger creates; `None`: 3 when the cluster has at least 3
    /// brokers, else 1 (with a warning).
    pub replication_factor: Option<i32>,
    /// `min.insync.replicas` of a topic the ledger creates; `None`: 2 when it has at least 3
    /// replicas, else 1.
    pub min_insync_replicas: Option<i32>,
    /// Run on an event topic whose retention deletes events (refused otherwise: the event
    /// topic is the ledger's history).
    pub allow_finite_retention: bool,
}

/// What a topic holds: the event topic is kept forever, the command topic is a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicRole {
    Events,
    Commands,
}

impl KafkaConfig {
    pub fn new(brokers: &str, topic: &str, partitions: u32) -> Self {
        KafkaConfig {
            brokers: brokers.to_string(),
            topic: topic.to_string(),
            partitions,
            op_timeout_ms: 4000,
            properties: BTreeMap::new(),
            topics: TopicSettings::default(),
        }
    }

    fn op_timeout(&self) -> Duration {
        Duration::from_millis(self.op_timeout_ms)
    }

    /// Client settings every client of the ledger shares.
    pub fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("socket.timeout.ms", "5000")
            .set("broker.address.family", "v4")
            // After a broker outage every client reconnects within a second of the broker's
            // return (librdkafka's default backoff grows to 10 s between attempts).
            .set("reconnect.backoff.ms", "100")
            .set("reconnect.backoff.max.ms", "1000")
            // A broker that accepts connections but does not answer yet (one starting up) is
            // retried after 5 s rather than the default 30 s.
            .set("socket.connection.setup.timeout.ms", "5000");
        for (key, value) in &self.properties {
            c.set(key, value);
        }
        c
    }
}

/// Errors librdkafka recovers from by itself (it reconnects and refetches metadata): the
/// client that reported them stays usable, so it is kept rather than rebuilt.
pub fn transient(error: &KafkaError) -> bool {
    use RDKafkaErrorCode as C;
    match error.rdkafka_error_code() {
        Some(code) => matches!(
            code,
            C::BrokerTransportFailure
                | C::AllBrokersDown
                | C::Resolve
                | C::OperationTimedOut
                | C::RequestTimedOut
                | C::NetworkException
                | C::CoordinatorNotAvailable
                | C::NotCoordinator
                | C::CoordinatorLoadInProgress
                | C::LeaderNotAvailable
                | C::NotLeaderForPartition
                | C::UnknownTopicOrPartition
        ),
        None => false,
    }
}

/// The readers' client context. Reaching the end of a partition is how a read learns it has
/// caught up (`enable.partition.eof`), and an idle reader reaches it again on every fetch, so
/// librdkafka's report of it is traced, not logged as an error; every other error is.
struct ReaderContext;

impl ClientContext for ReaderContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if matches!(error, KafkaError::PartitionEOF(_)) {
            tracing::trace!(target: "librdkafka", "{error}: {reason}");
        } else {
            tracing::error!(target: "librdkafka", "librdkafka: {error}: {reason}");
        }
    }
}

impl ConsumerContext for ReaderContext {}

type ReaderConsumer = BaseConsumer<ReaderContext>;

/// One partition's reader: a consumer assigned to it and where it stands.
struct Reader {
    consumer: ReaderConsumer,
    next: u64,
}

pub struct KafkaLog {
    config: KafkaConfig,
    /// Replaced when librdkafka reports a fatal idempotence error (e.g. a broker that cannot
    /// bump the producer epoch after a timed-out batch): such a producer refuses every later
    /// message, so a new one (new producer id) takes over.
    producer: std::sync::RwLock<FutureProducer>,
    partitions: u32,
    /// Heads of partitions this process has looked at or written, refreshed from the broker
    /// when missing.
    heads: Mutex<Vec<Option<PartitionHead>>>,
    readers: Vec<Mutex<Option<Reader>>>,
}

fn unavailable(e: impl std::fmt::Display) -> LogError {
    LogError::Unavailable(e.to_string())
}

impl KafkaLog {
    /// Connects, creating the topic when it does not exist.
    pub fn open(config: KafkaConfig) -> Result<Self, LogError> {
        let producer = event_producer(&config)?;
        ensure_topic(&config, &config.topic, config.partitions, TopicRole::Events)?;
        check_retention(&config)?;
        let metadata = producer
            .client()
            .fetch_metadata(Some(&config.topic), config.op_timeout())
            .map_err(unavailable)?;
        let partitions = metadata
            .topics()
            .first()
            .map(|t| t.partitions().len() as u32)
            .filter(|n| *n > 0)
            .ok_or_else(|| unavailable(format!("topic {} has no partitions", config.topic)))?;
        Ok(KafkaLog {
            heads: Mutex::new(vec![None; partitions as usize]),
            readers: (0..partitions).map(|_| Mutex::new(None)).collect(),
            config,
            producer: std::sync::RwLock::new(producer),
            partitions,
        })
    }

    /// A handle on the current producer.
    fn producer(&self) -> FutureProducer {
        self.producer
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Replaces the producer after a fatal error; the next append uses a fresh producer id.
    fn renew_producer_if_fatal(&self) {
        let fatal = self.producer().client().fatal_error();
        if let Some((code, reason)) = fatal {
            tracing::warn!(?code, %reason, "event producer hit a fatal error; replacing it");
            if let Ok(fresh) = event_producer(&self.config)
                && let Ok(mut slot) = self.producer.write()
            {
                *slot = fresh;
            }
        }
    }

    fn watermarks(&self, partition: u32) -> Result<(i64, i64), LogError> {
        self.producer()
            .client()
            .fetch_watermarks(
                &self.config.topic,
                partition as i32,
                self.config.op_timeout(),
            )
            .map_err(unavailable)
    }

    /// Reads the partition's end from the broker (the last event's hash included).
    fn fetch_head(&self, partition: u32) -> Result<PartitionHead, LogError> {
        let (low, high) = self.watermarks(partition)?;
        if high <= 0 {
            return Ok(PartitionHead::default());
        }
        if low > 0 {
            return Err(LogError::Storage(format!(
                "partition {partition} lost its first {low} events to retention; the chain cannot be checked"
            )));
        }
        let last = self.read(partition, (high - 1) as u64, 1)?;
        let last = last.first().ok_or_else(|| {
            unavailable(format!(
                "cannot read the last event of partition {partition}"
            ))
        })?;
        Ok(PartitionHead {
            next_offset: high as u64,
            last_hash: stored_hash(&last.bytes).ok_or_else(|| {
                LogError::Storage(format!("event {partition}:{} is not sealed", last.offset))
            })?,
        })
    }

    fn reader(&self, partition: u32) -> Result<ReaderConsumer, LogError> {
        self.config
            .client()
            .set("group.id", "ledger-log-reader")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("fetch.wait.max.ms", "10")
            .set("fetch.min.bytes", "1")
            .set("client.id", format!("ledger-reader-{partition}"))
            .create_with_context(ReaderContext)
            .map_err(unavailable)
    }

    pub fn topic(&self) -> &str {
        &self.config.topic
    }
}

/// The idempotent producer that writes events.
fn event_producer(config: &KafkaConfig) -> Result<FutureProducer, LogError> {
    config
        .client()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "1")
        .set("batch.num.messages", "10000")
        .set("max.in.flight.requests.per.connection", "5")
        .set("message.timeout.ms", config.op_timeout_ms.to_string())
        .set(
            "request.timeout.ms",
            config.op_timeout_ms.min(30_000).to_string(),
        )
        .set("partitioner", "murmur2_random")
        .create()
        .map_err(unavailable)
}

/// Creates `topic` with `partitions` partitions unless it exists, and returns its partition
/// count. A new topic gets the configured replication (by default 3 replicas and
/// `min.insync.replicas=2` on a cluster of at least 3 brokers, else 1 and a warning); the event
/// topic also gets `retention.ms=-1` and `retention.bytes=-1`: it is the ledger's history.
pub fn ensure_topic(
    config: &KafkaConfig,
    topic: &str,
    partitions: u32,
    role: TopicRole,
) -> Result<u32, LogError> {
    let admin: AdminClient<DefaultClientContext> = config.client().create().map_err(unavailable)?;
    let metadata = admin
        .inner()
        .fetch_metadata(Some(topic), config.op_timeout())
        .map_err(unavailable)?;
    let existing = metadata
        .topics()
        .first()
        .filter(|t| t.error().is_none() && !t.partitions().is_empty())
        .map(|t| t.partitions().len() as u32);
    if let Some(count) = existing {
        return Ok(count);
    }
    let brokers = metadata.brokers().len();
    let replicas = config.topics.replication_factor.unwrap_or_else(|| {
        if brokers >= 3 {
            3
        } else {
            tracing::warn!(
                topic,
                brokers,
                "creating the topic with a single replica: the cluster has fewer than 3 brokers, \
                 so losing one broker can lose acknowledged events"
            );
            1
        }
    });
    let min_insync = config
        .topics
        .min_insync_replicas
        .unwrap_or(if replicas >= 3 { 2 } else { 1 })
        .to_string();
    let mut new = NewTopic::new(topic, partitions as i32, TopicReplication::Fixed(replicas))
        .set("min.insync.replicas", &min_insync);
    if role == TopicRole::Events {
        new = new.set("retention.ms", "-1").set("retention.bytes", "-1");
    }
    let results = block_on(admin.create_topics(
        [&new],
        &AdminOptions::new().operation_timeout(Some(config.op_timeout())),
    ))
    .map_err(unavailable)?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => return Err(unavailable(format!("cannot create topic {t}: {e}"))),
        }
    }
    tracing::info!(topic, partitions, replicas, min_insync, "created the topic");
    Ok(partitions)
}

/// Refuses an event topic whose retention deletes events (`retention.ms` or `retention.bytes`
/// other than -1), unless `allow_finite_retention`: once the broker deletes the oldest events
/// the chain cannot be checked and a replay misses history. A broker that does not answer
/// DescribeConfigs is warned about, not refused.
pub fn check_retention(config: &KafkaConfig) -> Result<(), LogError> {
    let admin: AdminClient<DefaultClientContext> = config.client().create().map_err(unavailable)?;
    let described = block_on(admin.describe_configs(
        [&ResourceSpecifier::Topic(&config.topic)],
        &AdminOptions::new().request_timeout(Some(config.op_timeout())),
    ));
    let resource = match described.map(|mut r| r.pop()) {
        Ok(Some(Ok(resource))) => resource,
        other => {
            tracing::warn!(
                topic = %config.topic,
                answer = ?other.map(|r| r.map(|r| r.map(|c| c.specifier))),
                "cannot read the event topic's retention; make sure it is retention.ms=-1"
            );
            return Ok(());
        }
    };
    let finite: Vec<String> = ["retention.ms", "retention.bytes"]
        .into_iter()
        .filter_map(|name| {
            let value = resource.get(name)?.value.clone()?;
            (value.trim() != "-1").then(|| format!("{name}={value}"))
        })
        .collect();
    if finite.is_empty() {
        return Ok(());
    }
    let what = finite.join(", ");
    if config.topics.allow_finite_retention {
        tracing::warn!(topic = %config.topic, retention = %what, "the event topic deletes old events (allowed by allow_finite_retention): replays and verify will miss the deleted history");
        return Ok(());
    }
    Err(LogError::Misconfigured(format!(
        "the event topic {topic} has {what}: the broker will delete the oldest events, and the \
         ledger's history with them. Keep them forever with `kafka-configs.sh --bootstrap-server \
         BROKER --alter --entity-type topics --entity-name {topic} --add-config \
         retention.ms=-1,retention.bytes=-1`, or start with --kafka-allow-finite-retention \
         (kafka.allow_finite_retention = true) if another system keeps the history",
        topic = config.topic
    )))
}

impl KafkaLog {
    /// `read`, waiting for the events up to `max` when `stored` says they exist (or this
    /// process knows the partition ends past `from`).
    fn read_waiting(
        &self,
        partition: u32,
        from: u64,
        max: usize,
        stored: bool,
    ) -> Result<Vec<StoredEvent>, LogError> {
        if partition >= self.partitions {
            return Err(LogError::NoSuchPartition(partition));
        }
        // Where this process knows the partition ends (it wrote or looked up that end): a read
        // below it waits for those events rather than returning what happens to be fetched.
        let known_end = self
            .heads
            .lock()
            .ok()
            .and_then(|h| h[partition as usize].map(|h| h.next_offset));
        let behind = stored || known_end.is_some_and(|end| end > from);
        let mut slot = self.readers[partition as usize]
            .lock()
            .map_err(|_| unavailable("reader lock poisoned"))?;
        let fresh = !matches!(&*slot, Some(r) if r.next == from);
        if fresh {
            // A reader is moved with seek, or replaced, but never re-assigned: librdkafka 2.12
            // aborts the whole process (`rd_kafka_assignment_partition_stopped: Assertion
            // rktp->rktp_started failed`) when an assignment is replaced again before the
            // previous replacement's fetch stop was served (confluentinc/librdkafka#5573), which
            // interleaved head lookups and projection reads did after a broker restart.
            let moved = slot.as_mut().is_some_and(|r| {
                r.consumer
                    .seek(
                        &self.config.topic,
                        partition as i32,
                        Offset::Offset(from as i64),
                        self.config.op_timeout(),
                    )
                    .is_ok()
            });
            if moved {
                if let Some(r) = slot.as_mut() {
                    r.next = from;
                }
            } else {
                *slot = None;
                let consumer = self.reader(partition)?;
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition_offset(
                    &self.config.topic,
                    partition as i32,
                    Offset::Offset(from as i64),
                )
                .map_err(unavailable)?;
                consumer.assign(&tpl).map_err(unavailable)?;
                *slot = Some(Reader {
                    consumer,
                    next: from,
                });
            }
        }
        let reader = slot.as_mut().expect("reader set above");
        let mut out = Vec::new();
        // A reader positioned at the end returns at once when nothing new has arrived; a fresh
        // one waits for the fetch to come back (the end-of-partition event, at least), and one
        // behind the known end waits for the events up to it.
        let mut deadline = Instant::now()
            + if fresh || behind {
                self.config.op_timeout()
            } else {
                Duration::ZERO
            };
        let mut broker_error = None;
        while out.len() < max {
            let wait = deadline.saturating_duration_since(Instant::now());
            match reader.consumer.poll(wait) {
                None => break,
                // The broker answered: errors queued before do not matter.
                Some(Err(KafkaError::PartitionEOF(_))) => {
                    broker_error = None;
                    // Before any of the events a stored read asks for, an end-of-partition is
                    // one queued before they arrived: keep waiting for them.
                    if stored && out.is_empty() {
                        continue;
                    }
                    break;
                }
                // Informational: librdkafka reconnects by itself, and the reader stays usable.
                // An outage queues one such error per reconnection attempt; they are drained
                // here (a reader that returned them one per read lagged long after the broker
                // was back), and a fresh read gives up soon while the broker is still away.
                Some(Err(e)) if transient(&e) => {
                    deadline = deadline.min(Instant::now() + Duration::from_millis(500));
                    broker_error = Some(e);
                }
                Some(Err(e)) => {
                    *slot = None;
                    return Err(unavailable(e));
                }
                Some(Ok(m)) => {
                    let offset = m.offset() as u64;
                    if offset != reader.next {
                        let expected = reader.next;
                        *slot = None;
                        return Err(LogError::Storage(format!(
                            "partition {partition}: read offset {offset}, expected {expected} (offsets are not dense)"
                        )));
                    }
                    reader.next += 1;
                    out.push(StoredEvent {
                        partition,
                        offset,
                        bytes: m.payload().unwrap_or_default().to_vec(),
                    });
                    if !fresh && known_end.is_some_and(|end| reader.next >= end) {
                        deadline = Instant::now();
                    }
                }
            }
        }
        match broker_error {
            Some(e) if out.is_empty() => Err(unavailable(e)),
            _ => Ok(out),
        }
    }
}

impl EventLog for KafkaLog {
    fn partitions(&self) -> u32 {
        self.partitions
    }

    /// Durable on return: every message acknowledged by the broker with `acks=all`.
    fn append(&self, events: &[StoredEvent]) -> Result<(), LogError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut heads = self
            .heads
            .lock()
            .map_err(|_| unavailable("log lock poisoned"))?;
        // Each partition's batch must continue both our head and the broker's end.
        let mut by_partition: BTreeMap<u32, Vec<&StoredEvent>> = BTreeMap::new();
        for e in events {
            if e.partition >= self.partitions {
                return Err(LogError::NoSuchPartition(e.partition));
            }
            by_partition.entry(e.partition).or_default().push(e);
        }
        for (&p, batch) in &by_partition {
            let (_, high) = self.watermarks(p)?;
            let expected = heads[p as usize]
                .map(|h| h.next_offset)
                .unwrap_or(high as u64);
            for (next, e) in (expected..).zip(batch.iter()) {
                if e.offset != next {
                    return Err(LogError::NotDense {
                        partition: p,
                        offset: e.offset,
                        expected: next,
                    });
                }
            }
            if high as u64 != expected {
                heads[p as usize] = None;
                return Err(LogError::NotDense {
                    partition: p,
                    offset: batch[0].offset,
                    expected: high as u64,
                });
            }
        }
        let producer = self.producer();
        let mut deliveries = Vec::with_capacity(events.len());
        for e in events {
            let key = e.partition.to_be_bytes();
            let record = FutureRecord::to(&self.config.topic)
                .partition(e.partition as i32)
                .key(&key)
                .payload(&e.bytes);
            let delivery = producer
                .send_result(record)
                .map_err(|(err, _)| unavailable(err))?;
            deliveries.push((e, delivery));
        }
        let mut failure = None;
        for (e, delivery) in deliveries {
            match block_on(delivery) {
                Ok(Ok(d)) if d.offset as u64 == e.offset => {}
                Ok(Ok(d)) => {
                    failure.get_or_insert(LogError::Storage(format!(
                        "event for {}:{} landed at offset {}: partition written concurrently",
                        e.partition, e.offset, d.offset
                    )));
                }
                Ok(Err((err, _))) => {
                    failure.get_or_insert(unavailable(err));
                }
                Err(_) => {
                    failure.get_or_insert(unavailable("delivery cancelled"));
                }
            }
        }
        if let Some(err) = failure {
            self.renew_producer_if_fatal();
            for p in by_partition.keys() {
                heads[*p as usize] = None;
            }
            return Err(err);
        }
        for (&p, batch) in &by_partition {
            let last = batch.last().expect("non-empty batch");
            heads[p as usize] = Some(PartitionHead {
                next_offset: last.offset + 1,
                last_hash: stored_hash(&last.bytes).ok_or_else(|| {
                    LogError::Storage(format!("event {p}:{} is not sealed", last.offset))
                })?,
            });
        }
        Ok(())
    }

    fn read(&self, partition: u32, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError> {
        self.read_waiting(partition, from, max, false)
    }

    fn read_stored(
        &self,
        partition: u32,
        from: u64,
        max: usize,
    ) -> Result<Vec<StoredEvent>, LogError> {
        self.read_waiting(partition, from, max, true)
    }

    fn forget_head(&self, partition: u32) {
        if let Ok(mut heads) = self.heads.lock()
            && let Some(h) = heads.get_mut(partition as usize)
        {
            *h = None;
        }
    }

    fn head(&self, partition: u32) -> Result<PartitionHead, LogError> {
        if partition >= self.partitions {
            return Err(LogError::NoSuchPartition(partition));
        }
        if let Some(h) = self
            .heads
            .lock()
            .map_err(|_| unavailable("log lock poisoned"))?[partition as usize]
        {
            return Ok(h);
        }
        let head = self.fetch_head(partition)?;
        self.heads
            .lock()
            .map_err(|_| unavailable("log lock poisoned"))?[partition as usize] = Some(head);
        Ok(head)
    }
}
