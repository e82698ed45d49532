//! Audit support for every query of every family: one layer stamps each query reply (every GET
//! and the seeds' POST queries) with the log
//! position it reflects (`X-Ledger-Position`) and a digest of the read-model state at exactly
//! that position (`X-Ledger-Digest`), and answers `at=P:N,…` from a replay of the log up to
//! that position. Also the command bus of a read-only server, which decides nothing.

use crate::bus::{BoxFuture, BusError, CommandBus, Decided, Submission};
use crate::{AppState, router};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ledger_core::{Position, ReadModels};
use ledger_wire::codes::Failure;
use std::sync::Arc;
use tokio::time::Instant;
use tower::ServiceExt;

pub const POSITION_HEADER: &str = "x-ledger-position";
pub const DIGEST_HEADER: &str = "x-ledger-digest";

/// Queries the seeds define as POSTs (every GET is a query too).
pub const QUERY_POSTS: &[&str] = &[
    "/occ/http/srv_baas_feeowed_qry",
    "/Service/v1/QueryUserArrearages/",
    "/Service/v1/QueryUserArrearages",
];

/// Whether a request reads the read models (and so gets the audit headers and `at=`).
pub fn is_query(method: &Method, path: &str) -> bool {
    *method == Method::GET || (*method == Method::POST && QUERY_POSTS.contains(&path))
}

/// Read models as they were at a log position: the binary replays its log into a scratch store.
pub trait History: Send + Sync + 'static {
    /// The read models holding exactly the first `positions[p]` events of every partition `p`.
    /// Errors are messages for the caller (an unknown position, a log that cannot be read).
    fn store_at(&self, positions: &[u64]) -> Result<Arc<dyn ReadModels>, String>;

    /// The log the history is replayed from (a command's events are read back from it).
    fn log(&self) -> Option<Arc<dyn ledger_core::EventLog>> {
        None
    }
}

/// The command bus of `serve --read-only` and of `at=` queries: a fixed state, no writer.
/// Every command is answered as unavailable (each family's 503 reply).
pub struct ReadOnlyBus {
    pub positions: Vec<u64>,
    /// The log a command's events are read back from (`/commands/{id}`), when there is one.
    pub log: Option<Arc<dyn ledger_core::EventLog>>,
}

impl CommandBus for ReadOnlyBus {
    fn submit(&self, _submission: Submission) -> BoxFuture<Result<Decided, BusError>> {
        Box::pin(async {
            Err(BusError::Unavailable(
                "read-only: this server serves a replayed state and takes no commands".into(),
            ))
        })
    }

    fn wait_projected(&self, position: Position, _deadline: Instant) -> BoxFuture<bool> {
        let done = self
            .positions
            .get(position.partition as usize)
            .is_some_and(|p| *p > position.offset);
        Box::pin(async move { done })
    }

    fn applied_positions(&self) -> Vec<u64> {
        self.positions.clone()
    }

    fn log_ends(&self) -> Vec<u64> {
        self.positions.clone()
    }

    fn read_events(
        &self,
        partition: u32,
        first: u64,
        last: u64,
    ) -> BoxFuture<Result<Vec<ledger_core::EventEnvelope>, BusError>> {
        match &self.log {
            Some(log) => crate::bus::read_log_events(log.clone(), partition, first, last),
            None => Box::pin(async {
                Err(BusError::Unavailable(
                    "this server serves a replayed state without its log".into(),
                ))
            }),
        }
    }
}

