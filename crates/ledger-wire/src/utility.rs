//! The utility family's wire format (seed 001): `SYS_HEAD` credentials in the body, the
//! `QueryUserArrearages` query, the charge and payment commands (`SYS_HEAD` + `DATA`), and the
//! `{"CODE":0,"MESSAGE":"","DATA":…}` replies. Record fields are decoded and rendered from the
//! one field table in core (`ledger_core::utility::FIELDS`): Strings stay strings, Numbers stay
//! JSON numbers, and decimals are written from their exact text, never through a float.

use crate::codes::{Failure, Family};
use crate::fields::Fields;
use ledger_core::Rejection;
use ledger_core::utility::record::{date_number, month_number};
use ledger_core::utility::{
    ArrearsFilter, ChargePost, FIELDS, FieldKind, OweRecord, OweRecordView, PaymentPost,
    UtilityPaymentPosted, WireValue,
};
use serde_json::{Map, Number, Value, json};
use std::str::FromStr;
use std::sync::LazyLock;

/// The credentials every request carries in its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysHead {
    pub channel_did: String,
    pub dynamic_key: String,
    pub register_did: String,
    pub account_did: String,
}

/// The four SYS_HEAD fields with the seed's lengths (maximums).
pub const SYS_HEAD_FIELDS: &[(&str, usize)] = &[
    ("CHANNEL_DID", 16),
    ("DYNAMIC_KEY", 64),
    ("REGISTER_DID", 16),
    ("ACCOUNT_DID", 16),
];

/// Charge fields that must be present: the record's identity, where it is filed (the query's
/// three filters) and what makes its fee.
pub const CHARGE_REQUIRED: &[&str] = &[
    "SERIAL_DID",
    "CUSTOMER_DID",
    "RET_STORES_AID",
    "BOOK_AID",
    "CHARGE_PACK_TYPE",
    "ACCOUNT_MONTH",
    "THE_CHARGE_CONS",
    "CHARGE_PRICE",
];

/// Package types the query filter accepts (seed 001: 1 保底价, 3 市场价).
pub const CHARGE_PACK_TYPES: &[&str] = &["1", "3"];

fn missing(name: &str) -> Rejection {
    Rejection::missing(name, &format!("{name} 不能为空 ({name} is required)"))
}

/// A nested object field, e.g. `SYS_HEAD`; rejections inside it name `PARENT.FIELD`.
fn object(f: &Fields, name: &str) -> Result<Option<Fields>, Rejection> {
    match f.value(name) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(Fields::from_map(m.clone()))),
        Some(_) => Err(Rejection::invalid(
            name,
            format!("{name} 必须是对象 ({name} must be a JSON object)"),
        )),
    }
}

fn within(parent: &str, r: Rejection) -> Rejection {
    match r {
        Rejection::MissingField { field, message } => Rejection::MissingField {
            message: message.replace(&field, &format!("{parent}.{field}")),
            field: format!("{parent}.{field}"),
        },
        Rejection::InvalidField { field, message } => Rejection::InvalidField {
            message: message.replace(&field, &format!("{parent}.{field}")),
            field: format!("{parent}.{field}"),
        },
        other => other,
    }
}

