//! Issue 16's table: each case derived by hand from the upstream MicroCommunity method named in
//! its group (java110/MicroCommunity at 45102fc), the derivation in the comment beside it.
//! Dates are business times; "E" is the paid-through date (upstream endTime), "D" the inclusive
//! deadline (attribute 390010).

use super::arrears::{FeeTerms, RentRate, Rounding, owed_as_of};
use super::codes::{BillType, ConfigState, FeeFlag, FeeState, PaymentCd, Scale};
use super::fee::{BillRule, PAYER_OBJ_TYPE_ROOM};
use super::fee_config::FeeConfig;
use super::payment::{Gap, PayError, PayRequest, pay};
use super::room::{Owner, Room};
use super::time::{day_compare, parse_end, parse_start};
use crate::money::Money;
use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::BTreeSet;

fn at(s: &str) -> NaiveDateTime {
    parse_start(s).unwrap()
}

fn end(s: &str) -> NaiveDateTime {
    parse_end(s).unwrap()
}

/// A monthly postpaid periodic fee at 100.00 a month, started and paid through 2023-01-01,
/// deadline and max end 2025-12-31.
fn terms() -> FeeTerms {
    FeeTerms {
        start: at("2023-01-01"),
        paid_through: at("2023-01-01"),
        deadline: end("2025-12-31"),
        max_end: end("2025-12-31"),
        fee_flag: FeeFlag::Periodic,
        payment_cd: PaymentCd::Postpaid,
        payment_cycle_months: 1,
        state: FeeState::InProgress,
        monthly_price: dec!(100),
        rent_rate: None,
        prepayment_days: 0,
        rounding: Rounding::default(),
        month_cycle: 1,
    }
}

/// Rule 1 — `DateUtil.dayCompare`: each partial end rounded to 4 dp half-up on its own.
#[test]
fn day_compare_rounds_each_end_separately() {
    let cases = [
        // Jan 31 -> Feb 1 = 1/31 = 0.032258 -> 0.0323; Feb 1 -> Feb 28 = 27/28 = 0.964286
        // -> 0.9643; sum 0.9966 (rounding the sum 0.996544 would give 0.9965)
        ("2023-01-31", "2023-02-28", dec!(0.9966)),
        // both mid-January: first = Feb 1, last 1st = Jan 1, whole months -1;
        // 27/31 = 0.870968 -> 0.8710, 10/31 = 0.322581 -> 0.3226; -1 + 1.1936 = 0.1936
        ("2023-01-05", "2023-01-11", dec!(0.1936)),
        // leap February, same day and hour: whole months Mar 1 -> Mar 1 = 0, +1 = 1
        ("2024-02-10", "2024-03-10", dec!(1)),
        // a 1st at 00:00 to a 1st: 6 whole months
        ("2023-01-01", "2023-07-01", dec!(6)),
        // Nov 15 -> Dec 1 = 16/30 = 0.5333; Dec 1 -> Feb 1 = 2; Feb 1 -> Feb 20 2024 =
        // 19/29 = 0.655172 -> 0.6552; 3.1885
        ("2023-11-15", "2024-02-20", dec!(3.1885)),
        // 31-day month to a 30-day one: 1/31 = 0.0323 + 29/30 = 0.966667 -> 0.9667 = 0.9990
        ("2023-03-31", "2023-04-30", dec!(0.9990)),
        // same day and hour, minutes differ: upstream compares day and hour only -> 1
        ("2023-01-15 10:00:00", "2023-02-15 10:30:00", dec!(1)),
    ];
    for (from, to, want) in cases {
        assert_eq!(day_compare(at(from), at(to)), want, "{from} -> {to}");
    }
}

/// (terms, now, owed months, amount, exclusive due end)
type OwedCase = (FeeTerms, &'static str, Decimal, Decimal, &'static str);

fn check_owed(cases: Vec<OwedCase>) {
    for (i, (t, now, months, amount, due_end)) in cases.into_iter().enumerate() {
        let owed = owed_as_of(&t, at(now));
        assert_eq!(
            (owed.owe_months, owed.amount, owed.due_end),
            (months, amount, at(due_end)),
            "case {i}: as of {now}"
        );
    }
}

