//! A fee as `fee.listFee` shows it as of some instant: the stored fee, its config and its room
//! in, price and arrears out. The read models keep only the inputs, so arrears as of any
//! instant are computed here when asked.

use super::arrears::{FeeTerms, owed_as_of};
use super::codes::{FeeFlag, FeeState, PaymentCd};
use super::fee::{BillMonth, BillRule, PAYER_OBJ_TYPE_ROOM, RoomFee};
use super::fee_config::FeeConfig;
use super::pricing::PricingError;
use super::room::{Owner, Room};
use crate::time::format_business;
use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::Serialize;

/// One fee attribute (upstream pay_fee_attrs) by its spec code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeAttr {
    pub spec_cd: &'static str,
    pub value: String,
}

/// A fee with its price and what it owes as of `as_of`: feePrice with 4 decimals (the base rent
/// for 1102), amountOwed rounded by the config's scale and decimalPlace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeView {
    pub fee_id: String,
    pub config_id: String,
    pub fee_name: String,
    pub fee_type_cd: String,
    pub fee_flag: FeeFlag,
    pub state: FeeState,
    pub computing_formula: String,
    pub payment_cd: PaymentCd,
    pub payment_cycle: u32,
    #[serde(with = "crate::time::business")]
    pub start_time: NaiveDateTime,
    /// Paid through (exclusive).
    #[serde(with = "crate::time::business")]
    pub end_time: NaiveDateTime,
    #[serde(with = "crate::time::business")]
    pub deadline_time: NaiveDateTime,
    /// Monthly price, 4 decimals (upstream FEE_SCALE); for 1102 the base rent (increases change
    /// only the amount owed). Absent when it cannot be computed.
    pub fee_price: Option<Decimal>,
    pub owe_months: Option<Decimal>,
    pub amount_owed: Option<Decimal>,
    /// Why the price cannot be computed (e.g. the config's formula changed to 4004 and the fee
    /// has no amount).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_error: Option<String>,
    pub payer_obj_id: String,
    pub payer_obj_type: &'static str,
    pub payer_obj_name: String,
    pub income_obj_id: String,
    pub batch_id: String,
    /// Set for a monthly fee of a bill rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bill_rule_id: Option<String>,
    pub owner_id: String,
    pub owner_name: String,
    pub owner_tel: Option<String>,
    pub rate_cycle: Option<u32>,
    pub rate: Option<Decimal>,
    #[serde(serialize_with = "crate::time::business_optional::serialize")]
    pub rate_start_time: Option<NaiveDateTime>,
    pub fee_attrs: Vec<FeeAttr>,
}

fn with_places(x: Decimal, places: u32) -> Decimal {
    let mut r = x;
    r.rescale(places);
    r
}

/// Price and arrears of `terms` as of `as_of`: (feePrice, oweMonths, amountOwed).
fn priced(terms: &FeeTerms, as_of: NaiveDateTime) -> (Decimal, Decimal, Decimal) {
    let owed = owed_as_of(terms, as_of);
    (
        with_places(terms.monthly_price, 4),
        owed.owe_months.normalize(),
        with_places(owed.amount, terms.rounding.places),
    )
}

fn owner_attrs(owner: &Owner, payer_name: &str, deadline: NaiveDateTime) -> Vec<FeeAttr> {
    let mut attrs = vec![
        FeeAttr {
            spec_cd: "390010",
            value: format_business(deadline),
        },
        FeeAttr {
            spec_cd: "390007",
            value: owner.owner_id.clone(),
        },
        FeeAttr {
            spec_cd: "390008",
            value: owner.owner_name.clone(),
        },
    ];
    if let Some(tel) = &owner.owner_tel {
        attrs.push(FeeAttr {
            spec_cd: "390009",
            value: tel.clone(),
        });
    }
    attrs.push(FeeAttr {
        spec_cd: "390012",
        value: payer_name.to_string(),
    });
    attrs
}

struct Priced {
    fee_price: Option<Decimal>,
    owe_months: Option<Decimal>,
    amount_owed: Option<Decimal>,
    price_error: Option<String>,
}

fn price_or_error(terms: Result<FeeTerms, PricingError>, as_of: NaiveDateTime) -> Priced {
    match terms {
        Ok(t) => {
            let (p, m, a) = priced(&t, as_of);
            Priced {
                fee_price: Some(p),
                owe_months: Some(m),
                amount_owed: Some(a),
                price_error: None,
            }
        }
        Err(e) => Priced {
            fee_price: None,
            owe_months: None,
            amount_owed: None,
            price_error: Some(e.to_string()),
        },
    }
}

