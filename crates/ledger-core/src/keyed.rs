//! The decider's state as keyed rows (issue 14), so it lives on disk behind a bounded cache
//! instead of as an in-memory fold of all history.
//!
//! Every entity a decision can read (a fee config, a room fee, a BaaS bill, a utility record, a
//! command id …) is one row under a [`StateKey`]. Before a command is decided, the
//! [`WorkingSet`] loads the rows it [`needs`] from a [`StateStore`] into an ordinary [`State`],
//! so `decide` and `State::apply` stay the same pure functions a full fold uses; after the
//! group's append, [`WorkingSet::changes`] gives the rows its events touched, which the adapter
//! writes together with the log position they reflect (the checkpoint).
//!
//! Rule that keeps this exact: an event may only change rows named by [`touched`]; the working
//! set loads those rows before applying it, so a row is never written from a partial view.
//! The full in-memory fold (`State::apply` over the whole log) stays as the test oracle.

use crate::baas::{BillRow, IdKind, UsageRow};
use crate::callcenter::Tariff;
use crate::command::Command;
use crate::envelope::{EventEnvelope, Position, Sha256Hash};
use crate::event::Event;
use crate::log::PartitionHead;
use crate::property::{BillRule, FeeConfig, Room, RoomFee, SettingKey, SettingValue, Switch};
use crate::state::{CommandRecord, State};
use crate::utility::OweRecord;
use std::collections::{BTreeMap, HashSet};

/// The key of one state row. Encoded as a tag byte and length-prefixed parts, so no two keys
/// share bytes and every prefix of parts is a scan range.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StateKey {
    Command(String),
    FeeConfig(String, String),
    Room(String, String),
    Fee(String, String),
    Rule(String, String),
    /// An ON/OFF community setting, by setting code.
    Setting(String, String),
    /// A community's PAY_FEE_MONTH_CYCLE (months per bill).
    MonthCycles(String),
    Tariff(u64),
    /// The same tariff again under its city, so rating reads a city's tariffs with one scan.
    CityTariff(i64, u64),
    Call(String),
    BaasCustomer(String, String),
    BaasBill(String, String, String),
    BaasUsage(String, String, String),
    BaasBillId(String, String),
    BaasPaymentId(String, String),
    BaasUsageId(String, String),
    UtilityRecord(String, String),
    UtilityPayment(String, String),
}

/// A stored row: key and value bytes.
pub type RowBytes = (Vec<u8>, Vec<u8>);

/// A row to write: key and new value (`None` deletes).
pub type RowChange = (Vec<u8>, Option<Vec<u8>>);

/// What a decision reads: one row, or every row under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    Key(StateKey),
    Prefix(Vec<u8>),
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state storage failed: {0}")]
    Storage(String),
    #[error("state row {key} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
}

/// The port the decider reads and writes its keyed state through (the store adapter implements
/// it in ledger-store; [`MemStateStore`] serves tests).
pub trait StateStore: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;
    /// Every row whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<RowBytes>, StateError>;
    /// The log position the rows reflect for `partition` (`None`: nothing folded yet).
    fn checkpoint(&self, partition: u32) -> Result<Option<PartitionHead>, StateError>;
    /// Writes `rows` (`None` deletes) and the checkpoints of `heads` in one atomic step: after a
    /// crash the store holds all of it or none of it.
    fn commit(
        &self,
        rows: Vec<RowChange>,
        heads: &[(u32, PartitionHead)],
    ) -> Result<(), StateError>;
    /// Drops every row and checkpoint (before a rebuild from the log).
    fn clear(&self) -> Result<(), StateError>;
}

