//! Call-center read models (seed 003): tariffs, the hourly call summary, per-line usage by
//! business line and month, operator bill reports, the cost-center map and the call/number types
//! seen. Calls arrive rated (`calls.recorded`), so projecting them only adds; every report row
//! is computed on read from these models by `ledger_core::callcenter::report`.
//!
//! Each value holds its whole row (key fields included) so rows are read back without parsing
//! keys; keys only order and identify rows.

use crate::keys;
use crate::store::{Overlay, ReadStore, StoreError, parse_row};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use ledger_core::callcenter::report::{
    CostCenter, Filter, Filtered, Page, Paging, SummaryCell, UsageCell,
};
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
    ledger_core::time::format_date(month)
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

/// The day of an hour's `format_business` text (`yyyy-MM-dd`, its first 10 bytes).
fn day_of(hour_text: &str) -> &str {
    hour_text.get(..10).unwrap_or(hour_text)
}

/// The count rows a new summary cell of (city, hour) adds one to: its hour's and its day's.
fn count_keys(city: &str, hour_text: &str) -> [Vec<u8>; 2] {
    [
        keys::compose(keys::CC_SUMMARY_HOURS, &[city, hour_text]),
        keys::compose(keys::CC_SUMMARY_DAYS, &[city, day_of(hour_text)]),
    ]
}

/// Counts one more summary cell in (city, hour) and in (city, day).
fn add_cell_counts(ov: &mut Overlay<'_>, city_id: i64, hour_text: &str) -> Result<(), StoreError> {
    for key in count_keys(&keys::number(city_id), hour_text) {
        let count = match ov.get(&key)? {
            Some(v) => cell_count(&key, &v)?,
            None => 0,
        };
        ov.put(key, (count + 1).to_be_bytes().to_vec());
    }
    Ok(())
}

fn cell_count(key: &[u8], value: &[u8]) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(value.try_into().map_err(|_| {
        StoreError::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            reason: "a cell count is not 8 bytes".into(),
        }
    })?))
}

/// Count rows [`count_summary_cells`] holds before writing them: a store of years of calls has
/// millions of (city, hour) counts, which one transaction would hold in memory at once.
const COUNT_BATCH: usize = 4096;

/// A store written before the per-day cell counts existed (with or without the per-hour ones)
/// has summary cells without them: counts hours and days once, at open (what projecting its
/// calls now would have written, so the store stays equal to a rebuild).
///
/// The cells are counted in key order (city, then hour) and the counts are written whole days
/// at a time, [`COUNT_BATCH`] or so per atomic write, so the last cell's day count is written
/// last. The projection counts every cell it adds; so a store whose last cell has its day count
/// is counted, and is left as it is after reading those two rows. A crash part-way is counted
/// again from the start at the next open (a count is written whole, never added to).
pub fn count_summary_cells(store: &ReadStore) -> Result<(), StoreError> {
    count_summary_cells_by(store, COUNT_BATCH)
}

fn count_summary_cells_by(store: &ReadStore, batch: usize) -> Result<(), StoreError> {
    let Some((last, _)) = store.last_under(keys::CC_SUMMARY)? else {
        return Ok(());
    };
    let (city, hour) = cell_city_and_hour(&last)?;
    let [_, last_day] = count_keys(&city, &hour);
    if store.overlay()?.get(&last_day)?.is_some() {
        return Ok(());
    }
    let mut counts: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    let mut day = None;
    store.for_each(keys::CC_SUMMARY, |k, _| {
        let (city, hour) = cell_city_and_hour(k)?;
        let this_day = (city.clone(), day_of(&hour).to_string());
        // Every cell of a day is counted before the next day's first: its counts are final.
        if counts.len() >= batch && day.as_ref() != Some(&this_day) {
            write_counts(store, std::mem::take(&mut counts))?;
        }
        day = Some(this_day);
        for key in count_keys(&city, &hour) {
            *counts.entry(key).or_default() += 1;
        }
        Ok(())
    })?;
    write_counts(store, counts)
}

/// The city and hour components of a summary cell key (both plain ASCII: hex digits and
/// `format_business` text).
fn cell_city_and_hour(key: &[u8]) -> Result<(String, String), StoreError> {
    let mut parts = keys::parts(&key[keys::CC_SUMMARY.len()..]).map(std::str::from_utf8);
    match (parts.next(), parts.next()) {
        (Some(Ok(city)), Some(Ok(hour))) => Ok((city.to_string(), hour.to_string())),
        _ => Err(StoreError::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            reason: "not a summary cell key".into(),
        }),
    }
}

