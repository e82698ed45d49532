//! `ledger dry-run`: decide and project a file of command envelopes on a scratch copy of the log
//! (copied event by event, then replayed into a scratch store) and print which read-model rows
//! would change and how, plus every property fee whose price or arrears (the listFee view)
//! would change. The live log and store are only read. The report is text for people or JSON
//! for scripts (`--format json`); a refused or unreadable command makes it a failure (exit 1).

use super::export::printable_key;
use crate::engine::Engine;
use anyhow::Context;
use ledger_api::bus::{CommandBus, Decided, Origin, Submission};
use ledger_api::{AppState, audit::ReadOnlyBus};
use ledger_core::EventLog;
use ledger_log::EmbeddedLog;
use ledger_store::ReadStore;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

/// What the dry run found: the text report and the same as JSON.
pub struct Report {
    pub text: String,
    /// `{"commands":[…],"rows":[…],"arrears":[…],"ok":bool}`.
    pub json: Value,
    /// No command was refused, unreadable or left undecided.
    pub ok: bool,
}

/// Runs the dry run and returns the report.
pub fn run(data_dir: &Path, commands: &Path, as_of: Option<&str>) -> anyhow::Result<Report> {
    let lines = std::fs::read_to_string(commands)
        .with_context(|| format!("cannot read {}", commands.display()))?;
    let scratch = std::env::temp_dir().join(format!("ledger-dry-run-{}", std::process::id()));
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)?;
    }
    let result = run_in(data_dir, &lines, as_of, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn run_in(
    data_dir: &Path,
    lines: &str,
    as_of: Option<&str>,
    scratch: &Path,
) -> anyhow::Result<Report> {
    let live = EmbeddedLog::open_existing(&crate::log_dir(data_dir))?;
    let copy = Arc::new(EmbeddedLog::open_or_create(
        &crate::log_dir(scratch),
        live.partitions(),
    )?);
    for p in 0..live.partitions() {
        let mut next = 0;
        loop {
            let batch = live.read(p, next, 4096)?;
            let Some(last) = batch.last() else { break };
            next = last.offset + 1;
            copy.append(&batch)?;
        }
    }
    drop(live);
    let store = Arc::new(ReadStore::open(&crate::store_dir(scratch))?);
    let engine = Arc::new(Engine::start(
        copy,
        store.clone(),
        Arc::new(ledger_api::Metrics::new()),
    )?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    // The engine projects the copied log in its own thread: the "before" picture must wait for
    // it, or every row would look new.
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    while !ledger_api::CommandBus::ready(engine.as_ref()) {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the scratch copy did not finish projecting"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let before_rows = store.dump()?;
    let before_fees = runtime.block_on(fee_views(&store, &before_rows, as_of));
    let mut report = String::new();
    let mut outcomes = Vec::new();
    let mut ok = true;
    let mut outcome = |line: usize, id: Option<&str>, what: &str, detail: String| {
        ok &= what == "accepted" || what == "duplicate";
        outcomes.push(json!({"line": line, "commandId": id, "outcome": what, "detail": detail}));
    };
    for (n, line) in lines.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (meta, command) = match ledger_wire::command::decode_envelope(
            line.as_bytes(),
            None,
            chrono::Utc::now(),
        ) {
            Ok(decoded) => decoded,
            Err(u) => {
                writeln!(
                    report,
                    "command line {}: unreadable: {}",
                    n + 1,
                    u.rejection
                )?;
                outcome(n + 1, None, "unreadable", u.rejection.to_string());
                continue;
            }
        };
        let id = meta.command_id.clone();
        let decided = runtime.block_on(engine.submit(Submission {
            meta,
            command,
            origin: Origin::Http,
            body: line.as_bytes().to_vec(),
        }));
        match decided {
            Ok(Decided::Logged { last, duplicate }) => {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
                runtime.block_on(engine.wait_projected(last, deadline));
                let (what, text) = if duplicate {
                    ("duplicate", "already decided, nothing new")
                } else {
                    ("accepted", "accepted")
                };
                writeln!(report, "command {id}: {text}")?;
                outcome(n + 1, Some(&id), what, String::new());
            }
            Ok(Decided::Refused(r)) => {
                writeln!(report, "command {id}: refused: {r}")?;
                outcome(n + 1, Some(&id), "refused", r.to_string());
            }
            Err(e) => {
                writeln!(report, "command {id}: not decided: {e}")?;
                outcome(n + 1, Some(&id), "not_decided", e.to_string());
            }
        }
    }
    let after_rows = store.dump()?;
    let after_fees = runtime.block_on(fee_views(&store, &after_rows, as_of));
    let (rows_text, rows) = row_changes(&before_rows, &after_rows);
    let (fees_text, arrears) = fee_changes(&before_fees, &after_fees);
    report.push_str(&rows_text);
    report.push_str(&fees_text);
    drop(runtime);
    if let Ok(engine) = Arc::try_unwrap(engine) {
        engine.shutdown()?;
    }
    report.push_str("live log and read models untouched (the dry run used a scratch copy)\n");
    Ok(Report {
        text: report,
        json: json!({"commands": outcomes, "rows": rows, "arrears": arrears, "ok": ok}),
        ok,
    })
}

/// Every changed row (commands' outcome records and positions left out: they always change), as
/// text and as `{"key","change":"added|removed|changed","before","after"}`.
fn row_changes(
    before: &[(Vec<u8>, Vec<u8>)],
    after: &[(Vec<u8>, Vec<u8>)],
) -> (String, Vec<Value>) {
    let skip = |k: &[u8]| {
        k.starts_with(ledger_store::keys::COMMAND) || k.starts_with(ledger_store::keys::POSITION)
    };
    let old: BTreeMap<&[u8], &[u8]> = before
        .iter()
        .filter(|(k, _)| !skip(k))
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    let new: BTreeMap<&[u8], &[u8]> = after
        .iter()
        .filter(|(k, _)| !skip(k))
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    let mut out = String::new();
    let mut changed = 0;
    let mut json_rows = Vec::new();
    let row = |v: Option<&&[u8]>| {
        v.map(|b| {
            serde_json::from_slice::<Value>(b)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned()))
        })
    };
    for key in old
        .keys()
        .chain(new.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (a, b) = (old.get(key), new.get(key));
        if a == b {
            continue;
        }
        changed += 1;
        let k = printable_key(key);
        let change = match (a, b) {
            (None, _) => "added",
            (_, None) => "removed",
            _ => "changed",
        };
        json_rows.push(json!({"key": k, "change": change, "before": row(a), "after": row(b)}));
        match (a, b) {
            (None, Some(v)) => {
                let _ = writeln!(out, "+ {k}: {}", String::from_utf8_lossy(v));
            }
            (Some(v), None) => {
                let _ = writeln!(out, "- {k}: {}", String::from_utf8_lossy(v));
            }
            (Some(a), Some(b)) => {
                let _ = writeln!(out, "~ {k}");
                out.push_str(&field_changes(a, b));
            }
            (None, None) => {}
        }
    }
    (
        format!("read-model rows changed: {changed}\n{out}"),
        json_rows,
    )
}

