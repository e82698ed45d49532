//! Events of the call-center family.

use super::calls::{RatedCallRecord, UnratedCall};
use super::operator_bill::OperatorBill;
use super::tariff::Tariff;
use crate::event::EventPayload;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `tariff.configured`: a new line tariff (`POST /api/fee/config/:id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TariffConfigured {
    pub tariff: Tariff,
}
impl EventPayload for TariffConfigured {}

/// `tariff.edited`: the whole tariff after `PUT /api/bill/fee/edit/:id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TariffEdited {
    pub tariff: Tariff,
}
impl EventPayload for TariffEdited {}

/// `tariff.state_changed`: the whole tariff after it was enabled or disabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TariffStateChanged {
    pub tariff: Tariff,
}
impl EventPayload for TariffStateChanged {}

/// `operator_bill.reported`: an operator's bill for a DID segment and period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OperatorBillReported {
    pub report: OperatorBill,
}
impl EventPayload for OperatorBillReported {}

/// `calls.recorded`: a CDR batch of one city: the calls recorded with their rating, the call ids
/// ignored as already recorded, and the calls no tariff could rate (not recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CallsRecorded {
    pub city_id: i64,
    pub calls: Vec<RatedCallRecord>,
    pub duplicates: Vec<String>,
    pub unrated: Vec<UnratedCall>,
}
impl EventPayload for CallsRecorded {}

/// `cost_center.assigned`: BG/BU → cost center.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CostCenterAssigned {
    pub bg: String,
    pub bu: String,
    pub cost_center: String,
    pub cost_center_code: String,
}
impl EventPayload for CostCenterAssigned {}
