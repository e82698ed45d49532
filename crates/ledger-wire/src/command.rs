//! Commands by type name: the one dispatch from a command type and its seed-format body to a
//! typed core command, shared by the HTTP routes and the command topic, plus the command
//! envelope producers publish (DESIGN §4).

use crate::fields::Fields;
use crate::{baas, property, utility};
use chrono::{DateTime, Utc};
use ledger_core::{Command, Rejection};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Decodes the body of a command of type `command_type`.
pub fn decode_command(
    command_type: &str,
    body: &Fields,
    command_id: &str,
) -> Result<Command, Rejection> {
    match command_type {
        "fee_config.create" => {
            property::decode_fee_config_create(body, command_id).map(Command::FeeConfigCreate)
        }
        "fee_config.update" => {
            property::decode_fee_config_update(body).map(Command::FeeConfigUpdate)
        }
        "baas.bill.post" => baas::decode_bill(body).map(Command::BaasBillPost),
        "baas.payment.post" => baas::decode_payment(body).map(Command::BaasPaymentPost),
        "baas.usage.post" => baas::decode_usage(body).map(Command::BaasUsagePost),
        "utility.charge.post" => utility::decode_charge(body).map(Command::UtilityChargePost),
        "utility.payment.post" => utility::decode_payment(body).map(Command::UtilityPaymentPost),
        other => Err(Rejection::invalid(
            "type",
            format!(
                "unknown command type {other:?} (known: {})",
                Command::TYPES.join(", ")
            ),
        )),
    }
}

/// The JSON Schema of each command type's payload.
pub fn payload_schemas() -> Vec<(&'static str, schemars::Schema)> {
    vec![
        (
            "fee_config.create",
            schemars::schema_for!(property::FeeConfigSaveBody),
        ),
        (
            "fee_config.update",
            schemars::schema_for!(property::FeeConfigUpdateBody),
        ),
        ("baas.bill.post", schemars::schema_for!(baas::BaasBillBody)),
        (
            "baas.payment.post",
            schemars::schema_for!(baas::BaasPaymentBody),
        ),
        (
            "baas.usage.post",
            schemars::schema_for!(baas::BaasUsageBody),
        ),
        (
            "utility.charge.post",
            schemars::schema_for!(utility::UtilityChargeBody),
        ),
        (
            "utility.payment.post",
            schemars::schema_for!(utility::UtilityPaymentBody),
        ),
    ]
}

/// A command envelope as producers publish it on the command topic.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CommandEnvelopeWire {
    /// Idempotency key; a UUID v7 is assigned when absent.
    #[serde(default)]
    pub command_id: Option<String>,
    /// Command type, e.g. `fee_config.update`.
    #[serde(rename = "type")]
    pub command_type: String,
    /// Partition key, e.g. `community:10001`; derived from the payload when absent and checked
    /// against it when present.
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub issued_at: Option<DateTime<Utc>>,
    /// The seed's request body for this command type.
    pub payload: serde_json::Map<String, serde_json::Value>,
    /// Who sent it (recorded, not trusted for authorization).
    #[serde(default)]
    pub actor: Option<String>,
}
