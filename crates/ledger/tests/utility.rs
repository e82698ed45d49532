//! Utility arrears end to end over real HTTP (issue 6, seed 001): charges and payments with
//! SYS_HEAD, the seed's query shape with each filter, the reply checked against the seed's table
//! (names, order, types), payments reducing and clearing a record, refusals.

#![recursion_limit = "256"]

mod common;

use common::Server;
use serde_json::{Value, json};

const QUERY: &str = "/Service/v1/QueryUserArrearages/";
const CHARGES: &str = "/Service/v1/Charges/";
const PAYMENTS: &str = "/Service/v1/Payments/";
const ACCOUNT: &str = "A000000000000001";

fn head() -> Value {
    json!({"CHANNEL_DID": "CH00000000000001", "DYNAMIC_KEY": "demo-dynamic-key-0001",
           "REGISTER_DID": "R000000000000001", "ACCOUNT_DID": ACCOUNT})
}

/// The seed's request shape (every filter ""), with credentials filled in.
fn seed_query() -> Value {
    let mut q: Value = serde_json::from_str(include_str!(
        "../../../schemas/examples/001_QueryUserArrearages.json"
    ))
    .unwrap();
    q["SYS_HEAD"] = head();
    q
}

/// The seed's reply example: every field of the table with "" for Strings and 0 for Numbers.
fn seed_reply_record() -> serde_json::Map<String, Value> {
    let reply: Value = serde_json::from_str(include_str!(
        "../../../schemas/examples/001_QueryUserArrearages.reply.json"
    ))
    .unwrap();
    reply["DATA"]["ACC_VOLPRICE_OWE"][0]
        .as_object()
        .unwrap()
        .clone()
}

/// A charge record with every field of the seed's table set (paid-in fields left out: payments
/// maintain them). Numbers with decimals are written as raw JSON text so their exact digits
/// travel.
fn charge_data(
    serial: &str,
    stores: &str,
    book: &str,
    pack: &str,
    cons: &str,
    price: &str,
) -> Value {
    let mut data = json!({
        "NODE_AID": "N01", "NETWORK_CO_DID": "NC01", "NET_STORES_AID": "NS01", "RETAIL_CO_DID": "RC01",
        "RET_STORES_AID": stores, "SALE_CO_DIMENSION": "SD1", "NETWORK_CO_DIMENSION": "ND1",
        "CHARGE_PACK_DID": "CP01", "BOOK_AID": book, "NETWORK_TYPE": "01", "SETTLEMENT_AID": "ST01",
        "NORMAL_RETRO_TYPE": "0", "CUSTOMER_DID": "C0000001", "USER_CUS_DID": "UC0000001",
        "USER_ACCOUNT_AID": "UA0000001", "INDUSTRY_CODE_INFO": "9900", "INDUSTRY_TYPE": "3",
        "ASSESS_YESNO": "N", "RESIDENT_YESNO": "Y", "PUBLIC_USE_YESNO": "N", "TEMPORARY_YESNO": "N",
        "CITY_YESNO": "Y", "ARMY_YESNO": "N", "PURCHASE_SALE_TYPE": "1", "STOP_EMPTY_YESNO": "N",
        "BUS_CATEG_TYPE": "01", "BASIC_FEES_TYPE": "0", "ABUND_WITHER_YESNO": "N",
        "ABUNDANCE_TYPE": "2", "TIME_FEES_TYPE": "0", "TIME_SHARING_TYPE": "0",
        "AGREE_PRICE_YESNO": "N", "LADDER_TYPE": "1", "LADDER_NUM_TYPE": "3", "LADDER_LEVEL_TYPE": "1",
        "FOR_RATE_VALID_TYPE": "0", "HEAT_CHARGE_TYPE": "0", "GARB_CHAEGE_TYPE": "0",
        "ACCOUNT_ITEM_INFO": "6001", "CAT_ITEM_NUM": 101, "CAT_ITEM_ATTACH_NUM": 2,
        "STARTUP_DATE": 20240101, "ACCOUNT_MONTH": 202403, "SETTLE_ACCOUNT_MONTH": 202404,
        "CHARGE_PACK_TYPE": pack, "TRANS_VOLTAGE_TYPE": "02", "DIST_LEVEL_RANGE_TYPE": "1",
        "RETAIL_VOLTAGE_GRADE_TYPE": "1", "PROPERTY_LEVEL_TYPE": "0", "OPERATION_DATE": 20240331,
        "SERIAL_DID": serial, "LIQ_DAMA_LEVY_DATE": 20240501
    });
    data["THE_CHARGE_CONS"] = serde_json::from_str(cons).unwrap();
    data["CHARGE_PRICE"] = serde_json::from_str(price).unwrap();
    data
}

