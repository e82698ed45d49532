//! Prometheus metrics. One `Metrics` registry per process, created by the binary and handed both
//! to the engine (which counts decisions and times deciding and projecting) and to the API (which
//! counts requests and renders `GET /metrics`). The `prometheus` crate was chosen over the
//! `metrics` facade because its registry is an ordinary value: no global recorder, so tests and
//! several nodes in one process never share counters, and the API can own the type the engine
//! writes to without depending on the binary.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::time::Duration;

/// What became of a command the decider saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// New events were logged.
    Accepted,
    /// Refused by the rules (answered, or logged as `command.rejected` for topic commands).
    Rejected,
    /// Its command id had been decided before; nothing was appended.
    Duplicate,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Rejected => "rejected",
            Verdict::Duplicate => "duplicate",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    commands: IntCounterVec,
    decide_seconds: Histogram,
    project_seconds: Histogram,
    http_requests: IntCounterVec,
    http_seconds: HistogramVec,
    log_end: IntGaugeVec,
    applied: IntGaugeVec,
    lag: IntGaugeVec,
    store_size: IntGauge,
    panics: IntCounter,
}

/// Latency buckets from 50µs to 5s: deciding one command takes microseconds, a projection batch
/// or a slow request may take seconds.
const BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0,
];

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let commands = IntCounterVec::new(
            Opts::new(
                "ledger_commands_total",
                "Commands decided, by command type and verdict (accepted, rejected, duplicate); counted once their outcome is durable",
            ),
            &["type", "verdict"],
        )
        .expect("valid metric");
        let decide_seconds = Histogram::with_opts(
            HistogramOpts::new("ledger_decide_seconds", "Time to decide one command")
                .buckets(BUCKETS.to_vec()),
        )
        .expect("valid metric");
        let project_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "ledger_project_seconds",
                "Time to project one batch of events into the read store",
            )
            .buckets(BUCKETS.to_vec()),
        )
        .expect("valid metric");
        let http_requests = IntCounterVec::new(
            Opts::new(
                "ledger_http_requests_total",
                "HTTP requests by matched route, method and status",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let http_seconds = HistogramVec::new(
            HistogramOpts::new(
                "ledger_http_request_seconds",
                "HTTP request latency by route",
            )
            .buckets(BUCKETS.to_vec()),
            &["route"],
        )
        .expect("valid metric");
        let log_end = IntGaugeVec::new(
            Opts::new("ledger_log_end", "Next offset to write, per log partition"),
            &["partition"],
        )
        .expect("valid metric");
        let applied = IntGaugeVec::new(
            Opts::new(
                "ledger_projection_applied",
                "Next offset to project, per log partition",
            ),
            &["partition"],
        )
        .expect("valid metric");
        let lag = IntGaugeVec::new(
            Opts::new(
                "ledger_projection_lag",
                "Events in the log not yet projected (log end - applied), per partition",
            ),
            &["partition"],
        )
        .expect("valid metric");
        let store_size = IntGauge::new(
            "ledger_store_size_bytes",
            "Bytes the read store (read models and decider state) occupies on disk",
        )
        .expect("valid metric");
        let panics = IntCounter::new(
            "ledger_http_panics_total",
            "Requests whose handler panicked (answered 500 in the family's envelope)",
        )
        .expect("valid metric");
        for c in [
            Box::new(commands.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(decide_seconds.clone()),
            Box::new(project_seconds.clone()),
            Box::new(http_requests.clone()),
            Box::new(http_seconds.clone()),
            Box::new(log_end.clone()),
            Box::new(applied.clone()),
            Box::new(lag.clone()),
            Box::new(store_size.clone()),
            Box::new(panics.clone()),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        Metrics {
            registry,
            commands,
            decide_seconds,
            project_seconds,
            http_requests,
            http_seconds,
            log_end,
            applied,
            lag,
            store_size,
            panics,
        }
    }

    pub fn count_panic(&self) {
        self.panics.inc();
    }

    pub fn record_command(&self, command_type: &str, verdict: Verdict) {
        self.commands
            .with_label_values(&[command_type, verdict.label()])
            .inc();
    }

    pub fn observe_decide(&self, took: Duration) {
        self.decide_seconds.observe(took.as_secs_f64());
    }

    pub fn observe_project(&self, took: Duration) {
        self.project_seconds.observe(took.as_secs_f64());
    }

    /// Counts a request; `method` is one of the known HTTP methods or `other`, so a client
    /// cannot grow the label set.
    pub fn observe_http(&self, route: &str, method: &str, status: u16, took: Duration) {
        const KNOWN: &[&str] = &[
            "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
        ];
        let method = if KNOWN.contains(&method) {
            method
        } else {
            "other"
        };
        self.http_requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.http_seconds
            .with_label_values(&[route])
            .observe(took.as_secs_f64());
    }

    /// Refreshes the gauges read at scrape time (log ends, applied positions, lag, store size)
    /// and renders everything in the Prometheus text format.
    pub fn render(&self, log_ends: &[u64], applied: &[u64], store_bytes: Option<u64>) -> String {
        for (p, end) in log_ends.iter().enumerate() {
            let done = applied.get(p).copied().unwrap_or(0);
            let label = p.to_string();
            self.log_end
                .with_label_values(&[&label])
                .set(i64::try_from(*end).unwrap_or(i64::MAX));
            self.applied
                .with_label_values(&[&label])
                .set(i64::try_from(done).unwrap_or(i64::MAX));
            self.lag
                .with_label_values(&[&label])
                .set(i64::try_from(end.saturating_sub(done)).unwrap_or(i64::MAX));
        }
        if let Some(bytes) = store_bytes {
            self.store_size
                .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "cannot render metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
