//! The call-center family's wire format (seed 003, the 58.com 天语 billing center): request bodies
//! into typed commands, query parameters into filters, rows into the seed's items, and the
//! `{"code":0,"message":"success","data":…,"user":…}` envelope.
//!
//! Numbers in replies are JSON numbers written from the decimal's exact text (serde_json's
//! arbitrary precision), never through a float: `2310.10` stays `2310.10`.

use crate::codes::{Failure, Family};
use crate::fields::Fields;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use ledger_core::Rejection;
use ledger_core::callcenter::report::{
    BusinessLineRow, Filter, OperatorRow, Paging, ShareRow, SummaryCell, VerifyRow,
};
use ledger_core::callcenter::{
    CallFeeRule, CallRecord, CallsRecord, CallsRecorded, CostCenterAssign, DiscountRule,
    OperatorBill, Scalar, Tariff, TariffChanges, TariffEdit, TariffSetState, bill_month,
    decode_call_fee_rule, decode_discount_rule,
};
use rust_decimal::Decimal;
use serde_json::{Map, Number, Value, json};
use std::str::FromStr;

/// Most calls one `POST /api/bill/calls` may carry.
pub const MAX_CALLS_PER_BATCH: usize = 5000;
/// Longest id or name accepted in a call record or report.
pub const MAX_NAME_LEN: usize = 128;

// ---------------------------------------------------------------------------------------------
// Envelopes

/// `{"code":0,"message":"success","user":…}`, with `data` when there is one.
pub fn ok_reply(data: Option<Value>, user: &str) -> Value {
    let mut reply = json!({"code": 0, "message": "success"});
    // Moved in rather than passed through `json!`, which would deep-copy the built data.
    if let Some(data) = data {
        reply["data"] = data;
    }
    reply["user"] = Value::from(user);
    reply
}

/// `{"code":-1,"message":…,"user":…,"reason":…}` and the HTTP status (the seed has one failure
/// code; `reason` tells the failures apart).
pub fn error_reply(failure: &Failure, user: &str) -> (u16, Value) {
    let w = failure.to_wire(Family::CallCenter);
    let code: i64 = w.code.parse().unwrap_or(-1);
    (
        w.status,
        json!({"code": code, "message": w.message, "user": user, "reason": w.reason}),
    )
}

/// Decided but not yet projected: the client looks the command up later.
pub fn pending_reply(command_id: &str, user: &str) -> Value {
    json!({
        "code": 202,
        "message": format!("处理中 (accepted, still processing; see GET /commands/{command_id})"),
        "data": {"command_id": command_id},
        "user": user,
    })
}

/// A listing's whole reply, `{"code":0,"message":"success","data":{"items":[…],"total":N},
/// "user":…}`, serialized straight from its items (`items` before `total`, as the seed's
/// listings; no JSON tree is built first).
#[derive(serde::Serialize)]
pub struct ListReply<'a, T> {
    code: i64,
    message: &'static str,
    data: ListData<T>,
    user: &'a str,
}

#[derive(serde::Serialize)]
struct ListData<T> {
    items: Vec<T>,
    total: u64,
}

