//! Domain tests of the property family's room fees: commands in, events and arrears out, each
//! command decided on the state folded from the earlier events (serialized and read back, as
//! the log does).

use super::*;
use crate::command::{Command, DecideContext, decide, derived_id};
use crate::envelope::{EventDraft, EventEnvelope, Sha256Hash};
use crate::event::Event;
use crate::money::Money;
use crate::rejection::Rejection;
use crate::state::State;
use chrono::NaiveDateTime;
use payment::PayRequest;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use time::{parse_end, parse_start};
use view::{FeeView, fee_views};

const C: &str = "123456789";

fn at(s: &str) -> NaiveDateTime {
    parse_start(s).unwrap()
}

fn end(s: &str) -> NaiveDateTime {
    parse_end(s).unwrap()
}

/// A state and the log offset, fed through `decide` and `State::apply`.
#[derive(Default)]
struct World {
    state: State,
    offset: u64,
    prev: Option<Sha256Hash>,
}

impl World {
    fn run_at(&mut self, id: &str, now: &str, cmd: Command) -> Result<Vec<Event>, Rejection> {
        let ctx = DecideContext {
            command_id: id,
            now: at(now),
        };
        let events = decide(&self.state, &cmd, &ctx)?;
        for event in &events {
            let draft = EventDraft {
                event_id: uuid::Uuid::nil(),
                command_id: id.into(),
                key: cmd.partition_key(),
                recorded_at: chrono::DateTime::UNIX_EPOCH,
                effective_at: event.effective_at(),
                actor: None,
                body_sha256: None,
                event: event.clone(),
            };
            let (_, bytes) = draft.seal(0, self.offset, self.prev.unwrap_or(Sha256Hash::GENESIS));
            let env = EventEnvelope::decode(&bytes).expect("events read back");
            assert_eq!(&env.event, event, "the event survives the log");
            self.prev = Some(env.hash);
            self.offset += 1;
            self.state.apply(&env);
        }
        Ok(events)
    }

    fn run(&mut self, id: &str, cmd: Command) -> Result<Vec<Event>, Rejection> {
        self.run_at(id, "2025-01-01", cmd)
    }

    fn ok(&mut self, id: &str, cmd: Command) -> Vec<Event> {
        self.run(id, cmd).unwrap_or_else(|r| panic!("{id}: {r:?}"))
    }

    fn views(&self, room_id: &str, as_of: &str) -> Vec<FeeView> {
        let p = &self.state.property;
        let fees: Vec<RoomFee> = p.fees_of_room(C, room_id).cloned().collect();
        let rules: Vec<BillRule> = p.rules_of_room(C, room_id).cloned().collect();
        fee_views(
            &fees,
            &rules,
            |c, id| self.state.fee_configs.get(c, id),
            |c, id| p.room(c, id),
            at(as_of),
        )
    }

    fn view(&self, fee_id: &str, as_of: &str) -> FeeView {
        self.views("room1001", as_of)
            .into_iter()
            .find(|v| v.fee_id == fee_id)
            .unwrap_or_else(|| panic!("{fee_id} is listed"))
    }
}

fn config(id: &str, formula: &str) -> FeeConfig {
    FeeConfig {
        community_id: C.into(),
        config_id: id.into(),
        fee_type_cd: "1001".into(),
        fee_name: format!("fee {id}"),
        fee_flag: FeeFlag::Periodic,
        start_time: at("2023-01-01"),
        end_time: end("2023-12-31"),
        computing_formula: formula.into(),
        square_price: Money::new(dec!(2.50)),
        additional_amount: Money::new(dec!(100.00)),
        bill_type: BillType::Monthly,
        payment_cd: PaymentCd::Postpaid,
        payment_cycle: 1,
        state: ConfigState::Normal,
        scale: None,
        decimal_place: None,
        prepayment_period: None,
    }
}

fn update_of(c: &FeeConfig) -> FeeConfigUpdate {
    FeeConfigUpdate {
        community_id: c.community_id.clone(),
        config_id: c.config_id.clone(),
        fee_type_cd: c.fee_type_cd.clone(),
        fee_name: c.fee_name.clone(),
        fee_flag: c.fee_flag,
        start_time: c.start_time,
        end_time: c.end_time,
        computing_formula: c.computing_formula.clone(),
        square_price: c.square_price,
        additional_amount: c.additional_amount,
        bill_type: c.bill_type,
        payment_cd: None,
        payment_cycle: None,
        state: None,
        scale: None,
        decimal_place: None,
        prepayment_period: None,
    }
}