/// `p:offset,…` for every partition.
pub fn format_positions(positions: &[u64]) -> String {
    positions
        .iter()
        .enumerate()
        .map(|(p, o)| format!("{p}:{o}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses `P:N,…` into one next-offset per partition (unnamed partitions are 0).
pub fn parse_positions(text: &str, partitions: usize) -> Result<Vec<u64>, String> {
    let mut out = vec![0u64; partitions];
    for part in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (p, n) = part
            .split_once(':')
            .ok_or_else(|| format!("at: {part:?} is not partition:offset"))?;
        let p: usize = p
            .parse()
            .map_err(|_| format!("at: partition {p:?} is not a number"))?;
        let n: u64 = n
            .parse()
            .map_err(|_| format!("at: offset {n:?} is not a number"))?;
        *out.get_mut(p).ok_or_else(|| {
            format!("at: partition {p} does not exist ({partitions} partitions)")
        })? = n;
    }
    Ok(out)
}

/// The store's own applied positions (they move in the same atomic batch as the rows).
fn store_positions(store: &dyn ReadModels, partitions: usize) -> Option<Vec<u64>> {
    store.positions(partitions as u32).ok()
}

#[derive(Clone)]
struct Audit {
    state: AppState,
    history: Option<Arc<dyn History>>,
    /// One replay at a time: further `at=` requests wait for it (they are authenticated, so
    /// the queue is the callers' own).
    replays: Arc<tokio::sync::Semaphore>,
}

/// The whole API with the audit layer: position and digest headers on every query reply, `at=`.
pub fn router_with_audit(state: AppState, history: Option<Arc<dyn History>>) -> Router {
    let audit = Audit {
        state: state.clone(),
        history,
        replays: Arc::new(tokio::sync::Semaphore::new(1)),
    };
    let metrics = state.metrics.clone();
    let body_timeout = std::time::Duration::from_secs(state.edge.body_timeout_s.max(1));
    // Hardened again outside the audit layer, so a panic there is caught too.
    crate::edge::harden(
        router(state).layer(axum::middleware::from_fn_with_state(audit, audit_layer)),
        metrics,
        body_timeout,
    )
}

async fn audit_layer(State(audit): State<Audit>, request: Request, next: Next) -> Response {
    if !is_query(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let (at, rest) = split_at_param(request.uri());
    if let Some(at) = at {
        // Nothing is replayed for a caller who is not authenticated.
        let request = match authenticate_at(&audit.state, request).await {
            Ok(r) => r,
            Err(refusal) => return refusal,
        };
        return answer_at(&audit, request, &at, rest).await;
    }
    let partitions = audit.state.bus.applied_positions().len();
    let before = store_positions(audit.state.store.as_ref(), partitions);
    let mut response = next.run(request).await;
    let shown = match response.headers().get(POSITION_HEADER) {
        Some(h) => h.to_str().unwrap_or_default().to_string(),
        None => {
            let text = before.as_deref().map(format_positions).unwrap_or_default();
            if let Ok(v) = HeaderValue::from_str(&text) {
                response.headers_mut().insert(POSITION_HEADER, v);
            }
            text
        }
    };
    if let Some(digest) = digest_at(&audit, &shown, partitions)
        && let Ok(v) = HeaderValue::from_str(&digest)
    {
        response.headers_mut().insert(DIGEST_HEADER, v);
    }
    response
}

/// The read-model digest when the store is exactly at `shown`; None when the projection moved
/// on meanwhile (a digest of another state would mislead an auditor).
fn digest_at(audit: &Audit, shown: &str, partitions: usize) -> Option<String> {
    let positions = parse_positions(shown, partitions).ok()?;
    let (now, digest) = audit
        .state
        .store
        .positions_and_digest(partitions as u32)
        .ok()?;
    (now == positions).then_some(digest)
}

/// Splits `at=` off a query string: (its value, the URI without it).
fn split_at_param(uri: &Uri) -> (Option<String>, Uri) {
    let Some(query) = uri.query() else {
        return (None, uri.clone());
    };
    let mut at = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("at=") {
            Some(v) => {
                at = Some(percent_decode(v));
                false
            }
            None => true,
        })
        .collect();
    if at.is_none() {
        return (None, uri.clone());
    }
    let path_and_query = if kept.is_empty() {
        uri.path().to_string()
    } else {
        format!("{}?{}", uri.path(), kept.join("&"))
    };
    (at, path_and_query.parse().unwrap_or_else(|_| uri.clone()))
}

/// Decodes `%3A`/`%2C` and friends (positions are ASCII digits, `:` and `,`); broken escapes
/// and bytes that are not UTF-8 come out as they are or as U+FFFD, never as a panic.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The query string a client signed, kept when the audit layer rewrites the URI (it removes
/// `at=` before the historical router sees the request).
#[derive(Debug, Clone)]
pub struct SignedQuery(pub String);

/// Checks the credential an `at=` request carries before anything is replayed: the admin token
/// on a GET, the family's own (signed over the query as sent, or over the body, which is read
/// and put back), or on the family-independent paths any family's credential.
async fn authenticate_at(app: &AppState, request: Request) -> Result<Request, Response> {
    use crate::edge::PathFamily;
    let path = request.uri().path().to_string();
    let signed_query = request
        .uri()
        .query()
        .map(|q| format!("?{q}").into_bytes())
        .unwrap_or_default();
    let headers = request.headers().clone();
    // The operator may replay any GET (the lists answer the admin token; every other handler
    // still checks its own credentials on the replayed state).
    let authorization = crate::execute::header(&headers, "authorization");
    if request.method() == Method::GET
        && app.auth.admin_token.is_some()
        && app.auth.verify_admin(authorization.as_deref()).is_ok()
    {
        return Ok(request);
    }
    match crate::edge::family_of(&path) {
        Some(PathFamily::Property) => crate::property::authenticate(app, &headers, &signed_query)
            .map(|_| request)
            .map_err(IntoResponse::into_response),
        Some(PathFamily::CallCenter) => crate::callcenter::caller(app, &headers)
            .map(|_| request)
            .map_err(IntoResponse::into_response),
        // The BaaS and utility lists are GETs: signed over the query, or the admin token.
        Some(PathFamily::Baas | PathFamily::Utility) if request.method() == Method::GET => {
            crate::access::authenticate_any(app, &headers, &signed_query)
                .map(|_| request)
                .map_err(|f| crate::edge::refuse(&path, f))
        }
        Some(family @ (PathFamily::Baas | PathFamily::Utility)) => {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, crate::MAX_BODY_BYTES)
                .await
                .map_err(|e| {
                    crate::edge::refuse(
                        &path,
                        Failure::BadQuery {
                            field: "body".into(),
                            message: format!("the body cannot be read: {e}"),
                        },
                    )
                })?;
            let verdict = if family == PathFamily::Baas {
                crate::baas::baas_credentials(app, &headers, &bytes).map(|_| ())
            } else {
                ledger_wire::Fields::parse(&bytes)
                    .map_err(Failure::Rejected)
                    .and_then(|fields| crate::utility::authenticate(app, &fields))
                    .map(|_| ())
            };
            verdict
                .map(|()| Request::from_parts(parts, Body::from(bytes)))
                .map_err(|f| crate::edge::refuse(&path, f))
        }
        None => crate::access::authenticate_any(app, &headers, &signed_query)
            .map(|_| request)
            .map_err(|f| crate::edge::refuse(&path, f)),
    }
}

/// Answers a query from the read models as they were at `at`.
async fn answer_at(audit: &Audit, request: Request, at: &str, rest: Uri) -> Response {
    let partitions = audit.state.bus.applied_positions().len();
    let path = request.uri().path().to_string();
    let refuse = |status: StatusCode, message: String| {
        let failure = if status == StatusCode::BAD_REQUEST {
            Failure::BadQuery {
                field: "at".into(),
                message,
            }
        } else {
            Failure::Unavailable(message)
        };
        crate::edge::refuse(&path, failure)
    };
    let positions = match parse_positions(at, partitions) {
        Ok(p) => p,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
    };
    let ends = audit.state.bus.log_ends();
    if let Some((p, _)) = positions
        .iter()
        .enumerate()
        .find(|(p, n)| ends.get(*p).is_some_and(|end| *n > end))
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "at: partition {p} has only {} events",
                ends.get(p).copied().unwrap_or(0)
            ),
        );
    }
    let Some(history) = audit.history.clone() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "at: this server has no log to replay".into(),
        );
    };
    let wanted = positions.clone();
    let Ok(_replaying) = audit.replays.acquire().await else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "at: shutting down".into());
    };
    let history_log = history.log();
    let store = match tokio::task::spawn_blocking(move || history.store_at(&wanted)).await {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => return refuse(StatusCode::SERVICE_UNAVAILABLE, e),
        Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let digest = store.digest().unwrap_or_default();
    let historical = AppState {
        bus: Arc::new(ReadOnlyBus {
            positions: positions.clone(),
            log: history_log,
        }),
        store,
        clock: audit.state.clock.clone(),
        command_wait: audit.state.command_wait,
        metrics: audit.state.metrics.clone(),
        auth: audit.state.auth.clone(),
        edge: audit.state.edge.clone(),
        timezone: audit.state.timezone,
        anchor: None,
    };
    // The handler checks a signature over the query the client sent, `at` included.
    let signed = SignedQuery(request.uri().query().unwrap_or_default().to_string());
    // A fresh request for the historical router: the live router's extensions (its matched
    // path parameters among them) would be read as the historical route's own.
    let (parts, body) = request.into_parts();
    let mut fresh = Request::new(body);
    *fresh.method_mut() = parts.method;
    *fresh.uri_mut() = rest;
    *fresh.version_mut() = parts.version;
    *fresh.headers_mut() = parts.headers;
    fresh.extensions_mut().insert(signed);
    let mut response = match router(historical).oneshot(fresh).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    if let Ok(v) = HeaderValue::from_str(&format_positions(&positions)) {
        response.headers_mut().insert(POSITION_HEADER, v);
    }
    if let Ok(v) = HeaderValue::from_str(&digest) {
        response.headers_mut().insert(DIGEST_HEADER, v);
    }
    response
}