const T_COMMAND: u8 = b'c';
const T_FEE_CONFIG: u8 = b'f';
const T_ROOM: u8 = b'r';
const T_FEE: u8 = b'e';
const T_RULE: u8 = b'u';
const T_SETTING: u8 = b's';
const T_MONTH_CYCLES: u8 = b'm';
const T_TARIFF: u8 = b't';
const T_CITY_TARIFF: u8 = b'T';
const T_CALL: u8 = b'k';
const T_BAAS_CUSTOMER: u8 = b'C';
const T_BAAS_BILL: u8 = b'B';
const T_BAAS_USAGE: u8 = b'U';
const T_BAAS_BILL_ID: u8 = b'1';
const T_BAAS_PAYMENT_ID: u8 = b'2';
const T_BAAS_USAGE_ID: u8 = b'3';
const T_UTILITY_RECORD: u8 = b'o';
const T_UTILITY_PAYMENT: u8 = b'p';

/// Builds a key or a prefix: tag, then each part as `u32 BE length ‖ bytes`.
struct KeyBuf(Vec<u8>);

impl KeyBuf {
    fn new(tag: u8) -> Self {
        KeyBuf(vec![tag])
    }
    fn s(mut self, part: &str) -> Self {
        self.0.extend_from_slice(&(part.len() as u32).to_be_bytes());
        self.0.extend_from_slice(part.as_bytes());
        self
    }
    /// Numbers big-endian with the sign bit flipped, so they sort numerically.
    fn n(mut self, n: i64) -> Self {
        self.0
            .extend_from_slice(&((n as u64) ^ (1 << 63)).to_be_bytes());
        self
    }
    fn u(mut self, n: u64) -> Self {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }
}

struct KeyReader<'a>(&'a [u8]);

impl KeyReader<'_> {
    fn s(&mut self) -> Option<String> {
        let len = u32::from_be_bytes(self.0.get(..4)?.try_into().ok()?) as usize;
        let text = std::str::from_utf8(self.0.get(4..4 + len)?)
            .ok()?
            .to_string();
        self.0 = &self.0[4 + len..];
        Some(text)
    }
    fn u(&mut self) -> Option<u64> {
        let n = u64::from_be_bytes(self.0.get(..8)?.try_into().ok()?);
        self.0 = &self.0[8..];
        Some(n)
    }
    fn n(&mut self) -> Option<i64> {
        self.u().map(|n| (n ^ (1 << 63)) as i64)
    }
    fn end<T>(&self, value: T) -> Option<T> {
        self.0.is_empty().then_some(value)
    }
}

impl StateKey {
    pub fn encode(&self) -> Vec<u8> {
        use StateKey::*;
        match self {
            Command(id) => KeyBuf::new(T_COMMAND).s(id),
            FeeConfig(c, id) => KeyBuf::new(T_FEE_CONFIG).s(c).s(id),
            Room(c, id) => KeyBuf::new(T_ROOM).s(c).s(id),
            Fee(c, id) => KeyBuf::new(T_FEE).s(c).s(id),
            Rule(c, id) => KeyBuf::new(T_RULE).s(c).s(id),
            Setting(c, code) => KeyBuf::new(T_SETTING).s(c).s(code),
            MonthCycles(c) => KeyBuf::new(T_MONTH_CYCLES).s(c),
            Tariff(id) => KeyBuf::new(T_TARIFF).u(*id),
            CityTariff(city, id) => KeyBuf::new(T_CITY_TARIFF).n(*city).u(*id),
            Call(id) => KeyBuf::new(T_CALL).s(id),
            BaasCustomer(t, c) => KeyBuf::new(T_BAAS_CUSTOMER).s(t).s(c),
            BaasBill(t, c, id) => KeyBuf::new(T_BAAS_BILL).s(t).s(c).s(id),
            BaasUsage(t, c, id) => KeyBuf::new(T_BAAS_USAGE).s(t).s(c).s(id),
            BaasBillId(t, id) => KeyBuf::new(T_BAAS_BILL_ID).s(t).s(id),
            BaasPaymentId(t, id) => KeyBuf::new(T_BAAS_PAYMENT_ID).s(t).s(id),
            BaasUsageId(t, id) => KeyBuf::new(T_BAAS_USAGE_ID).s(t).s(id),
            UtilityRecord(a, id) => KeyBuf::new(T_UTILITY_RECORD).s(a).s(id),
            UtilityPayment(a, id) => KeyBuf::new(T_UTILITY_PAYMENT).s(a).s(id),
        }
        .0
    }