/// Reads and checks `SYS_HEAD`: all four fields present, within the seed's lengths, the ids
/// letters, digits, `-` or `_`, the key printable ASCII without spaces. This is the one place
/// credentials are read; checking them against configured channels comes with the security work.
pub fn sys_head(f: &Fields) -> Result<SysHead, Rejection> {
    let head = object(f, "SYS_HEAD")?.ok_or_else(|| missing("SYS_HEAD"))?;
    let read = |name: &str, max: usize| -> Result<String, Rejection> {
        let text = head.text_max(name, max)?.ok_or_else(|| missing(name))?;
        let well_formed = if name == "DYNAMIC_KEY" {
            text.bytes().all(|b| b.is_ascii_graphic())
        } else {
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !well_formed {
            let allowed = if name == "DYNAMIC_KEY" {
                "printable ASCII without spaces"
            } else {
                "letters, digits, - and _"
            };
            return Err(Rejection::invalid(
                name,
                format!("{name} 格式错误 ({name} must be {allowed})"),
            ));
        }
        Ok(text)
    };
    let mut values = SYS_HEAD_FIELDS
        .iter()
        .map(|(name, max)| read(name, *max).map_err(|r| within("SYS_HEAD", r)));
    let mut next = || values.next().expect("four fields");
    Ok(SysHead {
        channel_did: next()?,
        dynamic_key: next()?,
        register_did: next()?,
        account_did: next()?,
    })
}

/// The account a body is about, for the partition key and command id (None when SYS_HEAD is
/// unreadable; decoding then says why).
pub fn account_of(f: &Fields) -> Option<String> {
    sys_head(f).ok().map(|h| h.account_did)
}

/// The command id of a utility command: its business serial, namespaced by account and kind.
pub fn command_id(f: &Fields, kind: &str, serial_field: &str) -> Option<String> {
    let account = account_of(f)?;
    let serial = object(f, "DATA").ok()??.text(serial_field).ok()??;
    Some(format!("utility:{account}:{kind}:{serial}"))
}

fn decimal_text(f: &Fields, name: &str) -> Result<Option<String>, Rejection> {
    let Some(d) = f.decimal(name)? else {
        return Ok(None);
    };
    if d.is_sign_negative() && !d.is_zero() {
        return Err(Rejection::invalid(
            name,
            format!("{name} 不能为负数 ({name} must not be negative)"),
        ));
    }
    Ok(Some(d.to_string()))
}

fn date(f: &Fields, name: &str) -> Result<Option<u64>, Rejection> {
    let Some(n) = f.integer(name)? else {
        return Ok(None);
    };
    let n = u64::try_from(n).map_err(|_| {
        Rejection::invalid(
            name,
            format!("{name} 不能为负数 ({name} must not be negative)"),
        )
    })?;
    date_number(n)
        .map(|_| Some(n))
        .map_err(|e| Rejection::invalid(name, format!("{name} 日期格式错误 ({name}: {e})")))
}

/// One record field as its canonical JSON value (absent: `None`).
fn record_field(f: &Fields, name: &str, kind: FieldKind) -> Result<Option<Value>, Rejection> {
    Ok(match kind {
        FieldKind::Text(max) => f.text_max(name, max)?.map(Value::from),
        FieldKind::Integer => f.integer(name)?.map(Value::from),
        FieldKind::Date => date(f, name)?.map(Value::from),
        FieldKind::Month => match f.integer(name)? {
            None => None,
            Some(n) => {
                let n = u64::try_from(n).map_err(|_| {
                    Rejection::invalid(
                        name,
                        format!("{name} 不能为负数 ({name} must not be negative)"),
                    )
                })?;
                month_number(n).map_err(|e| {
                    Rejection::invalid(name, format!("{name} 月份格式错误 ({name}: {e})"))
                })?;
                Some(Value::from(n))
            }
        },
        FieldKind::Quantity => decimal_text(f, name)?.map(Value::from),
        FieldKind::Money => f.money(name)?.map(|m| Value::from(m.to_string())),
    })
}

fn default_value(kind: FieldKind) -> Value {
    match kind {
        FieldKind::Text(_) => json!(""),
        FieldKind::Integer | FieldKind::Date | FieldKind::Month => json!(0),
        FieldKind::Quantity | FieldKind::Money => json!("0"),
    }
}

/// `utility.charge.post`: `SYS_HEAD` + `DATA` = one ACC_VOLPRICE_OWE record. Every field of the
/// seed's table is read with its type; [`CHARGE_REQUIRED`] must be present, the rest default to
/// "" or 0. `CALC_FEE`, when given, is checked by the decider against consumption × price.
pub fn decode_charge(f: &Fields) -> Result<ChargePost, Rejection> {
    let head = sys_head(f)?;
    let data = object(f, "DATA")?.ok_or_else(|| missing("DATA"))?;
    let mut map = Map::new();
    let mut stated_calc_fee = None;
    for (name, kind, _) in FIELDS {
        let value = record_field(&data, name, *kind).map_err(|r| within("DATA", r))?;
        if value.is_none() && CHARGE_REQUIRED.contains(name) {
            return Err(within("DATA", missing(name)));
        }
        if *name == "CALC_FEE" {
            stated_calc_fee = data.money(name).map_err(|r| within("DATA", r))?;
            map.insert((*name).into(), default_value(*kind));
            continue;
        }
        map.insert(
            (*name).into(),
            value.unwrap_or_else(|| default_value(*kind)),
        );
    }
    let record: OweRecord = serde_json::from_value(Value::Object(map)).map_err(|e| {
        Rejection::invalid("DATA", format!("DATA 无法读取 (DATA cannot be read: {e})"))
    })?;
    Ok(ChargePost {
        account_did: head.account_did,
        record: Box::new(record),
        stated_calc_fee,
    })
}

/// `utility.payment.post`: `SYS_HEAD` + `DATA` {SERIAL_DID, THE_PAID_IN_FEE, THE_PAID_IN_DATE,
/// THE_PAID_IN_SID}.
pub fn decode_payment(f: &Fields) -> Result<PaymentPost, Rejection> {
    let head = sys_head(f)?;
    let data = object(f, "DATA")?.ok_or_else(|| missing("DATA"))?;
    let read = || -> Result<PaymentPost, Rejection> {
        let text = |name: &str, max: usize| -> Result<String, Rejection> {
            data.text_max(name, max)?.ok_or_else(|| missing(name))
        };
        Ok(PaymentPost {
            account_did: head.account_did.clone(),
            serial_did: text("SERIAL_DID", 32)?,
            paid_in_fee: data
                .money("THE_PAID_IN_FEE")?
                .ok_or_else(|| missing("THE_PAID_IN_FEE"))?,
            paid_in_date: date(&data, "THE_PAID_IN_DATE")?
                .filter(|d| *d != 0)
                .ok_or_else(|| missing("THE_PAID_IN_DATE"))?,
            paid_in_sid: text("THE_PAID_IN_SID", 32)?,
        })
    };
    read().map_err(|r| within("DATA", r))
}

/// The `QueryUserArrearages` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrearsQuery {
    pub sys_head: SysHead,
    pub filter: ArrearsFilter,
}

