//! The event-log port: what the decider and the projector need from a log. Adapters (the
//! embedded segment log, Kafka) implement it; core only names it.

use crate::envelope::Sha256Hash;

/// One stored event: its place and its sealed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub partition: u32,
    pub offset: u64,
    pub bytes: Vec<u8>,
}

/// The end of a partition: the next offset to write and the hash the next event must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionHead {
    pub next_offset: u64,
    pub last_hash: Sha256Hash,
}

impl Default for PartitionHead {
    fn default() -> Self {
        PartitionHead {
            next_offset: 0,
            last_hash: Sha256Hash::GENESIS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("log storage failed: {0}")]
    Storage(String),
    #[error("append at {partition}:{offset} does not continue the partition (next is {expected})")]
    NotDense {
        partition: u32,
        offset: u64,
        expected: u64,
    },
    #[error("partition {0} does not exist")]
    NoSuchPartition(u32),
    #[error("log unavailable: {0}")]
    Unavailable(String),
    /// The log is set up in a way the ledger refuses to run on (e.g. a Kafka event topic that
    /// deletes old events); the message says how to fix it.
    #[error("log misconfigured: {0}")]
    Misconfigured(String),
}

/// An append-only, partitioned, durable event log.
pub trait EventLog: Send + Sync {
    /// Number of partitions.
    fn partitions(&self) -> u32;

    /// Appends sealed events (any partitions, each partition's offsets dense and continuing its
    /// head). Returns only once the events are durable: after a crash they are all there, in
    /// order. Either every event of the call is stored or none is.
    fn append(&self, events: &[StoredEvent]) -> Result<(), LogError>;

    /// Reads up to `max` events of `partition` from `from` on, in offset order.
    fn read(&self, partition: u32, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError>;

    /// Like `read`, for events the caller knows are stored (a command's recorded offsets): a
    /// log whose reads may return before a remote fetch arrives (Kafka) waits for them instead
    /// of returning what happens to be fetched.
    fn read_stored(
        &self,
        partition: u32,
        from: u64,
        max: usize,
    ) -> Result<Vec<StoredEvent>, LogError> {
        self.read(partition, from, max)
    }

    /// The head of a partition.
    fn head(&self, partition: u32) -> Result<PartitionHead, LogError>;

    /// Drops any cached head of `partition`, so the next `head` reads the log itself (another
    /// process may have written to the partition since).
    fn forget_head(&self, _partition: u32) {}
}
