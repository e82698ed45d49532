//! Room fees (seed 004 saveRoomCreateFee), bill rules (bill mode, community setting
//! PAY_FEE_MONTH), payments (fee.payFee) and the side effects of updateFeeConfig on fees.
//!
//! A fee stores only its own inputs (dates, flag, state, rate attributes); its price and arrears
//! are derived from the fee, its config and its room whenever they are asked for, so arrears as
//! of any instant follow from what is stored.

use super::arrears::{FeeTerms, RentRate};
use super::codes::{ConfigState, FeeFlag, FeeState, PaymentCd, SettingKey, SettingValue, Switch};
use super::events::{
    BillRuleCreated, CommunitySettingSaved, FeeConfigUpdated, FeePaid, RoomFeeCreated, RoomSaved,
};
use super::fee_config::{FeeConfig, FeeConfigs};
use super::formula::Formula;
use super::payment::{PayError, PayRequest, pay};
use super::pricing::{PriceInputs, PricingError, monthly_price};
use super::room::{Owner, Room};
use super::time::{add_months, day_compare};
use crate::command::{DecideContext, derived_id};
use crate::event::Event;
use crate::money::Money;
use crate::rejection::Rejection;
use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Upstream payer object type of a room.
pub const PAYER_OBJ_TYPE_ROOM: &str = "3333";

/// The rent-increase attributes of a 1102 fee (390014/390015/390016).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RentIncrease {
    /// 递增周期, months between increases.
    pub rate_cycle: u32,
    /// 递增率: 0.05 = 5%.
    pub rate: Decimal,
    /// 递增开始时间: when the first increase takes effect.
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub rate_start_time: NaiveDateTime,
}

/// A fee on a room (upstream pay_fee plus its attributes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomFee {
    pub community_id: String,
    pub fee_id: String,
    pub batch_id: String,
    pub config_id: String,
    /// The room id (收费对象).
    pub payer_obj_id: String,
    /// The room number, shown as the payer's name (attribute 390012).
    pub payer_obj_name: String,
    /// 商户ID (storeId).
    pub income_obj_id: String,
    pub fee_type_cd: String,
    pub fee_flag: FeeFlag,
    pub state: FeeState,
    /// 计费起始时间.
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub start_time: NaiveDateTime,
    /// Paid through, exclusive (upstream endTime); equals startTime while nothing is paid.
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub end_time: NaiveDateTime,
    /// Inclusive deadline (attribute 390010): the request's endTime. Arrears and payments stop
    /// here.
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub deadline_time: NaiveDateTime,
    /// Upstream pay_fee.max_time: the config's end for periodic configs, else the request's
    /// endTime.
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub max_end_time: NaiveDateTime,
    /// The fee's own monthly amount (formulas 4004/8008); upstream stores -1.00 for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// The room's owner when the fee was created (attributes 390007/8/9).
    pub owner: Owner,
    /// Present for formula 1102.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rent_increase: Option<RentIncrease>,
}

/// A bill rule (upstream pay_fee_rule): in bill mode a periodic or intermittent room fee is
/// stored as a rule that yields one one-off fee per bill of `month_cycle` calendar months
/// (PAY_FEE_MONTH_CYCLE) from its start up to its `max_time` (upstream
/// `CycleConvertOnceFeeImpl`). A bill exists once its start is before the rule's target as of
/// now (postpaid: the months that are over; prepaid: the current one; see [`BillRule::target`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillRule {
    pub community_id: String,
    pub rule_id: String,
    pub batch_id: String,
    pub config_id: String,
    pub payer_obj_id: String,
    pub payer_obj_name: String,
    pub income_obj_id: String,
    pub fee_type_cd: String,
    /// In progress, or finished (its config became NA): then every month is finished.
    pub state: FeeState,
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub start_time: NaiveDateTime,
    /// Inclusive deadline: the request's endTime.
    #[serde(with = "crate::time::business")]
    #[schemars(schema_with = "crate::time::business::schema")]
    pub deadline_time: NaiveDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    pub owner: Owner,
    /// Upstream pay_fee_rule.max_time: the config's end for a periodic config, else the
    /// request's endTime. Absent in rules created before it was recorded: the deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(with = "crate::time::business_optional")]
    #[schemars(schema_with = "crate::time::business_optional::schema")]
    pub max_time: Option<NaiveDateTime>,
    /// Months per bill (PAY_FEE_MONTH_CYCLE when the rule was created); absent: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month_cycle: Option<u32>,
    /// Months (yyyyMM) whose fee has been paid.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub paid_months: BTreeSet<String>,
}

