//! Authentication per family over real HTTP: for every family a missing signature, a wrong
//! one, a stale `req-time` (where the family's scheme has one) and an unknown app are refused
//! with the family's code and append nothing; a reused transaction-id with another body is
//! refused, also after a restart; a config file replaces the demo credentials; `ledger config
//! print` masks secrets.

mod common;

use common::{Server, baas_headers, demo, ledger, md5_hex, property_headers, req_time_now};
use serde_json::{Value, json};

const SAVE_CONFIG: &str = "/app/feeConfig.saveFeeConfig";
const BAAS_BILL: &str = "/occ/http/baas/bills";
const UTILITY_QUERY: &str = "/Service/v1/QueryUserArrearages/";
const TARIFF: &str = "/api/fee/config/1";

fn fee_config(id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "configId": id, "feeTypeCd": "1001", "feeName": "物业费", "feeFlag": "Y",
        "startTime": "2024-01-01", "endTime": "2024-12-31", "computingFormula": "1001",
        "squarePrice": "2.50", "additionalAmount": "10.00", "communityId": "c1", "billType": "MONTHLY"
    }))
    .unwrap()
}

/// A refusal case: its name, the headers sent, what the message must say.
type Case<'a> = (&'a str, Vec<(String, String)>, &'a str);

/// A call-center refusal case: name, headers, what the message must say.
type HeaderCase<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

fn refs(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// `headers` without `name`.
fn without(h: &[(String, String)], name: &str) -> Vec<(String, String)> {
    h.iter().filter(|(k, _)| k != name).cloned().collect()
}

/// `headers` with `name` set to `value`.
fn with(h: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut out = without(h, name);
    out.push((name.into(), value.into()));
    out
}

/// A `req-time` ten minutes ago (outside the default 300 s window).
fn stale_req_time() -> String {
    (chrono::Local::now() - chrono::Duration::seconds(600))
        .format("%Y%m%d%H%M%S")
        .to_string()
}

#[test]
fn property_refusals_are_401_and_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let body = fee_config("cfg-1");
    let good = property_headers("T-1", &req_time_now(), &body);
    let stale_time = stale_req_time();
    let stale = property_headers("T-1", &stale_time, &body);
    // Signed correctly, but with another app's id: the app is unknown.
    let other_app = with(&good, "app-id", "other-app");
    let cases: Vec<Case> = vec![
        ("missing sign", without(&good, "sign"), "sign"),
        ("missing app-id", without(&good, "app-id"), "app-id"),
        ("missing req-time", without(&good, "req-time"), "req-time"),
        (
            "missing token",
            without(&good, "Authorization"),
            "Authorization",
        ),
        (
            "wrong sign",
            with(&good, "sign", &"0".repeat(32)),
            "wrong sign",
        ),
        ("stale req-time", stale, "window"),
        ("unknown app", other_app, "unknown app-id"),
        (
            "wrong token",
            with(&good, "Authorization", "Bearer nope"),
            "wrong bearer token",
        ),
        (
            "malformed req-time",
            with(&good, "req-time", "2024-01-01"),
            "YYYYMMDDhhmmss",
        ),
    ];
    for (name, headers, says) in cases {
        let r = server.post_unsigned(SAVE_CONFIG, &refs(&headers), &body);
        assert_eq!(r.status, 401, "{name}: {}", r.body);
        assert_eq!(r.body["code"], "401", "{name}");
        let msg = r.body["msg"].as_str().unwrap();
        assert!(msg.contains(says), "{name}: {msg:?} says {says:?}");
        assert_eq!(server.log_len(), 0, "{name}: nothing appended");
    }
    // The body is signed: the same headers over another body fail.
    let r = server.post_unsigned(SAVE_CONFIG, &refs(&good), &fee_config("cfg-2"));
    assert_eq!((r.status, &r.body["code"]), (401, &json!("401")));
    // A GET signs its query string.
    let q = "/app/feeConfig.listFeeConfigs?communityId=c1";
    let r = server.get_unsigned(q, &[]);
    assert_eq!((r.status, &r.body["code"]), (401, &json!("401")));
    let h = property_headers("Q-1", &req_time_now(), b"?communityId=c2");
    let r = server.get_unsigned(q, &refs(&h));
    assert_eq!(r.status, 401, "signed for another query");
    let h = property_headers("Q-1", &req_time_now(), b"?communityId=c1");
    let r = server.get_unsigned(q, &refs(&h));
    assert_eq!(
        (r.status, &r.body["code"]),
        (200, &json!("0")),
        "{}",
        r.body
    );

    // Correct: accepted, and an upper-case hex sign is the same signature.
    let upper = with(
        &good,
        "sign",
        &good
            .iter()
            .find(|(k, _)| k == "sign")
            .unwrap()
            .1
            .to_uppercase(),
    );
    let r = server.post_unsigned(SAVE_CONFIG, &refs(&upper), &body);
    assert_eq!(
        (r.status, &r.body["code"]),
        (200, &json!("0")),
        "{}",
        r.body
    );
    assert_eq!(server.log_len(), 1);
}

