//! The Kafka event log: topic `fee.events` (configurable), one Kafka partition per ledger
//! partition, written by an idempotent producer (`enable.idempotence=true`, `acks=all`).
//!
//! **One record per append and partition.** A record's value is the sealed events one `append`
//! wrote to that partition, one per line (sealed events are compact JSON: no newline inside);
//! its key is the partition number. A command's events are stored together or not at all, on
//! any broker, because Kafka appends a record whole. A record of the earlier format (one event
//! per record) is the same format with one line, so old topics read as before.
//!
//! **The chain is the fence.** A record is *accepted* when its first event follows the last
//! accepted event of the partition (`prev_hash`); every reader skips every other record. Two
//! writers that both believe they own a partition (one deposed by a rebalance while paused past
//! its session timeout, then resumed) seal on the same head: whichever record the broker
//! appends first is accepted, and the other never can be, because the chain has moved on. A
//! writer learns which after the write: when its record does not land right after the end it had
//! folded, it folds the records in between, and if one of them was accepted its own is not and
//! `append` fails, so no decision is reported that the log does not hold. Ledger offsets (in the
//! events, dense) are therefore not Kafka offsets; [`ChainIndex`] remembers where the chain
//! passes so that a read starts near its offset. ARCHITECTURE.md says why this and not Kafka
//! transactions.
//!
//! Durability: `append` returns once the broker acknowledged the records with `acks=all`.

use crate::kafka_index::{ChainIndex, ChainPoint};
use futures_executor::block_on;
use ledger_core::envelope::{stored_command_id, stored_hash, stored_prev_hash};
use ledger_core::log::{EventLog, LogError, PartitionHead, StoredEvent};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
    /// The largest record the log writes (a command larger than this is still written whole,
    /// alone): below the broker's `message.max.bytes`.
    pub max_record_bytes: usize,
    /// Where the chain index of the event topic is kept across restarts (`None`: in memory
    /// only, so the first read of a partition after a start folds it from its first record).
    pub index_dir: Option<PathBuf>,
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
            max_record_bytes: 256 * 1024,
            index_dir: None,
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
        if matches!(
            error,
            KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF)
        ) {
            tracing::trace!(target: "librdkafka", "{error}: {reason}");
        } else {
            tracing::error!(target: "librdkafka", "librdkafka: {error}: {reason}");
        }
    }
}

impl ConsumerContext for ReaderContext {}

type ReaderConsumer = BaseConsumer<ReaderContext>;

/// How far a client has folded a partition's accepted chain: the next ledger offset and the
/// last accepted hash, and the Kafka offset after the last record folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Folded {
    head: PartitionHead,
    kafka_next: i64,
}

impl Folded {
    fn start() -> Folded {
        Folded {
            head: PartitionHead::default(),
            kafka_next: 0,
        }
    }

    fn at(point: ChainPoint) -> Folded {
        Folded {
            head: PartitionHead {
                next_offset: point.first,
                last_hash: point.prev_hash,
            },
            kafka_next: point.kafka_offset,
        }
    }
}

/// One partition's reader: a consumer assigned to it and how far it has folded the chain.
struct Reader {
    consumer: ReaderConsumer,
    at: Folded,
    /// Accepted events folded but not returned yet (a record holds several; `read` returns at
    /// most `max`).
    pending: VecDeque<StoredEvent>,
    /// Set when the reader starts at an index point: the first record must be that point's.
    check: Option<ChainPoint>,
}

impl Reader {
    /// The ledger offset the next event returned has.
    fn next_offset(&self) -> u64 {
        self.at.head.next_offset - self.pending.len() as u64
    }
}

/// Splits one partition's events into records of whole commands (a command's events are
/// consecutive), each at most `max_bytes` long unless one command alone is longer.
fn records<'a>(batch: &[&'a StoredEvent], max_bytes: usize) -> Vec<Vec<&'a StoredEvent>> {
    let mut records: Vec<Vec<&StoredEvent>> = Vec::new();
    let mut size = 0;
    let mut i = 0;
    while i < batch.len() {
        let command = stored_command_id(&batch[i].bytes);
        let mut j = i + 1;
        while j < batch.len() && stored_command_id(&batch[j].bytes) == command {
            j += 1;
        }
        let bytes: usize = batch[i..j].iter().map(|e| e.bytes.len() + 1).sum();
        match records.last_mut() {
            Some(record) if size + bytes <= max_bytes => {
                record.extend_from_slice(&batch[i..j]);
                size += bytes;
            }
            _ => {
                records.push(batch[i..j].to_vec());
                size = bytes;
            }
        }
        i = j;
    }
    records
}