/// One month's fee of a bill rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillMonth {
    /// `{ruleId}-{yyyyMM}`.
    pub fee_id: String,
    /// yyyyMM.
    pub month: String,
    /// The month's first instant, or the rule's start in its first month.
    pub start: NaiveDateTime,
    /// Exclusive end: the next month's first instant, or just after the deadline.
    pub end: NaiveDateTime,
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists in every month")
}

impl BillRule {
    /// Months per bill, at least 1.
    pub fn cycle(&self) -> u32 {
        self.month_cycle.unwrap_or(1).max(1)
    }

    /// The end of billing: `max_time` (date only, as upstream parses it), else the deadline.
    fn max_date(&self) -> NaiveDateTime {
        self.max_time
            .unwrap_or(self.deadline_time)
            .date()
            .and_time(NaiveTime::MIN)
    }

    /// Upstream `computeTargetEndTime` as of `now`: bills start before this instant. The rule's
    /// own endTime stays its start date, so the next cycle is due from the start once the
    /// prepayment period has begun (a postpaid rule bills its first month at once).
    pub fn target(&self, config: &FeeConfig, now: NaiveDateTime) -> NaiveDateTime {
        let start = self.start_time.date().and_time(NaiveTime::MIN);
        let pre_end = start
            .checked_sub_signed(TimeDelta::days(i64::from(
                config.prepayment_period.unwrap_or(0),
            )))
            .unwrap_or(NaiveDateTime::MIN);
        let cycle = Decimal::from(config.payment_cycle.max(1));
        let mut rounds = (day_compare(start, now) / cycle).floor();
        if config.payment_cd == PaymentCd::Prepaid {
            rounds += Decimal::ONE;
        }
        let mut target = add_months(start, rounds * cycle);
        if target.date() == start.date() && now > pre_end {
            target = add_months(start, (rounds + Decimal::ONE) * cycle);
        }
        target.min(self.max_date()).max(start)
    }

    fn bill_at(&self, first: NaiveDate) -> Option<BillMonth> {
        let rule_start = self.start_time.date().and_time(NaiveTime::MIN);
        let month_start = first.and_time(NaiveTime::MIN);
        let next = first
            .checked_add_months(Months::new(self.cycle()))?
            .and_time(NaiveTime::MIN);
        let start = month_start.max(rule_start);
        let end = next.min(self.max_date());
        (start < end).then(|| {
            let month = format!("{:04}{:02}", first.year(), first.month());
            BillMonth {
                fee_id: format!("{}-{month}", self.rule_id),
                month,
                start,
                end,
            }
        })
    }

    /// The bills that exist as of `now`: every bill starting before the target.
    pub fn months_as_of(&self, config: &FeeConfig, now: NaiveDateTime) -> Vec<BillMonth> {
        let target = self.target(config, now);
        let mut out = Vec::new();
        let mut first = first_of_month(self.start_time.date());
        while let Some(bill) = self.bill_at(first) {
            if bill.start >= target {
                break;
            }
            out.push(bill);
            match first.checked_add_months(Months::new(self.cycle())) {
                Some(next) => first = next,
                None => break,
            }
        }
        out
    }

    /// The bill a fee id `{ruleId}-{yyyyMM}` names, when it is one of the rule's bills.
    pub fn month_of_fee_id(&self, fee_id: &str) -> Option<BillMonth> {
        let (rule_id, month) = fee_id.rsplit_once('-')?;
        if rule_id != self.rule_id || month.len() != 6 {
            return None;
        }
        let first = NaiveDate::parse_from_str(&format!("{month}01"), "%Y%m%d").ok()?;
        let start_first = first_of_month(self.start_time.date());
        let apart = (first.year() - start_first.year()) * 12 + first.month() as i32
            - start_first.month() as i32;
        if apart < 0 || apart % self.cycle() as i32 != 0 {
            return None;
        }
        self.bill_at(first)
    }