impl<'a, T: serde::Serialize> ListReply<'a, T> {
    pub fn new(items: Vec<T>, total: u64, user: &'a str) -> Self {
        ListReply {
            code: 0,
            message: "success",
            data: ListData { items, total },
            user,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers and times

/// A decimal as a JSON number with exactly `dp` decimals (half-up, as every call-center amount
/// is rounded), from its text.
pub fn decimal_number(value: Decimal, dp: u32) -> Value {
    let mut d = ledger_core::callcenter::half_up(value, dp);
    if d.is_zero() {
        d = Decimal::ZERO;
    }
    d.rescale(dp);
    exact_number(d)
}

/// A decimal as a JSON number with the scale it has.
pub fn exact_number(value: Decimal) -> Value {
    let d = if value.is_zero() {
        Decimal::new(0, value.scale())
    } else {
        value
    };
    Value::Number(Number::from_str(&d.to_string()).expect("a decimal's text is a JSON number"))
}

fn date_text(date: NaiveDate) -> String {
    ledger_core::time::format_date(date)
}

/// A time of day at midnight shows as its date alone (the seed's `2018-09-03`).
fn time_value(t: Option<NaiveDateTime>) -> Value {
    match t {
        None => Value::Null,
        Some(t) if t.time() == NaiveTime::MIN => Value::String(date_text(t.date())),
        Some(t) => Value::String(ledger_core::time::format_business(t)),
    }
}

/// `yyyy-MM-dd HH:mm:ss`, or `yyyy-MM-dd` meaning 00:00:00 (or 23:59:59 when `end_of_day`).
fn parse_time(text: &str, end_of_day: bool) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Ok(t) = ledger_core::time::parse_business(text) {
        return Some(t);
    }
    let date = ledger_core::time::parse_date(text).ok()?;
    Some(if end_of_day {
        date.and_hms_opt(23, 59, 59)?
    } else {
        date.and_time(NaiveTime::MIN)
    })
}

/// `yyyy-MM-dd` or `yyyy-MM` (the month's first day, or last when `end`).
fn parse_date(text: &str, end: bool) -> Option<NaiveDate> {
    let text = text.trim();
    if let Ok(d) = ledger_core::time::parse_date(text) {
        return Some(d);
    }
    let first = ledger_core::time::parse_date(&format!("{text}-01")).ok()?;
    Some(if end {
        ledger_core::callcenter::month_last_day(first)
    } else {
        first
    })
}

// ---------------------------------------------------------------------------------------------
// Body fields

fn required(name: &str) -> Rejection {
    Rejection::missing(name, &format!("{name} is required"))
}

/// A text field (no NUL, at most `max` characters).
fn text(f: &Fields, name: &str, max: usize) -> Result<Option<String>, Rejection> {
    let t = f.text_max(name, max)?;
    if let Some(t) = &t
        && t.contains('\0')
    {
        return Err(Rejection::invalid(
            name,
            format!("{name} must not contain NUL characters"),
        ));
    }
    Ok(t)
}

fn required_text(f: &Fields, name: &str, max: usize) -> Result<String, Rejection> {
    text(f, name, max)?.ok_or_else(|| required(name))
}

/// The first present field among `names` (the seed spells some fields two ways).
fn text_any(f: &Fields, names: &[&str], max: usize) -> Result<Option<String>, Rejection> {
    for name in names {
        if let Some(t) = text(f, name, max)? {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// A non-negative whole number.
fn id(f: &Fields, name: &str) -> Result<Option<i64>, Rejection> {
    match f.integer(name)? {
        Some(n) if n < 0 => Err(Rejection::invalid(
            name,
            format!("{name} must not be negative, got {n}"),
        )),
        other => Ok(other),
    }
}

fn required_id(f: &Fields, name: &str) -> Result<i64, Rejection> {
    id(f, name)?.ok_or_else(|| required(name))
}

fn count<T: TryFrom<i64>>(f: &Fields, names: &[&str]) -> Result<Option<T>, Rejection> {
    for name in names {
        if let Some(n) = id(f, name)? {
            return T::try_from(n)
                .map(Some)
                .map_err(|_| Rejection::invalid(name, format!("{name} is too large, got {n}")));
        }
    }
    Ok(None)
}

/// A non-negative amount in yuan (at most 6 decimals).
fn money_any(f: &Fields, names: &[&str]) -> Result<Option<Decimal>, Rejection> {
    for name in names {
        if let Some(m) = f.money(name)? {
            return Ok(Some(m.yuan()));
        }
    }
    Ok(None)
}

fn boolean(f: &Fields, name: &str) -> Result<Option<bool>, Rejection> {
    match f.value(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.trim() == "true" => Ok(Some(true)),
        Some(Value::String(s)) if s.trim() == "false" => Ok(Some(false)),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(other) => Err(Rejection::invalid(
            name,
            format!("{name} must be true or false, got {other}"),
        )),
    }
}

fn time_field(f: &Fields, name: &str) -> Result<Option<NaiveDateTime>, Rejection> {
    let Some(t) = f.text(name)? else {
        return Ok(None);
    };
    parse_time(&t, false).map(Some).ok_or_else(|| {
        Rejection::invalid(
            name,
            format!("{name} must be yyyy-MM-dd or yyyy-MM-dd HH:mm:ss, got {t:?}"),
        )
    })
}

/// The tariff id of the path (`:id`), a positive whole number.
fn tariff_id(f: &Fields) -> Result<u64, Rejection> {
    let n = required_id(f, "id")?;
    if n == 0 {
        return Err(Rejection::invalid(
            "id",
            "id must be a positive whole number",
        ));
    }
    Ok(n as u64)
}

/// One positional array element: strings and numbers (read from their text) only.
fn scalar(path: &str, v: &Value) -> Result<Scalar, Rejection> {
    match v {
        Value::String(s) => Ok(Scalar::Text(s.clone())),
        Value::Number(n) => {
            let text = n.to_string();
            if text.contains(['e', 'E']) {
                return Err(Rejection::invalid(
                    path,
                    format!("{path} must be a plain decimal number, got {text}"),
                ));
            }
            Decimal::from_str(&text).map(Scalar::Number).map_err(|_| {
                Rejection::invalid(path, format!("{path} is not a decimal number: {text}"))
            })
        }
        other => Err(Rejection::invalid(
            path,
            format!("{path} must be a string or a number, got {other}"),
        )),
    }
}

/// One positional entry: its index (the object key) and its elements.
type Positional = (String, Vec<Scalar>);

/// The entries of a `{"0":[…],"1":[…]}` object (or a plain array of arrays), in order.
fn positional(f: &Fields, name: &str) -> Result<Option<Vec<Positional>>, Rejection> {
    let entries: Vec<(String, &Value)> = match f.value(name) {
        None => return Ok(None),
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        Some(_) => {
            return Err(Rejection::invalid(
                name,
                format!("{name} must be an object of arrays, e.g. {{\"0\":[…]}}"),
            ));
        }
    };
    entries
        .into_iter()
        .map(|(index, v)| {
            let path = format!("{name}[{index}]");
            let Value::Array(items) = v else {
                return Err(Rejection::invalid(
                    &path,
                    format!("{path} must be an array"),
                ));
            };
            let scalars = items
                .iter()
                .enumerate()
                .map(|(pos, item)| scalar(&format!("{path}[{pos}]"), item))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((index, scalars))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn tariff_error(field: &str, e: ledger_core::callcenter::TariffError) -> Rejection {
    Rejection::invalid(field, e.to_string())
}

/// The seed table's flat call-fee fields, in its order (its example sends `call_fee_config`).
const FLAT_CALL_FEE: [&str; 8] = [
    "call_type",
    "billing_mode",
    "first_section_price",
    "section_time",
    "first_section_discount",
    "second_section_price",
    "second_section_discount",
    "billing_unit",
];

/// The seed table's flat discount fields, in its order (its example sends
/// `discount_fee_config`).
const FLAT_DISCOUNT: [&str; 4] = [
    "discount_name",
    "tel_fee_threshold",
    "discount_type",
    "max_discount",
];

/// The flat fields `names` as one positional row, or `None` when none is given. Fields in
/// `optional` may be left out: `""` stands in for them, or (`billing_unit`, the last) the row
/// is one shorter; every other one is then required.
fn flat_row(
    f: &Fields,
    names: &[&str],
    optional: &[&str],
) -> Result<Option<Vec<Scalar>>, Rejection> {
    if names.iter().all(|n| f.value(n).is_none()) {
        return Ok(None);
    }
    let mut row = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        match f.value(name) {
            Some(v) => row.push(scalar(name, v)?),
            None if optional.contains(name) && i + 1 == names.len() => {}
            None if optional.contains(name) => row.push(Scalar::Text(String::new())),
            None => {
                return Err(Rejection::missing(
                    name,
                    &format!(
                        "{name} is required with the other flat fields ({}) that describe one row",
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(Some(row))
}

/// `call_fee_config`: each entry decoded by position; a call type may appear once. The seed
/// table's flat fields (`call_type` … `billing_unit`) add one more entry.
fn call_fee_config(f: &Fields) -> Result<Option<Vec<CallFeeRule>>, Rejection> {
    let positional_entries = positional(f, "call_fee_config")?;
    let flat = flat_row(f, &FLAT_CALL_FEE, &["billing_unit"])?;
    if positional_entries.is_none() && flat.is_none() {
        return Ok(None);
    }
    let mut entries = positional_entries.unwrap_or_default();
    entries.extend(flat.map(|row| ("flat".to_string(), row)));
    let mut rules: Vec<CallFeeRule> = Vec::new();
    let mut indexes: Vec<String> = Vec::new();
    for (index, items) in entries {
        let rule =
            decode_call_fee_rule(&index, &items).map_err(|e| tariff_error("call_fee_config", e))?;
        if let Some(first) = rules.iter().position(|r| r.call_type == rule.call_type) {
            return Err(Rejection::invalid(
                "call_fee_config",
                format!(
                    "call_fee_config[{index}][0] (call_type) {:?} is already configured by call_fee_config[{}]",
                    rule.call_type, indexes[first]
                ),
            ));
        }
        rules.push(rule);
        indexes.push(index);
    }
    Ok(Some(rules))
}

/// `discount_fee_config` entries (3 or 4 elements, see [`DiscountRule`]); the seed table's
/// flat fields (`discount_name` … `max_discount`) add one more entry.
fn discount_fee_config(f: &Fields) -> Result<Option<Vec<DiscountRule>>, Rejection> {
    let positional_entries = positional(f, "discount_fee_config")?;
    let flat = flat_row(f, &FLAT_DISCOUNT, &["discount_type", "max_discount"])?;
    if positional_entries.is_none() && flat.is_none() {
        return Ok(None);
    }
    let mut entries = positional_entries.unwrap_or_default();
    entries.extend(flat.map(|row| ("flat".to_string(), row)));
    entries
        .into_iter()
        .map(|(index, items)| {
            decode_discount_rule(&index, &items).map_err(|e| tariff_error("discount_fee_config", e))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

// ---------------------------------------------------------------------------------------------
// Commands

/// `POST /api/fee/config/:id` (`tariff.configure`); the path's id arrives as field `id`.
///
/// The seed marks every field optional. `city_id` is still required (the refusal says why);
/// without `did` the tariff covers every DID of its city (the least specific match); the call
/// fees come from `call_fee_config` or the seed table's flat fields, and one of them is
/// required. Absent amounts are 0, `line_quantity` 1, `state` true (enabled).
pub fn decode_tariff_configure(f: &Fields) -> Result<Tariff, Rejection> {
    Ok(Tariff {
        tariff_id: tariff_id(f)?,
        city_id: id(f, "city_id")?.ok_or_else(|| {
            Rejection::missing(
                "city_id",
                "city_id is required: a tariff rates the calls of one city (calls are matched to tariffs by city_id and DID) and its events live in that city's partition, so a tariff without a city could never rate a call",
            )
        })?,
        workplace_id: id(f, "workplace_id")?.unwrap_or(0),
        operator_code: id(f, "operator_code")?.unwrap_or(0),
        line_batch: text_any(f, &["line_batch", "line_batch_num", "line_batch_code"], 128)?
            .unwrap_or_default(),
        line_quantity: count(f, &["line_quantity", "line_amount"])?.unwrap_or(1),
        did: text(f, "did", 128)?.unwrap_or_default(),
        number_detail: text_any(f, &["number_detail", "did_detail"], 2048)?.unwrap_or_default(),
        minimum_charge_unit_price: money_any(f, &["minimum_charge_unit_price"])?
            .unwrap_or_default(),
        minimum_charge_total_price: money_any(f, &["minimum_charge_total_price"])?
            .unwrap_or_default(),
        month_rent_fee: money_any(f, &["month_rent_fee", "month_rent_total_price"])?
            .unwrap_or_default(),
        number_use_fee: money_any(f, &["number_use_fee"])?.unwrap_or_default(),
        caller_identify_fee: money_any(f, &["caller_identify_fee", "caller_identification_fee"])?
            .unwrap_or_default(),
        ring_fee: money_any(f, &["ring_fee"])?.unwrap_or_default(),
        call_fee: call_fee_config(f)?.ok_or_else(|| {
            Rejection::missing(
                "call_fee_config",
                "call_fee_config (per call type [call_type, billing_mode, first_section_price, section_time, first_section_discount, second_section_price, second_section_discount, billing_unit?]) or the flat fields call_type … billing_unit are required",
            )
        })?,
        discounts: discount_fee_config(f)?.unwrap_or_default(),
        fee_remark: text_any(f, &["fee_remark", "charge_remark"], 512)?.unwrap_or_default(),
        take_effect_time: time_field(f, "take_effect_time")?,
        invalid_time: time_field(f, "invalid_time")?,
        enabled: boolean(f, "state")?.unwrap_or(true),
    })
}

/// `PUT /api/bill/fee/edit/:id` (`tariff.edit`): every field optional; absent keeps the value.
/// `city_id` routes the command; the HTTP edge fills it in from the stored tariff when absent.
pub fn decode_tariff_edit(f: &Fields) -> Result<TariffEdit, Rejection> {
    Ok(TariffEdit {
        tariff_id: tariff_id(f)?,
        city_id: required_id(f, "city_id")?,
        changes: TariffChanges {
            workplace_id: id(f, "workplace_id")?,
            operator_code: id(f, "operator_code")?,
            line_batch: text_any(f, &["line_batch", "line_batch_num", "line_batch_code"], 128)?,
            line_quantity: count(f, &["line_quantity", "line_amount"])?,
            did: text(f, "did", 128)?,
            number_detail: text_any(f, &["number_detail", "did_detail"], 2048)?,
            minimum_charge_unit_price: money_any(f, &["minimum_charge_unit_price"])?,
            minimum_charge_total_price: money_any(f, &["minimum_charge_total_price"])?,
            month_rent_fee: money_any(f, &["month_rent_total_price", "month_rent_fee"])?,
            number_use_fee: money_any(f, &["number_use_fee"])?,
            caller_identify_fee: money_any(
                f,
                &["caller_identify_fee", "caller_identification_fee"],
            )?,
            ring_fee: money_any(f, &["ring_fee"])?,
            fee_remark: text_any(f, &["fee_remark", "charge_remark"], 512)?,
            take_effect_time: time_field(f, "take_effect_time")?,
            invalid_time: time_field(f, "invalid_time")?,
            call_fee: call_fee_config(f)?,
            discounts: discount_fee_config(f)?,
        },
    })
}

/// `POST /api/bill/fee/manage/state/:id` (`tariff.set_state`): `state` true enables.
pub fn decode_tariff_set_state(f: &Fields) -> Result<TariffSetState, Rejection> {
    Ok(TariffSetState {
        tariff_id: tariff_id(f)?,
        city_id: required_id(f, "city_id")?,
        enabled: boolean(f, "state")?.ok_or_else(|| required("state"))?,
    })
}

/// `POST /api/bill/operator/create` (`operator_bill.report`): every field but `remark` required.
/// `bill_date` (yyyy-MM-dd or yyyy-MM) names its month; `tel_fee_total` at most 2 decimals.
pub fn decode_operator_bill(f: &Fields) -> Result<OperatorBill, Rejection> {
    let date_text = f.text("bill_date")?.ok_or_else(|| required("bill_date"))?;
    let date = parse_date(&date_text, false).ok_or_else(|| {
        Rejection::invalid(
            "bill_date",
            format!("bill_date must be yyyy-MM-dd or yyyy-MM, got {date_text:?}"),
        )
    })?;
    let did = required_text(f, "did", 128)?;
    let city_id = required_id(f, "city_id")?;
    let workplace_id = required_id(f, "workplace_id")?;
    let operator_code = required_id(f, "operator_code")?;
    let bg = required_text(f, "bg", MAX_NAME_LEN)?;
    let bu = required_text(f, "bu", MAX_NAME_LEN)?;
    let fee_strategy = required_text(f, "fee_strategy", 512)?;
    let fee_state = boolean(f, "fee_state")?.ok_or_else(|| required("fee_state"))?;
    let call_duration_s = count(f, &["call_duration"])?.ok_or_else(|| required("call_duration"))?;
    let tel_fee_total = f
        .money("tel_fee_total")?
        .ok_or_else(|| required("tel_fee_total"))?
        .yuan();
    if tel_fee_total.scale() > 2 && tel_fee_total != tel_fee_total.round_dp(2) {
        return Err(Rejection::invalid(
            "tel_fee_total",
            format!("tel_fee_total is in yuan with at most 2 decimals, got {tel_fee_total}"),
        ));
    }
    Ok(OperatorBill {
        bill_month: bill_month(date),
        did,
        city_id,
        workplace_id,
        operator_code,
        bg,
        bu,
        fee_strategy,
        fee_state,
        call_duration_s,
        tel_fee_total,
        remark: text(f, "remark", 512)?.unwrap_or_default(),
    })
}

/// `POST /api/bill/cost-center` (`cost_center.assign`).
pub fn decode_cost_center(f: &Fields) -> Result<CostCenterAssign, Rejection> {
    Ok(CostCenterAssign {
        bg: required_text(f, "bg", MAX_NAME_LEN)?,
        bu: required_text(f, "bu", MAX_NAME_LEN)?,
        cost_center: required_text(f, "cost_center", 256)?,
        cost_center_code: required_text(f, "cost_center_code", 128)?,
    })
}

/// A rejection of one call, its field and message prefixed with `calls[i].`.
fn at_call(i: usize, r: Rejection) -> Rejection {
    let inner = r.field().unwrap_or("call");
    let field = format!("calls[{i}].{inner}");
    let message = if r.message().starts_with(inner) {
        format!("calls[{i}].{}", r.message())
    } else {
        format!("calls[{i}]: {}", r.message())
    };
    match r {
        Rejection::MissingField { .. } => Rejection::MissingField { field, message },
        _ => Rejection::InvalidField { field, message },
    }
}

fn start_time(f: &Fields) -> Result<NaiveDateTime, Rejection> {
    let text = f
        .text("start_time")?
        .ok_or_else(|| required("start_time"))?;
    ledger_core::time::parse_business(&text).map_err(|_| {
        Rejection::invalid(
            "start_time",
            format!("start_time must be yyyy-MM-dd HH:mm:ss, got {text:?}"),
        )
    })
}

/// One CDR, its fields checked in the order they are listed.
fn call_record(f: &Fields) -> Result<CallRecord, Rejection> {
    Ok(CallRecord {
        call_id: required_text(f, "call_id", MAX_NAME_LEN)?,
        did: required_text(f, "did", MAX_NAME_LEN)?,
        line_prefix: text(f, "line_prefix", MAX_NAME_LEN)?.unwrap_or_default(),
        city_id: required_id(f, "city_id")?,
        workplace_id: required_id(f, "workplace_id")?,
        operator_code: required_id(f, "operator_code")?,
        bg: text(f, "bg", MAX_NAME_LEN)?.unwrap_or_default(),
        bu: text(f, "bu", MAX_NAME_LEN)?.unwrap_or_default(),
        business_line: text(f, "business_line", MAX_NAME_LEN)?.unwrap_or_default(),
        call_type: required_text(f, "call_type", MAX_NAME_LEN)?,
        number_type: text(f, "number_type", MAX_NAME_LEN)?.unwrap_or_default(),
        start_time: start_time(f)?,
        duration_s: count(f, &["duration_s"])?.ok_or_else(|| required("duration_s"))?,
    })
}

/// The calls of a `{"calls":[…]}` body, each validated, errors naming `calls[i].field`.
/// Required per call: call_id, did, city_id, workplace_id, operator_code, call_type,
/// start_time, duration_s; line_prefix, bg, bu, business_line, number_type default to "".
pub fn decode_call_list(f: &Fields) -> Result<Vec<CallRecord>, Rejection> {
    let Some(Value::Array(items)) = f.value("calls") else {
        return Err(match f.value("calls") {
            None => required("calls"),
            Some(_) => Rejection::invalid("calls", "calls must be an array of call records"),
        });
    };
    if items.is_empty() {
        return Err(Rejection::missing(
            "calls",
            "calls must hold at least one call",
        ));
    }
    if items.len() > MAX_CALLS_PER_BATCH {
        return Err(Rejection::invalid(
            "calls",
            format!(
                "calls holds {} records, at most {MAX_CALLS_PER_BATCH} per batch",
                items.len()
            ),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(map) => {
                call_record(&Fields::from_map(map.clone())).map_err(|r| at_call(i, r))
            }
            _ => Err(Rejection::invalid(
                &format!("calls[{i}]"),
                format!("calls[{i}] must be an object"),
            )),
        })
        .collect()
}

/// `calls.record` from one body: every call must be of the same city (the HTTP edge splits
/// mixed batches by city before this; the command topic must send one city per command).
pub fn decode_calls(f: &Fields) -> Result<CallsRecord, Rejection> {
    let calls = decode_call_list(f)?;
    let city_id = calls[0].city_id;
    Ok(CallsRecord { city_id, calls })
}

// ---------------------------------------------------------------------------------------------
// Command replies

/// `data` of `POST /api/bill/calls`: what happened to each call of the batch.
pub fn calls_data(outcomes: &[CallsRecorded]) -> Value {
    let recorded: usize = outcomes.iter().map(|o| o.calls.len()).sum();
    let fee: Decimal = outcomes
        .iter()
        .flat_map(|o| o.calls.iter().map(|c| c.fee))
        .sum();
    let duplicates: Vec<&str> = outcomes
        .iter()
        .flat_map(|o| o.duplicates.iter().map(String::as_str))
        .collect();
    let unrated: Vec<Value> = outcomes
        .iter()
        .flat_map(|o| o.unrated.iter())
        .map(|u| json!({"call_id": u.call_id, "reason": u.reason}))
        .collect();
    json!({
        "recorded": recorded,
        "fee_total": decimal_number(fee, 4),
        "duplicates": duplicates,
        "unrated": unrated,
    })
}

// ---------------------------------------------------------------------------------------------
// Queries

/// One query parameter's value read with `parse`; a value it refuses is a `BadQuery` naming the
/// parameter and saying what it must be.
fn query_param<T>(
    value: Option<&str>,
    name: &str,
    expected: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, Failure> {
    value
        .map(|v| {
            parse(v).ok_or_else(|| Failure::BadQuery {
                field: name.into(),
                message: format!("{name} must be {expected}, got {v:?}"),
            })
        })
        .transpose()
}

/// Reads a query's parameters: the listed filters plus `page`/`limit`. Empty values are absent;
/// unknown parameters are ignored; a malformed value is a `BadQuery` naming the parameter.
pub fn decode_query(
    params: &[(String, String)],
    accepted: &[&str],
) -> Result<(Filter, Paging), Failure> {
    let get = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty() && accepted.contains(&name))
    };
    let bad = |field: &str, message: String| Failure::BadQuery {
        field: field.into(),
        message,
    };
    let int = |name: &str| -> Result<Option<i64>, Failure> {
        query_param(get(name), name, "a whole number", |v| v.parse().ok())
    };
    let text = |name: &str| get(name).map(str::to_string);
    let flag = |name: &str| -> Result<Option<bool>, Failure> {
        query_param(get(name), name, "true or false", |v| match v {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        })
    };
    let time = |name: &str, end: bool| -> Result<Option<NaiveDateTime>, Failure> {
        query_param(get(name), name, "yyyy-MM-dd or yyyy-MM-dd HH:mm:ss", |v| {
            parse_time(v, end)
        })
    };
    let date = |name: &str, end: bool| -> Result<Option<NaiveDate>, Failure> {
        query_param(get(name), name, "yyyy-MM-dd or yyyy-MM", |v| {
            parse_date(v, end)
        })
    };
    let filter = Filter {
        city_id: int("city_id")?,
        workplace_id: int("workplace_id")?,
        operator_code: int("operator_code")?,
        bg: text("bg"),
        bu: text("bu"),
        call_type: text("call_type"),
        number_type: text("number_type"),
        cost_center_code: text("cost_center_code"),
        call_from: time("call_start_time", false)?,
        call_to: time("call_end_time", true)?,
        bill_from: date("bill_start_date", false)?,
        bill_to: date("bill_end_date", true)?,
        report_state: flag("report_state")?,
        satisfy_minimum_charge: flag("satisfy_minimum_charge")?,
    };
    if let (Some(from), Some(to)) = (filter.call_from, filter.call_to)
        && from > to
    {
        return Err(bad(
            "call_start_time",
            "call_start_time is after call_end_time".into(),
        ));
    }
    if let (Some(from), Some(to)) = (filter.bill_from, filter.bill_to)
        && from > to
    {
        return Err(bad(
            "bill_start_date",
            "bill_start_date is after bill_end_date".into(),
        ));
    }
    let page = |name: &str, default: u32, max: u32| -> Result<u32, Failure> {
        match params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
        {
            None | Some("") => Ok(default),
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(bad(
                    name,
                    format!("{name} must be a whole number from 1 to {max}, got {v:?}"),
                )),
            },
        }
    };
    let paging = Paging {
        page: page("page", 1, u32::MAX)?,
        limit: page("limit", Paging::DEFAULT_LIMIT, Paging::MAX_LIMIT)?,
    };
    Ok((filter, paging))
}

/// The paging parameters every listing takes beside its filters (seed 003).
pub const PAGING_PARAMS: &[&str] = &["page", "limit"];

/// Filters of `/api/bill/summary`.
pub const SUMMARY_FILTERS: &[&str] = &[
    "city_id",
    "bg",
    "bu",
    "call_start_time",
    "call_end_time",
    "operator_code",
    "call_type",
    "number_type",
];
/// Filters of `/api/bill/operator/query`.
pub const OPERATOR_FILTERS: &[&str] = &[
    "city_id",
    "workplace_id",
    "bill_start_date",
    "bill_end_date",
    "operator_code",
    "report_state",
    "satisfy_minimum_charge",
];
/// Filters of `/api/bill/businessline/query`.
pub const BUSINESS_LINE_FILTERS: &[&str] =
    &["city_id", "bg", "bu", "bill_start_date", "bill_end_date"];
/// Filters of `/api/bill/verify`.
pub const VERIFY_FILTERS: &[&str] = &[
    "city_id",
    "workplace_id",
    "bill_start_date",
    "bill_end_date",
    "operator_code",
];
/// Filters of `/api/bill/share`.
pub const SHARE_FILTERS: &[&str] = &[
    "city_id",
    "workplace_id",
    "bill_start_date",
    "bill_end_date",
    "operator_code",
    "report_state",
    "satisfy_minimum_charge",
    "cost_center_code",
];
/// Filters of `/api/bill/fee/manage`.
pub const TARIFF_FILTERS: &[&str] = &["city_id", "workplace_id", "operator_code"];

/// A `/api/bill/summary` item. The seed's table calls the fee `fee_total`, its example
/// `cost_total`: both are present. `fee_total` keeps the 4 decimals calls are rated at, so the
/// summary adds up to its calls exactly.
pub fn summary_item(id: u64, c: &SummaryCell) -> SummaryItem {
    let fee = decimal_number(c.bill.call_fee, 4);
    SummaryItem {
        id,
        city_id: c.city_id,
        bg: c.bg.clone(),
        bu: c.bu.clone(),
        business_line: c.business_line.clone(),
        call_time: ledger_core::time::format_business(c.call_hour),
        workplace_id: c.workplace_id,
        operator_code: c.operator_code,
        call_type: c.call_type.clone(),
        number_type: c.number_type.clone(),
        call_amount: c.bill.call_amount,
        call_duration: c.bill.call_duration_s,
        weight_duration: c.bill.weight_duration_s,
        fee_total: fee.clone(),
        cost_total: fee,
    }
}

/// A summary item as it is serialized (fields in the reply's order).
#[derive(serde::Serialize)]
pub struct SummaryItem {
    id: u64,
    city_id: i64,
    bg: String,
    bu: String,
    business_line: String,
    call_time: String,
    workplace_id: i64,
    operator_code: i64,
    call_type: String,
    number_type: String,
    call_amount: u64,
    call_duration: u64,
    weight_duration: u64,
    fee_total: Value,
    cost_total: Value,
}

/// A `/api/bill/operator/query` item.
pub fn operator_item(id: u64, r: &OperatorRow) -> Value {
    json!({
        "id": id,
        "city_id": r.city_id,
        "workplace_id": r.workplace_id,
        "operator_code": r.operator_code,
        "bill_date": date_text(r.bill_month),
        "call_duration": r.call_duration_s,
        "weight_duration": r.weight_duration_s,
        "call_amount": r.call_amount,
        "tel_fee": decimal_number(r.tel_fee, 2),
        "call_fee": decimal_number(r.call_fee, 2),
        "minimum_charge_fee": decimal_number(r.minimum_charge_fee, 2),
        "fixed_fee": decimal_number(r.fixed_fee, 2),
        "total_tel_fee": decimal_number(r.total_tel_fee, 2),
        "minimum_charge_compare": r.minimum_charge_compare,
        "report_state": r.report_state,
    })
}

/// A `/api/bill/businessline/query` item: the table's fields plus the example's
/// `business_line` and `tel_traffic` (话务量, the call count).
pub fn business_line_item(id: u64, r: &BusinessLineRow) -> Value {
    json!({
        "id": id,
        "city_id": r.city_id,
        "bg": r.bg,
        "bu": r.bu,
        "business_line": r.business_line,
        "bill_date": date_text(r.bill_month),
        "call_duration": r.call_duration_s,
        "weight_duration": r.weight_duration_s,
        "fee": decimal_number(r.fee, 2),
        "fee_after_discount": decimal_number(r.fee_after_discount, 2),
        "call_amount": r.call_amount,
        "tel_traffic": r.call_amount,
    })
}

/// A `/api/bill/verify` item; the system duration under the table's `billing_call_duration`
/// and the example's `billing_duration`.
pub fn verify_item(id: u64, r: &VerifyRow) -> Value {
    json!({
        "id": id,
        "city_id": r.city_id,
        "workplace_id": r.workplace_id,
        "operator_code": r.operator_code,
        "bill_date": date_text(r.bill_month),
        "did": r.did,
        "line_prefix": r.line_prefix,
        "operator_call_duration": r.operator_call_duration_s,
        "billing_call_duration": r.billing_call_duration_s,
        "billing_duration": r.billing_call_duration_s,
        "time_diff": r.time_diff,
        "operator_total_fee": decimal_number(r.operator_total_fee, 2),
        "billing_total_fee": decimal_number(r.billing_total_fee, 2),
        "fee_diff": r.fee_diff,
    })
}

/// A `/api/bill/share` item.
pub fn share_item(id: u64, r: &ShareRow) -> Value {
    json!({
        "id": id,
        "city_id": r.city_id,
        "workplace_id": r.workplace_id,
        "bill_date": date_text(r.bill_month),
        "operator_code": r.operator_code,
        "bg": r.bg,
        "bu": r.bu,
        "cost_center": r.cost_center,
        "cost_center_code": r.cost_center_code,
        "operator_bill_share": decimal_number(r.operator_bill_share, 2),
        "system_bill_share": decimal_number(r.system_bill_share, 2),
        "report_state": r.report_state,
        "satisfy_minimum_charge": r.satisfy_minimum_charge,
    })
}

/// A tariff as `/api/bill/fee/manage` lists it and `PUT /api/bill/fee/edit/:id` answers it.
/// The seed's table and example name some fields differently; both names are present. Amounts
/// keep the scale they were configured with; the rules come back in the positional form they
/// were sent in.
pub fn tariff_item(t: &Tariff) -> Value {
    let mut rules = Map::new();
    for (i, r) in t.call_fee.iter().enumerate() {
        rules.insert(
            i.to_string(),
            json!([
                r.call_type,
                r.billing_mode,
                exact_number(r.first_section_price),
                r.section_time,
                exact_number(r.first_section_discount),
                exact_number(r.second_section_price),
                exact_number(r.second_section_discount),
                r.billing_unit_s,
            ]),
        );
    }
    let mut discounts = Map::new();
    for (i, d) in t.discounts.iter().enumerate() {
        let ratio = d
            .max_discount
            .map(exact_number)
            .unwrap_or_else(|| json!(""));
        let row = match &d.discount_type {
            // Configured in the seed table's order: listed the same way.
            Some(kind) => json!([d.name, exact_number(d.tel_fee_threshold), kind, ratio]),
            None => json!([d.name, exact_number(d.tel_fee_threshold), ratio]),
        };
        discounts.insert(i.to_string(), row);
    }
    json!({
        "id": t.tariff_id,
        "city_id": t.city_id,
        "workplace_id": t.workplace_id,
        "operator_code": t.operator_code,
        "line_batch": t.line_batch,
        "line_batch_num": t.line_batch,
        "line_batch_code": t.line_batch,
        "line_quantity": t.line_quantity,
        "line_amount": t.line_quantity,
        "did": t.did,
        "number_detail": t.number_detail,
        "minimum_charge_unit_price": exact_number(t.minimum_charge_unit_price),
        "minimum_charge_total_price": exact_number(t.minimum_charge_total_price),
        "month_rent_fee": exact_number(t.month_rent_fee),
        "month_rent_total_price": exact_number(t.month_rent_fee),
        "number_use_fee": exact_number(t.number_use_fee),
        "caller_identify_fee": exact_number(t.caller_identify_fee),
        "caller_identification_fee": exact_number(t.caller_identify_fee),
        "ring_fee": exact_number(t.ring_fee),
        "fee_remark": t.fee_remark,
        "charge_remark": t.fee_remark,
        "take_effect_time": time_value(t.take_effect_time),
        "invalid_time": time_value(t.invalid_time),
        "state": t.enabled,
        "call_fee_config": rules,
        "discount_fee_config": discounts,
    })
}

/// A `/api/bill/calltype` or `/api/bill/numtype` item.
pub fn name_item(id: u64, name: &str) -> Value {
    json!({"id": id, "name": name})
}

// ---------------------------------------------------------------------------------------------
// Documentation bodies (JSON Schema and OpenAPI); decoding reads field by field above.

/// A positional array element: a string or a JSON number.
pub struct ScalarDoc;

impl schemars::JsonSchema for ScalarDoc {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PositionalScalar".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"anyOf": [{"type": "string"}, {"type": "number"}]})
    }
}

/// `POST /api/fee/config/:id` body (seed 003 资费配置).
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
pub struct TariffConfigureBody {
    /// The tariff (line) id; taken from the path over HTTP, required on the command topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// 城市; required although the seed marks it optional: calls are matched to tariffs by city
    /// and DID, and the city is the partition.
    pub city_id: i64,
    pub workplace_id: Option<i64>,
    pub operator_code: Option<i64>,
    /// 线路批次.
    pub line_batch: Option<String>,
    /// 线路数量 (default 1).
    pub line_quantity: Option<u32>,
    /// 号码明细 (also accepted as `did_detail`).
    pub number_detail: Option<String>,
    /// DID号段: a prefix or a range `a-b`; absent: every DID of the city (least specific).
    pub did: Option<String>,
    /// 低消单价 per line (yuan).
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub minimum_charge_unit_price: Option<String>,
    /// 低消总价 (yuan); wins over unit price × lines when > 0.
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub minimum_charge_total_price: Option<String>,
    /// 月租费用 (yuan per month).
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub month_rent_fee: Option<String>,
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub number_use_fee: Option<String>,
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub caller_identify_fee: Option<String>,
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub ring_fee: Option<String>,
    /// Per call type: `{"0":[call_type, billing_mode, first_section_price, section_time (units),
    /// first_section_discount, second_section_price, second_section_discount, billing_unit?]}`.
    /// Required unless the flat fields below give the one call type.
    #[schemars(with = "Option<std::collections::BTreeMap<String, Vec<ScalarDoc>>>")]
    #[schema(value_type = Option<Object>)]
    pub call_fee_config: Option<serde_json::Value>,
    /// Threshold discounts: `{"0":[discount_name, tel_fee_threshold, max_discount ratio or ""]}`,
    /// or 4 elements in the seed table's order `[discount_name, tel_fee_threshold,
    /// discount_type, max_discount]` (discount_type a label, listed back).
    #[schemars(with = "Option<std::collections::BTreeMap<String, Vec<ScalarDoc>>>")]
    #[schema(value_type = Option<Object>)]
    pub discount_fee_config: Option<serde_json::Value>,
    /// The seed table's flat call-fee fields: one more call type, the row
    /// `[call_type, billing_mode, first_section_price, section_time, first_section_discount,
    /// second_section_price, second_section_discount, billing_unit?]` (all but billing_unit
    /// required once one is given).
    pub call_type: Option<String>,
    pub billing_mode: Option<String>,
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub first_section_price: Option<String>,
    pub section_time: Option<u32>,
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub first_section_discount: Option<String>,
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub second_section_price: Option<String>,
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub second_section_discount: Option<String>,
    pub billing_unit: Option<String>,
    /// The seed table's flat discount fields: one more discount, the row `[discount_name,
    /// tel_fee_threshold, discount_type, max_discount]` (name and threshold required once one
    /// is given).
    pub discount_name: Option<String>,
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub tel_fee_threshold: Option<String>,
    pub discount_type: Option<String>,
    pub max_discount: Option<String>,
    pub fee_remark: Option<String>,
    /// 生效时间, yyyy-MM-dd [HH:mm:ss], inclusive.
    pub take_effect_time: Option<String>,
    /// 失效时间, yyyy-MM-dd [HH:mm:ss], exclusive.
    pub invalid_time: Option<String>,
    /// Enabled (default true).
    pub state: Option<bool>,
}

/// `PUT /api/bill/fee/edit/:id` body: every field optional, absent keeps the stored value.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
pub struct TariffEditBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Must be the tariff's city when given (required on the command topic).
    pub city_id: Option<i64>,
    pub workplace_id: Option<i64>,
    pub operator_code: Option<i64>,
    pub line_batch: Option<String>,
    pub line_quantity: Option<u32>,
    pub did: Option<String>,
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub minimum_charge_unit_price: Option<String>,
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub minimum_charge_total_price: Option<String>,
    /// 月租总价 (also accepted as `month_rent_fee`).
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub month_rent_total_price: Option<String>,
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub number_use_fee: Option<String>,
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub caller_identify_fee: Option<String>,
    #[schemars(with = "Option<crate::property::DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub ring_fee: Option<String>,
    pub fee_remark: Option<String>,
    pub take_effect_time: Option<String>,
    pub invalid_time: Option<String>,
    #[schemars(with = "Option<std::collections::BTreeMap<String, Vec<ScalarDoc>>>")]
    #[schema(value_type = Option<Object>)]
    pub call_fee_config: Option<serde_json::Value>,
    #[schemars(with = "Option<std::collections::BTreeMap<String, Vec<ScalarDoc>>>")]
    #[schema(value_type = Option<Object>)]
    pub discount_fee_config: Option<serde_json::Value>,
}

/// `POST /api/bill/fee/manage/state/:id` body.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
pub struct TariffSetStateBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Required on the command topic; filled from the tariff over HTTP.
    pub city_id: Option<i64>,
    /// true 启用, false 停用.
    pub state: bool,
}

/// `POST /api/bill/operator/create` body (seed 003 账单上报).
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
pub struct OperatorBillBody {
    /// 账单日期, yyyy-MM-dd or yyyy-MM: the bill period is its month.
    pub bill_date: String,
    /// DID 号段, matched with tariffs' `did`.
    pub did: String,
    pub city_id: i64,
    pub workplace_id: i64,
    pub operator_code: i64,
    pub bg: String,
    pub bu: String,
    /// 资费标准.
    pub fee_strategy: String,
    /// 资费状态: true 一致, false 不一致.
    pub fee_state: bool,
    /// 通话总时长, seconds.
    pub call_duration: u64,
    /// 话费总额, yuan, at most 2 decimals.
    #[schemars(with = "crate::property::DecimalText")]
    #[schema(value_type = f64)]
    pub tel_fee_total: String,
    pub remark: Option<String>,
}

/// One CDR of `POST /api/bill/calls`.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
pub struct CallRecordBody {
    /// Unique per call; a repeated id is ignored.
    pub call_id: String,
    pub did: String,
    pub line_prefix: Option<String>,
    pub city_id: i64,
    pub workplace_id: i64,
    pub operator_code: i64,
    pub bg: Option<String>,
    pub bu: Option<String>,
    pub business_line: Option<String>,
    pub call_type: String,
    pub number_type: Option<String>,
    /// yyyy-MM-dd HH:mm:ss.
    pub start_time: String,
    pub duration_s: u32,
}

/// `POST /api/bill/calls` body: a batch of CDRs (at most 5000).
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
pub struct CallsBody {
    pub calls: Vec<CallRecordBody>,
}

/// `POST /api/bill/cost-center` body.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
pub struct CostCenterBody {
    pub bg: String,
    pub bu: String,
    /// 成本中心.
    pub cost_center: String,
    /// 成本中心编码.
    pub cost_center_code: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The summary listing's reply bytes: the seed's field order, `items` before `total`,
    /// the fee as an exact 4-decimal number under both names.
    #[test]
    fn a_summary_listing_serializes_in_the_seeds_field_order() {
        let cell = SummaryCell {
            city_id: 71,
            call_hour: NaiveDate::from_ymd_opt(2022, 3, 1)
                .unwrap()
                .and_hms_opt(9, 0, 0)
                .unwrap(),
            bg: "房产".into(),
            bu: "二手房".into(),
            business_line: "黄页".into(),
            workplace_id: 67,
            operator_code: 43,
            call_type: "本地手机".into(),
            number_type: "联通手机".into(),
            bill: ledger_core::callcenter::LineBill {
                call_amount: 2,
                call_duration_s: 420,
                weight_duration_s: 480,
                call_fee: Decimal::new(17540, 4),
            },
        };
        let reply = ListReply::new(vec![summary_item(1, &cell)], 7, "Jack");
        assert_eq!(
            String::from_utf8(serde_json::to_vec(&reply).unwrap()).unwrap(),
            r#"{"code":0,"message":"success","data":{"items":[{"id":1,"city_id":71,"bg":"房产","bu":"二手房","business_line":"黄页","call_time":"2022-03-01 09:00:00","workplace_id":67,"operator_code":43,"call_type":"本地手机","number_type":"联通手机","call_amount":2,"call_duration":420,"weight_duration":480,"fee_total":1.7540,"cost_total":1.7540}],"total":7},"user":"Jack"}"#
        );
    }

    fn fields(v: Value) -> Fields {
        match v {
            Value::Object(m) => Fields::from_map(m),
            _ => unreachable!(),
        }
    }

    /// Seed 003's example body without its arrays.
    fn bare_tariff() -> Value {
        json!({"id": 1, "city_id": 1, "workplace_id": 2, "operator_code": 3, "did": "3436437"})
    }

    #[test]
    fn tariff_flat_fields_of_the_seed_table_are_one_more_row() {
        let mut body = bare_tariff();
        for (k, v) in [
            ("call_type", json!("本地手机")),
            ("billing_mode", json!("单一")),
            ("first_section_price", json!(0.16)),
            ("section_time", json!(5)),
            ("first_section_discount", json!(0.98)),
            ("second_section_price", json!(1.0)),
            ("second_section_discount", json!(0.97)),
            ("discount_name", json!("超阈值优惠")),
            ("tel_fee_threshold", json!(50)),
            ("discount_type", json!("满额折扣")),
            ("max_discount", json!("20%")),
        ] {
            body[k] = v;
        }
        let t = decode_tariff_configure(&fields(body.clone())).unwrap();
        let arrays = decode_tariff_configure(&fields(json!({
            "id": 1, "city_id": 1, "workplace_id": 2, "operator_code": 3, "did": "3436437",
            "call_fee_config": {"0": ["本地手机", "单一", 0.16, 5, 0.98, 1.0, 0.97]},
            "discount_fee_config": {"0": ["超阈值优惠", 50, "满额折扣", "20%"]}
        })))
        .unwrap();
        // The flat row and the table-order arrays decode to the same tariff.
        assert_eq!(t, arrays);
        assert_eq!(t.call_fee.len(), 1);
        assert_eq!(t.discounts[0].discount_type.as_deref(), Some("满额折扣"));
        assert_eq!(t.discounts[0].max_discount, Some(Decimal::new(2, 1)));
        // A 4-element discount is listed back in the table's order.
        // ("20%" is kept as the ratio 20/100 = 0.20, an exact JSON number)
        assert_eq!(
            tariff_item(&t)["discount_fee_config"]["0"].to_string(),
            r#"["超阈值优惠",50,"满额折扣",0.20]"#
        );
        // One flat field given means the row's other required fields are needed.
        let mut partial = bare_tariff();
        partial["call_type"] = json!("本地手机");
        let err = decode_tariff_configure(&fields(partial)).unwrap_err();
        assert_eq!(err.field(), Some("billing_mode"));
        assert!(
            err.to_string()
                .contains("billing_mode is required with the other flat fields")
        );
    }

    #[test]
    fn tariff_without_did_covers_the_city_and_without_city_is_refused_with_the_reason() {
        let mut body = bare_tariff();
        body.as_object_mut().unwrap().remove("did");
        body["call_fee_config"] = json!({"0": ["本地手机", "单一", 0.16, 5, 0.98, 1.0, 0.97]});
        let t = decode_tariff_configure(&fields(body.clone())).unwrap();
        assert_eq!(t.did, "");
        assert_eq!(
            ledger_core::callcenter::tariff::did_specificity(&t.did, "041188254440"),
            Some(0)
        );
        body.as_object_mut().unwrap().remove("city_id");
        let err = decode_tariff_configure(&fields(body)).unwrap_err();
        assert_eq!(err.field(), Some("city_id"));
        assert!(
            err.to_string()
                .contains("a tariff without a city could never rate a call")
        );
    }

    #[test]
    fn every_call_center_command_decodes_by_type_and_has_a_payload_schema() {
        let schemas = crate::command::payload_schemas();
        for t in [
            "tariff.configure",
            "tariff.edit",
            "tariff.set_state",
            "operator_bill.report",
            "calls.record",
            "cost_center.assign",
        ] {
            assert!(ledger_core::Command::TYPES.contains(&t), "{t}");
            assert!(schemas.iter().any(|(name, _)| *name == t), "{t}");
        }
        let body = fields(json!({"id": 3, "city_id": 71, "state": false}));
        let cmd = crate::command::decode_command("tariff.set_state", &body, "c").unwrap();
        assert_eq!(cmd.partition_key(), "city:71");
        let body = fields(
            json!({"bg": "房产", "bu": "二手房", "cost_center": "x", "cost_center_code": "1"}),
        );
        let cmd = crate::command::decode_command("cost_center.assign", &body, "c").unwrap();
        assert_eq!(cmd.partition_key(), "cost_center:房产/二手房");
    }

    #[test]
    fn numbers_render_from_their_decimal_text() {
        let d = Decimal::from_str("2310.1").unwrap();
        assert_eq!(
            serde_json::to_string(&decimal_number(d, 2)).unwrap(),
            "2310.10"
        );
        let d = Decimal::from_str("-0.004").unwrap();
        assert_eq!(
            serde_json::to_string(&decimal_number(d, 2)).unwrap(),
            "0.00"
        );
        let d = Decimal::from_str("0.1568").unwrap();
        assert_eq!(serde_json::to_string(&exact_number(d)).unwrap(), "0.1568");
    }

    #[test]
    fn the_seed_config_example_decodes() {
        let body = json!({
            "id": 7, "city_id": 1, "workplace_id": 2, "operator_code": 3,
            "line_batch": "E1-联通-北京-03", "line_quantity": 3, "did_detail": "", "did": "3436437",
            "minimum_charge_unit_price": 465.8, "minimum_charge_total_price": 3435.98,
            "month_rent_fee": 48578.4, "number_use_fee": 386.38, "caller_identify_fee": 387,
            "ring_fee": 3232,
            "call_fee_config": {
                "0": ["本地手机", "单一", 0.16, 5, 0.98, 1.0, 0.97],
                "1": ["本地固化", "单一", 0.16, 5, 0.98, 1.0, 0.97]
            },
            "discount_fee_config": {"0": ["超阈值优惠", 50, ""], "1": ["超阈值优惠", 50, ""]},
            "fee_remark": ""
        });
        let t = decode_tariff_configure(&fields(body)).unwrap();
        assert_eq!(t.tariff_id, 7);
        assert_eq!(t.minimum_charge_total_price.to_string(), "3435.98");
        assert_eq!(t.call_fee.len(), 2);
        assert_eq!(t.call_fee[1].call_type, "本地固化");
        assert_eq!(t.discounts.len(), 2);
        assert!(t.enabled);
    }

    #[test]
    fn malformed_arrays_name_the_position() {
        let base = || {
            json!({"id": 1, "city_id": 1, "did": "1",
                   "call_fee_config": {"0": ["本地手机", "单一", 0.16, 5, 0.98, 1.0, 0.97]}})
        };
        let table = [
            (
                json!({"0": ["本地手机", "单一", 0.16]}),
                "call_fee_config[0] has 3 elements, expected 7 or 8",
            ),
            (
                json!({"0": ["本地手机", "单一", "0.16", 5, 0.98, 1.0, 0.97]}),
                "call_fee_config[0][2] (first_section_price) must be a number",
            ),
            (
                json!({"0": ["本地手机", "单一", 0.16, 5, true, 1.0, 0.97]}),
                "call_fee_config[0][4] must be a string or a number, got true",
            ),
            (json!({"0": "x"}), "call_fee_config[0] must be an array"),
            (json!("x"), "call_fee_config must be an object of arrays"),
            (
                json!({"0": ["本地手机", "单一", 0.16, 5, 0.98, 1.0, 0.97], "1": ["本地手机", "单一", 0.1, 5, 1, 1, 1]}),
                "call_fee_config[1][0] (call_type) \"本地手机\" is already configured by call_fee_config[0]",
            ),
        ];
        for (config, want) in table {
            let mut body = base();
            body["call_fee_config"] = config;
            let err = decode_tariff_configure(&fields(body)).unwrap_err();
            assert!(
                err.message().starts_with(want),
                "{} / {want}",
                err.message()
            );
        }
        let mut body = base();
        body["discount_fee_config"] = json!({"0": ["超阈值优惠", 50]});
        assert_eq!(
            decode_tariff_configure(&fields(body))
                .unwrap_err()
                .message(),
            "discount_fee_config[0] has 2 elements, expected 3 or 4"
        );
    }

    #[test]
    fn query_parameters_are_checked_and_named() {
        let q = |pairs: &[(&str, &str)]| {
            let params: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            decode_query(&params, SHARE_FILTERS)
        };
        let (f, p) = q(&[
            ("city_id", "71"),
            ("bill_start_date", "2022-03"),
            ("page", "2"),
        ])
        .unwrap();
        assert_eq!(f.city_id, Some(71));
        assert_eq!(f.bill_from, NaiveDate::from_ymd_opt(2022, 3, 1));
        assert_eq!((p.page, p.limit), (2, 20));
        let (f, _) = q(&[("city_id", ""), ("bg", "not-a-share-filter")]).unwrap();
        assert_eq!(
            f,
            Filter::default(),
            "empty values and other filters are ignored"
        );
        for (name, value) in [
            ("city_id", "abc"),
            ("bill_end_date", "2022-13-01"),
            ("report_state", "yes"),
            ("limit", "0"),
            ("page", "-1"),
        ] {
            let Err(Failure::BadQuery { field, message }) = q(&[(name, value)]) else {
                panic!("{name}={value} accepted");
            };
            assert_eq!(field, name);
            assert!(message.contains(name), "{message}");
        }
    }
}