/// Rule 2 — `getTargetEndDateAndOweMonth`: rounds = floor(dayCompare(start, now) / cycle)
/// (+1 prepaid); when start + rounds·cycle falls on E's date and now > E − prepaymentPeriod
/// days, one more cycle is due; capped at D; owed = dayCompare(E, target + 1 s).
#[test]
fn next_cycle_falls_due_at_the_paid_through_date() {
    let paid_feb = FeeTerms {
        paid_through: at("2023-02-01"),
        ..terms()
    };
    check_owed(vec![
        // new postpaid fee on the 1st, now Jan 10: 9/31 = 0.2903 -> 0 rounds; Jan 1 = E's date
        // and now > E -> 1 round: target Jan 31 23:59:59, owed dayCompare(Jan 1, Feb 1) = 1
        (terms(), "2023-01-10", dec!(1), dec!(100.00), "2023-02-01"),
        // paid exactly to Feb 1, now Feb 1 00:00: 1 round ends on E's date but now is not
        // after E -> target Jan 31 23:59:59 < E: nothing owed
        (
            paid_feb.clone(),
            "2023-02-01",
            dec!(0),
            dec!(0),
            "2023-02-01",
        ),
        // now Feb 1 08:00: dayCompare = 1 + 8 h / 28 d = 1.0119 -> 1 round, on E's date, now
        // after E -> 2 rounds: target Feb 28 23:59:59, owed dayCompare(Feb 1, Mar 1) = 1
        (
            paid_feb.clone(),
            "2023-02-01 08:00:00",
            dec!(1),
            dec!(100.00),
            "2023-03-01",
        ),
        // prepaid, E Feb 1, prepaymentPeriod 5 days: now Jan 28 -> 0.8710 -> 0 + 1 = 1 round
        // = Feb 1 = E's date, Jan 28 > Jan 27 -> 2 rounds: owed Feb 1 -> Mar 1 = 1 month
        (
            FeeTerms {
                payment_cd: PaymentCd::Prepaid,
                prepayment_days: 5,
                ..paid_feb.clone()
            },
            "2023-01-28",
            dec!(1),
            dec!(100.00),
            "2023-03-01",
        ),
        // same, now Jan 26: not after Jan 27 -> 1 round, target Jan 31 23:59:59 < E: nothing
        (
            FeeTerms {
                payment_cd: PaymentCd::Prepaid,
                prepayment_days: 5,
                ..paid_feb
            },
            "2023-01-26",
            dec!(0),
            dec!(0),
            "2023-02-01",
        ),
        // paymentCycle 3, new postpaid, now Feb 15: 1 + 14/28 = 1.5 -> floor(0.5) = 0 rounds
        // on E's date -> 1 round = 3 months: owed 3, 300.00
        (
            FeeTerms {
                payment_cycle_months: 3,
                ..terms()
            },
            "2023-02-15",
            dec!(3),
            dec!(300.00),
            "2023-04-01",
        ),
        // paymentCycle 12 prepaid, now Mar 10: 2 + 9/31 = 2.2903 -> 0 + 1 round -> Jan 1 2024
        // (not E's date): owed 12 months, 1200.00
        (
            FeeTerms {
                payment_cycle_months: 12,
                payment_cd: PaymentCd::Prepaid,
                ..terms()
            },
            "2023-03-10",
            dec!(12),
            dec!(1200.00),
            "2024-01-01",
        ),
        // mid-month start Jan 15, now Mar 20: 17/31 0.5484 + 1 + 19/31 0.6129 = 2.1613 -> 2
        // rounds -> Mar 15 (not E's date): owed dayCompare(Jan 15, Mar 15) = 2 (same day)
        (
            FeeTerms {
                start: at("2023-01-15"),
                paid_through: at("2023-01-15"),
                ..terms()
            },
            "2023-03-20",
            dec!(2),
            dec!(200.00),
            "2023-03-15",
        ),
    ]);
}