fn post_charge(server: &Server, data: Value) -> common::Reply {
    server.post(CHARGES, &[], &json!({"SYS_HEAD": head(), "DATA": data}))
}

fn charge_ok(server: &Server, data: Value) -> Value {
    let r = post_charge(server, data);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["CODE"], 0);
    r.body["DATA"]["ACC_VOLPRICE_OWE"][0].clone()
}

fn payment(serial: &str, sid: &str, fee: &str, date: u64) -> Value {
    json!({"SYS_HEAD": head(), "DATA": {"SERIAL_DID": serial,
        "THE_PAID_IN_FEE": serde_json::from_str::<Value>(fee).unwrap(),
        "THE_PAID_IN_DATE": date, "THE_PAID_IN_SID": sid}})
}

fn listed(server: &Server, body: &Value) -> Vec<Value> {
    let r = server.post(QUERY, &[], body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["CODE"], 0);
    assert_eq!(r.body["MESSAGE"], "");
    assert!(r.headers.contains_key("x-ledger-position"));
    r.body["DATA"]["ACC_VOLPRICE_OWE"]
        .as_array()
        .unwrap()
        .clone()
}

fn serials(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["SERIAL_DID"].as_str().unwrap())
        .collect()
}

/// Four records: two stores, two books, both package types.
fn four_charges(server: &Server) {
    charge_ok(
        server,
        charge_data("S1", "RS01", "BK0001", "1", "120.5", "0.4883"),
    );
    charge_ok(
        server,
        charge_data("S2", "RS01", "BK0002", "3", "100", "0.5283"),
    );
    charge_ok(
        server,
        charge_data("S3", "RS02", "BK0001", "3", "10", "1.2"),
    );
    charge_ok(
        server,
        charge_data("S4", "RS02", "BK0002", "1", "3", "0.335"),
    );
}

#[test]
fn the_reply_has_every_field_of_the_seeds_table_in_order_with_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    charge_ok(
        &server,
        charge_data("S1", "RS01", "BK0001", "1", "120.5", "0.4883"),
    );
    let records = listed(&server, &seed_query());
    assert_eq!(records.len(), 1);
    let got = records[0].as_object().unwrap();
    let seed = seed_reply_record();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        seed.keys().collect::<Vec<_>>(),
        "the seed's 61 fields, in its order"
    );
    for (name, example) in &seed {
        assert_eq!(
            got[name].is_string(),
            example.is_string(),
            "{name}: {} vs the seed's {example}",
            got[name]
        );
        assert_eq!(got[name].is_number(), example.is_number(), "{name}");
    }
    let text = |name: &str| got[name].to_string();
    // Numbers carry their exact decimal text.
    assert_eq!(text("THE_CHARGE_CONS"), "120.5");
    assert_eq!(text("CHARGE_PRICE"), "0.4883");
    // 120.5 × 0.4883 = 58.84015 → 58.84 (half-up to the fen).
    assert_eq!(text("CALC_FEE"), "58.84");
    assert_eq!(text("ACCU_PAID_IN_FEE"), "0");
    assert_eq!(text("THE_PAID_IN_FEE"), "0");
    assert_eq!(got["CAT_ITEM_NUM"], 101);
    assert_eq!(got["CAT_ITEM_ATTACH_NUM"], 2);
    assert_eq!(got["STARTUP_DATE"], 20240101);
    assert_eq!(got["ACCOUNT_MONTH"], 202403);
    assert_eq!(got["SETTLE_ACCOUNT_MONTH"], 202404);
    assert_eq!(got["OPERATION_DATE"], 20240331);
    assert_eq!(got["LIQ_DAMA_LEVY_DATE"], 20240501);
    assert_eq!(got["LAST_PAID_IN_DATE"], 0);
    assert_eq!(got["THE_PAID_IN_DATE"], 0);
    assert_eq!(got["SERIAL_DID"], "S1");
    assert_eq!(got["GARB_CHAEGE_TYPE"], "0", "the seed's spelling");
    assert_eq!(got["LAST_PAID_IN_SID"], "");
    assert_eq!(got["THE_PAID_IN_SID"], "");
    let sent = charge_data("S1", "RS01", "BK0001", "1", "120.5", "0.4883");
    for (name, value) in sent.as_object().unwrap() {
        assert_eq!(&got[name], value, "{name} as posted");
    }
}