    pub fn decode(bytes: &[u8]) -> Option<StateKey> {
        use StateKey::*;
        let (&tag, rest) = bytes.split_first()?;
        let mut r = KeyReader(rest);
        let key = match tag {
            T_COMMAND => Command(r.s()?),
            T_FEE_CONFIG => FeeConfig(r.s()?, r.s()?),
            T_ROOM => Room(r.s()?, r.s()?),
            T_FEE => Fee(r.s()?, r.s()?),
            T_RULE => Rule(r.s()?, r.s()?),
            T_SETTING => Setting(r.s()?, r.s()?),
            T_MONTH_CYCLES => MonthCycles(r.s()?),
            T_TARIFF => Tariff(r.u()?),
            T_CITY_TARIFF => CityTariff(r.n()?, r.u()?),
            T_CALL => Call(r.s()?),
            T_BAAS_CUSTOMER => BaasCustomer(r.s()?, r.s()?),
            T_BAAS_BILL => BaasBill(r.s()?, r.s()?, r.s()?),
            T_BAAS_USAGE => BaasUsage(r.s()?, r.s()?, r.s()?),
            T_BAAS_BILL_ID => BaasBillId(r.s()?, r.s()?),
            T_BAAS_PAYMENT_ID => BaasPaymentId(r.s()?, r.s()?),
            T_BAAS_USAGE_ID => BaasUsageId(r.s()?, r.s()?),
            T_UTILITY_RECORD => UtilityRecord(r.s()?, r.s()?),
            T_UTILITY_PAYMENT => UtilityPayment(r.s()?, r.s()?),
            _ => return None,
        };
        r.end(key)
    }

    fn setting(community_id: &str, setting: SettingKey) -> StateKey {
        StateKey::Setting(community_id.to_string(), setting.code().to_string())
    }
}

fn fees_of_community(community_id: &str) -> Need {
    Need::Prefix(KeyBuf::new(T_FEE).s(community_id).0)
}

fn rules_of_community(community_id: &str) -> Need {
    Need::Prefix(KeyBuf::new(T_RULE).s(community_id).0)
}

/// Every fee config of a community (dozens, not thousands).
fn configs_of_community(community_id: &str) -> Need {
    Need::Prefix(KeyBuf::new(T_FEE_CONFIG).s(community_id).0)
}

/// Every setting of a community: few rows, and a rule that starts reading another setting
/// needs no change here.
fn settings_of_community(community_id: &str) -> Need {
    Need::Prefix(KeyBuf::new(T_SETTING).s(community_id).0)
}

fn tariffs_of_city(city_id: i64) -> Need {
    Need::Prefix(KeyBuf::new(T_CITY_TARIFF).n(city_id).0)
}

fn bills_of_customer(tenant_id: &str, ext_cust_id: &str) -> Need {
    Need::Prefix(KeyBuf::new(T_BAAS_BILL).s(tenant_id).s(ext_cust_id).0)
}

fn usage_of_customer(tenant_id: &str, ext_cust_id: &str) -> Need {
    Need::Prefix(KeyBuf::new(T_BAAS_USAGE).s(tenant_id).s(ext_cust_id).0)
}

fn s(text: &str) -> String {
    text.to_string()
}