/// Rule 3 — `MoneyUtil.computePriceScale(price × oweMonth, scale, decimalPlace)`.
#[test]
fn config_scale_and_decimal_place_round_the_amount_owed() {
    // price 100.5555, as of Feb 1: 1 round -> owed 1 month, raw 100.5555
    let with = |scale, places| FeeTerms {
        monthly_price: dec!(100.5555),
        rounding: Rounding { scale, places },
        ..terms()
    };
    check_owed(vec![
        // scale 1, 2 places: half-up 100.5555 -> 100.56
        (
            with(Scale::HalfUp, 2),
            "2023-02-01",
            dec!(1),
            dec!(100.56),
            "2023-02-01",
        ),
        // scale 3, 1 place: up 100.5555 -> 100.6
        (
            with(Scale::Up, 1),
            "2023-02-01",
            dec!(1),
            dec!(100.6),
            "2023-02-01",
        ),
        // scale 4, 2 places: down 100.5555 -> 100.55
        (
            with(Scale::Down, 2),
            "2023-02-01",
            dec!(1),
            dec!(100.55),
            "2023-02-01",
        ),
        // scale 3, 0 places: up 100.5555 -> 101
        (
            with(Scale::Up, 0),
            "2023-02-01",
            dec!(1),
            dec!(101),
            "2023-02-01",
        ),
    ]);
}

fn rent(start: &str, base: Decimal, rate: Decimal, cycle: u32, rate_start: &str) -> FeeTerms {
    FeeTerms {
        start: at(start),
        paid_through: at(start),
        monthly_price: base,
        rent_rate: Some(RentRate {
            rate,
            cycle_months: cycle,
            start: at(rate_start),
        }),
        ..terms()
    }
}

/// Rules 4 and 5 — `dealRentRate` for 1102 (the listed price stays the base rent; only the
/// amount owed changes). The increase date moves to the fee start's day of month.
#[test]
fn rent_increase_1102_follows_deal_rent_rate() {
    check_owed(vec![
        // Three increases, rate start Mar 20 (day 20) and fee start Jan 15: R' = Mar 15 2023,
        // 5 days of each increase taken back in the cycles holding Mar 20. D = 2026-03-14
        // 23:59:59, now after it: owed dayCompare(Jan 15 2023, Mar 15 2026) = 38 months.
        // Before R': 1000 × dayCompare(Jan 15, Mar 15) = 1000 × 2 = 2000.
        // dayCompare(R', D) = 17/31 0.5484 + 35 + (13 d 23:59:00)/31 0.4516 = 36 -> 3 steps.
        // 1: 1100 × 12 = 13200 − round4(1000 × 0.1 / 31) 3.2258 × 5 = 13183.8710
        // 2: 1210 × 12 = 14520 − round4(1100 × 0.1 / 31) 3.5484 × 5 = 14502.2580
        // 3: 1331 × dayCompare(Mar 15 2025, D) 12 = 15972 − 3.9032 × 5 = 15952.4840
        // total 45638.6130 -> 45638.61
        (
            FeeTerms {
                deadline: end("2026-03-14"),
                ..rent("2023-01-15", dec!(1000), dec!(0.1), 12, "2023-03-20")
            },
            "2026-06-01",
            dec!(38),
            dec!(45638.61),
            "2026-03-15",
        ),
        // Rate start Mar 10 before the fee start's day 20: R' = Mar 20, nothing taken back.
        // D = Jun 19 23:59:59: before R' 1000 × 2 = 2000; dayCompare(Mar 20, D) = 12/31
        // 0.3871 + 2 + (18 d 23:59:00)/30 0.6333 = 3.0204 -> 1 step: 1050 × 3.0204 =
        // 3171.42; total 5171.42. Owed months dayCompare(Jan 20, Jun 20) = 5.
        (
            FeeTerms {
                deadline: end("2023-06-19"),
                ..rent("2023-01-20", dec!(1000), dec!(0.05), 12, "2023-03-10")
            },
            "2023-07-01",
            dec!(5),
            dec!(5171.42),
            "2023-06-20",
        ),
        // Paid past R' (E Jul 1 2023, R' Jun 1): as of Aug 1 2024 the target is Jul 31 2024
        // 23:59:59 (19 rounds), owed dayCompare(Jul 1 2023, Aug 1 2024) = 13.
        // dayCompare(Jun 1 2023, target) = 13 + 0.99998 -> 14 -> 2 steps:
        // 1: 1050 × dayCompare(Jul 1 2023, Jun 1 2024) 11 = 11550 (Jun 1 not strictly inside)
        // 2: 1102.5 × dayCompare(Jun 1 2024, target) 2 = 2205; total 13755.00
        (
            FeeTerms {
                paid_through: at("2023-07-01"),
                ..rent("2023-01-01", dec!(1000), dec!(0.05), 12, "2023-06-01")
            },
            "2024-08-01",
            dec!(13),
            dec!(13755.00),
            "2024-08-01",
        ),
    ]);
}

