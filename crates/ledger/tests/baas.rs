//! BaaS arrears end to end over real HTTP (issue 6, seed 000): the seed's example, li rounding,
//! partial payments, the date window, services, refusals with their BaaS codes, idempotency.

mod common;

use common::Server;
use serde_json::{Value, json};

/// The seed's example headers.
const SEED_HEADERS: &[(&str, &str)] = &[
    ("sign", "xxxdesdfasdfasdfasdf6xxxx7bxxx60"),
    ("appkey", "xxxde52a0axxxaefa93c6xxxx7bxxx60"),
];

const QUERY: &str = "/occ/http/srv_baas_feeowed_qry";

fn seed_request() -> Value {
    serde_json::from_str(include_str!(
        "../../../schemas/examples/000_srv_baas_feeowed_qry.json"
    ))
    .unwrap()
}

fn seed_reply() -> Value {
    serde_json::from_str(include_str!(
        "../../../schemas/examples/000_srv_baas_feeowed_qry.reply.json"
    ))
    .unwrap()
}

fn ok(server: &Server, path: &str, body: Value) -> Value {
    let r = server.post(path, SEED_HEADERS, &body);
    assert_eq!(r.status, 200, "{path} {body}: {}", r.body);
    assert_eq!(r.body["returnCode"], "BaaS-000000", "{}", r.body);
    r.body
}

fn bill(server: &Server, id: &str, service: &str, period: (&str, &str), amount: Value) -> Value {
    ok(
        server,
        "/occ/http/baas/bills",
        json!({"billId": id, "tenantId": "MVNE", "extCustId": "10010111", "serviceId": service,
               "periodStart": period.0, "periodEnd": period.1, "amount": amount}),
    )
}

fn usage(server: &Server, id: &str, service: &str, at: &str, amount: Value) -> Value {
    ok(
        server,
        "/occ/http/baas/usage",
        json!({"usageId": id, "tenantId": "MVNE", "extCustId": "10010111", "serviceId": service,
               "at": at, "amount": amount}),
    )
}

fn pay(server: &Server, id: &str, amount: &str, bill_id: Option<&str>) -> Value {
    let mut body = json!({"paymentId": id, "tenantId": "MVNE", "extCustId": "10010111",
                          "serviceId": "1001", "amount": amount, "paidAt": "20160420093000"});
    if let Some(b) = bill_id {
        body["billId"] = json!(b);
    }
    ok(server, "/occ/http/baas/payments", body)
}

const JAN: (&str, &str) = ("20160101000000", "20160131235959");
const FEB: (&str, &str) = ("20160201000000", "20160229235959");

/// The seed example's ledger: bills of 60.50 (January) and 38.50 (February) and 19.00 of
/// March usage no bill covers yet.
fn seed_ledger(server: &Server) {
    bill(server, "B201601", "1001", JAN, json!("60.50"));
    bill(server, "B201602", "1001", FEB, json!(38.50));
    usage(
        server,
        "U20160315",
        "1001",
        "20160315120000",
        json!("19.00"),
    );
}

fn query(server: &Server, body: &Value) -> common::Reply {
    server.post(QUERY, SEED_HEADERS, body)
}

fn owed(server: &Server, body: &Value) -> (String, String) {
    let r = query(server, body);
    assert_eq!(r.status, 200, "{}", r.body);
    (
        r.body["feeOwed"].as_str().unwrap().to_string(),
        r.body["realTimeFee"].as_str().unwrap().to_string(),
    )
}

#[test]
fn seed_000_example_returns_the_seeds_reply_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_ledger(&server);

    let r = query(&server, &seed_request());
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.headers.contains_key("x-ledger-position"));
    let expected = seed_reply();
    let got = r.body.as_object().unwrap();
    let want = expected.as_object().unwrap();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "the seed's fields, in its order"
    );
    for (name, value) in want {
        assert!(got[name].is_string(), "{name} is a VARCHAR: {}", got[name]);
        if name == "tradeSeq" {
            // The seed's example reply prints " MVNE2016…" with a leading space; that is a typo
            // in the document (the field is the request's own serial), so the request's
            // tradeSeq is echoed exactly.
            assert_eq!(value, " MVNE20160401121212000100000005");
            assert_eq!(got[name], "MVNE20160401121212000100000005");
        } else {
            assert_eq!(&got[name], value, "{name}");
        }
    }
    // 60.50 + 38.50 = 99.00 yuan = 99000 li; 19.00 yuan = 19000 li.
    assert_eq!(got["feeOwed"], "99000");
    assert_eq!(got["realTimeFee"], "19000");
}

