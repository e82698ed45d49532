//! What a fee owes as of a given instant (upstream `getTargetEndDateAndOweMonth`),
//! including rent with periodic increases (formula 1102).

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use super::codes::{FeeFlag, FeeState, PaymentCd};
use super::pricing::{round2, round4};
use super::time::{add_months, exclusive_after, month_fraction};

/// The billing state of one fee, as arrears and payment need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeTerms {
    /// When billing begins.
    pub start: NaiveDateTime,
    /// Exclusive "paid up to" instant (upstream endTime); equals `start` when nothing is paid.
    pub paid_through: NaiveDateTime,
    /// Inclusive last instant the fee runs to, usually hh 23:59:59.
    pub deadline: NaiveDateTime,
    pub fee_flag: FeeFlag,
    pub payment_cd: PaymentCd,
    pub payment_cycle_months: u32,
    pub state: FeeState,
    /// Price per month, 4 dp (the base rent for 1102).
    pub monthly_price: Decimal,
    /// Present for 1102 only.
    pub rent_rate: Option<RentRate>,
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
}

/// A rent-increase schedule (formula 1102).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RentRate {
    /// Increase per step: 0.05 = 5%.
    pub rate: Decimal,
    /// Months between increases.
    pub cycle_months: u32,
    /// When the first increase takes effect.
    pub start: NaiveDateTime,
}

/// Arrears as of some instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    /// Owed months, 4 dp.
    pub owe_months: Decimal,
    /// Owed money, 2 dp half-up.
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

/// Arrears of `terms` as of `as_of`.
pub fn owed_as_of(terms: &FeeTerms, as_of: NaiveDateTime) -> Owed {
    if terms.state == FeeState::Finished || terms.fee_flag == FeeFlag::NotChargeable {
        return Owed::nothing(terms.paid_through);
    }
    if terms.fee_flag.is_charged_once() {
        // Charged once, for the whole term, as soon as it is no longer paid up.
        if terms.paid_through <= as_of {
            return Owed {
                owe_months: Decimal::ONE,
                amount: round2(terms.monthly_price),
                due_end: terms.end_limit().max(terms.paid_through),
            };
        }
        return Owed::nothing(terms.paid_through);
    }
    if as_of < terms.start {
        return Owed::nothing(terms.paid_through.max(terms.start));
    }

    let cycle = terms.cycle_months();
    let elapsed_cycles = (month_fraction(terms.start, as_of) / Decimal::from(cycle)).floor();
    let cycles_due = match terms.payment_cd {
        // Prepaid: the cycle in progress is already due, including the first one at start.
        PaymentCd::Prepaid => elapsed_cycles + Decimal::ONE,
        PaymentCd::Postpaid => elapsed_cycles,
    };
    let due_end = add_months(terms.start, cycles_due * Decimal::from(cycle)).min(terms.end_limit());
    if terms.paid_through >= due_end {
        return Owed::nothing(due_end);
    }
    let (owe_months, raw_amount) = charge_span(terms, terms.paid_through, due_end);
    Owed {
        owe_months,
        amount: round2(raw_amount),
        due_end,
    }
}

/// The monthly price in force at `t`: the base price, or for 1102 the rent after every increase
/// that has taken effect by `t`.
pub fn price_in_force(terms: &FeeTerms, t: NaiveDateTime) -> Decimal {
    match &terms.rent_rate {
        None => terms.monthly_price,
        Some(rate) => {
            let mut schedule = RentSchedule::new(terms.monthly_price, rate);
            schedule.advance_to(t);
            schedule.rent
        }
    }
}

/// Months in `[from, to)` and their unrounded price, honouring rent increases.
///
/// Without a rent rate this is `month_fraction(from, to)` at the flat price. With one,
/// the span is split at each increase instant and each piece is charged at the rent in
/// force; the months returned are the sum of the pieces, so amount = Σ rent × months.
pub(crate) fn charge_span(
    terms: &FeeTerms,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> (Decimal, Decimal) {
    let Some(rate) = &terms.rent_rate else {
        let months = month_fraction(from, to);
        return (months, terms.monthly_price * months);
    };
    let mut schedule = RentSchedule::new(terms.monthly_price, rate);
    schedule.advance_to(from);
    let (mut months_total, mut amount) = (Decimal::ZERO, Decimal::ZERO);
    let mut cursor = from;
    while cursor < to {
        let segment_end = schedule.next_increase.map_or(to, |next| next.min(to));
        let months = month_fraction(cursor, segment_end);
        months_total += months;
        amount += schedule.rent * months;
        cursor = segment_end;
        schedule.advance_to(cursor);
    }
    (months_total, amount)
}

/// Walks the increase instants of a 1102 fee, tracking the rent in force.
struct RentSchedule<'a> {
    rate: &'a RentRate,
    rent: Decimal,
    /// Increases applied so far.
    steps: u32,
    /// `None` once no further increase will happen.
    next_increase: Option<NaiveDateTime>,
}

impl<'a> RentSchedule<'a> {
    fn new(base: Decimal, rate: &'a RentRate) -> Self {
        Self {
            rate,
            rent: base,
            steps: 0,
            next_increase: Some(rate.start),
        }
    }