/// Writes cell counts as they stand (one atomic write).
fn write_counts(store: &ReadStore, counts: BTreeMap<Vec<u8>, u64>) -> Result<(), StoreError> {
    if counts.is_empty() {
        return Ok(());
    }
    let mut ov = store.overlay()?;
    for (key, n) in counts {
        ov.put(key, n.to_be_bytes().to_vec());
    }
    store.write(ov)
}

/// Adds each rated call to its summary cell and its usage cell.
pub fn record_calls(ov: &mut Overlay<'_>, e: &CallsRecorded) -> Result<(), StoreError> {
    for rated in &e.calls {
        let c = &rated.call;
        let hour = c
            .start_time
            .date()
            .and_time(NaiveTime::from_hms_opt(c.start_time.hour(), 0, 0).expect("valid hour"));
        let hour_text = ledger_core::time::format_business(hour);
        let summary_key = keys::compose(
            keys::CC_SUMMARY,
            &[
                &keys::number(c.city_id),
                &hour_text,
                &c.bg,
                &c.bu,
                &c.business_line,
                &keys::number(c.workplace_id),
                &keys::number(c.operator_code),
                &c.call_type,
                &c.number_type,
            ],
        );
        let mut summary = match ov.get_json::<SummaryRow>(&summary_key)? {
            Some(row) => row,
            None => {
                add_cell_counts(ov, c.city_id, &hour_text)?;
                SummaryRow {
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
                }
            }
        };
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
        .map(cell)
        .collect())
}

/// The page of the summary cells matching `filter` and the count of every match, in
/// [`summary_cells`] order. Every field a summary filter names is part of a cell's key, so the
/// filter is checked on the key's bytes ([`KeyFilter`]) and only the page's rows are decoded (a
/// populated city holds thousands of cells; the listing shows 20).
pub fn summary_page(
    store: &ReadStore,
    filter: &Filter,
    paging: Paging,
) -> Result<Page<SummaryCell>, StoreError> {
    let prefix = match filter.city_id {
        Some(c) => keys::compose_prefix(keys::CC_SUMMARY, &[&keys::number(c)]),
        None => keys::CC_SUMMARY.to_vec(),
    };
    let key_filter = KeyFilter::new(filter);
    if let (Some(city), Some(f)) = (filter.city_id, &key_filter)
        && f.city_and_hours_only()
    {
        return city_page(store, city, f, paging);
    }
    let window = paging.window();
    let mut page = Page {
        items: Vec::new(),
        total: 0,
    };
    store.for_each(&prefix, |k, v| {
        let mut row = None;
        let matches = match key_filter
            .as_ref()
            .and_then(|f| f.matches(&k[keys::CC_SUMMARY.len()..]))
        {
            Some(m) => m,
            // Bounds a key cannot be compared with, or a key not of nine parts: the row.
            None => row
                .insert(cell(parse_row::<SummaryRow>(k, v)?))
                .matches(filter),
        };
        if matches {
            page.total += 1;
            if window.contains(&page.total) {
                let cell = match row {
                    Some(cell) => cell,
                    None => cell(parse_row::<SummaryRow>(k, v)?),
                };
                page.items.push((page.total, cell));
            }
        }
        Ok(())
    })?;
    Ok(page)
}