    /// A bill's terms: a one-off fee owing the config's monthly price × `month_cycle` (no
    /// proration of a partial first month) from its start, upstream's one-off rule.
    pub fn month_terms(
        &self,
        month: &BillMonth,
        config: &FeeConfig,
        room: &Room,
    ) -> Result<FeeTerms, PricingError> {
        let formula = Formula::parse(&config.computing_formula)?;
        let price = monthly_price(&formula, &price_inputs(config, room, self.amount))?;
        let paid = self.paid_months.contains(&month.month);
        let finished = paid || self.state == FeeState::Finished;
        let deadline = month.end - TimeDelta::seconds(1);
        Ok(FeeTerms {
            start: month.start,
            paid_through: if paid { month.end } else { month.start },
            deadline,
            max_end: deadline,
            fee_flag: FeeFlag::OneOff,
            payment_cd: config.payment_cd,
            payment_cycle_months: 1,
            state: if finished {
                FeeState::Finished
            } else {
                FeeState::InProgress
            },
            monthly_price: price,
            rent_rate: None,
            prepayment_days: config.prepayment_period.unwrap_or(0),
            rounding: config.rounding(),
            month_cycle: self.cycle(),
        })
    }
}

/// What a formula reads, from the config, the room and the fee's own amount.
pub fn price_inputs(config: &FeeConfig, room: &Room, amount: Option<Money>) -> PriceInputs {
    PriceInputs {
        square_price: config.square_price.yuan(),
        additional_amount: config.additional_amount.yuan(),
        built_up_area: room.built_up_area,
        room_area: room.room_area,
        room_rent: room.room_rent.yuan(),
        fee_amount: amount.map(Money::yuan),
    }
}

/// A room fee's billing terms, its price derived from its config and room as they are now.
pub fn fee_terms(fee: &RoomFee, config: &FeeConfig, room: &Room) -> Result<FeeTerms, PricingError> {
    let formula = Formula::parse(&config.computing_formula)?;
    let price = monthly_price(&formula, &price_inputs(config, room, fee.amount))?;
    let rent_rate = match (&fee.rent_increase, formula.needs_rate()) {
        (Some(r), true) => Some(RentRate {
            rate: r.rate,
            cycle_months: r.rate_cycle,
            start: r.rate_start_time,
        }),
        _ => None,
    };
    Ok(FeeTerms {
        start: fee.start_time,
        paid_through: fee.end_time,
        deadline: fee.deadline_time,
        max_end: fee.max_end_time,
        fee_flag: fee.fee_flag,
        payment_cd: config.payment_cd,
        payment_cycle_months: config.payment_cycle,
        state: fee.state,
        monthly_price: price,
        rent_rate,
        prepayment_days: config.prepayment_period.unwrap_or(0),
        rounding: config.rounding(),
        month_cycle: 1,
    })
}

/// The body of `room_fee.create` (seed 004), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomFeeCreate {
    pub community_id: String,
    /// locationObjId: the room.
    pub room_id: String,
    pub config_id: String,
    pub store_id: String,
    pub start_time: NaiveDateTime,
    /// Inclusive; a date alone was given 23:59:59.
    pub end_time: NaiveDateTime,
    pub rate_cycle: Option<u32>,
    pub rate: Option<Decimal>,
    pub rate_start_time: Option<NaiveDateTime>,
    /// The fee's own amount (4004/8008).
    pub amount: Option<Money>,
}

/// The body of `fee.pay`, decoded: what to pay for and what was received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeePay {
    pub community_id: String,
    pub fee_id: String,
    pub request: PayRequest,
    pub received_amount: Money,
    /// 应收金额 as the request states it (a manual reduction, -101/-103/-105 only).
    pub receivable_amount: Option<Money>,
}

/// The body of `community.set_setting`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunitySettingSet {
    pub community_id: String,
    pub key: SettingKey,
    pub value: SettingValue,
}

/// Rooms, fees, bill rules and settings of every community, folded from the log. Keys are
/// (communityId, id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropertyState {
    rooms: BTreeMap<(String, String), Room>,
    fees: BTreeMap<(String, String), RoomFee>,
    rules: BTreeMap<(String, String), BillRule>,
    /// By (communityId, setting key code).
    settings: BTreeMap<(String, &'static str), Switch>,
    /// PAY_FEE_MONTH_CYCLE by communityId: months per bill of the bill rules created next.
    bill_month_cycles: BTreeMap<String, u32>,
}

