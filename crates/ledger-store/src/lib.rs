//! ledger-store: the read models and the decider state (redb; sled for stores written before,
//! see `kv`). The projector folds events into one ordered map of rows and stores
//! each partition's applied position in the same atomic batch (invariant 4); the query functions
//! read the models back, and `ReadStore` implements core's `ReadModels` port with them.

pub mod baas;
pub mod callcenter;
mod decider_state;
pub mod keys;
mod kv;
pub mod property;
mod read_models;
mod store;
pub mod utility;

pub use decider_state::DeciderState;
pub use kv::{DURABLE_EVERY_MS, Engine};
pub use store::{DEFAULT_CACHE_BYTES, Overlay, ReadStore, Row, StoreError};
