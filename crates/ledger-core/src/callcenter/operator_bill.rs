//! Operator bill reports (`POST /api/bill/operator/create`, 账单上报): what an operator billed
//! for a DID segment, city, workplace and BG/BU in a bill period. A later report for the same
//! key replaces the earlier one (a correction), so a report needs no state to be accepted.

use super::events::OperatorBillReported;
use crate::event::Event;
use crate::rejection::Rejection;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One operator bill report, every required field of the seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OperatorBill {
    /// The bill period: the first day of the month `bill_date` falls in.
    pub bill_month: NaiveDate,
    /// DID 号段, matched with tariffs' `did`.
    pub did: String,
    pub city_id: i64,
    pub workplace_id: i64,
    pub operator_code: i64,
    pub bg: String,
    pub bu: String,
    /// 资费标准, as the operator states it.
    pub fee_strategy: String,
    /// 资费状态: whether the operator's tariff matches ours (true 一致).
    pub fee_state: bool,
    /// 通话总时长, seconds.
    pub call_duration_s: u64,
    /// 话费总额, yuan.
    pub tel_fee_total: Decimal,
    pub remark: String,
}

/// `operator_bill.report`.
pub fn decide_report(report: &OperatorBill) -> Result<Vec<Event>, Rejection> {
    if report.tel_fee_total.is_sign_negative() && !report.tel_fee_total.is_zero() {
        return Err(Rejection::invalid(
            "tel_fee_total",
            "tel_fee_total must not be negative",
        ));
    }
    Ok(vec![
        OperatorBillReported {
            report: report.clone(),
        }
        .into(),
    ])
}