fn room(id: &str, owner: bool) -> Room {
    Room {
        community_id: C.into(),
        room_id: id.into(),
        room_num: format!("{id}-num"),
        built_up_area: dec!(100),
        room_area: dec!(80),
        room_rent: Money::new(dec!(1000)),
        owner: owner.then(|| Owner {
            owner_id: "owner1".into(),
            owner_name: "张三".into(),
            owner_tel: Some("13800000000".into()),
        }),
    }
}

/// Seed 004's body.
fn seed_004(config_id: &str) -> RoomFeeCreate {
    RoomFeeCreate {
        community_id: C.into(),
        room_id: "room1001".into(),
        config_id: config_id.into(),
        store_id: "store_001".into(),
        start_time: at("2023-01-01"),
        end_time: end("2023-12-31"),
        rate_cycle: Some(12),
        rate: Some(dec!(0.05)),
        rate_start_time: Some(at("2023-06-01")),
        amount: None,
    }
}

/// A world with the configs (1102 rent, 1001-like expression, 2002 one-off) and room1001.
fn world() -> World {
    let mut w = World::default();
    w.ok("cfg-rent", Command::FeeConfigCreate(config("rent", "1102")));
    w.ok(
        "cfg-prop",
        Command::FeeConfigCreate(config("prop", "面积 * 单价 + 附加费")),
    );
    w.ok(
        "cfg-once",
        Command::FeeConfigCreate(FeeConfig {
            fee_flag: FeeFlag::OneOff,
            ..config("once", "2002")
        }),
    );
    w.ok("room1", Command::RoomUpsert(room("room1001", true)));
    w
}

fn created_fee(events: &[Event]) -> RoomFee {
    match events {
        [Event::RoomFeeCreated(e)] => e.fee.clone(),
        other => panic!("expected one room_fee.created, got {other:?}"),
    }
}

fn pay_cmd(fee_id: &str, request: PayRequest, received: Decimal) -> Command {
    Command::FeePay(FeePay {
        community_id: C.into(),
        fee_id: fee_id.into(),
        request,
        received_amount: Money::new(received),
        receivable_amount: None,
    })
}

#[test]
fn seed_004_creates_a_1102_fee_with_its_attributes() {
    let mut w = world();
    let fee = created_fee(&w.ok(
        "100000000020230101120000000001",
        Command::RoomFeeCreate(seed_004("rent")),
    ));
    assert_eq!(
        fee,
        RoomFee {
            community_id: C.into(),
            fee_id: derived_id("90", "100000000020230101120000000001", "feeId"),
            batch_id: derived_id("12", "100000000020230101120000000001", "batchId"),
            config_id: "rent".into(),
            payer_obj_id: "room1001".into(),
            payer_obj_name: "room1001-num".into(),
            income_obj_id: "store_001".into(),
            fee_type_cd: "1001".into(),
            fee_flag: FeeFlag::Periodic,
            state: FeeState::InProgress,
            start_time: at("2023-01-01"),
            end_time: at("2023-01-01"),
            deadline_time: at("2023-12-31 23:59:59"),
            max_end_time: at("2023-12-31 23:59:59"),
            amount: None,
            owner: room("x", true).owner.unwrap(),
            rent_increase: Some(RentIncrease {
                rate_cycle: 12,
                rate: dec!(0.05),
                rate_start_time: at("2023-06-01"),
            }),
        }
    );
    assert!(fee.fee_id.starts_with("90") && fee.batch_id.starts_with("12"));
    // The same command id derives the same ids.
    let again = created_fee(
        &decide(
            &w.state,
            &Command::RoomFeeCreate(seed_004("rent")),
            &DecideContext {
                command_id: "100000000020230101120000000001",
                now: at("2025-01-01"),
            },
        )
        .unwrap(),
    );
    assert_eq!(again.fee_id, fee.fee_id);
}

