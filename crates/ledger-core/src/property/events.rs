//! Events of the property family.

use super::codes::{FeeState, SettingKey, SettingValue, Switch};
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
    pub setting_value: SettingValue,
}

/// Schema version 1 of `community.setting_saved`, kept only to read old events: the value was a
/// boolean `on`. Version 2 carries the seed's `ON`/`OFF` text as `settingValue`; version 1
/// events are upcast on read and never rewritten (DESIGN §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommunitySettingSavedV1 {
    pub community_id: String,
    pub setting_key: SettingKey,
    pub on: bool,
}

impl From<CommunitySettingSavedV1> for CommunitySettingSaved {
    fn from(v1: CommunitySettingSavedV1) -> Self {
        CommunitySettingSaved {
            community_id: v1.community_id,
            setting_key: v1.setting_key,
            setting_value: SettingValue::Switch(if v1.on { Switch::On } else { Switch::Off }),
        }
    }
}

impl EventPayload for CommunitySettingSaved {
    fn decode_version(version: u32, current: u32, json: &str) -> Result<Self, String> {
        match version {
            1 => serde_json::from_str::<CommunitySettingSavedV1>(json)
                .map(Self::from)
                .map_err(|e| e.to_string()),
            v if v == current => serde_json::from_str(json).map_err(|e| e.to_string()),
            v => Err(format!(
                "schema_version {v} is not known (current {current})"
            )),
        }
    }
}

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
    /// 应收金额: numeric cycles: months × price, 2 dp half-even; -101/-103/-105: the request's
    /// receivableAmount or the quote, never below the received amount.
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
    /// A -105 payment starting after the paid-through date: the new fee for the time between,
    /// still owed (upstream `ifCustomStartEndTimePayFee`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_fee: Option<Box<RoomFee>>,
}
impl EventPayload for FeePaid {}