/// `POST /Service/v1/QueryUserArrearages/` (seed 001). The filters object and each filter are
/// optional; an empty string means "no filter", as in the seed's example.
pub fn decode_arrears_query(f: &Fields) -> Result<ArrearsQuery, Rejection> {
    let sys_head = sys_head(f)?;
    let filters = object(f, "ACC_VOLPRICE_OWE")?.unwrap_or_else(|| Fields::from_map(Map::new()));
    let read = || -> Result<ArrearsQuery, Rejection> {
        Ok(ArrearsQuery {
            sys_head: sys_head.clone(),
            filter: ArrearsFilter {
                ret_stores_aid: filters.text_max("RET_STORES_AID", 16)?,
                book_aid: filters.text_max("BOOK_AID", 16)?,
                charge_pack_type: filters.code(
                    "CHARGE_PACK_TYPE",
                    |t| CHARGE_PACK_TYPES.contains(&t).then(|| t.to_string()),
                    CHARGE_PACK_TYPES,
                )?,
            },
        })
    };
    read().map_err(|r| within("ACC_VOLPRICE_OWE", r))
}

/// A decimal's exact text as a JSON number (a string if it is not one).
fn number(text: &str) -> Value {
    Number::from_str(text)
        .map(Value::Number)
        .unwrap_or_else(|_| Value::String(text.to_string()))
}

/// Each field's JSON key with its colon (`"NODE_AID":`), in table order, escaped once: escaping
/// the 61 names again for every record was half of the reply's serialization samples.
static FIELD_KEYS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    FIELDS
        .iter()
        .map(|(name, _, _)| {
            let mut key = serde_json::to_vec(name).expect("a name serializes");
            key.push(b':');
            key
        })
        .collect()
});

/// A JSON string as serde_json writes it; text with nothing to escape (codes, serials: nearly
/// every field) is copied as it stands.
fn write_text(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, text).expect("a string writes to a Vec");
    }
}

