//! The read side of the call-center family: from the projected usage aggregates, the tariffs,
//! the operator reports and the cost-center map to the rows of the seed's queries. Pure, so the
//! same read models always give the same replies (and a replayed store the same again).
//!
//! - A *system bill* exists per tariff and month with rated calls, and per tariff and month an
//!   operator reported for the tariff's city and DID segment while the tariff was in force (so a
//!   line without traffic still shows its fixed fees and minimum charge). It is settled with
//!   [`settle`] on the tariff as it is now: calls keep the fee they were rated at, fixed fees and
//!   the minimum come from the current tariff.
//! - `/api/bill/operator/query`: system bills summed per city, workplace, operator and month;
//!   `report_state` says whether the operator reported any bill for that group and month.
//! - `/api/bill/businessline/query`: usage per city, BG, BU, business line and month; each line's
//!   threshold discount is split across its business lines by fee.
//! - `/api/bill/verify`: per city, DID segment and month, the operator's reported duration and fee
//!   against the system's talk time and total bill (fixed fees and minimum included).
//! - `/api/bill/share`: each operator-query group's reported total and system total split across
//!   BG/BU by weight_duration, mapped to cost centers.

use super::billing::{LineBill, Settlement, settle};
use super::operator_bill::OperatorBill;
use super::share::allocate;
use super::tariff::Tariff;
use super::verify::signed_percent_diff;
use super::{half_up, month_last_day};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::{BTreeMap, BTreeSet};

/// Usage of one tariff in one month by one BG/BU/business line (read model `ccl/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageCell {
    pub city_id: i64,
    pub tariff_id: u64,
    pub month: NaiveDate,
    pub bg: String,
    pub bu: String,
    pub business_line: String,
    pub bill: LineBill,
}

/// One cell of the call summary (read model `ccs/`): calls of one hour with the same city,
/// BG/BU, business line, workplace, operator, call type and number type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryCell {
    pub city_id: i64,
    /// The hour the calls started in (`2022-03-01 15:00:00`).
    pub call_hour: NaiveDateTime,
    pub bg: String,
    pub bu: String,
    pub business_line: String,
    pub workplace_id: i64,
    pub operator_code: i64,
    pub call_type: String,
    pub number_type: String,
    pub bill: LineBill,
}

/// Where a BG/BU's share goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CostCenter {
    pub cost_center: String,
    pub cost_center_code: String,
}

/// The seed's query filters; `None` does not filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    pub city_id: Option<i64>,
    pub workplace_id: Option<i64>,
    pub operator_code: Option<i64>,
    pub bg: Option<String>,
    pub bu: Option<String>,
    pub call_type: Option<String>,
    pub number_type: Option<String>,
    pub cost_center_code: Option<String>,
    /// Calls from this time (the hour it falls in is included).
    pub call_from: Option<NaiveDateTime>,
    /// Calls up to this time, inclusive.
    pub call_to: Option<NaiveDateTime>,
    /// Bill periods overlapping `[bill_from, bill_to]` (a month counts when any of its days do).
    pub bill_from: Option<NaiveDate>,
    pub bill_to: Option<NaiveDate>,
    pub report_state: Option<bool>,
    pub satisfy_minimum_charge: Option<bool>,
}

fn eq<T: PartialEq>(filter: &Option<T>, value: &T) -> bool {
    filter.as_ref().is_none_or(|f| f == value)
}

impl Filter {
    fn month(&self, month: NaiveDate) -> bool {
        self.bill_from
            .is_none_or(|from| month_last_day(month) >= from)
            && self.bill_to.is_none_or(|to| month <= to)
    }

    fn hour(&self, hour: NaiveDateTime) -> bool {
        let floor = |t: NaiveDateTime| {
            t.date()
                .and_time(NaiveTime::from_hms_opt(t.hour(), 0, 0).expect("valid hour"))
        };
        self.call_from.is_none_or(|from| hour >= floor(from))
            && self.call_to.is_none_or(|to| hour <= to)
    }
}

/// A row the filters apply to.
pub trait Filtered {
    fn matches(&self, filter: &Filter) -> bool;
}

