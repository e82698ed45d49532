//! The system clock behind core's `Clock` port: the one wall clock the API reads "now" from.

use chrono::{DateTime, Utc};

pub struct SystemClock;

impl ledger_core::Clock for SystemClock {
    fn now_utc(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
