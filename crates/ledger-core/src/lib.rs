//! ledger-core: the pure rules of the fee ledger. Commands, events, state, `decide` and `apply`,
//! money and time. No IO and no clock: "now" is a parameter, so every rule is a plain function
//! that tests can call with any inputs. The ports the adapters implement are traits here:
//! `EventLog` (log), `StateStore` (the decider's rows), `ReadModels` (the query side) and
//! `Clock` (the wall clock the edges read).

pub mod baas;
pub mod callcenter;
pub mod clock;
pub mod command;
pub mod envelope;
pub mod event;
pub mod keyed;
pub mod log;
pub mod money;
pub mod property;
pub mod read;
pub mod rejection;
pub mod state;
pub mod time;
pub mod utility;

pub use clock::{Clock, FixedClock};
pub use command::{Command, DecideContext, decide};
pub use envelope::{
    ChainError, CommandMeta, EventDraft, EventEnvelope, Position, Sha256Hash, partition_for,
    verify_link,
};
pub use event::Event;
pub use log::{EventLog, LogError, PartitionHead, StoredEvent};
pub use money::Money;
pub use read::{CommunityCounts, OutcomeRecord, OutcomeStatus, ReadError, ReadModels};
pub use rejection::{CommandRejected, Rejection};
pub use state::State;