/// The summary page of a filter on a city and hours alone: the total from the cell counts (a
/// day's count for each day the hours cover whole, the hours' counts of the first and last day
/// when they cover part of it), the page read from the first cell of the first hour on,
/// stopping after the page (every cell in the hours matches).
fn city_page(
    store: &ReadStore,
    city: i64,
    f: &KeyFilter,
    paging: Paging,
) -> Result<Page<SummaryCell>, StoreError> {
    let in_hours = |hour: &[u8]| {
        f.from_hour.as_deref().is_none_or(|from| hour >= from)
            && f.to.as_deref().is_none_or(|to| hour <= to)
    };
    let at = |day: &[u8], time: &[u8]| [day, time].concat();
    let days = keys::compose_prefix(keys::CC_SUMMARY_DAYS, &[&keys::number(city)]);
    let mut start = days.clone();
    start.extend(
        f.from_hour
            .as_deref()
            .and_then(|h| h.get(..10))
            .unwrap_or_default(),
    );
    let (mut total, mut partial_days) = (0, Vec::new());
    store.for_each_from(&days, &start, |k, v| {
        let day = &k[days.len()..];
        let (first, last) = (at(day, b" 00:00:00"), at(day, b" 23:00:00"));
        if f.to.as_deref().is_some_and(|to| first.as_slice() > to) {
            return Ok(false);
        }
        match (in_hours(&first), in_hours(&last)) {
            (true, true) => total += cell_count(k, v)?,
            // The hours are one interval, so only its first and last day are cut.
            _ => partial_days.push(day.to_vec()),
        }
        Ok(true)
    })?;
    let hours = keys::compose_prefix(keys::CC_SUMMARY_HOURS, &[&keys::number(city)]);
    for day in partial_days {
        let day_hours = at(&hours, &day);
        store.for_each_from(&hours, &day_hours, |k, v| {
            let hour = &k[hours.len()..];
            if !hour.starts_with(&day) {
                return Ok(false);
            }
            if in_hours(hour) {
                total += cell_count(k, v)?;
            }
            Ok(true)
        })?;
    }
    let cells = keys::compose_prefix(keys::CC_SUMMARY, &[&keys::number(city)]);
    let mut start = cells.clone();
    start.extend_from_slice(f.from_hour.as_deref().unwrap_or_default());
    let window = paging.window();
    let mut items = Vec::new();
    let mut index = 0;
    store.for_each_from(&cells, &start, |k, v| {
        let hour = k.get(cells.len()..cells.len() + 19).unwrap_or_default();
        if !in_hours(hour) || index >= *window.end() {
            return Ok(false);
        }
        index += 1;
        if window.contains(&index) {
            items.push((index, cell(parse_row::<SummaryRow>(k, v)?)));
        }
        Ok(true)
    })?;
    Ok(Page { items, total })
}

/// A summary filter (`SummaryCell`'s `Filtered` rule) as the bytes a cell key holds: each
/// field as its key component, the hours as `format_business` text (fixed width, so text order
/// is time order).
struct KeyFilter {
    city: Option<Vec<u8>>,
    bg: Option<Vec<u8>>,
    bu: Option<Vec<u8>>,
    operator: Option<Vec<u8>>,
    call_type: Option<Vec<u8>>,
    number_type: Option<Vec<u8>>,
    from_hour: Option<Vec<u8>>,
    to: Option<Vec<u8>>,
}

/// The components of a summary cell key: city, hour, BG, BU, business line, workplace,
/// operator, call type, number type.
const SUMMARY_KEY_PARTS: usize = 9;

impl KeyFilter {
    /// None when a bound's year is outside 1000–9999 (its text is not 19 bytes).
    fn new(f: &Filter) -> Option<KeyFilter> {
        let part = |text: &str| keys::compose(b"", &[text]);
        let time = |t: NaiveDateTime| {
            let text = ledger_core::time::format_business(t).into_bytes();
            (text.len() == 19).then_some(text)
        };
        let floor = |t: NaiveDateTime| {
            t.date()
                .and_time(NaiveTime::from_hms_opt(t.hour(), 0, 0).expect("valid hour"))
        };
        Some(KeyFilter {
            city: f.city_id.map(|c| part(&keys::number(c))),
            bg: f.bg.as_deref().map(part),
            bu: f.bu.as_deref().map(part),
            operator: f.operator_code.map(|c| part(&keys::number(c))),
            call_type: f.call_type.as_deref().map(part),
            number_type: f.number_type.as_deref().map(part),
            from_hour: match f.call_from {
                Some(t) => Some(time(floor(t))?),
                None => None,
            },
            to: match f.call_to {
                Some(t) => Some(time(t)?),
                None => None,
            },
        })
    }

    /// Whether only the city and the hours are filtered.
    fn city_and_hours_only(&self) -> bool {
        self.city.is_some()
            && [
                &self.bg,
                &self.bu,
                &self.operator,
                &self.call_type,
                &self.number_type,
            ]
            .iter()
            .all(|f| f.is_none())
    }