#[test]
fn a_charge_is_answered_with_the_record_as_the_query_lists_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let charged = charge_ok(
        &server,
        charge_data("S1", "RS01", "BK0001", "1", "120.5", "0.4883"),
    );
    let records = listed(&server, &seed_query());
    assert_eq!(records.len(), 1);
    // Compared as text: the same fields in the same order with the same number digits.
    assert_eq!(charged.to_string(), records[0].to_string());
}

#[test]
fn the_seeds_request_shape_with_each_filter() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    four_charges(&server);
    let with = |name: &str, value: &str| {
        let mut q = seed_query();
        q["ACC_VOLPRICE_OWE"][name] = json!(value);
        q
    };
    let table: &[(Value, &[&str])] = &[
        (seed_query(), &["S1", "S2", "S3", "S4"]),
        (with("RET_STORES_AID", "RS02"), &["S3", "S4"]),
        (with("BOOK_AID", "BK0001"), &["S1", "S3"]),
        (with("CHARGE_PACK_TYPE", "1"), &["S1", "S4"]),
        (with("CHARGE_PACK_TYPE", "3"), &["S2", "S3"]),
        (with("RET_STORES_AID", "RS09"), &[]),
    ];
    for (query, expected) in table {
        assert_eq!(serials(&listed(&server, query)), *expected, "{query}");
    }
    let mut all_three = seed_query();
    all_three["ACC_VOLPRICE_OWE"] =
        json!({"RET_STORES_AID": "RS01", "BOOK_AID": "BK0002", "CHARGE_PACK_TYPE": "3"});
    assert_eq!(serials(&listed(&server, &all_three)), ["S2"]);
    let mut no_filters = seed_query();
    no_filters
        .as_object_mut()
        .unwrap()
        .remove("ACC_VOLPRICE_OWE");
    assert_eq!(listed(&server, &no_filters).len(), 4);

    // Another account sees none of them.
    let mut other = seed_query();
    other["SYS_HEAD"]["ACCOUNT_DID"] = json!("A000000000000002");
    assert!(listed(&server, &other).is_empty());
}

