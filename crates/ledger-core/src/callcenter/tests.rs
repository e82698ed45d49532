//! Decider and report tests: commands in, events out; aggregates in, query rows out. Expected
//! values are hand-computed, the arithmetic in the comments.

use super::report::{Books, CostCenter, Filter, Paging, UsageCell, select};
use super::*;
use crate::command::{Command, DecideContext, decide};
use crate::envelope::{EventDraft, Sha256Hash};
use crate::event::Event;
use crate::rejection::Rejection;
use crate::state::State;
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::BTreeMap;

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn march() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 3, 1).unwrap()
}

/// The seed's rule: 0.16/min × 0.98 for 5 units, then 1.0/min × 0.97; 60 s units.
pub(crate) fn per_minute_rule(call_type: &str) -> CallFeeRule {
    CallFeeRule {
        call_type: call_type.into(),
        billing_mode: "单一".into(),
        first_section_price: dec!(0.16),
        section_time: 5,
        first_section_discount: dec!(0.98),
        second_section_price: dec!(1.0),
        second_section_discount: dec!(0.97),
        billing_unit_s: 60,
    }
}

/// Line A: minimum 2 × 50 = 100; fixed 100 + 20 + 5 + 3.5 = 128.50.
fn line_a() -> Tariff {
    Tariff {
        tariff_id: 101,
        city_id: 71,
        workplace_id: 67,
        operator_code: 43,
        line_batch: "JN-02-DX-01".into(),
        line_quantity: 2,
        did: "0411882544".into(),
        number_detail: String::new(),
        minimum_charge_unit_price: dec!(50),
        minimum_charge_total_price: dec!(0),
        month_rent_fee: dec!(100),
        number_use_fee: dec!(20),
        caller_identify_fee: dec!(5),
        ring_fee: dec!(3.5),
        call_fee: vec![per_minute_rule("本地手机")],
        discounts: vec![],
        fee_remark: String::new(),
        take_effect_time: None,
        invalid_time: None,
        enabled: true,
    }
}

/// Line B: 6 s units, 50 units at 0.015 × 0.9 = 0.0135, then 0.012 × 0.95 = 0.0114; minimum 10
/// (total price), month rent 30; 10% off usage above 5 yuan.
fn line_b() -> Tariff {
    Tariff {
        tariff_id: 102,
        did: "041188990000".into(),
        line_batch: "JN-02-DX-02".into(),
        line_quantity: 1,
        minimum_charge_unit_price: dec!(0),
        minimum_charge_total_price: dec!(10),
        month_rent_fee: dec!(30),
        number_use_fee: dec!(0),
        caller_identify_fee: dec!(0),
        ring_fee: dec!(0),
        call_fee: vec![CallFeeRule {
            call_type: "本地固话".into(),
            billing_mode: "单一".into(),
            first_section_price: dec!(0.015),
            section_time: 50,
            first_section_discount: dec!(0.9),
            second_section_price: dec!(0.012),
            second_section_discount: dec!(0.95),
            billing_unit_s: 6,
        }],
        discounts: vec![DiscountRule {
            name: "超阈值优惠".into(),
            tel_fee_threshold: dec!(5),
            max_discount: Some(dec!(0.1)),
            discount_type: None,
        }],
        ..line_a()
    }
}

fn call(id: &str, did: &str, call_type: &str, start: &str, duration_s: u32) -> CallRecord {
    CallRecord {
        call_id: id.into(),
        did: did.into(),
        line_prefix: "JN-02".into(),
        city_id: 71,
        workplace_id: 67,
        operator_code: 43,
        bg: "房产".into(),
        bu: "二手房".into(),
        business_line: "黄页".into(),
        call_type: call_type.into(),
        number_type: "联通手机".into(),
        start_time: at(start),
        duration_s,
    }
}

