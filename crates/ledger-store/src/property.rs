//! Property read models: fee configs, rooms, room fees and bill rules (by community and room,
//! with an index by id), community settings. The models hold the inputs of arrears only; the
//! API computes arrears as of any instant from them with core's rules.

use crate::keys;
use crate::store::{Overlay, ReadStore, StoreError};
use ledger_core::property::{
    BillRule, BillRuleCreated, CommunitySettingSaved, FeeConfig, FeeConfigUpdated, FeePaid, Room,
    RoomFee, RoomFeeCreated, RoomSaved, apply_config_update_to_fee, apply_paid_to,
};
use std::collections::BTreeSet;

pub fn put_config(ov: &mut Overlay<'_>, config: &FeeConfig) -> Result<(), StoreError> {
    ov.put_json(
        keys::compose(keys::FEE_CONFIG, &[&config.community_id, &config.config_id]),
        config,
    );
    Ok(())
}

/// The config, then the fees the update finished or re-flagged, then the finished bill rules.
pub fn config_updated(ov: &mut Overlay<'_>, e: &FeeConfigUpdated) -> Result<(), StoreError> {
    put_config(ov, &e.config)?;
    let community = &e.config.community_id;
    for fee_id in e.finished_fee_ids.iter().chain(&e.fee_flag_fee_ids) {
        if let Some(mut fee) = room_fee_in(ov, community, fee_id)? {
            apply_config_update_to_fee(&mut fee, e);
            put_fee(ov, &fee);
        }
    }
    for rule_id in &e.finished_bill_rule_ids {
        if let Some(mut rule) = bill_rule_in(ov, community, rule_id)? {
            rule.state = ledger_core::property::FeeState::Finished;
            put_rule(ov, &rule);
        }
    }
    Ok(())
}

pub fn room_saved(ov: &mut Overlay<'_>, e: &RoomSaved) -> Result<(), StoreError> {
    ov.put_json(
        keys::compose(keys::ROOM, &[&e.room.community_id, &e.room.room_id]),
        &e.room,
    );
    Ok(())
}

pub fn setting_saved(ov: &mut Overlay<'_>, e: &CommunitySettingSaved) -> Result<(), StoreError> {
    ov.put_json(
        keys::compose(
            keys::COMMUNITY_SETTING,
            &[&e.community_id, e.setting_key.code()],
        ),
        &e.setting_value,
    );
    Ok(())
}

fn put_fee(ov: &mut Overlay<'_>, fee: &RoomFee) {
    ov.put_json(
        keys::compose(
            keys::ROOM_FEE,
            &[&fee.community_id, &fee.payer_obj_id, &fee.fee_id],
        ),
        fee,
    );
    ov.put_json(
        keys::compose(keys::ROOM_FEE_BY_ID, &[&fee.community_id, &fee.fee_id]),
        &fee.payer_obj_id,
    );
}

fn put_rule(ov: &mut Overlay<'_>, rule: &BillRule) {
    ov.put_json(
        keys::compose(
            keys::BILL_RULE,
            &[&rule.community_id, &rule.payer_obj_id, &rule.rule_id],
        ),
        rule,
    );
    ov.put_json(
        keys::compose(keys::BILL_RULE_BY_ID, &[&rule.community_id, &rule.rule_id]),
        &rule.payer_obj_id,
    );
}

fn room_fee_in(
    ov: &Overlay<'_>,
    community_id: &str,
    fee_id: &str,
) -> Result<Option<RoomFee>, StoreError> {
    let index = keys::compose(keys::ROOM_FEE_BY_ID, &[community_id, fee_id]);
    let Some(room_id) = ov.get_json::<String>(&index)? else {
        return Ok(None);
    };
    ov.get_json(&keys::compose(
        keys::ROOM_FEE,
        &[community_id, &room_id, fee_id],
    ))
}