/// Writes one record in the seed's shape: every field of the table in order, Numbers as JSON
/// numbers (decimals from their exact text, written without building a `Value` per number),
/// Strings as strings escaped as serde_json escapes them. The one renderer of a record: the
/// arrears query writes stored rows with it, [`RecordWire`] serializes through it.
pub fn write_record(out: &mut Vec<u8>, record: &OweRecordView<'_>) {
    use std::io::Write;
    out.push(b'{');
    let fields = record.wire_values().into_iter().zip(FIELD_KEYS.iter());
    for (i, ((_, value), key)) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(key);
        match value {
            WireValue::Text(t) => write_text(out, t),
            WireValue::Integer(n) => serde_json::to_writer(&mut *out, &n).expect("a Vec write"),
            WireValue::Unsigned(n) => serde_json::to_writer(&mut *out, &n).expect("a Vec write"),
            // A Decimal's text (`-?digits[.digits]`) is a JSON number as it stands.
            WireValue::Decimal(d) => write!(out, "{d}").expect("a Vec takes every write"),
        }
    }
    out.push(b'}');
}

/// One record in the seed's shape ([`write_record`]), for replies built with serde.
pub struct RecordWire<'a>(pub &'a OweRecord);

impl serde::Serialize for RecordWire<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = Vec::with_capacity(2048);
        write_record(&mut out, &self.0.view());
        let text = String::from_utf8(out).map_err(serde::ser::Error::custom)?;
        serde_json::value::RawValue::from_string(text)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

/// `{"CODE":0,"MESSAGE":"","DATA":{"ACC_VOLPRICE_OWE":[…]}}` written record by record as a
/// query visits the stored rows: the same bytes as [`RecordsReply`] of those records.
pub struct RecordsReplyWriter {
    out: Vec<u8>,
    records: usize,
}

impl Default for RecordsReplyWriter {
    fn default() -> Self {
        let mut out = Vec::with_capacity(32 * 1024);
        out.extend_from_slice(br#"{"CODE":0,"MESSAGE":"","DATA":{"ACC_VOLPRICE_OWE":["#);
        RecordsReplyWriter { out, records: 0 }
    }
}

impl RecordsReplyWriter {
    pub fn push(&mut self, record: &OweRecordView<'_>) {
        if self.records > 0 {
            self.out.push(b',');
        }
        write_record(&mut self.out, record);
        self.records += 1;
    }

    /// The reply's bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.extend_from_slice(b"]}}");
        self.out
    }
}

/// `{"CODE":0,"MESSAGE":"","DATA":{"ACC_VOLPRICE_OWE":[…]}}`, serialized straight to JSON.
#[derive(serde::Serialize)]
pub struct RecordsReply<'a> {
    #[serde(rename = "CODE")]
    code: u8,
    #[serde(rename = "MESSAGE")]
    message: &'static str,
    #[serde(rename = "DATA")]
    data: RecordsData<'a>,
}

#[derive(serde::Serialize)]
struct RecordsData<'a> {
    #[serde(rename = "ACC_VOLPRICE_OWE")]
    records: Vec<RecordWire<'a>>,
}

impl<'a> RecordsReply<'a> {
    pub fn new(records: &'a [OweRecord]) -> Self {
        RecordsReply {
            code: 0,
            message: "",
            data: RecordsData {
                records: records.iter().map(RecordWire).collect(),
            },
        }
    }
}

/// The payment's reply DATA: what was paid and where the record stands after it.
pub fn payment_reply(e: &UtilityPaymentPosted) -> Value {
    json!({"CODE": 0, "MESSAGE": "", "DATA": {
        "SERIAL_DID": e.serial_did,
        "THE_PAID_IN_SID": e.paid_in_sid,
        "THE_PAID_IN_FEE": number(&e.paid_in_fee.to_string()),
        "THE_PAID_IN_DATE": e.paid_in_date,
        "ACCU_PAID_IN_FEE": number(&e.accu_paid_in_fee.to_string()),
        "OWE_FEE": number(&e.owed_after.to_string()),
    }})
}