#[test]
fn a_payment_reduces_and_finally_removes_a_record() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    four_charges(&server);
    // S2: 100 × 0.5283 = 52.83 yuan.
    let r = server.post(PAYMENTS, &[], &payment("S2", "PAY-1", "20.00", 20240405));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["CODE"], 0);
    let data = &r.body["DATA"];
    assert_eq!(data["SERIAL_DID"], "S2");
    assert_eq!(data["THE_PAID_IN_SID"], "PAY-1");
    assert_eq!(data["THE_PAID_IN_FEE"].to_string(), "20.00");
    assert_eq!(data["THE_PAID_IN_DATE"], 20240405);
    assert_eq!(data["ACCU_PAID_IN_FEE"].to_string(), "20.00");
    // 52.83 - 20.00 = 32.83.
    assert_eq!(data["OWE_FEE"].to_string(), "32.83");

    let records = listed(&server, &seed_query());
    let s2 = records.iter().find(|r| r["SERIAL_DID"] == "S2").unwrap();
    assert_eq!(s2["CALC_FEE"].to_string(), "52.83");
    assert_eq!(s2["ACCU_PAID_IN_FEE"].to_string(), "20.00");
    assert_eq!(s2["THE_PAID_IN_FEE"].to_string(), "20.00");
    assert_eq!(s2["THE_PAID_IN_DATE"], 20240405);
    assert_eq!(s2["THE_PAID_IN_SID"], "PAY-1");
    assert_eq!(
        (&s2["LAST_PAID_IN_DATE"], &s2["LAST_PAID_IN_SID"]),
        (&json!(0), &json!(""))
    );

    let r = server.post(PAYMENTS, &[], &payment("S2", "PAY-2", "32.83", 20240410));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["DATA"]["OWE_FEE"].to_string(), "0.00");
    assert_eq!(serials(&listed(&server, &seed_query())), ["S1", "S3", "S4"]);

    // Fully paid: a further payment is refused.
    let before = server.log_len();
    let r = server.post(PAYMENTS, &[], &payment("S2", "PAY-3", "0.01", 20240411));
    assert_eq!((r.status, &r.body["CODE"]), (422, &json!(422)));
    assert!(
        r.body["MESSAGE"]
            .as_str()
            .unwrap()
            .contains("exceeds the 0.00 yuan owed")
    );
    assert_eq!(server.log_len(), before);
}

#[test]
fn bad_or_missing_sys_head_is_refused_by_name_and_appends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    four_charges(&server);
    let before = server.log_len();
    let table: &[(&str, Value, &str)] = &[
        ("CHANNEL_DID", Value::Null, "SYS_HEAD.CHANNEL_DID"),
        ("DYNAMIC_KEY", json!(""), "SYS_HEAD.DYNAMIC_KEY"),
        (
            "REGISTER_DID",
            json!("R0000000000000012"),
            "SYS_HEAD.REGISTER_DID",
        ),
        ("ACCOUNT_DID", json!("A 1"), "SYS_HEAD.ACCOUNT_DID"),
        ("DYNAMIC_KEY", json!("k".repeat(65)), "SYS_HEAD.DYNAMIC_KEY"),
        // Well-formed but not the configured channel's credentials.
        ("CHANNEL_DID", json!(12), "SYS_HEAD.CHANNEL_DID"),
        (
            "CHANNEL_DID",
            json!("CH00000000000009"),
            "SYS_HEAD.CHANNEL_DID",
        ),
        ("DYNAMIC_KEY", json!("wrong-key"), "SYS_HEAD.DYNAMIC_KEY"),
        (
            "REGISTER_DID",
            json!("R000000000000009"),
            "SYS_HEAD.REGISTER_DID",
        ),
    ];
    let bodies = |h: Value| {
        [
            (
                QUERY,
                json!({"SYS_HEAD": h.clone(), "ACC_VOLPRICE_OWE": {}}),
            ),
            (
                CHARGES,
                json!({"SYS_HEAD": h.clone(), "DATA": charge_data("S9", "RS01", "BK1", "1", "1", "1")}),
            ),
            (PAYMENTS, {
                let mut p = payment("S1", "PAY-9", "1", 20240401);
                p["SYS_HEAD"] = h;
                p
            }),
        ]
    };
    for (field, value, named) in table {
        let mut h = head();
        h[*field] = value.clone();
        for (path, body) in bodies(h) {
            let r = server.post(path, &[], &body);
            let msg = r.body["MESSAGE"].as_str().unwrap_or_default();
            assert_eq!(r.status, 401, "{path} {field}={value}: {}", r.body);
            assert_eq!(r.body["CODE"], 401);
            assert!(msg.contains(named), "{path}: {msg:?} names {named}");
            assert_eq!(r.body["DATA"], json!({}));
        }
    }
    for path in [QUERY, CHARGES, PAYMENTS] {
        let r = server.post(path, &[], &json!({"ACC_VOLPRICE_OWE": {}}));
        assert_eq!((r.status, &r.body["CODE"]), (401, &json!(401)), "{path}");
        assert!(r.body["MESSAGE"].as_str().unwrap().contains("SYS_HEAD"));
        let r = server.post(path, &[], &json!({"SYS_HEAD": "x"}));
        assert_eq!(r.body["CODE"], 401, "{path}");
        let r = server.post_raw(path, &[], b"[1,2]".to_vec());
        assert_eq!((r.status, &r.body["CODE"]), (400, &json!(400)), "{path}");
    }
    assert_eq!(server.log_len(), before);
}

