//! Business refusals as values. A command that cannot be accepted yields a `Rejection`, which
//! the decider appends as a `command.rejected` event (invariant 1). Each family's wire crate maps
//! a rejection to its own code and message in one table.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Why a command was refused. The message is the one the family's users expect to read (for the
/// property family, the upstream Chinese messages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rejection {
    /// A required field is absent or empty.
    #[error("{message}")]
    MissingField { field: String, message: String },
    /// A field is present but not acceptable (bad format, unknown code, negative amount…).
    #[error("{message}")]
    InvalidField { field: String, message: String },
    /// The command refers to something the ledger does not have.
    #[error("{message}")]
    NotFound { message: String },
    /// The command conflicts with what exists (a duplicate id, a reused request serial with
    /// another body).
    #[error("{message}")]
    Conflict { message: String },
    /// A business rule forbids it (a finished fee cannot be paid…).
    #[error("{message}")]
    Refused { message: String },
    /// The command could not even be read (a garbage message on the command topic).
    #[error("{message}")]
    Malformed { message: String, raw_sha256: String },
}

impl Rejection {
    pub fn missing(field: &str, message: &str) -> Self {
        Rejection::MissingField {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Rejection::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A command id already decided for another body (a reused request serial).
    pub fn reused_id(command_id: &str) -> Self {
        Rejection::Conflict {
            message: format!(
                "请求流水号 {command_id} 已使用且报文不同 (the command id was already used with another body)"
            ),
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Rejection::MissingField { message, .. }
            | Rejection::InvalidField { message, .. }
            | Rejection::NotFound { message }
            | Rejection::Conflict { message }
            | Rejection::Refused { message }
            | Rejection::Malformed { message, .. } => message,
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            Rejection::MissingField { field, .. } | Rejection::InvalidField { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }
}

/// The `command.rejected` event: the outcome of a refused command, kept in the log so every
/// command has exactly one recorded outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommandRejected {
    /// The command type that was refused, e.g. `fee_config.update`.
    pub command_type: String,
    pub rejection: Rejection,
}

impl crate::event::EventPayload for CommandRejected {}