/// The rows deciding `command` (with id `command_id`) reads, given what `state` holds so far:
/// some needs follow from rows already loaded (a payment's fee names its config and room), so
/// the working set calls this until nothing new is asked for.
pub fn needs(command_id: &str, command: &Command, state: &State) -> Vec<Need> {
    use StateKey as K;
    let mut out = vec![Need::Key(K::Command(s(command_id)))];
    let key = |k: StateKey| Need::Key(k);
    match command {
        Command::FeeConfigCreate(c) => {
            out.push(key(K::FeeConfig(s(&c.community_id), s(&c.config_id))))
        }
        Command::FeeConfigUpdate(u) => out.extend([
            key(K::FeeConfig(s(&u.community_id), s(&u.config_id))),
            fees_of_community(&u.community_id),
            rules_of_community(&u.community_id),
            settings_of_community(&u.community_id),
            key(K::MonthCycles(s(&u.community_id))),
        ]),
        Command::RoomFeeCreate(c) => out.extend([
            configs_of_community(&c.community_id),
            key(K::Room(s(&c.community_id), s(&c.room_id))),
            settings_of_community(&c.community_id),
            key(K::MonthCycles(s(&c.community_id))),
        ]),
        Command::FeePay(c) => {
            let community = &c.community_id;
            out.push(key(K::Fee(s(community), s(&c.fee_id))));
            out.push(settings_of_community(community));
            out.push(key(K::MonthCycles(s(community))));
            // A -105 payment may open its gap fee under another config of the community
            // (found by name), so a payment reads the community's configs.
            out.push(configs_of_community(community));
            if let Some((rule_id, _)) = c.fee_id.rsplit_once('-') {
                out.push(key(K::Rule(s(community), s(rule_id))));
            }
            let fee = state.property.fee(community, &c.fee_id);
            let rule = c
                .fee_id
                .rsplit_once('-')
                .and_then(|(rule_id, _)| state.property.rule(community, rule_id));
            let payer = fee
                .map(|f| (&f.config_id, &f.payer_obj_id))
                .into_iter()
                .chain(rule.map(|r| (&r.config_id, &r.payer_obj_id)));
            for (config_id, room_id) in payer {
                out.push(key(K::FeeConfig(s(community), s(config_id))));
                out.push(key(K::Room(s(community), s(room_id))));
            }
        }
        Command::RoomUpsert(_)
        | Command::CommunitySettingSet(_)
        | Command::OperatorBillReport(_)
        | Command::CostCenterAssign(_) => {}
        Command::TariffConfigure(t) => out.push(key(K::Tariff(t.tariff_id))),
        Command::TariffEdit(e) => out.push(key(K::Tariff(e.tariff_id))),
        Command::TariffSetState(e) => out.push(key(K::Tariff(e.tariff_id))),
        Command::CallsRecord(b) => {
            out.push(tariffs_of_city(b.city_id));
            out.extend(b.calls.iter().map(|c| key(K::Call(s(&c.call_id)))));
        }
        Command::BaasBillPost(b) => out.extend([
            key(K::BaasBillId(s(&b.tenant_id), s(&b.bill_id))),
            key(K::BaasCustomer(s(&b.tenant_id), s(&b.ext_cust_id))),
            bills_of_customer(&b.tenant_id, &b.ext_cust_id),
            usage_of_customer(&b.tenant_id, &b.ext_cust_id),
        ]),
        Command::BaasUsagePost(u) => out.extend([
            key(K::BaasUsageId(s(&u.tenant_id), s(&u.usage_id))),
            key(K::BaasCustomer(s(&u.tenant_id), s(&u.ext_cust_id))),
            bills_of_customer(&u.tenant_id, &u.ext_cust_id),
        ]),
        Command::BaasPaymentPost(p) => out.extend([
            key(K::BaasPaymentId(s(&p.tenant_id), s(&p.payment_id))),
            key(K::BaasCustomer(s(&p.tenant_id), s(&p.ext_cust_id))),
            bills_of_customer(&p.tenant_id, &p.ext_cust_id),
        ]),
        Command::UtilityChargePost(c) => out.push(key(K::UtilityRecord(
            s(&c.account_did),
            s(&c.record.serial_did),
        ))),
        Command::UtilityPaymentPost(p) => out.extend([
            key(K::UtilityRecord(s(&p.account_did), s(&p.serial_did))),
            key(K::UtilityPayment(s(&p.account_did), s(&p.paid_in_sid))),
        ]),
    }
    out
}

