//! Paying a fee (upstream `fee.payFee`): how far a payment moves the paid-through
//! instant, what it costs, and when it finishes the fee.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use thiserror::Error;

use super::arrears::{FeeTerms, charge_span};
use super::codes::{FeeFlag, FeeState};
use super::pricing::{round2, round4};
use super::time::{add_months, exclusive_after};

/// What the payer asked to pay for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayRequest {
    /// A number of payment cycles; may be fractional.
    Cycles(Decimal),
    /// Upstream cycles = -101: a sum of money, converted to cycles.
    Amount(Decimal),
    /// Upstream cycles = -103: pay up to this inclusive end (caller applies the 23:59:59 rule).
    UpTo(NaiveDateTime),
}

/// The effect of an accepted payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayOutcome {
    /// The paid-through instant before this payment.
    pub paid_from: NaiveDateTime,
    /// The new exclusive paid-through instant.
    pub new_paid_through: NaiveDateTime,
    /// Payment cycles covered, 4 dp.
    pub cycles: Decimal,
    /// Amount due for this payment, 2 dp half-up.
    pub receivable: Decimal,
    /// The fee is fully paid and moves to state 2009001.
    pub finished: bool,
}

/// Refusals, displayed with upstream's messages because clients match on them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PayError {
    #[error("收费已经结束，不能再缴费")]
    Finished,
    #[error("缴费周期超过 缴费结束时间")]
    PastDeadline,
    #[error("实收金额不能小于应收金额")]
    Underpaid {
        receivable: Decimal,
        received: Decimal,
    },
    #[error("缴费周期或金额错误")]
    InvalidCycles,
}

/// Works out a payment against `terms`; the caller persists the outcome.
pub fn pay(
    terms: &FeeTerms,
    req: &PayRequest,
    received_amount: Decimal,
) -> Result<PayOutcome, PayError> {
    // A not-chargeable fee has nothing to pay; upstream finishes such fees, so refuse alike.
    if terms.state == FeeState::Finished || terms.fee_flag == FeeFlag::NotChargeable {
        return Err(PayError::Finished);
    }
    let positive = match req {
        PayRequest::Cycles(c) => *c > Decimal::ZERO,
        PayRequest::Amount(a) => *a > Decimal::ZERO,
        PayRequest::UpTo(t) => exclusive_after(*t) > terms.paid_through,
    };
    if !positive {
        return Err(PayError::InvalidCycles);
    }
    let outcome = if terms.fee_flag.is_charged_once() {
        pay_once(terms)
    } else {
        pay_periodic(terms, req)?
    };
    if received_amount < outcome.receivable {
        return Err(PayError::Underpaid {
            receivable: outcome.receivable,
            received: received_amount,
        });
    }
    Ok(outcome)
}

/// One-off and intermittent fees settle in one payment of their price.
fn pay_once(terms: &FeeTerms) -> PayOutcome {
    PayOutcome {
        paid_from: terms.paid_through,
        new_paid_through: terms.end_limit().max(terms.paid_through),
        cycles: Decimal::ONE,
        receivable: round2(terms.monthly_price),
        finished: true,
    }
}

