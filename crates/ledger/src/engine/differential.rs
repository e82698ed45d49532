//! Differential test of the keyed decider state (issue 14): a randomized mixed stream of every
//! family's commands (duplicates, reused ids with other bodies, refusals, topic and HTTP origins
//! included) is decided by the real `Decider` on its on-disk state store and, command by command,
//! by the decision rules on a full in-memory fold of everything before it (the oracle). Every
//! outcome must be the same. The decider restarts at random points, sometimes after "crashing"
//! between a group's durable append and its state commit, so start-up's tail fold is exercised
//! as well; at the end a fresh rebuild of the state from the whole log must equal the store
//! that was built incrementally.

use super::faulty_state::FaultyState;
use super::writer::{Decider, Outcome, outcome};
use ledger_api::Metrics;
use ledger_api::bus::{Decided, Origin, Submission};
use ledger_api::execute::command_meta;
use ledger_core::keyed::{MemStateStore, RowBytes, StateStore};
use ledger_core::log::{EventLog, StoredEvent};
use ledger_core::{Event, EventEnvelope, State};
use ledger_wire::Fields;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// xorshift64*: a small deterministic generator, so a failure replays from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What the generator remembers to make later commands meaningful (payments on fees that
/// exist, and so on).
#[derive(Default)]
struct Known {
    fee_ids: Vec<String>,
    rule_months: Vec<String>,
    /// Earlier (command id, type, body), for resends.
    sent: Vec<(String, &'static str, serde_json::Value)>,
}

const COMMUNITIES: u64 = 3;
const TENANTS: u64 = 3;
const CUSTOMERS: u64 = 12;
const ACCOUNTS: u64 = 6;

fn generate(rng: &mut Rng, i: u64, known: &Known) -> (String, &'static str, serde_json::Value) {
    let c = format!("C{}", rng.below(COMMUNITIES));
    let room = format!("R{}", rng.below(6));
    let config = format!("F{}", rng.below(4));
    let id = format!("cmd-{i}");
    let t = format!("T{}", rng.below(TENANTS));
    let cust = format!("K{}", rng.below(CUSTOMERS));
    let acct = format!("A{:015}", rng.below(ACCOUNTS));
    let month = 1 + rng.below(12);
    let day = 1 + rng.below(28);
    match rng.below(20) {
        0 => (id, "fee_config.create", config_body(&c, &config, rng)),
        1 => {
            let mut body = config_body(&c, &config, rng);
            if rng.chance(20) {
                body["state"] = json!("NA");
            }
            (id, "fee_config.update", body)
        }
        2 => (
            id,
            "room.upsert",
            json!({
                "communityId": c, "roomId": room, "roomNum": format!("1-1-{room}"),
                "builtUpArea": format!("{}", 50 + rng.below(100)), "roomArea": "40",
                "roomRent": format!("{}.00", 500 + rng.below(1000)), "ownerId": "o1",
                "ownerName": "张三", "ownerTel": "13800000000"
            }),
        ),
        3 | 4 => (
            id,
            "room_fee.create",
            json!({
                "communityId": c, "locationObjId": room, "configId": config, "storeId": "s",
                "startTime": format!("2023-{month:02}-01"), "endTime": "2024-12-31",
                "amount": "66.66"
            }),
        ),
        5 | 6 => {
            let fee_id = match (known.fee_ids.len(), known.rule_months.len()) {
                (0, 0) => "nope".to_string(),
                (f, r) => {
                    let k = rng.below((f + r) as u64) as usize;
                    if k < f {
                        known.fee_ids[k].clone()
                    } else {
                        known.rule_months[k - f].clone()
                    }
                }
            };
            let c = fee_id.split('|').next().unwrap_or("C0").to_string();
            let fee_id = fee_id.split('|').nth(1).unwrap_or("nope").to_string();
            let body = if rng.chance(15) {
                // -105: a custom period; the time before its start stays owed as a new fee.
                json!({
                    "communityId": c, "feeId": fee_id, "cycles": "-105",
                    "customStartTime": format!("2023-{month:02}-01"),
                    "customEndTime": format!("2023-{month:02}-28"),
                    "receivedAmount": format!("{}", 100 * rng.below(10))
                })
            } else {
                json!({
                    "communityId": c, "feeId": fee_id, "cycles": format!("{}", 1 + rng.below(3)),
                    "receivedAmount": format!("{}", 100 * rng.below(60))
                })
            };
            (id, "fee.pay", body)
        }
        7 if rng.chance(30) => (
            id,
            "community.set_setting",
            json!({"communityId": c, "settingKey": "PAY_FEE_MONTH_CYCLE",
                   "settingValue": format!("{}", 1 + rng.below(3))}),
        ),
        7 => (
            id,
            "community.set_setting",
            json!({"communityId": c, "settingKey": "PAY_FEE_MONTH",
                   "settingValue": if rng.chance(50) { "ON" } else { "OFF" }}),
        ),
        8 => {
            let mut body = tariff_body(rng);
            body["id"] = json!(1 + rng.below(6));
            (id, "tariff.configure", body)
        }
        9 => (
            id,
            "tariff.set_state",
            json!({"id": 1 + rng.below(6), "city_id": 1 + rng.below(2), "state": rng.chance(70)}),
        ),
        10 | 11 => {
            let city = 1 + rng.below(2);
            let calls: Vec<serde_json::Value> = (0..1 + rng.below(4))
                .map(|_| {
                    json!({
                        "call_id": format!("call-{}", rng.below(3000)),
                        "did": format!("{}{}", pick(rng, &["100", "200"]), rng.below(10)),
                        "line_prefix": "JN-02", "city_id": city, "workplace_id": 67,
                        "operator_code": 43, "bg": "房产", "bu": "二手房", "business_line": "黄页",
                        "call_type": pick(rng, &["本地手机", "本地固化"]),
                        "number_type": "400",
                        "start_time": format!("2023-{month:02}-{day:02} 09:00:00"),
                        "duration_s": rng.below(900)
                    })
                })
                .collect();
            (id, "calls.record", json!({ "calls": calls }))
        }
        12 | 13 => (
            format!("bill-{}", rng.below(400)),
            "baas.bill.post",
            json!({
                "billId": format!("B{}", rng.below(400)), "tenantId": t, "extCustId": cust,
                "serviceId": "1001", "periodStart": format!("2024{month:02}01000000"),
                "periodEnd": format!("2024{month:02}28235959"),
                "amount": format!("{}.50", 10 + rng.below(90))
            }),
        ),
        14 => (
            format!("pay-{}", rng.below(400)),
            "baas.payment.post",
            json!({
                "paymentId": format!("P{}", rng.below(400)), "tenantId": t, "extCustId": cust,
                "serviceId": "1001", "amount": format!("{}.25", 1 + rng.below(40)),
                "paidAt": "20240610093000"
            }),
        ),
        15 => (
            format!("use-{}", rng.below(600)),
            "baas.usage.post",
            json!({
                "usageId": format!("U{}", rng.below(600)), "tenantId": t, "extCustId": cust,
                "serviceId": "1001", "amount": "1.10",
                "at": format!("2024{month:02}{day:02}120000")
            }),
        ),
        16 | 17 => (
            format!("chg-{}", rng.below(300)),
            "utility.charge.post",
            json!({
                "SYS_HEAD": sys_head(&acct),
                "DATA": {"SERIAL_DID": format!("S{}", rng.below(300)), "CUSTOMER_DID": "C1",
                    "RET_STORES_AID": "RS01", "BOOK_AID": "BK0001", "CHARGE_PACK_TYPE": "1",
                    "ACCOUNT_MONTH": 202403, "THE_CHARGE_CONS": 120.5, "CHARGE_PRICE": 0.4883,
                    "OPERATION_DATE": 20240331}
            }),
        ),
        _ => (
            format!("upay-{}", rng.below(300)),
            "utility.payment.post",
            json!({
                "SYS_HEAD": sys_head(&acct),
                "DATA": {"SERIAL_DID": format!("S{}", rng.below(300)),
                    "THE_PAID_IN_FEE": 1 + rng.below(30), "THE_PAID_IN_DATE": 20240405,
                    "THE_PAID_IN_SID": format!("PAY{}", rng.below(300))}
            }),
        ),
    }
}

fn pick<'a>(rng: &mut Rng, options: &[&'a str]) -> &'a str {
    options[rng.below(options.len() as u64) as usize]
}

