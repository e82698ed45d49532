//! The property family's wire format (seeds 002 and 004, MicroCommunity conventions): request
//! bodies into typed commands, with the upstream messages for missing fields, and the
//! `{"code":"0","msg":"成功","data":…}` reply envelope.

use crate::codes::{Failure, Family};
use crate::fields::Fields;
use chrono::NaiveDateTime;
use ledger_core::Rejection;
use ledger_core::command::derived_id;
use ledger_core::property::formula::Formula;
use ledger_core::property::time::{parse_end, parse_start};
use ledger_core::property::{
    BillType, ConfigState, FeeConfig, FeeConfigUpdate, FeeFlag, PaymentCd,
};
use serde_json::{Value, json};

/// The success reply: `{"code":"0","msg":"成功","data":…}`.
pub fn ok_reply(data: Value) -> Value {
    json!({"code": "0", "msg": "成功", "data": data})
}

/// The error reply with the family's code and message.
pub fn error_reply(failure: &Failure) -> (u16, Value) {
    let w = failure.to_wire(Family::Property);
    (
        w.status,
        json!({"code": w.code, "msg": w.message, "data": null}),
    )
}

/// A reply whose outcome is not yet projected: the client can look the command up later.
pub fn pending_reply(command_id: &str) -> Value {
    json!({"code": "202", "msg": "处理中，请稍后按 transaction-id 查询 (accepted, still processing)", "data": {"commandId": command_id}})
}

fn start_time(f: &Fields, name: &str, missing: &str) -> Result<NaiveDateTime, Rejection> {
    let text = f.required_text(name, missing)?;
    parse_start(&text).map_err(|e| Rejection::invalid(name, format!("{name} 格式错误: {e}")))
}

fn end_time(f: &Fields, name: &str, missing: &str) -> Result<NaiveDateTime, Rejection> {
    let text = f.required_text(name, missing)?;
    parse_end(&text).map_err(|e| Rejection::invalid(name, format!("{name} 格式错误: {e}")))
}

fn formula(f: &Fields) -> Result<String, Rejection> {
    let text = f.required_text("computingFormula", "必填，请填写计算公式")?;
    Formula::parse(&text).map_err(|e| {
        Rejection::invalid("computingFormula", format!("计算公式无效 {text:?}: {e}"))
    })?;
    Ok(text)
}

fn payment_cycle(f: &Fields) -> Result<Option<u32>, Rejection> {
    match f.integer("paymentCycle")? {
        None => Ok(None),
        Some(n) if (1..=120).contains(&n) => Ok(Some(n as u32)),
        Some(n) => Err(Rejection::invalid(
            "paymentCycle",
            format!("缴费周期必须在1到120个月之间 (paymentCycle must be 1..=120 months, got {n})"),
        )),
    }
}

/// The fields saveFeeConfig and updateFeeConfig share, read in the upstream check order.
struct CommonConfig {
    fee_type_cd: String,
    fee_name: String,
    fee_flag: FeeFlag,
    start_time: NaiveDateTime,
    end_time: NaiveDateTime,
    computing_formula: String,
    square_price: ledger_core::Money,
    additional_amount: ledger_core::Money,
    community_id: String,
    bill_type: BillType,
    payment_cd: Option<PaymentCd>,
    payment_cycle: Option<u32>,
    state: Option<ConfigState>,
}

fn common_config(f: &Fields) -> Result<CommonConfig, Rejection> {
    Ok(CommonConfig {
        fee_type_cd: f.required_text("feeTypeCd", "必填，请选择费用类型")?,
        fee_name: f.required_text("feeName", "必填，请填写收费项目")?,
        fee_flag: f.required_code(
            "feeFlag",
            "必填，请选择费用标识",
            FeeFlag::from_code,
            FeeFlag::ACCEPTED,
        )?,
        start_time: start_time(f, "startTime", "必填，请选择计费起始时间")?,
        end_time: end_time(f, "endTime", "必填，请选择计费终止时间")?,
        computing_formula: formula(f)?,
        square_price: f.required_money("squarePrice", "必填，请填写计费单价")?,
        additional_amount: f.required_money("additionalAmount", "必填，请填写附加费用")?,
        community_id: f.required_text("communityId", "未包含小区ID")?,
        bill_type: f.required_code(
            "billType",
            "必填，请填写出账类型",
            BillType::from_code,
            BillType::ACCEPTED,
        )?,
        payment_cd: f.code("paymentCd", PaymentCd::from_code, PaymentCd::ACCEPTED)?,
        payment_cycle: payment_cycle(f)?,
        state: f.code("state", ConfigState::from_code, ConfigState::ACCEPTED)?,
    })
}

