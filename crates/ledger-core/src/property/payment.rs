//! Paying a fee (upstream `fee.payFee`, `PayFeeCmd`): how far a payment moves the paid-through
//! instant, its receivable, and when it finishes the fee. Underpayment is not refused: the
//! receivable and the received amount are both recorded, as upstream does.

use chrono::{NaiveDateTime, TimeDelta};
use rust_decimal::{Decimal, RoundingStrategy};
use thiserror::Error;

use super::arrears::{FeeTerms, charge_between};
use super::codes::{FeeFlag, FeeState};
use super::time::{add_months, day_compare, exclusive_after};

/// What the payer asked to pay for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayRequest {
    /// A number of months (upstream `cycles`; may be fractional).
    Cycles(Decimal),
    /// Upstream cycles = -101: a sum of money, converted to months.
    Amount(Decimal),
    /// Upstream cycles = -103: pay up to this inclusive end (caller applies the 23:59:59 rule).
    UpTo(NaiveDateTime),
    /// Upstream cycles = -105: pay for a custom period; the time between the paid-through date
    /// and `start` becomes a new fee that is still owed.
    Period {
        /// customStartTime (a date: 00:00:00).
        start: NaiveDateTime,
        /// customEndTime, inclusive.
        end: NaiveDateTime,
    },
}

/// The gap a -105 payment leaves unpaid: a new fee from `start` (the old paid-through date) with
/// the inclusive `deadline` just before the custom start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub start: NaiveDateTime,
    pub deadline: NaiveDateTime,
}

/// The effect of an accepted payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayOutcome {
    /// Where the paid period begins: the paid-through instant before this payment, or the
    /// custom start of a -105 payment.
    pub paid_from: NaiveDateTime,
    /// The new exclusive paid-through instant.
    pub new_paid_through: NaiveDateTime,
    /// Months paid, 4 dp (for -101/-103/-105: received ÷ price, as upstream records them).
    pub cycles: Decimal,
    /// 应收金额: what is due for this payment.
    pub receivable: Decimal,
    /// The fee is paid past its max end (one-off: always) and moves to state 2009001.
    pub finished: bool,
    /// Set by a -105 payment that starts after the paid-through date.
    pub gap: Option<Gap>,
}

/// Refusals, displayed with upstream's messages because clients match on them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PayError {
    #[error("收费已经结束，不能再缴费")]
    Finished,
    #[error("缴费周期超过 缴费结束时间,请用按结束时间方式缴费")]
    PastDeadline,
    #[error("缴费超过了 费用项结束时间")]
    PastMaxEnd,
    #[error("缴费周期或金额错误")]
    InvalidCycles,
    #[error(
        "自定义缴费时间段无效 (customStartTime must not be before the paid-through date, nor customEndTime before customStartTime)"
    )]
    InvalidPeriod,
}

/// Money half-even to `places` (upstream `setScale(n, ROUND_HALF_EVEN)` in PayFeeCmd).
fn half_even(x: Decimal, places: u32) -> Decimal {
    x.round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven)
}

/// Works out a payment against `terms`; the caller persists the outcome. `receivable_given` is
/// the request's receivableAmount (a manual reduction), used for -101/-103/-105 as upstream.
pub fn pay(
    terms: &FeeTerms,
    req: &PayRequest,
    received: Decimal,
    receivable_given: Option<Decimal>,
) -> Result<PayOutcome, PayError> {
    // A not-chargeable fee has nothing to pay; upstream finishes such fees, so refuse alike.
    if terms.state == FeeState::Finished || terms.fee_flag == FeeFlag::NotChargeable {
        return Err(PayError::Finished);
    }
    let from = terms.paid_through;
    let price = terms.monthly_price;
    // received ÷ price, 4 dp half-even: the months upstream records for -101/-103/-105.
    let months_bought = || {
        if price <= Decimal::ZERO {
            return Err(PayError::InvalidCycles);
        }
        Ok(half_even(received / price, 4))
    };
    // -101/-103/-105: the receivable is the request's, else the quote; never below received.
    let stated = |quote: Decimal| receivable_given.unwrap_or(quote).max(received);
    let (paid_from, end_inclusive, cycles, receivable, gap) = match req {
        PayRequest::Cycles(months) => {
            if *months <= Decimal::ZERO {
                return Err(PayError::InvalidCycles);
            }
            // Upstream: endTime + (int) cycles months may not pass the deadline + 1 day.
            let whole = months.trunc();
            let stepped = add_months(from, whole);
            if terms.fee_flag != FeeFlag::OneOff && stepped > terms.deadline + TimeDelta::days(1) {
                return Err(PayError::PastDeadline);
            }
            let end = if terms.fee_flag == FeeFlag::OneOff {
                terms.deadline
            } else {
                let after = add_months(from, *months);
                if after > terms.deadline {
                    terms.deadline
                } else {
                    after - TimeDelta::seconds(1)
                }
            };
            let receivable = if terms.rent_rate.is_some() {
                terms
                    .rounding
                    .apply(charge_between(terms, from, end, *months))
            } else {
                half_even(*months * price, 2)
            };
            (from, end, *months, receivable, None)
        }
        PayRequest::Amount(amount) => {
            if *amount <= Decimal::ZERO {
                return Err(PayError::InvalidCycles);
            }
            if price <= Decimal::ZERO {
                return Err(PayError::InvalidCycles);
            }
            let months = half_even(*amount / price, 4);
            let end = add_months(from, months) - TimeDelta::seconds(1);
            (from, end, months, stated(*amount), None)
        }
        PayRequest::UpTo(end) => {
            if exclusive_after(*end) <= from {
                return Err(PayError::InvalidCycles);
            }
            // Upstream's quote (getFeePrice with custEndTime): price × months from the
            // paid-through date to the end's date at 00:00.
            let quote_months = day_compare(from, end.date().and_time(chrono::NaiveTime::MIN));
            let quote = terms
                .rounding
                .apply(charge_between(terms, from, *end, quote_months));
            (from, *end, months_bought()?, stated(quote), None)
        }
        PayRequest::Period { start, end } => {
            if *start < from.date().and_time(chrono::NaiveTime::MIN) || *end < *start {
                return Err(PayError::InvalidPeriod);
            }
            let quote_months = day_compare(*start, end.date().and_time(chrono::NaiveTime::MIN));
            let quote = terms
                .rounding
                .apply(charge_between(terms, *start, *end, quote_months));
            let gap = (start.date() != from.date()).then(|| Gap {
                start: from.date().and_time(chrono::NaiveTime::MIN),
                deadline: *start - TimeDelta::seconds(1),
            });
            (*start, *end, months_bought()?, stated(quote), gap)
        }
    };
    // Upstream modifyFee: the fee's endTime is the detail's end + 1 s; more than 30 days past
    // max_time is refused; past max_time a periodic fee finishes there.
    let mut new_paid_through = exclusive_after(end_inclusive);
    if new_paid_through - terms.max_end > TimeDelta::days(30) {
        return Err(PayError::PastMaxEnd);
    }
    let finished = if terms.fee_flag == FeeFlag::OneOff {
        true
    } else if new_paid_through > terms.max_end {
        new_paid_through = exclusive_after(terms.max_end);
        true
    } else {
        false
    };
    Ok(PayOutcome {
        paid_from,
        new_paid_through,
        cycles,
        receivable,
        finished,
        gap,
    })
}
