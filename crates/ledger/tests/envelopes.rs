//! One error style at the edge (issue 18 item 5): an unknown path (404), a wrong method (405),
//! a body over the limit (413), a URI over the limit (414) and headers over the limit (431)
//! answer in every family's own envelope, its code agreeing with the status, the message
//! Chinese first with the English detail in parentheses, and the machine-readable reason.

mod common;

use common::{Reply, Server, assert_styled};
use serde_json::{Value, json};

/// One family: a path prefix, a POST route, a GET route, and its envelope's fields.
struct Family {
    name: &'static str,
    unknown: &'static str,
    post: &'static str,
    get: &'static str,
    code: &'static str,
    message: &'static str,
    reason: &'static str,
    /// The family code expected for an HTTP status.
    code_for: fn(u16) -> Value,
}

const FAMILIES: &[Family] = &[
    Family {
        name: "property",
        unknown: "/app/nope",
        post: "/app/fee.payFee",
        get: "/app/fee.listFee?communityId=c1",
        code: "code",
        message: "msg",
        reason: "reason",
        code_for: |s| json!(s.to_string()),
    },
    Family {
        name: "baas",
        unknown: "/occ/http/nope",
        post: "/occ/http/baas/bills",
        get: "/occ/http/baas/tenants",
        code: "returnCode",
        message: "returnMessage",
        reason: "reason",
        code_for: |_| json!("BaaS-000008"),
    },
    Family {
        name: "utility",
        unknown: "/Service/v1/nope",
        post: "/Service/v1/Charges/",
        get: "/Service/v1/Accounts/",
        code: "CODE",
        message: "MESSAGE",
        reason: "REASON",
        code_for: |s| json!(s),
    },
    Family {
        name: "call center",
        unknown: "/api/nope",
        post: "/api/bill/calls",
        get: "/api/bill/summary",
        code: "code",
        message: "message",
        reason: "reason",
        code_for: |_| json!(-1),
    },
];

fn assert_envelope(f: &Family, r: &Reply, status: u16, reason: &str, what: &str) {
    let what = format!("{} {what}", f.name);
    assert_eq!(r.status, status, "{what}: {}", r.body);
    assert_eq!(r.body[f.code], (f.code_for)(status), "{what}: {}", r.body);
    assert_eq!(r.body[f.reason], reason, "{what}: {}", r.body);
    assert_styled(r.body[f.message].as_str().unwrap_or_default(), &what);
}

/// One request, sent again once when the connection was found closed: after refusing an
/// oversized body the server closes that connection, and the client's pool may hand the
/// closed one to the next request.
fn send(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply {
    server
        .send_exact(method, path, headers, body.clone())
        .or_else(|| server.send_exact(method, path, headers, body))
        .expect("request sent")
}

#[test]
fn the_edges_refusals_come_in_every_familys_envelope_with_agreeing_codes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let admin = [("Authorization", "Bearer demo-admin-token")];
    for f in FAMILIES {
        let before = server.log_len();
        let r = send(&server, "GET", f.unknown, &admin, Vec::new());
        assert_envelope(f, &r, 404, "no_such_endpoint", "unknown path");

        let r = send(&server, "GET", f.post, &admin, Vec::new());
        assert_envelope(f, &r, 405, "method_not_allowed", "GET on a POST route");

        let huge = vec![b' '; (1 << 20) + 1];
        let signed = common::sign(f.post, &[], &huge);
        let headers: Vec<(&str, &str)> = signed
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let r = send(&server, "POST", f.post, &headers, huge);
        assert_envelope(f, &r, 413, "body_too_large", "oversized body");

        let sep = if f.get.contains('?') { '&' } else { '?' };
        let long = format!("{}{sep}pad={}", f.get, "a".repeat(9 * 1024));
        let r = send(&server, "GET", &long, &admin, Vec::new());
        assert_envelope(f, &r, 414, "uri_too_long", "long URI");

        let big = "b".repeat(20 * 1024);
        let headers = [admin[0], ("x-padding", big.as_str())];
        let r = send(&server, "GET", f.get, &headers, Vec::new());
        assert_envelope(f, &r, 431, "headers_too_large", "large headers");

        assert_eq!(server.log_len(), before, "{}: nothing appended", f.name);
    }
    // Within the limits the same requests are served (the limits are not the refusal).
    let r = server.get("/app/fee.listFee?communityId=c1");
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn refusals_of_the_families_name_the_field_in_the_one_style() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let before = server.log_len();
    // A property rule's upstream message gets its English detail.
    let r = server.get("/app/fee.listFee");
    assert_envelope(
        &FAMILIES[0],
        &r,
        400,
        "invalid_parameter",
        "listFee without communityId",
    );
    assert!(
        r.body["msg"].as_str().unwrap().contains("communityId"),
        "{}",
        r.body
    );
    // A call-center message written in English gets the Chinese before it.
    let r = server.get("/api/bill/summary?city_id=x");
    assert_envelope(
        &FAMILIES[3],
        &r,
        400,
        "invalid_parameter",
        "summary city_id=x",
    );
    assert!(
        r.body["message"].as_str().unwrap().contains("city_id"),
        "{}",
        r.body
    );
    // A BaaS command without its tenant.
    let r = server.post("/occ/http/baas/bills", &[], &json!({"billId": "b1"}));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["returnCode"], "BaaS-000002", "{}", r.body);
    assert_styled(r.body["returnMessage"].as_str().unwrap(), "baas bill");
    // An unauthenticated utility request.
    let r = server.post("/Service/v1/Charges/", &[], &json!({"DATA": {}}));
    assert_eq!(
        (r.status, &r.body["CODE"]),
        (401, &json!(401)),
        "{}",
        r.body
    );
    assert_eq!(r.body["REASON"], "unauthorized", "{}", r.body);
    assert_styled(
        r.body["MESSAGE"].as_str().unwrap(),
        "utility without SYS_HEAD",
    );
    assert_eq!(server.log_len(), before);
}
