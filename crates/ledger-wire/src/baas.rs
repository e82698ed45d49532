//! The BaaS family's wire format (seed 000): the fee-owed query `srv_baas_feeowed_qry`, the
//! bill/payment/usage commands that feed it, and the `{"returnCode":"BaaS-NNNNNN",…}` replies.

use crate::codes::{BAAS_PENDING, BAAS_SUCCESS, Failure, Family};
use crate::fields::Fields;
use chrono::NaiveDateTime;
use ledger_core::Rejection;
use ledger_core::baas::{
    BaasBillPosted, BaasPaymentPosted, BaasUsagePosted, BillPost, FeeOwed, PaymentPost, UsagePost,
    Window, format_seed_time, parse_seed_time,
};
use serde_json::{Map, Value, json};

/// The seed's VARCHAR(32) ids.
pub const ID_LEN: usize = 32;

/// The command kinds and the body field holding each one's own id.
pub const BILL: (&str, &str) = ("bill", "billId");
pub const PAYMENT: (&str, &str) = ("payment", "paymentId");
pub const USAGE: (&str, &str) = ("usage", "usageId");

/// The command id of a BaaS command: the body's own id, namespaced by tenant and kind so a bill
/// and a payment that happen to share a number never answer for each other.
pub fn command_id(f: &Fields, (kind, id_field): (&str, &str)) -> Option<String> {
    let tenant = f.text("tenantId").ok()??;
    let id = f.text(id_field).ok()??;
    Some(format!("baas:{tenant}:{kind}:{id}"))
}

/// A required id: at most `ID_LEN` characters, no control characters (they would break keys).
fn id(f: &Fields, name: &str) -> Result<String, Rejection> {
    let text = f.text_max(name, ID_LEN)?.ok_or_else(|| {
        Rejection::missing(name, &format!("{name} 不能为空 ({name} is required)"))
    })?;
    check_id(name, text)
}

fn optional_id(f: &Fields, name: &str) -> Result<Option<String>, Rejection> {
    f.text_max(name, ID_LEN)?
        .map(|t| check_id(name, t))
        .transpose()
}

fn check_id(name: &str, text: String) -> Result<String, Rejection> {
    if text.chars().any(char::is_control) {
        return Err(Rejection::invalid(
            name,
            format!("{name} 含有控制字符 ({name} contains control characters)"),
        ));
    }
    Ok(text)
}

/// An optional `YYYYMMDDHH24MISS` time.
fn seed_time(f: &Fields, name: &str) -> Result<Option<NaiveDateTime>, Rejection> {
    let Some(text) = f.text(name)? else {
        return Ok(None);
    };
    parse_seed_time(&text).map(Some).ok_or_else(|| {
        Rejection::invalid(
            name,
            format!("{name} 格式错误 ({name} must be YYYYMMDDHH24MISS, got {text:?})"),
        )
    })
}

fn required_time(f: &Fields, name: &str) -> Result<NaiveDateTime, Rejection> {
    seed_time(f, name)?
        .ok_or_else(|| Rejection::missing(name, &format!("{name} 不能为空 ({name} is required)")))
}

fn amount(f: &Fields) -> Result<ledger_core::Money, Rejection> {
    f.required_money("amount", "amount 不能为空 (amount is required)")
}

/// `POST /occ/http/baas/bills`.
pub fn decode_bill(f: &Fields) -> Result<BillPost, Rejection> {
    Ok(BillPost {
        bill_id: id(f, "billId")?,
        tenant_id: id(f, "tenantId")?,
        ext_cust_id: id(f, "extCustId")?,
        service_id: id(f, "serviceId")?,
        period_start: required_time(f, "periodStart")?,
        period_end: required_time(f, "periodEnd")?,
        amount: amount(f)?,
    })
}

/// `POST /occ/http/baas/payments`.
pub fn decode_payment(f: &Fields) -> Result<PaymentPost, Rejection> {
    Ok(PaymentPost {
        payment_id: id(f, "paymentId")?,
        tenant_id: id(f, "tenantId")?,
        ext_cust_id: id(f, "extCustId")?,
        service_id: id(f, "serviceId")?,
        amount: amount(f)?,
        paid_at: required_time(f, "paidAt")?,
        bill_id: optional_id(f, "billId")?,
    })
}

