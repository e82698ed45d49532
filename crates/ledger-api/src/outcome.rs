//! What a command request and `GET /commands/{id}` answer: the command's outcome record (read
//! through the `ReadModels` port) with its events read back from the log, so a repeated command
//! id answers exactly what the first request was answered.

use ledger_core::{OutcomeRecord, OutcomeStatus};
use serde::{Deserialize, Serialize};

/// One event of an outcome: its type and payload as stored in the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutcomeEvent {
    #[serde(rename = "type")]
    pub event_type: String,
    pub offset: u64,
    pub payload: Box<serde_json::value::RawValue>,
}

/// What happened to a command: its record with its events read back from the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandOutcome {
    pub command_id: String,
    pub status: OutcomeStatus,
    pub key: String,
    pub partition: u32,
    pub first_offset: u64,
    pub last_offset: u64,
    pub events: Vec<OutcomeEvent>,
    /// The refusal, when the command was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection: Option<ledger_core::Rejection>,
    /// The hash of the body the command was decided for, as its events record it (absent in
    /// events written before it was recorded): not part of any reply.
    #[serde(skip)]
    pub body_sha256: Option<ledger_core::Sha256Hash>,
    /// The events as decoded, which a reply reads without a JSON round trip (issue 19: the
    /// utility record's decode from `events` was ~2 % of the charge path).
    #[serde(skip)]
    decoded: Vec<ledger_core::Event>,
}

impl CommandOutcome {
    /// The outcome of `record`, with its events as read from the log (each the payload of one
    /// envelope of the command, in offset order).
    pub fn new(record: OutcomeRecord, events: Vec<ledger_core::EventEnvelope>) -> CommandOutcome {
        CommandOutcome {
            events: events
                .iter()
                .map(|env| OutcomeEvent {
                    event_type: env.event.type_name().to_string(),
                    offset: env.offset,
                    payload: serde_json::value::RawValue::from_string(
                        serde_json::to_string(&env.event.payload_ref())
                            .expect("payload serializes"),
                    )
                    .expect("valid JSON"),
                })
                .collect(),
            command_id: record.command_id,
            status: record.status,
            key: record.key,
            partition: record.partition,
            first_offset: record.first_offset,
            last_offset: record.last_offset,
            rejection: record.rejection,
            body_sha256: events.first().and_then(|env| env.body_sha256),
            decoded: events.into_iter().map(|env| env.event).collect(),
        }
    }

    /// The first of this outcome's events `pick` maps to something, as decoded when the
    /// outcome was read.
    pub fn find<'a, T>(
        &'a self,
        pick: impl FnMut(&'a ledger_core::Event) -> Option<T>,
    ) -> Option<T> {
        self.decoded.iter().find_map(pick)
    }

    /// The payload of the first event of `event_type` in this outcome, decoded as `T` (what a
    /// family's reply is built from).
    pub fn event<T: serde::de::DeserializeOwned>(&self, event_type: &str) -> Option<T> {
        self.events
            .iter()
            .find(|e| e.event_type == event_type)
            .and_then(|e| serde_json::from_str(e.payload.get()).ok())
    }
}
