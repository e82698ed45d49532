//! The one table from a `Rejection` (and the edge's own failures) to each family's code,
//! message and HTTP status. Adding a family means adding a column here, nowhere else.

use ledger_core::Rejection;

/// Why a request failed, as far as the wire is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The ledger refused the command or the request could not be decoded.
    Rejected(Rejection),
    /// Credentials missing or wrong.
    Unauthorized(String),
    /// The log or the decider is unavailable (broker down, shutting down).
    Unavailable(String),
    /// The query's parameters are malformed.
    BadQuery { field: String, message: String },
}

/// What a family's error envelope carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// HTTP status: 4xx for the client's mistakes, 503 for an unavailable log, never 5xx for bad
    /// input.
    pub status: u16,
    /// The family's code for it.
    pub code: &'static str,
    pub message: String,
}

/// The families, each with its own envelope and codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Seeds 002/004: `{"code":"…","msg":"…","data":…}`.
    Property,
    /// Seed 003: `{"code":-1,"message":"…","user":…}`; the seed has one failure code.
    CallCenter,
}

/// Message naming the field, in the family's words followed by the field's wire name.
fn with_field(message: &str, field: Option<&str>) -> String {
    match field {
        Some(f) if !message.contains(f) => format!("{message} ({f})"),
        _ => message.to_string(),
    }
}

impl Failure {
    /// The table. Rows: failure kinds; columns: families.
    pub fn to_wire(&self, family: Family) -> WireError {
        let (status, message) = match self {
            Failure::Rejected(r) => {
                let status = match r {
                    Rejection::MissingField { .. }
                    | Rejection::InvalidField { .. }
                    | Rejection::Malformed { .. } => 400,
                    Rejection::NotFound { .. } => 404,
                    Rejection::Conflict { .. } => 409,
                    Rejection::Refused { .. } => 422,
                };
                (status, with_field(r.message(), r.field()))
            }
            Failure::Unauthorized(m) => (401, m.clone()),
            Failure::Unavailable(m) => (503, m.clone()),
            Failure::BadQuery { field, message } => (400, with_field(message, Some(field))),
        };
        let code = match family {
            Family::Property => match status {
                400 => "400",
                401 => "401",
                404 => "404",
                409 => "409",
                422 => "422",
                _ => "503",
            },
            Family::CallCenter => "-1",
        };
        WireError {
            status,
            code,
            message,
        }
    }
}
