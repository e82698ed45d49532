//! `ingest-kafka`: N mixed command envelopes produced to the command topic, decided by the
//! Kafka engine's decider (consumer group, group commit into the event topic with an idempotent
//! `acks=all` producer) and projected from the event topic into sled, until every event is
//! projected. Baseline: raw rdkafka produce → consume of the same messages (same keys, sizes
//! and partitions, same producer settings) through the same broker.

use super::{BenchArgs, Scratch, median, per_second, report, workload};
use crate::engine::kafka::{KafkaEngine, KafkaMode};
use ledger_api::bus::CommandBus;
use ledger_log::KafkaConfig;
use ledger_store::ReadStore;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A message: partition, key, payload.
type Msg = (i32, Vec<u8>, Vec<u8>);

fn producer(config: &KafkaConfig) -> anyhow::Result<ThreadedProducer<DefaultProducerContext>> {
    Ok(config
        .client()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "1")
        .set("message.timeout.ms", "30000")
        .create()?)
}

/// Waits until the producer's metadata shows every partition of `topic` (a topic created
/// through the admin API reaches the client's metadata a little later).
fn await_partitions(
    producer: &ThreadedProducer<DefaultProducerContext>,
    topic: &str,
    partitions: usize,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let known = producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .ok()
            .and_then(|m| m.topics().first().map(|t| t.partitions().len()))
            .unwrap_or(0);
        if known >= partitions {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "topic {topic} shows {known} partitions"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Produces every message, retrying while the local queue is full, then waits for delivery.
fn produce_all(
    producer: &ThreadedProducer<DefaultProducerContext>,
    topic: &str,
    msgs: &[Msg],
) -> anyhow::Result<()> {
    let partitions = msgs.iter().map(|m| m.0 as usize + 1).max().unwrap_or(0);
    await_partitions(producer, topic, partitions)?;
    for (partition, key, payload) in msgs {
        let mut record = BaseRecord::to(topic)
            .partition(*partition)
            .key(key.as_slice())
            .payload(payload.as_slice());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((e, back)) => {
                    if e.rdkafka_error_code() != Some(rdkafka::types::RDKafkaErrorCode::QueueFull) {
                        anyhow::bail!("produce failed: {e}");
                    }
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(60))?;
    Ok(())
}

/// Raw produce → consume of `msgs` on `topic`: a consumer assigned to every partition from the
/// beginning reads while the producer writes; done when all are consumed.
fn raw_round(config: &KafkaConfig, topic: &str, msgs: &[Msg]) -> anyhow::Result<Duration> {
    ledger_log::kafka::ensure_topic(
        config,
        topic,
        config.partitions,
        ledger_log::kafka::TopicRole::Commands,
    )?;
    let consumer: BaseConsumer = config
        .client()
        .set("group.id", format!("{topic}-reader"))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..config.partitions as i32 {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    let producer = producer(config)?;
    await_partitions(&producer, topic, config.partitions as usize)?;
    let start = Instant::now();
    let expected = msgs.len();
    let reader = std::thread::spawn(move || -> anyhow::Result<()> {
        let mut seen = 0;
        let deadline = Instant::now() + Duration::from_secs(600);
        while seen < expected {
            anyhow::ensure!(Instant::now() < deadline, "consumed {seen} of {expected}");
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    std::hint::black_box(m.payload());
                    seen += 1;
                }
                Some(Err(e)) => anyhow::bail!("consume failed: {e}"),
                None => {}
            }
        }
        Ok(())
    });
    produce_all(&producer, topic, msgs)?;
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader panicked"))??;
    Ok(start.elapsed())
}

/// Waits until the engine has projected at least `events` events in all, failing when
/// nothing moves for a minute.
fn wait_projected(engine: &KafkaEngine, events: u64) -> anyhow::Result<()> {
    let mut last = (0, Instant::now());
    loop {
        let applied: u64 = engine.applied_positions().iter().sum();
        if applied >= events {
            return Ok(());
        }
        if applied != last.0 {
            last = (applied, Instant::now());
        }
        anyhow::ensure!(
            last.1.elapsed() < Duration::from_secs(60),
            "projection stalled at {applied} of {events} events"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The broker a Kafka scenario runs on: `--kafka`, else librdkafka's mock cluster (kept alive
/// by the returned handle) with `topics` created up front, since the mock cluster auto-creates
/// a topic with its default partition count on the first metadata request. Returns the handle,
/// the bootstrap servers and a description.
pub fn broker(
    args: &BenchArgs,
    topics: &[String],
) -> anyhow::Result<(
    Option<MockCluster<'static, DefaultProducerContext>>,
    String,
    String,
)> {
    if let Some(b) = &args.kafka {
        return Ok((None, b.clone(), format!("broker at {b}")));
    }
    let mock = MockCluster::new(1)?;
    for topic in topics {
        mock.create_topic(topic, args.partitions as i32, 1)?;
    }
    let brokers = mock.bootstrap_servers();
    Ok((
        Some(mock),
        brokers,
        "librdkafka MockCluster (in-process, 1 broker)".to_string(),
    ))
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let n = args.n.unwrap_or(100_000);
    let partitions = args.partitions;
    let tag = format!("bench{}", std::process::id());
    let events_topic = format!("{tag}.events");
    let commands_topic = format!("{tag}.commands");
    let topics: Vec<String> = [events_topic.clone(), commands_topic.clone()]
        .into_iter()
        .chain((0..args.runs.max(1)).map(|r| format!("{tag}.raw{r}")))
        .collect();
    let (_mock, brokers, which) = broker(args, &topics)?;
    println!("ingest-kafka: {n} mixed commands, {partitions} partitions, through {which}");
    let config = KafkaConfig::new(&brokers, &events_topic, partitions);
    // Warm-up command first (group join, topic metadata), then the measured stream.
    let mut envelopes: Vec<Msg> = Vec::with_capacity(n as usize + 1);
    for i in 0..=n {
        let item = workload::item(i);
        let s = workload::submission(&item, true)?;
        let partition = ledger_core::partition_for(&s.meta.key, partitions) as i32;
        let bytes = ledger_wire::command::encode_envelope(&s.meta, item.command_type, &s.body)
            .map_err(|r| anyhow::anyhow!("{r:?}"))?;
        envelopes.push((partition, s.meta.key.into_bytes(), bytes));
    }
    let (warm, measured) = envelopes.split_at(1);
    let sizes: usize = measured.iter().map(|m| m.2.len()).sum();
    println!(
        "  mean command envelope {} bytes",
        sizes / measured.len().max(1)
    );

    let mut baseline = Vec::new();
    for r in 0..args.runs.max(1) {
        let elapsed = raw_round(&config, &format!("{tag}.raw{r}"), measured)?;
        baseline.push(per_second(n, elapsed));
    }

    let scratch = Scratch::new(args, "kafka")?;
    let store = Arc::new(ReadStore::open(&scratch.path().join("store"))?);
    let mode = KafkaMode {
        log: config.clone(),
        commands_topic: commands_topic.clone(),
        group: format!("{tag}-deciders"),
        zone: ledger_api::host_timezone(),
    };
    let engine = KafkaEngine::start(mode, store.clone(), Arc::new(ledger_api::Metrics::new()))?;
    let producer = producer(&config)?;
    produce_all(&producer, &commands_topic, warm)?;
    wait_projected(&engine, 1)?;
    let before: u64 = engine.applied_positions().iter().sum();
    let start = Instant::now();
    produce_all(&producer, &commands_topic, measured)?;
    wait_projected(&engine, before + n)?;
    let elapsed = start.elapsed();
    let last = workload::submission(&workload::item(n), false)?;
    anyhow::ensure!(
        store.command_record(&last.meta.command_id)?.is_some(),
        "the last command's outcome is not queryable"
    );
    let events: u64 = engine.applied_positions().iter().sum::<u64>() - before;
    engine.shutdown()?;
    println!("  engine: {n} commands → {events} events projected in {elapsed:.2?}");
    report(
        (
            "events/s: produce → decide → append (acks=all) → project, queryable",
            per_second(events, elapsed),
        ),
        (
            &format!(
                "msgs/s: raw rdkafka produce → consume, same messages, median of {}",
                args.runs
            ),
            median(baseline),
        ),
        "≥ 0.5",
    );
    Ok(())
}
