//! Family-independent endpoints: health, command outcomes, the OpenAPI document; and the reply
//! type every handler returns.

use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

/// A JSON reply with its HTTP status and, for queries, the log position it reflects.
pub struct Reply {
    status: u16,
    body: ReplyBody,
    position: Option<String>,
}

enum ReplyBody {
    Value(Value),
    /// Already serialized JSON (large query replies skip the intermediate tree).
    Bytes(Vec<u8>),
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            body: ReplyBody::Value(body),
            position: None,
        }
    }

    /// A reply serialized straight from a typed body.
    pub fn serialized(status: u16, body: &impl serde::Serialize) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => Reply::bytes(status, bytes),
            Err(e) => Reply::json(500, json!({"error": e.to_string()})),
        }
    }

    /// A reply of JSON already written by its handler.
    pub fn bytes(status: u16, json: Vec<u8>) -> Self {
        Reply {
            status,
            body: ReplyBody::Bytes(json),
            position: None,
        }
    }

    /// Adds `X-Ledger-Position: p:offset,…`: the applied position of every partition when the
    /// reply was read.
    pub fn with_position(mut self, position: String) -> Self {
        self.position = Some(position);
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let mut response = match self.body {
            ReplyBody::Value(v) => (status, Json(v)).into_response(),
            ReplyBody::Bytes(b) => (
                status,
                [(
                    axum::http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                b,
            )
                .into_response(),
        };
        if let Some(p) = self.position.and_then(|p| HeaderValue::from_str(&p).ok()) {
            response.headers_mut().insert("x-ledger-position", p);
        }
        response
    }
}

/// The applied positions as `partition:next_offset` pairs, read before the query so the reply
/// reflects at least that position.
pub fn position_header(app: &AppState) -> String {
    app.bus
        .applied_positions()
        .iter()
        .enumerate()
        .map(|(p, o)| format!("{p}:{o}"))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/commands/{command_id}", get(command_outcome))
        .route("/openapi.json", get(openapi))
        .route("/log/positions", get(log_positions))
        .route("/digest", get(digest))
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, description = "`{\"status\":\"ok\"}`")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The recorded outcome of a command: status, log positions, events, refusal. Answers the
/// admin token, or the family credential whose scope holds the command (property and BaaS
/// sign the request as their GETs do, call-center users send their bearer token).
#[utoipa::path(get, path = "/commands/{command_id}", tag = "system",
    params(("command_id" = String, Path, description = "The command id (transaction-id, tradeSeq, …)")),
    responses((status = 200, description = "The outcome"),
        (status = 401, description = "No valid credential"),
        (status = 403, description = "The command is outside the credential's scope"),
        (status = 404, description = "No such command has been projected")))]
pub async fn command_outcome(
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    at_query: Option<axum::Extension<crate::audit::SignedQuery>>,
    Path(command_id): Path<String>,
) -> Reply {
    // Under `at=` the audit layer has taken `at` off the URI; the client signed the query it
    // sent.
    let signed = at_query
        .map(|axum::Extension(crate::audit::SignedQuery(q))| q)
        .or(raw)
        .filter(|q| !q.is_empty())
        .map(|q| format!("?{q}").into_bytes())
        .unwrap_or_default();
    let caller = match crate::access::authenticate_any(&app, &headers, &signed) {
        Ok(c) => c,
        Err(f) => return refused(&f),
    };
    let position = position_header(&app);
    let command_id = resolve_command_id(&app, &caller, command_id);
    // Authorized on the stored record, before any event is read back from the log.
    let found = app
        .store
        .command_record(&command_id)
        .map_err(|e| e.to_string());
    let found = match found {
        Ok(Some(record)) => match caller.may_read(&record.key, &command_id) {
            Ok(()) => crate::execute::outcome_of(&app, record).await.map(Some),
            Err(f) => return refused(&f).with_position(position),
        },
        other => other.map(|_| None),
    };
    match found {
        Ok(Some(outcome)) => Reply::json(200, serde_json::to_value(outcome).unwrap_or(Value::Null)),
        Ok(None) => Reply::json(
            404,
            json!({"error": "unknown command", "commandId": command_id}),
        ),
        Err(e) => Reply::json(503, json!({"error": e})),
    }
    .with_position(position)
}

