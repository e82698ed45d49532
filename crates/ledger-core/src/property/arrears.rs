//! What a fee owes as of a given instant (upstream `getTargetEndDateAndOweMonth`), including
//! rent with periodic increases (formula 1102, upstream `dealRentRate`).

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};
use rust_decimal::{Decimal, RoundingStrategy};

use super::codes::{FeeFlag, FeeState, PaymentCd, Scale};
use super::pricing::round4;
use super::time::{add_months, day_compare, days_in_month, exclusive_after};

/// How owed amounts are rounded (upstream `MoneyUtil.computePriceScale` with the config's
/// `scale` and `decimalPlace`; without them: half-up to 2 decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounding {
    pub scale: Scale,
    pub places: u32,
}

impl Default for Rounding {
    fn default() -> Self {
        Self {
            scale: Scale::HalfUp,
            places: 2,
        }
    }
}

impl Rounding {
    pub fn apply(self, x: Decimal) -> Decimal {
        let strategy = match self.scale {
            Scale::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Scale::Up => RoundingStrategy::AwayFromZero,
            Scale::Down => RoundingStrategy::ToZero,
        };
        x.round_dp_with_strategy(self.places, strategy)
    }
}

/// The billing state of one fee, as arrears and payment need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeTerms {
    /// When billing begins.
    pub start: NaiveDateTime,
    /// Exclusive "paid up to" instant (upstream endTime); equals `start` when nothing is paid.
    pub paid_through: NaiveDateTime,
    /// Inclusive last instant the fee runs to (attribute 390010), usually hh 23:59:59.
    pub deadline: NaiveDateTime,
    /// Inclusive upstream `max_time` (the config's end for a periodic config): a payment past
    /// it finishes the fee.
    pub max_end: NaiveDateTime,
    pub fee_flag: FeeFlag,
    pub payment_cd: PaymentCd,
    pub payment_cycle_months: u32,
    pub state: FeeState,
    /// Price per month, 4 dp (the base rent for 1102).
    pub monthly_price: Decimal,
    /// Present for 1102 only.
    pub rent_rate: Option<RentRate>,
    /// The config's prepaymentPeriod, days: the next cycle falls due this many days before
    /// the paid-through date.
    pub prepayment_days: u32,
    /// The config's scale and decimalPlace.
    pub rounding: Rounding,
    /// Months a one-off fee owes at once: 1, or PAY_FEE_MONTH_CYCLE for a bill-mode fee.
    pub month_cycle: u32,
}

impl FeeTerms {
    /// The deadline as an exclusive instant, comparable with `paid_through`.
    pub fn end_limit(&self) -> NaiveDateTime {
        exclusive_after(self.deadline)
    }

    /// A zero cycle would never advance; treat it as monthly rather than loop or divide by zero.
    pub(crate) fn cycle_months(&self) -> u32 {
        self.payment_cycle_months.max(1)
    }

    /// `paid_through` minus the prepayment period (upstream `preEndTime`).
    pub(crate) fn pre_end(&self) -> NaiveDateTime {
        self.paid_through
            .checked_sub_signed(TimeDelta::days(i64::from(self.prepayment_days)))
            .unwrap_or(NaiveDateTime::MIN)
    }
}

/// A rent-increase schedule (formula 1102).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RentRate {
    /// Increase per step: 0.05 = 5%.
    pub rate: Decimal,
    /// Months between increases.
    pub cycle_months: u32,
    /// When the first increase takes effect (attribute 390016, a date).
    pub start: NaiveDateTime,
}

/// Arrears as of some instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    /// Owed months, 4 dp.
    pub owe_months: Decimal,
    /// Owed money, rounded by the config's scale and decimalPlace.
    pub amount: Decimal,
    /// Exclusive end of what is due: paying up to here clears the arrears.
    pub due_end: NaiveDateTime,
}

impl Owed {
    fn nothing(due_end: NaiveDateTime) -> Self {
        Self {
            owe_months: Decimal::ZERO,
            amount: Decimal::ZERO,
            due_end,
        }
    }
}

/// Arrears of `terms` as of `now` (upstream `getTargetEndDateAndOweMonth`, then listFee's
/// amount: price × owed months, or `dealRentRate` for 1102, rounded by the config).
pub fn owed_as_of(terms: &FeeTerms, now: NaiveDateTime) -> Owed {
    if terms.state == FeeState::Finished || terms.fee_flag == FeeFlag::NotChargeable {
        return Owed::nothing(terms.paid_through);
    }
    if terms.fee_flag == FeeFlag::OneOff {
        // Owed in full (month_cycle months) once the paid-through date, less the prepayment
        // period, is reached.
        if terms.pre_end() <= now {
            let months = Decimal::from(terms.month_cycle.max(1));
            return Owed {
                owe_months: months,
                amount: terms.rounding.apply(terms.monthly_price * months),
                due_end: terms.end_limit().max(terms.paid_through),
            };
        }
        return Owed::nothing(terms.paid_through);
    }
    let target = periodic_target(terms, now);
    let owe_months = if terms.paid_through < target {
        day_compare(terms.paid_through, exclusive_after(target))
    } else {
        Decimal::ZERO
    };
    let due_end = exclusive_after(target).max(terms.paid_through);
    let raw = match rent_rate_total(terms, terms.paid_through, target.max(terms.paid_through)) {
        Some(total) => total,
        None => terms.monthly_price * owe_months,
    };
    Owed {
        owe_months,
        amount: terms.rounding.apply(raw),
        due_end,
    }
}

