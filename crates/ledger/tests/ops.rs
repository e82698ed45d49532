//! Operator experience end to end (issue 10): every route is in the OpenAPI document and every
//! documented operation is routed; `/metrics` counts exactly the commands sent; `/readyz` only
//! says ready once the projection has caught up; SIGTERM during a command stream loses no
//! acknowledged command and exits 0.

mod common;

use common::Server;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const METHODS: &[&str] = &["get", "post", "put", "delete", "patch"];

/// Every `(METHOD, path)` the routers register, read from the `.route(…)` calls of each
/// module's `routes()` in the ledger-api sources: the single place routes are declared.
fn declared_routes() -> BTreeSet<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../ledger-api/src");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for chunk in text.split(".route(").skip(1) {
            // A chunk runs to the next `.route(` or to the end of the `routes()` function.
            let chunk = chunk.split("\n}").next().unwrap();
            let route = chunk.split('"').nth(1).unwrap().to_string();
            let bytes = chunk.as_bytes();
            for method in METHODS {
                let call = format!("{method}(");
                let routed = chunk.match_indices(&call).any(|(i, _)| {
                    i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')
                });
                if routed {
                    routes.insert((method.to_uppercase(), route.clone()));
                }
            }
        }
    }
    routes
}

fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if METHODS.contains(&method.as_str()) {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[test]
fn openapi_documents_every_route_and_only_routed_operations() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let doc = server.get("/openapi.json").body;
    assert_eq!(doc["openapi"].as_str().unwrap().chars().next(), Some('3'));
    let documented = documented_operations(&doc);
    let declared = declared_routes();
    assert!(declared.len() >= 30, "found only {declared:?}");

    // The utility seed's URLs end in `/`; the bare form is an alias of the documented one.
    let undocumented: Vec<_> = declared
        .iter()
        .filter(|(m, p)| {
            !documented.contains(&(m.clone(), p.clone()))
                && !documented.contains(&(m.clone(), format!("{p}/")))
        })
        .collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from /openapi.json: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&declared).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );

    // The live router really serves every documented operation: no 405, and no empty 404 from
    // the router's fallback (a handler's own 404 carries a body).
    let client = reqwest::blocking::Client::new();
    for (method, path) in &documented {
        let concrete = path
            .split('/')
            .map(|s| if s.starts_with('{') { "probe" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let r = client
            .request(
                method.parse().unwrap(),
                format!("{}{concrete}", server.base),
            )
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let body = r.text().unwrap();
        assert_ne!(status, 405, "{method} {path}");
        assert!(
            !(status == 404 && body.is_empty()),
            "{method} {path} is not routed"
        );
        assert!(status < 500, "{method} {path} answered {status}: {body}");
    }
    assert_eq!(
        server.log_len(),
        0,
        "probes with empty bodies append nothing"
    );
}

fn fee_config(config_id: &str) -> Value {
    json!({
        "configId": config_id, "feeTypeCd": "1001", "feeName": "物业费", "feeFlag": "1003006",
        "startTime": "2023-01-01", "endTime": "2023-12-31", "computingFormula": "1001",
        "squarePrice": "2.50", "additionalAmount": "0", "communityId": "10001",
        "billType": "MONTHLY"
    })
}

fn save(server: &Server, serial: &str, config_id: &str) -> common::Reply {
    server.post(
        "/app/feeConfig.saveFeeConfig",
        &[("transaction-id", serial)],
        &fee_config(config_id),
    )
}

/// The value of the sample `name{labels}` in a Prometheus text page (0 when absent).
fn sample(page: &str, name_and_labels: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[test]
fn metrics_count_the_commands_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    // 5 accepted creations, 2 repeats of an accepted serial, 3 updates of unknown configs
    // refused by the decider, 1 body refused by the decoder before any decision.
    for i in 0..5 {
        let r = save(&server, &format!("ops-metrics-{i}"), &format!("cfg-{i}"));
        assert_eq!(r.body["code"], "0", "{}", r.body);
    }
    for _ in 0..2 {
        let r = save(&server, "ops-metrics-0", "cfg-0");
        assert_eq!(r.body["code"], "0", "{}", r.body);
    }
    let mut refused_status = 0;
    for i in 0..3 {
        let mut body = fee_config(&format!("unknown-{i}"));
        body["feeFlag"] = json!("Y");
        let r = server.post(
            "/app/feeConfig.updateFeeConfig",
            &[("transaction-id", &format!("ops-metrics-upd-{i}"))],
            &body,
        );
        assert_ne!(r.body["code"], "0", "{}", r.body);
        assert_eq!(r.status / 100, 4);
        refused_status = r.status;
    }
    let r = server.post(
        "/app/feeConfig.saveFeeConfig",
        &[("transaction-id", "ops-metrics-bad")],
        &json!({"configId": "x"}),
    );
    assert_eq!(r.status / 100, 4);
    let events = server.log_len();
    assert_eq!(events, 5, "one event per accepted creation");

    let page = server.get("/metrics");
    assert_eq!(page.status, 200);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let page = page.body.as_str().unwrap().to_string();
    let commands = |t: &str, v: &str| {
        sample(
            &page,
            &format!("ledger_commands_total{{type=\"{t}\",verdict=\"{v}\"}}"),
        )
    };
    assert_eq!(commands("fee_config.create", "accepted"), 5.0);
    assert_eq!(commands("fee_config.create", "duplicate"), 2.0);
    assert_eq!(commands("fee_config.update", "rejected"), 3.0);
    assert_eq!(commands("fee_config.update", "accepted"), 0.0);
    // Every decided command was timed: 5 + 2 + 3 (the malformed body never reached the decider).
    assert_eq!(sample(&page, "ledger_decide_seconds_count"), 10.0);
    assert!(sample(&page, "ledger_project_seconds_count") >= 1.0);
    let http = |route: &str, method: &str, status: u16| {
        sample(
            &page,
            &format!(
                "ledger_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(http("/app/feeConfig.saveFeeConfig", "POST", 200), 7.0);
    assert_eq!(http("/app/feeConfig.saveFeeConfig", "POST", 400), 1.0);
    assert_eq!(
        http("/app/feeConfig.updateFeeConfig", "POST", refused_status),
        3.0
    );
    // Projection has caught up (the commands waited for it): no lag, and ends sum to the log.
    let partitions = server.get("/log/positions").body["partitions"]
        .as_array()
        .unwrap()
        .len();
    let mut ends = 0.0;
    for p in 0..partitions {
        assert_eq!(
            sample(
                &page,
                &format!("ledger_projection_lag{{partition=\"{p}\"}}")
            ),
            0.0
        );
        ends += sample(&page, &format!("ledger_log_end{{partition=\"{p}\"}}"));
    }
    assert_eq!(ends, events as f64);
    assert!(sample(&page, "ledger_store_size_bytes") > 0.0);
}

#[test]
fn readyz_says_ready_only_once_the_projection_caught_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for i in 0..40 {
        assert_eq!(
            save(&server, &format!("ops-ready-{i}"), &format!("c{i}")).status,
            200
        );
    }
    assert_eq!(server.get("/readyz").body, json!({"ready": true}));
    assert_eq!(server.terminate(), Some(0));
    // Without its read store the node must re-project the whole log before it is ready.
    std::fs::remove_dir_all(dir.path().join("store")).unwrap();
    // `Server::start` returns at the first 200 from /readyz.
    let server = Server::start(dir.path());
    let positions = server.get("/log/positions").body;
    for p in positions["partitions"].as_array().unwrap() {
        assert_eq!(
            p["applied"], p["end"],
            "ready before catching up: {positions}"
        );
    }
    assert_eq!(positions["events"], 40);
}

#[test]
fn sigterm_during_a_command_stream_keeps_every_acknowledged_command() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let base = server.base.clone();
            let acked = acked.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .unwrap();
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let serial = format!("ops-term-{w}-{i}");
                    let body = fee_config(&serial).to_string();
                    let mut request = client
                        .post(format!("{base}/app/feeConfig.saveFeeConfig"))
                        .header("content-type", "application/json");
                    let path = "/app/feeConfig.saveFeeConfig";
                    for (k, v) in
                        common::sign(path, &[("transaction-id", &serial)], body.as_bytes())
                    {
                        request = request.header(k, v);
                    }
                    let sent = request.body(body).send();
                    match sent {
                        Ok(r) if r.status() == 200 => {
                            let body: Value = r.json().unwrap();
                            assert_eq!(body["code"], "0", "{body}");
                            acked.lock().unwrap().push(serial);
                        }
                        // After SIGTERM new connections are refused: the stream ends.
                        _ => break,
                    }
                }
            })
        })
        .collect();
    // Let the stream run, then terminate while commands are in flight.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "the command stream never got going"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let code = server.terminate();
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(code, Some(0), "a clean exit on SIGTERM");
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 50);

    let server = Server::start(dir.path());
    for serial in &acked {
        let r = server.get(&format!("/commands/{serial}"));
        assert_eq!(r.status, 200, "acknowledged {serial} is not in the log");
        assert_eq!(r.body["status"], "accepted", "{}", r.body);
    }
    assert!(server.log_len() >= acked.len() as u64);
}

