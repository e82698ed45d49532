//! The property family's wire format (seeds 002 and 004, MicroCommunity conventions): request
//! bodies into typed commands, with the upstream messages for missing fields, and the
//! `{"code":"0","msg":"成功","data":…}` reply envelope.

use crate::codes::{Failure, Family};
use crate::fields::Fields;
use chrono::NaiveDateTime;
use ledger_core::Rejection;
use ledger_core::command::derived_id;
use ledger_core::property::formula::Formula;
use ledger_core::property::payment::PayRequest;
use ledger_core::property::time::{parse_end, parse_start};
use ledger_core::property::view::FeeView;
use ledger_core::property::{
    BillType, CommunitySettingSet, ConfigState, FeeConfig, FeeConfigUpdate, FeeFlag, FeePay, Owner,
    PaymentCd, Room, RoomFeeCreate, Scale, SettingKey, SettingValue, Switch,
};
use ledger_core::time::format_business;
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// The success reply: `{"code":"0","msg":"成功","data":…}`.
pub fn ok_reply(data: Value) -> Value {
    serde_json::to_value(Success::new(data)).expect("a JSON value serializes")
}

/// The success envelope around typed data, serialized without an intermediate tree.
#[derive(serde::Serialize)]
pub struct Success<T> {
    code: &'static str,
    msg: &'static str,
    data: T,
}

impl<T: serde::Serialize> Success<T> {
    pub fn new(data: T) -> Self {
        Success {
            code: "0",
            msg: "成功",
            data,
        }
    }
}