/// `field: old → new` for each top-level field of two JSON rows that differs.
pub fn field_changes(a: &[u8], b: &[u8]) -> String {
    let parse = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).ok();
    match (parse(a), parse(b)) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut out = String::new();
            for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                let (x, y) = (a.get(key), b.get(key));
                if x != y {
                    let show = |v: Option<&Value>| v.map(Value::to_string).unwrap_or("∅".into());
                    let _ = writeln!(out, "    {key}: {} → {}", show(x), show(y));
                }
            }
            out
        }
        _ => format!(
            "    {} → {}\n",
            String::from_utf8_lossy(a),
            String::from_utf8_lossy(b)
        ),
    }
}

/// One property fee as listFee shows it: (community, room, fee) → (name, price, arrears).
type FeeKey = (String, String, String);
type FeeFigures = (String, Value, Value, Value);

/// listFee of every community holding rooms or fee configs, as of `as_of` (now when absent).
async fn fee_views(
    store: &Arc<ReadStore>,
    rows: &[(Vec<u8>, Vec<u8>)],
    as_of: Option<&str>,
) -> BTreeMap<FeeKey, FeeFigures> {
    let communities: std::collections::BTreeSet<String> = rows
        .iter()
        .filter(|(k, _)| {
            k.starts_with(ledger_store::keys::ROOM) || k.starts_with(ledger_store::keys::FEE_CONFIG)
        })
        .filter_map(|(_, v)| serde_json::from_slice::<Value>(v).ok())
        .filter_map(|v| {
            v.get("communityId")
                .or_else(|| v.get("community_id"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let state = AppState {
        bus: Arc::new(ReadOnlyBus {
            positions: Vec::new(),
            log: None,
        }),
        store: store.clone(),
        clock: Arc::new(crate::clock::SystemClock),
        command_wait: Duration::from_secs(1),
        metrics: Arc::new(ledger_api::Metrics::new()),
        auth: Arc::new(ledger_api::auth::AuthConfig::default()),
        edge: Arc::default(),
        timezone: ledger_api::host_timezone(),
        anchor: None,
    };
    let mut out = BTreeMap::new();
    for community in communities {
        // The listFee view itself, in-process: the dry run reads its own scratch store and
        // needs no credentials.
        let reply = ledger_api::property::list_fee_view(
            &state,
            ledger_api::property::ListFeeQuery {
                community_id: Some(community.clone()),
                payer_obj_id: None,
                as_of: as_of.map(str::to_string),
            },
        );
        let (_, body) = ledger_api::audit::reply_json(reply).await;
        let fees = body["data"]["fees"].as_array().cloned().unwrap_or_default();
        for fee in fees {
            let text = |k: &str| fee[k].as_str().unwrap_or_default().to_string();
            out.insert(
                (community.clone(), text("payerObjId"), text("feeId")),
                (
                    text("feeName"),
                    fee["feePrice"].clone(),
                    fee["oweMonths"].clone(),
                    fee["amountOwed"].clone(),
                ),
            );
        }
    }
    out
}

fn fee_changes(
    before: &BTreeMap<FeeKey, FeeFigures>,
    after: &BTreeMap<FeeKey, FeeFigures>,
) -> (String, Vec<Value>) {
    let mut out = String::new();
    let mut changes = Vec::new();
    let figures = |f: &FeeFigures| json!({"feePrice": f.1, "oweMonths": f.2, "amountOwed": f.3});
    let none = (String::new(), Value::Null, Value::Null, Value::Null);
    for key in before
        .keys()
        .chain(after.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (a, b) = (
            before.get(key).unwrap_or(&none),
            after.get(key).unwrap_or(&none),
        );
        if a == b {
            continue;
        }
        let (community, room, fee) = key;
        let name = if b.0.is_empty() { &a.0 } else { &b.0 };
        changes.push(json!({
            "communityId": community, "payerObjId": room, "feeId": fee, "feeName": name,
            "before": figures(a), "after": figures(b),
        }));
        let _ = writeln!(
            out,
            "arrears community {community} room {room} fee {fee} ({name}): feePrice {} → {}, oweMonths {} → {}, amountOwed {} → {}",
            a.1, b.1, a.2, b.2, a.3, b.3
        );
    }
    let text = if out.is_empty() {
        "property arrears: no change\n".into()
    } else {
        format!("property arrears (listFee):\n{out}")
    };
    (text, changes)
}