/// A failure: non-zero CODE (the HTTP status) from the one table, a MESSAGE naming the field
/// and the machine-readable `REASON` (upper case, as the envelope's other keys).
pub fn error_reply(failure: &Failure) -> (u16, Value) {
    let w = failure.to_wire(Family::Utility);
    let code: i64 = w.code.parse().unwrap_or(500);
    (
        w.status,
        json!({"CODE": code, "MESSAGE": w.message, "DATA": {}, "REASON": w.reason}),
    )
}

/// A command accepted but not yet projected.
pub fn pending_reply(command_id: &str) -> Value {
    json!({"CODE": 202, "MESSAGE": "处理中 (accepted, still processing)", "DATA": {"commandId": command_id}})
}

/// Documentation of `SYS_HEAD`.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[allow(non_snake_case)]
pub struct SysHeadBody {
    /// 渠道号, at most 16 characters.
    pub CHANNEL_DID: String,
    /// 动态请求密钥, at most 64 characters.
    pub DYNAMIC_KEY: String,
    /// 注册ID, at most 16 characters.
    pub REGISTER_DID: String,
    /// 账户ID, at most 16 characters; the partition the request is about.
    pub ACCOUNT_DID: String,
}

/// Documentation of an ACC_VOLPRICE_OWE record; its schemas are built from the core field table.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct OweRecordDoc(pub Map<String, Value>);

fn kind_json_schema(kind: FieldKind, doc: &str) -> Value {
    match kind {
        FieldKind::Text(max) => json!({"type": "string", "maxLength": max, "description": doc}),
        FieldKind::Integer => json!({"type": "integer", "description": doc}),
        FieldKind::Date => {
            json!({"type": "integer", "description": format!("{doc}: YYYYMMDD or YYYYMMDDHHMMSS, 0 for none")})
        }
        FieldKind::Month => {
            json!({"type": "integer", "description": format!("{doc}: YYYYMM, 0 for none")})
        }
        FieldKind::Quantity | FieldKind::Money => {
            json!({"type": "number", "minimum": 0, "description": doc})
        }
    }
}

impl schemars::JsonSchema for OweRecordDoc {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AccVolpriceOwe".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let properties: Map<String, Value> = FIELDS
            .iter()
            .map(|(name, kind, doc)| ((*name).to_string(), kind_json_schema(*kind, doc)))
            .collect();
        let schema =
            json!({"type": "object", "properties": properties, "required": CHARGE_REQUIRED});
        schemars::Schema::try_from(schema).expect("an object schema")
    }
}

impl utoipa::PartialSchema for OweRecordDoc {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let mut b = ObjectBuilder::new();
        for (name, kind, doc) in FIELDS {
            let t = match kind {
                FieldKind::Text(_) => Type::String,
                FieldKind::Integer | FieldKind::Date | FieldKind::Month => Type::Integer,
                FieldKind::Quantity | FieldKind::Money => Type::Number,
            };
            let max = match kind {
                FieldKind::Text(max) => Some(*max),
                _ => None,
            };
            b = b.property(
                *name,
                ObjectBuilder::new()
                    .schema_type(t)
                    .max_length(max)
                    .description(Some(*doc)),
            );
        }
        for name in CHARGE_REQUIRED {
            b = b.required(*name);
        }
        utoipa::openapi::RefOr::T(b.into())
    }
}

impl utoipa::ToSchema for OweRecordDoc {
    fn name() -> std::borrow::Cow<'static, str> {
        "AccVolpriceOwe".into()
    }
}

/// Documentation of the `utility.charge.post` body.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[allow(non_snake_case)]
pub struct UtilityChargeBody {
    pub SYS_HEAD: SysHeadBody,
    /// One ACC_VOLPRICE_OWE record; CALC_FEE optional (checked against consumption × price).
    #[schema(inline)]
    pub DATA: OweRecordDoc,
}

