//! `ledger publish`: sends command envelopes (one JSON object a line, from a file or stdin) to
//! the command topic, each keyed by its partition key (taken from the payload when the envelope
//! has none) with Kafka's murmur2 partitioner, as the nodes expect. A line that is not a valid
//! command envelope is reported with its line number and not published; the exit status is then
//! non-zero. The producer is idempotent with `acks=all`, so a published command is on the
//! broker once the summary is printed.

use crate::audit::progress::Progress;
use anyhow::Context;
use futures_executor::block_on;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::io::BufRead;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Deliveries awaited at a time (they are in flight together; memory stays bounded).
const IN_FLIGHT: usize = 1000;

#[derive(clap::Args, Debug)]
pub struct PublishArgs {
    /// Bootstrap brokers (`host:port,…`).
    #[arg(long, env = "LEDGER_KAFKA")]
    kafka: String,
    /// The command topic the nodes consume.
    #[arg(long, default_value = "fee.commands", env = "LEDGER_COMMANDS_TOPIC")]
    commands_topic: String,
    /// A librdkafka property for the producer, `KEY=VALUE` (repeatable): TLS, SASL….
    #[arg(long = "kafka-property", value_parser = crate::config::parse_property)]
    properties: Vec<(String, String)>,
    /// The JSON-lines file of command envelopes; stdin when absent or `-`.
    file: Option<PathBuf>,
}

/// What a run did.
pub struct Published {
    pub commands: u64,
    pub invalid: u64,
    pub elapsed: Duration,
}

pub fn run(args: &PublishArgs) -> anyhow::Result<Published> {
    let input: Box<dyn BufRead> = match args.file.as_deref() {
        None => Box::new(std::io::stdin().lock()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdin().lock()),
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        )),
    };
    let mut config = ledger_log::KafkaConfig::new(&args.kafka, &args.commands_topic, 1);
    config.properties = args.properties.iter().cloned().collect();
    let producer: FutureProducer = config
        .client()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("partitioner", "murmur2_random")
        .create()
        .context("cannot create the Kafka producer")?;
    let started = Instant::now();
    let mut progress = Progress::counting("publish", 0, "commands");
    let (mut commands, mut invalid) = (0u64, 0u64);
    let mut pending = Vec::with_capacity(IN_FLIGHT);
    for (n, line) in input.lines().enumerate() {
        let line = line.context("cannot read the input")?;
        if line.trim().is_empty() {
            continue;
        }
        let key = match ledger_wire::command::decode_envelope(
            line.as_bytes(),
            None,
            chrono::Utc::now(),
        ) {
            Ok((meta, _)) => meta.key,
            Err(unreadable) => {
                invalid += 1;
                eprintln!(
                    "line {}: not published: {}",
                    n + 1,
                    unreadable.rejection.message()
                );
                continue;
            }
        };
        let delivery = producer
            .send_result(
                FutureRecord::to(&args.commands_topic)
                    .key(&key)
                    .payload(line.as_bytes()),
            )
            .map_err(|(e, _)| e)
            .context("cannot queue a command")?;
        pending.push((n + 1, delivery));
        if pending.len() == IN_FLIGHT {
            commands += wait(&mut pending)?;
            progress.inc(IN_FLIGHT as u64);
        }
    }
    let last = pending.len() as u64;
    commands += wait(&mut pending)?;
    progress.inc(last);
    progress.finish();
    Ok(Published {
        commands,
        invalid,
        elapsed: started.elapsed(),
    })
}

/// Waits for every pending delivery; a refused one stops the run naming its line.
fn wait(pending: &mut Vec<(usize, rdkafka::producer::DeliveryFuture)>) -> anyhow::Result<u64> {
    let count = pending.len() as u64;
    for (line, delivery) in pending.drain(..) {
        match block_on(delivery) {
            Ok(Ok(_)) => {}
            Ok(Err((e, _))) => anyhow::bail!("line {line}: the broker refused the command: {e}"),
            Err(_) => anyhow::bail!("line {line}: the delivery was cancelled"),
        }
    }
    Ok(count)
}