fn config_body(c: &str, config: &str, rng: &mut Rng) -> serde_json::Value {
    let formula = pick(rng, &["面积 * 单价 + 附加费", "4004", "1101"]);
    json!({
        "configId": config, "feeTypeCd": "1001", "feeName": format!("费用 {config}"),
        "feeFlag": if rng.chance(80) { "1003006" } else { "2006012" },
        "startTime": "2023-01-01", "endTime": "2024-12-31", "computingFormula": formula,
        "squarePrice": format!("{}.50", 1 + rng.below(4)), "additionalAmount": "100.00",
        "communityId": c, "billType": "MONTHLY"
    })
}

fn tariff_body(rng: &mut Rng) -> serde_json::Value {
    json!({
        "city_id": 1 + rng.below(2), "workplace_id": 2, "operator_code": 3,
        "line_batch": "E1", "line_quantity": 3, "did": pick(rng, &["100", "200", "1001"]),
        "minimum_charge_unit_price": 465.8, "minimum_charge_total_price": 3435.98,
        "month_rent_fee": 100, "number_use_fee": 1, "caller_identify_fee": 1, "ring_fee": 1,
        "call_fee_config": {"0": ["本地手机","单一",0.16,5,0.98,1.0,0.97]},
        "discount_fee_config": {}, "fee_remark": ""
    })
}