#[test]
fn li_rounding_is_half_up_at_the_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    bill(&server, "B1", "1001", JAN, json!("0.0125"));
    usage(&server, "U1", "1001", "20160310000000", json!("0.0124"));
    // 0.0125 yuan = 12.5 li → 13; 0.0124 yuan = 12.4 li → 12.
    assert_eq!(owed(&server, &seed_request()), ("13".into(), "12".into()));
}

#[test]
fn partial_payments_reduce_the_fee_owed_oldest_bill_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_ledger(&server);

    let r = pay(&server, "P1", "20.25", None);
    assert_eq!(
        r,
        json!({"returnCode": "BaaS-000000", "paymentId": "P1",
               "allocations": [{"billId": "B201601", "amount": "20.25"}]})
    );
    // 99.00 - 20.25 = 78.75 yuan.
    assert_eq!(owed(&server, &seed_request()).0, "78750");

    let r = pay(&server, "P2", "50.00", None);
    // B201601 still owes 40.25; the other 9.75 goes to B201602.
    assert_eq!(
        r["allocations"],
        json!([{"billId": "B201601", "amount": "40.25"}, {"billId": "B201602", "amount": "9.75"}])
    );
    // 78.75 - 50.00 = 28.75 yuan.
    assert_eq!(owed(&server, &seed_request()).0, "28750");

    let r = pay(&server, "P3", "28.75", Some("B201602"));
    assert_eq!(
        r["allocations"],
        json!([{"billId": "B201602", "amount": "28.75"}])
    );
    assert_eq!(
        owed(&server, &seed_request()),
        ("0".into(), "19000".into()),
        "usage is not settled by payments to bills"
    );
}

#[test]
fn bills_and_usage_outside_the_window_are_excluded() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_ledger(&server);
    bill(
        &server,
        "B201512",
        "1001",
        ("20151201000000", "20151231235959"),
        json!("11.00"),
    );
    bill(
        &server,
        "B201606",
        "1001",
        ("20160601000000", "20160630235959"),
        json!("12.00"),
    );
    usage(
        &server,
        "U20160502",
        "1001",
        "20160502000000",
        json!("5.00"),
    );
    assert_eq!(
        owed(&server, &seed_request()),
        ("99000".into(), "19000".into())
    );

    let mut only_feb = seed_request();
    only_feb["beginDate"] = json!("20160201000000");
    only_feb["endDate"] = json!("20160229235959");
    // Only February's 38.50 is in the window; March usage is outside it.
    assert_eq!(owed(&server, &only_feb), ("38500".into(), "0".into()));

    let mut wide = seed_request();
    wide["beginDate"] = json!("20150101000000");
    wide["endDate"] = json!("20161231235959");
    // 11 + 60.50 + 38.50 + 12 = 122 yuan billed; 19 + 5 = 24 yuan usage.
    assert_eq!(owed(&server, &wide), ("122000".into(), "24000".into()));
}

#[test]
fn a_later_bill_absorbs_usage_of_its_period() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_ledger(&server);
    let r = bill(
        &server,
        "B201603",
        "1001",
        ("20160301000000", "20160331235959"),
        json!("19.00"),
    );
    assert_eq!(r["absorbedUsage"], json!(["U20160315"]));
    // 99.00 + 19.00 billed; the usage is billed now, not real-time.
    assert_eq!(
        owed(&server, &seed_request()),
        ("118000".into(), "0".into())
    );
    let r = usage(
        &server,
        "U20160320",
        "1001",
        "20160320000000",
        json!("1.00"),
    );
    assert_eq!(
        r["billedBy"], "B201603",
        "late usage inside a billed period"
    );
    assert_eq!(owed(&server, &seed_request()).1, "0");
}

#[test]
fn service_id_omitted_covers_every_service_of_the_customer() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_ledger(&server);
    bill(&server, "B2-201601", "1002", JAN, json!("7.25"));
    usage(
        &server,
        "U2-20160316",
        "1002",
        "20160316000000",
        json!("0.75"),
    );

    let mut all = seed_request();
    all.as_object_mut().unwrap().remove("serviceId");
    let r = query(&server, &all);
    assert_eq!(r.status, 200);
    // 99.00 + 7.25 = 106.25 yuan; 19.00 + 0.75 = 19.75 yuan.
    assert_eq!(r.body["feeOwed"], "106250");
    assert_eq!(r.body["realTimeFee"], "19750");
    assert!(r.body.get("serviceId").is_none(), "no service to echo");

    let mut other = seed_request();
    other["serviceId"] = json!("1002");
    assert_eq!(owed(&server, &other), ("7250".into(), "750".into()));
}

