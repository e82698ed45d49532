//! Events of the BaaS family. Each carries the command's facts plus what the decider worked out
//! (absorbed usage, payment allocations), so folding never repeats a decision.

use super::{BillPost, BillRow, PaymentPost, UsagePost, UsageRow};
use crate::event::EventPayload;
use crate::money::Money;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `baas.bill.posted`: a bill, and the unbilled usage it absorbed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BaasBillPosted {
    pub bill: BillPost,
    /// Usage ids of the same customer and service inside the bill's period, no longer real-time.
    pub absorbed_usage: Vec<String>,
}
impl EventPayload for BaasBillPosted {}

impl BaasBillPosted {
    /// The bill as first kept: nothing paid yet.
    pub fn row(&self) -> BillRow {
        BillRow {
            bill: self.bill.clone(),
            paid: Money::ZERO,
            absorbed_usage: self.absorbed_usage.clone(),
        }
    }
}

/// Part of a payment settled against one bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Allocation {
    pub bill_id: String,
    pub amount: Money,
}

/// `baas.payment.posted`: a payment and how it was spread over bills (oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BaasPaymentPosted {
    pub payment: PaymentPost,
    pub allocations: Vec<Allocation>,
}
impl EventPayload for BaasPaymentPosted {}

/// `baas.usage.posted`: real-time usage; `billedBy` names the bill already covering it, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BaasUsagePosted {
    pub usage: UsagePost,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_by: Option<String>,
}
impl EventPayload for BaasUsagePosted {}

impl BaasUsagePosted {
    pub fn row(&self) -> UsageRow {
        UsageRow {
            usage: self.usage.clone(),
            billed_by: self.billed_by.clone(),
        }
    }
}
