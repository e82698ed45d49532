//! The edge's own refusals in the family's envelope: a body over the size limit (413), an
//! unknown path (404), a wrong method (405) or an unreadable query string answer with the
//! envelope and code of the family the path belongs to, never axum's plain text, so a client
//! of a seed's API always reads its own error shape.

use crate::MAX_BODY_BYTES;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ledger_core::Rejection;
use ledger_wire::codes::Failure;

/// The family a path belongs to, by its prefix.
#[derive(Clone, Copy)]
enum PathFamily {
    Property,
    Baas,
    Utility,
    CallCenter,
}

fn family_of(path: &str) -> Option<PathFamily> {
    if path.starts_with("/app/") {
        Some(PathFamily::Property)
    } else if path.starts_with("/occ/") {
        Some(PathFamily::Baas)
    } else if path.starts_with("/Service/") {
        Some(PathFamily::Utility)
    } else if path.starts_with("/api/") {
        Some(PathFamily::CallCenter)
    } else {
        None
    }
}

/// Rewrites a non-JSON 4xx answer of a family path into the family's envelope.
pub async fn family_errors(req: Request, next: Next) -> Response {
    let family = family_of(req.uri().path());
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    let Some(family) = family.filter(|_| status.is_client_error() && !is_json) else {
        return res;
    };
    let text = axum::body::to_bytes(res.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let (field, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "body",
            format!("请求体过大 (the body exceeds {MAX_BODY_BYTES} bytes)"),
        ),
        StatusCode::NOT_FOUND => ("path", "接口不存在 (no such endpoint)".to_string()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method",
            "请求方法不支持 (method not allowed for this endpoint)".to_string(),
        ),
        _ => ("request", format!("请求无效 (bad request: {text})")),
    };
    let failure = Failure::Rejected(Rejection::invalid(field, message));
    let (_, body) = match family {
        PathFamily::Property => ledger_wire::property::error_reply(&failure),
        PathFamily::Baas => ledger_wire::baas::error_reply(&failure, Default::default()),
        PathFamily::Utility => ledger_wire::utility::error_reply(&failure),
        PathFamily::CallCenter => ledger_wire::callcenter::error_reply(&failure, "anonymous"),
    };
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