#[test]
fn missing_or_malformed_fields_are_named_and_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    four_charges(&server);
    let before = server.log_len();
    for field in [
        "SERIAL_DID",
        "CUSTOMER_DID",
        "RET_STORES_AID",
        "BOOK_AID",
        "CHARGE_PACK_TYPE",
        "ACCOUNT_MONTH",
        "THE_CHARGE_CONS",
        "CHARGE_PRICE",
    ] {
        let mut data = charge_data("S9", "RS01", "BK0001", "1", "1", "1");
        data.as_object_mut().unwrap().remove(field);
        let r = post_charge(&server, data);
        assert_eq!((r.status, &r.body["CODE"]), (400, &json!(400)), "{field}");
        assert_eq!(
            r.body["MESSAGE"],
            format!("DATA.{field} 不能为空 (DATA.{field} is required)")
        );
    }
    let malformed: &[(&str, Value, &str)] = &[
        ("THE_CHARGE_CONS", json!("-1"), "THE_CHARGE_CONS"),
        ("CHARGE_PRICE", json!("abc"), "CHARGE_PRICE"),
        ("CALC_FEE", json!("1.01"), "CALC_FEE"),
        ("STARTUP_DATE", json!(20240230), "STARTUP_DATE"),
        ("ACCOUNT_MONTH", json!(202413), "ACCOUNT_MONTH"),
        ("CAT_ITEM_NUM", json!(1.5), "CAT_ITEM_NUM"),
        ("BOOK_AID", json!("B".repeat(17)), "BOOK_AID"),
        ("CHARGE_PACK_TYPE", json!("123"), "CHARGE_PACK_TYPE"),
        ("NODE_AID", json!({"a": 1}), "NODE_AID"),
        ("ACCU_PAID_IN_FEE", json!(5), "ACCU_PAID_IN_FEE"),
    ];
    for (field, value, named) in malformed {
        let mut data = charge_data("S9", "RS01", "BK0001", "1", "1", "1");
        data[*field] = value.clone();
        let r = post_charge(&server, data);
        assert_eq!(r.status, 400, "{field}={value}: {}", r.body);
        assert_eq!(r.body["CODE"], 400);
        let msg = r.body["MESSAGE"].as_str().unwrap();
        assert!(msg.contains(named), "{field}={value}: {msg:?}");
    }
    let r = server.post(CHARGES, &[], &json!({"SYS_HEAD": head()}));
    assert_eq!(r.body["MESSAGE"], "DATA 不能为空 (DATA is required)");

    for field in [
        "SERIAL_DID",
        "THE_PAID_IN_FEE",
        "THE_PAID_IN_DATE",
        "THE_PAID_IN_SID",
    ] {
        let mut body = payment("S1", "PAY-1", "1", 20240401);
        body["DATA"].as_object_mut().unwrap().remove(field);
        let r = server.post(PAYMENTS, &[], &body);
        assert_eq!((r.status, &r.body["CODE"]), (400, &json!(400)), "{field}");
        assert!(
            r.body["MESSAGE"]
                .as_str()
                .unwrap()
                .contains(&format!("DATA.{field}"))
        );
    }
    let refused: &[(Value, u16, &str)] = &[
        (payment("S9", "PAY-1", "1", 20240401), 404, "SERIAL_DID S9"),
        (
            payment("S1", "PAY-1", "0", 20240401),
            400,
            "THE_PAID_IN_FEE",
        ),
        (
            payment("S1", "PAY-1", "-1", 20240401),
            400,
            "THE_PAID_IN_FEE",
        ),
        (
            payment("S1", "PAY-1", "1", 20241301),
            400,
            "THE_PAID_IN_DATE",
        ),
        // S1 owes 58.84.
        (
            payment("S1", "PAY-1", "58.85", 20240401),
            422,
            "exceeds the 58.84 yuan owed",
        ),
    ];
    for (body, status, named) in refused {
        let r = server.post(PAYMENTS, &[], body);
        assert_eq!(r.status, *status, "{}", r.body);
        assert_eq!(r.body["CODE"], json!(*status));
        assert!(
            r.body["MESSAGE"].as_str().unwrap().contains(named),
            "{}",
            r.body
        );
    }
    let mut q = seed_query();
    q["ACC_VOLPRICE_OWE"]["CHARGE_PACK_TYPE"] = json!("2");
    let r = server.post(QUERY, &[], &q);
    assert_eq!((r.status, &r.body["CODE"]), (400, &json!(400)));
    assert!(
        r.body["MESSAGE"]
            .as_str()
            .unwrap()
            .contains("ACC_VOLPRICE_OWE.CHARGE_PACK_TYPE")
    );
    assert_eq!(server.log_len(), before, "nothing appended");
}

