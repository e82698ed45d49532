//! The edge: the accept loop with its limits, and the edge's own refusals in the family's
//! envelope.
//!
//! * Limits ([`EdgeConfig`], `[edge]` in the config file): a request's headers must arrive
//!   within `header_timeout_s` (hyper closes the connection otherwise; the same timer closes a
//!   keep-alive connection idle that long), its body within `body_timeout_s`, and at most
//!   `max_connections` connections are served at once (further ones wait in the listen backlog).
//! * A body over the size limit (413), an unknown path (404), a wrong method (405), a URI over
//!   [`MAX_URI_BYTES`] (414), headers over [`MAX_HEADER_BYTES`] (431) or an unreadable query
//!   string answer with the envelope of the family the path belongs to, its code agreeing with
//!   the status and a `reason`, never axum's or hyper's plain text, so a client of a seed's API
//!   always reads its own error shape. The URI and header limits are checked here, well below
//!   hyper's own (a 64 KiB URI, ~400 KB of head, 100 headers), because hyper answers those
//!   itself before any service sees the request, with an empty body.
//! * A handler that panics answers 500 in the family's envelope (tower-http's `CatchPanic`)
//!   and is counted in `/metrics` (`ledger_http_panics_total`); the connection stays usable.

use crate::MAX_BODY_BYTES;
use crate::metrics::Metrics;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ledger_wire::codes::{Edge, Failure};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The edge's limits (`[edge]` in the config file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeConfig {
    /// Seconds a client has to send a request's complete headers; also how long an idle
    /// keep-alive connection is kept.
    pub header_timeout_s: u64,
    /// Seconds a client has to send a request's complete body.
    pub body_timeout_s: u64,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            header_timeout_s: 10,
            body_timeout_s: 30,
            // Below the usual 1,024 open files, leaving room for the log's and the store's.
            max_connections: 768,
        }
    }
}

/// Longest request target (path and query) accepted, in bytes; longer answers 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header bytes (names and values) accepted; more answers 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Marks a 500 produced by the panic catcher, so [`family_errors`] can answer it in the
/// family's envelope and count it.
const PANIC_MARK: &str = "x-ledger-panic";

/// The response of a handler that panicked (the panic message goes to the log, not the client).
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked");
    let mut response = (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    response
        .headers_mut()
        .insert(PANIC_MARK, HeaderValue::from_static("1"));
    response
}

/// The layers every router of the API gets at its edge: panics caught and answered in the
/// family's envelope, a body timeout, and the edge's own 4xx rewritten likewise.
pub fn harden(router: Router, metrics: Arc<Metrics>, body_timeout: Duration) -> Router {
    router
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            body_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(metrics, family_errors))
}

/// Serves `app` on `listener` until `shutdown` resolves, then waits for the open connections
/// to finish their requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: &EdgeConfig,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_timeout_s.max(1)));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors and the like: the connections already open go
                    // on; try again shortly rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // No Nagle delay: a reply written in parts must not wait for the client's delayed ACK
        // (~40 ms per request otherwise).
        let _ = tcp.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(tcp), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The family a path belongs to, by its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathFamily {
    Property,
    Baas,
    Utility,
    CallCenter,
}

pub(crate) fn family_of(path: &str) -> Option<PathFamily> {
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

/// Rewrites a non-JSON 4xx answer of a family path, and a caught panic of any path, into the
/// family's envelope.
pub async fn family_errors(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let family = family_of(req.uri().path());
    if let Some(refusal) = over_limits(&req) {
        return envelope(family, refusal);
    }
    let res = next.run(req).await;
    if res.headers().contains_key(PANIC_MARK) {
        metrics.count_panic();
        return envelope(
            family,
            Failure::Edge(
                Edge::Internal,
                "internal error; the log has the details".into(),
            ),
        );
    }
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if family.is_none() || !status.is_client_error() || is_json {
        return res;
    }
    let text = axum::body::to_bytes(res.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let edge = Edge::of_status(status.as_u16());
    let detail = match edge {
        Edge::BodyTooLarge => format!("the body exceeds {MAX_BODY_BYTES} bytes"),
        Edge::NoSuchEndpoint => "no such endpoint".to_string(),
        Edge::MethodNotAllowed => "method not allowed for this endpoint".to_string(),
        _ => format!("bad request: {}", text.trim()),
    };
    envelope(family, Failure::Edge(edge, detail))
}

/// The edge's 414 or 431 for a request over [`MAX_URI_BYTES`] or [`MAX_HEADER_BYTES`].
fn over_limits(req: &Request) -> Option<Failure> {
    let uri = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return Some(Failure::Edge(
            Edge::UriTooLong,
            format!("the URI has {uri} bytes, at most {MAX_URI_BYTES} are accepted"),
        ));
    }
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    (headers > MAX_HEADER_BYTES).then(|| {
        Failure::Edge(
            Edge::HeadersTooLarge,
            format!("the headers have {headers} bytes, at most {MAX_HEADER_BYTES} are accepted"),
        )
    })
}

/// `failure` in the envelope of the path's family (a plain `{"error":…,"reason":…}` outside
/// the families), with the status the failure table gives it.
pub(crate) fn envelope(family: Option<PathFamily>, failure: Failure) -> Response {
    let wire = failure.to_wire(ledger_wire::codes::Family::Utility);
    let status = StatusCode::from_u16(wire.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = match family {
        Some(PathFamily::Property) => ledger_wire::property::error_reply(&failure).1,
        Some(PathFamily::Baas) => ledger_wire::baas::error_reply(&failure, Default::default()).1,
        Some(PathFamily::Utility) => ledger_wire::utility::error_reply(&failure).1,
        Some(PathFamily::CallCenter) => {
            ledger_wire::callcenter::error_reply(&failure, "anonymous").1
        }
        None => serde_json::json!({"error": wire.message, "reason": wire.reason}),
    };
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `failure` in the envelope of `path`'s family, with the status the failure table gives it.
pub(crate) fn refuse(path: &str, failure: Failure) -> Response {
    envelope(family_of(path), failure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_the_family_envelope_and_is_counted() {
        let metrics = Arc::new(Metrics::new());
        let app = harden(
            Router::new().fallback(boom),
            metrics.clone(),
            Duration::from_secs(5),
        );
        let baas = app
            .clone()
            .oneshot(Request::get("/occ/http/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(baas.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(baas.into_body(), 4096).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["returnCode"], "BaaS-000009", "{body}");
        let plain = app
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(plain.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let page = metrics.render(&[], &[], None);
        assert!(page.contains("ledger_http_panics_total 2"), "{page}");
    }
}
