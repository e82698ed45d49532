//! Events of the property family.

use super::codes::{FeeState, SettingKey, Switch};
use super::fee::{BillRule, RoomFee};
use super::fee_config::FeeConfig;
use super::room::Room;
use crate::event::EventPayload;
use crate::money::Money;
use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `fee_config.created`: a new fee config (saveFeeConfig).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FeeConfigCreated {
    pub config: FeeConfig,
}
impl EventPayload for FeeConfigCreated {}

/// `fee_config.updated`: the config as it is after updateFeeConfig (seed 002), and the fees the
/// update changed, listed so that folding the event needs nothing but the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeConfigUpdated {
    pub config: FeeConfig,
    /// Fees of the config finished (2009001) because the update set state NA.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finished_fee_ids: Vec<String>,
    /// Bill rules of the config finished because the update set state NA: every monthly fee
    /// they yield is finished too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finished_bill_rule_ids: Vec<String>,
    /// Fees whose feeFlag became the config's new feeFlag (only when no bill rule is linked to
    /// the config).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fee_flag_fee_ids: Vec<String>,
}
impl EventPayload for FeeConfigUpdated {}

/// `room.saved`: a room as it is after room.saveRoom (created or replaced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RoomSaved {
    pub room: Room,
}
impl EventPayload for RoomSaved {}

/// `community.setting_saved`: a community setting's new value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommunitySettingSaved {
    pub community_id: String,
    pub setting_key: SettingKey,
    pub setting_value: Switch,
}
impl EventPayload for CommunitySettingSaved {}

/// `room_fee.created`: a new fee on a room (seed 004 saveRoomCreateFee).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RoomFeeCreated {
    pub fee: RoomFee,
}
impl EventPayload for RoomFeeCreated {}

/// `bill_rule.created`: saveRoomCreateFee in bill mode (PAY_FEE_MONTH ON): a rule yielding one
/// one-off fee per month instead of one periodic fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BillRuleCreated {
    pub rule: BillRule,
}
impl EventPayload for BillRuleCreated {}

/// `fee.paid`: a payment (fee.payFee) and where it leaves the fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeePaid {
    pub community_id: String,
    pub fee_id: String,
    /// The payment record's id (缴费明细ID).
    pub detail_id: String,
    /// Set when the fee is a monthly fee of a bill rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_rule_id: Option<String>,
    /// The bill rule's month, yyyyMM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_month: Option<String>,
    /// Payment cycles covered, 4 dp.
    pub cycles: Decimal,
    /// 应收金额, 2 dp.
    pub receivable_amount: Money,
    /// 实收金额.
    pub received_amount: Money,
    /// Paid through before the payment (exclusive instant).
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub start_time: NaiveDateTime,
    /// Paid through after the payment (exclusive instant).
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub end_time: NaiveDateTime,
    /// The fee's state after the payment.
    pub state: FeeState,
    /// When the payment was made (the command's business time).
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub pay_time: NaiveDateTime,
}
impl EventPayload for FeePaid {}
