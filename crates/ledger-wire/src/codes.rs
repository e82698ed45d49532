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
    /// A query parameter the endpoint does not declare (named).
    UnknownParameter(String),
    /// The edge's own refusal, before any handler: the kind and the English detail.
    Edge(Edge, String),
}

/// The edge's own refusals, each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    NoSuchEndpoint,
    MethodNotAllowed,
    BodyTooLarge,
    UriTooLong,
    HeadersTooLarge,
    /// A handler panicked.
    Internal,
    /// Any other 4xx the HTTP stack gave (its status).
    Other(u16),
}

impl Edge {
    pub fn status(self) -> u16 {
        match self {
            Edge::NoSuchEndpoint => 404,
            Edge::MethodNotAllowed => 405,
            Edge::BodyTooLarge => 413,
            Edge::UriTooLong => 414,
            Edge::HeadersTooLarge => 431,
            Edge::Internal => 500,
            Edge::Other(status) => status,
        }
    }

    /// The edge refusal an HTTP status stands for.
    pub fn of_status(status: u16) -> Edge {
        match status {
            404 => Edge::NoSuchEndpoint,
            405 => Edge::MethodNotAllowed,
            413 => Edge::BodyTooLarge,
            414 => Edge::UriTooLong,
            431 => Edge::HeadersTooLarge,
            500 => Edge::Internal,
            other => Edge::Other(other),
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Edge::NoSuchEndpoint => "no_such_endpoint",
            Edge::MethodNotAllowed => "method_not_allowed",
            Edge::BodyTooLarge => "body_too_large",
            Edge::UriTooLong => "uri_too_long",
            Edge::HeadersTooLarge => "headers_too_large",
            Edge::Internal => "internal_error",
            Edge::Other(_) => "bad_request",
        }
    }

    fn chinese(self) -> &'static str {
        match self {
            Edge::NoSuchEndpoint => "接口不存在",
            Edge::MethodNotAllowed => "请求方法不支持",
            Edge::BodyTooLarge => "请求体过大",
            Edge::UriTooLong => "请求地址过长",
            Edge::HeadersTooLarge => "请求头过大",
            Edge::Internal => "内部错误",
            Edge::Other(_) => "请求无效",
        }
    }
}

/// What a family's error envelope carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// HTTP status: 4xx for the client's mistakes, 503 for an unavailable log, never 5xx for bad
    /// input.
    pub status: u16,
    /// The family's code for it.
    pub code: std::borrow::Cow<'static, str>,
    /// In one style for every family: the seed's language (Chinese) first, then the English
    /// detail in parentheses naming the field, e.g. `未包含小区ID (missing: communityId)`.
    pub message: String,
    /// The machine-readable reason (`missing_field`, `unknown_parameter`, `no_such_endpoint`…),
    /// beside the code where the family's envelope allows an extra field.
    pub reason: &'static str,
}

/// The families, each with its own envelope and codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Seeds 002/004: `{"code":"…","msg":"…","data":…}`, code the HTTP status as text.
    Property,
    /// Seed 003: `{"code":-1,"message":"…","user":…}`; the seed has one failure code.
    CallCenter,
    /// Seed 000: `{"returnCode":"BaaS-NNNNNN",…}`; see [`BAAS_CODES`].
    Baas,
    /// Seed 001: `{"CODE":n,"MESSAGE":"…","DATA":…}`, CODE 0 on success and the HTTP status
    /// otherwise.
    Utility,
}

/// English details of the upstream (Chinese-only) messages the rules give, so the one style
/// holds for them too.
const ENGLISH: &[(&str, &str)] = &[
    ("未包含小区ID", "communityId is required"),
    (
        "当前费用项ID不存在或存在多条",
        "the fee config does not exist",
    ),
    ("未包含递增周期", "rateCycle is required"),
    ("未包含递增率", "rate is required"),
    ("未包含递增开始时间", "rateStartTime is required"),
    (
        "未查到需要付费的房屋或未绑定业主",
        "the room does not exist or has no owner",
    ),
    ("传入费用ID错误", "no such fee"),
    ("费用项不存在", "no such fee config"),
    (
        "收费已经结束，不能再缴费",
        "the fee has ended and cannot be paid",
    ),
    ("未找到该费用项", "no such fee config"),
    ("未包含自定义周期", "custCycles is required"),
    (
        "请求报文中未包含receivedAmount节点",
        "receivedAmount is required, with cycles too: upstream's payFee requires it",
    ),
    (
        "实收金额不能为空",
        "receivedAmount is required, with cycles too: upstream's payFee requires it",
    ),
    ("周期不能为空", "cycles is required"),
    ("未包含设置值", "settingValue is required"),
];

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303F}' | '\u{4E00}'..='\u{9FFF}' | '\u{FF00}'..='\u{FFEF}')
}

