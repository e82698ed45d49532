//! Call records (CDRs, `POST /api/bill/calls`): not in the seed, needed to bill. Each call is
//! rated when it is recorded, against the tariff that covers its DID at its start time, so the
//! `calls.recorded` event carries the rating and the read models only add.

use super::events::CallsRecorded;
use super::rating::{RatedCall, rate_call};
use super::state::CallCenterState;
use super::tariff::{CallFeeRule, Tariff, did_specificity};
use crate::event::Event;
use crate::rejection::Rejection;
use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// One call detail record as the switch reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CallRecord {
    /// Unique per call; a call id already recorded is ignored.
    pub call_id: String,
    /// The DID (virtual number) the call used; selects the tariff.
    pub did: String,
    /// 线路编号 of the line the call went out on (recorded, not used for rating).
    pub line_prefix: String,
    pub city_id: i64,
    pub workplace_id: i64,
    pub operator_code: i64,
    pub bg: String,
    pub bu: String,
    pub business_line: String,
    /// 话务类型; selects the tariff's call-fee rule.
    pub call_type: String,
    /// 号码类型.
    pub number_type: String,
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub start_time: NaiveDateTime,
    pub duration_s: u32,
}

/// `calls.record`: a batch of calls of one city (the HTTP edge splits batches spanning cities).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallsRecord {
    pub city_id: i64,
    pub calls: Vec<CallRecord>,
}

/// A recorded call with its rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RatedCallRecord {
    #[serde(flatten)]
    pub call: CallRecord,
    /// The tariff that rated it.
    pub tariff_id: u64,
    /// Billable units.
    pub units: u32,
    /// Billed duration, units × unit length.
    pub weight_duration_s: u32,
    /// Fee in yuan, 4 decimals.
    pub fee: Decimal,
}

impl RatedCallRecord {
    pub fn rated(&self) -> RatedCall {
        RatedCall {
            units: self.units,
            weight_duration_s: self.weight_duration_s,
            fee: self.fee,
        }
    }
}

/// A call no tariff could rate. It is not recorded, so the same call id can be sent again once
/// a tariff covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnratedCall {
    pub call_id: String,
    pub reason: String,
}

/// The tariff and rule that rate `call`: among the city's tariffs whose DID segment covers the
/// call's DID, the enabled ones in force at the call's start with a rule for its call type; the
/// most specific segment wins, then the latest take-effect time, then the smallest id.
pub fn select_tariff<'a>(
    tariffs: impl Iterator<Item = &'a Tariff>,
    call: &CallRecord,
) -> Result<(&'a Tariff, &'a CallFeeRule), String> {
    let covering: Vec<(usize, &Tariff)> = tariffs
        .filter(|t| t.city_id == call.city_id)
        .filter_map(|t| did_specificity(&t.did, &call.did).map(|s| (s, t)))
        .collect();
    if covering.is_empty() {
        return Err(format!(
            "no tariff covers did {} in city {}",
            call.did, call.city_id
        ));
    }
    let in_force: Vec<&(usize, &Tariff)> = covering
        .iter()
        .filter(|(_, t)| t.rates_at(call.start_time))
        .collect();
    if in_force.is_empty() {
        return Err(format!(
            "no tariff covering did {} is enabled and in force at {}",
            call.did,
            crate::time::Business(call.start_time)
        ));
    }
    in_force
        .iter()
        .filter_map(|(s, t)| t.rule_for(&call.call_type).map(|r| (*s, *t, r)))
        .max_by(|(sa, ta, _), (sb, tb, _)| {
            sa.cmp(sb)
                .then(ta.take_effect_time.cmp(&tb.take_effect_time))
                .then(tb.tariff_id.cmp(&ta.tariff_id))
        })
        .map(|(_, t, r)| (t, r))
        .ok_or_else(|| {
            let ids: Vec<String> = in_force
                .iter()
                .map(|(_, t)| t.tariff_id.to_string())
                .collect();
            format!(
                "tariff {} has no rule for call_type {}",
                ids.join(","),
                call.call_type
            )
        })
}

/// `calls.record`: rates each new call; call ids already recorded (earlier or in this batch)
/// are listed as duplicates, calls no tariff rates as unrated. The batch is recorded even when
/// nothing in it was new, as the receipt of what arrived and what was ignored.
pub fn decide_record(
    state: &CallCenterState,
    batch: &CallsRecord,
) -> Result<Vec<Event>, Rejection> {
    if batch.calls.is_empty() {
        return Err(Rejection::missing(
            "calls",
            "calls must hold at least one call",
        ));
    }
    if let Some((i, call)) = batch
        .calls
        .iter()
        .enumerate()
        .find(|(_, c)| c.city_id != batch.city_id)
    {
        return Err(Rejection::invalid(
            &format!("calls[{i}].city_id"),
            format!(
                "calls[{i}].city_id {} differs from the batch's city {}; one command carries the calls of one city",
                call.city_id, batch.city_id
            ),
        ));
    }
    let mut seen: HashSet<&str> = HashSet::new();
    let mut event = CallsRecorded {
        city_id: batch.city_id,
        calls: Vec::new(),
        duplicates: Vec::new(),
        unrated: Vec::new(),
    };
    for call in &batch.calls {
        if state.call_ids.contains(&call.call_id) || !seen.insert(&call.call_id) {
            event.duplicates.push(call.call_id.clone());
            continue;
        }
        match select_tariff(state.tariffs.values(), call) {
            Ok((tariff, rule)) => {
                let rated = rate_call(rule, call.duration_s);
                event.calls.push(RatedCallRecord {
                    call: call.clone(),
                    tariff_id: tariff.tariff_id,
                    units: rated.units,
                    weight_duration_s: rated.weight_duration_s,
                    fee: rated.fee,
                });
            }
            Err(reason) => {
                // Not recorded: the id stays free for a resend once a tariff covers the call.
                event.unrated.push(UnratedCall {
                    call_id: call.call_id.clone(),
                    reason,
                });
            }
        }
    }
    Ok(vec![event.into()])
}
