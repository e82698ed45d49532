//! ledger-log: adapters of the `EventLog` port. The embedded sled log is the default; the
//! conformance suite checks any implementation against the same contract.

pub mod conformance;
pub mod embedded;
pub mod kafka;

pub use embedded::EmbeddedLog;
pub use kafka::{KafkaConfig, KafkaLog};
