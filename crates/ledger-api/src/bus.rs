//! The command-submission port: how the API hands a decoded command to the decider and learns
//! when its outcome is projected. The binary implements it over the embedded log (and later
//! Kafka); the API never sees which.

use ledger_core::{Command, CommandMeta, Position, Rejection};
use std::future::Future;
use std::pin::Pin;
use tokio::time::Instant;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Where a command came from. Refusals of HTTP commands are answered to the caller and not
/// logged (a rejected request appends nothing); refusals of commands read from the command
/// topic are logged as `command.rejected`, the producer's only way to learn the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Http,
    Topic,
}

#[derive(Debug, Clone)]
pub struct Submission {
    pub meta: CommandMeta,
    pub command: Command,
    pub origin: Origin,
    /// The request body as received, for buses that forward the command (Kafka mode publishes
    /// it as the envelope's payload).
    pub body: Vec<u8>,
}

/// The decider's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Decided {
    /// The outcome is in the log, its last event at `last`; `duplicate` when the command id had
    /// been decided before and nothing new was appended.
    Logged { last: Position, duplicate: bool },
    /// Refused and, for HTTP commands, not logged.
    Refused(Rejection),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    #[error("the ledger is unavailable: {0}")]
    Unavailable(String),
    #[error("no decision before the deadline")]
    Timeout,
}

pub trait CommandBus: Send + Sync + 'static {
    /// Resolves once the command is decided and its outcome durable.
    fn submit(&self, submission: Submission) -> BoxFuture<Result<Decided, BusError>>;

    /// Resolves to true once the local projection has applied `position`, false at `deadline`.
    fn wait_projected(&self, position: Position, deadline: Instant) -> BoxFuture<bool>;

    /// The applied position of every partition (next offset to apply).
    fn applied_positions(&self) -> Vec<u64>;

    /// The end of every partition of the log (next offset to write).
    fn log_ends(&self) -> Vec<u64>;

    /// The events of `partition` from `first` to `last` (inclusive), read from the log (a
    /// command's outcome: the read store keeps only where its events are).
    fn read_events(
        &self,
        _partition: u32,
        _first: u64,
        _last: u64,
    ) -> BoxFuture<Result<Vec<ledger_core::EventEnvelope>, BusError>> {
        Box::pin(async { Err(BusError::Unavailable("this node serves no log".into())) })
    }

    /// Whether the projection has caught up with the log as it stood when the node started
    /// (`GET /readyz`).
    fn ready(&self) -> bool {
        true
    }
}

/// Reads and decodes the events `first..=last` of `partition` off the async workers (what
/// `CommandBus::read_events` does for every bus that has a log).
pub fn read_log_events(
    log: std::sync::Arc<dyn ledger_core::EventLog>,
    partition: u32,
    first: u64,
    last: u64,
) -> BoxFuture<Result<Vec<ledger_core::EventEnvelope>, BusError>> {
    Box::pin(async move {
        tokio::task::spawn_blocking(move || {
            // The outcome record says these events exist: they are read as stored events (a
            // Kafka reader waits for them), continuing until the last one.
            let mut stored = Vec::with_capacity((last.saturating_sub(first) + 1) as usize);
            let mut next = first;
            while next <= last {
                let batch = log
                    .read_stored(partition, next, (last - next + 1) as usize)
                    .map_err(|e| BusError::Unavailable(e.to_string()))?;
                let Some(end) = batch.last() else {
                    return Err(BusError::Unavailable(format!(
                        "events {partition}:{next}..={last} are not readable yet"
                    )));
                };
                next = end.offset + 1;
                stored.extend(batch);
            }
            stored
                .iter()
                .map(|e| {
                    ledger_core::EventEnvelope::decode(&e.bytes).map_err(|err| {
                        BusError::Unavailable(format!(
                            "event {partition}:{} cannot be read: {err}",
                            e.offset
                        ))
                    })
                })
                .collect()
        })
        .await
        .map_err(|e| BusError::Unavailable(e.to_string()))?
    })
}