/// Which page of a listing: `page` from 1, `limit` rows per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u32,
    pub limit: u32,
}

impl Paging {
    pub const DEFAULT_LIMIT: u32 = 20;
    pub const MAX_LIMIT: u32 = 1000;

    /// The 1-based positions, among every matching row, that this page shows.
    pub fn window(&self) -> std::ops::RangeInclusive<u64> {
        let skip = (u64::from(self.page.max(1)) - 1) * u64::from(self.limit);
        skip + 1..=skip + u64::from(self.limit)
    }
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            page: 1,
            limit: Self::DEFAULT_LIMIT,
        }
    }
}

/// One page of a filtered listing. `total` counts every matching row; each item carries its
/// 1-based position in the whole listing as its `id`, so ids continue across pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<(u64, T)>,
    pub total: u64,
}

/// Filters then pages `rows`, keeping their order.
pub fn select<T: Filtered>(rows: Vec<T>, filter: &Filter, paging: Paging) -> Page<T> {
    let window = paging.window();
    let mut total = 0;
    let mut items = Vec::new();
    for row in rows.into_iter().filter(|r| r.matches(filter)) {
        total += 1;
        if window.contains(&total) {
            items.push((total, row));
        }
    }
    Page { items, total }
}

impl Filtered for SummaryCell {
    fn matches(&self, f: &Filter) -> bool {
        eq(&f.city_id, &self.city_id)
            && eq(&f.bg, &self.bg)
            && eq(&f.bu, &self.bu)
            && eq(&f.operator_code, &self.operator_code)
            && eq(&f.call_type, &self.call_type)
            && eq(&f.number_type, &self.number_type)
            && f.hour(self.call_hour)
    }
}

impl Filtered for Tariff {
    fn matches(&self, f: &Filter) -> bool {
        eq(&f.city_id, &self.city_id)
            && eq(&f.workplace_id, &self.workplace_id)
            && eq(&f.operator_code, &self.operator_code)
    }
}

/// The system's bill of one tariff for one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemBill<'a> {
    pub tariff: &'a Tariff,
    pub month: NaiveDate,
    pub bill: LineBill,
    pub settlement: Settlement,
}

/// `/api/bill/operator/query` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRow {
    pub city_id: i64,
    pub workplace_id: i64,
    pub operator_code: i64,
    pub bill_month: NaiveDate,
    pub call_duration_s: u64,
    pub weight_duration_s: u64,
    pub call_amount: u64,
    /// 实际话费: rated usage before the threshold discount.
    pub tel_fee: Decimal,
    /// 通话费用结算: usage after the threshold discount.
    pub call_fee: Decimal,
    pub minimum_charge_fee: Decimal,
    pub fixed_fee: Decimal,
    /// call_fee + minimum_charge_fee + fixed_fee.
    pub total_tel_fee: Decimal,
    /// Every line of the group reached its minimum charge.
    pub minimum_charge_compare: bool,
    /// The operator reported a bill for this group and month.
    pub report_state: bool,
    /// What the operator reported for this group and month (shared by `/api/bill/share`).
    pub operator_total: Decimal,
}

impl Filtered for OperatorRow {
    fn matches(&self, f: &Filter) -> bool {
        eq(&f.city_id, &self.city_id)
            && eq(&f.workplace_id, &self.workplace_id)
            && eq(&f.operator_code, &self.operator_code)
            && eq(&f.report_state, &self.report_state)
            && eq(&f.satisfy_minimum_charge, &self.minimum_charge_compare)
            && f.month(self.bill_month)
    }
}

/// `/api/bill/businessline/query` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessLineRow {
    pub city_id: i64,
    pub bg: String,
    pub bu: String,
    pub business_line: String,
    pub bill_month: NaiveDate,
    pub call_duration_s: u64,
    pub weight_duration_s: u64,
    pub call_amount: u64,
    /// Rated usage, 2 decimals.
    pub fee: Decimal,
    /// Usage less this business line's part of its lines' threshold discounts, 2 decimals.
    pub fee_after_discount: Decimal,
}

impl Filtered for BusinessLineRow {
    fn matches(&self, f: &Filter) -> bool {
        eq(&f.city_id, &self.city_id)
            && eq(&f.bg, &self.bg)
            && eq(&f.bu, &self.bu)
            && f.month(self.bill_month)
    }
}