/// A room fee as of `as_of`.
pub fn room_fee_view(
    fee: &RoomFee,
    config: &FeeConfig,
    room: &Room,
    as_of: NaiveDateTime,
) -> FeeView {
    let p = price_or_error(super::fee::fee_terms(fee, config, room), as_of);
    let mut fee_attrs = owner_attrs(&fee.owner, &fee.payer_obj_name, fee.deadline_time);
    if let Some(r) = &fee.rent_increase {
        fee_attrs.extend([
            FeeAttr {
                spec_cd: "390014",
                value: r.rate_cycle.to_string(),
            },
            FeeAttr {
                spec_cd: "390015",
                value: r.rate.to_string(),
            },
            FeeAttr {
                spec_cd: "390016",
                value: crate::time::format_date(r.rate_start_time.date()),
            },
        ]);
    }
    FeeView {
        fee_id: fee.fee_id.clone(),
        config_id: fee.config_id.clone(),
        fee_name: config.fee_name.clone(),
        fee_type_cd: fee.fee_type_cd.clone(),
        fee_flag: fee.fee_flag,
        state: fee.state,
        computing_formula: config.computing_formula.clone(),
        payment_cd: config.payment_cd,
        payment_cycle: config.payment_cycle,
        start_time: fee.start_time,
        end_time: fee.end_time,
        deadline_time: fee.deadline_time,
        fee_price: p.fee_price,
        owe_months: p.owe_months,
        amount_owed: p.amount_owed,
        price_error: p.price_error,
        payer_obj_id: fee.payer_obj_id.clone(),
        payer_obj_type: PAYER_OBJ_TYPE_ROOM,
        payer_obj_name: fee.payer_obj_name.clone(),
        income_obj_id: fee.income_obj_id.clone(),
        batch_id: fee.batch_id.clone(),
        bill_rule_id: None,
        owner_id: fee.owner.owner_id.clone(),
        owner_name: fee.owner.owner_name.clone(),
        owner_tel: fee.owner.owner_tel.clone(),
        rate_cycle: fee.rent_increase.as_ref().map(|r| r.rate_cycle),
        rate: fee.rent_increase.as_ref().map(|r| r.rate),
        rate_start_time: fee.rent_increase.as_ref().map(|r| r.rate_start_time),
        fee_attrs,
    }
}

/// One monthly fee of a bill rule as of `as_of`.
pub fn bill_month_view(
    rule: &BillRule,
    month: &BillMonth,
    config: &FeeConfig,
    room: &Room,
    as_of: NaiveDateTime,
) -> FeeView {
    let terms = rule.month_terms(month, config, room);
    let (state, end_time, deadline) = match &terms {
        Ok(t) => (t.state, t.paid_through, t.deadline),
        Err(_) => (
            rule.state,
            month.start,
            month.end - chrono::TimeDelta::seconds(1),
        ),
    };
    let p = price_or_error(terms, as_of);
    FeeView {
        fee_id: month.fee_id.clone(),
        config_id: rule.config_id.clone(),
        fee_name: config.fee_name.clone(),
        fee_type_cd: rule.fee_type_cd.clone(),
        fee_flag: FeeFlag::OneOff,
        state,
        computing_formula: config.computing_formula.clone(),
        payment_cd: config.payment_cd,
        payment_cycle: 1,
        start_time: month.start,
        end_time,
        deadline_time: deadline,
        fee_price: p.fee_price,
        owe_months: p.owe_months,
        amount_owed: p.amount_owed,
        price_error: p.price_error,
        payer_obj_id: rule.payer_obj_id.clone(),
        payer_obj_type: PAYER_OBJ_TYPE_ROOM,
        payer_obj_name: rule.payer_obj_name.clone(),
        income_obj_id: rule.income_obj_id.clone(),
        batch_id: rule.batch_id.clone(),
        bill_rule_id: Some(rule.rule_id.clone()),
        owner_id: rule.owner.owner_id.clone(),
        owner_name: rule.owner.owner_name.clone(),
        owner_tel: rule.owner.owner_tel.clone(),
        rate_cycle: None,
        rate: None,
        rate_start_time: None,
        fee_attrs: owner_attrs(&rule.owner, &rule.payer_obj_name, deadline),
    }
}

/// Every fee of `fees` and every monthly fee `rules` yield as of `as_of`, each with its config
/// and room looked up; fees whose config or room is unknown are left out. Room fees come first
/// in (startTime, feeId) order, then the bill rules' months in (ruleId, month) order.
pub fn fee_views<'a>(
    fees: &[RoomFee],
    rules: &[BillRule],
    config_of: impl Fn(&str, &str) -> Option<&'a FeeConfig>,
    room_of: impl Fn(&str, &str) -> Option<&'a Room>,
    as_of: NaiveDateTime,
) -> Vec<FeeView> {
    let mut sorted: Vec<&RoomFee> = fees.iter().collect();
    sorted.sort_by(|a, b| (a.start_time, &a.fee_id).cmp(&(b.start_time, &b.fee_id)));
    let mut out = Vec::new();
    for fee in sorted {
        if let (Some(c), Some(r)) = (
            config_of(&fee.community_id, &fee.config_id),
            room_of(&fee.community_id, &fee.payer_obj_id),
        ) {
            out.push(room_fee_view(fee, c, r, as_of));
        }
    }
    let mut rules: Vec<&BillRule> = rules.iter().collect();
    rules.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
    for rule in rules {
        if let (Some(c), Some(r)) = (
            config_of(&rule.community_id, &rule.config_id),
            room_of(&rule.community_id, &rule.payer_obj_id),
        ) {
            for month in rule.months_as_of(c, as_of) {
                out.push(bill_month_view(rule, &month, c, r, as_of));
            }
        }
    }
    out
}