/// `POST /app/feeConfig.updateFeeConfig` (seed 002): every listed field is required.
pub fn decode_fee_config_update(f: &Fields) -> Result<FeeConfigUpdate, Rejection> {
    let config_id = f.required_text("configId", "费用项ID不能为空")?;
    let c = common_config(f)?;
    Ok(FeeConfigUpdate {
        community_id: c.community_id,
        config_id,
        fee_type_cd: c.fee_type_cd,
        fee_name: c.fee_name,
        fee_flag: c.fee_flag,
        start_time: c.start_time,
        end_time: c.end_time,
        computing_formula: c.computing_formula,
        square_price: c.square_price,
        additional_amount: c.additional_amount,
        bill_type: c.bill_type,
        payment_cd: c.payment_cd,
        payment_cycle: c.payment_cycle,
        state: c.state,
    })
}

/// `POST /app/feeConfig.saveFeeConfig`: the update's fields, `configId` assigned (derived from
/// the command id, so a retry gets the same id) when absent; paymentCd defaults to postpaid and
/// paymentCycle from the bill type.
pub fn decode_fee_config_create(f: &Fields, command_id: &str) -> Result<FeeConfig, Rejection> {
    let config_id = f.text("configId")?;
    let c = common_config(f)?;
    Ok(FeeConfig {
        config_id: config_id.unwrap_or_else(|| derived_id("92", command_id, "configId")),
        community_id: c.community_id,
        fee_type_cd: c.fee_type_cd,
        fee_name: c.fee_name,
        fee_flag: c.fee_flag,
        start_time: c.start_time,
        end_time: c.end_time,
        computing_formula: c.computing_formula,
        square_price: c.square_price,
        additional_amount: c.additional_amount,
        bill_type: c.bill_type,
        payment_cd: c.payment_cd.unwrap_or(PaymentCd::Postpaid),
        payment_cycle: c
            .payment_cycle
            .unwrap_or_else(|| c.bill_type.default_payment_cycle_months()),
        state: c.state.unwrap_or(ConfigState::Normal),
    })
}

/// The `data` of `listFeeConfigs`: `{"feeConfigs":[…],"total":N}`.
pub fn fee_configs_data(configs: &[FeeConfig]) -> Value {
    json!({"feeConfigs": configs, "total": configs.len()})
}

/// Documentation of the updateFeeConfig body (seed 002), for JSON Schema and OpenAPI. Decoding
/// reads the body field by field (see [`decode_fee_config_update`]) so each missing field gets
/// its own message; this type only describes the shape.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeConfigUpdateBody {
    /// 费用项 ID.
    pub config_id: String,
    /// 费用类型编码, e.g. 1001.
    pub fee_type_cd: String,
    /// 收费项目名称.
    pub fee_name: String,
    /// 费用标识: Y (chargeable, periodic), N (not chargeable), 1003006, 2006012, 4012024.
    pub fee_flag: String,
    /// 计费起始时间, yyyy-MM-dd or yyyy-MM-dd HH:mm:ss (a date alone means 00:00:00).
    pub start_time: String,
    /// 计费终止时间, yyyy-MM-dd or yyyy-MM-dd HH:mm:ss (a date alone means 23:59:59).
    pub end_time: String,
    /// 计费公式: a code (1001, 2002, 3003, 1101, 1102, 4004, 8008) or an expression over
    /// 面积, 室内面积, 单价, 附加费, 租金.
    pub computing_formula: String,
    /// 计费单价 (yuan), a JSON number or decimal string.
    #[schemars(with = "DecimalText")]
    #[schema(value_type = f64)]
    pub square_price: String,
    /// 附加费用 (yuan), a JSON number or decimal string.
    #[schemars(with = "DecimalText")]
    #[schema(value_type = f64)]
    pub additional_amount: String,
    /// 小区 ID.
    pub community_id: String,
    /// 出账类型: MONTHLY, QUARTERLY, YEARLY, DAILY, ONCE or 001–005.
    pub bill_type: String,
    /// 状态: N normal, NA unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// 付费类型: 1200 prepaid, 2100 postpaid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_cd: Option<String>,
    /// Months per payment cycle (1–120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_cycle: Option<u32>,
}

/// Documentation of the saveFeeConfig body: the update's fields, `configId` optional.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeConfigSaveBody {
    /// 费用项 ID; assigned when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_id: Option<String>,
    pub fee_type_cd: String,
    pub fee_name: String,
    pub fee_flag: String,
    pub start_time: String,
    pub end_time: String,
    pub computing_formula: String,
    #[schemars(with = "DecimalText")]
    #[schema(value_type = f64)]
    pub square_price: String,
    #[schemars(with = "DecimalText")]
    #[schema(value_type = f64)]
    pub additional_amount: String,
    pub community_id: String,
    pub bill_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_cd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_cycle: Option<u32>,
}

/// A decimal written as a JSON number or a string of digits.
pub struct DecimalText;

impl schemars::JsonSchema for DecimalText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DecimalText".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}
            ]
        })
    }
}