#[test]
fn room_fee_rejections_in_upstream_order() {
    let mut w = world();
    w.ok("room2", Command::RoomUpsert(room("room-no-owner", false)));
    let cases: Vec<(RoomFeeCreate, Rejection)> = vec![
        (
            seed_004("no-such-config"),
            Rejection::NotFound {
                message: "当前费用项ID不存在或存在多条".into(),
            },
        ),
        (
            RoomFeeCreate {
                rate_cycle: None,
                ..seed_004("rent")
            },
            Rejection::missing("rateCycle", "未包含递增周期"),
        ),
        (
            RoomFeeCreate {
                rate: None,
                ..seed_004("rent")
            },
            Rejection::missing("rate", "未包含递增率"),
        ),
        (
            RoomFeeCreate {
                rate_start_time: None,
                ..seed_004("rent")
            },
            Rejection::missing("rateStartTime", "未包含递增开始时间"),
        ),
        (
            RoomFeeCreate {
                room_id: "no-such-room".into(),
                ..seed_004("rent")
            },
            Rejection::NotFound {
                message: "未查到需要付费的房屋或未绑定业主".into(),
            },
        ),
        (
            RoomFeeCreate {
                room_id: "room-no-owner".into(),
                ..seed_004("rent")
            },
            Rejection::NotFound {
                message: "未查到需要付费的房屋或未绑定业主".into(),
            },
        ),
        (
            RoomFeeCreate {
                end_time: end("2022-12-31"),
                ..seed_004("rent")
            },
            Rejection::invalid(
                "endTime",
                "计费结束时间不能早于计费起始时间 (endTime is before startTime)",
            ),
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(
            w.run("x", Command::RoomFeeCreate(cmd.clone())),
            Err(want),
            "{cmd:?}"
        );
    }
    // Rate fields are not needed (and ignored) for other formulas.
    let fee = created_fee(&w.ok(
        "prop-without-rate",
        Command::RoomFeeCreate(RoomFeeCreate {
            rate_cycle: None,
            rate: None,
            rate_start_time: None,
            ..seed_004("prop")
        }),
    ));
    assert_eq!(fee.rent_increase, None);
    // 4004 prices with the fee's own amount, so one is required.
    w.ok("cfg-dyn", Command::FeeConfigCreate(config("dyn", "4004")));
    assert_eq!(
        w.run("dyn", Command::RoomFeeCreate(seed_004("dyn"))),
        Err(Rejection::invalid(
            "amount",
            "公式4004需要费用金额 (formula 4004 needs the fee's own amount)"
        ))
    );
}

#[test]
fn one_off_config_fee_deadline_is_the_request_end() {
    let mut w = world();
    let fee = created_fee(&w.ok(
        "once",
        Command::RoomFeeCreate(RoomFeeCreate {
            end_time: end("2023-03-31"),
            ..seed_004("once")
        }),
    ));
    assert_eq!(fee.fee_flag, FeeFlag::OneOff);
    assert_eq!(fee.deadline_time, at("2023-03-31 23:59:59"));
    assert_eq!(fee.max_end_time, at("2023-03-31 23:59:59"));
    // 2002: the additional amount, 100.00, owed once from the start
    let v = w.view(&fee.fee_id, "2023-02-01");
    assert_eq!(
        (v.fee_price, v.owe_months, v.amount_owed),
        (Some(dec!(100.00)), Some(dec!(1)), Some(dec!(100.00)))
    );
}

/// (as of, oweMonths, amountOwed, feePrice)
type ArrearsCase = (&'static str, Decimal, Decimal, Decimal);

fn check_arrears(w: &World, fee_id: &str, cases: &[ArrearsCase]) {
    for (as_of, months, amount, price) in cases {
        let v = w.view(fee_id, as_of);
        assert_eq!(v.owe_months, Some(*months), "oweMonths as of {as_of}");
        assert_eq!(v.amount_owed, Some(*amount), "amountOwed as of {as_of}");
        assert_eq!(v.fee_price, Some(*price), "feePrice as of {as_of}");
    }
}

#[test]
fn arrears_as_of_several_dates() {
    let mut w = world();
    let fee_for = |w: &mut World, id: &str, cfg: FeeConfig, end_date: &str| {
        w.ok(&format!("cfg-{id}"), Command::FeeConfigCreate(cfg));
        created_fee(&w.ok(
            id,
            Command::RoomFeeCreate(RoomFeeCreate {
                end_time: end(end_date),
                ..seed_004(id)
            }),
        ))
        .fee_id
    };
    // 1001-like: 2.50 * 100 + 100 = 350.00 a month
    let postpaid = fee_for(&mut w, "m-post", config("m-post", "1001"), "2023-12-31");
    check_arrears(
        &w,
        &postpaid,
        &[
            ("2022-12-31", dec!(0), dec!(0.00), dec!(350.00)),
            // 0.4839 months elapsed: 0 cycles end on Jan 1 = the paid-through date, and now is
            // past it (prepaymentPeriod 0), so the first month is due during that month
            ("2023-01-16", dec!(1), dec!(350.00), dec!(350.00)),
            // 1 month: 350 * 1
            ("2023-02-01", dec!(1), dec!(350.00), dec!(350.00)),
            // 5.4667 months: 5 cycles, 350 * 5 = 1750
            ("2023-06-15", dec!(5), dec!(1750.00), dec!(350.00)),
            // past the deadline: capped at 2024-01-01, 12 * 350 = 4200
            ("2024-06-01", dec!(12), dec!(4200.00), dec!(350.00)),
        ],
    );
    let prepaid = fee_for(
        &mut w,
        "m-pre",
        FeeConfig {
            payment_cd: PaymentCd::Prepaid,
            ..config("m-pre", "1001")
        },
        "2023-12-31",
    );
    check_arrears(
        &w,
        &prepaid,
        &[
            // the first month is due at the start
            ("2023-01-01", dec!(1), dec!(350.00), dec!(350.00)),
            // 5 + 1 cycles, 6 * 350 = 2100
            ("2023-06-15", dec!(6), dec!(2100.00), dec!(350.00)),
            // capped at the deadline: 12 months
            ("2023-12-15", dec!(12), dec!(4200.00), dec!(350.00)),
        ],
    );
    let quarterly = fee_for(
        &mut w,
        "q",
        FeeConfig {
            payment_cycle: 3,
            bill_type: BillType::Quarterly,
            ..config("q", "1001")
        },
        "2023-12-31",
    );
    check_arrears(
        &w,
        &quarterly,
        &[
            // 2.9677 months: floor(2.9677 / 3) = 0 quarters, ending on the paid-through date:
            // the first quarter is due, 3 * 350 = 1050
            ("2023-03-31", dec!(3), dec!(1050.00), dec!(350.00)),
            // 1 quarter = 3 months: 1050
            ("2023-04-01", dec!(3), dec!(1050.00), dec!(350.00)),
            // 8.4667 months: 2 quarters = 6 months: 2100
            ("2023-09-15", dec!(6), dec!(2100.00), dec!(350.00)),
        ],
    );
    // Deadline inside the window: 2023-03-15 23:59:59, paid-up limit 2023-03-16 00:00
    let short = fee_for(&mut w, "short", config("short", "1001"), "2023-03-15");
    check_arrears(
        &w,
        &short,
        &[
            // due to 2023-03-01, before the deadline: 2 months = 700
            ("2023-03-10", dec!(2), dec!(700.00), dec!(350.00)),
            // due end capped at 2023-03-16: 2 + 15/31 = 2.4839 months;
            // 350 * 2.4839 = 869.365 -> 869.37
            ("2023-07-01", dec!(2.4839), dec!(869.37), dec!(350.00)),
        ],
    );
    // 1102 across the increase on 2023-06-01 (rent 1000, +5% every 12 months)
    let rent = created_fee(&w.ok("rent-fee", Command::RoomFeeCreate(seed_004("rent")))).fee_id;
    check_arrears(
        &w,
        &rent,
        &[
            // 4 months at 1000 before the increase
            ("2023-05-20", dec!(4), dec!(4000.00), dec!(1000.00)),
            // dealRentRate: 5 * 1000 + 3 * 1050 = 8150; feePrice lists the base rent
            ("2023-09-01", dec!(8), dec!(8150.00), dec!(1000.00)),
            // capped at the deadline: 5 * 1000 + 7 * 1050 = 12350
            ("2024-03-01", dec!(12), dec!(12350.00), dec!(1000.00)),
        ],
    );
}

#[test]
fn paying_moves_paid_through_and_finishes_at_the_deadline() {
    let mut w = world();
    let fee_id = created_fee(&w.ok(
        "prop-fee",
        Command::RoomFeeCreate(RoomFeeCreate {
            rate_cycle: None,
            ..seed_004("prop")
        }),
    ))
    .fee_id;
    // 5 months owed as of 2023-06-15 at 350.00
    check_arrears(
        &w,
        &fee_id,
        &[("2023-06-15", dec!(5), dec!(1750.00), dec!(350.00))],
    );
    let events = w.ok(
        "pay-2",
        pay_cmd(&fee_id, PayRequest::Cycles(dec!(2)), dec!(700)),
    );
    let [Event::FeePaid(paid)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(
        paid,
        &FeePaid {
            community_id: C.into(),
            fee_id: fee_id.clone(),
            detail_id: derived_id("80", "pay-2", "detailId"),
            bill_rule_id: None,
            bill_month: None,
            cycles: dec!(2),
            // 2 * 350 = 700
            receivable_amount: Money::new(dec!(700)),
            received_amount: Money::new(dec!(700)),
            start_time: at("2023-01-01"),
            end_time: at("2023-03-01"),
            state: FeeState::InProgress,
            pay_time: at("2025-01-01"),
            gap_fee: None,
        }
    );
    // 2 fewer months: 3 * 350 = 1050
    check_arrears(
        &w,
        &fee_id,
        &[("2023-06-15", dec!(3), dec!(1050.00), dec!(350.00))],
    );
    assert_eq!(w.view(&fee_id, "2023-06-15").end_time, at("2023-03-01"));

    // Mar 1 + 11 months = 2024-02-01, past the deadline + 1 day
    assert_eq!(
        w.run(
            "pay-past",
            pay_cmd(&fee_id, PayRequest::Cycles(dec!(11)), dec!(99999))
        ),
        Err(Rejection::Refused {
            message: "缴费周期超过 缴费结束时间,请用按结束时间方式缴费".into()
        })
    );
    // Underpaying is recorded, not refused: 10 months * 350 = 3500 receivable, 3499.99 received
    let events = w.ok(
        "pay-rest",
        pay_cmd(&fee_id, PayRequest::Cycles(dec!(10)), dec!(3499.99)),
    );
    let [Event::FeePaid(paid)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(paid.state, FeeState::Finished);
    assert_eq!(paid.receivable_amount, Money::new(dec!(3500.00)));
    assert_eq!(paid.received_amount, Money::new(dec!(3499.99)));
    let v = w.view(&fee_id, "2024-06-01");
    assert_eq!(v.state, FeeState::Finished);
    assert_eq!(
        (v.owe_months, v.amount_owed),
        (Some(dec!(0)), Some(dec!(0.00)))
    );
    assert_eq!(
        w.run(
            "pay-again",
            pay_cmd(&fee_id, PayRequest::Cycles(dec!(1)), dec!(350))
        ),
        Err(Rejection::Refused {
            message: "收费已经结束，不能再缴费".into()
        })
    );
    assert_eq!(
        w.run(
            "pay-unknown",
            pay_cmd("nope", PayRequest::Cycles(dec!(1)), dec!(350))
        ),
        Err(Rejection::NotFound {
            message: "传入费用ID错误".into()
        })
    );
}

#[test]
fn config_na_finishes_only_that_configs_fees() {
    let mut w = world();
    let prop_a = created_fee(&w.ok("a1", Command::RoomFeeCreate(seed_004("prop")))).fee_id;
    let prop_b = created_fee(&w.ok("a2", Command::RoomFeeCreate(seed_004("prop")))).fee_id;
    let rent = created_fee(&w.ok("b1", Command::RoomFeeCreate(seed_004("rent")))).fee_id;
    let update = FeeConfigUpdate {
        state: Some(ConfigState::Unavailable),
        ..update_of(&config("prop", "面积 * 单价 + 附加费"))
    };
    let events = w.ok("na", Command::FeeConfigUpdate(update.clone()));
    let [Event::FeeConfigUpdated(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    let mut want = vec![prop_a.clone(), prop_b.clone()];
    want.sort();
    assert_eq!(e.finished_fee_ids, want);
    assert!(e.fee_flag_fee_ids.is_empty());
    for (id, state) in [
        (&prop_a, FeeState::Finished),
        (&prop_b, FeeState::Finished),
        (&rent, FeeState::InProgress),
    ] {
        assert_eq!(w.view(id, "2023-06-01").state, state, "{id}");
    }
    assert_eq!(w.view(&prop_a, "2023-06-01").amount_owed, Some(dec!(0.00)));
    // Again: nothing left in progress, nothing listed.
    let events = w.ok("na-again", Command::FeeConfigUpdate(update));
    let [Event::FeeConfigUpdated(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert!(e.finished_fee_ids.is_empty());
}

#[test]
fn fee_flag_change_is_copied_only_without_a_bill_rule() {
    // Without a bill rule: the fees take the new flag.
    let mut w = world();
    let fee = created_fee(&w.ok("f1", Command::RoomFeeCreate(seed_004("prop")))).fee_id;
    let one_off = FeeConfigUpdate {
        fee_flag: FeeFlag::OneOff,
        ..update_of(&config("prop", "面积 * 单价 + 附加费"))
    };
    let events = w.ok("flag", Command::FeeConfigUpdate(one_off.clone()));
    let [Event::FeeConfigUpdated(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(e.fee_flag_fee_ids, vec![fee.clone()]);
    assert!(e.finished_fee_ids.is_empty());
    let v = w.view(&fee, "2023-06-01");
    assert_eq!(v.fee_flag, FeeFlag::OneOff);
    // one-off now: owes its 350.00 price once
    assert_eq!(
        (v.owe_months, v.amount_owed),
        (Some(dec!(1)), Some(dec!(350.00)))
    );

    // With a bill rule on the config: the config's flag changes, its fees keep theirs.
    let mut w = world();
    let fee = created_fee(&w.ok("f1", Command::RoomFeeCreate(seed_004("prop")))).fee_id;
    w.ok("mode", bill_mode_on());
    let events = w.ok("rule", Command::RoomFeeCreate(seed_004("prop")));
    assert!(matches!(events.as_slice(), [Event::BillRuleCreated(_)]));
    let events = w.ok("flag", Command::FeeConfigUpdate(one_off));
    let [Event::FeeConfigUpdated(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert!(e.fee_flag_fee_ids.is_empty());
    assert_eq!(e.config.fee_flag, FeeFlag::OneOff);
    assert_eq!(w.view(&fee, "2023-06-01").fee_flag, FeeFlag::Periodic);
    assert_eq!(
        w.state.fee_configs.get(C, "prop").unwrap().fee_flag,
        FeeFlag::OneOff
    );
}

fn bill_mode_on() -> Command {
    Command::CommunitySettingSet(CommunitySettingSet {
        community_id: C.into(),
        key: SettingKey::PayFeeMonth,
        value: SettingValue::Switch(Switch::On),
    })
}

#[test]
fn bill_mode_yields_one_fee_per_month() {
    let mut w = world();
    w.ok("mode", bill_mode_on());
    // Not for 1102 or one-off configs: those stay room fees.
    created_fee(&w.ok("rent", Command::RoomFeeCreate(seed_004("rent"))));
    created_fee(&w.ok("once", Command::RoomFeeCreate(seed_004("once"))));
    let events = w.ok(
        "rule",
        Command::RoomFeeCreate(RoomFeeCreate {
            start_time: at("2023-01-15"),
            end_time: end("2023-03-31"),
            ..seed_004("prop")
        }),
    );
    let [Event::BillRuleCreated(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    let rule_id = e.rule.rule_id.clone();
    assert_eq!(rule_id, derived_id("95", "rule", "ruleId"));
    let months = |w: &World, as_of: &str| -> Vec<(String, Option<Decimal>, FeeState)> {
        w.views("room1001", as_of)
            .into_iter()
            .filter(|v| v.bill_rule_id.is_some())
            .map(|v| (v.fee_id, v.amount_owed, v.state))
            .collect()
    };
    let jan = format!("{rule_id}-202301");
    let feb = format!("{rule_id}-202302");
    let mar = format!("{rule_id}-202303");
    assert_eq!(months(&w, "2023-01-14"), vec![]);
    assert_eq!(
        months(&w, "2023-02-10"),
        vec![
            // computeTargetEndTime: dayCompare(Jan 15, Feb 10) = 0.5484 + 0.3214 = 0.8698,
            // 0 cycles end on the rule's endTime (its start), so the target is Feb 15: the
            // January and February bills exist, each the full month's 350 (no proration)
            (jan.clone(), Some(dec!(350.00)), FeeState::InProgress),
            (feb.clone(), Some(dec!(350.00)), FeeState::InProgress),
        ]
    );
    // Bills run to the config's end (max_time), not the request's end: as of Jun 1 the
    // target is May 15 (4.5484 months -> 4 cycles), so January to May exist.
    assert_eq!(months(&w, "2023-06-01").len(), 5);

    // A month's fee is paid like a one-off fee and is then finished.
    let events = w.ok(
        "pay-feb",
        pay_cmd(&feb, PayRequest::Cycles(dec!(1)), dec!(350)),
    );
    let [Event::FeePaid(paid)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(paid.bill_month.as_deref(), Some("202302"));
    assert_eq!(paid.end_time, at("2023-03-01"));
    assert_eq!(
        months(&w, "2023-06-01"),
        vec![
            (jan, Some(dec!(350.00)), FeeState::InProgress),
            (feb.clone(), Some(dec!(0.00)), FeeState::Finished),
            (mar.clone(), Some(dec!(350.00)), FeeState::InProgress),
            (
                format!("{rule_id}-202304"),
                Some(dec!(350.00)),
                FeeState::InProgress
            ),
            (
                format!("{rule_id}-202305"),
                Some(dec!(350.00)),
                FeeState::InProgress
            ),
        ]
    );
    assert_eq!(
        w.run(
            "pay-feb-again",
            pay_cmd(&feb, PayRequest::Cycles(dec!(1)), dec!(350))
        ),
        Err(Rejection::Refused {
            message: "收费已经结束，不能再缴费".into()
        })
    );
    // A month that has not begun as of the payment does not exist yet.
    assert_eq!(
        w.run_at(
            "pay-mar-early",
            "2023-02-20",
            pay_cmd(&mar, PayRequest::Cycles(dec!(1)), dec!(350))
        ),
        Err(Rejection::NotFound {
            message: "传入费用ID错误".into()
        })
    );
    // NA finishes the rule: every month is finished.
    let events = w.ok(
        "na",
        Command::FeeConfigUpdate(FeeConfigUpdate {
            state: Some(ConfigState::Unavailable),
            ..update_of(&config("prop", "面积 * 单价 + 附加费"))
        }),
    );
    let [Event::FeeConfigUpdated(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(e.finished_bill_rule_ids, vec![rule_id]);
    assert!(
        months(&w, "2023-06-01")
            .iter()
            .all(|(_, owed, state)| *owed == Some(dec!(0.00)) && *state == FeeState::Finished)
    );
}

#[test]
fn view_carries_owner_and_rate_attributes() {
    let mut w = world();
    let fee = created_fee(&w.ok("seed", Command::RoomFeeCreate(seed_004("rent"))));
    let v = w.view(&fee.fee_id, "2023-09-01");
    assert_eq!(v.owner_id, "owner1");
    assert_eq!(v.owner_name, "张三");
    assert_eq!(v.owner_tel.as_deref(), Some("13800000000"));
    assert_eq!(v.rate_cycle, Some(12));
    assert_eq!(v.rate, Some(dec!(0.05)));
    assert_eq!(v.rate_start_time, Some(at("2023-06-01")));
    let attrs: Vec<(&str, &str)> = v
        .fee_attrs
        .iter()
        .map(|a| (a.spec_cd, a.value.as_str()))
        .collect();
    assert_eq!(
        attrs,
        vec![
            ("390010", "2023-12-31 23:59:59"),
            ("390007", "owner1"),
            ("390008", "张三"),
            ("390009", "13800000000"),
            ("390012", "room1001-num"),
            ("390014", "12"),
            ("390015", "0.05"),
            ("390016", "2023-06-01"),
        ]
    );
}

#[test]
fn config_na_is_stored_as_n_and_still_finishes_its_fees() {
    let mut w = world();
    let fee = created_fee(&w.ok("f", Command::RoomFeeCreate(seed_004("prop")))).fee_id;
    let events = w.ok(
        "na",
        Command::FeeConfigUpdate(FeeConfigUpdate {
            state: Some(ConfigState::Unavailable),
            ..update_of(&config("prop", "面积 * 单价 + 附加费"))
        }),
    );
    let [Event::FeeConfigUpdated(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    // UpdateFeeConfigCmd: "NA" is written as "N"; finishFee still finishes the config's fees.
    assert_eq!(e.config.state, ConfigState::Normal);
    assert_eq!(e.finished_fee_ids, vec![fee.clone()]);
    assert_eq!(
        w.state.fee_configs.get(C, "prop").unwrap().state,
        ConfigState::Normal
    );
    assert_eq!(w.view(&fee, "2023-06-01").state, FeeState::Finished);
}

#[test]
fn listed_fee_price_has_four_decimals() {
    let mut w = world();
    w.ok(
        "cfg-3003",
        Command::FeeConfigCreate(FeeConfig {
            square_price: Money::new(dec!(0.8083)),
            ..config("area", "3003")
        }),
    );
    let fee = created_fee(&w.ok("f", Command::RoomFeeCreate(seed_004("area")))).fee_id;
    // 3003: 0.8083 × room area 80 + 100 = 164.664 -> feePrice 164.6640 (4 dp); as of Feb 1
    // one month is owed: 164.664 -> 164.66
    let v = w.view(&fee, "2023-02-01");
    assert_eq!(v.fee_price.map(|p| p.to_string()), Some("164.6640".into()));
    assert_eq!(v.amount_owed.map(|a| a.to_string()), Some("164.66".into()));
}

#[test]
fn pay_105_leaves_the_time_before_the_custom_start_owed_as_a_new_fee() {
    let mut w = world();
    let fee = created_fee(&w.ok("f", Command::RoomFeeCreate(seed_004("prop")))).fee_id;
    let events = w.ok(
        "pay-105",
        pay_cmd(
            &fee,
            PayRequest::Period {
                start: at("2023-03-01"),
                end: end("2023-04-30"),
            },
            dec!(700),
        ),
    );
    let [Event::FeePaid(paid)] = events.as_slice() else {
        panic!("{events:?}")
    };
    // The paid period is Mar 1 .. Apr 30; 700 / 350 = 2 months; quote 350 × 1.9667 = 688.35
    // is below the 700 received, so the receivable is 700.
    assert_eq!(paid.start_time, at("2023-03-01"));
    assert_eq!(paid.end_time, at("2023-05-01"));
    assert_eq!(paid.cycles, dec!(2));
    assert_eq!(paid.receivable_amount, Money::new(dec!(700)));
    let gap = paid.gap_fee.clone().expect("a gap fee");
    assert_eq!(gap.fee_id, derived_id("90", "pay-105", "gapFeeId"));
    assert_eq!(
        (gap.end_time, gap.deadline_time),
        (at("2023-01-01"), end("2023-02-28"))
    );
    // The gap fee owes January and February: 2 × 350 = 700 as of Jun 1.
    let v = w.view(&gap.fee_id, "2023-06-01");
    assert_eq!(
        (v.owe_months, v.amount_owed),
        (Some(dec!(2)), Some(dec!(700.00)))
    );
    // A one-off config needs a periodic "{name}欠费" config for the gap.
    let once = created_fee(&w.ok("o", Command::RoomFeeCreate(seed_004("once")))).fee_id;
    let cmd = pay_cmd(
        &once,
        PayRequest::Period {
            start: at("2023-03-01"),
            end: end("2023-03-31"),
        },
        dec!(100),
    );
    assert_eq!(
        w.run("pay-105-once", cmd.clone()),
        Err(Rejection::Refused {
            message: "按自定义时间段缴费时，费用必须为周期性，或者存在名称为 fee once欠费 的周期性费用，它的公式计算必须要和fee once一致".into()
        })
    );
    w.ok(
        "cfg-owed",
        Command::FeeConfigCreate(FeeConfig {
            fee_name: "fee once欠费".into(),
            ..config("once-owed", "2002")
        }),
    );
    let events = w.ok("pay-105-once-2", cmd);
    let [Event::FeePaid(paid)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(
        paid.gap_fee.as_ref().map(|g| g.config_id.as_str()),
        Some("once-owed")
    );
}

#[test]
fn bill_mode_splits_intermittent_fees_and_honours_the_month_cycle() {
    let mut w = world();
    w.ok(
        "cfg-int",
        Command::FeeConfigCreate(FeeConfig {
            fee_flag: FeeFlag::Intermittent,
            ..config("int", "2002")
        }),
    );
    w.ok("mode", bill_mode_on());
    w.ok(
        "cycle",
        Command::CommunitySettingSet(CommunitySettingSet {
            community_id: C.into(),
            key: SettingKey::PayFeeMonthCycle,
            value: SettingValue::Months(2),
        }),
    );
    let events = w.ok(
        "rule",
        Command::RoomFeeCreate(RoomFeeCreate {
            end_time: end("2023-06-30"),
            ..seed_004("int")
        }),
    );
    let [Event::BillRuleCreated(e)] = events.as_slice() else {
        panic!("{events:?}")
    };
    // Intermittent: max_time is the request's end, not the config's; 2 months per bill.
    assert_eq!(e.rule.max_time, Some(end("2023-06-30")));
    assert_eq!(e.rule.month_cycle, Some(2));
    let bills: Vec<(String, Option<Decimal>)> = w
        .views("room1001", "2023-03-15")
        .into_iter()
        .filter(|v| v.bill_rule_id.is_some())
        .map(|v| (v.fee_id, v.amount_owed))
        .collect();
    // postpaid, as of Mar 15: 2.4516 months -> 2 rounds -> target Mar 1: the bill Jan 1 ->
    // Mar 1 exists and owes 2 × 100 (2002: the additional amount) = 200
    assert_eq!(
        bills,
        vec![(format!("{}-202301", e.rule.rule_id), Some(dec!(200.00)))]
    );
}