/// `POST /occ/http/baas/usage`.
pub fn decode_usage(f: &Fields) -> Result<UsagePost, Rejection> {
    Ok(UsagePost {
        usage_id: id(f, "usageId")?,
        tenant_id: id(f, "tenantId")?,
        ext_cust_id: id(f, "extCustId")?,
        service_id: id(f, "serviceId")?,
        amount: amount(f)?,
        at: required_time(f, "at")?,
    })
}

/// The seed's `oweFeeQuery` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeOwedQuery {
    pub trade_seq: String,
    pub tenant_id: String,
    pub ext_cust_id: String,
    pub service_id: Option<String>,
    pub begin_date: Option<NaiveDateTime>,
    pub end_date: Option<NaiveDateTime>,
}

/// Checks `tradeSeq` = tenant id + time + SSS (milliseconds) + 9-digit sequence. The seed's text
/// says the time is YYMMDDHH24MISS but its own example uses a four-digit year
/// (`MVNE20160401121212000100000005`), so both are accepted; the time must be a real instant.
pub fn check_trade_seq(trade_seq: &str, tenant_id: &str) -> Result<(), Rejection> {
    let bad = |why: &str| {
        Rejection::invalid(
            "tradeSeq",
            format!(
                "tradeSeq 格式错误 (tradeSeq must be tenantId + YYMMDDHH24MISS or YYYYMMDDHH24MISS + SSS + 9-digit sequence: {why})"
            ),
        )
    };
    let Some(rest) = trade_seq.strip_prefix(tenant_id) else {
        return Err(bad(&format!("does not start with tenantId {tenant_id:?}")));
    };
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("non-digits after the tenant id"));
    }
    let time = match rest.len() {
        26 => rest[..14].to_string(),
        // Two-digit years are 20YY: the seed's system dates from 2016.
        24 => format!("20{}", &rest[..12]),
        n => {
            return Err(bad(&format!(
                "{n} digits after the tenant id, expected 24 or 26"
            )));
        }
    };
    if parse_seed_time(&time).is_none() {
        return Err(bad(&format!("{time} is not a real date and time")));
    }
    Ok(())
}

/// `POST /occ/http/srv_baas_feeowed_qry` (seed 000). `extCustomerId` is the request table's
/// name; the seed's example sends `extCustId`, so either is read (they must agree if both come).
pub fn decode_fee_owed_query(f: &Fields) -> Result<FeeOwedQuery, Rejection> {
    let trade_seq = id(f, "tradeSeq")?;
    let tenant_id = id(f, "tenantId")?;
    check_trade_seq(&trade_seq, &tenant_id)?;
    let ext_cust_id = match (
        optional_id(f, "extCustomerId")?,
        optional_id(f, "extCustId")?,
    ) {
        (Some(a), Some(b)) if a != b => {
            return Err(Rejection::invalid(
                "extCustomerId",
                format!(
                    "extCustomerId 与 extCustId 不一致 (extCustomerId {a:?} and extCustId {b:?} differ)"
                ),
            ));
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => {
            return Err(Rejection::missing(
                "extCustomerId",
                "extCustomerId 不能为空 (extCustomerId is required; extCustId is accepted too)",
            ));
        }
    };
    Ok(FeeOwedQuery {
        trade_seq,
        tenant_id,
        ext_cust_id,
        service_id: optional_id(f, "serviceId")?,
        begin_date: seed_time(f, "beginDate")?,
        end_date: seed_time(f, "endDate")?,
    })
}

/// The seed's success reply, field for field: li amounts as integer strings, the window as
/// used (defaults filled in). `serviceId` is echoed only when the request named one.
pub fn fee_owed_reply(q: &FeeOwedQuery, window: Window, owed: &FeeOwed) -> Value {
    let mut m = Map::new();
    m.insert("returnCode".into(), json!(BAAS_SUCCESS));
    m.insert("tradeSeq".into(), json!(q.trade_seq));
    m.insert("extCustId".into(), json!(q.ext_cust_id));
    if let Some(s) = &q.service_id {
        m.insert("serviceId".into(), json!(s));
    }
    m.insert("feeOwed".into(), json!(owed.fee_owed_li().to_string()));
    m.insert(
        "realTimeFee".into(),
        json!(owed.real_time_fee_li().to_string()),
    );
    m.insert("beginDate".into(), json!(format_seed_time(window.begin)));
    m.insert("endDate".into(), json!(format_seed_time(window.end)));
    Value::Object(m)
}

/// What a failure reply echoes from the request, when it could be read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo<'a> {
    pub trade_seq: Option<&'a str>,
    /// The seed's response table marks `extCustId` required, so a failure carries it too.
    pub ext_cust_id: Option<&'a str>,
}