fn key(community_id: &str, id: &str) -> (String, String) {
    (community_id.to_string(), id.to_string())
}

/// A fee a payment can be made on.
pub enum PayTarget<'a> {
    Fee(&'a RoomFee),
    Month(&'a BillRule, BillMonth),
}

impl PropertyState {
    pub fn room(&self, community_id: &str, room_id: &str) -> Option<&Room> {
        self.rooms.get(&key(community_id, room_id))
    }

    pub fn fee(&self, community_id: &str, fee_id: &str) -> Option<&RoomFee> {
        self.fees.get(&key(community_id, fee_id))
    }

    pub fn rule(&self, community_id: &str, rule_id: &str) -> Option<&BillRule> {
        self.rules.get(&key(community_id, rule_id))
    }

    fn of_community<'a, T>(
        map: &'a BTreeMap<(String, String), T>,
        community_id: &'a str,
    ) -> impl Iterator<Item = &'a T> + 'a {
        map.range(key(community_id, "")..)
            .take_while(move |((c, _), _)| c == community_id)
            .map(|(_, v)| v)
    }

    /// Fees of a config, in feeId order.
    pub fn fees_of_config<'a>(
        &'a self,
        community_id: &'a str,
        config_id: &'a str,
    ) -> impl Iterator<Item = &'a RoomFee> + 'a {
        Self::of_community(&self.fees, community_id).filter(move |f| f.config_id == config_id)
    }

    /// Bill rules of a config, in ruleId order.
    pub fn rules_of_config<'a>(
        &'a self,
        community_id: &'a str,
        config_id: &'a str,
    ) -> impl Iterator<Item = &'a BillRule> + 'a {
        Self::of_community(&self.rules, community_id).filter(move |r| r.config_id == config_id)
    }

    /// Fees billed to a room, in feeId order.
    pub fn fees_of_room<'a>(
        &'a self,
        community_id: &'a str,
        room_id: &'a str,
    ) -> impl Iterator<Item = &'a RoomFee> + 'a {
        Self::of_community(&self.fees, community_id).filter(move |f| f.payer_obj_id == room_id)
    }

    /// Bill rules of a room, in ruleId order.
    pub fn rules_of_room<'a>(
        &'a self,
        community_id: &'a str,
        room_id: &'a str,
    ) -> impl Iterator<Item = &'a BillRule> + 'a {
        Self::of_community(&self.rules, community_id).filter(move |r| r.payer_obj_id == room_id)
    }

    /// Whether the community bills periodic fees month by month (PAY_FEE_MONTH = ON).
    pub fn bill_mode(&self, community_id: &str) -> bool {
        self.settings
            .get(&(community_id.to_string(), SettingKey::PayFeeMonth.code()))
            == Some(&Switch::On)
    }

    /// PAY_FEE_MONTH_CYCLE of a community (months per bill), 1 when unset.
    pub fn bill_month_cycle(&self, community_id: &str) -> u32 {
        self.bill_month_cycles
            .get(community_id)
            .copied()
            .unwrap_or(1)
    }

    /// The fee `fee_id` names: a room fee, or a bill of a bill rule that exists as of `now`.
    pub fn pay_target(
        &self,
        configs: &FeeConfigs,
        community_id: &str,
        fee_id: &str,
        now: NaiveDateTime,
    ) -> Option<PayTarget<'_>> {
        if let Some(fee) = self.fee(community_id, fee_id) {
            return Some(PayTarget::Fee(fee));
        }
        let (rule_id, _) = fee_id.rsplit_once('-')?;
        let rule = self.rule(community_id, rule_id)?;
        let month = rule.month_of_fee_id(fee_id)?;
        let config = configs.get(community_id, &rule.config_id)?;
        (month.start < rule.target(config, now)).then_some(PayTarget::Month(rule, month))
    }

    pub fn apply_room_saved(&mut self, e: &RoomSaved) {
        self.rooms
            .insert(key(&e.room.community_id, &e.room.room_id), e.room.clone());
    }

    pub fn apply_setting(&mut self, e: &CommunitySettingSaved) {
        match e.setting_value {
            SettingValue::Switch(value) => {
                self.settings
                    .insert((e.community_id.clone(), e.setting_key.code()), value);
            }
            SettingValue::Months(months) => {
                self.bill_month_cycles
                    .insert(e.community_id.clone(), months);
            }
        }
    }

    pub fn apply_fee_created(&mut self, e: &RoomFeeCreated) {
        self.fees
            .insert(key(&e.fee.community_id, &e.fee.fee_id), e.fee.clone());
    }

    pub fn apply_rule_created(&mut self, e: &BillRuleCreated) {
        self.rules
            .insert(key(&e.rule.community_id, &e.rule.rule_id), e.rule.clone());
    }

    pub fn apply_paid(&mut self, e: &FeePaid) {
        if let Some(gap) = &e.gap_fee {
            self.fees
                .insert(key(&gap.community_id, &gap.fee_id), (**gap).clone());
        }
        apply_paid_to(
            self.fees.get_mut(&key(&e.community_id, &e.fee_id)),
            e.bill_rule_id
                .as_ref()
                .and_then(|r| self.rules.get_mut(&key(&e.community_id, r))),
            e,
        );
    }

    pub fn apply_config_update(&mut self, e: &FeeConfigUpdated) {
        let community = &e.config.community_id;
        for id in &e.finished_fee_ids {
            if let Some(fee) = self.fees.get_mut(&key(community, id)) {
                fee.state = FeeState::Finished;
            }
        }
        for id in &e.finished_bill_rule_ids {
            if let Some(rule) = self.rules.get_mut(&key(community, id)) {
                rule.state = FeeState::Finished;
            }
        }
        for id in &e.fee_flag_fee_ids {
            if let Some(fee) = self.fees.get_mut(&key(community, id)) {
                fee.fee_flag = e.config.fee_flag;
            }
        }
    }
}

