//! Commands by type name: the one dispatch from a command type and its seed-format body to a
//! typed core command, shared by the HTTP routes and the command topic, plus the command
//! envelope producers publish (DESIGN §4).

use crate::callcenter;
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
        "tariff.configure" => {
            callcenter::decode_tariff_configure(body).map(Command::TariffConfigure)
        }
        "tariff.edit" => callcenter::decode_tariff_edit(body).map(Command::TariffEdit),
        "tariff.set_state" => {
            callcenter::decode_tariff_set_state(body).map(Command::TariffSetState)
        }
        "operator_bill.report" => {
            callcenter::decode_operator_bill(body).map(Command::OperatorBillReport)
        }
        "calls.record" => callcenter::decode_calls(body).map(Command::CallsRecord),
        "cost_center.assign" => callcenter::decode_cost_center(body).map(Command::CostCenterAssign),
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
        (
            "tariff.configure",
            schemars::schema_for!(callcenter::TariffConfigureBody),
        ),
        (
            "tariff.edit",
            schemars::schema_for!(callcenter::TariffEditBody),
        ),
        (
            "tariff.set_state",
            schemars::schema_for!(callcenter::TariffSetStateBody),
        ),
        (
            "operator_bill.report",
            schemars::schema_for!(callcenter::OperatorBillBody),
        ),
        ("calls.record", schemars::schema_for!(callcenter::CallsBody)),
        (
            "cost_center.assign",
            schemars::schema_for!(callcenter::CostCenterBody),
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