/// The customer id a request names (`extCustId`, or the request table's `extCustomerId`), for
/// echoing; `None` when absent or unreadable.
pub fn ext_cust_id_of(f: &Fields) -> Option<String> {
    ["extCustId", "extCustomerId"]
        .into_iter()
        .find_map(|name| f.text(name).ok().flatten())
}

/// A failure: the code from the one table, `returnMessage` naming the field, and the request's
/// `tradeSeq` and `extCustId` echoed when they could be read.
pub fn error_reply(failure: &Failure, echo: Echo<'_>) -> (u16, Value) {
    let w = failure.to_wire(Family::Baas);
    let mut m = Map::new();
    m.insert("returnCode".into(), json!(w.code));
    m.insert("returnMessage".into(), json!(w.message));
    m.insert("reason".into(), json!(w.reason));
    if let Some(t) = echo.trade_seq {
        m.insert("tradeSeq".into(), json!(t));
    }
    if let Some(id) = echo.ext_cust_id {
        m.insert("extCustId".into(), json!(id));
    }
    (w.status, Value::Object(m))
}

/// A command accepted but not yet projected: look it up by `commandId` later.
pub fn pending_reply(command_id: &str) -> Value {
    json!({"returnCode": BAAS_PENDING, "returnMessage": "处理中 (accepted, still processing)", "commandId": command_id})
}

/// A bill's reply, `{"returnCode","billId","absorbedUsage"}`, serialized straight to JSON
/// (no JSON tree per reply: issue 19).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillReply<'a> {
    return_code: &'static str,
    bill_id: &'a str,
    absorbed_usage: &'a [String],
}

impl<'a> BillReply<'a> {
    pub fn new(e: &'a BaasBillPosted) -> Self {
        BillReply {
            return_code: BAAS_SUCCESS,
            bill_id: &e.bill.bill_id,
            absorbed_usage: &e.absorbed_usage,
        }
    }
}

pub fn payment_reply(e: &BaasPaymentPosted) -> Value {
    json!({"returnCode": BAAS_SUCCESS, "paymentId": e.payment.payment_id, "allocations": e.allocations})
}

pub fn usage_reply(e: &BaasUsagePosted) -> Value {
    json!({"returnCode": BAAS_SUCCESS, "usageId": e.usage.usage_id, "billedBy": e.billed_by})
}

/// Documentation of the `baas.bill.post` body.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BaasBillBody {
    /// The bill's id, unique in the tenant; the idempotency key.
    pub bill_id: String,
    pub tenant_id: String,
    /// 外部客户 ID.
    pub ext_cust_id: String,
    /// 服务号码.
    pub service_id: String,
    /// First instant billed, YYYYMMDDHH24MISS.
    pub period_start: String,
    /// Last instant billed (inclusive), YYYYMMDDHH24MISS.
    pub period_end: String,
    /// Billed amount in yuan, a decimal string or JSON number.
    #[schemars(with = "crate::property::DecimalText")]
    #[schema(value_type = String)]
    pub amount: String,
}

/// Documentation of the `baas.payment.post` body.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BaasPaymentBody {
    /// The payment's id, unique in the tenant; the idempotency key.
    pub payment_id: String,
    pub tenant_id: String,
    pub ext_cust_id: String,
    pub service_id: String,
    /// Paid amount in yuan (more than 0), a decimal string or JSON number.
    #[schemars(with = "crate::property::DecimalText")]
    #[schema(value_type = String)]
    pub amount: String,
    /// YYYYMMDDHH24MISS.
    pub paid_at: String,
    /// The bill paid; absent: the service's oldest unpaid bills first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_id: Option<String>,
}