/// The rows `State::apply` changes for this event. `apply` must touch nothing else.
pub fn touched(env: &EventEnvelope) -> Vec<StateKey> {
    use StateKey as K;
    let mut out = vec![K::Command(s(&env.command_id))];
    match &env.event {
        Event::CommandRejected(_)
        | Event::OperatorBillReported(_)
        | Event::CostCenterAssigned(_) => {}
        Event::FeeConfigCreated(e) => out.push(K::FeeConfig(
            s(&e.config.community_id),
            s(&e.config.config_id),
        )),
        Event::FeeConfigUpdated(e) => {
            let c = &e.config.community_id;
            out.push(K::FeeConfig(s(c), s(&e.config.config_id)));
            let fees = e.finished_fee_ids.iter().chain(&e.fee_flag_fee_ids);
            out.extend(fees.map(|id| K::Fee(s(c), s(id))));
            let rules = e.finished_bill_rule_ids.iter();
            out.extend(rules.map(|id| K::Rule(s(c), s(id))));
        }
        Event::RoomSaved(e) => out.push(K::Room(s(&e.room.community_id), s(&e.room.room_id))),
        Event::CommunitySettingSaved(e) => out.push(match e.setting_value {
            SettingValue::Switch(_) => K::setting(&e.community_id, e.setting_key),
            SettingValue::Months(_) => K::MonthCycles(s(&e.community_id)),
        }),
        Event::RoomFeeCreated(e) => out.push(K::Fee(s(&e.fee.community_id), s(&e.fee.fee_id))),
        Event::BillRuleCreated(e) => out.push(K::Rule(s(&e.rule.community_id), s(&e.rule.rule_id))),
        Event::FeePaid(e) => {
            if let Some(gap) = &e.gap_fee {
                out.push(K::Fee(s(&gap.community_id), s(&gap.fee_id)));
            }
            if e.bill_month.is_none() {
                out.push(K::Fee(s(&e.community_id), s(&e.fee_id)));
            }
            if let Some(rule_id) = &e.bill_rule_id {
                out.push(K::Rule(s(&e.community_id), s(rule_id)));
            }
        }
        Event::TariffConfigured(e) => out.extend(tariff_keys(&e.tariff)),
        Event::TariffEdited(e) => out.extend(tariff_keys(&e.tariff)),
        Event::TariffStateChanged(e) => out.extend(tariff_keys(&e.tariff)),
        Event::CallsRecorded(e) => out.extend(e.calls.iter().map(|c| K::Call(s(&c.call.call_id)))),
        Event::BaasBillPosted(e) => {
            let b = &e.bill;
            out.push(K::BaasBillId(s(&b.tenant_id), s(&b.bill_id)));
            out.push(K::BaasCustomer(s(&b.tenant_id), s(&b.ext_cust_id)));
            out.push(K::BaasBill(
                s(&b.tenant_id),
                s(&b.ext_cust_id),
                s(&b.bill_id),
            ));
            out.extend(
                e.absorbed_usage
                    .iter()
                    .map(|u| K::BaasUsage(s(&b.tenant_id), s(&b.ext_cust_id), s(u))),
            );
        }
        Event::BaasPaymentPosted(e) => {
            let p = &e.payment;
            out.push(K::BaasPaymentId(s(&p.tenant_id), s(&p.payment_id)));
            out.push(K::BaasCustomer(s(&p.tenant_id), s(&p.ext_cust_id)));
            out.extend(
                e.allocations
                    .iter()
                    .map(|a| K::BaasBill(s(&p.tenant_id), s(&p.ext_cust_id), s(&a.bill_id))),
            );
        }
        Event::BaasUsagePosted(e) => {
            let u = &e.usage;
            out.push(K::BaasUsageId(s(&u.tenant_id), s(&u.usage_id)));
            out.push(K::BaasCustomer(s(&u.tenant_id), s(&u.ext_cust_id)));
            out.push(K::BaasUsage(
                s(&u.tenant_id),
                s(&u.ext_cust_id),
                s(&u.usage_id),
            ));
        }
        Event::UtilityChargePosted(e) => {
            out.push(K::UtilityRecord(s(&e.account_did), s(&e.record.serial_did)))
        }
        Event::UtilityPaymentPosted(e) => out.extend([
            K::UtilityRecord(s(&e.account_did), s(&e.serial_did)),
            K::UtilityPayment(s(&e.account_did), s(&e.paid_in_sid)),
        ]),
    }
    out
}