/// Events kept for a reader that a head lookup carried past; beyond it they are dropped and the
/// next read starts again from the index.
const MAX_PENDING: usize = 8192;

/// Folds one record onto `at`: its events when it continues the chain, `None` when it does not
/// (a deposed writer's record, or one that lost a race). A record that continues the chain but
/// is broken inside is corrupt storage.
fn fold_record(
    partition: u32,
    at: &mut Folded,
    kafka_offset: i64,
    value: &[u8],
) -> Result<Option<Vec<StoredEvent>>, LogError> {
    at.kafka_next = kafka_offset + 1;
    let mut lines = value.split(|b| *b == b'\n').peekable();
    if lines.peek().and_then(|first| stored_prev_hash(first)) != Some(at.head.last_hash) {
        return Ok(None);
    }
    let mut head = at.head;
    let mut events = Vec::new();
    for line in lines {
        let hash = stored_hash(line)
            .filter(|_| stored_prev_hash(line) == Some(head.last_hash))
            .ok_or_else(|| {
                LogError::Storage(format!(
                    "partition {partition}: the record at Kafka offset {kafka_offset} breaks the chain at event {}",
                    head.next_offset
                ))
            })?;
        events.push(StoredEvent {
            partition,
            offset: head.next_offset,
            bytes: line.to_vec(),
        });
        head = PartitionHead {
            next_offset: head.next_offset + 1,
            last_hash: hash,
        };
    }
    at.head = head;
    Ok(Some(events))
}