/// Documentation of the `baas.usage.post` body.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BaasUsageBody {
    /// The usage record's id, unique in the tenant; the idempotency key.
    pub usage_id: String,
    pub tenant_id: String,
    pub ext_cust_id: String,
    pub service_id: String,
    /// Charged amount in yuan, a decimal string or JSON number.
    #[schemars(with = "crate::property::DecimalText")]
    #[schema(value_type = String)]
    pub amount: String,
    /// When the usage happened, YYYYMMDDHH24MISS.
    pub at: String,
}

/// Documentation of the seed 000 query body (`oweFeeQuery`).
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeOwedQueryBody {
    /// 消息流水: tenantId + YYMMDDHH24MISS (or YYYYMMDDHH24MISS) + SSS + 9-digit sequence.
    pub trade_seq: String,
    pub tenant_id: String,
    /// 外部客户 ID (`extCustId` is accepted too).
    pub ext_customer_id: String,
    /// 服务号码; absent: every service of the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// YYYYMMDDHH24MISS; default the system time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub begin_date: Option<String>,
    /// YYYYMMDDHH24MISS; default the system time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
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

    #[test]
    fn a_bill_reply_is_the_seeds_envelope_in_its_order() {
        let posted = BaasBillPosted {
            bill: BillPost {
                tenant_id: "MVNE".into(),
                ext_cust_id: "10010111".into(),
                service_id: "S1".into(),
                bill_id: "B\"1".into(),
                period_start: parse_seed_time("20160301000000").unwrap(),
                period_end: parse_seed_time("20160331235959").unwrap(),
                amount: ledger_core::Money::new("19.00".parse().unwrap()),
            },
            absorbed_usage: vec!["U1".into(), "U2".into()],
        };
        assert_eq!(
            serde_json::to_string(&BillReply::new(&posted)).unwrap(),
            r#"{"returnCode":"BaaS-000000","billId":"B\"1","absorbedUsage":["U1","U2"]}"#
        );
        let none = BaasBillPosted {
            absorbed_usage: vec![],
            ..posted
        };
        assert_eq!(
            serde_json::to_string(&BillReply::new(&none)).unwrap(),
            r#"{"returnCode":"BaaS-000000","billId":"B\"1","absorbedUsage":[]}"#
        );
    }

    #[test]
    fn trade_seq_formats() {
        let table = [
            ("MVNE20160401121212000100000005", true),
            ("MVNE160401121212000100000005", true),
            ("MVNE2016040112121200010000000", false),
            ("XXXX20160401121212000100000005", false),
            ("MVNE20161301121212000100000005", false),
            ("MVNE2016040112121200010000000a", false),
            (" MVNE20160401121212000100000005", false),
        ];
        for (seq, ok) in table {
            let r = check_trade_seq(seq, "MVNE");
            assert_eq!(r.is_ok(), ok, "{seq}: {r:?}");
            if let Err(r) = r {
                assert_eq!(r.field(), Some("tradeSeq"));
            }
        }
    }

    #[test]
    fn the_query_reads_either_customer_field_name() {
        let base = json!({"tradeSeq": "MVNE20160401121212000100000005", "tenantId": "MVNE"});
        for (name, value) in [("extCustId", "10010111"), ("extCustomerId", "10010111")] {
            let mut body = base.clone();
            body[name] = json!(value);
            let q = decode_fee_owed_query(&fields(body)).unwrap();
            assert_eq!(q.ext_cust_id, "10010111");
        }
        let r = decode_fee_owed_query(&fields(base.clone())).unwrap_err();
        assert_eq!(r.field(), Some("extCustomerId"));
        let mut both = base;
        both["extCustId"] = json!("1");
        both["extCustomerId"] = json!("2");
        assert_eq!(
            decode_fee_owed_query(&fields(both)).unwrap_err().field(),
            Some("extCustomerId")
        );
    }
}
