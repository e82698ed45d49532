//! Tariff commands: configure (`POST /api/fee/config/:id`), edit (`PUT /api/bill/fee/edit/:id`)
//! and enable/disable (`POST /api/bill/fee/manage/state/:id`), decided on the tariffs already
//! configured.

use super::events::{TariffConfigured, TariffEdited, TariffStateChanged};
use super::state::CallCenterState;
use super::tariff::{CallFeeRule, DiscountRule, Tariff};
use crate::event::Event;
use crate::rejection::Rejection;
use chrono::NaiveDateTime;
use rust_decimal::Decimal;

/// `tariff.edit`: the fields the edit body carries; `None` keeps the stored value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TariffChanges {
    pub workplace_id: Option<i64>,
    pub operator_code: Option<i64>,
    pub line_batch: Option<String>,
    pub line_quantity: Option<u32>,
    pub did: Option<String>,
    pub number_detail: Option<String>,
    pub minimum_charge_unit_price: Option<Decimal>,
    pub minimum_charge_total_price: Option<Decimal>,
    pub month_rent_fee: Option<Decimal>,
    pub number_use_fee: Option<Decimal>,
    pub caller_identify_fee: Option<Decimal>,
    pub ring_fee: Option<Decimal>,
    pub fee_remark: Option<String>,
    pub take_effect_time: Option<NaiveDateTime>,
    pub invalid_time: Option<NaiveDateTime>,
    pub call_fee: Option<Vec<CallFeeRule>>,
    pub discounts: Option<Vec<DiscountRule>>,
}

/// `tariff.edit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TariffEdit {
    pub tariff_id: u64,
    /// The tariff's city: the partition its events live in. A tariff cannot move to another
    /// city (its earlier events would sit in another partition), so an edit naming another
    /// city is refused.
    pub city_id: i64,
    pub changes: TariffChanges,
}

/// `tariff.set_state`: enable (true) or disable (false) a tariff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TariffSetState {
    pub tariff_id: u64,
    /// The tariff's city, as for [`TariffEdit`].
    pub city_id: i64,
    pub enabled: bool,
}

/// Rules spanning fields; each field's own format is the wire decoder's job.
fn check(tariff: &Tariff) -> Result<(), Rejection> {
    if let (Some(start), Some(end)) = (tariff.take_effect_time, tariff.invalid_time)
        && end <= start
    {
        return Err(Rejection::invalid(
            "invalid_time",
            format!("invalid_time {end} must be after take_effect_time {start}"),
        ));
    }
    if tariff.call_fee.is_empty() {
        return Err(Rejection::missing(
            "call_fee_config",
            "call_fee_config must hold at least one call-type rule",
        ));
    }
    Ok(())
}

/// The tariff an edit or state change addresses, in the city it names.
fn existing(state: &CallCenterState, tariff_id: u64, city_id: i64) -> Result<&Tariff, Rejection> {
    let tariff = state
        .tariffs
        .get(&tariff_id)
        .ok_or_else(|| Rejection::NotFound {
            message: format!("tariff {tariff_id} not found"),
        })?;
    if tariff.city_id != city_id {
        return Err(Rejection::invalid(
            "city_id",
            format!(
                "city_id {city_id} is not tariff {tariff_id}'s city {}; a tariff cannot move to another city",
                tariff.city_id
            ),
        ));
    }
    Ok(tariff)
}

/// `tariff.configure`: creates the tariff; an id already configured is a conflict (edit it).
pub fn decide_configure(state: &CallCenterState, tariff: &Tariff) -> Result<Vec<Event>, Rejection> {
    if state.tariffs.contains_key(&tariff.tariff_id) {
        return Err(Rejection::Conflict {
            message: format!(
                "tariff {id} already exists; change it with PUT /api/bill/fee/edit/{id}",
                id = tariff.tariff_id
            ),
        });
    }
    check(tariff)?;
    Ok(vec![
        TariffConfigured {
            tariff: tariff.clone(),
        }
        .into(),
    ])
}

/// `tariff.edit`: applies the present fields; the event carries the whole edited tariff.
pub fn decide_edit(state: &CallCenterState, edit: &TariffEdit) -> Result<Vec<Event>, Rejection> {
    let mut tariff = existing(state, edit.tariff_id, edit.city_id)?.clone();
    let c = edit.changes.clone();
    macro_rules! take {
        ($($field:ident => $target:ident),* $(,)?) => {
            $( if let Some(v) = c.$field { tariff.$target = v; } )*
        };
    }
    take!(
        workplace_id => workplace_id,
        operator_code => operator_code,
        line_batch => line_batch,
        line_quantity => line_quantity,
        did => did,
        number_detail => number_detail,
        minimum_charge_unit_price => minimum_charge_unit_price,
        minimum_charge_total_price => minimum_charge_total_price,
        month_rent_fee => month_rent_fee,
        number_use_fee => number_use_fee,
        caller_identify_fee => caller_identify_fee,
        ring_fee => ring_fee,
        fee_remark => fee_remark,
        call_fee => call_fee,
        discounts => discounts,
    );
    if let Some(t) = c.take_effect_time {
        tariff.take_effect_time = Some(t);
    }
    if let Some(t) = c.invalid_time {
        tariff.invalid_time = Some(t);
    }
    check(&tariff)?;
    Ok(vec![TariffEdited { tariff }.into()])
}

/// `tariff.set_state`: a disabled tariff rates no new calls; calls already rated keep their fee.
pub fn decide_set_state(
    state: &CallCenterState,
    change: &TariffSetState,
) -> Result<Vec<Event>, Rejection> {
    let mut tariff = existing(state, change.tariff_id, change.city_id)?.clone();
    tariff.enabled = change.enabled;
    Ok(vec![TariffStateChanged { tariff }.into()])
}
