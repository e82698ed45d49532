//! Typed commands and the decider: `decide(state, command, ctx)` is the single pure function that
//! turns a command into events or a refusal (DESIGN §2).

use crate::callcenter::{
    self, CallsRecord, CostCenterAssign, OperatorBill, Tariff, TariffEdit, TariffSetState,
};
use crate::event::Event;
use crate::property::{
    self, CommunitySettingSet, FeeConfig, FeeConfigUpdate, FeePay, Room, RoomFeeCreate,
};
use crate::rejection::Rejection;
use crate::state::State;
use crate::{baas, utility};
use chrono::NaiveDateTime;

/// Every command the ledger accepts, already decoded from its wire format.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    FeeConfigCreate(FeeConfig),
    FeeConfigUpdate(FeeConfigUpdate),
    RoomUpsert(Room),
    RoomFeeCreate(RoomFeeCreate),
    FeePay(FeePay),
    CommunitySettingSet(CommunitySettingSet),
    TariffConfigure(Tariff),
    TariffEdit(TariffEdit),
    TariffSetState(TariffSetState),
    OperatorBillReport(OperatorBill),
    CallsRecord(CallsRecord),
    CostCenterAssign(CostCenterAssign),
    BaasBillPost(baas::BillPost),
    BaasPaymentPost(baas::PaymentPost),
    BaasUsagePost(baas::UsagePost),
    UtilityChargePost(utility::ChargePost),
    UtilityPaymentPost(utility::PaymentPost),
}

impl Command {
    /// Every command type name, as used in envelopes and schemas.
    pub const TYPES: &'static [&'static str] = &[
        "fee_config.create",
        "fee_config.update",
        "room.upsert",
        "room_fee.create",
        "fee.pay",
        "community.set_setting",
        "tariff.configure",
        "tariff.edit",
        "tariff.set_state",
        "operator_bill.report",
        "calls.record",
        "cost_center.assign",
        "baas.bill.post",
        "baas.payment.post",
        "baas.usage.post",
        "utility.charge.post",
        "utility.payment.post",
    ];

    pub fn type_name(&self) -> &'static str {
        match self {
            Command::FeeConfigCreate(_) => "fee_config.create",
            Command::FeeConfigUpdate(_) => "fee_config.update",
            Command::RoomUpsert(_) => "room.upsert",
            Command::RoomFeeCreate(_) => "room_fee.create",
            Command::FeePay(_) => "fee.pay",
            Command::CommunitySettingSet(_) => "community.set_setting",
            Command::TariffConfigure(_) => "tariff.configure",
            Command::TariffEdit(_) => "tariff.edit",
            Command::TariffSetState(_) => "tariff.set_state",
            Command::OperatorBillReport(_) => "operator_bill.report",
            Command::CallsRecord(_) => "calls.record",
            Command::CostCenterAssign(_) => "cost_center.assign",
            Command::BaasBillPost(_) => "baas.bill.post",
            Command::BaasPaymentPost(_) => "baas.payment.post",
            Command::BaasUsagePost(_) => "baas.usage.post",
            Command::UtilityChargePost(_) => "utility.charge.post",
            Command::UtilityPaymentPost(_) => "utility.payment.post",
        }
    }

    /// The partition key this command is decided under (invariant 3).
    pub fn partition_key(&self) -> String {
        match self {
            Command::FeeConfigCreate(c) => property::community_key(&c.community_id),
            Command::FeeConfigUpdate(c) => property::community_key(&c.community_id),
            Command::RoomUpsert(c) => property::community_key(&c.community_id),
            Command::RoomFeeCreate(c) => property::community_key(&c.community_id),
            Command::FeePay(c) => property::community_key(&c.community_id),
            Command::CommunitySettingSet(c) => property::community_key(&c.community_id),
            Command::TariffConfigure(t) => callcenter::city_key(t.city_id),
            Command::TariffEdit(e) => callcenter::city_key(e.city_id),
            Command::TariffSetState(s) => callcenter::city_key(s.city_id),
            Command::OperatorBillReport(r) => callcenter::city_key(r.city_id),
            Command::CallsRecord(b) => callcenter::city_key(b.city_id),
            Command::CostCenterAssign(a) => callcenter::cost_center_key(&a.bg, &a.bu),
            Command::BaasBillPost(c) => baas::tenant_key(&c.tenant_id),
            Command::BaasPaymentPost(c) => baas::tenant_key(&c.tenant_id),
            Command::BaasUsagePost(c) => baas::tenant_key(&c.tenant_id),
            Command::UtilityChargePost(c) => utility::account_key(&c.account_did),
            Command::UtilityPaymentPost(c) => utility::account_key(&c.account_did),
        }
    }
}

/// What a decision may depend on besides the state: the command's id (to derive ids
/// deterministically) and the business time "now" (core never reads a clock).
#[derive(Debug, Clone)]
pub struct DecideContext<'a> {
    pub command_id: &'a str,
    pub now: NaiveDateTime,
}

/// Decides one command on the state of its partition.
pub fn decide(
    state: &State,
    command: &Command,
    ctx: &DecideContext<'_>,
) -> Result<Vec<Event>, Rejection> {
    match command {
        Command::FeeConfigCreate(c) => property::decide_create(&state.fee_configs, c),
        Command::FeeConfigUpdate(u) => {
            property::decide_update(&state.fee_configs, &state.property, u)
        }
        Command::RoomUpsert(r) => property::decide_room_upsert(r),
        Command::RoomFeeCreate(c) => {
            property::decide_room_fee_create(&state.fee_configs, &state.property, c, ctx)
        }
        Command::FeePay(c) => property::decide_pay(&state.fee_configs, &state.property, c, ctx),
        Command::CommunitySettingSet(c) => property::decide_setting(c),
        Command::TariffConfigure(t) => callcenter::tariffs::decide_configure(&state.callcenter, t),
        Command::TariffEdit(e) => callcenter::tariffs::decide_edit(&state.callcenter, e),
        Command::TariffSetState(s) => callcenter::tariffs::decide_set_state(&state.callcenter, s),
        Command::OperatorBillReport(r) => callcenter::operator_bill::decide_report(r),
        Command::CallsRecord(b) => callcenter::calls::decide_record(&state.callcenter, b),
        Command::CostCenterAssign(a) => callcenter::cost_center::decide_assign(a),
        Command::BaasBillPost(c) => baas::decide_bill(&state.baas, c),
        Command::BaasPaymentPost(c) => baas::decide_payment(&state.baas, c),
        Command::BaasUsagePost(c) => baas::decide_usage(&state.baas, c),
        Command::UtilityChargePost(c) => utility::decide_charge(&state.utility, c),
        Command::UtilityPaymentPost(c) => utility::decide_payment(&state.utility, c),
    }
}

/// Derives a numeric id from a command id, so the same command always yields the same id and
/// decisions stay pure. `prefix` follows upstream conventions (e.g. "12" for fee batches).
pub fn derived_id(prefix: &str, command_id: &str, salt: &str) -> String {
    let digest = crate::envelope::Sha256Hash::of(format!("{command_id}\u{0}{salt}").as_bytes());
    let n = u64::from_be_bytes(digest.0[..8].try_into().expect("8 bytes")) % 10u64.pow(16);
    format!("{prefix}{n:016}")
}