pub struct KafkaLog {
    config: KafkaConfig,
    /// Replaced when librdkafka reports a fatal idempotence error (e.g. a broker that cannot
    /// bump the producer epoch after a timed-out batch): such a producer refuses every later
    /// message, so a new one (new producer id) takes over.
    producer: std::sync::RwLock<FutureProducer>,
    partitions: u32,
    /// Per partition, the end of the chain as this client last wrote or folded it, refreshed
    /// from the broker when missing.
    heads: Mutex<Vec<Option<Folded>>>,
    readers: Vec<Mutex<Option<Reader>>>,
    index: Arc<ChainIndex>,
    /// Records folded that were not on the chain (a deposed writer's).
    skipped: AtomicU64,
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
        let index = Arc::new(ChainIndex::open(
            config.index_dir.as_deref(),
            &config.topic,
            partitions,
        ));
        Ok(Self::with(config, producer, partitions, index))
    }

    fn with(
        config: KafkaConfig,
        producer: FutureProducer,
        partitions: u32,
        index: Arc<ChainIndex>,
    ) -> Self {
        KafkaLog {
            heads: Mutex::new(vec![None; partitions as usize]),
            readers: (0..partitions).map(|_| Mutex::new(None)).collect(),
            config,
            producer: std::sync::RwLock::new(producer),
            partitions,
            index,
            skipped: AtomicU64::new(0),
        }
    }

    /// A second client of the same topic (its own producer, readers and cached ends) sharing
    /// this one's chain index: one process keeps one index file per partition.
    pub fn sibling(&self) -> Result<Self, LogError> {
        Ok(Self::with(
            self.config.clone(),
            event_producer(&self.config)?,
            self.partitions,
            self.index.clone(),
        ))
    }

    /// Records this client folded that were not on the chain (deposed writers' records).
    pub fn skipped_records(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
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

    fn cached(&self, partition: u32) -> Option<Folded> {
        self.heads.lock().ok().and_then(|h| h[partition as usize])
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

    /// Points the partition's reader at `at` (a point on the chain).
    fn place(
        &self,
        slot: &mut Option<Reader>,
        partition: u32,
        at: Folded,
        check: Option<ChainPoint>,
    ) -> Result<(), LogError> {
        // An index point past the partition's end names no record (the topic was replaced by a
        // shorter one); a broker may answer a fetch there with silence rather than an error.
        let (at, check) = match check {
            Some(point) if point.kafka_offset >= self.watermarks(partition)?.1 => {
                self.index.clear(partition);
                (Folded::start(), None)
            }
            _ => (at, check),
        };
        // A reader is moved with seek, or replaced, but never re-assigned: librdkafka 2.12
        // aborts the whole process (`rd_kafka_assignment_partition_stopped: Assertion
        // rktp->rktp_started failed`) when an assignment is replaced again before the previous
        // replacement's fetch stop was served (confluentinc/librdkafka#5573), which interleaved
        // head lookups and projection reads did after a broker restart.
        let moved = slot.as_mut().is_some_and(|r| {
            r.consumer
                .seek(
                    &self.config.topic,
                    partition as i32,
                    Offset::Offset(at.kafka_next),
                    self.config.op_timeout(),
                )
                .is_ok()
        });
        if !moved {
            *slot = None;
            let consumer = self.reader(partition)?;
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(
                &self.config.topic,
                partition as i32,
                Offset::Offset(at.kafka_next),
            )
            .map_err(unavailable)?;
            consumer.assign(&tpl).map_err(unavailable)?;
            *slot = Some(Reader {
                consumer,
                at,
                pending: VecDeque::new(),
                check,
            });
        } else if let Some(r) = slot.as_mut() {
            r.at = at;
            r.pending.clear();
            r.check = check;
        }
        Ok(())
    }

    /// The nearest known point on the chain at or before ledger offset `offset`: this client's
    /// cached end, or an index point, or the partition's start.
    fn start_for(
        &self,
        cached: Option<Folded>,
        partition: u32,
        offset: u64,
    ) -> (Folded, Option<ChainPoint>) {
        let cached = cached.filter(|f| f.head.next_offset <= offset);
        match (cached, self.index.at_or_before(partition, offset)) {
            (Some(c), Some(point)) if point.first <= c.head.next_offset => (c, None),
            (_, Some(point)) => (Folded::at(point), Some(point)),
            (Some(c), None) => (c, None),
            (None, None) => (Folded::start(), None),
        }
    }

    /// Folds one polled record into the reader; an index point that does not match its record
    /// (the topic was replaced) is dropped and the reader starts again from the partition's
    /// first record. Returns the record's accepted events.
    fn fold_polled(
        &self,
        slot: &mut Option<Reader>,
        partition: u32,
        kafka_offset: i64,
        value: &[u8],
    ) -> Result<Vec<StoredEvent>, LogError> {
        let check = slot.as_mut().expect("reader placed").check.take();
        if let Some(point) = check {
            let first = value.split(|b| *b == b'\n').next().unwrap_or_default();
            if kafka_offset != point.kafka_offset
                || stored_prev_hash(first) != Some(point.prev_hash)
            {
                self.index.clear(partition);
                self.place(slot, partition, Folded::start(), None)?;
                return Ok(Vec::new());
            }
        }
        let reader = slot.as_mut().expect("reader placed");
        let before = reader.at;
        match fold_record(partition, &mut reader.at, kafka_offset, value)? {
            Some(events) => {
                self.index.note(
                    partition,
                    ChainPoint {
                        first: before.head.next_offset,
                        kafka_offset,
                        prev_hash: before.head.last_hash,
                    },
                );
                Ok(events)
            }
            None => {
                self.skipped.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    partition,
                    kafka_offset,
                    "skipped a record that does not continue the chain (a deposed writer's)"
                );
                Ok(Vec::new())
            }
        }
    }

    /// At the end of the partition: a reader still waiting for its index point's record will
    /// not see it (the topic was replaced by a shorter one), so the index is dropped and the
    /// reader starts again from the partition's first record. True when that happened.
    fn stale_point_at_end(
        &self,
        slot: &mut Option<Reader>,
        partition: u32,
    ) -> Result<bool, LogError> {
        if slot.as_ref().is_some_and(|r| r.check.is_some()) {
            self.index.clear(partition);
            self.place(slot, partition, Folded::start(), None)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Folds partition `partition` until every record before Kafka offset `kafka_end` is
    /// folded, from `from` (or the reader's own place, or the nearest index point). `low` is
    /// the partition's first offset still on the broker: a fold that would have to start before
    /// it is refused. It never locks the cached ends: `append` calls it holding them.
    fn fold_until(
        &self,
        partition: u32,
        from: Option<Folded>,
        low: i64,
        kafka_end: i64,
    ) -> Result<Folded, LogError> {
        let mut slot = self.readers[partition as usize]
            .lock()
            .map_err(|_| unavailable("reader lock poisoned"))?;
        match from {
            Some(at) => {
                if slot.as_ref().map(|r| r.at) != Some(at) {
                    self.place(&mut slot, partition, at, None)?;
                }
            }
            None => {
                // Called without a cached end (and with the ends locked by `append`).
                let (best, check) = self.start_for(None, partition, u64::MAX);
                let reader_at = slot.as_ref().map(|r| r.at);
                if reader_at.is_none_or(|r| r.kafka_next < best.kafka_next) {
                    self.place(&mut slot, partition, best, check)?;
                }
            }
        }
        let start = slot.as_ref().expect("reader placed").at;
        if low > start.kafka_next {
            return Err(LogError::Storage(format!(
                "partition {partition} lost its first {low} records to retention; the chain cannot be checked"
            )));
        }
        // The broker must keep delivering, not deliver everything within one timeout: a node
        // without an index folds a partition of a long history from its first record.
        let mut deadline = Instant::now() + self.config.op_timeout();
        let mut broker_error = None;
        while slot.as_ref().expect("reader placed").at.kafka_next < kafka_end {
            let wait = deadline.saturating_duration_since(Instant::now());
            if wait.is_zero() {
                return Err(broker_error.unwrap_or_else(|| {
                    unavailable(format!(
                        "partition {partition}: the records before Kafka offset {kafka_end} did not arrive"
                    ))
                }));
            }
            let polled = slot.as_ref().expect("reader placed").consumer.poll(wait);
            match polled {
                None => {}
                Some(Err(KafkaError::PartitionEOF(_))) => {
                    self.stale_point_at_end(&mut slot, partition)?;
                }
                Some(Err(e)) if transient(&e) => broker_error = Some(unavailable(e)),
                Some(Err(e)) => {
                    *slot = None;
                    return Err(unavailable(e));
                }
                Some(Ok(m)) => {
                    deadline = Instant::now() + self.config.op_timeout();
                    let (offset, value) = (m.offset(), m.payload().unwrap_or_default().to_vec());
                    drop(m);
                    let events = self.fold_polled(&mut slot, partition, offset, &value)?;
                    let reader = slot.as_mut().expect("reader placed");
                    reader.pending.extend(events);
                    if reader.pending.len() > MAX_PENDING {
                        reader.pending.clear();
                    }
                }
            }
        }
        Ok(slot.as_ref().expect("reader placed").at)
    }

    /// Reads the partition's end from the broker: the chain folded to the last record.
    fn fetch_head(&self, partition: u32) -> Result<Folded, LogError> {
        let (low, high) = self.watermarks(partition)?;
        if high <= 0 {
            return Ok(Folded::start());
        }
        self.fold_until(partition, None, low, high)
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
        let cached = self.cached(partition);
        let known_end = cached.map(|f| f.head.next_offset);
        let behind = stored || known_end.is_some_and(|end| end > from);
        let mut slot = self.readers[partition as usize]
            .lock()
            .map_err(|_| unavailable("reader lock poisoned"))?;
        let fresh =
            !matches!(&*slot, Some(r) if r.next_offset() <= from && from <= r.at.head.next_offset);
        if fresh {
            let (at, check) = self.start_for(cached, partition, from);
            self.place(&mut slot, partition, at, check)?;
        }
        let mut out = Vec::new();
        {
            let reader = slot.as_mut().expect("reader placed");
            while reader.pending.front().is_some_and(|e| e.offset < from) {
                reader.pending.pop_front();
            }
            while out.len() < max {
                match reader.pending.pop_front() {
                    Some(e) => out.push(e),
                    None => break,
                }
            }
        }
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
            let polled = slot.as_ref().expect("reader placed").consumer.poll(wait);
            match polled {
                None => break,
                // The broker answered: errors queued before do not matter.
                Some(Err(KafkaError::PartitionEOF(_))) => {
                    broker_error = None;
                    if self.stale_point_at_end(&mut slot, partition)? {
                        continue;
                    }
                    // Before any of the events a stored read asks for, an end-of-partition is
                    // one queued before they arrived: keep waiting for them. A fresh reader
                    // folding from an index point towards `from` has not reached them either.
                    let folding = slot.as_ref().is_some_and(|r| r.at.head.next_offset <= from);
                    if out.is_empty()
                        && (stored || (folding && known_end.is_some_and(|end| end > from)))
                    {
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
                    let (offset, value) = (m.offset(), m.payload().unwrap_or_default().to_vec());
                    drop(m);
                    let events = match self.fold_polled(&mut slot, partition, offset, &value) {
                        Ok(events) => events,
                        Err(e) => {
                            *slot = None;
                            return Err(e);
                        }
                    };
                    let reader = slot.as_mut().expect("reader placed");
                    for e in events {
                        if e.offset < from {
                            continue;
                        }
                        if out.len() < max {
                            out.push(e);
                        } else {
                            reader.pending.push_back(e);
                        }
                    }
                    if !fresh && known_end.is_some_and(|end| reader.at.head.next_offset >= end) {
                        deadline = Instant::now();
                    } else if out.is_empty() && reader.at.head.next_offset < from {
                        // Still folding towards `from`: the broker is delivering, keep waiting.
                        deadline = deadline.max(Instant::now() + self.config.op_timeout());
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

    /// Durable on return: one record per partition, acknowledged by the broker with
    /// `acks=all`, and accepted on the chain (see the module's documentation: a record that
    /// lands after another writer's accepted record is not, and the call fails).
    fn append(&self, events: &[StoredEvent]) -> Result<(), LogError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut heads = self
            .heads
            .lock()
            .map_err(|_| unavailable("log lock poisoned"))?;
        let mut by_partition: BTreeMap<u32, Vec<&StoredEvent>> = BTreeMap::new();
        for e in events {
            if e.partition >= self.partitions {
                return Err(LogError::NoSuchPartition(e.partition));
            }
            if e.bytes.contains(&b'\n') {
                return Err(LogError::Storage(format!(
                    "event {}:{} holds a newline: it is not a sealed event",
                    e.partition, e.offset
                )));
            }
            by_partition.entry(e.partition).or_default().push(e);
        }
        // Each partition's batch must continue this writer's end of the chain.
        let mut ends = BTreeMap::new();
        for (&p, batch) in &by_partition {
            let at = match heads[p as usize] {
                Some(at) => at,
                None => {
                    let at = self.fetch_head(p)?;
                    heads[p as usize] = Some(at);
                    at
                }
            };
            for (next, e) in (at.head.next_offset..).zip(batch.iter()) {
                if e.offset != next {
                    return Err(LogError::NotDense {
                        partition: p,
                        offset: e.offset,
                        expected: next,
                    });
                }
            }
            if stored_prev_hash(&batch[0].bytes) != Some(at.head.last_hash) {
                return Err(LogError::Storage(format!(
                    "event {p}:{} does not follow the partition's last event",
                    batch[0].offset
                )));
            }
            ends.insert(p, at);
        }
        // Each partition's events go out as records of whole commands, at most
        // `max_record_bytes` each (a command larger than that is one record of its own); one
        // producer sends them in order, so they land in order.
        let producer = self.producer();
        let mut deliveries = Vec::new();
        for (&p, batch) in &by_partition {
            for chunk in records(batch, self.config.max_record_bytes) {
                let value = chunk
                    .iter()
                    .map(|e| e.bytes.as_slice())
                    .collect::<Vec<_>>()
                    .join(&b'\n');
                let key = p.to_be_bytes();
                let record = FutureRecord::to(&self.config.topic)
                    .partition(p as i32)
                    .key(&key)
                    .payload(&value);
                let delivery = producer
                    .send_result(record)
                    .map_err(|(err, _)| unavailable(err))?;
                deliveries.push((p, chunk, delivery));
            }
        }
        let mut failure = None;
        let mut failed = std::collections::BTreeSet::new();
        for (p, chunk, delivery) in deliveries {
            let landed = match block_on(delivery) {
                Ok(Ok(d)) => d.offset,
                Ok(Err((err, _))) => {
                    failure.get_or_insert(unavailable(err));
                    failed.insert(p);
                    continue;
                }
                Err(_) => {
                    failure.get_or_insert(unavailable("delivery cancelled"));
                    failed.insert(p);
                    continue;
                }
            };
            // A record after a failed one of its partition follows nothing on the chain.
            if failed.contains(&p) {
                continue;
            }
            let at = ends[&p];
            // Another writer's records landed between this writer's end and its record: its
            // record is on the chain only if none of them was.
            let accepted = landed == at.kafka_next
                || (landed > at.kafka_next
                    && match self.fold_until(p, Some(at), 0, landed) {
                        Ok(seen) => seen.head == at.head,
                        Err(e) => {
                            failure.get_or_insert(e);
                            failed.insert(p);
                            continue;
                        }
                    });
            if !accepted {
                tracing::warn!(
                    partition = p,
                    kafka_offset = landed,
                    "another writer extended the partition first; this writer's record is not on the chain"
                );
                failure.get_or_insert(LogError::NotDense {
                    partition: p,
                    offset: chunk[0].offset,
                    expected: chunk[0].offset + 1,
                });
                failed.insert(p);
                continue;
            }
            let last = chunk.last().expect("non-empty record");
            let end = Folded {
                head: PartitionHead {
                    next_offset: last.offset + 1,
                    last_hash: stored_hash(&last.bytes).ok_or_else(|| {
                        LogError::Storage(format!("event {p}:{} is not sealed", last.offset))
                    })?,
                },
                kafka_next: landed + 1,
            };
            ends.insert(p, end);
            heads[p as usize] = Some(end);
            self.index.note(
                p,
                ChainPoint {
                    first: at.head.next_offset,
                    kafka_offset: landed,
                    prev_hash: at.head.last_hash,
                },
            );
        }
        for p in &failed {
            heads[*p as usize] = None;
        }
        match failure {
            Some(err) => {
                self.renew_producer_if_fatal();
                Err(err)
            }
            None => Ok(()),
        }
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
        if let Some(at) = self.cached(partition) {
            return Ok(at.head);
        }
        let at = self.fetch_head(partition)?;
        self.heads
            .lock()
            .map_err(|_| unavailable("log lock poisoned"))?[partition as usize] = Some(at);
        Ok(at.head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(offset: u64, command: &str, pad: usize) -> StoredEvent {
        StoredEvent {
            partition: 0,
            offset,
            bytes: format!(
                r#"{{"event_id":"e{offset}","command_id":"{command}","pad":"{}"}}"#,
                "x".repeat(pad)
            )
            .into_bytes(),
        }
    }

    fn split(batch: &[StoredEvent], max: usize) -> Vec<Vec<u64>> {
        let refs: Vec<&StoredEvent> = batch.iter().collect();
        records(&refs, max)
            .into_iter()
            .map(|r| r.iter().map(|e| e.offset).collect())
            .collect()
    }

    #[test]
    fn records_hold_whole_commands_within_the_size_limit() {
        let batch = [
            event(0, "a", 10),
            event(1, "a", 10),
            event(2, "b\\\"q", 10),
            event(3, "c", 10),
            event(4, "c", 10),
            event(5, "c", 10),
        ];
        let one = batch[0].bytes.len() + 1;
        // Everything fits: one record.
        assert_eq!(split(&batch, 100 * one), vec![vec![0, 1, 2, 3, 4, 5]]);
        // Room for two events: commands are never cut, a longer one goes alone.
        assert_eq!(
            split(&batch, 2 * one + 2),
            vec![vec![0, 1], vec![2], vec![3, 4, 5]]
        );
        // Room for three: a and b share a record.
        assert_eq!(
            split(&batch, 3 * one + 3),
            vec![vec![0, 1, 2], vec![3, 4, 5]]
        );
        assert_eq!(stored_command_id(&batch[2].bytes), br#"b\"q"#);
    }
}