fn tariff_keys(tariff: &Tariff) -> [StateKey; 2] {
    [
        StateKey::Tariff(tariff.tariff_id),
        StateKey::CityTariff(tariff.city_id, tariff.tariff_id),
    ]
}

fn corrupt(key: &StateKey, reason: impl std::fmt::Display) -> StateError {
    StateError::Corrupt {
        key: format!("{key:?}"),
        reason: reason.to_string(),
    }
}

fn json<T: serde::de::DeserializeOwned>(key: &StateKey, value: &[u8]) -> Result<T, StateError> {
    serde_json::from_slice(value).map_err(|e| corrupt(key, e))
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("state rows serialize")
}

/// A command record as 25 or 57 bytes: first and last position, then the body hash if any.
fn encode_record(r: &CommandRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(57);
    for p in [r.first, r.last] {
        out.extend_from_slice(&p.partition.to_be_bytes());
        out.extend_from_slice(&p.offset.to_be_bytes());
    }
    match r.body_sha256 {
        Some(h) => {
            out.push(1);
            out.extend_from_slice(&h.0);
        }
        None => out.push(0),
    }
    out
}

fn decode_record(key: &StateKey, v: &[u8]) -> Result<CommandRecord, StateError> {
    let bad = || corrupt(key, "bad command record");
    let pos = |at: usize| -> Option<Position> {
        Some(Position {
            partition: u32::from_be_bytes(v.get(at..at + 4)?.try_into().ok()?),
            offset: u64::from_be_bytes(v.get(at + 4..at + 12)?.try_into().ok()?),
        })
    };
    let body_sha256 = match v.get(24) {
        Some(0) if v.len() == 25 => None,
        Some(1) if v.len() == 57 => Some(Sha256Hash(v[25..57].try_into().map_err(|_| bad())?)),
        _ => return Err(bad()),
    };
    Ok(CommandRecord {
        first: pos(0).ok_or_else(bad)?,
        last: pos(12).ok_or_else(bad)?,
        body_sha256,
    })
}

impl State {
    /// Puts one stored row into the state.
    pub fn put_row(&mut self, key: &StateKey, value: &[u8]) -> Result<(), StateError> {
        use StateKey as K;
        match key {
            K::Command(id) => {
                self.commands.insert(id.clone(), decode_record(key, value)?);
            }
            K::FeeConfig(..) => self.fee_configs.put(json::<FeeConfig>(key, value)?),
            K::Room(..) => self.property.put_room(json::<Room>(key, value)?),
            K::Fee(..) => self.property.put_fee(json::<RoomFee>(key, value)?),
            K::Rule(..) => self.property.put_rule(json::<BillRule>(key, value)?),
            K::Setting(c, code) => {
                let setting =
                    SettingKey::from_code(code).ok_or_else(|| corrupt(key, "unknown setting"))?;
                self.property
                    .put_setting(c, setting, json::<Switch>(key, value)?);
            }
            K::MonthCycles(c) => self.property.put_month_cycles(c, json::<u32>(key, value)?),
            K::Tariff(_) | K::CityTariff(..) => {
                self.callcenter.put_tariff(&json::<Tariff>(key, value)?)
            }
            K::Call(id) => {
                self.callcenter.call_ids.insert(id.clone());
            }
            K::BaasCustomer(t, c) => self.baas.put_customer(t, c),
            K::BaasBill(..) => self.baas.put_bill(json::<BillRow>(key, value)?),
            K::BaasUsage(..) => self.baas.put_usage(json::<UsageRow>(key, value)?),
            K::BaasBillId(t, id) => self.baas.put_id(t, IdKind::Bill, id),
            K::BaasPaymentId(t, id) => self.baas.put_id(t, IdKind::Payment, id),
            K::BaasUsageId(t, id) => self.baas.put_id(t, IdKind::Usage, id),
            K::UtilityRecord(a, _) => self.utility.put_record(a, json::<OweRecord>(key, value)?),
            K::UtilityPayment(a, sid) => {
                let serial: String = json(key, value)?;
                self.utility.put_payment(a, sid, &serial);
            }
        }
        Ok(())
    }