/// Decides and, when accepted, folds the events into the state (as the writer does).
fn run(state: &mut State, id: &str, command: Command) -> Result<Vec<Event>, Rejection> {
    let ctx = DecideContext {
        command_id: id,
        now: at("2022-04-01 00:00:00"),
    };
    let events = decide(state, &command, &ctx)?;
    let mut prev = Sha256Hash::GENESIS;
    for (i, event) in events.iter().enumerate() {
        let draft = EventDraft {
            event_id: uuid::Uuid::nil(),
            command_id: id.into(),
            key: command.partition_key(),
            recorded_at: chrono::DateTime::UNIX_EPOCH,
            effective_at: event.effective_at(),
            actor: None,
            body_sha256: None,
            event: event.clone(),
        };
        let (env, _) = draft.seal(0, i as u64, prev);
        prev = env.hash;
        state.apply(&env);
    }
    Ok(events)
}

fn recorded(events: Vec<Event>) -> CallsRecorded {
    match events.as_slice() {
        [Event::CallsRecorded(e)] => e.clone(),
        other => panic!("expected one calls.recorded, got {other:?}"),
    }
}

fn configured() -> State {
    let mut state = State::default();
    run(&mut state, "c1", Command::TariffConfigure(line_a())).unwrap();
    run(&mut state, "c2", Command::TariffConfigure(line_b())).unwrap();
    state
}

#[test]
fn configure_is_create_only_and_checks_the_validity_window() {
    let mut state = configured();
    assert_eq!(
        run(&mut state, "c3", Command::TariffConfigure(line_a())),
        Err(Rejection::Conflict {
            message: "tariff 101 already exists; change it with PUT /api/bill/fee/edit/101".into()
        })
    );
    let mut bad = line_a();
    bad.tariff_id = 103;
    bad.take_effect_time = Some(at("2022-03-01 00:00:00"));
    bad.invalid_time = Some(at("2022-03-01 00:00:00"));
    assert_eq!(
        run(&mut state, "c4", Command::TariffConfigure(bad))
            .unwrap_err()
            .field(),
        Some("invalid_time")
    );
    assert_eq!(
        Command::TariffConfigure(line_a()).partition_key(),
        "city:71"
    );
}

#[test]
fn edit_changes_only_the_given_fields_and_keeps_the_city() {
    let mut state = configured();
    let edit = |city_id, changes| {
        Command::TariffEdit(TariffEdit {
            tariff_id: 101,
            city_id,
            changes,
        })
    };
    let events = run(
        &mut state,
        "e1",
        edit(
            71,
            TariffChanges {
                month_rent_fee: Some(dec!(200)),
                fee_remark: Some("涨价".into()),
                ..Default::default()
            },
        ),
    )
    .unwrap();
    let expected = Tariff {
        month_rent_fee: dec!(200),
        fee_remark: "涨价".into(),
        ..line_a()
    };
    assert_eq!(
        events,
        vec![Event::TariffEdited(TariffEdited {
            tariff: expected.clone()
        })]
    );
    assert_eq!(state.callcenter.tariffs[&101], expected);

    let moved = run(&mut state, "e2", edit(72, TariffChanges::default())).unwrap_err();
    assert_eq!(moved.field(), Some("city_id"));
    let missing = Command::TariffEdit(TariffEdit {
        tariff_id: 999,
        city_id: 71,
        changes: TariffChanges::default(),
    });
    assert_eq!(
        run(&mut state, "e3", missing),
        Err(Rejection::NotFound {
            message: "tariff 999 not found".into()
        })
    );
}