/// Whether `message` is already `中文 (English)`: Chinese, then a parenthesised part after the
/// last Chinese character, at the end.
pub fn is_styled(message: &str) -> bool {
    let Some((last_cjk, _)) = message.char_indices().rfind(|(_, c)| is_cjk(*c)) else {
        return false;
    };
    message.ends_with(')') && message[last_cjk..].contains(" (")
}

/// `message` in the one style, naming `field` in the English part: a message already styled
/// keeps its words, a Chinese-only one gets its English detail, an English-only one gets
/// `chinese` before it.
pub fn styled(chinese: &str, english: &str, message: &str, field: Option<&str>) -> String {
    let named = |detail: &str| match field {
        Some(f) if !detail.contains(f) && !message.contains(f) => format!("{f}: {detail}"),
        _ => detail.to_string(),
    };
    if is_styled(message) {
        match field {
            Some(f) if !message.contains(f) => {
                let open = message.rfind(" (").unwrap_or(0);
                format!("{} ({f}: {}", &message[..open], &message[open + 2..])
            }
            _ => message.to_string(),
        }
    } else if message.chars().any(is_cjk) {
        let detail = ENGLISH
            .iter()
            .find(|(zh, _)| *zh == message)
            .map(|(_, en)| *en)
            .unwrap_or(english);
        format!("{message} ({})", named(detail))
    } else if message.is_empty() {
        format!("{chinese} ({})", named(english))
    } else {
        format!("{chinese} ({})", named(message))
    }
}