#[test]
fn a_reused_transaction_id_with_another_body_is_refused_also_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let first = fee_config("cfg-1");
    let h = property_headers("T-7", &req_time_now(), &first);
    let r = server.post_unsigned(SAVE_CONFIG, &refs(&h), &first);
    assert_eq!(
        (r.status, &r.body["code"]),
        (200, &json!("0")),
        "{}",
        r.body
    );
    let answer = r.body.clone();

    let other = fee_config("cfg-2");
    let check = |server: &Server| {
        let h = property_headers("T-7", &req_time_now(), &other);
        let r = server.post_unsigned(SAVE_CONFIG, &refs(&h), &other);
        assert_eq!(
            (r.status, &r.body["code"]),
            (409, &json!("409")),
            "{}",
            r.body
        );
        assert!(r.body["msg"].as_str().unwrap().contains("another body"));
        // The same body again is a retry: the first answer, nothing appended.
        let h = property_headers("T-7", &req_time_now(), &first);
        let r = server.post_unsigned(SAVE_CONFIG, &refs(&h), &first);
        assert_eq!((r.status, &r.body), (200, &answer));
        // So is the same body with its keys in another order and other spacing: the body hash
        // is of the canonical payload, as on the command topic.
        let Value::Object(fields) = serde_json::from_slice::<Value>(&first).unwrap() else {
            panic!("a fee config is an object")
        };
        let reordered: serde_json::Map<String, Value> = fields.into_iter().rev().collect();
        let reordered = serde_json::to_vec_pretty(&reordered).unwrap();
        assert_ne!(reordered, first);
        let h = property_headers("T-7", &req_time_now(), &reordered);
        let r = server.post_unsigned(SAVE_CONFIG, &refs(&h), &reordered);
        assert_eq!((r.status, &r.body), (200, &answer));
        assert_eq!(server.log_len(), 1);
    };
    check(&server);
    server.kill();
    let server = Server::start(dir.path());
    check(&server);
}