/// `/api/bill/verify` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyRow {
    pub city_id: i64,
    pub workplace_id: i64,
    pub operator_code: i64,
    pub bill_month: NaiveDate,
    pub did: String,
    /// The `line_batch` of the tariffs of this DID segment, comma-separated.
    pub line_prefix: String,
    pub operator_call_duration_s: u64,
    pub billing_call_duration_s: u64,
    pub time_diff: String,
    pub operator_total_fee: Decimal,
    pub billing_total_fee: Decimal,
    pub fee_diff: String,
}

impl Filtered for VerifyRow {
    fn matches(&self, f: &Filter) -> bool {
        eq(&f.city_id, &self.city_id)
            && eq(&f.workplace_id, &self.workplace_id)
            && eq(&f.operator_code, &self.operator_code)
            && f.month(self.bill_month)
    }
}

/// `/api/bill/share` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRow {
    pub city_id: i64,
    pub workplace_id: i64,
    pub bill_month: NaiveDate,
    pub operator_code: i64,
    pub bg: String,
    pub bu: String,
    pub cost_center: String,
    pub cost_center_code: String,
    pub operator_bill_share: Decimal,
    pub system_bill_share: Decimal,
    pub report_state: bool,
    pub satisfy_minimum_charge: bool,
}

impl Filtered for ShareRow {
    fn matches(&self, f: &Filter) -> bool {
        eq(&f.city_id, &self.city_id)
            && eq(&f.workplace_id, &self.workplace_id)
            && eq(&f.operator_code, &self.operator_code)
            && eq(&f.report_state, &self.report_state)
            && eq(&f.satisfy_minimum_charge, &self.satisfy_minimum_charge)
            && eq(&f.cost_center_code, &self.cost_center_code)
            && f.month(self.bill_month)
    }
}

/// Whether a tariff is in force at some moment of the month starting at `month`.
fn in_force_during(tariff: &Tariff, month: NaiveDate) -> bool {
    let start = month.and_time(NaiveTime::MIN);
    let end = month_last_day(month)
        .and_hms_opt(23, 59, 59)
        .expect("valid time");
    tariff.take_effect_time.is_none_or(|t| t <= end)
        && tariff.invalid_time.is_none_or(|t| t > start)
}

/// Operator-query group: city, workplace, operator, month.
type Group = (i64, i64, i64, NaiveDate);

/// Everything the reports are computed from.
pub struct Books<'a> {
    pub tariffs: &'a [Tariff],
    pub usage: &'a [UsageCell],
    pub reports: &'a [OperatorBill],
    pub cost_centers: &'a BTreeMap<(String, String), CostCenter>,
}