/// The stored id a client's id stands for: itself when it is stored, else the id under the
/// caller's namespace (`property:{app}:{id}`, `callcenter:{user}:{id}`), or, for the admin,
/// under the first configured credential's namespace that holds it.
fn resolve_command_id(app: &AppState, caller: &crate::access::Caller, id: String) -> String {
    use crate::access::Caller;
    let stored = |id: &str| matches!(app.store.command_record(id), Ok(Some(_)));
    if stored(&id) {
        return id;
    }
    let candidates: Vec<String> = match caller {
        Caller::Family(p) => vec![p.command_id(&id)],
        Caller::Admin => app
            .auth
            .property_apps
            .iter()
            .map(|a| format!("property:{}:{id}", a.app_id))
            .chain(
                app.auth
                    .callcenter_users
                    .iter()
                    .map(|u| format!("callcenter:{}:{id}", u.user)),
            )
            .collect(),
    };
    candidates.into_iter().find(|c| stored(c)).unwrap_or(id)
}

/// The signed digest of the log's heads (admin token): store it elsewhere every hour, and
/// `ledger verify --digest FILE` tells whether the log still extends it.
#[utoipa::path(get, path = "/digest", tag = "system",
    responses(
        (status = 200, description = "`{\"format\",\"issued_at\",\"partitions\":[{\"partition\",\"end\",\"hash\"}],\"public_key\",\"signature\"}`"),
        (status = 401, description = "The admin token is missing or wrong"),
        (status = 503, description = "No log here (read-only or Kafka mode)")))]
pub async fn digest(State(app): State<AppState>) -> Reply {
    let Some(anchor) = app.anchor.clone() else {
        return Reply::json(
            503,
            json!({"error": "this node has no embedded log to digest"}),
        );
    };
    match tokio::task::spawn_blocking(move || anchor.digest()).await {
        Ok(Ok(d)) => Reply::json(200, d),
        Ok(Err(e)) => Reply::json(503, json!({"error": e})),
        Err(e) => Reply::json(503, json!({"error": e.to_string()})),
    }
}

/// A refusal of a family-independent endpoint: `{"error":…,"reason":…}` with the failure's
/// status.
fn refused(failure: &ledger_wire::codes::Failure) -> Reply {
    let wire = failure.to_wire(ledger_wire::codes::Family::Utility);
    Reply::json(
        wire.status,
        json!({"error": wire.message, "reason": wire.reason}),
    )
}

/// The OpenAPI 3 description of every endpoint.
#[utoipa::path(get, path = "/openapi.json", tag = "system", responses((status = 200, description = "OpenAPI document")))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}

/// Per partition: the log's end (next offset to write) and the projection's applied position.
#[utoipa::path(get, path = "/log/positions", tag = "system",
    responses((status = 200, description = "`{\"partitions\":[{\"partition\":0,\"end\":N,\"applied\":M}],\"events\":total,\"read_model_digest\":\"sha256\"}`")))]
pub async fn log_positions(State(app): State<AppState>) -> Json<Value> {
    let applied = app.bus.applied_positions();
    let ends = app.bus.log_ends();
    let partitions: Vec<Value> = ends
        .iter()
        .enumerate()
        .map(|(p, end)| json!({"partition": p, "end": end, "applied": applied.get(p).copied().unwrap_or(0)}))
        .collect();
    let digest = app.store.digest().unwrap_or_default();
    Json(
        json!({"partitions": partitions, "events": ends.iter().sum::<u64>(), "read_model_digest": digest}),
    )
}
