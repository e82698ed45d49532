//! `GET /admin/backup`: a consistent copy of the node's log, streamed while the node keeps
//! serving and taking commands. The cut is taken when the request is handled (every command
//! acknowledged before it is in the copy); the bytes come from [`crate::access::Anchor::backup`]
//! in a blocking thread and reach the client through a small channel, so a slow reader holds
//! back only its own copy, never the writer. `ledger backup` reads it (format: README "Online
//! backup").

use crate::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

/// The media type of the stream: JSON lines (a header, the stored events, a trailer).
pub const CONTENT_TYPE: &str = "application/x-ndjson";

/// Chunks buffered between the log reader and the connection.
const IN_FLIGHT: usize = 4;

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/backup", get(backup))
}

/// A consistent copy of the event log (admin token): JSON lines, a header naming the partition
/// count and every partition's end at the cut, each partition's stored events up to it, and a
/// trailer with the event count (a copy without it was cut short). Kafka and read-only nodes
/// refuse: the event topic is the backup there.
#[utoipa::path(get, path = "/admin/backup", tag = "system",
    responses(
        (status = 200, description = "JSON lines: `{\"format\":\"ledger-backup\",\"version\":1,\"partitions\":N,\"heads\":[{\"next_offset\",\"last_hash\"}]}`, the stored events, `{\"end\":events}`", content_type = "application/x-ndjson", body = String),
        (status = 401, description = "The admin token is missing or wrong"),
        (status = 503, description = "No embedded log here (Kafka mode: the event topic is the backup; read-only node)")))]
pub async fn backup(State(app): State<AppState>) -> Response {
    let Some(anchor) = app.anchor.clone() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(
                json!({"error": "this node has no embedded log to back up: in Kafka \
                mode the event topic is the backup (replicate the topic; `ledger replay --kafka` \
                rebuilds read models from it); a read-only node serves a copy already"}),
            ),
        )
            .into_response();
    };
    let chunks = match tokio::task::spawn_blocking(move || anchor.backup()).await {
        Ok(Ok(chunks)) => chunks,
        Ok(Err(e)) => return unavailable(e),
        Err(e) => return unavailable(e.to_string()),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        for chunk in chunks {
            let failed = chunk.is_err();
            // A closed channel is a client that went away: stop reading the log.
            if tx
                .blocking_send(chunk.map_err(std::io::Error::other))
                .is_err()
                || failed
            {
                break;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        Body::from_stream(stream),
    )
        .into_response()
}

fn unavailable(error: String) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(json!({ "error": error })),
    )
        .into_response()
}
