//! Call-center billing (seed 003, the 58.com 天语 billing center; DESIGN §6.2): tariffs, call
//! rating, per-line settlement, operator-vs-system verification and cost-center sharing.
//! Partition key `city:{city_id}` (cost-center mappings, which belong to no city, use
//! `cost_center:{bg}/{bu}`).
//!
//! Write side: `tariffs`, `calls`, `operator_bill`, `cost_center` decide the commands; calls are
//! rated when they are recorded, so the `calls.recorded` event carries every call's units,
//! weight and fee and the read side only adds. Read side: `report` turns the projected
//! aggregates into the seed's query rows (operator bills, business lines, verify, share).
//!
//! # Rounding (every choice, in one place)
//!
//! All rounding is half-up (midpoints away from zero) through [`half_up`]:
//! - a call's fee: 4 decimals ([`rating::rate_call`]), so thousands of sub-fen calls add up
//!   without drift; the call summary shows these sums unrounded (4 decimals);
//! - a line's bill per period: usage rounded once to 2 decimals, then the threshold discount
//!   (2 decimals), minimum charge and fixed fees at 2 decimals ([`billing::settle`]);
//! - business-line `fee` and `fee_after_discount`: the 4-decimal sums rounded to 2, the line's
//!   discount split across business lines by fee with [`share::allocate`];
//! - shares: 2 decimals, the remainder on the largest share so shares sum exactly
//!   ([`share::allocate`]);
//! - signed percentage differences: 2 decimals ([`verify::signed_percent_diff`]).
//!
//! # Bill period
//!
//! A bill period is a calendar month; `bill_date` is shown as the month's first day
//! (`2022-03-01`). Fixed fees (month rent…) and the minimum charge are monthly, which is why.

pub mod billing;
pub mod calls;
pub mod cost_center;
pub mod events;
pub mod operator_bill;
pub mod rating;
pub mod report;
pub mod share;
pub mod state;
pub mod tariff;
pub mod tariffs;
pub mod verify;

pub use calls::{CallRecord, CallsRecord, RatedCallRecord, UnratedCall};
pub use cost_center::CostCenterAssign;
pub use events::*;
pub use operator_bill::OperatorBill;
pub use state::CallCenterState;
pub use tariffs::{TariffChanges, TariffEdit, TariffSetState};

pub use billing::{LineBill, Settlement, minimum_charge, settle};
pub use rating::{RatedCall, rate_call};
pub use share::allocate;
pub use tariff::{
    CallFeeRule, DEFAULT_BILLING_UNIT_S, DiscountRule, Scalar, Tariff, TariffError,
    decode_call_fee_rule, decode_discount_rule,
};
pub use verify::signed_percent_diff;

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

/// Half-up rounding as accountants mean it: midpoints move away from zero,
/// so -0.005 becomes -0.01 just as 0.005 becomes 0.01.
pub fn half_up(value: Decimal, dp: u32) -> Decimal {
    value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// The partition key of a city.
pub fn city_key(city_id: i64) -> String {
    format!("city:{city_id}")
}

/// The partition key of a cost-center mapping: all assignments of one BG/BU stay in order.
pub fn cost_center_key(bg: &str, bu: &str) -> String {
    format!("cost_center:{bg}/{bu}")
}

/// The bill period (calendar month, shown as its first day) a date falls in.
pub fn bill_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("day 1 exists in every month")
}

/// The last day of the month starting at `month`.
pub fn month_last_day(month: NaiveDate) -> NaiveDate {
    month
        .checked_add_months(Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

/// Serde for an optional business time (`yyyy-MM-dd HH:mm:ss` or null).
pub mod opt_business_time {
    use chrono::NaiveDateTime;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        crate::time::business_optional::serialize(t, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        crate::time::business_optional::deserialize(d)
    }

    pub fn schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "null"],
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$",
            "description": "Business time yyyy-MM-dd HH:mm:ss (local, no zone), or null"
        })
    }
}

#[cfg(test)]
mod tests;
