//! The audit tools (DESIGN §7): replay into a fresh store (also up to a position or a time),
//! export and import, dry runs of commands on a scratch copy. `verify` lives in `verify.rs`.

pub mod dry_run;
pub mod export;
pub mod progress;
pub mod replay;