#[test]
fn baas_refusals_are_baas_000001_and_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let body = serde_json::to_vec(&json!({"billId": "B1", "tenantId": "MVNE",
        "extCustId": "10010111", "serviceId": "1001", "periodStart": "20160101000000",
        "periodEnd": "20160131235959", "amount": "60.50"}))
    .unwrap();
    let good = baas_headers(&req_time_now(), &body);
    let stale = baas_headers(&stale_req_time(), &body);
    let cases: Vec<Case> = vec![
        ("missing sign", without(&good, "sign"), "sign"),
        ("missing appkey", without(&good, "appkey"), "appkey"),
        ("missing req-time", without(&good, "req-time"), "req-time"),
        (
            "wrong sign",
            with(&good, "sign", "xxxdesdfasdfasdfasdf6xxxx7bxxx60"),
            "wrong sign",
        ),
        ("stale req-time", stale, "window"),
        (
            "unknown appkey",
            with(&good, "appkey", "unknown-key"),
            "unknown appkey",
        ),
    ];
    for (name, headers, says) in cases {
        let r = server.post_unsigned(BAAS_BILL, &refs(&headers), &body);
        assert_eq!(r.status, 401, "{name}: {}", r.body);
        assert_eq!(r.body["returnCode"], "BaaS-000001", "{name}");
        let msg = r.body["returnMessage"].as_str().unwrap();
        assert!(msg.contains(says), "{name}: {msg:?} says {says:?}");
        assert_eq!(server.log_len(), 0, "{name}: nothing appended");
    }
    let r = server.post_unsigned(BAAS_BILL, &refs(&good), &body);
    assert_eq!(r.body["returnCode"], "BaaS-000000", "{}", r.body);
    assert_eq!(server.log_len(), 1);
}

#[test]
fn utility_refusals_are_code_401_and_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let head = json!({"CHANNEL_DID": "CH00000000000001", "DYNAMIC_KEY": "demo-dynamic-key-0001",
                      "REGISTER_DID": "R000000000000001", "ACCOUNT_DID": "A000000000000001"});
    // The utility scheme has no request time: DYNAMIC_KEY is the channel's secret.
    let cases: &[(&str, &str, Value, &str)] = &[
        (
            "missing key",
            "DYNAMIC_KEY",
            Value::Null,
            "SYS_HEAD.DYNAMIC_KEY",
        ),
        (
            "wrong key",
            "DYNAMIC_KEY",
            json!("not-the-key"),
            "SYS_HEAD.DYNAMIC_KEY",
        ),
        (
            "unknown channel",
            "CHANNEL_DID",
            json!("CH99999999999999"),
            "SYS_HEAD.CHANNEL_DID",
        ),
        (
            "foreign register id",
            "REGISTER_DID",
            json!("R999"),
            "SYS_HEAD.REGISTER_DID",
        ),
    ];
    for (name, field, value, says) in cases {
        let mut h = head.clone();
        h[*field] = value.clone();
        let body = serde_json::to_vec(&json!({"SYS_HEAD": h, "ACC_VOLPRICE_OWE": {}})).unwrap();
        let r = server.post_unsigned(UTILITY_QUERY, &[], &body);
        assert_eq!(
            (r.status, &r.body["CODE"]),
            (401, &json!(401)),
            "{name}: {}",
            r.body
        );
        let msg = r.body["MESSAGE"].as_str().unwrap();
        assert!(msg.contains(says), "{name}: {msg:?} names {says}");
        assert_eq!(server.log_len(), 0);
    }
    let body = serde_json::to_vec(&json!({"SYS_HEAD": head, "ACC_VOLPRICE_OWE": {}})).unwrap();
    let r = server.post_unsigned(UTILITY_QUERY, &[], &body);
    assert_eq!(r.body["CODE"], 0, "{}", r.body);
}

