//! What the call-center decider needs from earlier events: the tariffs (to rate calls and check
//! edits) and every recorded call id (a repeated call id is ignored).

use super::events::*;
use super::tariff::Tariff;
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallCenterState {
    pub tariffs: BTreeMap<u64, Tariff>,
    pub call_ids: HashSet<String>,
}

impl CallCenterState {
    pub fn put_tariff(&mut self, tariff: &Tariff) {
        self.tariffs.insert(tariff.tariff_id, tariff.clone());
    }

    pub fn record_calls(&mut self, event: &CallsRecorded) {
        self.call_ids
            .extend(event.calls.iter().map(|c| c.call.call_id.clone()));
    }
}