fn sys_head(account: &str) -> serde_json::Value {
    json!({"CHANNEL_DID": "CH01", "DYNAMIC_KEY": "k", "REGISTER_DID": "r", "ACCOUNT_DID": account})
}

/// The submission the edge would build (the wire decoder turns the body into a command).
fn submission(
    command_id: &str,
    command_type: &str,
    body: &serde_json::Value,
    origin: Origin,
    issued_at: chrono::DateTime<chrono::Utc>,
) -> Submission {
    let bytes = serde_json::to_vec(body).unwrap();
    let fields = Fields::parse(&bytes).unwrap();
    let command = ledger_wire::command::decode_command(command_type, &fields, command_id)
        .unwrap_or_else(|r| panic!("generator bug: {command_type} {body}: {r:?}"));
    let meta = command_meta(
        issued_at,
        Some(command_id.to_string()),
        command.partition_key(),
        Some("diff".into()),
        &fields,
        &bytes,
    );
    Submission {
        meta,
        command,
        origin,
        body: Vec::new(),
    }
}

fn decoded(stored: &[StoredEvent]) -> Vec<EventEnvelope> {
    stored
        .iter()
        .map(|e| EventEnvelope::decode(&e.bytes).unwrap())
        .collect()
}

/// Every state row of a store (checkpoints excluded) by reading every known prefix tag.
pub(super) fn all_rows(store: &dyn StateStore) -> Vec<RowBytes> {
    (0u8..0xff)
        .flat_map(|tag| store.scan_prefix(&[tag]).unwrap())
        .collect()
}

