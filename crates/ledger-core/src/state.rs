//! The decider's state: everything previously appended, folded by `apply`. The decider for a
//! partition decides on a state that includes every earlier event of that partition.

use crate::baas::BaasBooks;
use crate::callcenter::CallCenterState;
use crate::envelope::{EventEnvelope, Position};
use crate::event::Event;
use crate::property::{FeeConfigs, PropertyState};
use crate::utility::UtilityBooks;
use std::collections::HashMap;

/// Where a command's outcome sits in the log: all events of one command are appended together,
/// in one partition, at consecutive offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandRecord {
    pub first: Position,
    pub last: Position,
    /// The body the command was first sent with (when its events record it).
    pub body_sha256: Option<crate::envelope::Sha256Hash>,
}

/// The state the decider needs, folded from the log.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Commands already decided, for idempotency (invariant 2).
    pub commands: HashMap<String, CommandRecord>,
    pub fee_configs: FeeConfigs,
    /// Rooms, room fees, bill rules and community settings.
    pub property: PropertyState,
    pub callcenter: CallCenterState,
    pub baas: BaasBooks,
    pub utility: UtilityBooks,
}

impl State {
    /// Folds one event into the state. Must be total: events in the log were valid when appended.
    pub fn apply(&mut self, env: &EventEnvelope) {
        let pos = env.position();
        self.commands
            .entry(env.command_id.clone())
            .and_modify(|r| r.last = pos)
            .or_insert(CommandRecord {
                first: pos,
                last: pos,
                body_sha256: env.body_sha256,
            });
        match &env.event {
            Event::CommandRejected(_) => {}
            Event::FeeConfigCreated(e) => self.fee_configs.put(e.config.clone()),
            Event::FeeConfigUpdated(e) => {
                self.fee_configs.put(e.config.clone());
                self.property.apply_config_update(e);
            }
            Event::RoomSaved(e) => self.property.apply_room_saved(e),
            Event::CommunitySettingSaved(e) => self.property.apply_setting(e),
            Event::RoomFeeCreated(e) => self.property.apply_fee_created(e),
            Event::BillRuleCreated(e) => self.property.apply_rule_created(e),
            Event::FeePaid(e) => self.property.apply_paid(e),
            Event::TariffConfigured(e) => self.callcenter.put_tariff(&e.tariff),
            Event::TariffEdited(e) => self.callcenter.put_tariff(&e.tariff),
            Event::TariffStateChanged(e) => self.callcenter.put_tariff(&e.tariff),
            Event::OperatorBillReported(_) | Event::CostCenterAssigned(_) => {}
            Event::CallsRecorded(e) => self.callcenter.record_calls(e),
            Event::BaasBillPosted(e) => self.baas.apply_bill(e),
            Event::BaasPaymentPosted(e) => self.baas.apply_payment(e),
            Event::BaasUsagePosted(e) => self.baas.apply_usage(e),
            Event::UtilityChargePosted(e) => self.utility.apply_charge(e),
            Event::UtilityPaymentPosted(e) => self.utility.apply_payment(e),
        }
    }
}
