//! Call-center read models (seed 003): tariffs, the hourly call summary, per-line usage by
//! business line and month, operator bill reports, the cost-center map and the call/number types
//! seen. Calls arrive rated (`calls.recorded`), so projecting them only adds; every report row
//! is computed on read from these models by `ledger_core::callcenter::report`.
//!
//! Each value holds its whole row (key fields included) so rows are read back without parsing
//! keys; keys only order and identify rows.

use crate::keys;
use crate::store::{Overlay, ReadStore, StoreError};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use ledger_core::callcenter::report::{CostCenter, SummaryCell, UsageCell};
use ledger_core::callcenter::{
    CallsRecorded, CostCenterAssigned, LineBill, OperatorBill, Tariff, bill_month,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const CALL_TYPE: &str = "call_type";
const NUMBER_TYPE: &str = "number_type";

#[derive(Debug, Serialize, Deserialize)]
struct SummaryRow {
    city_id: i64,
    #[serde(with = "ledger_core::time::business")]
    call_hour: NaiveDateTime,
    bg: String,
    bu: String,
    business_line: String,
    workplace_id: i64,
    operator_code: i64,
    call_type: String,
    number_type: String,
    bill: LineBill,
}

#[derive(Debug, Serialize, Deserialize)]
struct UsageRow {
    city_id: i64,
    tariff_id: u64,
    month: NaiveDate,
    bg: String,
    bu: String,
    business_line: String,
    bill: LineBill,
}

#[derive(Debug, Serialize, Deserialize)]
struct CostCenterRow {
    bg: String,
    bu: String,
    cost_center: String,
    cost_center_code: String,
}

fn month_text(month: NaiveDate) -> String {
    month.format("%Y-%m-%d").to_string()
}

pub fn put_tariff(ov: &mut Overlay<'_>, tariff: &Tariff) -> Result<(), StoreError> {
    ov.put_json(
        keys::compose(keys::CC_TARIFF, &[&keys::number(tariff.tariff_id as i64)]),
        tariff,
    );
    for rule in &tariff.call_fee {
        put_name(ov, CALL_TYPE, &rule.call_type);
    }
    Ok(())
}

fn put_name(ov: &mut Overlay<'_>, kind: &str, name: &str) {
    if !name.is_empty() {
        ov.put_json(keys::compose(keys::CC_NAME, &[kind, name]), &name);
    }
}

pub fn put_report(ov: &mut Overlay<'_>, report: &OperatorBill) -> Result<(), StoreError> {
    let key = keys::compose(
        keys::CC_REPORT,
        &[
            &keys::number(report.city_id),
            &report.did,
            &month_text(report.bill_month),
            &keys::number(report.workplace_id),
            &keys::number(report.operator_code),
            &report.bg,
            &report.bu,
        ],
    );
    ov.put_json(key, report);
    Ok(())
}

pub fn put_cost_center(ov: &mut Overlay<'_>, e: &CostCenterAssigned) -> Result<(), StoreError> {
    ov.put_json(
        keys::compose(keys::CC_COST_CENTER, &[&e.bg, &e.bu]),
        &CostCenterRow {
            bg: e.bg.clone(),
            bu: e.bu.clone(),
            cost_center: e.cost_center.clone(),
            cost_center_code: e.cost_center_code.clone(),
        },
    );
    Ok(())
}

/// Adds each rated call to its summary cell and its usage cell.
pub fn record_calls(ov: &mut Overlay<'_>, e: &CallsRecorded) -> Result<(), StoreError> {
    for rated in &e.calls {
        let c = &rated.call;
        let hour = c
            .start_time
            .date()
            .and_time(NaiveTime::from_hms_opt(c.start_time.hour(), 0, 0).expect("valid hour"));
        let summary_key = keys::compose(
            keys::CC_SUMMARY,
            &[
                &keys::number(c.city_id),
                &ledger_core::time::format_business(hour),
                &c.bg,
                &c.bu,
                &c.business_line,
                &keys::number(c.workplace_id),
                &keys::number(c.operator_code),
                &c.call_type,
                &c.number_type,
            ],
        );
        let mut summary = ov
            .get_json::<SummaryRow>(&summary_key)?
            .unwrap_or_else(|| SummaryRow {
                city_id: c.city_id,
                call_hour: hour,
                bg: c.bg.clone(),
                bu: c.bu.clone(),
                business_line: c.business_line.clone(),
                workplace_id: c.workplace_id,
                operator_code: c.operator_code,
                call_type: c.call_type.clone(),
                number_type: c.number_type.clone(),
                bill: LineBill::default(),
            });
        summary.bill.add(&rated.rated(), c.duration_s);
        ov.put_json(summary_key, &summary);

        let month = bill_month(c.start_time.date());
        let usage_key = keys::compose(
            keys::CC_USAGE,
            &[
                &keys::number(c.city_id),
                &keys::number(rated.tariff_id as i64),
                &month_text(month),
                &c.bg,
                &c.bu,
                &c.business_line,
            ],
        );
        let mut usage = ov
            .get_json::<UsageRow>(&usage_key)?
            .unwrap_or_else(|| UsageRow {
                city_id: c.city_id,
                tariff_id: rated.tariff_id,
                month,
                bg: c.bg.clone(),
                bu: c.bu.clone(),
                business_line: c.business_line.clone(),
                bill: LineBill::default(),
            });
        usage.bill.add(&rated.rated(), c.duration_s);
        ov.put_json(usage_key, &usage);

        put_name(ov, CALL_TYPE, &c.call_type);
        put_name(ov, NUMBER_TYPE, &c.number_type);
    }
    Ok(())
}

/// Every tariff, by id.
pub fn tariffs(store: &ReadStore) -> Result<Vec<Tariff>, StoreError> {
    store.scan_json(keys::CC_TARIFF)
}

pub fn tariff(store: &ReadStore, tariff_id: u64) -> Result<Option<Tariff>, StoreError> {
    store.get_json(&keys::compose(
        keys::CC_TARIFF,
        &[&keys::number(tariff_id as i64)],
    ))
}

/// Summary cells, by city then hour; one city's only when `city_id` is given.
pub fn summary_cells(
    store: &ReadStore,
    city_id: Option<i64>,
) -> Result<Vec<SummaryCell>, StoreError> {
    let prefix = match city_id {
        Some(c) => keys::compose_prefix(keys::CC_SUMMARY, &[&keys::number(c)]),
        None => keys::CC_SUMMARY.to_vec(),
    };
    Ok(store
        .scan_json::<SummaryRow>(&prefix)?
        .into_iter()
        .map(|r| SummaryCell {
            city_id: r.city_id,
            call_hour: r.call_hour,
            bg: r.bg,
            bu: r.bu,
            business_line: r.business_line,
            workplace_id: r.workplace_id,
            operator_code: r.operator_code,
            call_type: r.call_type,
            number_type: r.number_type,
            bill: r.bill,
        })
        .collect())
}

/// Usage cells, by city, tariff, month.
pub fn usage_cells(store: &ReadStore) -> Result<Vec<UsageCell>, StoreError> {
    Ok(store
        .scan_json::<UsageRow>(keys::CC_USAGE)?
        .into_iter()
        .map(|r| UsageCell {
            city_id: r.city_id,
            tariff_id: r.tariff_id,
            month: r.month,
            bg: r.bg,
            bu: r.bu,
            business_line: r.business_line,
            bill: r.bill,
        })
        .collect())
}

/// Operator bill reports, the latest per key.
pub fn reports(store: &ReadStore) -> Result<Vec<OperatorBill>, StoreError> {
    store.scan_json(keys::CC_REPORT)
}

/// The cost-center map.
pub fn cost_centers(
    store: &ReadStore,
) -> Result<BTreeMap<(String, String), CostCenter>, StoreError> {
    Ok(store
        .scan_json::<CostCenterRow>(keys::CC_COST_CENTER)?
        .into_iter()
        .map(|r| {
            (
                (r.bg, r.bu),
                CostCenter {
                    cost_center: r.cost_center,
                    cost_center_code: r.cost_center_code,
                },
            )
        })
        .collect())
}

/// The call types (from tariffs and calls) or number types (from calls) seen, sorted.
pub fn names(store: &ReadStore, number_types: bool) -> Result<Vec<String>, StoreError> {
    let kind = if number_types { NUMBER_TYPE } else { CALL_TYPE };
    store.scan_json(&keys::compose_prefix(keys::CC_NAME, &[kind]))
}
