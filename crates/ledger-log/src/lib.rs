//! ledger-log: adapters of the `EventLog` port. The embedded log of a data directory is the
//! segment log (`segment.rs`); the sled log it replaced stays only as the source of `ledger
//! migrate` and as a benchmark candidate; the conformance suite checks any implementation
//! against the same contract.

pub mod conformance;
pub mod kafka;
pub mod kafka_index;
pub mod segment;
pub mod sled_log;

pub use kafka::{KafkaConfig, KafkaLog};
pub use segment::{LogFormat, SegmentLog, SegmentOptions, log_format};
pub use sled_log::SledLog;

/// The embedded log every data directory uses: the segment log.
pub type EmbeddedLog = SegmentLog;

/// The partition count to open an embedded log in `dir` with: the count it was created with
/// (`stored`), else `create_with` for a new log; without `create_with` the log must exist.
pub(crate) fn partitions_to_open(
    dir: &std::path::Path,
    stored: Option<u32>,
    create_with: Option<u32>,
) -> Result<u32, ledger_core::log::LogError> {
    stored.or(create_with).ok_or_else(|| {
        ledger_core::log::LogError::Storage(format!("no event log in {}", dir.display()))
    })
}