/// The error reply with the family's code (the HTTP status), message and `reason`.
pub fn error_reply(failure: &Failure) -> (u16, Value) {
    let w = failure.to_wire(Family::Property);
    (
        w.status,
        json!({"code": w.code, "msg": w.message, "data": null, "reason": w.reason}),
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

/// An optional whole number in `range`, named in the refusal.
fn bounded(
    f: &Fields,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
    what: &str,
) -> Result<Option<u32>, Rejection> {
    match f.integer(name)? {
        None => Ok(None),
        Some(n) if range.contains(&n) => Ok(Some(n as u32)),
        Some(n) => Err(Rejection::invalid(
            name,
            format!(
                "{what}必须在{}到{}之间 ({name} must be {}..={}, got {n})",
                range.start(),
                range.end(),
                range.start(),
                range.end()
            ),
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
    scale: Option<Scale>,
    decimal_place: Option<u32>,
    prepayment_period: Option<u32>,
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
        scale: f.code("scale", Scale::from_code, Scale::ACCEPTED)?,
        decimal_place: bounded(f, "decimalPlace", 0..=4, "小数位")?,
        prepayment_period: bounded(f, "prepaymentPeriod", 0..=3660, "预付期")?,
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
        scale: c.scale,
        decimal_place: c.decimal_place,
        prepayment_period: c.prepayment_period,
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
        scale: c.scale,
        decimal_place: c.decimal_place,
        prepayment_period: c.prepayment_period,
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
    /// 状态: N normal, NA unavailable (stored as N, as upstream does; the config's fees finish).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// 付费类型: 1200 prepaid, 2100 postpaid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_cd: Option<String>,
    /// Months per payment cycle (1–120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_cycle: Option<u32>,
    /// 进位方式 of owed amounts: 1 half-up, 3 up, 4 down (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<String>,
    /// 小数位 of owed amounts, 0–4 (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal_place: Option<u32>,
    /// 预付期, days (0–3660): the next cycle falls due this many days early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepayment_period: Option<u32>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal_place: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepayment_period: Option<u32>,
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

fn optional_start(f: &Fields, name: &str) -> Result<Option<NaiveDateTime>, Rejection> {
    f.text(name)?
        .map(|text| {
            parse_start(&text)
                .map_err(|e| Rejection::invalid(name, format!("{name} 格式错误: {e}")))
        })
        .transpose()
}

/// A decimal that must not be negative (areas, rates).
fn non_negative(f: &Fields, name: &str) -> Result<Option<Decimal>, Rejection> {
    match f.decimal(name)? {
        Some(d) if d.is_sign_negative() && !d.is_zero() => Err(Rejection::invalid(
            name,
            format!("{name} 不能为负数 ({name} must not be negative)"),
        )),
        other => Ok(other),
    }
}

fn required_non_negative(f: &Fields, name: &str, missing: &str) -> Result<Decimal, Rejection> {
    non_negative(f, name)?.ok_or_else(|| Rejection::missing(name, missing))
}

/// `POST /app/room.saveRoom`: a room with its areas, rent and (optionally) its owner. `roomId`
/// is assigned (derived from the command id) when absent; a given one replaces that room.
pub fn decode_room_upsert(f: &Fields, command_id: &str) -> Result<Room, Rejection> {
    let community_id = f.required_text("communityId", "未包含小区ID")?;
    let room_id = f
        .text("roomId")?
        .unwrap_or_else(|| derived_id("10", command_id, "roomId"));
    let room_num = f.required_text("roomNum", "请求报文中未包含roomNum")?;
    let built_up_area = required_non_negative(f, "builtUpArea", "请求报文中未包含builtUpArea")?;
    let room_area = required_non_negative(f, "roomArea", "请求报文中未包含roomArea")?;
    let room_rent = f.required_money("roomRent", "请求报文中未包含roomRent")?;
    let owner = match f.text("ownerId")? {
        None => None,
        Some(owner_id) => Some(Owner {
            owner_id,
            owner_name: f.required_text("ownerName", "未包含业主名称")?,
            owner_tel: f.text("ownerTel")?,
        }),
    };
    Ok(Room {
        community_id,
        room_id,
        room_num,
        built_up_area,
        room_area,
        room_rent,
        owner,
    })
}

/// `POST /app/fee.saveRoomCreateFee` (seed 004), required fields in upstream order. The 1102
/// rate fields are read when present (and must then be well-formed); whether they are required
/// depends on the config's formula, which the decider knows.
pub fn decode_room_fee_create(f: &Fields) -> Result<RoomFeeCreate, Rejection> {
    let community_id = f.required_text("communityId", "未包含小区ID")?;
    let room_id = f.required_text("locationObjId", "未包含收费对象")?;
    let config_id = f.required_text("configId", "未包含收费项目")?;
    let store_id = f.required_text("storeId", "未包含商户ID")?;
    let start_time = start_time(f, "startTime", "未包含计费起始时间")?;
    let end_time = end_time(f, "endTime", "未包含计费结束时间")?;
    let rate_cycle = match f.integer("rateCycle")? {
        None => None,
        Some(n) if (1..=1200).contains(&n) => Some(n as u32),
        Some(n) => {
            return Err(Rejection::invalid(
                "rateCycle",
                format!(
                    "递增周期必须在1到1200个月之间 (rateCycle must be 1..=1200 months, got {n})"
                ),
            ));
        }
    };
    Ok(RoomFeeCreate {
        community_id,
        room_id,
        config_id,
        store_id,
        start_time,
        end_time,
        rate_cycle,
        rate: non_negative(f, "rate")?,
        rate_start_time: optional_start(f, "rateStartTime")?,
        amount: f.money("amount")?,
    })
}

/// Upstream's two checks of a required field: the key must be there, then non-empty.
fn upstream_required(
    f: &Fields,
    name: &str,
    absent: &str,
    empty: &str,
) -> Result<String, Rejection> {
    if !f.has_key(name) {
        return Err(Rejection::missing(name, absent));
    }
    f.required_text(name, empty)
}

/// `POST /app/fee.payFee`: communityId, feeId, cycles, receivedAmount. cycles is a number of
/// months, or -101 (pay receivedAmount), -102 (custCycles months), -103 (up to custEndTime; a
/// date alone means its 23:59:59), -105 (customStartTime to customEndTime).
pub fn decode_fee_pay(f: &Fields) -> Result<FeePay, Rejection> {
    let required = [
        (
            "communityId",
            "请求报文中未包含communityId节点",
            "小区ID不能为空",
        ),
        ("cycles", "请求报文中未包含cycles节点", "周期不能为空"),
        (
            "receivedAmount",
            "请求报文中未包含receivedAmount节点",
            "实收金额不能为空",
        ),
        ("feeId", "请求报文中未包含feeId节点", "费用ID不能为空"),
    ];
    if let Some((name, absent, _)) = required.iter().find(|(name, _, _)| !f.has_key(name)) {
        return Err(Rejection::missing(name, absent));
    }
    let mut texts = Vec::with_capacity(required.len());
    for (name, absent, empty) in required {
        texts.push(upstream_required(f, name, absent, empty)?);
    }
    let [community_id, cycles, _, fee_id]: [String; 4] =
        texts.try_into().expect("four required fields were read");
    let received_amount = f
        .money("receivedAmount")?
        .ok_or_else(|| Rejection::missing("receivedAmount", "实收金额不能为空"))?;
    let request = match cycles.as_str() {
        "-101" => PayRequest::Amount(received_amount.yuan()),
        "-102" => PayRequest::Cycles(
            f.decimal("custCycles")?
                .ok_or_else(|| Rejection::missing("custCycles", "未包含自定义周期"))?,
        ),
        "-103" => {
            let text = f.required_text("custEndTime", "未包含自定义结束时间")?;
            PayRequest::UpTo(parse_end(&text).map_err(|e| {
                Rejection::invalid("custEndTime", format!("custEndTime 格式错误: {e}"))
            })?)
        }
        "-105" => PayRequest::Period {
            start: start_time(f, "customStartTime", "未包含自定义开始时间")?,
            end: end_time(f, "customEndTime", "未包含自定义结束时间")?,
        },
        _ => PayRequest::Cycles(
            f.decimal("cycles")?
                .ok_or_else(|| Rejection::missing("cycles", "周期不能为空"))?,
        ),
    };
    Ok(FeePay {
        community_id,
        fee_id,
        request,
        received_amount,
        receivable_amount: f.money("receivableAmount")?,
    })
}

/// `POST /app/community.setting`: `{communityId, settingKey, settingValue}`; the keys read are
/// PAY_FEE_MONTH (ON/OFF) and PAY_FEE_MONTH_CYCLE (months per bill, 1–120).
pub fn decode_setting(f: &Fields) -> Result<CommunitySettingSet, Rejection> {
    let community_id = f.required_text("communityId", "未包含小区ID")?;
    let key = f.required_code(
        "settingKey",
        "未包含设置项",
        SettingKey::from_code,
        SettingKey::ACCEPTED,
    )?;
    let value = match key {
        SettingKey::PayFeeMonth => SettingValue::Switch(f.required_code(
            "settingValue",
            "未包含设置值",
            Switch::from_code,
            Switch::ACCEPTED,
        )?),
        SettingKey::PayFeeMonthCycle => SettingValue::Months(
            bounded(f, "settingValue", 1..=120, "每张账单月数")?
                .ok_or_else(|| Rejection::missing("settingValue", "未包含设置值"))?,
        ),
    };
    Ok(CommunitySettingSet {
        community_id,
        key,
        value,
    })
}

/// The `data` of `listFee`: `{"fees":[…],"total":N,"asOf":"yyyy-MM-dd HH:mm:ss"}` and, for a
/// paged listing, the paging fields after them (`total` then counts every fee, not the page's).
/// Serialized straight from the views: building them as a JSON tree first was the largest
/// share of listFee's samples.
pub struct FeeListData<'a> {
    pub fees: &'a [FeeView],
    pub total: usize,
    pub as_of: NaiveDateTime,
    /// `records`, `page`, `row` (or none).
    pub paging: &'a [(&'static str, Value)],
}

impl serde::Serialize for FeeListData<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(3 + self.paging.len()))?;
        map.serialize_entry("fees", self.fees)?;
        map.serialize_entry("total", &self.total)?;
        map.serialize_entry("asOf", &format_business(self.as_of))?;
        for (name, value) in self.paging {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Documentation of the saveRoom body, for JSON Schema and OpenAPI.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomSaveBody {
    /// 小区 ID.
    pub community_id: String,
    /// 房屋 ID; assigned when absent, replaced when it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    /// 房屋编号.
    pub room_num: String,
    /// 建筑面积 (m²).
    #[schemars(with = "DecimalText")]
    #[schema(value_type = f64)]
    pub built_up_area: String,
    /// 室内面积 (m²).
    #[schemars(with = "DecimalText")]
    #[schema(value_type = f64)]
    pub room_area: String,
    /// 租金 per month (yuan).
    #[schemars(with = "DecimalText")]
    #[schema(value_type = f64)]
    pub room_rent: String,
    /// 业主 ID; a room fee needs a room with an owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// 业主名称; required with ownerId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_name: Option<String>,
    /// 业主电话.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_tel: Option<String>,
}

/// Documentation of the saveRoomCreateFee body (seed 004).
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomFeeCreateBody {
    /// 小区ID.
    pub community_id: String,
    /// 收费对象ID (房屋ID).
    pub location_obj_id: String,
    /// 收费项目配置ID.
    pub config_id: String,
    /// 商户ID.
    pub store_id: String,
    /// 计费起始时间, yyyy-MM-dd HH:mm:ss or yyyy-MM-dd.
    pub start_time: String,
    /// 计费结束时间; a date alone gets 23:59:59.
    pub end_time: String,
    /// 递增周期 (months); required for formula 1102.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_cycle: Option<String>,
    /// 递增率 (0.05 = 5%); required for formula 1102.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// 递增开始时间; required for formula 1102.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_start_time: Option<String>,
    /// The fee's own monthly amount, for formulas 4004/8008.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub amount: Option<String>,
}

/// Documentation of the payFee body.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayFeeBody {
    /// 小区ID.
    pub community_id: String,
    /// 费用ID (a bill rule's month: `{ruleId}-{yyyyMM}`).
    pub fee_id: String,
    /// Months (may be fractional), or -101 pay receivedAmount, -102 pay custCycles months,
    /// -103 pay up to custEndTime, -105 pay customStartTime to customEndTime.
    #[schemars(with = "DecimalText")]
    #[schema(value_type = String)]
    pub cycles: String,
    /// 实收金额 (yuan); recorded beside the receivable, never refused for being lower.
    #[schemars(with = "DecimalText")]
    #[schema(value_type = f64)]
    pub received_amount: String,
    /// Cycles for -102.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub cust_cycles: Option<String>,
    /// Pay up to this end for -103 (a date alone means 23:59:59).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cust_end_time: Option<String>,
    /// Start of the custom period for -105 (the time before it stays owed as a new fee).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_start_time: Option<String>,
    /// End of the custom period for -105 (a date alone means 23:59:59).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_end_time: Option<String>,
    /// 应收金额 for -101/-103/-105 (a manual reduction); the quote when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DecimalText>")]
    #[schema(value_type = Option<f64>)]
    pub receivable_amount: Option<String>,
}

/// Documentation of the community setting body.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommunitySettingBody {
    /// 小区ID.
    pub community_id: String,
    /// PAY_FEE_MONTH (按月出账) or PAY_FEE_MONTH_CYCLE (months per bill).
    pub setting_key: String,
    /// ON or OFF (PAY_FEE_MONTH); a number of months (PAY_FEE_MONTH_CYCLE).
    pub setting_value: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::property::view::FeeAttr;
    use std::str::FromStr;

    fn view(fee_id: &str, price: Option<&str>, rate: bool) -> FeeView {
        let at = |text: &str| ledger_core::time::parse_business(text).unwrap();
        let dec = |text: &str| Decimal::from_str(text).unwrap();
        FeeView {
            fee_id: fee_id.into(),
            config_id: "92022".into(),
            fee_name: "物业费\"A\"".into(),
            fee_type_cd: "888800010001".into(),
            fee_flag: FeeFlag::Periodic,
            state: ledger_core::property::FeeState::InProgress,
            computing_formula: "1001".into(),
            payment_cd: PaymentCd::Prepaid,
            payment_cycle: 1,
            start_time: at("2024-01-01 00:00:00"),
            end_time: at("2024-03-01 00:00:00"),
            deadline_time: at("2099-12-31 23:59:59"),
            fee_price: price.map(dec),
            owe_months: Some(dec("2.50")),
            amount_owed: price.map(|_| dec("300.125")),
            price_error: price.is_none().then(|| "no price".into()),
            payer_obj_id: "R1".into(),
            payer_obj_type: "3333",
            payer_obj_name: "1-1-101".into(),
            income_obj_id: "S1".into(),
            batch_id: "B1".into(),
            bill_rule_id: rate.then(|| "BR1".into()),
            owner_id: "O1".into(),
            owner_name: "张三".into(),
            owner_tel: None,
            rate_cycle: rate.then_some(12),
            rate: rate.then(|| dec("0.05")),
            rate_start_time: rate.then(|| at("2024-06-01 00:00:00")),
            fee_attrs: vec![FeeAttr {
                spec_cd: "390008",
                value: "张三".into(),
            }],
        }
    }

    /// The typed listFee reply is byte for byte the JSON tree it replaced (`fees` as values,
    /// then `total`, `asOf` and the paging fields), paged and whole.
    #[test]
    fn the_fee_list_is_written_as_its_json_tree_was() {
        let views = [view("F1", Some("120.0000"), false), view("F2", None, true)];
        let as_of = ledger_core::time::parse_business("2024-05-02 10:11:12").unwrap();
        let paging = [
            ("records", Value::from(2)),
            ("page", Value::from(1)),
            ("row", Value::from(1)),
        ];
        for (fees, total, paging) in [
            (&views[..], 2, &[][..]),
            (&views[..1], 2, &paging[..]),
            (&[][..], 0, &[][..]),
        ] {
            let mut data = json!({"fees": fees, "total": total, "asOf": "2024-05-02 10:11:12"});
            for (k, v) in paging {
                data[*k] = v.clone();
            }
            let tree = serde_json::to_vec(&ok_reply(data)).unwrap();
            let typed = serde_json::to_vec(&Success::new(FeeListData {
                fees,
                total,
                as_of,
                paging,
            }))
            .unwrap();
            assert_eq!(
                String::from_utf8(typed).unwrap(),
                String::from_utf8(tree).unwrap()
            );
        }
    }
}