    /// The stored form of one row as the state now holds it (`None`: absent).
    pub fn row(&self, key: &StateKey) -> Option<Vec<u8>> {
        use StateKey as K;
        let marker = |present: bool| present.then(Vec::new);
        match key {
            K::Command(id) => self.commands.get(id).map(encode_record),
            K::FeeConfig(c, id) => self.fee_configs.get(c, id).map(to_json),
            K::Room(c, id) => self.property.room(c, id).map(to_json),
            K::Fee(c, id) => self.property.fee(c, id).map(to_json),
            K::Rule(c, id) => self.property.rule(c, id).map(to_json),
            K::Setting(c, code) => SettingKey::from_code(code)
                .and_then(|k| self.property.setting(c, k))
                .map(|v| to_json(&v)),
            K::MonthCycles(c) => self.property.month_cycles(c).map(|m| to_json(&m)),
            K::Tariff(id) => self.callcenter.tariffs.get(id).map(to_json),
            K::CityTariff(city, id) => self
                .callcenter
                .tariffs
                .get(id)
                .filter(|t| t.city_id == *city)
                .map(to_json),
            K::Call(id) => marker(self.callcenter.call_ids.contains(id)),
            K::BaasCustomer(t, c) => marker(self.baas.has_customer(t, c)),
            K::BaasBill(t, c, id) => self
                .baas
                .customer(t, c)
                .and_then(|cu| cu.bills.get(id))
                .map(to_json),
            K::BaasUsage(t, c, id) => self
                .baas
                .customer(t, c)
                .and_then(|cu| cu.usage.get(id))
                .map(to_json),
            K::BaasBillId(t, id) => marker(self.baas.has_id(t, IdKind::Bill, id)),
            K::BaasPaymentId(t, id) => marker(self.baas.has_id(t, IdKind::Payment, id)),
            K::BaasUsageId(t, id) => marker(self.baas.has_id(t, IdKind::Usage, id)),
            K::UtilityRecord(a, id) => self.utility.record(a, id).map(to_json),
            K::UtilityPayment(a, sid) => self.utility.payment(a, sid).map(to_json),
        }
    }
}

/// The rows one group of decisions works on: loaded on demand from the store, changed by the
/// group's events, written back (with the checkpoint) once the group is durable. Its size is
/// bounded by what the group reads, never by the history.
#[derive(Default)]
pub struct WorkingSet {
    state: State,
    /// Keys already loaded (or found absent) in this group: loading them again would overwrite
    /// the group's own changes with older stored rows.
    loaded: HashSet<Vec<u8>>,
    prefixes: HashSet<Vec<u8>>,
    /// Keys the group's events changed, with the key.
    changed: BTreeMap<Vec<u8>, StateKey>,
}

impl WorkingSet {
    pub fn state(&self) -> &State {
        &self.state
    }