fn bill_rule_in(
    ov: &Overlay<'_>,
    community_id: &str,
    rule_id: &str,
) -> Result<Option<BillRule>, StoreError> {
    let index = keys::compose(keys::BILL_RULE_BY_ID, &[community_id, rule_id]);
    let Some(room_id) = ov.get_json::<String>(&index)? else {
        return Ok(None);
    };
    ov.get_json(&keys::compose(
        keys::BILL_RULE,
        &[community_id, &room_id, rule_id],
    ))
}

pub fn fee_created(ov: &mut Overlay<'_>, e: &RoomFeeCreated) -> Result<(), StoreError> {
    put_fee(ov, &e.fee);
    Ok(())
}

pub fn rule_created(ov: &mut Overlay<'_>, e: &BillRuleCreated) -> Result<(), StoreError> {
    put_rule(ov, &e.rule);
    Ok(())
}

pub fn fee_paid(ov: &mut Overlay<'_>, e: &FeePaid) -> Result<(), StoreError> {
    if let Some(gap) = &e.gap_fee {
        put_fee(ov, gap);
    }
    match &e.bill_rule_id {
        Some(rule_id) => {
            if let Some(mut rule) = bill_rule_in(ov, &e.community_id, rule_id)? {
                apply_paid_to(None, Some(&mut rule), e);
                put_rule(ov, &rule);
            }
        }
        None => {
            if let Some(mut fee) = room_fee_in(ov, &e.community_id, &e.fee_id)? {
                apply_paid_to(Some(&mut fee), None, e);
                put_fee(ov, &fee);
            }
        }
    }
    Ok(())
}

/// Fee configs of a community, in configId order; one config when `config_id` is given.
pub fn list_fee_configs(
    store: &ReadStore,
    community_id: &str,
    config_id: Option<&str>,
) -> Result<Vec<FeeConfig>, StoreError> {
    match config_id {
        Some(id) => Ok(store
            .get_json(&keys::compose(keys::FEE_CONFIG, &[community_id, id]))?
            .into_iter()
            .collect()),
        None => store.scan_json(&keys::compose_prefix(keys::FEE_CONFIG, &[community_id])),
    }
}

pub fn get_room(
    store: &ReadStore,
    community_id: &str,
    room_id: &str,
) -> Result<Option<Room>, StoreError> {
    store.get_json(&keys::compose(keys::ROOM, &[community_id, room_id]))
}

/// Room fees and bill rules of one room, or of the whole community when `room_id` is `None`,
/// in (roomId, id) order.
pub fn fees_and_rules(
    store: &ReadStore,
    community_id: &str,
    room_id: Option<&str>,
) -> Result<(Vec<RoomFee>, Vec<BillRule>), StoreError> {
    let parts: Vec<&str> = std::iter::once(community_id).chain(room_id).collect();
    Ok((
        store.scan_json(&keys::compose_prefix(keys::ROOM_FEE, &parts))?,
        store.scan_json(&keys::compose_prefix(keys::BILL_RULE, &parts))?,
    ))
}

/// Every community with at least one room fee (a scan of every room fee: the dashboard's).
/// Every community with a row of any property kind, with its counts.
pub fn communities(
    store: &ReadStore,
) -> Result<std::collections::BTreeMap<String, ledger_core::CommunityCounts>, StoreError> {
    let mut out = std::collections::BTreeMap::<String, ledger_core::CommunityCounts>::new();
    for prefix in [keys::BILL_RULE, keys::COMMUNITY_SETTING] {
        for community in store.first_parts(prefix)?.into_keys() {
            out.entry(community).or_default();
        }
    }
    for (community, n) in store.first_parts(keys::FEE_CONFIG)? {
        out.entry(community).or_default().fee_configs = n;
    }
    for (community, n) in store.first_parts(keys::ROOM)? {
        out.entry(community).or_default().rooms = n;
    }
    for (community, n) in store.first_parts(keys::ROOM_FEE)? {
        out.entry(community).or_default().room_fees = n;
    }
    Ok(out)
}

pub fn fee_communities(store: &ReadStore) -> Result<BTreeSet<String>, StoreError> {
    Ok(store
        .scan_json::<RoomFee>(keys::ROOM_FEE)?
        .into_iter()
        .map(|f| f.community_id)
        .collect())
}