/// Documentation of the `utility.payment.post` DATA.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[allow(non_snake_case)]
pub struct UtilityPaymentData {
    /// 业务流水号 of the charge record paid.
    pub SERIAL_DID: String,
    /// 本次实收费用 (yuan, more than 0, at most what is owed).
    #[schemars(with = "crate::property::DecimalText")]
    #[schema(value_type = f64)]
    pub THE_PAID_IN_FEE: String,
    /// 本次实收业务日期, YYYYMMDD or YYYYMMDDHHMMSS.
    pub THE_PAID_IN_DATE: u64,
    /// 本次实收业务流水号, unique in the account; the idempotency key.
    pub THE_PAID_IN_SID: String,
}

/// Documentation of the `utility.payment.post` body.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[allow(non_snake_case)]
pub struct UtilityPaymentBody {
    pub SYS_HEAD: SysHeadBody,
    pub DATA: UtilityPaymentData,
}

/// Documentation of the seed 001 query filters.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[allow(non_snake_case)]
pub struct ArrearsFilters {
    /// 销售公司营业网点ID, at most 16 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub RET_STORES_AID: Option<String>,
    /// 区段编号, at most 16 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub BOOK_AID: Option<String>,
    /// 套餐类型: 1 保底价, 3 市场价.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub CHARGE_PACK_TYPE: Option<String>,
}

