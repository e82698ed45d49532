//! The ACC_VOLPRICE_OWE record of seed 001: every field of the seed's response table, in its
//! order and with its type. One macro lists the fields once, so the struct, its serde names, the
//! field table the wire crate decodes and renders from, and the compact stored row
//! ([`super::row`], read as an [`OweRecordView`]) can never disagree.

use crate::money::Money;
use crate::utility::row::{ROW_MARKER, RowError, RowField};
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A quantity that is not money (consumption, unit price), kept exactly as a decimal string.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Quantity(#[serde(with = "rust_decimal::serde::str")] pub Decimal);

impl JsonSchema for Quantity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quantity".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]+(\\.[0-9]+)?$",
            "description": "Non-negative decimal as a string"
        })
    }
}

/// How a field is written on the wire (the seed's String or Number) and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A String of at most this many characters.
    Text(usize),
    /// A whole Number.
    Integer,
    /// A date Number: `YYYYMMDD` or `YYYYMMDDHHMMSS`, 0 for none.
    Date,
    /// A month Number: `YYYYMM`, 0 for none.
    Month,
    /// A non-negative decimal Number that is not money.
    Quantity,
    /// A non-negative money Number in yuan.
    Money,
}

/// Longest classification text; the seed's table gives no length for these.
pub const CODE_LEN: usize = 64;

macro_rules! owe_record {
    ($( $field:ident : $ty:ty = $wire:literal, $kind:expr, $doc:literal; )*) => {
        /// One ACC_VOLPRICE_OWE record (seed 001 response table, in order).
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        pub struct OweRecord {
            $( #[doc = $doc] #[serde(rename = $wire)] pub $field: $ty, )*
        }

        /// Every field of the record: wire name, kind and the seed's description.
        pub const FIELDS: &[(&str, FieldKind, &str)] = &[ $( ($wire, $kind, $doc), )* ];

        /// A record read in place: text borrows the stored row (or the record), so a query
        /// filters and renders records without allocating their 47 strings.
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct OweRecordView<'a> {
            $( #[doc = $doc] pub $field: <$ty as RowField>::View<'a>, )*
        }

        impl OweRecord {
            /// The record as a view borrowing it.
            pub fn view(&self) -> OweRecordView<'_> {
                OweRecordView { $( $field: self.$field.view(), )* }
            }

            /// The compact stored form ([`crate::utility::row`]).
            pub fn to_row(&self) -> Vec<u8> {
                let mut out = Vec::with_capacity(1024);
                out.push(ROW_MARKER);
                $( self.$field.put(&mut out); )*
                out
            }
        }

        impl<'a> OweRecordView<'a> {
            /// Reads a compact row; any other bytes are an error naming the field they broke.
            pub fn from_row(row: &'a [u8]) -> Result<Self, RowError> {
                let Some((&ROW_MARKER, mut input)) = row.split_first() else {
                    return Err(RowError { field: "marker", reason: "not a compact row" });
                };
                let view = OweRecordView {
                    $( $field: <$ty as RowField>::take(&mut input)
                        .map_err(|reason| RowError { field: $wire, reason })?, )*
                };
                if !input.is_empty() {
                    return Err(RowError { field: "end", reason: "trailing bytes" });
                }
                Ok(view)
            }

            /// The owned record.
            pub fn to_record(&self) -> OweRecord {
                OweRecord { $( $field: <$ty as RowField>::owned(self.$field), )* }
            }

            /// Every field in table order: its wire name and its value, typed by what the wire
            /// shows (text, a whole number, or a decimal), so a reply can be written without
            /// an intermediate JSON tree.
            pub fn wire_values(&self) -> Vec<(&'static str, WireValue<'a>)> {
                vec![ $( ($wire, <$ty as RowField>::wire(self.$field)), )* ]
            }
        }
    };
}

/// A record field's value as the wire shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireValue<'a> {
    Text(&'a str),
    Integer(i64),
    Unsigned(u64),
    /// A decimal Number, written from its exact text (quantities and money in yuan).
    Decimal(Decimal),
}

