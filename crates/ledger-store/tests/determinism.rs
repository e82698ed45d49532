//! Replay determinism (invariant 5) and exactly-once application (invariant 4), as properties:
//! the same event sequence applied into fresh stores — in any batch split, and with batches
//! re-delivered — yields byte-identical read models.

use chrono::{NaiveDate, TimeZone, Utc};
use ledger_core::property::{
    BillType, ConfigState, FeeConfig, FeeConfigUpdate, FeeFlag, PaymentCd,
};
use ledger_core::{
    Command, DecideContext, EventDraft, EventEnvelope, Money, Sha256Hash, State, decide,
};
use ledger_store::ReadStore;
use proptest::prelude::*;
use rust_decimal::Decimal;

fn config(community: u8, id: u8, price_cents: i64, flag: bool) -> FeeConfig {
    let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    FeeConfig {
        community_id: format!("c{community}"),
        config_id: format!("cfg{id}"),
        fee_type_cd: "1001".into(),
        fee_name: format!("fee {id}"),
        fee_flag: if flag {
            FeeFlag::Periodic
        } else {
            FeeFlag::OneOff
        },
        start_time: day.and_hms_opt(0, 0, 0).unwrap(),
        end_time: day.and_hms_opt(23, 59, 59).unwrap(),
        computing_formula: "1001".into(),
        square_price: Money::new(Decimal::new(price_cents, 2)),
        additional_amount: Money::new(Decimal::new(1000, 2)),
        bill_type: BillType::Monthly,
        payment_cd: PaymentCd::Postpaid,
        payment_cycle: 1,
        state: ConfigState::Normal,
        scale: None,
        decimal_place: None,
        prepayment_period: None,
    }
}

fn command(op: (bool, u8, u8, i64, bool)) -> Command {
    let (create, community, id, price, flag) = op;
    let c = config(community % 3, id % 5, price, flag);
    if create {
        Command::FeeConfigCreate(c)
    } else {
        Command::FeeConfigUpdate(FeeConfigUpdate {
            community_id: c.community_id,
            config_id: c.config_id,
            fee_type_cd: c.fee_type_cd,
            fee_name: c.fee_name,
            fee_flag: c.fee_flag,
            start_time: c.start_time,
            end_time: c.end_time,
            computing_formula: c.computing_formula,
            square_price: c.square_price,
            additional_amount: c.additional_amount,
            bill_type: c.bill_type,
            payment_cd: None,
            payment_cycle: None,
            state: Some(if flag {
                ConfigState::Normal
            } else {
                ConfigState::Unavailable
            }),
            scale: None,
            decimal_place: None,
            prepayment_period: None,
        })
    }
}

/// Decides the commands into one partition's events (refusals logged, as from the topic).
fn events(ops: &[(bool, u8, u8, i64, bool)]) -> Vec<EventEnvelope> {
    let mut state = State::default();
    let mut prev = Sha256Hash::GENESIS;
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let cmd = command(*op);
        let id = format!("cmd-{i}");
        let ctx = DecideContext {
            command_id: &id,
            now: NaiveDate::from_ymd_opt(2024, 6, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
        };
        let decided = decide(&state, &cmd, &ctx).unwrap_or_else(|r| {
            vec![
                ledger_core::CommandRejected {
                    command_type: cmd.type_name().into(),
                    rejection: r,
                }
                .into(),
            ]
        });
        for event in decided {
            let draft = EventDraft {
                event_id: uuid::Uuid::from_u128(out.len() as u128),
                command_id: id.clone(),
                key: cmd.partition_key(),
                recorded_at: Utc.timestamp_opt(1_700_000_000 + i as i64, 0).unwrap(),
                effective_at: event.effective_at(),
                actor: None,
                body_sha256: None,
                event,
            };
            let (env, _) = draft.seal(0, out.len() as u64, prev);
            prev = env.hash;
            state.apply(&env);
            out.push(env);
        }
    }
    out
}

fn store() -> (tempfile::TempDir, ReadStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ReadStore::open(dir.path()).unwrap();
    (dir, store)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn any_batch_split_and_redelivery_gives_identical_read_models(
        ops in proptest::collection::vec((any::<bool>(), any::<u8>(), any::<u8>(), 0i64..100_000, any::<bool>()), 1..60),
        cuts in proptest::collection::vec(1usize..10, 1..20),
    ) {
        let events = events(&ops);
        let (_a_dir, a) = store();
        a.apply(0, &events).unwrap();

        let (_b_dir, b) = store();
        let mut start = 0;
        for cut in cuts.iter().cycle() {
            if start >= events.len() {
                break;
            }
            let end = (start + cut).min(events.len());
            // Re-deliver the previous batch too: already-applied events must be skipped.
            let from = start.saturating_sub(*cut);
            b.apply(0, &events[from..end]).unwrap();
            start = end;
        }
        prop_assert_eq!(a.position(0).unwrap(), events.len() as u64);
        prop_assert_eq!(a.dump().unwrap(), b.dump().unwrap());
        prop_assert_eq!(a.digest().unwrap(), b.digest().unwrap());
    }
}
