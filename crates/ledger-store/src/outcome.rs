//! The recorded outcome of every command, kept so a repeated command id and
//! `GET /commands/{id}` answer exactly what the first request was answered.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    Accepted,
    Rejected,
}

/// One event of an outcome: its type and payload as stored in the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutcomeEvent {
    #[serde(rename = "type")]
    pub event_type: String,
    pub offset: u64,
    pub payload: Box<serde_json::value::RawValue>,
}

/// What happened to a command.
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
}

impl CommandOutcome {
    /// The payload of the first event of `event_type` in this outcome, decoded as `T` (what a
    /// family's reply is built from).
    pub fn event<T: serde::de::DeserializeOwned>(&self, event_type: &str) -> Option<T> {
        self.events
            .iter()
            .find(|e| e.event_type == event_type)
            .and_then(|e| serde_json::from_str(e.payload.get()).ok())
    }
}