impl Failure {
    /// The machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::Rejected(r) => match r {
                Rejection::MissingField { .. } => "missing_field",
                Rejection::InvalidField { .. } => "invalid_field",
                Rejection::NotFound { .. } => "not_found",
                Rejection::Conflict { .. } => "conflict",
                Rejection::Refused { .. } => "refused",
                Rejection::Malformed { .. } => "malformed",
            },
            Failure::Unauthorized(_) => "unauthorized",
            Failure::Forbidden(_) => "forbidden",
            Failure::Unavailable(_) => "unavailable",
            Failure::BadQuery { .. } => "invalid_parameter",
            Failure::UnknownParameter(_) => "unknown_parameter",
            Failure::Edge(edge, _) => edge.reason(),
        }
    }

    /// The table. Rows: failure kinds; columns: families.
    pub fn to_wire(&self, family: Family) -> WireError {
        let (status, message) = match self {
            Failure::Rejected(r) => {
                let field = r.field().unwrap_or_default();
                let (status, chinese, english) = match r {
                    Rejection::MissingField { .. } => {
                        (400, "缺少参数", format!("{field} is required"))
                    }
                    Rejection::InvalidField { .. } => {
                        (400, "参数错误", format!("{field} is invalid"))
                    }
                    Rejection::Malformed { .. } => (400, "请求无法读取", "malformed".into()),
                    Rejection::NotFound { .. } => (404, "未找到", "not found".into()),
                    Rejection::Conflict { .. } => (409, "冲突", "conflict".into()),
                    Rejection::Refused { .. } => {
                        (422, "业务拒绝", "refused by a business rule".into())
                    }
                };
                (status, styled(chinese, &english, r.message(), r.field()))
            }
            Failure::Unauthorized(m) => (401, styled("未授权", "unauthorized", m, None)),
            Failure::Forbidden(m) => (403, styled("无权访问", "forbidden", m, None)),
            Failure::Unavailable(m) => (503, styled("服务不可用", "unavailable", m, None)),
            Failure::BadQuery { field, message } => (
                400,
                styled(
                    "查询参数错误",
                    &format!("{field} is invalid"),
                    message,
                    Some(field),
                ),
            ),
            Failure::UnknownParameter(name) => (
                400,
                format!("未知参数 {name} (unknown query parameter {name})"),
            ),
            Failure::Edge(edge, detail) => {
                (edge.status(), format!("{} ({detail})", edge.chinese()))
            }
        };
        let code = match family {
            // The code is the HTTP status (as text for property, a number for utility).
            Family::Property | Family::Utility => status.to_string().into(),
            Family::CallCenter => "-1".into(),
            Family::Baas => std::borrow::Cow::Borrowed(match self {
                Failure::Edge(Edge::Internal, _) => "BaaS-000009",
                Failure::Edge(..) => "BaaS-000008",
                _ => match status {
                    400 => "BaaS-000002",
                    401 => "BaaS-000001",
                    403 => "BaaS-000007",
                    404 => "BaaS-000003",
                    409 => "BaaS-000004",
                    422 => "BaaS-000005",
                    _ => "BaaS-000009",
                },
            }),
        };
        WireError {
            status,
            code,
            message,
            reason: self.reason(),
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
    (
        "BaaS-000008",
        "请求不被接受 the edge refused the request: no such endpoint, method not allowed, body, URI or headers too large (reason says which)",
    ),
    (
        "BaaS-000009",
        "服务不可用 the ledger is unavailable or failed, retry",
    ),
];

/// BaaS success.
pub const BAAS_SUCCESS: &str = "BaaS-000000";
/// BaaS command accepted but its outcome not yet projected (HTTP 202).
pub const BAAS_PENDING: &str = "BaaS-000006";

#[cfg(test)]
mod tests {
    use super::*;

    fn every_failure() -> Vec<Failure> {
        let mut all = vec![
            Failure::Rejected(Rejection::missing("communityId", "未包含小区ID")),
            Failure::Rejected(Rejection::invalid("bill_date", "bill_date must be yyyy-MM")),
            Failure::Rejected(Rejection::NotFound {
                message: "tariff 9 not found".into(),
            }),
            Failure::Rejected(Rejection::Conflict {
                message: "账单已存在 (billId b1 already exists)".into(),
            }),
            Failure::Rejected(Rejection::Refused {
                message: "收费已经结束，不能再缴费".into(),
            }),
            Failure::Unauthorized("token 无效 (unknown bearer token)".into()),
            Failure::Forbidden("无权访问 (u1 may not read city:2)".into()),
            Failure::Unavailable("broker down".into()),
            Failure::BadQuery {
                field: "page".into(),
                message: "page must be a whole number".into(),
            },
            Failure::UnknownParameter("pgae".into()),
        ];
        for status in [404, 405, 413, 414, 431, 500, 408, 406, 415] {
            all.push(Failure::Edge(Edge::of_status(status), "detail".into()));
        }
        all
    }

    #[test]
    fn every_message_is_chinese_then_english_in_parentheses_naming_the_field() {
        for failure in every_failure() {
            let w = failure.to_wire(Family::Property);
            assert!(is_styled(&w.message), "{failure:?} → {:?}", w.message);
            let english = &w.message[w.message.rfind(" (").unwrap()..];
            assert!(!english.chars().any(is_cjk), "{:?}", w.message);
            if let Failure::Rejected(r) = &failure
                && let Some(field) = r.field()
            {
                assert!(w.message.contains(field), "{:?}", w.message);
            }
        }
        let w = Failure::Rejected(Rejection::missing("communityId", "未包含小区ID"))
            .to_wire(Family::Property);
        assert_eq!(w.message, "未包含小区ID (communityId is required)");
        let w = Failure::UnknownParameter("pgae".into()).to_wire(Family::Utility);
        assert_eq!(w.message, "未知参数 pgae (unknown query parameter pgae)");
        assert_eq!(
            (w.status, w.code.as_ref(), w.reason),
            (400, "400", "unknown_parameter")
        );
    }

    #[test]
    fn the_code_agrees_with_the_status() {
        for failure in every_failure() {
            let property = failure.to_wire(Family::Property);
            assert_eq!(property.code, property.status.to_string(), "{failure:?}");
            let utility = failure.to_wire(Family::Utility);
            assert_eq!(utility.code, utility.status.to_string(), "{failure:?}");
            let baas = failure.to_wire(Family::Baas);
            assert!(
                BAAS_CODES
                    .iter()
                    .any(|(code, _)| *code == baas.code.as_ref()),
                "{failure:?} → {}",
                baas.code
            );
            assert_eq!(failure.to_wire(Family::CallCenter).code, "-1");
        }
        let edge = |status| Failure::Edge(Edge::of_status(status), String::new());
        assert_eq!(edge(404).to_wire(Family::Baas).code, "BaaS-000008");
        assert_eq!(edge(500).to_wire(Family::Baas).code, "BaaS-000009");
        assert_eq!(
            edge(431).to_wire(Family::Property).reason,
            "headers_too_large"
        );
    }
}
