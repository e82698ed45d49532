//! Operator endpoints: Prometheus metrics, readiness; and the middleware counting every HTTP
//! request by matched route and status.

use crate::{AppState, Metrics};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/readyz", get(readyz))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String)))]
pub async fn metrics(State(app): State<AppState>) -> Response {
    let text = app.metrics.render(
        &app.bus.log_ends(),
        &app.bus.applied_positions(),
        app.store.size_on_disk().ok(),
    );
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// Readiness: 200 once the projection has caught up with the log as it stood at start-up, 503
/// until then (queries before that would answer from stale read models).
#[utoipa::path(get, path = "/readyz", tag = "system",
    responses(
        (status = 200, description = "Ready: `{\"ready\":true}`", body = Object),
        (status = 503, description = "Still catching up: `{\"ready\":false}`", body = Object)))]
pub async fn readyz(State(app): State<AppState>) -> Response {
    let ready = app.bus.ready();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(json!({"ready": ready}))).into_response()
}

/// Counts and times every request under its route template (`/commands/{command_id}`, not the
/// concrete id, so the label set stays bounded); unmatched paths count as `unmatched`. Its
/// state is the registry alone (see `access::admin_gate`).
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = request.method().as_str().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let took = started.elapsed();
    metrics.observe_http(&route, &method, status, took);
    tracing::debug!(%route, %method, status, took_ms = took.as_secs_f64() * 1e3, "request");
    response
}