#[test]
fn missing_dates_default_to_the_system_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    // A bill whose period spans the present.
    bill(
        &server,
        "B-NOW",
        "1001",
        ("20000101000000", "20991231235959"),
        json!("1.5"),
    );
    let mut body = seed_request();
    body.as_object_mut().unwrap().remove("beginDate");
    body.as_object_mut().unwrap().remove("endDate");
    let r = query(&server, &body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["feeOwed"], "1500");
    let begin = r.body["beginDate"].as_str().unwrap();
    assert_eq!(begin.len(), 14);
    assert!(begin.starts_with("20"), "{begin}");
    assert_eq!(r.body["beginDate"], r.body["endDate"]);
    // The extCustomerId spelling of the request table works as well as the example's extCustId.
    let mut named = seed_request();
    let cust = named.as_object_mut().unwrap().remove("extCustId").unwrap();
    named["extCustomerId"] = cust;
    assert_eq!(query(&server, &named).body["extCustId"], "10010111");
}

#[test]
fn query_refusals_carry_their_baas_codes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_ledger(&server);
    let before = server.log_len();

    let r = server.post_unsigned(
        QUERY,
        &[("sign", "x")],
        &serde_json::to_vec(&seed_request()).unwrap(),
    );
    assert_eq!(
        (r.status, &r.body["returnCode"]),
        (401, &json!("BaaS-000001"))
    );
    assert!(r.body["returnMessage"].as_str().unwrap().contains("appkey"));
    assert_eq!(r.body["tradeSeq"], "MVNE20160401121212000100000005");
    // The seed's response table marks extCustId required: failures echo it too.
    assert_eq!(r.body["extCustId"], "10010111");
    let r = server.post_unsigned(
        QUERY,
        &[("appkey", "x")],
        &serde_json::to_vec(&seed_request()).unwrap(),
    );
    assert_eq!(
        (r.status, &r.body["returnCode"]),
        (401, &json!("BaaS-000001"))
    );
    assert!(r.body["returnMessage"].as_str().unwrap().contains("sign"));

    let table: &[(&str, Value, &str)] = &[
        (
            "tradeSeq",
            json!("MVNE2016040112121200010000000"),
            "tradeSeq",
        ),
        (
            "tradeSeq",
            json!("XXXX20160401121212000100000005"),
            "tradeSeq",
        ),
        ("tradeSeq", Value::Null, "tradeSeq"),
        ("tenantId", Value::Null, "tenantId"),
        ("extCustId", Value::Null, "extCustomerId"),
        ("beginDate", json!("2016-01-01"), "beginDate"),
        ("endDate", json!("20160230000000"), "endDate"),
        ("endDate", json!("20151231000000"), "endDate"),
        ("serviceId", json!("x".repeat(33)), "serviceId"),
    ];
    for (field, value, named) in table {
        let mut body = seed_request();
        body[*field] = value.clone();
        let r = query(&server, &body);
        assert_eq!(r.status, 400, "{field}={value}: {}", r.body);
        assert_eq!(r.body["returnCode"], "BaaS-000002", "{field}");
        let msg = r.body["returnMessage"].as_str().unwrap();
        assert!(
            msg.contains(named),
            "{field}={value}: {msg:?} names {named}"
        );
    }

    let mut unknown = seed_request();
    unknown["extCustId"] = json!("99999999");
    let r = query(&server, &unknown);
    assert_eq!(
        (r.status, &r.body["returnCode"]),
        (404, &json!("BaaS-000003"))
    );
    assert!(
        r.body["returnMessage"]
            .as_str()
            .unwrap()
            .contains("99999999")
    );
    let mut no_service = seed_request();
    no_service["serviceId"] = json!("7777");
    assert_eq!(
        query(&server, &no_service).body["returnCode"],
        "BaaS-000003"
    );

    let r = server.post_raw(QUERY, SEED_HEADERS, b"{not json".to_vec());
    assert_eq!(
        (r.status, &r.body["returnCode"]),
        (400, &json!("BaaS-000002"))
    );
    assert_eq!(server.log_len(), before, "queries never append");
}