#[test]
fn rating_table_through_the_decider() {
    // (duration_s, units, weight_s, fee) on the seed rule, 60 s units, section 5 units:
    // first unit 0.16 × 0.98 = 0.1568, later units 1.0 × 0.97 = 0.97.
    let table = [
        (0, 0, 0, dec!(0)),           // zero-second call costs nothing
        (1, 1, 60, dec!(0.1568)),     // a started unit is a whole unit
        (60, 1, 60, dec!(0.1568)),    // exactly one unit
        (61, 2, 120, dec!(0.3136)),   // 2 × 0.1568
        (300, 5, 300, dec!(0.7840)),  // the section boundary: 5 × 0.1568
        (301, 6, 360, dec!(1.7540)),  // 0.784 + 1 × 0.97
        (360, 6, 360, dec!(1.7540)),  // same units as 301 s
        (601, 11, 660, dec!(6.6040)), // 0.784 + 6 × 0.97 = 0.784 + 5.82
    ];
    let mut state = configured();
    let calls: Vec<CallRecord> = table
        .iter()
        .enumerate()
        .map(|(i, (d, ..))| {
            call(
                &format!("r{i}"),
                "04118825440001",
                "本地手机",
                "2022-03-01 10:00:00",
                *d,
            )
        })
        .collect();
    let e = recorded(
        run(
            &mut state,
            "calls",
            Command::CallsRecord(CallsRecord { city_id: 71, calls }),
        )
        .unwrap(),
    );
    assert!(e.duplicates.is_empty() && e.unrated.is_empty());
    for ((d, units, weight, fee), rated) in table.iter().zip(&e.calls) {
        assert_eq!(rated.tariff_id, 101, "{d} s");
        assert_eq!(
            (rated.units, rated.weight_duration_s, rated.fee),
            (*units, *weight, *fee),
            "{d} s"
        );
    }
}

#[test]
fn repeated_call_ids_are_ignored_and_unrated_calls_stay_free() {
    let mut state = configured();
    let batch = |calls| Command::CallsRecord(CallsRecord { city_id: 71, calls });
    let first = recorded(
        run(
            &mut state,
            "b1",
            batch(vec![
                call("x1", "0411882544", "本地手机", "2022-03-01 10:00:00", 60),
                call("x1", "0411882544", "本地手机", "2022-03-01 10:00:00", 60),
                call("x2", "0411882544", "国际长途", "2022-03-01 10:00:00", 60),
                call("x3", "999", "本地手机", "2022-03-01 10:00:00", 60),
            ]),
        )
        .unwrap(),
    );
    assert_eq!(first.calls.len(), 1);
    assert_eq!(first.duplicates, vec!["x1".to_string()]);
    assert_eq!(
        first.unrated,
        vec![
            UnratedCall {
                call_id: "x2".into(),
                reason: "tariff 101 has no rule for call_type 国际长途".into()
            },
            UnratedCall {
                call_id: "x3".into(),
                reason: "no tariff covers did 999 in city 71".into()
            },
        ]
    );
    let second = recorded(
        run(
            &mut state,
            "b2",
            batch(vec![
                call("x1", "0411882544", "本地手机", "2022-03-02 10:00:00", 600),
                call("x2", "0411882544", "本地手机", "2022-03-01 10:00:00", 60),
            ]),
        )
        .unwrap(),
    );
    assert_eq!(second.duplicates, vec!["x1".to_string()]);
    assert_eq!(
        second.calls[0].call.call_id, "x2",
        "an unrated id can be resent"
    );

    let mixed = batch(vec![CallRecord {
        city_id: 72,
        ..call("y1", "0411882544", "本地手机", "2022-03-01 10:00:00", 60)
    }]);
    assert_eq!(
        run(&mut state, "b3", mixed).unwrap_err().field(),
        Some("calls[0].city_id")
    );
}