/// Rules 9 and 12 — only 2006012 is one-off; D (attribute 390010) caps the target.
#[test]
fn intermittent_accrues_and_the_deadline_caps() {
    check_owed(vec![
        // 4012024 postpaid, now Mar 15: 2 + 14/31 = 2.4516 -> 2 rounds -> owed 2, 200.00
        (
            FeeTerms {
                fee_flag: FeeFlag::Intermittent,
                ..terms()
            },
            "2023-03-15",
            dec!(2),
            dec!(200.00),
            "2023-03-01",
        ),
        // 2006012: owed once (1 × price) once E − prepaymentPeriod <= now
        (
            FeeTerms {
                fee_flag: FeeFlag::OneOff,
                deadline: end("2023-03-31"),
                ..terms()
            },
            "2023-03-15",
            dec!(1),
            dec!(100.00),
            "2023-04-01",
        ),
        // D = Mar 15 23:59:59 while max end is 2025: now Jul 1 -> 6 rounds capped at D,
        // owed dayCompare(Jan 1, Mar 16) = 2 + 15/31 0.4839 = 2.4839 -> 248.39
        (
            FeeTerms {
                deadline: end("2023-03-15"),
                ..terms()
            },
            "2023-07-01",
            dec!(2.4839),
            dec!(248.39),
            "2023-03-16",
        ),
    ]);
}

