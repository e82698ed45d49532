//! Commands by type name: the one dispatch from a command type and its seed-format body to a
//! typed core command, shared by the HTTP routes and the command topic, plus the command
//! envelope producers publish (DESIGN §4).

use crate::callcenter;
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
        "room.upsert" => property::decode_room_upsert(body, command_id).map(Command::RoomUpsert),
        "room_fee.create" => property::decode_room_fee_create(body).map(Command::RoomFeeCreate),
        "fee.pay" => property::decode_fee_pay(body).map(Command::FeePay),
        "community.set_setting" => property::decode_setting(body).map(Command::CommunitySettingSet),
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

/// Something on the command topic that is not a decidable command, with what the ledger logs
/// about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    pub command_id: String,
    pub command_type: String,
    pub key: String,
    pub rejection: Rejection,
}

/// Decodes a command envelope published on the command topic. A command without an id gets
/// `sha256:<hex of the message>`, so a redelivered message is recognised as the same command.
/// `now` stands in for a missing `issued_at`.
pub fn decode_envelope(
    bytes: &[u8],
    message_key: Option<&[u8]>,
    now: DateTime<Utc>,
) -> Result<(ledger_core::CommandMeta, Command), Box<Unreadable>> {
    let raw_sha256 = ledger_core::Sha256Hash::of(bytes);
    let fallback_key = message_key
        .and_then(|k| std::str::from_utf8(k).ok())
        .unwrap_or("unreadable")
        .to_string();
    let unreadable = |command_id: String, command_type: String, key: String, rejection| {
        Box::new(Unreadable {
            command_id,
            command_type,
            key,
            rejection,
        })
    };
    let envelope: CommandEnvelopeWire = serde_json::from_slice(bytes).map_err(|e| {
        unreadable(
            format!("sha256:{raw_sha256}"),
            "unknown".into(),
            fallback_key.clone(),
            Rejection::Malformed {
                message: format!("not a command envelope: {e}"),
                raw_sha256: raw_sha256.to_hex(),
            },
        )
    })?;
    let command_id = envelope
        .command_id
        .clone()
        .filter(|id| !id.trim().is_empty())
        .unwrap_or_else(|| format!("sha256:{raw_sha256}"));
    let fields = Fields::from_map(envelope.payload.clone());
    let command = decode_command(&envelope.command_type, &fields, &command_id).map_err(|r| {
        unreadable(
            command_id.clone(),
            envelope.command_type.clone(),
            envelope.key.clone().unwrap_or_else(|| fallback_key.clone()),
            r,
        )
    })?;
    let key = command.partition_key();
    if let Some(given) = &envelope.key
        && given != &key
    {
        return Err(unreadable(
            command_id,
            envelope.command_type.clone(),
            key.clone(),
            Rejection::invalid(
                "key",
                format!("key {given:?} does not match the payload's partition key {key:?}"),
            ),
        ));
    }
    let meta = ledger_core::CommandMeta {
        command_id,
        key,
        issued_at: envelope.issued_at.unwrap_or(now),
        actor: envelope.actor,
        body_sha256: fields.body_sha256(),
        // Before the canonical hash, the payload was hashed as re-serialized in its own order.
        legacy_body_sha256: vec![ledger_core::Sha256Hash::of(&fields.to_json())],
    };
    Ok((meta, command))
}

/// Builds the envelope the HTTP node publishes for a command decoded from `body`.
pub fn encode_envelope(
    meta: &ledger_core::CommandMeta,
    command_type: &str,
    body: &[u8],
) -> Result<Vec<u8>, Rejection> {
    let payload: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
        .map_err(|e| Rejection::invalid("body", format!("body is not a JSON object: {e}")))?;
    let envelope = CommandEnvelopeWire {
        command_id: Some(meta.command_id.clone()),
        command_type: command_type.to_string(),
        key: Some(meta.key.clone()),
        issued_at: Some(meta.issued_at),
        payload,
        actor: meta.actor.clone(),
    };
    Ok(serde_json::to_vec(&envelope).expect("envelopes serialize"))
}