#[test]
fn disabled_or_out_of_window_tariffs_rate_nothing_and_specific_segments_win() {
    let mut state = configured();
    let mut narrow = line_a();
    narrow.tariff_id = 105;
    narrow.did = "04118825440001".into();
    narrow.call_fee = vec![CallFeeRule {
        first_section_price: dec!(0.10),
        first_section_discount: dec!(1),
        ..per_minute_rule("本地手机")
    }];
    narrow.take_effect_time = Some(at("2022-03-10 00:00:00"));
    narrow.invalid_time = Some(at("2022-03-20 00:00:00"));
    run(&mut state, "c5", Command::TariffConfigure(narrow)).unwrap();
    let rate = |state: &mut State, id: &str, start: &str| {
        recorded(
            run(
                state,
                id,
                Command::CallsRecord(CallsRecord {
                    city_id: 71,
                    calls: vec![call(id, "04118825440001", "本地手机", start, 60)],
                }),
            )
            .unwrap(),
        )
    };
    // before the narrow tariff's window: the segment tariff 101 (0.1568)
    let e = rate(&mut state, "w1", "2022-03-09 23:59:59");
    assert_eq!((e.calls[0].tariff_id, e.calls[0].fee), (101, dec!(0.1568)));
    // inside: the more specific 105 (1 × 0.10 × 1)
    let e = rate(&mut state, "w2", "2022-03-10 00:00:00");
    assert_eq!((e.calls[0].tariff_id, e.calls[0].fee), (105, dec!(0.10)));
    // invalid_time is exclusive
    let e = rate(&mut state, "w3", "2022-03-20 00:00:00");
    assert_eq!(e.calls[0].tariff_id, 101);

    for (i, id) in [101u64, 105].into_iter().enumerate() {
        run(
            &mut state,
            &format!("off{i}"),
            Command::TariffSetState(TariffSetState {
                tariff_id: id,
                city_id: 71,
                enabled: false,
            }),
        )
        .unwrap();
    }
    let e = rate(&mut state, "w4", "2022-03-15 00:00:00");
    assert!(e.calls.is_empty());
    assert_eq!(
        e.unrated[0].reason,
        "no tariff covering did 04118825440001 is enabled and in force at 2022-03-15 00:00:00"
    );
}

#[test]
fn did_segments_cover_prefixes_and_ranges() {
    use super::tariff::did_specificity;
    let table = [
        ("0411882544", "041188254440", Some(10)),
        ("041188254440", "041188254440", Some(12)),
        ("0411882544", "0411882545", None),
        ("041188254440-041188254449", "041188254445", Some(11)),
        ("041188254440-041188254449", "041188254450", None),
        ("041188254440-041188254449", "41188254445", None), // other length
        // a tariff configured without did covers every DID of its city, least specifically
        ("", "041188254440", Some(0)),
    ];
    for (segment, did, want) in table {
        assert_eq!(did_specificity(segment, did), want, "{segment} ~ {did}");
    }
}

/// The month of CDRs of the e2e test, aggregated by hand:
/// - line A, every day of March: a 60 s call (1 unit, 0.1568; 房产/二手房/黄页) and a 360 s call
///   (6 units, 5 × 0.1568 + 0.97 = 1.7540; 招聘/蓝领/招聘);
/// - line B, every day: a 600 s call (100 units of 6 s: 50 × 0.0135 + 50 × 0.0114 = 1.2450;
///   房产/二手房/黄页).
fn march_usage() -> Vec<UsageCell> {
    let cell = |tariff_id, bg: &str, bu: &str, bl: &str, bill| UsageCell {
        city_id: 71,
        tariff_id,
        month: march(),
        bg: bg.into(),
        bu: bu.into(),
        business_line: bl.into(),
        bill,
    };
    vec![
        // 31 × 60 s; 31 × 0.1568 = 4.8608
        cell(
            101,
            "房产",
            "二手房",
            "黄页",
            LineBill {
                call_amount: 31,
                call_duration_s: 1860,
                weight_duration_s: 1860,
                call_fee: dec!(4.8608),
            },
        ),
        // 31 × 360 s; 31 × 1.7540 = 54.3740
        cell(
            101,
            "招聘",
            "蓝领",
            "招聘",
            LineBill {
                call_amount: 31,
                call_duration_s: 11160,
                weight_duration_s: 11160,
                call_fee: dec!(54.3740),
            },
        ),
        // 31 × 600 s; 31 × 1.2450 = 38.5950
        cell(
            102,
            "房产",
            "二手房",
            "黄页",
            LineBill {
                call_amount: 31,
                call_duration_s: 18600,
                weight_duration_s: 18600,
                call_fee: dec!(38.5950),
            },
        ),
    ]
}

fn report(did: &str, duration_s: u64, fee: Decimal) -> OperatorBill {
    OperatorBill {
        bill_month: march(),
        did: did.into(),
        city_id: 71,
        workplace_id: 67,
        operator_code: 43,
        bg: "房产".into(),
        bu: "二手房".into(),
        fee_strategy: "标准资费".into(),
        fee_state: true,
        call_duration_s: duration_s,
        tel_fee_total: fee,
        remark: String::new(),
    }
}