/// Folds a payment into the fee (or the bill rule) it was made on; shared by the decider state
/// and the read models so both fold it alike.
pub fn apply_paid_to(fee: Option<&mut RoomFee>, rule: Option<&mut BillRule>, e: &FeePaid) {
    match (&e.bill_month, fee, rule) {
        (Some(month), _, Some(rule)) => {
            rule.paid_months.insert(month.clone());
        }
        (None, Some(fee), _) => {
            fee.end_time = e.end_time;
            fee.state = e.state;
        }
        _ => {}
    }
}

/// Folds a config update into one fee; shared like [`apply_paid_to`].
pub fn apply_config_update_to_fee(fee: &mut RoomFee, e: &FeeConfigUpdated) {
    if e.finished_fee_ids.contains(&fee.fee_id) {
        fee.state = FeeState::Finished;
    }
    if e.fee_flag_fee_ids.contains(&fee.fee_id) {
        fee.fee_flag = e.config.fee_flag;
    }
}

/// room.saveRoom: creates or replaces the room.
pub fn decide_room_upsert(room: &Room) -> Result<Vec<Event>, Rejection> {
    if room.built_up_area.is_sign_negative() && !room.built_up_area.is_zero() {
        return Err(Rejection::invalid(
            "builtUpArea",
            "建筑面积不能为负数 (builtUpArea is negative)",
        ));
    }
    if room.room_area.is_sign_negative() && !room.room_area.is_zero() {
        return Err(Rejection::invalid(
            "roomArea",
            "室内面积不能为负数 (roomArea is negative)",
        ));
    }
    Ok(vec![RoomSaved { room: room.clone() }.into()])
}

/// Saves a community setting.
pub fn decide_setting(cmd: &CommunitySettingSet) -> Result<Vec<Event>, Rejection> {
    Ok(vec![
        CommunitySettingSaved {
            community_id: cmd.community_id.clone(),
            setting_key: cmd.key,
            setting_value: cmd.value,
        }
        .into(),
    ])
}

fn price_refusal(e: PricingError) -> Rejection {
    match e {
        PricingError::MissingFeeAmount(code) => Rejection::invalid(
            "amount",
            format!("公式{code}需要费用金额 (formula {code} needs the fee's own amount)"),
        ),
        other => Rejection::Refused {
            message: format!("费用金额无法计算 (the monthly price cannot be computed: {other})"),
        },
    }
}