#[test]
fn dashboard_is_served_and_its_summary_refuses_a_bad_date() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let page = server.get("/ui/");
    assert_eq!(page.status, 200);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.body
            .as_str()
            .unwrap()
            .contains(r#"<script src="/ui/dashboard.js">"#)
    );
    let script = server.get("/ui/dashboard.js");
    assert_eq!(script.status, 200);
    assert!(
        script.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );

    let empty = server.get("/ui/api/arrears?asOf=2024-01-01");
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body["asOf"], "2024-01-01 00:00:00");
    assert_eq!(empty.body["communities"], json!([]));
    assert_eq!(empty.body["tenants"], json!([]));
    assert_eq!(
        empty.headers["x-ledger-position"].to_str().unwrap(),
        empty.body["position"].as_str().unwrap()
    );

    let bad = server.get("/ui/api/arrears?asOf=2024-13-45");
    assert_eq!(bad.status, 400);
    assert!(
        bad.body["error"].as_str().unwrap().starts_with("asOf"),
        "{}",
        bad.body
    );
}

/// `/ui/api/verify` answers, without credentials, the rows `/api/bill/verify` answers with the
/// call-center token (same filters, same paging), each with exactly the documented fields, and
/// refuses a malformed filter with 400 naming it.
#[test]
fn dashboard_verify_rows_are_the_call_center_verify_rows() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let tariff = json!({
        "city_id": 71, "workplace_id": 67, "operator_code": 43, "line_batch": "JN-02-DX-01",
        "line_quantity": 2, "did": "0411882544", "minimum_charge_unit_price": 50,
        "month_rent_fee": 100, "call_fee_config": {"0": ["本地手机", "单一", 0.16, 5, 0.98, 1.0, 0.97]},
    });
    assert_eq!(server.post("/api/fee/config/101", &[], &tariff).status, 200);
    let call = json!({"calls": [{
        "call_id": "A-1", "did": "04118825440001", "line_prefix": "JN-02", "city_id": 71,
        "workplace_id": 67, "operator_code": 43, "bg": "房产", "bu": "二手房",
        "business_line": "黄页", "call_type": "本地手机", "number_type": "联通手机",
        "start_time": "2022-03-01 09:00:00", "duration_s": 360,
    }]});
    assert_eq!(server.post("/api/bill/calls", &[], &call).status, 200);
    let bill = json!({
        "bill_date": "2022-03-31", "did": "0411882544", "city_id": 71, "workplace_id": 67,
        "operator_code": 43, "bg": "房产", "bu": "二手房", "fee_strategy": "标准资费",
        "fee_state": true, "call_duration": 960, "tel_fee_total": 150.25, "remark": "",
    });
    assert_eq!(
        server.post("/api/bill/operator/create", &[], &bill).status,
        200
    );

    let unsigned = server.get_unsigned("/api/bill/verify", &[]);
    assert_eq!(unsigned.status, 401);
    for query in [
        "",
        "?city_id=71&operator_code=43",
        "?city_id=72",
        "?page=2&limit=1",
    ] {
        let api = server.get(&format!("/api/bill/verify{query}"));
        let ui = server.get(&format!("/ui/api/verify{query}"));
        assert_eq!(api.status, 200, "{query}: {}", api.body);
        assert_eq!(ui.status, 200, "{query}: {}", ui.body);
        // The same rows, the fees as the number text the API sends (a browser would parse
        // 228.50 into 228.5).
        let mut expected = api.body["data"]["items"].clone();
        for item in expected.as_array_mut().unwrap() {
            for fee in ["operator_total_fee", "billing_total_fee"] {
                item[fee] = json!(item[fee].to_string());
            }
        }
        assert_eq!(ui.body["items"], expected, "{query}");
        assert_eq!(ui.body["total"], api.body["data"]["total"], "{query}");
        assert_eq!(
            ui.headers["x-ledger-position"].to_str().unwrap(),
            ui.body["position"].as_str().unwrap()
        );
    }
    let all = server.get("/ui/api/verify");
    assert_eq!(all.body["total"], 1);
    assert_eq!(all.body["items"][0]["operator_total_fee"], json!("150.25"));
    assert_eq!(all.body["items"][0]["billing_total_fee"], json!("200.00"));

    let doc = server.get("/openapi.json").body;
    let documented: BTreeSet<&str> = doc["components"]["schemas"]["VerifyLine"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let served: BTreeSet<&str> = all.body["items"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(served, documented);

    for (query, field) in [
        ("?city_id=x", "city_id"),
        ("?limit=0", "limit"),
        ("?bill_start_date=2022-13", "bill_start_date"),
    ] {
        let bad = server.get(&format!("/ui/api/verify{query}"));
        assert_eq!(bad.status, 400, "{query}");
        assert!(
            bad.body["error"].as_str().unwrap().contains(field),
            "{query}: {}",
            bad.body
        );
    }
}
