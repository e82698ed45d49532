//! ledger-wire: the seeds' wire formats. Request bodies are decoded field by field into typed
//! core commands (a missing or malformed field becomes a `Rejection` naming it); replies are built
//! in each family's envelope; `codes` is the one table from rejections to each family's
//! code and message.

pub mod baas;
pub mod callcenter;
pub mod codes;
pub mod command;
pub mod fields;
pub mod property;
pub mod utility;

pub use fields::Fields;