/// saveRoomCreateFee (seed 004), checks in upstream order: the config, the 1102 rate fields,
/// the room and its owner.
pub fn decide_room_fee_create(
    configs: &FeeConfigs,
    state: &PropertyState,
    cmd: &RoomFeeCreate,
    ctx: &DecideContext<'_>,
) -> Result<Vec<Event>, Rejection> {
    let Some(config) = configs.get(&cmd.community_id, &cmd.config_id) else {
        return Err(Rejection::NotFound {
            message: "当前费用项ID不存在或存在多条".into(),
        });
    };
    let formula = Formula::parse(&config.computing_formula)
        .map_err(|e| price_refusal(PricingError::Formula(e)))?;
    let rent_increase = if formula.needs_rate() {
        let rate_cycle = cmd
            .rate_cycle
            .ok_or_else(|| Rejection::missing("rateCycle", "未包含递增周期"))?;
        let rate = cmd
            .rate
            .ok_or_else(|| Rejection::missing("rate", "未包含递增率"))?;
        let rate_start_time = cmd
            .rate_start_time
            .ok_or_else(|| Rejection::missing("rateStartTime", "未包含递增开始时间"))?;
        Some(RentIncrease {
            rate_cycle,
            rate,
            rate_start_time,
        })
    } else {
        None
    };
    let room = state.room(&cmd.community_id, &cmd.room_id);
    let Some((room, owner)) = room.and_then(|r| r.owner.as_ref().map(|o| (r, o))) else {
        return Err(Rejection::NotFound {
            message: "未查到需要付费的房屋或未绑定业主".into(),
        });
    };
    if cmd.end_time < cmd.start_time {
        return Err(Rejection::invalid(
            "endTime",
            "计费结束时间不能早于计费起始时间 (endTime is before startTime)",
        ));
    }
    monthly_price(&formula, &price_inputs(config, room, cmd.amount)).map_err(price_refusal)?;

    let batch_id = derived_id("12", ctx.command_id, "batchId");
    // Upstream splits periodic and intermittent fees (only one-off ones are excluded) unless
    // the formula is 1102.
    let bill_mode = state.bill_mode(&cmd.community_id)
        && matches!(config.fee_flag, FeeFlag::Periodic | FeeFlag::Intermittent)
        && !formula.needs_rate();
    let max_time = if config.fee_flag == FeeFlag::Periodic {
        config.end_time
    } else {
        cmd.end_time
    };
    if bill_mode {
        let rule = BillRule {
            community_id: cmd.community_id.clone(),
            rule_id: derived_id("95", ctx.command_id, "ruleId"),
            batch_id,
            config_id: config.config_id.clone(),
            payer_obj_id: room.room_id.clone(),
            payer_obj_name: room.room_num.clone(),
            income_obj_id: cmd.store_id.clone(),
            fee_type_cd: config.fee_type_cd.clone(),
            state: FeeState::InProgress,
            start_time: cmd.start_time,
            deadline_time: cmd.end_time,
            amount: cmd.amount,
            owner: owner.clone(),
            max_time: Some(max_time),
            month_cycle: Some(state.bill_month_cycle(&cmd.community_id)),
            paid_months: BTreeSet::new(),
        };
        return Ok(vec![BillRuleCreated { rule }.into()]);
    }
    let fee = RoomFee {
        community_id: cmd.community_id.clone(),
        fee_id: derived_id("90", ctx.command_id, "feeId"),
        batch_id,
        config_id: config.config_id.clone(),
        payer_obj_id: room.room_id.clone(),
        payer_obj_name: room.room_num.clone(),
        income_obj_id: cmd.store_id.clone(),
        fee_type_cd: config.fee_type_cd.clone(),
        fee_flag: config.fee_flag,
        state: FeeState::InProgress,
        start_time: cmd.start_time,
        end_time: cmd.start_time,
        deadline_time: cmd.end_time,
        max_end_time: max_time,
        amount: cmd.amount,
        owner: owner.clone(),
        rent_increase,
    };
    Ok(vec![RoomFeeCreated { fee }.into()])
}

/// Money shown with at least its 2 decimals (a stated amount may carry more).
fn at_least_cents(mut x: Decimal) -> Decimal {
    if x.scale() < 2 {
        x.rescale(2);
    }
    x
}