fn pay_periodic(terms: &FeeTerms, req: &PayRequest) -> Result<PayOutcome, PayError> {
    let cycle = Decimal::from(terms.cycle_months());
    let from = terms.paid_through;
    let (cycles, new_paid_through, months) = match req {
        PayRequest::Cycles(c) => {
            let months = *c * cycle;
            (*c, add_months(from, months), Some(months))
        }
        PayRequest::Amount(amount) => {
            let per_cycle = terms.monthly_price * cycle;
            if per_cycle <= Decimal::ZERO {
                return Err(PayError::InvalidCycles);
            }
            let c = round4(*amount / per_cycle);
            if c <= Decimal::ZERO {
                return Err(PayError::InvalidCycles);
            }
            let months = c * cycle;
            (c, add_months(from, months), Some(months))
        }
        PayRequest::UpTo(t) => {
            let to = exclusive_after(*t);
            // Months come from the span itself; cycles are reported for the record.
            let (months, _) = charge_span(terms, from, to);
            (round4(months / cycle), to, None)
        }
    };
    let limit = terms.end_limit();
    if new_paid_through > limit {
        return Err(PayError::PastDeadline);
    }
    let receivable = match (req, &terms.rent_rate, months) {
        // -101: the amount paid is what is due, as upstream sets it. Pricing the rounded cycles
        // instead could exceed the amount by a cent and refuse the payment as underpaid.
        (PayRequest::Amount(amount), _, _) => *amount,
        // Flat price for a requested number of months: price × months, as upstream.
        (_, None, Some(months)) => terms.monthly_price * months,
        // Rent increases, or an explicit end: price each piece of the span.
        _ => charge_span(terms, from, new_paid_through).1,
    };
    Ok(PayOutcome {
        paid_from: from,
        new_paid_through,
        cycles,
        receivable: round2(receivable),
        finished: new_paid_through == limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::property::arrears::{RentRate, owed_as_of};
    use crate::property::codes::PaymentCd;
    use crate::property::time::{parse_end, parse_start};
    use rust_decimal_macros::dec;

    fn at(s: &str) -> NaiveDateTime {
        parse_start(s).unwrap()
    }

    fn terms() -> FeeTerms {
        FeeTerms {
            start: at("2023-01-01"),
            paid_through: at("2023-01-01"),
            deadline: parse_end("2023-12-31").unwrap(),
            fee_flag: FeeFlag::Periodic,
            payment_cd: PaymentCd::Postpaid,
            payment_cycle_months: 1,
            state: FeeState::InProgress,
            monthly_price: dec!(100.5),
            rent_rate: None,
        }
    }

    fn apply(t: &FeeTerms, o: &PayOutcome) -> FeeTerms {
        FeeTerms {
            paid_through: o.new_paid_through,
            state: if o.finished {
                FeeState::Finished
            } else {
                FeeState::InProgress
            },
            ..t.clone()
        }
    }

    #[test]
    fn paying_two_cycles_drops_owed_months_by_two() {
        let t = terms();
        let as_of = at("2023-06-15");
        // 5.4667 months elapsed -> 5 owed
        assert_eq!(owed_as_of(&t, as_of).owe_months, dec!(5));
        let o = pay(&t, &PayRequest::Cycles(dec!(2)), dec!(500)).unwrap();
        // 2 cycles * 1 month * 100.5 = 201.00
        assert_eq!(o.receivable, dec!(201));
        assert_eq!(o.new_paid_through, at("2023-03-01"));
        assert!(!o.finished);
        assert_eq!(owed_as_of(&apply(&t, &o), as_of).owe_months, dec!(3));
    }

    #[test]
    fn request_kinds() {
        let quarterly = FeeTerms {
            payment_cycle_months: 3,
            ..terms()
        };
        let cases = [
            // 1.5 cycles of 3 months = 4.5 months: Jan 1 + 4 = May 1, + 0.5 * 31 * 24 h = 372 h
            // = 15.5 days -> May 16 12:00; receivable 100.5 * 4.5 = 452.25
            (
                PayRequest::Cycles(dec!(1.5)),
                "2023-05-16 12:00:00",
                dec!(1.5),
                dec!(452.25),
            ),
            // -101: 603 / (100.5 * 3) = 2 cycles = 6 months -> Jul 1; 603.00
            (
                PayRequest::Amount(dec!(603)),
                "2023-07-01 00:00:00",
                dec!(2),
                dec!(603),
            ),
            // -103 up to 2023-02-14 23:59:59: Jan 1 -> Feb 15 = 1 + 14/28 = 1.5 months;
            // cycles 1.5 / 3 = 0.5; 100.5 * 1.5 = 150.75
            (
                PayRequest::UpTo(parse_end("2023-02-14").unwrap()),
                "2023-02-15 00:00:00",
                dec!(0.5),
                dec!(150.75),
            ),
        ];
        for (req, new_end, cycles, receivable) in cases {
            let o = pay(&quarterly, &req, dec!(10000)).unwrap();
            assert_eq!(o.new_paid_through, at(new_end), "{req:?}");
            assert_eq!(o.cycles, cycles, "{req:?}");
            assert_eq!(o.receivable, receivable, "{req:?}");
            assert_eq!(o.paid_from, at("2023-01-01"));
        }
    }

    #[test]
    fn paying_an_amount_owes_exactly_that_amount() {
        let t = FeeTerms {
            monthly_price: dec!(700),
            ..terms()
        };
        // 1000 / 700 = 1.428571.. -> 1.4286 cycles; priced back, 700 * 1.4286 = 1000.02 would
        // exceed the 1000 received, so the receivable is the amount itself.
        let o = pay(&t, &PayRequest::Amount(dec!(1000)), dec!(1000)).unwrap();
        assert_eq!(o.cycles, dec!(1.4286));
        assert_eq!(o.receivable, dec!(1000));
        // Jan 1 + 1 month = Feb 1; 0.4286 * 28 days * 24 h = 288.0384 h -> 288 h = 12 days
        assert_eq!(o.new_paid_through, at("2023-02-13"));
    }

    #[test]
    fn paying_to_the_deadline_finishes_and_clears() {
        let t = terms();
        let o = pay(
            &t,
            &PayRequest::UpTo(parse_end("2023-12-31").unwrap()),
            dec!(1206),
        )
        .unwrap();
        // 12 months * 100.5 = 1206.00; paid through deadline + 1s
        assert_eq!(o.receivable, dec!(1206));
        assert_eq!(o.new_paid_through, at("2024-01-01"));
        assert!(o.finished);
        let after = apply(&t, &o);
        let owed = owed_as_of(&after, at("2025-01-01"));
        assert_eq!((owed.owe_months, owed.amount), (dec!(0), dec!(0)));
        // Even if the state were not updated, nothing is due past the deadline.
        let unmarked = FeeTerms {
            state: FeeState::InProgress,
            ..after.clone()
        };
        assert_eq!(owed_as_of(&unmarked, at("2025-01-01")).amount, dec!(0));
        // 12 whole cycles land on the same instant and finish too.
        let o = pay(&t, &PayRequest::Cycles(dec!(12)), dec!(1206)).unwrap();
        assert!(o.finished);
        assert_eq!(
            pay(&after, &PayRequest::Cycles(dec!(1)), dec!(1000)),
            Err(PayError::Finished)
        );
    }

    #[test]
    fn refusals_carry_upstream_messages() {
        let t = terms();
        let finished = FeeTerms {
            state: FeeState::Finished,
            ..terms()
        };
        let cases = [
            (
                &finished,
                PayRequest::Cycles(dec!(1)),
                dec!(1000),
                "收费已经结束，不能再缴费",
            ),
            (
                &t,
                PayRequest::Cycles(dec!(13)),
                dec!(9999),
                "缴费周期超过 缴费结束时间",
            ),
            (
                &t,
                PayRequest::Cycles(dec!(1)),
                dec!(100.49),
                "实收金额不能小于应收金额",
            ),
            (
                &t,
                PayRequest::Cycles(dec!(0)),
                dec!(100),
                "缴费周期或金额错误",
            ),
            (
                &t,
                PayRequest::Amount(dec!(-5)),
                dec!(100),
                "缴费周期或金额错误",
            ),
            (
                &t,
                PayRequest::UpTo(parse_end("2022-12-31").unwrap()),
                dec!(100),
                "缴费周期或金额错误",
            ),
        ];
        for (terms, req, received, msg) in cases {
            assert_eq!(
                pay(terms, &req, received).unwrap_err().to_string(),
                msg,
                "{req:?}"
            );
        }
    }

    #[test]
    fn one_off_payment_finishes() {
        let t = FeeTerms {
            fee_flag: FeeFlag::OneOff,
            monthly_price: dec!(350.125),
            ..terms()
        };
        let o = pay(&t, &PayRequest::Cycles(dec!(1)), dec!(350.13)).unwrap();
        // receivable = price, 350.125 -> 350.13 (half-up)
        assert_eq!(o.receivable, dec!(350.13));
        assert!(o.finished);
        assert_eq!(o.new_paid_through, at("2024-01-01"));
    }

    #[test]
    fn rent_increase_receivable_uses_segments() {
        let t = FeeTerms {
            monthly_price: dec!(1000),
            rent_rate: Some(RentRate {
                rate: dec!(0.05),
                cycle_months: 12,
                start: at("2023-06-01"),
            }),
            paid_through: at("2023-04-01"),
            ..terms()
        };
        // Apr 1 -> Aug 1: 2 months at 1000 + 2 months at 1050 = 2000 + 2100 = 4100
        let o = pay(&t, &PayRequest::Cycles(dec!(4)), dec!(4100)).unwrap();
        assert_eq!(o.receivable, dec!(4100));
        assert_eq!(o.new_paid_through, at("2023-08-01"));
    }
}