    /// Whether the key (after its prefix) matches; None when it is not a summary cell key.
    fn matches(&self, rest: &[u8]) -> Option<bool> {
        let mut parts: [&[u8]; SUMMARY_KEY_PARTS] = [&[]; SUMMARY_KEY_PARTS];
        let mut n = 0;
        for part in keys::parts(rest) {
            *parts.get_mut(n)? = part;
            n += 1;
        }
        if n != SUMMARY_KEY_PARTS || parts[1].len() != 19 {
            return None;
        }
        let eq = |want: &Option<Vec<u8>>, got: &[u8]| want.as_deref().is_none_or(|w| w == got);
        let hour = parts[1];
        Some(
            eq(&self.city, parts[0])
                && eq(&self.bg, parts[2])
                && eq(&self.bu, parts[3])
                && eq(&self.operator, parts[6])
                && eq(&self.call_type, parts[7])
                && eq(&self.number_type, parts[8])
                && self.from_hour.as_deref().is_none_or(|f| hour >= f)
                && self.to.as_deref().is_none_or(|t| hour <= t),
        )
    }
}

fn cell(r: SummaryRow) -> SummaryCell {
    SummaryCell {
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
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use ledger_core::callcenter::report::select;
    use ledger_core::callcenter::{CallRecord, RatedCallRecord};
    use ledger_core::{Event, EventDraft, Sha256Hash};
    use rust_decimal::Decimal;

    /// Two cities' calls over three days and every hour, with BG/BU, operator, call and number
    /// types varying at different rates, so each filter keeps a different subset of cells.
    fn populated() -> (tempfile::TempDir, ReadStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = ReadStore::open(dir.path()).unwrap();
        let mut prev = Sha256Hash::GENESIS;
        let mut envelopes = Vec::new();
        for (batch, city_id) in [71, 72, 71].into_iter().enumerate() {
            let calls = (0..120u32)
                .map(|i| {
                    let n = batch as u32 * 1000 + i;
                    let call = CallRecord {
                        call_id: format!("c{n}"),
                        did: "0411882544".into(),
                        line_prefix: "JN".into(),
                        city_id,
                        workplace_id: 67 + i64::from(i % 2),
                        operator_code: 43 + i64::from(i % 3),
                        bg: ["房产", "招聘"][(i % 2) as usize].into(),
                        bu: ["二手房", "蓝领"][(i / 2 % 2) as usize].into(),
                        business_line: "黄页".into(),
                        call_type: ["本地手机", "本地固话"][(i / 3 % 2) as usize].into(),
                        number_type: ["联通手机", "电信固话"][(i / 5 % 2) as usize].into(),
                        start_time: chrono::NaiveDate::from_ymd_opt(2022, 3, 1 + i % 3)
                            .unwrap()
                            .and_hms_opt(i % 24, i % 60, 0)
                            .unwrap(),
                        duration_s: 60 + i,
                    };
                    RatedCallRecord {
                        call,
                        tariff_id: 1,
                        units: 1 + i % 5,
                        weight_duration_s: 60,
                        fee: Decimal::new(i64::from(i) * 17, 4),
                    }
                })
                .collect();
            let event = Event::CallsRecorded(CallsRecorded {
                city_id,
                calls,
                duplicates: Vec::new(),
                unrated: Vec::new(),
            });
            let draft = EventDraft {
                event_id: uuid::Uuid::from_u128(batch as u128),
                command_id: format!("cmd-{batch}"),
                key: format!("city:{city_id}"),
                recorded_at: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
                effective_at: event.effective_at(),
                event,
                actor: None,
                body_sha256: None,
            };
            let (env, _) = draft.seal(0, batch as u64, prev);
            prev = env.hash;
            envelopes.push(env);
        }
        store.apply_all(&envelopes).unwrap();
        (dir, store)
    }

    /// A store written before the counts (cells, no counts), or before the day counts (cells
    /// and hour counts), gets them when opened: the same rows a projection of its calls writes
    /// now.
    #[test]
    fn a_store_without_cell_counts_is_counted_when_opened() {
        for dropped in [
            &[keys::CC_SUMMARY_HOURS, keys::CC_SUMMARY_DAYS][..],
            &[keys::CC_SUMMARY_DAYS][..],
        ] {
            let (dir, store) = populated();
            let projected = store.dump().unwrap();
            let mut ov = store.overlay().unwrap();
            let mut removed = 0;
            for prefix in dropped {
                store
                    .for_each(prefix, |k, _| {
                        removed += 1;
                        ov.remove(k.to_vec());
                        Ok(())
                    })
                    .unwrap();
            }
            store.write(ov).unwrap();
            assert!(removed > 0);
            assert_ne!(store.dump().unwrap(), projected);
            drop(store);
            let reopened = ReadStore::open(dir.path()).unwrap();
            assert_eq!(reopened.dump().unwrap(), projected, "{dropped:?}");
        }
    }

    /// A count cut part-way (some days counted, the last cell's day not, as a crash between
    /// two of its writes leaves it) is done again at the next open, and counting in writes of
    /// three rows gives the same rows: both what the projection wrote.
    #[test]
    fn a_count_in_batches_or_cut_part_way_ends_as_a_rebuild() {
        let drop_counts = |store: &ReadStore, keep: &dyn Fn(&[u8]) -> bool| {
            let mut ov = store.overlay().unwrap();
            for prefix in [keys::CC_SUMMARY_HOURS, keys::CC_SUMMARY_DAYS] {
                store
                    .for_each(prefix, |k, _| {
                        if !keep(k) {
                            ov.remove(k.to_vec());
                        }
                        Ok(())
                    })
                    .unwrap();
            }
            store.write(ov).unwrap();
        };
        let (dir, store) = populated();
        let projected = store.dump().unwrap();
        drop_counts(&store, &|k| k.windows(10).any(|w| w == b"2022-03-01"));
        assert_ne!(store.dump().unwrap(), projected);
        drop(store);
        let reopened = ReadStore::open(dir.path()).unwrap();
        assert_eq!(reopened.dump().unwrap(), projected);

        drop_counts(&reopened, &|_| false);
        count_summary_cells_by(&reopened, 3).unwrap();
        assert_eq!(reopened.dump().unwrap(), projected);
    }

    /// The key-filtered page is the page the full scan gives: same cells, same ids, same total,
    /// for every filter the summary takes and pages across the whole listing.
    #[test]
    fn summary_page_equals_filtering_every_cell() {
        let (_dir, store) = populated();
        let at = |d: u32, h: u32, m: u32| {
            chrono::NaiveDate::from_ymd_opt(2022, 3, d)
                .unwrap()
                .and_hms_opt(h, m, 0)
        };
        let filters = [
            Filter::default(),
            Filter {
                city_id: Some(71),
                ..Filter::default()
            },
            Filter {
                city_id: Some(72),
                call_from: at(2, 9, 30),
                call_to: at(3, 10, 0),
                ..Filter::default()
            },
            Filter {
                city_id: Some(71),
                call_from: at(2, 23, 59),
                ..Filter::default()
            },
            Filter {
                city_id: Some(71),
                call_to: at(1, 12, 0),
                ..Filter::default()
            },
            // A whole middle day between two cut ones, whole days only, and an empty range:
            // the day counts and the hour counts together.
            Filter {
                city_id: Some(71),
                call_from: at(1, 5, 10),
                call_to: at(3, 23, 0),
                ..Filter::default()
            },
            Filter {
                city_id: Some(72),
                call_from: at(2, 0, 0),
                call_to: at(3, 23, 59),
                ..Filter::default()
            },
            Filter {
                city_id: Some(72),
                call_from: at(3, 0, 0),
                call_to: at(2, 0, 0),
                ..Filter::default()
            },
            Filter {
                call_type: Some("本地固话".into()),
                ..Filter::default()
            },
            Filter {
                bg: Some("招聘".into()),
                bu: Some("蓝领".into()),
                number_type: Some("联通手机".into()),
                ..Filter::default()
            },
            Filter {
                city_id: Some(71),
                operator_code: Some(44),
                ..Filter::default()
            },
            Filter {
                city_id: Some(999),
                ..Filter::default()
            },
        ];
        let mut seen_items = 0;
        for filter in &filters {
            let all = summary_cells(&store, filter.city_id).unwrap();
            for limit in [1, 7, 20, 1000] {
                for page in 1..=5 {
                    let paging = Paging { page, limit };
                    let want = select(all.clone(), filter, paging);
                    let got = summary_page(&store, filter, paging).unwrap();
                    assert_eq!(got, want, "{filter:?} {paging:?}");
                    seen_items += got.items.len();
                }
            }
        }
        assert!(seen_items > 500, "the filters keep cells: {seen_items}");
        let total = |city_id| {
            let filter = Filter {
                city_id,
                ..Filter::default()
            };
            summary_page(&store, &filter, Paging::default())
                .unwrap()
                .total
        };
        assert_eq!(
            total(Some(71)) + total(Some(72)),
            total(None),
            "the cities split the cells"
        );
    }
}