fn pay_refusal(e: PayError) -> Rejection {
    match e {
        PayError::InvalidCycles => Rejection::invalid("cycles", e.to_string()),
        PayError::InvalidPeriod => Rejection::invalid("customStartTime", e.to_string()),
        PayError::Finished | PayError::PastDeadline | PayError::PastMaxEnd => Rejection::Refused {
            message: e.to_string(),
        },
    }
}

/// The config a -105 gap fee is created under (upstream `validateIfPayFeeStartEndDate` and
/// `doChangeConfigId`): the fee's own config when periodic, else the one periodic config
/// named "{feeName}欠费".
fn gap_config<'a>(
    configs: &'a FeeConfigs,
    config: &'a FeeConfig,
) -> Result<&'a FeeConfig, Rejection> {
    if config.fee_flag == FeeFlag::Periodic {
        return Ok(config);
    }
    let name = format!("{}欠费", config.fee_name);
    let found: Vec<&FeeConfig> = configs
        .named(&config.community_id, &name)
        .filter(|c| c.fee_flag == FeeFlag::Periodic)
        .collect();
    match found.as_slice() {
        [only] => Ok(only),
        _ => Err(Rejection::Refused {
            message: format!(
                "按自定义时间段缴费时，费用必须为周期性，或者存在名称为 {0}欠费 的周期性费用，它的公式计算必须要和{0}一致",
                config.fee_name
            ),
        }),
    }
}

/// fee.payFee: the fee must exist and be in progress; numeric cycles (months) must stay
/// within the deadline (+1 day, upstream's tolerance). Any received amount is accepted and
/// recorded beside the receivable.
pub fn decide_pay(
    configs: &FeeConfigs,
    state: &PropertyState,
    cmd: &FeePay,
    ctx: &DecideContext<'_>,
) -> Result<Vec<Event>, Rejection> {
    let Some(target) = state.pay_target(configs, &cmd.community_id, &cmd.fee_id, ctx.now) else {
        return Err(Rejection::NotFound {
            message: "传入费用ID错误".into(),
        });
    };
    let (config_id, room_id, finished) = match &target {
        PayTarget::Fee(f) => (&f.config_id, &f.payer_obj_id, f.state == FeeState::Finished),
        PayTarget::Month(r, m) => (
            &r.config_id,
            &r.payer_obj_id,
            r.state == FeeState::Finished || r.paid_months.contains(&m.month),
        ),
    };
    if finished {
        return Err(pay_refusal(PayError::Finished));
    }
    let Some(config) = configs.get(&cmd.community_id, config_id) else {
        return Err(Rejection::NotFound {
            message: "费用项不存在".into(),
        });
    };
    let Some(room) = state.room(&cmd.community_id, room_id) else {
        return Err(Rejection::NotFound {
            message: "未查到需要付费的房屋或未绑定业主".into(),
        });
    };
    let gap_config = match (&cmd.request, &target) {
        (PayRequest::Period { .. }, _) => Some(gap_config(configs, config)?),
        _ => None,
    };
    let terms = match &target {
        PayTarget::Fee(f) => fee_terms(f, config, room),
        PayTarget::Month(r, m) => r.month_terms(m, config, room),
    }
    .map_err(price_refusal)?;
    let outcome = pay(
        &terms,
        &cmd.request,
        cmd.received_amount.yuan(),
        cmd.receivable_amount.map(Money::yuan),
    )
    .map_err(pay_refusal)?;
    let (bill_rule_id, bill_month) = match &target {
        PayTarget::Fee(_) => (None, None),
        PayTarget::Month(r, m) => (Some(r.rule_id.clone()), Some(m.month.clone())),
    };
    let gap_fee = match (&outcome.gap, gap_config, &target) {
        (Some(gap), Some(gap_config), PayTarget::Fee(fee)) => Some(Box::new(RoomFee {
            fee_id: derived_id("90", ctx.command_id, "gapFeeId"),
            config_id: gap_config.config_id.clone(),
            fee_flag: FeeFlag::Periodic,
            state: FeeState::InProgress,
            end_time: gap.start,
            deadline_time: gap.deadline,
            ..(*fee).clone()
        })),
        (Some(gap), Some(gap_config), PayTarget::Month(rule, month)) => Some(Box::new(RoomFee {
            community_id: rule.community_id.clone(),
            fee_id: derived_id("90", ctx.command_id, "gapFeeId"),
            batch_id: rule.batch_id.clone(),
            config_id: gap_config.config_id.clone(),
            payer_obj_id: rule.payer_obj_id.clone(),
            payer_obj_name: rule.payer_obj_name.clone(),
            income_obj_id: rule.income_obj_id.clone(),
            fee_type_cd: rule.fee_type_cd.clone(),
            fee_flag: FeeFlag::Periodic,
            state: FeeState::InProgress,
            start_time: month.start,
            end_time: gap.start,
            deadline_time: gap.deadline,
            max_end_time: gap_config.end_time,
            amount: rule.amount,
            owner: rule.owner.clone(),
            rent_increase: None,
        })),
        _ => None,
    };
    Ok(vec![
        FeePaid {
            community_id: cmd.community_id.clone(),
            fee_id: cmd.fee_id.clone(),
            detail_id: derived_id("80", ctx.command_id, "detailId"),
            bill_rule_id,
            bill_month,
            cycles: outcome.cycles,
            receivable_amount: Money::new(at_least_cents(outcome.receivable)),
            received_amount: cmd.received_amount,
            start_time: outcome.paid_from,
            end_time: outcome.new_paid_through,
            state: if outcome.finished {
                FeeState::Finished
            } else {
                FeeState::InProgress
            },
            pay_time: ctx.now,
            gap_fee,
        }
        .into(),
    ])
}

