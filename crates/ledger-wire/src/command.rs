//! Commands by type name: the one dispatch from a command type and its seed-format body to a
//! typed core command, shared by the HTTP routes and the command topic, plus the command
//! envelope producers publish (DESIGN §4).

use crate::fields::Fields;
use crate::property;
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
        "room.upsert" => property::decode_room_upsert(body, command_id).map(Command::RoomUpsert),
        "room_fee.create" => property::decode_room_fee_create(body).map(Command::RoomFeeCreate),
        "fee.pay" => property::decode_fee_pay(body).map(Command::FeePay),
        "community.set_setting" => property::decode_setting(body).map(Command::CommunitySettingSet),
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
        ("room.upsert", schemars::schema_for!(property::RoomSaveBody)),
        (
            "room_fee.create",
            schemars::schema_for!(property::RoomFeeCreateBody),
        ),
        ("fee.pay", schemars::schema_for!(property::PayFeeBody)),
        (
            "community.set_setting",
            schemars::schema_for!(property::CommunitySettingBody),
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