/// Answers one GET in-process (the audit tools read the listFee view this way).
pub async fn get_json(state: AppState, uri: &str) -> (u16, serde_json::Value) {
    let Ok(request) = axum::http::Request::get(uri).body(Body::empty()) else {
        return (400, serde_json::Value::Null);
    };
    let response = match router(state).oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    response_json(response).await
}

/// A handler's reply as (status, JSON body).
pub async fn reply_json(reply: impl axum::response::IntoResponse) -> (u16, serde_json::Value) {
    response_json(reply.into_response()).await
}

async fn response_json(response: axum::response::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_refuse_garbage() {
        assert_eq!(parse_positions("0:3,2:7", 3), Ok(vec![3, 0, 7]));
        assert_eq!(format_positions(&[3, 0, 7]), "0:3,1:0,2:7");
        assert!(
            parse_positions("5:1", 3)
                .unwrap_err()
                .contains("partition 5")
        );
        assert!(
            parse_positions("0-1", 3)
                .unwrap_err()
                .contains("partition:offset")
        );
    }

    #[test]
    fn the_at_parameter_is_taken_off_the_query() {
        let uri: Uri = "/api/bill/verify?city_id=71&at=0%3A3%2C1%3A4&x=1"
            .parse()
            .unwrap();
        let (at, rest) = split_at_param(&uri);
        assert_eq!(at.as_deref(), Some("0:3,1:4"));
        assert_eq!(rest.to_string(), "/api/bill/verify?city_id=71&x=1");
        let (at, rest) = split_at_param(&"/healthz".parse().unwrap());
        assert_eq!((at, rest.to_string()), (None, "/healthz".to_string()));
    }
}
