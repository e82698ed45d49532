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
    /// Valid credentials, but the tenant, community or city is outside their scope.
    Forbidden(String),
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
    /// Seed 000: `{"returnCode":"BaaS-NNNNNN",…}`; see [`BAAS_CODES`].
    Baas,
    /// Seed 001: `{"CODE":n,"MESSAGE":"…","DATA":…}`, CODE 0 on success and the HTTP status
    /// otherwise.
    Utility,
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
            Failure::Forbidden(m) => (403, m.clone()),
            Failure::Unavailable(m) => (503, m.clone()),
            Failure::BadQuery { field, message } => (400, with_field(message, Some(field))),
        };
        let code = match family {
            Family::Property => match status {
                400 => "400",
                401 => "401",
                403 => "403",
                404 => "404",
                409 => "409",
                422 => "422",
                _ => "503",
            },
            Family::CallCenter => "-1",
            Family::Baas => match status {
                400 => "BaaS-000002",
                401 => "BaaS-000001",
                403 => "BaaS-000007",
                404 => "BaaS-000003",
                409 => "BaaS-000004",
                422 => "BaaS-000005",
                _ => "BaaS-000009",
            },
            Family::Utility => match status {
                400 => "400",
                401 => "401",
                403 => "403",
                404 => "404",
                409 => "409",
                422 => "422",
                _ => "503",
            },
        };
        WireError {
            status,
            code,
            message,
        }
    }
}

/// Every BaaS `returnCode` with its meaning (the README lists the same table).
pub const BAAS_CODES: &[(&str, &str)] = &[
    (BAAS_SUCCESS, "成功 success"),
    (
        "BaaS-000001",
        "签名校验失败 bad signature: header appkey or sign missing or not accepted",
    ),
    (
        "BaaS-000002",
        "参数错误 bad parameter: a field is missing or malformed (returnMessage names it)",
    ),
    (
        "BaaS-000003",
        "客户不存在 unknown customer: no bill or usage for the customer (and service)",
    ),
    (
        "BaaS-000004",
        "重复 conflict: the id is already used in the tenant",
    ),
    (
        "BaaS-000005",
        "业务拒绝 refused: e.g. a payment above what is owed",
    ),
    (
        BAAS_PENDING,
        "处理中 accepted, outcome not yet projected; look it up by command id",
    ),
    (
        "BaaS-000007",
        "无权限 forbidden: the tenant is outside the appkey's tenants",
    ),
    ("BaaS-000009", "服务不可用 the ledger is unavailable, retry"),
];

/// BaaS success.
pub const BAAS_SUCCESS: &str = "BaaS-000000";
/// BaaS command accepted but its outcome not yet projected (HTTP 202).
pub const BAAS_PENDING: &str = "BaaS-000006";