#[test]
fn charges_and_payments_are_idempotent_by_their_serials() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let before = server.log_len();
    let data = charge_data("S1", "RS01", "BK0001", "1", "120.5", "0.4883");
    let first = post_charge(&server, data.clone());
    let second = post_charge(&server, data);
    assert_eq!(first.body, second.body);
    let pay = payment("S1", "PAY-1", "8.84", 20240405);
    let first = server.post(PAYMENTS, &[], &pay);
    let second = server.post(PAYMENTS, &[], &pay);
    assert_eq!(first.status, 200);
    assert_eq!(first.body, second.body);
    assert_eq!(server.log_len(), before + 2, "one charge, one payment");
    // 58.84 - 8.84 = 50.00 owed, paid once.
    assert_eq!(first.body["DATA"]["OWE_FEE"].to_string(), "50.00");
    let outcome = server.get(&format!("/commands/utility:{ACCOUNT}:payment:PAY-1"));
    assert_eq!(outcome.body["key"], format!("account:{ACCOUNT}"));
    // The seed's path without its trailing slash is served too.
    let r = server.post("/Service/v1/QueryUserArrearages", &[], &seed_query());
    assert_eq!(
        r.body["DATA"]["ACC_VOLPRICE_OWE"][0]["ACCU_PAID_IN_FEE"].to_string(),
        "8.84"
    );
}

#[test]
fn openapi_documents_both_families() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let doc = server.get("/openapi.json").body;
    for path in [
        "/occ/http/srv_baas_feeowed_qry",
        "/occ/http/baas/bills",
        "/occ/http/baas/payments",
        "/occ/http/baas/usage",
        QUERY,
        CHARGES,
        PAYMENTS,
    ] {
        assert!(doc["paths"][path]["post"].is_object(), "{path}");
    }
    let charge =
        &doc["paths"][CHARGES]["post"]["requestBody"]["content"]["application/json"]["schema"];
    let text = charge.to_string();
    let components = doc["components"].to_string();
    assert!(
        text.contains("GARB_CHAEGE_TYPE") || components.contains("GARB_CHAEGE_TYPE"),
        "the record's fields are documented"
    );
}

#[test]
fn verify_rebuilds_identical_read_models_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    four_charges(&server);
    server.post(PAYMENTS, &[], &payment("S2", "PAY-1", "20.00", 20240405));
    server.post(PAYMENTS, &[], &payment("S2", "PAY-2", "32.83", 20240410));
    let before = server.post(QUERY, &[], &seed_query()).body;
    assert_eq!(server.terminate(), Some(0));
    let (code, out) = common::ledger(&["verify", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let server = Server::start(dir.path());
    assert_eq!(server.post(QUERY, &[], &seed_query()).body, before);
}