/// The fee-side effects of updateFeeConfig, as listed in `fee_config.updated`: state NA
/// finishes every fee (and bill rule) of the config still in progress; a changed feeFlag is
/// copied onto the config's fees only when no bill rule is linked to the config.
pub fn config_update_effects(
    state: &PropertyState,
    current: &FeeConfig,
    updated: &FeeConfig,
    requested_state: Option<ConfigState>,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let community = updated.community_id.as_str();
    let config_id = updated.config_id.as_str();
    let (mut finished_fees, mut finished_rules) = (Vec::new(), Vec::new());
    if requested_state == Some(ConfigState::Unavailable) {
        finished_fees = state
            .fees_of_config(community, config_id)
            .filter(|f| f.state != FeeState::Finished)
            .map(|f| f.fee_id.clone())
            .collect();
        finished_rules = state
            .rules_of_config(community, config_id)
            .filter(|r| r.state != FeeState::Finished)
            .map(|r| r.rule_id.clone())
            .collect();
    }
    let has_rule = state.rules_of_config(community, config_id).next().is_some();
    let flag_fees = if updated.fee_flag != current.fee_flag && !has_rule {
        state
            .fees_of_config(community, config_id)
            .filter(|f| f.fee_flag != updated.fee_flag)
            .map(|f| f.fee_id.clone())
            .collect()
    } else {
        Vec::new()
    };
    (finished_fees, finished_rules, flag_fees)
}

/// Row access for the keyed decider state (`crate::keyed`): one entity at a time.
impl PropertyState {
    pub(crate) fn put_room(&mut self, room: Room) {
        self.rooms
            .insert(key(&room.community_id, &room.room_id), room);
    }

    pub(crate) fn put_fee(&mut self, fee: RoomFee) {
        self.fees.insert(key(&fee.community_id, &fee.fee_id), fee);
    }

    pub(crate) fn put_rule(&mut self, rule: BillRule) {
        self.rules
            .insert(key(&rule.community_id, &rule.rule_id), rule);
    }

    pub(crate) fn setting(&self, community_id: &str, setting: SettingKey) -> Option<Switch> {
        self.settings
            .get(&(community_id.to_string(), setting.code()))
            .copied()
    }

    pub(crate) fn put_setting(&mut self, community_id: &str, setting: SettingKey, value: Switch) {
        self.settings
            .insert((community_id.to_string(), setting.code()), value);
    }

    /// The community's PAY_FEE_MONTH_CYCLE as stored (None: never set).
    pub(crate) fn month_cycles(&self, community_id: &str) -> Option<u32> {
        self.bill_month_cycles.get(community_id).copied()
    }

    pub(crate) fn put_month_cycles(&mut self, community_id: &str, months: u32) {
        self.bill_month_cycles
            .insert(community_id.to_string(), months);
    }
}