#[test]
fn callcenter_refusals_are_code_minus_1_and_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let body = serde_json::to_vec(&json!({"city_id": 1, "operator_code": "CMCC",
        "business_line": "BL1", "workplace_id": 1, "tariffs": []}))
    .unwrap();
    // The call-center scheme is a bearer token; it has no request time.
    let cases: &[HeaderCase] = &[
        ("missing token", &[], "Authorization"),
        ("not a bearer", &[("Authorization", "Basic abc")], "Bearer"),
        (
            "unknown token",
            &[("Authorization", "Bearer nope")],
            "unknown bearer token",
        ),
        (
            "X-User is not a credential",
            &[("X-User", "Jack")],
            "Authorization",
        ),
    ];
    for (name, headers, says) in cases {
        let r = server.post_unsigned(TARIFF, headers, &body);
        assert_eq!(r.status, 401, "{name}: {}", r.body);
        assert_eq!(r.body["code"], -1);
        assert_eq!(r.body["user"], "anonymous");
        let msg = r.body["message"].as_str().unwrap();
        assert!(msg.contains(says), "{name}: {msg:?} says {says}");
        assert_eq!(server.log_len(), 0);
        let r = server.get_unsigned("/api/bill/summary", headers);
        assert_eq!(
            (r.status, &r.body["code"]),
            (401, &json!(-1)),
            "{name}: query"
        );
    }
    let bearer = format!("Bearer {}", demo::CALLCENTER_TOKEN);
    let r = server.get_unsigned("/api/bill/summary", &[("Authorization", &bearer)]);
    assert_eq!(
        (r.status, &r.body["user"]),
        (200, &json!("Jack")),
        "{}",
        r.body
    );
}

#[test]
fn a_config_file_replaces_the_demo_credentials_and_print_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ledger.toml");
    std::fs::write(
        &config,
        r#"
command_wait_ms = 4000
[auth]
req_time_window_s = 120
[[auth.property_apps]]
app_id = "acme"
secret = "acme-secret-123"
token = "acme-token-456"
"#,
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let (code, out) = ledger(&[
        "config",
        "print",
        "--config",
        config,
        "--listen",
        "0.0.0.0:1",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("listen = \"0.0.0.0:1\""), "flags win: {out}");
    assert!(
        out.contains("command_wait_ms = 4000"),
        "the file counts: {out}"
    );
    assert!(out.contains("req_time_window_s = 120"), "{out}");
    assert!(
        out.contains("partitions = 8"),
        "defaults fill the rest: {out}"
    );
    assert!(out.contains("app_id = \"acme\""), "{out}");
    assert!(
        !out.contains("acme-secret-123") && !out.contains("acme-token-456"),
        "{out}"
    );
    assert!(!out.contains("DEMO"), "{out}");
    let (code, out) = ledger(&["config", "print"]);
    assert_eq!(code, 0);
    assert!(out.contains("DEMO CREDENTIALS IN USE"), "{out}");
    assert!(!out.contains("demo-property-secret"), "{out}");

    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--config", config]);
    let body = fee_config("cfg-1");
    // The demo app is gone.
    let h = property_headers("T-1", &req_time_now(), &body);
    let r = server.post_unsigned(SAVE_CONFIG, &refs(&h), &body);
    assert_eq!((r.status, &r.body["code"]), (401, &json!("401")));
    // The configured app signs with its own secret.
    let t = req_time_now();
    let sign = md5_hex(&[b"T-1", t.as_bytes(), b"acme", &body, b"acme-secret-123"]);
    let h = [
        ("app-id", "acme"),
        ("transaction-id", "T-1"),
        ("req-time", t.as_str()),
        ("sign", sign.as_str()),
        ("Authorization", "Bearer acme-token-456"),
    ];
    let r = server.post_unsigned(SAVE_CONFIG, &h, &body);
    assert_eq!(
        (r.status, &r.body["code"]),
        (200, &json!("0")),
        "{}",
        r.body
    );
    // Families the file gives no credentials for accept nobody.
    let bill = br#"{"billId":"B1","tenantId":"MVNE","extCustId":"1","serviceId":"1","periodStart":"20160101000000","periodEnd":"20160131235959","amount":"1"}"#;
    let r = server.post_unsigned(BAAS_BILL, &refs(&baas_headers(&req_time_now(), bill)), bill);
    assert_eq!(r.body["returnCode"], "BaaS-000001");
    assert_eq!(server.log_len(), 1);
}

#[test]
fn demo_credentials_are_announced_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    server.terminate();
    let log = std::fs::read_to_string(data.with_extension("server.log")).unwrap();
    assert!(log.contains("DEMO CREDENTIALS IN USE"), "{log}");
}