/// Documentation of the seed 001 query body.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[allow(non_snake_case)]
pub struct ArrearsQueryBody {
    pub SYS_HEAD: SysHeadBody,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ACC_VOLPRICE_OWE: Option<ArrearsFilters>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: Value) -> Fields {
        match v {
            Value::Object(m) => Fields::from_map(m),
            _ => unreachable!(),
        }
    }

    fn head() -> Value {
        json!({"CHANNEL_DID": "CH00000000000001", "DYNAMIC_KEY": "k3y-demo", "REGISTER_DID": "R000000000000001", "ACCOUNT_DID": "A000000000000001"})
    }

    /// Records are written field by field (`RecordWire`); the result must be the seed's shape:
    /// the struct's own JSON with every Quantity and Money field as a JSON number carrying the
    /// decimal's exact text, in table order.
    #[test]
    fn records_are_written_in_table_order_with_decimals_as_exact_numbers() {
        let mut source = Map::new();
        for (name, kind, _) in FIELDS {
            let value = match kind {
                FieldKind::Text(_) => json!("x"),
                FieldKind::Integer => json!(3),
                FieldKind::Date => json!(20240131),
                FieldKind::Month => json!(202401),
                FieldKind::Quantity => json!("12.500"),
                FieldKind::Money => json!("10.50"),
            };
            source.insert((*name).to_string(), value);
        }
        let record: OweRecord = serde_json::from_value(Value::Object(source.clone())).unwrap();
        let written = serde_json::to_string(&RecordWire(&record)).unwrap();
        let mut expected = source;
        for (name, kind, _) in FIELDS {
            if matches!(kind, FieldKind::Quantity | FieldKind::Money) {
                let text = expected[*name].as_str().unwrap().to_string();
                expected.insert((*name).to_string(), Value::Number(text.parse().unwrap()));
            }
        }
        assert_eq!(written, serde_json::to_string(&expected).unwrap());
        assert!(written.contains(r#""CHARGE_PRICE":12.500"#), "{written}");
        assert!(written.contains(r#""CALC_FEE":10.50"#), "{written}");
        let reply = serde_json::to_string(&RecordsReply::new(&[record])).unwrap();
        assert_eq!(
            reply,
            format!(r#"{{"CODE":0,"MESSAGE":"","DATA":{{"ACC_VOLPRICE_OWE":[{written}]}}}}"#)
        );
    }

    #[test]
    fn sys_head_fields_are_required_and_well_formed() {
        assert_eq!(
            sys_head(&fields(json!({"SYS_HEAD": head()})))
                .unwrap()
                .account_did,
            "A000000000000001"
        );
        let table: &[(Option<(&str, Value)>, &str)] = &[
            (Some(("CHANNEL_DID", Value::Null)), "SYS_HEAD.CHANNEL_DID"),
            (Some(("DYNAMIC_KEY", json!(""))), "SYS_HEAD.DYNAMIC_KEY"),
            (
                Some(("REGISTER_DID", json!("R0000000000000012"))),
                "SYS_HEAD.REGISTER_DID",
            ),
            (Some(("ACCOUNT_DID", json!("A 1"))), "SYS_HEAD.ACCOUNT_DID"),
            (
                Some(("DYNAMIC_KEY", json!("key with space"))),
                "SYS_HEAD.DYNAMIC_KEY",
            ),
            (None, "SYS_HEAD"),
        ];
        for (change, field) in table {
            let body = match change {
                Some((name, v)) => {
                    let mut h = head();
                    h[*name] = v.clone();
                    json!({"SYS_HEAD": h})
                }
                None => json!({}),
            };
            let r = sys_head(&fields(body)).unwrap_err();
            assert_eq!(r.field(), Some(*field), "{r:?}");
            assert!(r.message().contains(field), "{r:?}");
        }
    }

    #[test]
    fn the_charge_schema_lists_every_record_field() {
        let schema = serde_json::to_value(schemars::schema_for!(UtilityChargeBody)).unwrap();
        let text = schema.to_string();
        for (name, _, _) in FIELDS {
            assert!(text.contains(&format!("\"{name}\"")), "{name}");
        }
        let names: Vec<&str> = crate::command::payload_schemas()
            .iter()
            .map(|(n, _)| *n)
            .collect();
        for t in [
            "utility.charge.post",
            "utility.payment.post",
            "baas.bill.post",
            "baas.payment.post",
            "baas.usage.post",
        ] {
            assert!(names.contains(&t), "{t}");
        }
    }

    #[test]
    fn decimals_render_as_numbers_from_their_text() {
        assert_eq!(serde_json::to_string(&number("58.840")).unwrap(), "58.840");
        assert_eq!(serde_json::to_string(&number("0")).unwrap(), "0");
    }

    /// The record as the reply showed it before the renderer: serde's JSON of the struct with
    /// each decimal string turned into a Number carrying its text.
    fn serde_rendering(record: &OweRecord) -> String {
        let mut value = serde_json::to_value(record).unwrap();
        for (name, kind, _) in FIELDS {
            if matches!(kind, FieldKind::Quantity | FieldKind::Money) {
                let text = value[*name].as_str().unwrap().to_string();
                value[*name] = number(&text);
            }
        }
        serde_json::to_string(&value).unwrap()
    }

    proptest::proptest! {
        /// Any text (quotes, control characters, any script) and any decimal render as serde
        /// rendered them, and a reply written record by record is `RecordsReply`'s bytes.
        #[test]
        fn the_renderer_writes_what_serde_wrote(
            texts in proptest::collection::vec(
                // Any printable text, and short texts dense in what JSON escapes.
                proptest::prop_oneof![
                    proptest::prelude::any::<String>(),
                    "[\\x00-\\x1f\\x7f\"\\\\a/é]{0,8}",
                ],
                FIELDS.len(),
            ),
            numbers in proptest::collection::vec(
                (proptest::prelude::any::<i64>(), proptest::prelude::any::<i64>(), 0u32..=28),
                FIELDS.len(),
            ),
            copies in 0usize..4,
        ) {
            let mut source = Map::new();
            for (((name, kind, _), text), (int, mantissa, scale)) in FIELDS.iter().zip(texts).zip(numbers) {
                let decimal = rust_decimal::Decimal::new(mantissa, scale).to_string();
                let value = match kind {
                    FieldKind::Text(_) => json!(text),
                    FieldKind::Integer => json!(int),
                    FieldKind::Date | FieldKind::Month => json!(int.unsigned_abs()),
                    FieldKind::Quantity | FieldKind::Money => json!(decimal),
                };
                source.insert((*name).to_string(), value);
            }
            let record: OweRecord = serde_json::from_value(Value::Object(source)).unwrap();
            let mut written = Vec::new();
            write_record(&mut written, &record.view());
            proptest::prop_assert_eq!(String::from_utf8(written).unwrap(), serde_rendering(&record));

            let records = vec![record; copies];
            let mut writer = RecordsReplyWriter::default();
            for r in &records {
                writer.push(&r.view());
            }
            proptest::prop_assert_eq!(
                writer.finish(),
                serde_json::to_vec(&RecordsReply::new(&records)).unwrap()
            );
        }
    }
}