owe_record! {
    node_aid: String = "NODE_AID", FieldKind::Text(CODE_LEN), "区段节点ID";
    network_co_did: String = "NETWORK_CO_DID", FieldKind::Text(CODE_LEN), "管网公司编码";
    net_stores_aid: String = "NET_STORES_AID", FieldKind::Text(CODE_LEN), "管网公司营业网点ID";
    retail_co_did: String = "RETAIL_CO_DID", FieldKind::Text(CODE_LEN), "销售公司编码";
    ret_stores_aid: String = "RET_STORES_AID", FieldKind::Text(16), "销售公司营业网点ID";
    sale_co_dimension: String = "SALE_CO_DIMENSION", FieldKind::Text(CODE_LEN), "销售公司统计维度";
    network_co_dimension: String = "NETWORK_CO_DIMENSION", FieldKind::Text(CODE_LEN), "管网公司统计维度";
    charge_pack_did: String = "CHARGE_PACK_DID", FieldKind::Text(CODE_LEN), "计费套餐号";
    book_aid: String = "BOOK_AID", FieldKind::Text(16), "区段编号";
    network_type: String = "NETWORK_TYPE", FieldKind::Text(CODE_LEN), "服务类型";
    settlement_aid: String = "SETTLEMENT_AID", FieldKind::Text(CODE_LEN), "结算户ID";
    normal_retro_type: String = "NORMAL_RETRO_TYPE", FieldKind::Text(CODE_LEN), "正常/追补";
    customer_did: String = "CUSTOMER_DID", FieldKind::Text(CODE_LEN), "客户编号";
    user_cus_did: String = "USER_CUS_DID", FieldKind::Text(CODE_LEN), "用户内部ID";
    user_account_aid: String = "USER_ACCOUNT_AID", FieldKind::Text(CODE_LEN), "用户账户ID";
    industry_code_info: String = "INDUSTRY_CODE_INFO", FieldKind::Text(CODE_LEN), "行业分类";
    industry_type: String = "INDUSTRY_TYPE", FieldKind::Text(CODE_LEN), "产业分类";
    assess_yesno: String = "ASSESS_YESNO", FieldKind::Text(CODE_LEN), "是否考核";
    resident_yesno: String = "RESIDENT_YESNO", FieldKind::Text(CODE_LEN), "是否居民";
    public_use_yesno: String = "PUBLIC_USE_YESNO", FieldKind::Text(CODE_LEN), "是否公用";
    temporary_yesno: String = "TEMPORARY_YESNO", FieldKind::Text(CODE_LEN), "是否临时";
    city_yesno: String = "CITY_YESNO", FieldKind::Text(CODE_LEN), "是否城市";
    army_yesno: String = "ARMY_YESNO", FieldKind::Text(CODE_LEN), "是否军工";
    purchase_sale_type: String = "PURCHASE_SALE_TYPE", FieldKind::Text(CODE_LEN), "购售类型";
    stop_empty_yesno: String = "STOP_EMPTY_YESNO", FieldKind::Text(CODE_LEN), "是否停/空";
    bus_categ_type: String = "BUS_CATEG_TYPE", FieldKind::Text(CODE_LEN), "业务类别";
    basic_fees_type: String = "BASIC_FEES_TYPE", FieldKind::Text(CODE_LEN), "基本费计费类型";
    abund_wither_yesno: String = "ABUND_WITHER_YESNO", FieldKind::Text(CODE_LEN), "是否丰枯";
    abundance_type: String = "ABUNDANCE_TYPE", FieldKind::Text(CODE_LEN), "丰平枯";
    time_fees_type: String = "TIME_FEES_TYPE", FieldKind::Text(CODE_LEN), "分时计费类型";
    time_sharing_type: String = "TIME_SHARING_TYPE", FieldKind::Text(CODE_LEN), "分时时段";
    agree_price_yesno: String = "AGREE_PRICE_YESNO", FieldKind::Text(CODE_LEN), "是否协议价";
    ladder_type: String = "LADDER_TYPE", FieldKind::Text(CODE_LEN), "阶梯类型";
    ladder_num_type: String = "LADDER_NUM_TYPE", FieldKind::Text(CODE_LEN), "阶梯数量";
    ladder_level_type: String = "LADDER_LEVEL_TYPE", FieldKind::Text(CODE_LEN), "阶梯级次";
    for_rate_valid_type: String = "FOR_RATE_VALID_TYPE", FieldKind::Text(CODE_LEN), "力率考核类型";
    heat_charge_type: String = "HEAT_CHARGE_TYPE", FieldKind::Text(CODE_LEN), "暖气计费类型";
    garb_chaege_type: String = "GARB_CHAEGE_TYPE", FieldKind::Text(CODE_LEN), "物业计费类型";
    account_item_info: String = "ACCOUNT_ITEM_INFO", FieldKind::Text(CODE_LEN), "会计科目编码";
    cat_item_num: i64 = "CAT_ITEM_NUM", FieldKind::Integer, "分类项目编号";
    cat_item_attach_num: i64 = "CAT_ITEM_ATTACH_NUM", FieldKind::Integer, "分类项目附编号";
    startup_date: u64 = "STARTUP_DATE", FieldKind::Date, "启用日期";
    account_month: u64 = "ACCOUNT_MONTH", FieldKind::Month, "帐务月份";
    settle_account_month: u64 = "SETTLE_ACCOUNT_MONTH", FieldKind::Month, "结账月份";
    the_charge_cons: Quantity = "THE_CHARGE_CONS", FieldKind::Quantity, "本次计费用量";
    charge_price: Quantity = "CHARGE_PRICE", FieldKind::Quantity, "计费单价";
    calc_fee: Money = "CALC_FEE", FieldKind::Money, "计算费用";
    charge_pack_type: String = "CHARGE_PACK_TYPE", FieldKind::Text(2), "套餐类型";
    trans_voltage_type: String = "TRANS_VOLTAGE_TYPE", FieldKind::Text(CODE_LEN), "电压等级";
    dist_level_range_type: String = "DIST_LEVEL_RANGE_TYPE", FieldKind::Text(CODE_LEN), "配送等级范围";
    retail_voltage_grade_type: String = "RETAIL_VOLTAGE_GRADE_TYPE", FieldKind::Text(CODE_LEN), "零售等级范围";
    property_level_type: String = "PROPERTY_LEVEL_TYPE", FieldKind::Text(CODE_LEN), "物业服务等级";
    operation_date: u64 = "OPERATION_DATE", FieldKind::Date, "操作日期";
    serial_did: String = "SERIAL_DID", FieldKind::Text(32), "业务流水号";
    liq_dama_levy_date: u64 = "LIQ_DAMA_LEVY_DATE", FieldKind::Date, "上次违约金起征日";
    last_paid_in_date: u64 = "LAST_PAID_IN_DATE", FieldKind::Date, "上次实收业务日期";
    last_paid_in_sid: String = "LAST_PAID_IN_SID", FieldKind::Text(32), "上次实收业务流水号";
    accu_paid_in_fee: Money = "ACCU_PAID_IN_FEE", FieldKind::Money, "累计实收费用";
    the_paid_in_fee: Money = "THE_PAID_IN_FEE", FieldKind::Money, "本次实收费用";
    the_paid_in_date: u64 = "THE_PAID_IN_DATE", FieldKind::Date, "本次实收业务日期";
    the_paid_in_sid: String = "THE_PAID_IN_SID", FieldKind::Text(32), "本次实收业务流水号";
}

