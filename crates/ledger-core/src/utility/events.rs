//! Events of the utility family.

use super::OweRecord;
use crate::event::EventPayload;
use crate::money::Money;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `utility.charge.posted`: a charge record with its calculated fee, nothing paid yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UtilityChargePosted {
    pub account_did: String,
    /// Boxed: a record is large and events are moved around by value.
    pub record: Box<OweRecord>,
}
impl EventPayload for UtilityChargePosted {}

/// `utility.payment.posted`: money paid in against a record, with the record's totals after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UtilityPaymentPosted {
    pub account_did: String,
    pub serial_did: String,
    pub paid_in_fee: Money,
    pub paid_in_date: u64,
    pub paid_in_sid: String,
    /// ACCU_PAID_IN_FEE after this payment.
    pub accu_paid_in_fee: Money,
    /// CALC_FEE − ACCU_PAID_IN_FEE after this payment.
    pub owed_after: Money,
}
impl EventPayload for UtilityPaymentPosted {}

impl UtilityPaymentPosted {
    /// The record after this payment: the previous payment becomes LAST_PAID_IN_*, this one
    /// THE_PAID_IN_*.
    pub fn apply_to(&self, record: &mut OweRecord) {
        record.last_paid_in_date = record.the_paid_in_date;
        record.last_paid_in_sid = std::mem::take(&mut record.the_paid_in_sid);
        record.the_paid_in_fee = self.paid_in_fee;
        record.the_paid_in_date = self.paid_in_date;
        record.the_paid_in_sid = self.paid_in_sid.clone();
        record.accu_paid_in_fee = self.accu_paid_in_fee;
    }
}
