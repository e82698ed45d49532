//! Handlers against in-memory ports: a fake `ReadModels` and a `FixedClock`. They prove the API
//! needs no store adapter to answer and takes "now" (the dashboard's as-of and BaaS default
//! window, a command's `issued_at` and generated id) from the clock it is given, not the
//! system's: the fixed instant lies years in the past, so a system-clock read shows.

use crate::audit::ReadOnlyBus;
use crate::bus::{BoxFuture, BusError, CommandBus, Decided, Submission};
use crate::{AppState, Metrics};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use ledger_core::baas::{BillPost, BillRow, UsageRow};
use ledger_core::callcenter::report::{CostCenter, SummaryCell, UsageCell};
use ledger_core::callcenter::{OperatorBill, Tariff};
use ledger_core::property::{BillRule, FeeConfig, Room, RoomFee};
use ledger_core::utility::OweRecord;
use ledger_core::{FixedClock, OutcomeRecord, Position, ReadError, ReadModels};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// Read models holding only BaaS bills, by (tenant, customer).
#[derive(Default)]
struct FakeReadModels {
    bills: BTreeMap<(String, String), Vec<BillRow>>,
}

impl ReadModels for FakeReadModels {
    fn fee_configs(&self, _: &str, _: Option<&str>) -> Result<Vec<FeeConfig>, ReadError> {
        Ok(Vec::new())
    }
    fn room(&self, _: &str, _: &str) -> Result<Option<Room>, ReadError> {
        Ok(None)
    }
    fn fees_and_rules(
        &self,
        _: &str,
        _: Option<&str>,
    ) -> Result<(Vec<RoomFee>, Vec<BillRule>), ReadError> {
        Ok((Vec::new(), Vec::new()))
    }
    fn fee_communities(&self) -> Result<BTreeSet<String>, ReadError> {
        Ok(BTreeSet::new())
    }
    fn communities(&self) -> Result<BTreeMap<String, ledger_core::CommunityCounts>, ReadError> {
        Ok(BTreeMap::new())
    }
    fn baas_customer(
        &self,
        tenant_id: &str,
        ext_cust_id: &str,
    ) -> Result<(Vec<BillRow>, Vec<UsageRow>), ReadError> {
        let key = (tenant_id.to_string(), ext_cust_id.to_string());
        Ok((
            self.bills.get(&key).cloned().unwrap_or_default(),
            Vec::new(),
        ))
    }
    fn baas_customers(&self) -> Result<BTreeMap<String, BTreeSet<String>>, ReadError> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (tenant, customer) in self.bills.keys() {
            out.entry(tenant.clone())
                .or_default()
                .insert(customer.clone());
        }
        Ok(out)
    }
    fn utility_records(&self, _: &str) -> Result<Vec<OweRecord>, ReadError> {
        Ok(Vec::new())
    }
    fn utility_books(&self) -> Result<BTreeMap<String, Vec<OweRecord>>, ReadError> {
        Ok(BTreeMap::new())
    }
    fn utility_accounts(&self) -> Result<BTreeMap<String, u64>, ReadError> {
        Ok(BTreeMap::new())
    }
    fn tariff(&self, _: u64) -> Result<Option<Tariff>, ReadError> {
        Ok(None)
    }
    fn tariffs(&self) -> Result<Vec<Tariff>, ReadError> {
        Ok(Vec::new())
    }
    fn summary_cells(&self, _: Option<i64>) -> Result<Vec<SummaryCell>, ReadError> {
        Ok(Vec::new())
    }
    fn usage_cells(&self) -> Result<Vec<UsageCell>, ReadError> {
        Ok(Vec::new())
    }
    fn operator_reports(&self) -> Result<Vec<OperatorBill>, ReadError> {
        Ok(Vec::new())
    }
    fn cost_centers(&self) -> Result<BTreeMap<(String, String), CostCenter>, ReadError> {
        Ok(BTreeMap::new())
    }
    fn call_types(&self) -> Result<Vec<String>, ReadError> {
        Ok(Vec::new())
    }
    fn number_types(&self) -> Result<Vec<String>, ReadError> {
        Ok(Vec::new())
    }
    fn command_record(&self, _: &str) -> Result<Option<OutcomeRecord>, ReadError> {
        Ok(None)
    }
    fn positions(&self, partitions: u32) -> Result<Vec<u64>, ReadError> {
        Ok(vec![0; partitions as usize])
    }
    fn positions_and_digest(&self, partitions: u32) -> Result<(Vec<u64>, String), ReadError> {
        Ok((vec![0; partitions as usize], String::new()))
    }
    fn digest(&self) -> Result<String, ReadError> {
        Ok(String::new())
    }
    fn size_on_disk(&self) -> Result<u64, ReadError> {
        Ok(0)
    }
}