#[test]
fn command_refusals_are_named_coded_and_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_ledger(&server);
    let before = server.log_len();

    let bill_body = json!({"billId": "B9", "tenantId": "MVNE", "extCustId": "10010111",
        "serviceId": "1001", "periodStart": "20160301000000", "periodEnd": "20160331235959",
        "amount": "1.00"});
    for field in [
        "billId",
        "tenantId",
        "extCustId",
        "serviceId",
        "periodStart",
        "periodEnd",
        "amount",
    ] {
        let mut body = bill_body.clone();
        body.as_object_mut().unwrap().remove(field);
        let r = server.post("/occ/http/baas/bills", SEED_HEADERS, &body);
        assert_eq!(r.status, 400, "{field}");
        assert_eq!(r.body["returnCode"], "BaaS-000002");
        assert_eq!(
            r.body["returnMessage"],
            format!("{field} 不能为空 ({field} is required)")
        );
    }
    let malformed: &[(&str, Value, &str, &str)] = &[
        ("amount", json!("-1"), "BaaS-000002", "amount"),
        ("amount", json!("1.0000001"), "BaaS-000002", "amount"),
        ("amount", json!("abc"), "BaaS-000002", "amount"),
        (
            "periodStart",
            json!("20160230000000"),
            "BaaS-000002",
            "periodStart",
        ),
        (
            "periodEnd",
            json!("20160201000000"),
            "BaaS-000002",
            "periodEnd",
        ),
    ];
    for (i, (field, value, code, named)) in malformed.iter().enumerate() {
        let mut body = bill_body.clone();
        body[*field] = value.clone();
        body["billId"] = json!(format!("BAD{i}"));
        let r = server.post("/occ/http/baas/bills", SEED_HEADERS, &body);
        assert_eq!(r.body["returnCode"], *code, "{field}={value}: {}", r.body);
        let msg = r.body["returnMessage"].as_str().unwrap();
        assert!(msg.contains(named), "{field}={value}: {msg:?}");
    }

    let payment = |amount: &str, cust: &str, bill_id: Option<&str>| {
        let mut body = json!({"paymentId": "PX", "tenantId": "MVNE", "extCustId": cust,
            "serviceId": "1001", "amount": amount, "paidAt": "20160420093000"});
        if let Some(b) = bill_id {
            body["billId"] = json!(b);
        }
        server.post("/occ/http/baas/payments", SEED_HEADERS, &body)
    };
    let cases: &[(common::Reply, u16, &str, &str)] = &[
        // 60.50 + 38.50 = 99.00 owed.
        (
            payment("99.01", "10010111", None),
            422,
            "BaaS-000005",
            "exceeds the 99.00 yuan owed",
        ),
        // B201602 was posted as the JSON number 38.5 (json! writes 38.50 so), kept as written.
        (
            payment("38.51", "10010111", Some("B201602")),
            422,
            "BaaS-000005",
            "the 38.5 yuan owed",
        ),
        (
            payment("1", "10010111", Some("B404")),
            400,
            "BaaS-000002",
            "billId",
        ),
        (
            payment("1", "55555555", None),
            404,
            "BaaS-000003",
            "unknown customer 55555555",
        ),
        (payment("0", "10010111", None), 400, "BaaS-000002", "amount"),
    ];
    for (r, status, code, named) in cases {
        assert_eq!(r.status, *status, "{}", r.body);
        assert_eq!(r.body["returnCode"], *code, "{}", r.body);
        assert!(
            r.body["returnMessage"].as_str().unwrap().contains(named),
            "{}",
            r.body
        );
    }
    let r = server.post_unsigned(
        "/occ/http/baas/bills",
        &[("appkey", "k")],
        &serde_json::to_vec(&bill_body).unwrap(),
    );
    assert_eq!(
        (r.status, &r.body["returnCode"]),
        (401, &json!("BaaS-000001"))
    );
    assert_eq!(
        server.log_len(),
        before,
        "no refused command appended anything"
    );
}

#[test]
fn the_same_id_twice_appends_once_and_answers_identically() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_ledger(&server);
    let before = server.log_len();
    let first = pay(&server, "P1", "70", None);
    let second = pay(&server, "P1", "70", None);
    assert_eq!(first, second);
    assert_eq!(server.log_len(), before + 1);
    assert_eq!(
        owed(&server, &seed_request()).0,
        "29000",
        "99 - 70 = 29 yuan, paid once"
    );
    let outcome = server.get("/commands/baas:MVNE:payment:P1");
    assert_eq!(outcome.body["status"], "accepted");
    assert_eq!(outcome.body["key"], "tenant:MVNE");

    // A bill and a payment sharing a number are different commands.
    let r = bill(
        &server,
        "P1",
        "1001",
        ("20160301000000", "20160331235959"),
        json!("1"),
    );
    assert_eq!(r["billId"], "P1");
    assert_eq!(server.log_len(), before + 2);
}

#[test]
fn verify_rebuilds_identical_read_models_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_ledger(&server);
    pay(&server, "P1", "20.25", None);
    bill(
        &server,
        "B201603",
        "1001",
        ("20160301000000", "20160331235959"),
        json!("19.00"),
    );
    let reply = query(&server, &seed_request()).body;
    assert_eq!(server.terminate(), Some(0));

    let (code, out) = common::ledger(&["verify", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");

    let server = Server::start(dir.path());
    assert_eq!(query(&server, &seed_request()).body, reply);
}
