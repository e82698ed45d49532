//! ledger-api: the HTTP face of the ledger. One router per seed family, each speaking its
//! seed's wire format; commands go through the `CommandBus` port, queries read core's
//! `ReadModels` port and "now" comes from core's `Clock` port (the binary wires the adapters).

pub mod access;
pub mod audit;
pub mod auth;
pub mod baas;
pub mod backup;
pub mod bus;
pub mod callcenter;
pub mod edge;
pub mod execute;
pub mod family;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod outcome;
#[cfg(test)]
mod ports_tests;
pub mod property;
pub mod query;
pub mod system;
pub mod ui;
pub mod utility;

use axum::Router;
use ledger_core::{Clock, ReadModels};
use std::sync::Arc;
use std::time::Duration;

pub use bus::{BusError, CommandBus, Decided, Origin, Submission};
pub use metrics::{Metrics, Verdict};

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    pub bus: Arc<dyn CommandBus>,
    pub store: Arc<dyn ReadModels>,
    /// The wall clock "now" is read from (the system clock in the binary, a fixed one in tests).
    pub clock: Arc<dyn Clock>,
    /// How long a command request waits for its outcome to be projected before answering 202
    /// with the command id.
    pub command_wait: Duration,
    /// The process's metrics registry, shared with the engine.
    pub metrics: Arc<Metrics>,
    /// The credentials every family's requests are checked against.
    pub auth: Arc<auth::AuthConfig>,
    /// The edge's timeouts and connection limit.
    pub edge: Arc<edge::EdgeConfig>,
    /// The business time zone: `req-time` is checked, and "now" of listFee, the BaaS default
    /// window and the dashboard is read, in it.
    pub timezone: chrono_tz::Tz,
    /// Signs the log's heads for `GET /digest`; None where there is no log (read-only, Kafka).
    pub anchor: Option<Arc<dyn access::Anchor>>,
}

/// The host's time zone (`TZ`, else the system's), UTC when it cannot be read or is not an IANA
/// name chrono-tz knows.
pub fn host_timezone() -> chrono_tz::Tz {
    std::env::var("TZ")
        .ok()
        .map(|tz| tz.trim_start_matches(':').to_string())
        .or_else(|| iana_time_zone::get_timezone().ok())
        .and_then(|name| name.parse().ok())
        .unwrap_or(chrono_tz::UTC)
}

impl AppState {
    /// The clock's "now" in the business time zone.
    pub fn now(&self) -> chrono::NaiveDateTime {
        self.clock
            .now_utc()
            .with_timezone(&self.timezone)
            .naive_local()
    }
}

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    let body_timeout = Duration::from_secs(state.edge.body_timeout_s.max(1));
    let routes = Router::new()
        .merge(property::routes())
        .merge(system::routes())
        .merge(callcenter::routes())
        .merge(baas::routes())
        .merge(utility::routes())
        .merge(ops::routes())
        .merge(ui::routes())
        .merge(backup::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
            access::admin_gate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            ops::track,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
        .with_state(state);
    edge::harden(routes, metrics, body_timeout)
}
