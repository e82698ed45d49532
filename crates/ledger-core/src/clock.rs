//! The clock port. Core's rules never read a clock ("now" is a parameter); the edges that need
//! the wall clock (the API's "now" of listFee, the BaaS default window, `req-time` checks and a
//! command's `issued_at`) read it through this trait, so the system clock is wired in one place
//! (the binary) and tests can fix it.

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync {
    /// The current instant.
    fn now_utc(&self) -> DateTime<Utc>;
}

/// A clock that always reads the same instant (tests, and tools that evaluate "as of" a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now_utc(&self) -> DateTime<Utc> {
        self.0
    }
}
