//! The event catalogue: every event type the ledger appends, with its wire name and schema
//! version. One macro invocation lists them so the name, version, decoder and JSON Schema of an
//! event can never disagree.

use crate::baas::events::*;
use crate::callcenter::events::*;
use crate::property::events::*;
use crate::rejection::CommandRejected;
use crate::utility::events::*;
use serde::{Serialize, de::DeserializeOwned};

/// Serializes only an event's payload (the `payload` field of the envelope).
pub struct PayloadRef<'a>(&'a Event);

/// Decodes a payload stored under `version`. Types whose schema changed override this to upcast
/// old versions on read; the log is never rewritten (DESIGN §4).
pub trait EventPayload: Serialize + DeserializeOwned + schemars::JsonSchema {
    fn decode_version(version: u32, current: u32, json: &str) -> Result<Self, String> {
        if version != current {
            return Err(format!(
                "schema_version {version} is not known (current {current})"
            ));
        }
        serde_json::from_str(json).map_err(|e| e.to_string())
    }
}

macro_rules! events {
    ($( $variant:ident ( $ty:ty ) = $name:literal , v $ver:literal ; )*) => {
        /// Every event the ledger can append.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Event { $( $variant($ty), )* }

        impl Event {
            /// Every event type name with its current schema version.
            pub const TYPES: &'static [(&'static str, u32)] = &[ $( ($name, $ver), )* ];

            pub fn type_name(&self) -> &'static str {
                match self { $( Event::$variant(_) => $name, )* }
            }

            pub fn schema_version(&self) -> u32 {
                match self { $( Event::$variant(_) => $ver, )* }
            }

            pub fn payload_ref(&self) -> PayloadRef<'_> {
                PayloadRef(self)
            }

            /// Decodes a stored payload, upcasting older schema versions.
            pub fn decode(type_name: &str, version: u32, payload_json: &str) -> Result<Event, String> {
                match type_name {
                    $( $name => <$ty as EventPayload>::decode_version(version, $ver, payload_json)
                        .map(Event::$variant)
                        .map_err(|e| format!("{}: {e}", $name)), )*
                    other => Err(format!("unknown event type {other:?}")),
                }
            }

            /// JSON Schema of each event payload, by type name.
            pub fn payload_schemas() -> Vec<(&'static str, schemars::Schema)> {
                vec![ $( ($name, schemars::schema_for!($ty)), )* ]
            }
        }

        impl Serialize for PayloadRef<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.0 { $( Event::$variant(p) => p.serialize(s), )* }
            }
        }

        $( impl From<$ty> for Event { fn from(p: $ty) -> Event { Event::$variant(p) } } )*
    };
}

events! {
    CommandRejected(CommandRejected) = "command.rejected", v 1;
    FeeConfigCreated(FeeConfigCreated) = "fee_config.created", v 1;
    FeeConfigUpdated(FeeConfigUpdated) = "fee_config.updated", v 1;
    RoomSaved(RoomSaved) = "room.saved", v 1;
    CommunitySettingSaved(CommunitySettingSaved) = "community.setting_saved", v 2;
    RoomFeeCreated(RoomFeeCreated) = "room_fee.created", v 1;
    BillRuleCreated(BillRuleCreated) = "bill_rule.created", v 1;
    FeePaid(FeePaid) = "fee.paid", v 1;
    TariffConfigured(TariffConfigured) = "tariff.configured", v 1;
    TariffEdited(TariffEdited) = "tariff.edited", v 1;
    TariffStateChanged(TariffStateChanged) = "tariff.state_changed", v 1;
    OperatorBillReported(OperatorBillReported) = "operator_bill.reported", v 1;
    CallsRecorded(CallsRecorded) = "calls.recorded", v 1;
    CostCenterAssigned(CostCenterAssigned) = "cost_center.assigned", v 1;
    BaasBillPosted(BaasBillPosted) = "baas.bill.posted", v 1;
    BaasPaymentPosted(BaasPaymentPosted) = "baas.payment.posted", v 1;
    BaasUsagePosted(BaasUsagePosted) = "baas.usage.posted", v 1;
    UtilityChargePosted(UtilityChargePosted) = "utility.charge.posted", v 1;
    UtilityPaymentPosted(UtilityPaymentPosted) = "utility.payment.posted", v 1;
}

impl Event {
    /// The business time an event is about, when it has one.
    pub fn effective_at(&self) -> Option<chrono::NaiveDateTime> {
        match self {
            Event::CommandRejected(_) => None,
            Event::FeeConfigCreated(e) => Some(e.config.start_time),
            Event::FeeConfigUpdated(e) => Some(e.config.start_time),
            Event::RoomSaved(_) | Event::CommunitySettingSaved(_) => None,
            Event::RoomFeeCreated(e) => Some(e.fee.start_time),
            Event::BillRuleCreated(e) => Some(e.rule.start_time),
            Event::FeePaid(e) => Some(e.pay_time),
            Event::TariffConfigured(e) => e.tariff.take_effect_time,
            Event::TariffEdited(e) => e.tariff.take_effect_time,
            Event::TariffStateChanged(_) => None,
            Event::OperatorBillReported(e) => {
                Some(e.report.bill_month.and_time(chrono::NaiveTime::MIN))
            }
            Event::CallsRecorded(e) => e.calls.iter().map(|c| c.call.start_time).min(),
            Event::CostCenterAssigned(_) => None,
            Event::BaasBillPosted(e) => Some(e.bill.period_end),
            Event::BaasPaymentPosted(e) => Some(e.payment.paid_at),
            Event::BaasUsagePosted(e) => Some(e.usage.at),
            Event::UtilityChargePosted(e) => {
                crate::utility::record::date_number(e.record.operation_date)
                    .ok()
                    .flatten()
            }
            Event::UtilityPaymentPosted(e) => crate::utility::record::date_number(e.paid_in_date)
                .ok()
                .flatten(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::property::codes::{SettingKey, Switch};

    #[test]
    fn a_version_1_setting_is_upcast_to_the_current_shape() {
        let cases = [
            (
                1,
                r#"{"communityId":"c1","settingKey":"PAY_FEE_MONTH","on":true}"#,
                Switch::On,
            ),
            (
                1,
                r#"{"communityId":"c1","settingKey":"PAY_FEE_MONTH","on":false}"#,
                Switch::Off,
            ),
            (
                2,
                r#"{"communityId":"c1","settingKey":"PAY_FEE_MONTH","settingValue":"ON"}"#,
                Switch::On,
            ),
        ];
        for (version, json, value) in cases {
            let decoded = Event::decode("community.setting_saved", version, json).unwrap();
            assert_eq!(
                decoded,
                Event::CommunitySettingSaved(CommunitySettingSaved {
                    community_id: "c1".into(),
                    setting_key: SettingKey::PayFeeMonth,
                    setting_value: crate::property::codes::SettingValue::Switch(value),
                }),
                "v{version} {json}"
            );
            assert_eq!(decoded.schema_version(), 2);
        }
    }

    #[test]
    fn unknown_versions_and_shapes_are_refused() {
        let v3 = Event::decode("community.setting_saved", 3, "{}").unwrap_err();
        assert!(
            v3.contains("schema_version 3 is not known (current 2)"),
            "{v3}"
        );
        let v1_as_v2 = Event::decode(
            "community.setting_saved",
            2,
            r#"{"communityId":"c1","settingKey":"PAY_FEE_MONTH","on":true}"#,
        )
        .unwrap_err();
        assert!(v1_as_v2.contains("settingValue"), "{v1_as_v2}");
    }
}