/// The fields payments maintain; a charge starts with them zero or empty.
pub const PAID_IN_FIELDS: &[&str] = &[
    "LAST_PAID_IN_DATE",
    "LAST_PAID_IN_SID",
    "ACCU_PAID_IN_FEE",
    "THE_PAID_IN_FEE",
    "THE_PAID_IN_DATE",
    "THE_PAID_IN_SID",
];

impl OweRecordView<'_> {
    /// What is still owed: the calculated fee less everything paid in.
    pub fn owed(&self) -> Money {
        self.calc_fee - self.accu_paid_in_fee
    }
}

impl OweRecord {
    /// What is still owed: the calculated fee less everything paid in.
    pub fn owed(&self) -> Money {
        self.view().owed()
    }

    /// Every field in table order with its value as the wire shows it.
    pub fn wire_values(&self) -> Vec<(&'static str, WireValue<'_>)> {
        self.view().wire_values()
    }

    /// The first paid-in field that is set (non-zero or non-empty), if any: a charge must
    /// leave them all to payments.
    pub fn paid_in_field_set(&self) -> Option<&'static str> {
        let set = [
            self.last_paid_in_date != 0,
            !self.last_paid_in_sid.is_empty(),
            !self.accu_paid_in_fee.yuan().is_zero(),
            !self.the_paid_in_fee.yuan().is_zero(),
            self.the_paid_in_date != 0,
            !self.the_paid_in_sid.is_empty(),
        ];
        PAID_IN_FIELDS
            .iter()
            .zip(set)
            .find(|(_, set)| *set)
            .map(|(name, _)| *name)
    }
}