impl<'a> Books<'a> {
    fn tariff(&self, id: u64) -> Option<&'a Tariff> {
        self.tariffs.iter().find(|t| t.tariff_id == id)
    }

    fn group_of(tariff: &Tariff, month: NaiveDate) -> Group {
        (
            tariff.city_id,
            tariff.workplace_id,
            tariff.operator_code,
            month,
        )
    }

    /// Every system bill, by tariff id then month.
    pub fn system_bills(&self) -> Vec<SystemBill<'a>> {
        let mut bills: BTreeMap<(u64, NaiveDate), LineBill> = BTreeMap::new();
        for cell in self.usage {
            bills
                .entry((cell.tariff_id, cell.month))
                .or_default()
                .merge(&cell.bill);
        }
        for report in self.reports {
            for t in self.tariffs {
                if t.city_id == report.city_id
                    && t.did == report.did
                    && in_force_during(t, report.bill_month)
                {
                    bills.entry((t.tariff_id, report.bill_month)).or_default();
                }
            }
        }
        bills
            .into_iter()
            .filter_map(|((id, month), bill)| {
                let tariff = self.tariff(id)?;
                Some(SystemBill {
                    tariff,
                    month,
                    bill,
                    settlement: settle(tariff, &bill),
                })
            })
            .collect()
    }

    /// `/api/bill/operator/query` rows, by city, workplace, operator, month.
    pub fn operator_rows(&self) -> Vec<OperatorRow> {
        let blank = |(city_id, workplace_id, operator_code, bill_month): Group| OperatorRow {
            city_id,
            workplace_id,
            operator_code,
            bill_month,
            call_duration_s: 0,
            weight_duration_s: 0,
            call_amount: 0,
            tel_fee: Decimal::ZERO,
            call_fee: Decimal::ZERO,
            minimum_charge_fee: Decimal::ZERO,
            fixed_fee: Decimal::ZERO,
            total_tel_fee: Decimal::ZERO,
            minimum_charge_compare: true,
            report_state: false,
            operator_total: Decimal::ZERO,
        };
        let mut rows: BTreeMap<Group, OperatorRow> = BTreeMap::new();
        for b in self.system_bills() {
            let key = Self::group_of(b.tariff, b.month);
            let row = rows.entry(key).or_insert_with(|| blank(key));
            let s = &b.settlement;
            row.call_duration_s += b.bill.call_duration_s;
            row.weight_duration_s += b.bill.weight_duration_s;
            row.call_amount += b.bill.call_amount;
            row.tel_fee += s.call_fee;
            row.call_fee += s.call_fee - s.discount;
            row.minimum_charge_fee += s.minimum_charge_fee;
            row.fixed_fee += s.fixed_fee;
            row.total_tel_fee += s.total_tel_fee;
            row.minimum_charge_compare &= s.minimum_charge_compare;
        }
        for r in self.reports {
            let key = (r.city_id, r.workplace_id, r.operator_code, r.bill_month);
            let row = rows.entry(key).or_insert_with(|| blank(key));
            row.report_state = true;
            row.operator_total += r.tel_fee_total;
        }
        rows.into_values().collect()
    }

    /// `/api/bill/businessline/query` rows, by city, BG, BU, business line, month.
    pub fn business_line_rows(&self) -> Vec<BusinessLineRow> {
        let discounts: BTreeMap<(u64, NaiveDate), Decimal> = self
            .system_bills()
            .iter()
            .filter(|b| !b.settlement.discount.is_zero())
            .map(|b| ((b.tariff.tariff_id, b.month), b.settlement.discount))
            .collect();
        // Each discounted line-month's discount, split over its cells by fee (in 1/10000 yuan,
        // the unit fees are rated in).
        let mut discount_of_cell: Vec<Decimal> = vec![Decimal::ZERO; self.usage.len()];
        for (&(tariff_id, month), &discount) in &discounts {
            let cells: Vec<(usize, u64)> = self
                .usage
                .iter()
                .enumerate()
                .filter(|(_, c)| c.tariff_id == tariff_id && c.month == month)
                .map(|(i, c)| {
                    let weight = (c.bill.call_fee * Decimal::from(10_000))
                        .trunc()
                        .to_u64()
                        .unwrap_or(0);
                    (i, weight)
                })
                .collect();
            for (i, share) in allocate(discount, &cells) {
                discount_of_cell[i] = share;
            }
        }
        type Key = (i64, String, String, String, NaiveDate);
        let mut sums: BTreeMap<Key, (LineBill, Decimal)> = BTreeMap::new();
        for (cell, discount) in self.usage.iter().zip(discount_of_cell) {
            let key = (
                cell.city_id,
                cell.bg.clone(),
                cell.bu.clone(),
                cell.business_line.clone(),
                cell.month,
            );
            let entry = sums.entry(key).or_default();
            entry.0.merge(&cell.bill);
            entry.1 += discount;
        }
        sums.into_iter()
            .map(
                |((city_id, bg, bu, business_line, bill_month), (bill, discount))| {
                    BusinessLineRow {
                        city_id,
                        bg,
                        bu,
                        business_line,
                        bill_month,
                        call_duration_s: bill.call_duration_s,
                        weight_duration_s: bill.weight_duration_s,
                        call_amount: bill.call_amount,
                        fee: half_up(bill.call_fee, 2),
                        fee_after_discount: half_up(bill.call_fee - discount, 2),
                    }
                },
            )
            .collect()
    }

    /// `/api/bill/verify` rows, by city, DID segment, month.
    pub fn verify_rows(&self) -> Vec<VerifyRow> {
        #[derive(Default)]
        struct Side {
            seen: bool,
            duration_s: u64,
            fee: Decimal,
            place: Option<(i64, i64)>,
        }
        /// Operator side, system side, the tariffs' line batches.
        type Sides = (Side, Side, BTreeSet<String>);
        let mut rows: BTreeMap<(i64, String, NaiveDate), Sides> = BTreeMap::new();
        for b in self.system_bills() {
            let key = (b.tariff.city_id, b.tariff.did.clone(), b.month);
            let (_, system, lines) = rows.entry(key).or_default();
            system.seen = true;
            system.duration_s += b.bill.call_duration_s;
            system.fee += b.settlement.total_tel_fee;
            system
                .place
                .get_or_insert((b.tariff.workplace_id, b.tariff.operator_code));
            lines.insert(b.tariff.line_batch.clone());
        }
        for r in self.reports {
            let key = (r.city_id, r.did.clone(), r.bill_month);
            let (operator, _, _) = rows.entry(key).or_default();
            operator.seen = true;
            operator.duration_s += r.call_duration_s;
            operator.fee += r.tel_fee_total;
            operator
                .place
                .get_or_insert((r.workplace_id, r.operator_code));
        }
        rows.into_iter()
            .map(|((city_id, did, bill_month), (operator, system, lines))| {
                let (workplace_id, operator_code) =
                    system.place.or(operator.place).unwrap_or_default();
                let lines: Vec<String> = lines.into_iter().filter(|l| !l.is_empty()).collect();
                VerifyRow {
                    city_id,
                    workplace_id,
                    operator_code,
                    bill_month,
                    did,
                    line_prefix: lines.join(","),
                    operator_call_duration_s: operator.duration_s,
                    billing_call_duration_s: system.duration_s,
                    time_diff: signed_percent_diff(
                        Decimal::from(operator.duration_s),
                        Decimal::from(system.duration_s),
                    ),
                    operator_total_fee: half_up(operator.fee, 2),
                    billing_total_fee: system.fee,
                    fee_diff: signed_percent_diff(operator.fee, system.fee),
                }
            })
            .collect()
    }

    /// `/api/bill/share` rows: per operator-query group, one row per BG/BU with calls (by BG, BU),
    /// or one row with empty BG/BU when the group has no calls.
    pub fn share_rows(&self) -> Vec<ShareRow> {
        let mut weights: BTreeMap<Group, BTreeMap<(String, String), u64>> = BTreeMap::new();
        for cell in self.usage {
            if let Some(tariff) = self.tariff(cell.tariff_id) {
                *weights
                    .entry(Self::group_of(tariff, cell.month))
                    .or_default()
                    .entry((cell.bg.clone(), cell.bu.clone()))
                    .or_default() += cell.bill.weight_duration_s;
            }
        }
        let mut out = Vec::new();
        for row in self.operator_rows() {
            let key = (
                row.city_id,
                row.workplace_id,
                row.operator_code,
                row.bill_month,
            );
            let keyed: Vec<((String, String), u64)> = match weights.remove(&key) {
                Some(w) if !w.is_empty() => w.into_iter().collect(),
                _ => vec![((String::new(), String::new()), 0)],
            };
            let operator_shares = allocate(row.operator_total, &keyed);
            let system_shares = allocate(row.total_tel_fee, &keyed);
            for (((bg, bu), operator_share), (_, system_share)) in
                operator_shares.into_iter().zip(system_shares)
            {
                let center = self
                    .cost_centers
                    .get(&(bg.clone(), bu.clone()))
                    .cloned()
                    .unwrap_or_default();
                out.push(ShareRow {
                    city_id: row.city_id,
                    workplace_id: row.workplace_id,
                    bill_month: row.bill_month,
                    operator_code: row.operator_code,
                    bg,
                    bu,
                    cost_center: center.cost_center,
                    cost_center_code: center.cost_center_code,
                    operator_bill_share: operator_share,
                    system_bill_share: system_share,
                    report_state: row.report_state,
                    satisfy_minimum_charge: row.minimum_charge_compare,
                });
            }
        }
        out
    }
}