#[test]
fn keyed_decider_matches_a_full_fold_over_a_random_mixed_stream() {
    let n: u64 = std::env::var("LEDGER_DIFF_COMMANDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let seed: u64 = std::env::var("LEDGER_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_1234);
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> =
        Arc::new(ledger_log::EmbeddedLog::open_or_create(&dir.path().join("log"), 4).unwrap());
    let store = ledger_store::ReadStore::open(&dir.path().join("store")).unwrap();
    let state = Arc::new(FaultyState::new(store.decider_state().unwrap()));
    let metrics = Arc::new(Metrics::new());
    let recover = || {
        Decider::recover(
            log.clone(),
            state.clone(),
            (0..4).collect(),
            metrics.clone(),
        )
        .unwrap()
    };
    let mut decider = recover();
    let mut oracle = State::default();
    let mut rng = Rng(seed);
    let mut known = Known::default();
    let mut counts: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let (mut restarts, mut lost_commits, mut gap_fees) = (0, 0, 0);
    let start = chrono::DateTime::parse_from_rfc3339("2023-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let mut i = 0;
    while i < n {
        let group_size = 1 + rng.below(48);
        decider.begin_group().unwrap();
        let mut stored = Vec::new();
        for _ in 0..group_size.min(n - i) {
            let (id, command_type, body) = if !known.sent.is_empty() && rng.chance(3) {
                // A resend: the same body (a retry) or, sometimes, another one (a conflict).
                let k = rng.below(known.sent.len() as u64) as usize;
                let (id, t, mut body) = known.sent[k].clone();
                if rng.chance(30) && body.get("communityId").is_some() {
                    body["storeId"] = json!("other");
                }
                (id, t, body)
            } else {
                generate(&mut rng, i, &known)
            };
            let origin = if rng.chance(10) {
                Origin::Topic
            } else {
                Origin::Http
            };
            // Ten minutes per command: the stream spans about a year of business time.
            let issued_at = start + chrono::TimeDelta::minutes(10 * i as i64);
            let s = submission(&id, command_type, &body, origin, issued_at);
            let before = stored.len();
            let now = super::writer::business_time(&s.meta, ledger_api::host_timezone());
            let expected = outcome(&oracle, &s.meta, &s.command, origin, now);
            let got = decider
                .decide(&s.meta, &s.command, origin, &mut stored)
                .unwrap();
            let sealed = decoded(&stored[before..]);
            let verdict = match (&expected, &got) {
                (
                    Outcome::Duplicate(a),
                    Decided::Logged {
                        last,
                        duplicate: true,
                    },
                ) => {
                    assert_eq!(a, last, "command {i} ({id}): duplicate position");
                    "duplicate"
                }
                (Outcome::Refused(a), Decided::Refused(b)) => {
                    assert_eq!(a, b, "command {i} ({id} {command_type}): refusal");
                    "refused"
                }
                (
                    Outcome::Events(events, _),
                    Decided::Logged {
                        duplicate: false, ..
                    },
                ) => {
                    let got: Vec<&Event> = sealed.iter().map(|e| &e.event).collect();
                    let want: Vec<&Event> = events.iter().collect();
                    assert_eq!(want, got, "command {i} ({id} {command_type}): events");
                    if matches!(events[0], Event::CommandRejected(_)) {
                        "logged refusal"
                    } else {
                        "accepted"
                    }
                }
                (
                    Outcome::ReusedId {
                        conflict_id,
                        refusal,
                    },
                    Decided::Logged {
                        duplicate: false, ..
                    },
                ) => {
                    assert_eq!(sealed.len(), 1, "command {i} ({id}): one refusal");
                    assert_eq!(&sealed[0].event, &**refusal, "command {i} ({id}): refusal");
                    assert_eq!(&sealed[0].command_id, conflict_id, "command {i} ({id})");
                    "logged conflict"
                }
                (e, g) => panic!("command {i} ({id} {command_type}): oracle {e:?}, decider {g:?}"),
            };
            *counts.entry((command_type, verdict)).or_default() += 1;
            for env in &sealed {
                oracle.apply(env);
                match &env.event {
                    Event::RoomFeeCreated(e) => known
                        .fee_ids
                        .push(format!("{}|{}", e.fee.community_id, e.fee.fee_id)),
                    Event::BillRuleCreated(e) => {
                        for m in 1..=12 {
                            known.rule_months.push(format!(
                                "{}|{}-2023{m:02}",
                                e.rule.community_id, e.rule.rule_id
                            ));
                        }
                    }
                    _ => {}
                }
            }
            if sealed
                .iter()
                .any(|e| matches!(&e.event, Event::FeePaid(p) if p.gap_fee.is_some()))
            {
                gap_fees += 1;
            }
            if verdict == "accepted" && known.sent.len() < 5000 {
                known.sent.push((id, command_type, body));
            }
            i += 1;
        }
        let crash_before_state = rng.chance(2);
        state
            .lose_next_commit
            .store(crash_before_state, Ordering::SeqCst);
        decider.commit(&stored).unwrap();
        state.lose_next_commit.store(false, Ordering::SeqCst);
        if crash_before_state || rng.chance(2) {
            lost_commits += crash_before_state as u64;
            restarts += 1;
            drop(decider);
            decider = recover();
        }
    }
    println!(
        "differential: {n} commands, {restarts} restarts ({lost_commits} after a lost state commit), {gap_fees} -105 gap fees"
    );
    for ((t, v), k) in &counts {
        println!("  {t:<22} {v:<15} {k}");
    }
    for t in ledger_core::Command::TYPES {
        if ["operator_bill.report", "cost_center.assign", "tariff.edit"].contains(t) {
            continue;
        }
        if n >= 10_000 {
            assert!(
                counts.get(&(*t, "accepted")).copied().unwrap_or(0) > 0,
                "the stream never had an accepted {t}: the generator does not cover it"
            );
        }
    }
    if n >= 10_000 {
        assert!(
            counts
                .iter()
                .any(|((_, v), k)| *v == "logged conflict" && *k > 0),
            "the stream never reused an id with another body on the topic"
        );
    }
    // The state built incrementally, with restarts and lost commits, equals a rebuild of the
    // whole log.
    drop(decider);
    let decider = recover();
    drop(decider);
    let rebuilt = Arc::new(MemStateStore::default());
    Decider::recover(
        log.clone(),
        rebuilt.clone(),
        (0..4).collect(),
        metrics.clone(),
    )
    .unwrap();
    assert_eq!(all_rows(&state.inner), all_rows(rebuilt.as_ref()));
}
