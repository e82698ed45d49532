//! Call-center billing (seed 003, the 58.com 天语 billing center; DESIGN §6.2): tariffs, call
//! rating, per-line settlement, operator-vs-system verification and cost-center sharing.
//! Partition key `city:{city_id}`.

pub mod billing;
pub mod rating;
pub mod share;
pub mod tariff;
pub mod verify;

pub use billing::{LineBill, Settlement, minimum_charge, settle};
pub use rating::{RatedCall, rate_call};
pub use share::allocate;
pub use tariff::{
    CallFeeRule, DEFAULT_BILLING_UNIT_S, DiscountRule, Scalar, Tariff, TariffError,
    decode_call_fee_rule, decode_discount_rule,
};
pub use verify::signed_percent_diff;

use rust_decimal::{Decimal, RoundingStrategy};

/// Half-up rounding as accountants mean it: midpoints move away from zero,
/// so -0.005 becomes -0.01 just as 0.005 becomes 0.01.
pub(crate) fn half_up(value: Decimal, dp: u32) -> Decimal {
    value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}