/// A bus that keeps what it is given and decides nothing.
#[derive(Default)]
struct RecordingBus {
    submitted: Mutex<Vec<Submission>>,
}

impl CommandBus for RecordingBus {
    fn submit(&self, submission: Submission) -> BoxFuture<Result<Decided, BusError>> {
        self.submitted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(submission);
        Box::pin(async { Err(BusError::Unavailable("recording only".into())) })
    }
    fn wait_projected(&self, _: Position, _: Instant) -> BoxFuture<bool> {
        Box::pin(async { false })
    }
    fn applied_positions(&self) -> Vec<u64> {
        vec![0]
    }
    fn log_ends(&self) -> Vec<u64> {
        vec![0]
    }
    fn read_events(
        &self,
        _: u32,
        _: u64,
        _: u64,
    ) -> BoxFuture<Result<Vec<ledger_core::EventEnvelope>, BusError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// 2024-03-15 04:00:00 UTC, 12:00 in Asia/Shanghai.
fn fixed_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 15, 4, 0, 0).unwrap()
}

fn app(bus: Arc<dyn CommandBus>, store: FakeReadModels) -> AppState {
    AppState {
        bus,
        store: Arc::new(store),
        clock: Arc::new(FixedClock(fixed_instant())),
        command_wait: std::time::Duration::from_secs(1),
        metrics: Arc::new(Metrics::new()),
        auth: Arc::default(),
        edge: Arc::default(),
        timezone: chrono_tz::Asia::Shanghai,
        anchor: None,
    }
}

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn bill(customer: &str, id: &str, month: u32, amount: &str) -> BillRow {
    let start = local(&format!("2024-{month:02}-01 00:00:00"));
    BillRow {
        bill: BillPost {
            tenant_id: "T1".into(),
            ext_cust_id: customer.into(),
            service_id: "S1".into(),
            bill_id: id.into(),
            period_start: start,
            period_end: start + chrono::Duration::days(28),
            amount: serde_json::from_value(serde_json::json!(amount)).unwrap(),
        },
        paid: serde_json::from_value(serde_json::json!("0")).unwrap(),
        absorbed_usage: Vec::new(),
    }
}

#[tokio::test]
async fn the_dashboard_reads_now_and_its_rows_through_the_ports() {
    // C1's March bill covers the clock's instant; C2's only bill is January's.
    let mut store = FakeReadModels::default();
    store.bills.insert(
        ("T1".into(), "C1".into()),
        vec![bill("C1", "B1", 1, "5"), bill("C1", "B2", 3, "12.3456")],
    );
    store
        .bills
        .insert(("T1".into(), "C2".into()), vec![bill("C2", "B3", 1, "7")]);
    let bus = Arc::new(ReadOnlyBus {
        positions: vec![4],
        log: None,
    });
    let reply = crate::ui::arrears(
        State(app(bus, store)),
        Query(crate::ui::ArrearsQuery { as_of: None }),
    )
    .await;
    let (status, body) = crate::audit::reply_json(reply.into_response()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["asOf"], "2024-03-15 12:00:00");
    assert_eq!(body["position"], "0:4");
    assert_eq!(
        body["tenants"],
        serde_json::json!([{
            "tenantId": "T1",
            "customers": [
                {"extCustId": "C1", "feeOwed": "12346"},
                {"extCustId": "C2", "feeOwed": "0"},
            ],
            "feeOwed": "12346",
        }])
    );
}

#[tokio::test]
async fn a_command_is_issued_at_the_clocks_instant() {
    let bus = Arc::new(RecordingBus::default());
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        format!("Bearer {}", crate::auth::demo::CALLCENTER_TOKEN)
            .parse()
            .unwrap(),
    );
    let body = r#"{"bg":"BG1","bu":"BU1","cost_center":"CC","cost_center_code":"C01"}"#;
    let reply = crate::callcenter::assign_cost_center(
        State(app(bus.clone(), FakeReadModels::default())),
        headers,
        body.into(),
    )
    .await;
    let (status, _) = crate::audit::reply_json(reply).await;
    assert_eq!(status, 503, "the recording bus decides nothing");
    let submitted = bus.submitted.lock().unwrap();
    let [submission] = submitted.as_slice() else {
        panic!("one submission expected, got {}", submitted.len());
    };
    assert_eq!(submission.meta.issued_at, fixed_instant());
    // No X-Request-Id: the generated id is a UUIDv7 of the clock's instant.
    let id = uuid::Uuid::parse_str(&submission.meta.command_id).unwrap();
    let (seconds, _) = id.get_timestamp().expect("a v7 id").to_unix();
    assert_eq!(seconds, fixed_instant().timestamp() as u64);
}
