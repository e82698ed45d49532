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
            Ok(bytes) => Reply {
                status,
                body: ReplyBody::Bytes(bytes),
                position: None,
            },
            Err(e) => Reply::json(500, json!({"error": e.to_string()})),
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
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, description = "`{\"status\":\"ok\"}`")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The recorded outcome of a command: status, log positions, events, refusal.
#[utoipa::path(get, path = "/commands/{command_id}", tag = "system",
    params(("command_id" = String, Path, description = "The command id (transaction-id, tradeSeq, …)")),
    responses((status = 200, description = "The outcome"), (status = 404, description = "No such command has been projected")))]
pub async fn command_outcome(State(app): State<AppState>, Path(command_id): Path<String>) -> Reply {
    let position = position_header(&app);
    match crate::execute::outcome(&app, &command_id).await {
        Ok(Some(outcome)) => Reply::json(200, serde_json::to_value(outcome).unwrap_or(Value::Null)),
        Ok(None) => Reply::json(
            404,
            json!({"error": "unknown command", "commandId": command_id}),
        ),
        Err(e) => Reply::json(503, json!({"error": e})),
    }
    .with_position(position)
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
