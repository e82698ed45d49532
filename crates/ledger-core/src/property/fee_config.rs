//! Fee configs (收费项目): creation and the seed 002 update, decided on the community's state.

use super::arrears::Rounding;
use super::codes::{BillType, ConfigState, FeeFlag, PaymentCd, Scale};
use super::events::{FeeConfigCreated, FeeConfigUpdated};
use super::fee::{PropertyState, config_update_effects};
use crate::event::Event;
use crate::money::Money;
use crate::rejection::Rejection;
use chrono::NaiveDateTime;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A fee config as the ledger keeps it: every field validated and in canonical codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeeConfig {
    pub community_id: String,
    pub config_id: String,
    pub fee_type_cd: String,
    pub fee_name: String,
    pub fee_flag: FeeFlag,
    /// Start of billing, inclusive (a date alone means 00:00:00).
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub start_time: NaiveDateTime,
    /// End of billing, inclusive (a date alone means 23:59:59).
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub end_time: NaiveDateTime,
    /// A formula code (1001…) or an arithmetic expression over named variables.
    pub computing_formula: String,
    pub square_price: Money,
    pub additional_amount: Money,
    pub bill_type: BillType,
    pub payment_cd: PaymentCd,
    pub payment_cycle: u32,
    pub state: ConfigState,
    /// 进位方式: how owed amounts are rounded (1 half-up, 3 up, 4 down); absent: half-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
    /// 小数位: digits owed amounts are rounded to; absent: 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal_place: Option<u32>,
    /// 预付期, days: the next cycle falls due this many days before the paid-through date;
    /// absent: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepayment_period: Option<u32>,
}

impl FeeConfig {
    /// The rounding of owed amounts (upstream `MoneyUtil.computePriceScale`).
    pub fn rounding(&self) -> Rounding {
        let default = Rounding::default();
        Rounding {
            scale: self.scale.unwrap_or(default.scale),
            places: self.decimal_place.unwrap_or(default.places),
        }
    }
}

/// The body of `fee_config.update` (seed 002): every listed field is required except `state`;
/// `paymentCd`/`paymentCycle`/`scale`/`decimalPlace`/`prepaymentPeriod` keep their stored
/// values when absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeConfigUpdate {
    pub community_id: String,
    pub config_id: String,
    pub fee_type_cd: String,
    pub fee_name: String,
    pub fee_flag: FeeFlag,
    pub start_time: NaiveDateTime,
    pub end_time: NaiveDateTime,
    pub computing_formula: String,
    pub square_price: Money,
    pub additional_amount: Money,
    pub bill_type: BillType,
    pub payment_cd: Option<PaymentCd>,
    pub payment_cycle: Option<u32>,
    pub state: Option<ConfigState>,
    pub scale: Option<Scale>,
    pub decimal_place: Option<u32>,
    pub prepayment_period: Option<u32>,
}

/// Fee configs of the communities of one partition, by (communityId, configId).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeeConfigs {
    by_id: BTreeMap<(String, String), FeeConfig>,
}

impl FeeConfigs {
    pub fn get(&self, community_id: &str, config_id: &str) -> Option<&FeeConfig> {
        self.by_id
            .get(&(community_id.to_string(), config_id.to_string()))
    }

    /// Fee configs of a community named `fee_name`.
    pub fn named<'a, 'b>(
        &'a self,
        community_id: &'b str,
        fee_name: &'b str,
    ) -> impl Iterator<Item = &'a FeeConfig> + 'b
    where
        'a: 'b,
    {
        self.by_id
            .values()
            .filter(move |c| c.community_id == community_id && c.fee_name == fee_name)
    }

    pub fn put(&mut self, config: FeeConfig) {
        self.by_id.insert(
            (config.community_id.clone(), config.config_id.clone()),
            config,
        );
    }
}

/// Checks rules that span fields; per-field formats are the wire decoder's job.
fn check_config(config: &FeeConfig) -> Result<(), Rejection> {
    if config.end_time < config.start_time {
        return Err(Rejection::invalid(
            "endTime",
            "计费终止时间不能早于计费起始时间 (endTime is before startTime)",
        ));
    }
    if config.square_price.is_negative() {
        return Err(Rejection::invalid(
            "squarePrice",
            "计费单价不能为负数 (squarePrice is negative)",
        ));
    }
    if config.additional_amount.is_negative() {
        return Err(Rejection::invalid(
            "additionalAmount",
            "附加费用不能为负数 (additionalAmount is negative)",
        ));
    }
    if config.payment_cycle == 0 {
        return Err(Rejection::invalid(
            "paymentCycle",
            "缴费周期必须大于0 (paymentCycle must be at least 1)",
        ));
    }
    Ok(())
}

/// saveFeeConfig: a config id may be used once per community.
pub fn decide_create(configs: &FeeConfigs, config: &FeeConfig) -> Result<Vec<Event>, Rejection> {
    check_config(config)?;
    if configs
        .get(&config.community_id, &config.config_id)
        .is_some()
    {
        return Err(Rejection::Conflict {
            message: format!("费用项已存在 (configId {} exists)", config.config_id),
        });
    }
    Ok(vec![
        FeeConfigCreated {
            config: config.clone(),
        }
        .into(),
    ])
}

/// updateFeeConfig (seed 002): the config must exist for configId + communityId. The event lists
/// the fees the update changes (see [`config_update_effects`]).
pub fn decide_update(
    configs: &FeeConfigs,
    fees: &PropertyState,
    update: &FeeConfigUpdate,
) -> Result<Vec<Event>, Rejection> {
    let Some(current) = configs.get(&update.community_id, &update.config_id) else {
        return Err(Rejection::NotFound {
            message: "未找到该费用项".into(),
        });
    };
    let config = FeeConfig {
        community_id: update.community_id.clone(),
        config_id: update.config_id.clone(),
        fee_type_cd: update.fee_type_cd.clone(),
        fee_name: update.fee_name.clone(),
        fee_flag: update.fee_flag,
        start_time: update.start_time,
        end_time: update.end_time,
        computing_formula: update.computing_formula.clone(),
        square_price: update.square_price,
        additional_amount: update.additional_amount,
        bill_type: update.bill_type,
        payment_cd: update.payment_cd.unwrap_or(current.payment_cd),
        payment_cycle: update.payment_cycle.unwrap_or(current.payment_cycle),
        // Upstream stores NA as N; the config's fees still finish (config_update_effects).
        state: match update.state.unwrap_or(current.state) {
            ConfigState::Unavailable => ConfigState::Normal,
            other => other,
        },
        scale: update.scale.or(current.scale),
        decimal_place: update.decimal_place.or(current.decimal_place),
        prepayment_period: update.prepayment_period.or(current.prepayment_period),
    };
    check_config(&config)?;
    let (finished_fee_ids, finished_bill_rule_ids, fee_flag_fee_ids) =
        config_update_effects(fees, current, &config, update.state);
    Ok(vec![
        FeeConfigUpdated {
            config,
            finished_fee_ids,
            finished_bill_rule_ids,
            fee_flag_fee_ids,
        }
        .into(),
    ])
}