#[test]
fn a_month_of_two_lines_settles_verifies_and_shares() {
    let tariffs = [line_a(), line_b()];
    let usage = march_usage();
    let reports = [
        report("0411882544", 13020, dec!(228.50)),
        report("041188990000", 18000, dec!(70.00)),
    ];
    let centers = BTreeMap::from([(
        ("房产".to_string(), "二手房".to_string()),
        CostCenter {
            cost_center: "房产人力资源部".into(),
            cost_center_code: "67.10.00.34.09".into(),
        },
    )]);
    let books = Books {
        tariffs: &tariffs,
        usage: &usage,
        reports: &reports,
        cost_centers: &centers,
    };

    let bills = books.system_bills();
    // A: usage 4.8608 + 54.3740 = 59.2348 → 59.23; minimum 100 → top-up 40.77; fixed 128.50;
    //    total 59.23 + 40.77 + 128.50 = 228.50
    assert_eq!(
        bills[0].settlement,
        Settlement {
            call_fee: dec!(59.23),
            minimum_charge_fee: dec!(40.77),
            fixed_fee: dec!(128.50),
            discount: dec!(0),
            total_tel_fee: dec!(228.50),
            minimum_charge_compare: false,
        }
    );
    // B: usage 38.595 → 38.60; discount (38.60 − 5) × 0.1 = 3.36; net 35.24 ≥ 10; fixed 30;
    //    total 35.24 + 30 = 65.24
    assert_eq!(
        bills[1].settlement,
        Settlement {
            call_fee: dec!(38.60),
            minimum_charge_fee: dec!(0),
            fixed_fee: dec!(30.00),
            discount: dec!(3.36),
            total_tel_fee: dec!(65.24),
            minimum_charge_compare: true,
        }
    );

    let ops = books.operator_rows();
    assert_eq!(ops.len(), 1);
    let op = &ops[0];
    assert_eq!(
        (op.call_amount, op.call_duration_s, op.weight_duration_s),
        (93, 31620, 31620)
    );
    assert_eq!(op.tel_fee, dec!(97.83)); // 59.23 + 38.60
    assert_eq!(op.call_fee, dec!(94.47)); // 59.23 + 35.24
    assert_eq!(op.minimum_charge_fee, dec!(40.77));
    assert_eq!(op.fixed_fee, dec!(158.50)); // 128.50 + 30
    assert_eq!(op.total_tel_fee, dec!(293.74)); // 228.50 + 65.24
    assert!(!op.minimum_charge_compare, "line A is below its minimum");
    assert!(op.report_state);
    assert_eq!(op.operator_total, dec!(298.50));

    let verify = books.verify_rows();
    assert_eq!(verify.len(), 2);
    assert_eq!(verify[0].did, "0411882544");
    assert_eq!(verify[0].line_prefix, "JN-02-DX-01");
    assert_eq!(
        (verify[0].time_diff.as_str(), verify[0].fee_diff.as_str()),
        ("0.00%", "0.00%")
    );
    // B: (18600 − 18000) / 18000 = +3.333…%; (65.24 − 70) / 70 = −6.8%
    assert_eq!(verify[1].did, "041188990000");
    assert_eq!(
        (
            verify[1].operator_call_duration_s,
            verify[1].billing_call_duration_s
        ),
        (18000, 18600)
    );
    assert_eq!(
        (verify[1].time_diff.as_str(), verify[1].fee_diff.as_str()),
        ("3.33%", "-6.80%")
    );

    // weights: 房产/二手房 1860 + 18600 = 20460, 招聘/蓝领 11160 (of 31620 = 527 × 60)
    // system 293.74 × 341/527 = 190.067… → 190.07; × 186/527 = 103.672… → 103.67
    // operator 298.50 × 341/527 = 193.147… → 193.15; × 186/527 = 105.352… → 105.35
    let share = books.share_rows();
    let got: Vec<(&str, &str, Decimal, Decimal)> = share
        .iter()
        .map(|r| {
            (
                r.bg.as_str(),
                r.cost_center_code.as_str(),
                r.operator_bill_share,
                r.system_bill_share,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("房产", "67.10.00.34.09", dec!(193.15), dec!(190.07)),
            ("招聘", "", dec!(105.35), dec!(103.67)),
        ]
    );
    let sum = |f: fn(&report::ShareRow) -> Decimal| share.iter().map(f).sum::<Decimal>();
    assert_eq!(sum(|r| r.operator_bill_share), op.operator_total);
    assert_eq!(sum(|r| r.system_bill_share), op.total_tel_fee);

    // 房产/二手房/黄页: 4.8608 + 38.5950 = 43.4558 → 43.46; less B's whole discount 3.36 (its
    // only cell): 40.0958 → 40.10. 招聘/蓝领: 54.374 → 54.37, no discount.
    let lines = books.business_line_rows();
    let got: Vec<(&str, u64, Decimal, Decimal)> = lines
        .iter()
        .map(|r| (r.bu.as_str(), r.call_amount, r.fee, r.fee_after_discount))
        .collect();
    assert_eq!(
        got,
        vec![
            ("二手房", 62, dec!(43.46), dec!(40.10)),
            ("蓝领", 31, dec!(54.37), dec!(54.37)),
        ]
    );
}

#[test]
fn a_reported_line_without_calls_still_owes_fixed_fees_and_minimum() {
    let tariffs = [line_a()];
    let reports = [report("0411882544", 0, dec!(228.50))];
    let books = Books {
        tariffs: &tariffs,
        usage: &[],
        reports: &reports,
        cost_centers: &BTreeMap::new(),
    };
    let ops = books.operator_rows();
    // no usage: top-up 100, fixed 128.50, total 228.50
    assert_eq!(
        (
            ops[0].minimum_charge_fee,
            ops[0].fixed_fee,
            ops[0].total_tel_fee
        ),
        (dec!(100.00), dec!(128.50), dec!(228.50))
    );
    let share = books.share_rows();
    assert_eq!(share.len(), 1, "no calls: one row with empty BG/BU");
    assert_eq!(
        (share[0].bg.as_str(), share[0].system_bill_share),
        ("", dec!(228.50))
    );
}

#[test]
fn filters_and_paging() {
    let tariffs = [line_a(), line_b()];
    let usage = march_usage();
    let books = Books {
        tariffs: &tariffs,
        usage: &usage,
        reports: &[],
        cost_centers: &BTreeMap::new(),
    };
    let rows = || books.business_line_rows();
    let all = select(rows(), &Filter::default(), Paging::default());
    assert_eq!(all.total, 2);
    let second = select(rows(), &Filter::default(), Paging { page: 2, limit: 1 });
    assert_eq!(second.total, 2, "total counts before paging");
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].0, 2, "ids continue across pages");
    let by_bu = Filter {
        bu: Some("蓝领".into()),
        ..Default::default()
    };
    assert_eq!(select(rows(), &by_bu, Paging::default()).total, 1);
    let april = Filter {
        bill_from: NaiveDate::from_ymd_opt(2022, 4, 1),
        ..Default::default()
    };
    assert_eq!(select(rows(), &april, Paging::default()).total, 0);
    let mid_march = Filter {
        bill_from: NaiveDate::from_ymd_opt(2022, 3, 15),
        bill_to: NaiveDate::from_ymd_opt(2022, 3, 20),
        ..Default::default()
    };
    assert_eq!(
        select(rows(), &mid_march, Paging::default()).total,
        2,
        "a month counts when any of its days is in the range"
    );
    let unknown_city = Filter {
        city_id: Some(999),
        ..Default::default()
    };
    assert_eq!(select(rows(), &unknown_city, Paging::default()).total, 0);
}

#[test]
fn events_round_trip_with_money_as_strings() {
    let event = Event::TariffConfigured(TariffConfigured { tariff: line_b() });
    let json = serde_json::to_string(&event.payload_ref()).unwrap();
    assert!(json.contains(r#""first_section_price":"0.015""#), "{json}");
    assert!(json.contains(r#""take_effect_time":null"#), "{json}");
    let back = Event::decode("tariff.configured", 1, &json).unwrap();
    assert_eq!(back, event);
}
