//! `serve --access-log`: one line per request (method, path, status, duration in ms, reply
//! bytes) through tracing, so it goes where the other logs go (stderr, text or JSON). It wraps
//! the whole router from the binary's wiring, outside the API's own layers, so it sees the
//! status the client gets (the family envelopes of 404/405/413 included).

use axum::body::HttpBody;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// The tracing target of the access lines; `--access-log` enables it at `info` whatever
/// `RUST_LOG` says.
pub const TARGET: &str = "access";

/// The middleware (`axum::middleware::from_fn`). The duration runs until the reply's head is
/// ready; a streamed body's bytes are those it announced (absent when it announced none).
pub async fn log(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let bytes = res.body().size_hint().exact().or_else(|| {
        res.headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
    });
    tracing::info!(
        target: TARGET,
        method = %method,
        path = %path,
        status = res.status().as_u16(),
        duration_ms = format_args!("{:.3}", started.elapsed().as_secs_f64() * 1000.0),
        bytes,
        "request"
    );
    res
}