/// (terms, request, received, receivable given) -> (new paid-through, months, receivable,
/// finished)
type PayCase = (
    FeeTerms,
    PayRequest,
    Decimal,
    Option<Decimal>,
    (&'static str, Decimal, Decimal, bool),
);

/// Rules 6, 7 and 11 — `PayFeeCmd.addFeeDetail` / `modifyFee`: cycles are months; receivable
/// cycles × price half-even; -101/-103/-105 record received ÷ price as cycles and the request's
/// receivable (else the quote), never below the received amount; nothing is refused as
/// underpaid.
#[test]
fn pay_fee_follows_pay_fee_cmd() {
    let quarterly = FeeTerms {
        payment_cycle_months: 3,
        ..terms()
    };
    let cases: Vec<PayCase> = vec![
        // paymentCycle 3 paid with cycles 3: 3 months, Jan 1 + 3 = Apr 1; 3 × 100 = 300.00
        (
            quarterly.clone(),
            PayRequest::Cycles(dec!(3)),
            dec!(300),
            None,
            ("2023-04-01", dec!(3), dec!(300.00), false),
        ),
        // paymentCycle 12, cycles 1.5: Feb 1 + 0.5 × 28 d × 24 h = 336 h -> Feb 15; 150.00
        (
            FeeTerms {
                payment_cycle_months: 12,
                ..terms()
            },
            PayRequest::Cycles(dec!(1.5)),
            dec!(150),
            None,
            ("2023-02-15", dec!(1.5), dec!(150.00), false),
        ),
        // receivable half-even: 1 × 100.125 -> 100.12
        (
            FeeTerms {
                monthly_price: dec!(100.125),
                ..terms()
            },
            PayRequest::Cycles(dec!(1)),
            dec!(100.12),
            None,
            ("2023-02-01", dec!(1), dec!(100.12), false),
        ),
        // underpaid cycles: 1 month receivable 100.00, 50 received, accepted
        (
            terms(),
            PayRequest::Cycles(dec!(1)),
            dec!(50),
            None,
            ("2023-02-01", dec!(1), dec!(100.00), false),
        ),
        // -103 to Feb 14: quote 100 × dayCompare(Jan 1, Feb 14 00:00) = 1 + 13/28 0.4643 =
        // 146.43; received 140 accepted; cycles 140 / 100 = 1.4; E Feb 15
        (
            terms(),
            PayRequest::UpTo(end("2023-02-14")),
            dec!(140),
            None,
            ("2023-02-15", dec!(1.4), dec!(146.43), false),
        ),
        // -103 with receivableAmount 120 < received 140: the receivable becomes 140
        (
            terms(),
            PayRequest::UpTo(end("2023-02-14")),
            dec!(140),
            Some(dec!(120)),
            ("2023-02-15", dec!(1.4), dec!(140), false),
        ),
        // -101 250: cycles 250 / 100 = 2.5; Mar 1 + 0.5 × 31 d × 24 h = 372 h -> Mar 16 12:00
        (
            terms(),
            PayRequest::Amount(dec!(250)),
            dec!(250),
            None,
            ("2023-03-16 12:00:00", dec!(2.5), dec!(250), false),
        ),
        // cycles 6 with D Jun 30: Jan 1 + 6 = Jul 1 <= D + 1 day; Jul 1 > D -> end D,
        // E Jul 1; max end 2025 not passed, still in progress
        (
            FeeTerms {
                deadline: end("2023-06-30"),
                ..terms()
            },
            PayRequest::Cycles(dec!(6)),
            dec!(600),
            None,
            ("2023-07-01", dec!(6), dec!(600.00), false),
        ),
        // past max end (config end Dec 31 2023): 12 months -> E Jan 1 2024 > max end, finished
        (
            FeeTerms {
                deadline: end("2023-12-31"),
                max_end: end("2023-12-31"),
                ..terms()
            },
            PayRequest::Cycles(dec!(12)),
            dec!(1200),
            None,
            ("2024-01-01", dec!(12), dec!(1200.00), true),
        ),
        // -105 Mar 1 .. Apr 30: quote 100 × dayCompare(Mar 1, Apr 30 00:00) = 1 + 29/30
        // 0.9667 = 196.67 < 200 received -> 200; cycles 2; E May 1
        (
            terms(),
            PayRequest::Period {
                start: at("2023-03-01"),
                end: end("2023-04-30"),
            },
            dec!(200),
            None,
            ("2023-05-01", dec!(2), dec!(200), false),
        ),
    ];
    for (i, (t, req, received, given, (new_end, cycles, receivable, finished))) in
        cases.into_iter().enumerate()
    {
        let o = pay(&t, &req, received, given).unwrap();
        assert_eq!(
            (o.new_paid_through, o.cycles, o.receivable, o.finished),
            (at(new_end), cycles, receivable, finished),
            "case {i}: {req:?}"
        );
    }
    // -105 leaves Jan 1 .. Feb 28 23:59:59 owed as a new fee, and the paid period starts Mar 1
    let o = pay(
        &terms(),
        &PayRequest::Period {
            start: at("2023-03-01"),
            end: end("2023-04-30"),
        },
        dec!(200),
        None,
    )
    .unwrap();
    assert_eq!(o.paid_from, at("2023-03-01"));
    assert_eq!(
        o.gap,
        Some(Gap {
            start: at("2023-01-01"),
            deadline: end("2023-02-28"),
        })
    );
}

/// Rule 8 — upstream's refusal texts.
#[test]
fn pay_refusals_carry_upstream_messages() {
    let short = FeeTerms {
        deadline: end("2023-06-30"),
        ..terms()
    };
    // Jan 1 + 7 months = Aug 1 > Jun 30 23:59:59 + 1 day
    let e = pay(&short, &PayRequest::Cycles(dec!(7)), dec!(700), None).unwrap_err();
    assert_eq!(e, PayError::PastDeadline);
    assert_eq!(
        e.to_string(),
        "缴费周期超过 缴费结束时间,请用按结束时间方式缴费"
    );
    // -101 of 40 months' money against a max end in 2023: E May 1 2026 is more than 30 days
    // past it
    let capped = FeeTerms {
        max_end: end("2023-12-31"),
        ..terms()
    };
    let e = pay(&capped, &PayRequest::Amount(dec!(4000)), dec!(4000), None).unwrap_err();
    assert_eq!(e.to_string(), "缴费超过了 费用项结束时间");
    let finished = FeeTerms {
        state: FeeState::Finished,
        ..terms()
    };
    let e = pay(&finished, &PayRequest::Cycles(dec!(1)), dec!(100), None).unwrap_err();
    assert_eq!(e.to_string(), "收费已经结束，不能再缴费");
}

fn config(payment_cd: PaymentCd, end_date: &str) -> FeeConfig {
    FeeConfig {
        community_id: "c".into(),
        config_id: "cfg".into(),
        fee_type_cd: "1001".into(),
        fee_name: "物业费".into(),
        fee_flag: FeeFlag::Periodic,
        start_time: at("2023-01-01"),
        end_time: end(end_date),
        computing_formula: "2002".into(),
        square_price: Money::new(dec!(0)),
        additional_amount: Money::new(dec!(350)),
        bill_type: BillType::Monthly,
        payment_cd,
        payment_cycle: 1,
        state: ConfigState::Normal,
        scale: None,
        decimal_place: None,
        prepayment_period: None,
    }
}

fn rule(max_time: &str, month_cycle: u32) -> BillRule {
    BillRule {
        community_id: "c".into(),
        rule_id: "r".into(),
        batch_id: "b".into(),
        config_id: "cfg".into(),
        payer_obj_id: "room".into(),
        payer_obj_name: "1-1".into(),
        income_obj_id: "store".into(),
        fee_type_cd: "1001".into(),
        state: FeeState::InProgress,
        start_time: at("2023-01-01"),
        deadline_time: end("2023-06-30"),
        amount: None,
        owner: Owner {
            owner_id: "o".into(),
            owner_name: "张三".into(),
            owner_tel: None,
        },
        max_time: Some(end(max_time)),
        month_cycle: Some(month_cycle),
        paid_months: BTreeSet::new(),
    }
}

/// Rule 10 — bill mode (`CycleConvertOnceFeeImpl.computeTargetEndTime`, `ruleGeneratePayFee`):
/// bills start before the target; each owes price × PAY_FEE_MONTH_CYCLE, no proration.
#[test]
fn bill_mode_follows_the_rule_generator() {
    let room = Room {
        community_id: "c".into(),
        room_id: "room".into(),
        room_num: "1-1".into(),
        built_up_area: dec!(100),
        room_area: dec!(80),
        room_rent: Money::new(dec!(0)),
        owner: None,
    };
    // (config, rule, now, bills as (yyyyMM, amount owed))
    let cases = [
        // postpaid, now Mar 15: 2 + 14/31 = 2.4516 -> 2 rounds -> target Mar 1 (not the
        // rule's endTime Jan 1): January and February, 350 each
        (
            config(PaymentCd::Postpaid, "2023-12-31"),
            rule("2023-12-31", 1),
            "2023-03-15",
            vec![("202301", dec!(350)), ("202302", dec!(350))],
        ),
        // prepaid, same day: 2 + 1 rounds -> Apr 1: January to March
        (
            config(PaymentCd::Prepaid, "2023-12-31"),
            rule("2023-12-31", 1),
            "2023-03-15",
            vec![
                ("202301", dec!(350)),
                ("202302", dec!(350)),
                ("202303", dec!(350)),
            ],
        ),
        // postpaid, now Jan 10: 0 rounds end on the rule's endTime (its start) and now is
        // after it -> 1 round: target Feb 1, the January bill
        (
            config(PaymentCd::Postpaid, "2023-12-31"),
            rule("2023-12-31", 1),
            "2023-01-10",
            vec![("202301", dec!(350))],
        ),
        // PAY_FEE_MONTH_CYCLE 3, prepaid, now Mar 15: target Apr 1; the one bill Jan 1 ->
        // Apr 1 owes 3 × 350 = 1050
        (
            config(PaymentCd::Prepaid, "2023-12-31"),
            rule("2023-12-31", 3),
            "2023-03-15",
            vec![("202301", dec!(1050))],
        ),
        // max_time (config end) Mar 15, prepaid, now Mar 10: 3 rounds -> Apr 1 capped at
        // Mar 15 00:00 (date only): bills Jan, Feb and Mar 1 -> Mar 15, the last one in full
        (
            config(PaymentCd::Prepaid, "2023-03-15"),
            rule("2023-03-15", 1),
            "2023-03-10",
            vec![
                ("202301", dec!(350)),
                ("202302", dec!(350)),
                ("202303", dec!(350)),
            ],
        ),
    ];
    for (i, (config, rule, now, want)) in cases.into_iter().enumerate() {
        let got: Vec<(String, Decimal)> = rule
            .months_as_of(&config, at(now))
            .into_iter()
            .map(|m| {
                let t = rule.month_terms(&m, &config, &room).unwrap();
                (m.month.clone(), owed_as_of(&t, at(now)).amount)
            })
            .collect();
        let want: Vec<(String, Decimal)> =
            want.into_iter().map(|(m, a)| (m.to_string(), a)).collect();
        assert_eq!(got, want, "case {i} as of {now}");
    }
    assert_eq!(PAYER_OBJ_TYPE_ROOM, "3333");
}

/// Events written before issue 16 decode unchanged: the new fields are optional and default to
/// the old behaviour (no scale/decimalPlace/prepaymentPeriod, a bill rule billing monthly up to
/// its deadline, a payment without a gap fee).
#[test]
fn events_from_before_issue_16_still_decode() {
    use crate::event::Event;
    let config = r#"{"config":{"communityId":"c","configId":"cfg","feeTypeCd":"1001","feeName":"物业费","feeFlag":"1003006","startTime":"2023-01-01 00:00:00","endTime":"2023-12-31 23:59:59","computingFormula":"2002","squarePrice":"0","additionalAmount":"350","billType":"002","paymentCd":"2100","paymentCycle":1,"state":"N"}}"#;
    let Event::FeeConfigCreated(e) = Event::decode("fee_config.created", 1, config).unwrap() else {
        panic!("a fee_config.created")
    };
    assert_eq!(
        (
            e.config.scale,
            e.config.decimal_place,
            e.config.prepayment_period
        ),
        (None, None, None)
    );
    assert_eq!(e.config.rounding(), Rounding::default());
    let rule = r#"{"rule":{"communityId":"c","ruleId":"r","batchId":"b","configId":"cfg","payerObjId":"room","payerObjName":"1-1","incomeObjId":"store","feeTypeCd":"1001","state":"2008001","startTime":"2023-01-01 00:00:00","deadlineTime":"2023-02-28 23:59:59","owner":{"ownerId":"o","ownerName":"张三","ownerTel":null}}}"#;
    let Event::BillRuleCreated(e) = Event::decode("bill_rule.created", 1, rule).unwrap() else {
        panic!("a bill_rule.created")
    };
    assert_eq!((e.rule.max_time, e.rule.cycle()), (None, 1));
    // Without max_time the bills stop at the deadline's date: prepaid as of Jun 1 the target
    // (6 rounds -> Jul 1) is capped at Feb 28 00:00, so January and February exist.
    let months: Vec<String> = e
        .rule
        .months_as_of(&config_of(PaymentCd::Prepaid), at("2023-06-01"))
        .into_iter()
        .map(|m| m.month)
        .collect();
    assert_eq!(months, vec!["202301", "202302"]);
    let paid = r#"{"communityId":"c","feeId":"f","detailId":"d","cycles":"1","receivableAmount":"350.00","receivedAmount":"350.00","startTime":"2023-01-01 00:00:00","endTime":"2023-02-01 00:00:00","state":"2008001","payTime":"2023-01-05 00:00:00"}"#;
    let Event::FeePaid(e) = Event::decode("fee.paid", 1, paid).unwrap() else {
        panic!("a fee.paid")
    };
    assert_eq!(e.gap_fee, None);
}

fn config_of(payment_cd: PaymentCd) -> FeeConfig {
    config(payment_cd, "2023-12-31")
}