    /// Applies every increase that has taken effect at or before `t`.
    fn advance_to(&mut self, t: NaiveDateTime) {
        while let Some(next) = self.next_increase.filter(|next| *next <= t) {
            // Upstream rounds the rent at each step, so compounding follows that rounding.
            self.rent = round4(self.rent * (Decimal::ONE + self.rate.rate));
            self.steps += 1;
            self.next_increase = if self.rate.cycle_months == 0 {
                // A zero cycle cannot repeat; read it as a single increase.
                None
            } else {
                // Measured from the first increase each time so month-end clamping cannot drift.
                let months = Decimal::from(self.steps) * Decimal::from(self.rate.cycle_months);
                Some(add_months(self.rate.start, months)).filter(|after| *after > next)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::property::time::{parse_end, parse_start};
    use rust_decimal_macros::dec;

    fn at(s: &str) -> NaiveDateTime {
        parse_start(s).unwrap()
    }

    fn monthly(payment_cd: PaymentCd, cycle: u32) -> FeeTerms {
        FeeTerms {
            start: at("2023-01-01"),
            paid_through: at("2023-01-01"),
            deadline: parse_end("2025-12-31").unwrap(),
            fee_flag: FeeFlag::Periodic,
            payment_cd,
            payment_cycle_months: cycle,
            state: FeeState::InProgress,
            monthly_price: dec!(100.5),
            rent_rate: None,
        }
    }

    fn check(terms: &FeeTerms, cases: &[(&str, Decimal, Decimal, &str)]) {
        for (as_of, months, amount, due_end) in cases {
            let owed = owed_as_of(terms, at(as_of));
            assert_eq!(owed.owe_months, *months, "months as of {as_of}");
            assert_eq!(owed.amount, *amount, "amount as of {as_of}");
            assert_eq!(owed.due_end, at(due_end), "due end as of {as_of}");
        }
    }

    #[test]
    fn monthly_postpaid() {
        check(
            &monthly(PaymentCd::Postpaid, 1),
            &[
                // before start: nothing
                ("2022-12-31", dec!(0), dec!(0), "2023-01-01"),
                // 0.4839 months elapsed -> 0 cycles
                ("2023-01-16", dec!(0), dec!(0), "2023-01-01"),
                // exactly 1 month -> 1 cycle, 100.5 * 1
                ("2023-02-01", dec!(1), dec!(100.5), "2023-02-01"),
                // 3.4667 months -> 3 cycles -> 301.50
                ("2023-04-15", dec!(3), dec!(301.5), "2023-04-01"),
            ],
        );
    }

    #[test]
    fn monthly_prepaid() {
        check(
            &monthly(PaymentCd::Prepaid, 1),
            &[
                ("2022-12-31", dec!(0), dec!(0), "2023-01-01"),
                // at start the first month is due: 0 + 1 cycles
                ("2023-01-01", dec!(1), dec!(100.5), "2023-02-01"),
                // 3.4667 months -> 3 + 1 = 4 cycles -> 402.00
                ("2023-04-15", dec!(4), dec!(402), "2023-05-01"),
            ],
        );
    }

    #[test]
    fn quarterly_postpaid_and_prepaid() {
        check(
            &monthly(PaymentCd::Postpaid, 3),
            &[
                // 2 + 30/31 = 2.9677 months -> floor(2.9677/3) = 0 cycles
                ("2023-03-31", dec!(0), dec!(0), "2023-01-01"),
                // 3 months -> 1 cycle = 3 months -> 301.50
                ("2023-04-01", dec!(3), dec!(301.5), "2023-04-01"),
                // 8.4667 months -> 2 cycles = 6 months -> 603.00
                ("2023-09-15", dec!(6), dec!(603), "2023-07-01"),
            ],
        );
        check(
            &monthly(PaymentCd::Prepaid, 3),
            &[
                // 1 cycle due at start: 3 months -> 301.50
                ("2023-01-01", dec!(3), dec!(301.5), "2023-04-01"),
                // 8.4667 months -> 2 + 1 cycles = 9 months -> 904.50
                ("2023-09-15", dec!(9), dec!(904.5), "2023-10-01"),
            ],
        );
    }

    #[test]
    fn partly_paid_fee_owes_from_paid_through() {
        let terms = FeeTerms {
            paid_through: at("2023-03-16"),
            ..monthly(PaymentCd::Postpaid, 1)
        };
        check(
            &terms,
            &[
                // due to 2023-06-01; Mar 16 -> Apr 1 = 16/31 = 0.516129 -> 0.5161,
                // + 2 whole months = 2.5161; 100.5 * 2.5161 = 252.868 -> 252.87
                ("2023-06-10", dec!(2.5161), dec!(252.87), "2023-06-01"),
                // due only to 2023-03-01, already paid past it
                ("2023-03-20", dec!(0), dec!(0), "2023-03-01"),
            ],
        );
    }

    #[test]
    fn deadline_inside_window_caps_due_end() {
        let terms = FeeTerms {
            deadline: parse_end("2023-03-15").unwrap(),
            ..monthly(PaymentCd::Postpaid, 1)
        };
        check(
            &terms,
            &[
                // due end 2023-03-01 is before the cap: 2 months -> 201.00
                ("2023-03-10", dec!(2), dec!(201), "2023-03-01"),
                // due end 2023-07-01 capped at 2023-03-16 00:00 (deadline + 1s);
                // 2 months + 15/31 = 2.4839; 100.5 * 2.4839 = 249.63195 -> 249.63
                ("2023-07-01", dec!(2.4839), dec!(249.63), "2023-03-16"),
            ],
        );
    }

    #[test]
    fn finished_and_not_chargeable_owe_nothing() {
        let finished = FeeTerms {
            state: FeeState::Finished,
            ..monthly(PaymentCd::Postpaid, 1)
        };
        let free = FeeTerms {
            fee_flag: FeeFlag::NotChargeable,
            ..monthly(PaymentCd::Postpaid, 1)
        };
        for terms in [finished, free] {
            let owed = owed_as_of(&terms, at("2024-01-01"));
            assert_eq!((owed.owe_months, owed.amount), (dec!(0), dec!(0)));
        }
    }

    #[test]
    fn one_off_owes_its_price_once() {
        for flag in [FeeFlag::OneOff, FeeFlag::Intermittent] {
            let terms = FeeTerms {
                fee_flag: flag,
                monthly_price: dec!(88.888),
                ..monthly(PaymentCd::Postpaid, 1)
            };
            // paid_through (2023-01-01) <= as_of: 1 "month", 88.888 -> 88.89
            let owed = owed_as_of(&terms, at("2023-06-01"));
            assert_eq!((owed.owe_months, owed.amount), (dec!(1), dec!(88.89)));
            // before paid_through: nothing yet
            let owed = owed_as_of(&terms, at("2022-12-31"));
            assert_eq!((owed.owe_months, owed.amount), (dec!(0), dec!(0)));
        }
    }

    #[test]
    fn rent_increase_1102_splits_at_increase() {
        let terms = FeeTerms {
            monthly_price: dec!(1000),
            rent_rate: Some(RentRate {
                rate: dec!(0.05),
                cycle_months: 12,
                start: at("2023-06-01"),
            }),
            ..monthly(PaymentCd::Postpaid, 1)
        };
        check(
            &terms,
            &[
                // Jan 1 -> Jun 1 = 5 months at 1000 = 5000;
                // Jun 1 -> Sep 1 = 3 months at 1000 * 1.05 = 1050 -> 3150; total 8150
                ("2023-09-01", dec!(8), dec!(8150), "2023-09-01"),
                // before the increase: 4 months at 1000
                ("2023-05-20", dec!(4), dec!(4000), "2023-05-01"),
                // to 2024-08-01: 5 * 1000 + 12 * 1050 + 2 * 1102.5 = 5000 + 12600 + 2205 = 19805
                ("2024-08-01", dec!(19), dec!(19805), "2024-08-01"),
            ],
        );
        // Mid-month fee start: months are summed per segment, so the total can differ from
        // month_fraction over the whole span (8). Jan 15 -> Jun 1 = 17/31 + 4 = 4.5484;
        // Jun 1 -> Sep 15 = 3 + 14/30 = 3.4667; months 8.0151;
        // 1000 * 4.5484 + 1050 * 3.4667 = 4548.4 + 3640.035 = 8188.435 -> 8188.44
        let mid_month = FeeTerms {
            start: at("2023-01-15"),
            paid_through: at("2023-01-15"),
            ..terms.clone()
        };
        check(
            &mid_month,
            &[("2023-09-15", dec!(8.0151), dec!(8188.44), "2023-09-15")],
        );
        // Paid past the first increase: 2023-07-16 -> 2023-09-01 all at 1050;
        // 16/31 = 0.516129 -> 0.5161 + 1 = 1.5161; 1050 * 1.5161 = 1591.905 -> 1591.91
        let paid = FeeTerms {
            paid_through: at("2023-07-16"),
            ..terms
        };
        check(
            &paid,
            &[("2023-09-01", dec!(1.5161), dec!(1591.91), "2023-09-01")],
        );
    }

    #[test]
    fn price_in_force_follows_the_increases() {
        let terms = FeeTerms {
            monthly_price: dec!(1000),
            rent_rate: Some(RentRate {
                rate: dec!(0.05),
                cycle_months: 12,
                start: at("2023-06-01"),
            }),
            ..monthly(PaymentCd::Postpaid, 1)
        };
        let cases = [
            ("2023-05-31 23:59:59", dec!(1000)),
            // 1000 * 1.05 = 1050
            ("2023-06-01", dec!(1050)),
            // 1050 * 1.05 = 1102.5
            ("2024-06-01", dec!(1102.5)),
            // 1102.5 * 1.05 = 1157.625
            ("2025-07-01", dec!(1157.625)),
        ];
        for (t, want) in cases {
            assert_eq!(price_in_force(&terms, at(t)), want, "{t}");
        }
        let flat = monthly(PaymentCd::Postpaid, 1);
        assert_eq!(price_in_force(&flat, at("2030-01-01")), dec!(100.5));
    }
}