/// The inclusive end of what a periodic fee owes as of `now`, before the paid-through check.
fn periodic_target(terms: &FeeTerms, now: NaiveDateTime) -> NaiveDateTime {
    let cycle = Decimal::from(terms.cycle_months());
    let elapsed = day_compare(terms.start, now);
    let mut rounds = (elapsed / cycle).floor();
    if terms.payment_cd == PaymentCd::Prepaid {
        rounds += Decimal::ONE;
    }
    let end_of = |rounds: Decimal| add_months(terms.start, rounds * cycle);
    // The cycle just paid for is complete and the prepayment period has begun: the next cycle
    // is due (a postpaid fee owes the month it is in from its first day).
    if end_of(rounds).date() == terms.paid_through.date() && now > terms.pre_end() {
        rounds += Decimal::ONE;
    }
    let target = end_of(rounds) - TimeDelta::seconds(1);
    target.min(terms.deadline)
}

/// Upstream `dealRentRate`: the unrounded amount a 1102 fee owes from `paid_through` to the
/// inclusive `deadline`, or `None` when upstream leaves the flat amount (no rate, no cycle,
/// or the deadline not after the rate start).
///
/// The increase date moves to the fee start's day of month; each step raises the rent by the
/// rate (4 dp half-up) and charges the months of its cycle that are owed; in a cycle holding
/// the original increase date's anniversary, the increase for the days between the fee start's
/// day and the increase day is taken back (when the increase day is the later one).
pub(crate) fn rent_rate_total(
    terms: &FeeTerms,
    paid_through: NaiveDateTime,
    deadline: NaiveDateTime,
) -> Option<Decimal> {
    let rate = terms.rent_rate.as_ref()?;
    if terms.state != FeeState::InProgress
        || rate.cycle_months == 0
        || rate.rate.is_zero()
        || deadline <= rate.start
    {
        return None;
    }
    let first = correct_by_fee_start(rate.start, terms.start);
    let mut price = terms.monthly_price;
    let mut total = Decimal::ZERO;
    let mut owe_start = paid_through;
    if paid_through < first {
        total = round4(price * day_compare(paid_through, first));
        owe_start = first;
    }
    let cycle = Decimal::from(rate.cycle_months);
    let steps = (day_compare(first, deadline) / cycle).ceil();
    let steps = u32::try_from(steps).unwrap_or(0).min(1200);
    let took_back_days = Decimal::from(rate_day(terms.start, rate.start));
    for k in 0..steps {
        let old = price;
        price = round4((Decimal::ONE + rate.rate) * price);
        let cycle_end = add_months(first, Decimal::from((k + 1) * rate.cycle_months));
        if owe_start > cycle_end || owe_start >= deadline {
            continue;
        }
        let seg_end = cycle_end.min(deadline);
        let months = day_compare(owe_start, seg_end);
        let in_rate_month = rate_start_month_in(rate.start, owe_start, seg_end);
        owe_start = seg_end;
        let mut amount = round4(price * months);
        if in_rate_month {
            let per_day = round4(old * rate.rate / Decimal::from(days_in_month(rate.start.date())));
            amount -= per_day * took_back_days;
        }
        total += amount;
    }
    Some(total)
}

/// Upstream `correctByFeeStartTime`: the increase date with the fee start's day of month (a day
/// the month lacks rolls into the next month, as a lenient `Calendar` does).
fn correct_by_fee_start(rate_start: NaiveDateTime, fee_start: NaiveDateTime) -> NaiveDateTime {
    if rate_start.day() == fee_start.day() {
        return rate_start;
    }
    let first = rate_start.date().with_day(1).expect("day 1 exists");
    (first + TimeDelta::days(i64::from(fee_start.day()) - 1)).and_time(rate_start.time())
}

/// Upstream `getRateDay`: days the increase day lies after the fee start's day, else 0.
fn rate_day(fee_start: NaiveDateTime, rate_start: NaiveDateTime) -> u32 {
    rate_start.day().saturating_sub(fee_start.day())
}

/// Upstream `rateStartMonthIn`: whether the increase date's anniversary (in the year of the
/// segment's start or of its end) lies strictly inside [1st of the start's month, end].
fn rate_start_month_in(
    rate_start: NaiveDateTime,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> bool {
    let month_first = start
        .date()
        .with_day(1)
        .expect("day 1 exists")
        .and_time(start.time());
    [month_first.year(), end.year()].into_iter().any(|year| {
        let anniversary = with_year_lenient(rate_start, year);
        month_first < anniversary && end > anniversary
    })
}

fn with_year_lenient(t: NaiveDateTime, year: i32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(year, t.month(), 1)
        .map(|first| (first + TimeDelta::days(i64::from(t.day()) - 1)).and_time(t.time()))
        .unwrap_or(t)
}

/// Months between two instants a payment covers, priced: the flat price × months, or the
/// 1102 schedule (unrounded).
pub(crate) fn charge_between(
    terms: &FeeTerms,
    from: NaiveDateTime,
    to_inclusive: NaiveDateTime,
    months: Decimal,
) -> Decimal {
    rent_rate_total(terms, from, to_inclusive).unwrap_or(terms.monthly_price * months)
}