    fn load_key(&mut self, store: &dyn StateStore, key: &StateKey) -> Result<(), StateError> {
        let bytes = key.encode();
        if self.loaded.contains(&bytes) {
            return Ok(());
        }
        if let Some(value) = store.get(&bytes)? {
            self.state.put_row(key, &value)?;
        }
        self.loaded.insert(bytes);
        Ok(())
    }

    fn load_prefix(&mut self, store: &dyn StateStore, prefix: &[u8]) -> Result<(), StateError> {
        if self.prefixes.contains(prefix) {
            return Ok(());
        }
        for (k, v) in store.scan_prefix(prefix)? {
            if self.loaded.contains(&k) {
                continue;
            }
            let key = StateKey::decode(&k).ok_or_else(|| StateError::Corrupt {
                key: format!("{k:?}"),
                reason: "unknown state key".into(),
            })?;
            self.state.put_row(&key, &v)?;
            self.loaded.insert(k);
        }
        self.prefixes.insert(prefix.to_vec());
        Ok(())
    }

    /// Loads every row deciding `command` reads, until its needs are met.
    pub fn prepare(
        &mut self,
        store: &dyn StateStore,
        command_id: &str,
        command: &Command,
    ) -> Result<(), StateError> {
        let mut asked = 0;
        loop {
            let wanted = needs(command_id, command, &self.state);
            if wanted.len() == asked {
                return Ok(());
            }
            asked = wanted.len();
            for need in &wanted {
                match need {
                    Need::Key(k) => self.load_key(store, k)?,
                    Need::Prefix(p) => self.load_prefix(store, p)?,
                }
            }
        }
    }

    /// Loads the rows a command id's record sits in (for a duplicate check without a command).
    pub fn prepare_command_id(
        &mut self,
        store: &dyn StateStore,
        command_id: &str,
    ) -> Result<(), StateError> {
        self.load_key(store, &StateKey::Command(command_id.to_string()))
    }

    /// Folds one event in, loading the rows it changes first.
    pub fn apply(&mut self, store: &dyn StateStore, env: &EventEnvelope) -> Result<(), StateError> {
        let keys = touched(env);
        for k in &keys {
            self.load_key(store, k)?;
        }
        self.state.apply(env);
        for k in keys {
            self.changed.insert(k.encode(), k);
        }
        Ok(())
    }

    /// The rows the group's events changed, as the store should hold them.
    pub fn changes(&self) -> Vec<RowChange> {
        self.changed
            .iter()
            .map(|(bytes, key)| (bytes.clone(), self.state.row(key)))
            .collect()
    }

    /// Forgets the group (after its rows were written, or when its append failed).
    pub fn clear(&mut self) {
        *self = WorkingSet::default();
    }
}

/// A state store in memory, for tests (the adapter of record is `DeciderState`, in ledger-store).
#[derive(Default)]
pub struct MemStateStore {
    inner: std::sync::Mutex<MemInner>,
}

#[derive(Default)]
struct MemInner {
    rows: BTreeMap<Vec<u8>, Vec<u8>>,
    heads: BTreeMap<u32, PartitionHead>,
}

impl MemStateStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl StateStore for MemStateStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.lock().rows.get(key).cloned())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<RowBytes>, StateError> {
        Ok(self
            .lock()
            .rows
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn checkpoint(&self, partition: u32) -> Result<Option<PartitionHead>, StateError> {
        Ok(self.lock().heads.get(&partition).copied())
    }

    fn commit(
        &self,
        rows: Vec<RowChange>,
        heads: &[(u32, PartitionHead)],
    ) -> Result<(), StateError> {
        let mut inner = self.lock();
        for (k, v) in rows {
            match v {
                Some(v) => inner.rows.insert(k, v),
                None => inner.rows.remove(&k),
            };
        }
        for (p, h) in heads {
            inner.heads.insert(*p, *h);
        }
        Ok(())
    }

    fn clear(&self) -> Result<(), StateError> {
        *self.lock() = MemInner::default();
        Ok(())
    }
}