/// Reads a date Number: `YYYYMMDD` or `YYYYMMDDHHMMSS` forming a real date (and time).
/// 0 means "none" and is valid but has no date.
pub fn date_number(n: u64) -> Result<Option<NaiveDateTime>, String> {
    if n == 0 {
        return Ok(None);
    }
    let text = n.to_string();
    let parsed = match text.len() {
        8 => NaiveDate::parse_from_str(&text, "%Y%m%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0)),
        14 => NaiveDateTime::parse_from_str(&text, "%Y%m%d%H%M%S").ok(),
        _ => None,
    };
    parsed
        .map(Some)
        .ok_or_else(|| format!("{n} is not a date YYYYMMDD or YYYYMMDDHHMMSS"))
}

/// Checks a month Number `YYYYMM` (0 means none).
pub fn month_number(n: u64) -> Result<(), String> {
    if n == 0 {
        return Ok(());
    }
    let ok = (100_000..=999_999).contains(&n) && (1..=12).contains(&(n % 100));
    if ok {
        Ok(())
    } else {
        Err(format!("{n} is not a month YYYYMM"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_table_is_the_seeds_table() {
        assert_eq!(FIELDS.len(), 61);
        assert_eq!(FIELDS[0].0, "NODE_AID");
        assert_eq!(FIELDS[60].0, "THE_PAID_IN_SID");
        let numbers = FIELDS
            .iter()
            .filter(|(_, k, _)| !matches!(k, FieldKind::Text(_)))
            .count();
        // The seed's 14 Number fields: CAT_ITEM_NUM, CAT_ITEM_ATTACH_NUM, STARTUP_DATE,
        // ACCOUNT_MONTH, SETTLE_ACCOUNT_MONTH, THE_CHARGE_CONS, CHARGE_PRICE, CALC_FEE,
        // OPERATION_DATE, LIQ_DAMA_LEVY_DATE, LAST_PAID_IN_DATE, ACCU_PAID_IN_FEE, THE_PAID_IN_FEE,
        // THE_PAID_IN_DATE.
        assert_eq!(numbers, 14);
    }

    #[test]
    fn dates_and_months() {
        assert_eq!(date_number(0), Ok(None));
        assert!(date_number(20240229).unwrap().is_some());
        assert!(date_number(20240315103000).unwrap().is_some());
        for bad in [20230229, 2024031, 20241301, 20240315256000] {
            assert!(date_number(bad).is_err(), "{bad}");
        }
        assert!(month_number(202403).is_ok());
        assert!(month_number(0).is_ok());
        for bad in [202413, 202400, 20240, 2024030] {
            assert!(month_number(bad).is_err(), "{bad}");
        }
    }
}
