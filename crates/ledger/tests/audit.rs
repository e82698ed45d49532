//! The audit tools end to end (issue 7): replay of a mixed workload of every family is
//! byte-identical, `--until-offset` / `--until-time` / `at=` reproduce exactly the replies the
//! live server gave at that point, `serve --read-only` serves a replay and takes no commands,
//! `verify` names a tampered read-model row, a dry run of a fee-config price change reports the
//! rooms' new arrears and leaves the live store alone, export → import replays to the same read
//! models, and a log holding v1 and v2 events replays like one holding only v2.

#![recursion_limit = "256"]

mod common;

use common::{Server, ledger};
use ledger_core::EventLog;
use ledger_log::EmbeddedLog;
use ledger_store::ReadStore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;

const C: &str = "C-AUDIT";
const BAAS_HEADERS: &[(&str, &str)] = &[("sign", "s"), ("appkey", "k")];
const ACCOUNT: &str = "A000000000000001";

fn prop(server: &Server, path: &str, id: &str, body: Value) {
    let r = server.post(path, &[("transaction-id", id)], &body);
    assert_eq!(r.status, 200, "{path} {id}: {}", r.body);
    assert_eq!(r.body["code"], "0", "{path} {id}: {}", r.body);
}

fn config(config_id: &str, square_price: &str) -> Value {
    json!({"configId": config_id, "feeTypeCd": "1001", "feeName": "物业费", "feeFlag": "1003006",
           "startTime": "2023-01-01", "endTime": "2023-12-31", "computingFormula": "1001",
           "squarePrice": square_price, "additionalAmount": "100.00", "communityId": C,
           "billType": "MONTHLY"})
}

fn room(room_id: &str, area: &str) -> Value {
    json!({"communityId": C, "roomId": room_id, "roomNum": room_id, "builtUpArea": area,
           "roomArea": area, "roomRent": "1000.00", "ownerId": format!("o-{room_id}"),
           "ownerName": "张三", "ownerTel": "13800000000"})
}

fn fee(room_id: &str, config_id: &str) -> Value {
    json!({"communityId": C, "locationObjId": room_id, "configId": config_id,
           "storeId": "store_001", "startTime": "2023-01-01", "endTime": "2023-12-31"})
}

fn head() -> Value {
    json!({"CHANNEL_DID": "CH00000000000001", "DYNAMIC_KEY": "demo-dynamic-key-0001",
           "REGISTER_DID": "R000000000000001", "ACCOUNT_DID": ACCOUNT})
}

/// A utility charge record with every field of the seed's table set.
fn charge(serial: &str, cons: &str, price: &str) -> Value {
    let mut data = json!({
        "NODE_AID": "N01", "NETWORK_CO_DID": "NC01", "NET_STORES_AID": "NS01", "RETAIL_CO_DID": "RC01",
        "RET_STORES_AID": "RS01", "SALE_CO_DIMENSION": "SD1", "NETWORK_CO_DIMENSION": "ND1",
        "CHARGE_PACK_DID": "CP01", "BOOK_AID": "B01", "NETWORK_TYPE": "01", "SETTLEMENT_AID": "ST01",
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
        "CHARGE_PACK_TYPE": "01", "TRANS_VOLTAGE_TYPE": "02", "DIST_LEVEL_RANGE_TYPE": "1",
        "RETAIL_VOLTAGE_GRADE_TYPE": "1", "PROPERTY_LEVEL_TYPE": "0", "OPERATION_DATE": 20240331,
        "SERIAL_DID": serial, "LIQ_DAMA_LEVY_DATE": 20240501
    });
    data["THE_CHARGE_CONS"] = serde_json::from_str(cons).unwrap();
    data["CHARGE_PRICE"] = serde_json::from_str(price).unwrap();
    json!({"SYS_HEAD": head(), "DATA": data})
}

fn ok_post(server: &Server, path: &str, headers: &[(&str, &str)], body: Value) {
    let r = server.post(path, headers, &body);
    assert_eq!(r.status, 200, "{path} {body}: {}", r.body);
}

/// One round of commands of every family; `round` makes ids and amounts distinct.
fn workload(server: &Server, round: u32) {
    let r = round.to_string();
    // Property: a room, a config, a fee on the room, a payment of one month.
    let room_id = format!("room{r}");
    let cfg = format!("cfg{r}");
    prop(
        server,
        "/app/room.saveRoom",
        &format!("room-{r}"),
        room(&room_id, "100"),
    );
    prop(
        server,
        "/app/feeConfig.saveFeeConfig",
        &format!("cfg-{r}"),
        config(&cfg, "2.50"),
    );
    prop(
        server,
        "/app/fee.saveRoomCreateFee",
        &format!("fee-{r}"),
        fee(&room_id, &cfg),
    );
    // Call center: a tariff and a call on it.
    let tariff = 100 + round;
    ok_post(
        server,
        &format!("/api/fee/config/{tariff}"),
        &[("X-User", "auditor")],
        json!({"city_id": 71, "workplace_id": 67, "operator_code": 43,
               "line_batch": format!("JN-0{r}"), "line_quantity": 2, "did": format!("04118825{r}0"),
               "minimum_charge_unit_price": 50, "month_rent_fee": 100, "number_use_fee": 20,
               "caller_identify_fee": 5, "ring_fee": 3.5,
               "call_fee_config": {"0": ["本地手机", "单一", 0.16, 5, 0.98, 1.0, 0.97]},
               "discount_fee_config": {"0": ["超阈值优惠", 50, ""]}}),
    );
    ok_post(
        server,
        "/api/bill/calls",
        &[("X-Request-Id", &format!("cdr-{r}"))],
        json!({"calls": [{"call_id": format!("call-{r}"), "did": format!("04118825{r}0001"),
               "line_prefix": "JN-02", "city_id": 71, "workplace_id": 67, "operator_code": 43,
               "bg": "房产", "bu": "二手房", "business_line": "黄页", "call_type": "本地手机",
               "number_type": "联通手机", "start_time": "2022-03-01 09:01:00",
               "duration_s": 300 + round * 60}]}),
    );
    // BaaS: a bill, usage, a payment.
    ok_post(
        server,
        "/occ/http/baas/bills",
        BAAS_HEADERS,
        json!({"billId": format!("B{r}"), "tenantId": "MVNE", "extCustId": "10010111",
               "serviceId": "1001", "periodStart": "20160101000000",
               "periodEnd": "20160131235959", "amount": format!("{r}0.50")}),
    );
    ok_post(
        server,
        "/occ/http/baas/usage",
        BAAS_HEADERS,
        json!({"usageId": format!("U{r}"), "tenantId": "MVNE", "extCustId": "10010111",
               "serviceId": "1001", "at": "20160315120000", "amount": "1.25"}),
    );
    ok_post(
        server,
        "/occ/http/baas/payments",
        BAAS_HEADERS,
        json!({"paymentId": format!("P{r}"), "tenantId": "MVNE", "extCustId": "10010111",
               "serviceId": "1001", "amount": "5.00", "paidAt": "20160420093000"}),
    );
    // Utility: a charge and a partial payment.
    let serial = format!("S00{r}");
    ok_post(
        server,
        "/Service/v1/Charges/",
        &[],
        charge(&serial, "1200.5", "0.52"),
    );
    ok_post(
        server,
        "/Service/v1/Payments/",
        &[],
        json!({"SYS_HEAD": head(), "DATA": {"SERIAL_DID": serial, "THE_PAID_IN_FEE": 100,
               "THE_PAID_IN_DATE": 20240410, "THE_PAID_IN_SID": format!("PAY{r}")}}),
    );
}

/// The replies an auditor would want reproduced: (method, path, headers, body).
/// A query: method, path and query, headers, body.
type Query = (
    &'static str,
    String,
    Vec<(&'static str, &'static str)>,
    Value,
);

fn queries() -> Vec<Query> {
    let mut utility: Value = serde_json::from_str(include_str!(
        "../../../schemas/examples/001_QueryUserArrearages.json"
    ))
    .unwrap();
    utility["SYS_HEAD"] = head();
    vec![
        (
            "GET",
            format!("/app/fee.listFee?communityId={C}&asOf=2023-09-01%2000:00:00"),
            vec![],
            Value::Null,
        ),
        (
            "GET",
            format!("/app/feeConfig.listFeeConfigs?communityId={C}"),
            vec![],
            Value::Null,
        ),
        (
            "GET",
            "/api/bill/summary?city_id=71&call_start_time=2022-03-01&call_end_time=2022-03-31"
                .into(),
            vec![("X-User", "auditor")],
            Value::Null,
        ),
        (
            "GET",
            "/api/bill/fee/manage?city_id=71".into(),
            vec![("X-User", "auditor")],
            Value::Null,
        ),
        (
            "POST",
            "/occ/http/srv_baas_feeowed_qry".into(),
            BAAS_HEADERS.to_vec(),
            json!({
            "tradeSeq": "MVNE20160401121212000100000005", "tenantId": "MVNE",
            "extCustId": "10010111", "serviceId": "1001", "beginDate": "20160101000000",
            "endDate": "20160501000000"}),
        ),
        (
            "POST",
            "/Service/v1/QueryUserArrearages/".into(),
            vec![],
            utility,
        ),
    ]
}

/// Every query's (status, body); asserts each reply carries the position and digest headers,
/// all naming the same state; returns them too.
fn snapshot(server: &Server, at: Option<&str>) -> (Vec<(u16, Value)>, String, String) {
    let mut out = Vec::new();
    let mut stamp: Option<(String, String)> = None;
    for (method, path, headers, body) in queries() {
        let path = match at {
            Some(a) if path.contains('?') => format!("{path}&at={a}"),
            Some(a) => format!("{path}?at={a}"),
            None => path,
        };
        let r = if method == "GET" {
            get_with(server, &path, &headers)
        } else {
            server.post(&path, &headers, &body)
        };
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let header = |h: &str| {
            r.headers
                .get(h)
                .unwrap_or_else(|| panic!("{path}: no {h}"))
                .to_str()
                .unwrap()
                .to_string()
        };
        let this = (header("x-ledger-position"), header("x-ledger-digest"));
        assert_eq!(this.1.len(), 64, "{path}: a SHA-256 digest");
        if let Some(s) = &stamp {
            assert_eq!(s, &this, "{path}: every reply names the same state");
        }
        stamp = Some(this);
        out.push((r.status, r.body));
    }
    let (position, digest) = stamp.unwrap();
    (out, position, digest)
}

/// A GET with the test's own headers, signed like every other request of the family.
fn get_with(server: &Server, path: &str, headers: &[(&str, &str)]) -> common::Reply {
    let query = path
        .find('?')
        .map(|i| path.as_bytes()[i..].to_vec())
        .unwrap_or_default();
    let signed = common::sign(path, headers, &query);
    let refs: Vec<(&str, &str)> = signed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    server
        .send_exact("GET", path, &refs, Vec::new())
        .expect("request sent")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn digest_of(store_dir: &Path) -> String {
    ReadStore::open(store_dir).unwrap().digest().unwrap()
}

#[test]
fn replays_reproduce_the_live_state_in_full_and_at_every_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("live");
    let server = Server::start(&data);
    workload(&server, 1);
    workload(&server, 2);
    let (mid_replies, mid_position, mid_digest) = snapshot(&server, None);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let cut_time = chrono::Utc::now().to_rfc3339();
    std::thread::sleep(std::time::Duration::from_millis(20));
    workload(&server, 3);
    // A price change after the cut: the fees of round 1 cost more from now on.
    prop(
        &server,
        "/app/feeConfig.updateFeeConfig",
        "upd-1",
        config("cfg1", "3.00"),
    );
    let (end_replies, end_position, end_digest) = snapshot(&server, None);
    assert_ne!(
        mid_replies, end_replies,
        "the later rounds change the replies"
    );

    // `at=` answers from a replay of the log up to that position, while the server runs.
    let (at_replies, at_position, at_digest) = snapshot(&server, Some(&mid_position));
    assert_eq!(at_replies, mid_replies);
    assert_eq!(
        (at_position, at_digest),
        (mid_position.clone(), mid_digest.clone())
    );
    let beyond = server.get(&format!(
        "/app/feeConfig.listFeeConfigs?communityId={C}&at=0:999999"
    ));
    assert_eq!(beyond.status, 400);
    // Refusals of `at=` come in the family's envelope.
    assert_eq!(beyond.body["code"], "400");
    let why = beyond.body["msg"].as_str().unwrap();
    assert!(
        why.starts_with("查询参数错误 (at: partition 0 has only "),
        "{why}"
    );
    assert_eq!(beyond.body["reason"], "invalid_parameter");
    let garbage = server.get(&format!(
        "/app/feeConfig.listFeeConfigs?communityId={C}&at=zero"
    ));
    assert_eq!(garbage.status, 400);
    assert_eq!(
        garbage.body["msg"],
        "查询参数错误 (at: \"zero\" is not partition:offset)"
    );
    assert_eq!(server.terminate(), Some(0));

    // A full replay is byte-identical to the live read models.
    let full = tmp.path().join("full");
    let (code, out) = ledger(&["replay", "--data-dir", s(&data), "--into", s(&full)]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("read-model digest {end_digest}")),
        "{out}"
    );
    let live_rows = ReadStore::open(&data.join("store"))
        .unwrap()
        .dump()
        .unwrap();
    let replay_rows = ReadStore::open(&full.join("store"))
        .unwrap()
        .dump()
        .unwrap();
    assert!(
        live_rows == replay_rows,
        "replayed rows equal the live rows byte for byte"
    );
    assert!(out.contains(&format!("position {end_position}")), "{out}");

    // Both cuts give the state the live server had at the snapshot, reply by reply.
    for (name, flag, value) in [
        ("by-offset", "--until-offset", mid_position.as_str()),
        ("by-time", "--until-time", cut_time.as_str()),
    ] {
        let out_dir = tmp.path().join(name);
        let (code, out) = ledger(&[
            "replay",
            "--data-dir",
            s(&data),
            "--into",
            s(&out_dir),
            flag,
            value,
        ]);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(
            out.contains(&format!("read-model digest {mid_digest}")),
            "{name}: {out}"
        );
        let replica = Server::start_with(&out_dir, &["--read-only"]);
        let (replies, position, digest) = snapshot(&replica, None);
        assert_eq!(replies, mid_replies, "{name}");
        assert_eq!(
            (position, digest),
            (mid_position.clone(), mid_digest.clone()),
            "{name}"
        );
        // No writer: a command gets the family's unavailable reply and changes nothing.
        let r = replica.post(
            "/app/feeConfig.saveFeeConfig",
            &[("transaction-id", "ro-1")],
            &config("cfg-ro", "1.00"),
        );
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.body["code"], "503");
        assert_eq!(snapshot(&replica, None).2, mid_digest);
        let no_log = replica.get(&format!(
            "/app/feeConfig.listFeeConfigs?communityId={C}&at=0:0"
        ));
        assert_eq!(no_log.status, 503, "a replica has no log to replay");
    }
}

#[test]
fn verify_names_the_first_read_model_row_that_differs_from_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("live");
    let server = Server::start(&data);
    workload(&server, 1);
    assert_eq!(server.terminate(), Some(0));
    let (code, out) = ledger(&["verify", "--data-dir", s(&data)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("identical to a rebuild"), "{out}");
    {
        let store = ReadStore::open(&data.join("store")).unwrap();
        let key = ledger_store::keys::compose(ledger_store::keys::FEE_CONFIG, &[C, "cfg1"]);
        let row = store
            .dump()
            .unwrap()
            .into_iter()
            .find(|(k, _)| *k == key)
            .expect("the config row");
        let text = String::from_utf8(row.1).unwrap().replace("2.50", "2.40");
        store.tamper(&key, Some(text.as_bytes())).unwrap();
    }
    let (code, out) = ledger(&["verify", "--data-dir", s(&data)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.ends_with(&format!(
            "read models: first differing key fc/{C}\\x00cfg1 (live → rebuilt):\n    squarePrice: \"2.40\" → \"2.50\"\n"
        )),
        "{out}"
    );
}

#[test]
fn a_dry_run_of_a_price_change_reports_new_arrears_and_leaves_the_live_store_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("live");
    let server = Server::start(&data);
    prop(
        &server,
        "/app/room.saveRoom",
        "room-a",
        room("roomA", "100"),
    );
    prop(&server, "/app/room.saveRoom", "room-b", room("roomB", "60"));
    prop(
        &server,
        "/app/feeConfig.saveFeeConfig",
        "cfg-x",
        config("cfgX", "2.50"),
    );
    prop(
        &server,
        "/app/feeConfig.saveFeeConfig",
        "cfg-y",
        config("cfgY", "2.50"),
    );
    prop(
        &server,
        "/app/fee.saveRoomCreateFee",
        "fee-a",
        fee("roomA", "cfgX"),
    );
    prop(
        &server,
        "/app/fee.saveRoomCreateFee",
        "fee-b",
        fee("roomB", "cfgX"),
    );
    prop(
        &server,
        "/app/fee.saveRoomCreateFee",
        "fee-c",
        fee("roomA", "cfgY"),
    );
    let before = server.get("/log/positions").body;
    assert_eq!(server.terminate(), Some(0));

    let commands = tmp.path().join("commands.jsonl");
    std::fs::write(
        &commands,
        format!(
            "{}\n",
            json!({"command_id": "dry-1", "type": "fee_config.update", "payload": config("cfgX", "3.00")})
        ),
    )
    .unwrap();
    let (code, out) = ledger(&[
        "dry-run",
        "--data-dir",
        s(&data),
        "--as-of",
        "2023-09-01 00:00:00",
        s(&commands),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("command dry-1: accepted"), "{out}");
    assert!(out.contains(&format!("~ fc/{C}\\x00cfgX")), "{out}");
    assert!(out.contains(r#"squarePrice: "2.50" → "3.00""#), "{out}");
    // roomA, 100 m²: 100 × 2.50 + 100 = 350.00 a month, 8 months to 2023-09-01 = 2800.00;
    // at 3.00: 100 × 3.00 + 100 = 400.00, × 8 = 3200.00. feePrice is listed with 4 decimals.
    let line = |room: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("arrears community {C} room {room} ")))
            .unwrap_or_else(|| panic!("no arrears line for {room}: {out}"))
            .to_string()
    };
    let a = line("roomA");
    assert!(a.contains(r#"feePrice "350.0000" → "400.0000""#), "{a}");
    assert!(a.contains(r#"amountOwed "2800.00" → "3200.00""#), "{a}");
    // roomB, 60 m²: 60 × 2.50 + 100 = 250.00 → 60 × 3.00 + 100 = 280.00; × 8 = 2000.00 → 2240.00.
    let b = line("roomB");
    assert!(b.contains(r#"feePrice "250.0000" → "280.0000""#), "{b}");
    assert!(b.contains(r#"amountOwed "2000.00" → "2240.00""#), "{b}");
    assert_eq!(
        out.matches("arrears community").count(),
        2,
        "cfgY's fee is unaffected: {out}"
    );

    let server = Server::start(&data);
    let after = server.get("/log/positions").body;
    assert_eq!(after["read_model_digest"], before["read_model_digest"]);
    assert_eq!(after["events"], before["events"]);
    assert_eq!(server.get("/commands/dry-1").status, 404);
}

#[test]
fn exported_events_imported_into_an_empty_log_replay_to_the_same_read_models() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("live");
    let server = Server::start(&data);
    workload(&server, 1);
    workload(&server, 2);
    let events = server.log_len();
    assert_eq!(server.terminate(), Some(0));

    let export = std::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args([
            "export",
            "--data-dir",
            s(&data),
            "--what",
            "events",
            "--format",
            "jsonl",
        ])
        .output()
        .unwrap();
    assert!(export.status.success());
    let jsonl = String::from_utf8(export.stdout).unwrap();
    assert_eq!(jsonl.lines().count() as u64, events);
    assert!(String::from_utf8_lossy(&export.stderr).contains(&format!("exported {events} events")));
    let file = tmp.path().join("events.jsonl");
    std::fs::write(&file, &jsonl).unwrap();

    let imported = tmp.path().join("imported");
    let (code, out) = ledger(&["import", "--data-dir", s(&imported), s(&file)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("imported {events} events")), "{out}");
    let (code, out) = ledger(&[
        "replay",
        "--data-dir",
        s(&imported),
        "--into",
        s(&tmp.path().join("r")),
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        digest_of(&tmp.path().join("r/store")),
        digest_of(&data.join("store"))
    );

    // CSV: a header and one line per event; a read model by prefix, one row a line.
    let (code, csv) = ledger(&[
        "export",
        "--data-dir",
        s(&data),
        "--what",
        "events",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0);
    assert_eq!(csv.lines().count() as u64, events + 1);
    assert!(csv.starts_with("partition,offset,event_id,type,"), "{csv}");
    let (code, rows) = ledger(&[
        "export",
        "--data-dir",
        s(&data),
        "--what",
        "fc/",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0);
    let rows: Vec<Value> = rows
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["key"], format!("fc/{C}\\x00cfg1"));
    assert_eq!(rows[0]["value"]["squarePrice"], "2.50");

    // A broken chain is refused line by line.
    let mut lines: Vec<&str> = jsonl.lines().collect();
    lines.swap(0, 1);
    let swapped = tmp.path().join("swapped.jsonl");
    std::fs::write(&swapped, lines.join("\n")).unwrap();
    let (code, _) = ledger(&[
        "import",
        "--data-dir",
        s(&tmp.path().join("bad")),
        s(&swapped),
    ]);
    assert_ne!(code, 0);
}

/// Rewrites every `community.setting_saved` event of a log as schema version 1 (`"on": bool`)
/// and re-chains the partitions, as a log written before version 2 would look.
fn downgrade_settings(from: &EmbeddedLog, to: &EmbeddedLog) -> usize {
    let mut rewritten = 0;
    for p in 0..from.partitions() {
        let mut prev = "0".repeat(64);
        for e in from.read(p, 0, usize::MAX).unwrap() {
            let text = String::from_utf8(e.bytes).unwrap();
            let mut v: Value = serde_json::from_str(&text).unwrap();
            if v["type"] == "community.setting_saved" {
                let on = v["payload"]["settingValue"] == "ON";
                let payload = v["payload"].as_object_mut().unwrap();
                payload.remove("settingValue");
                payload.insert("on".into(), json!(on));
                v["schema_version"] = json!(1);
                rewritten += 1;
            }
            v["prev_hash"] = json!(prev);
            v.as_object_mut().unwrap().remove("hash");
            let canonical = serde_json::to_vec(&v).unwrap();
            let mut h = Sha256::new();
            h.update(hex_decode(&prev));
            h.update(&canonical);
            let hash = hex_encode(&h.finalize());
            let mut bytes = canonical;
            bytes.pop();
            bytes.extend_from_slice(format!(r#","hash":"{hash}"}}"#).as_bytes());
            to.append(&[ledger_core::StoredEvent {
                partition: p,
                offset: e.offset,
                bytes,
            }])
            .unwrap();
            prev = hash;
        }
    }
    rewritten
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn a_log_holding_version_1_events_replays_like_one_holding_only_version_2() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("live");
    let server = Server::start(&data);
    for (i, (community, value)) in [("c1", "ON"), ("c2", "OFF"), ("c1", "OFF")]
        .iter()
        .enumerate()
    {
        let r = server.post(
            "/app/community.setting",
            &[("transaction-id", &format!("set-{i}"))],
            &json!({"communityId": community, "settingKey": "PAY_FEE_MONTH", "settingValue": value}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    prop(
        &server,
        "/app/feeConfig.saveFeeConfig",
        "cfg-v",
        config("cfgV", "2.50"),
    );
    let partitions = server.get("/log/positions").body["partitions"]
        .as_array()
        .unwrap()
        .len() as u32;
    assert_eq!(server.terminate(), Some(0));

    let old = tmp.path().join("old");
    {
        let from = EmbeddedLog::open_existing(&data.join("log")).unwrap();
        let to = EmbeddedLog::open_or_create(&old.join("log"), partitions).unwrap();
        assert_eq!(downgrade_settings(&from, &to), 3);
    }
    let (code, out) = ledger(&["replay", "--data-dir", s(&old), "--into", s(&old)]);
    assert_eq!(code, 0, "{out}");
    // The old log's chain holds, and its replay equals the live read models of the new one.
    let (code, out) = ledger(&["verify", "--data-dir", s(&old)]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        digest_of(&old.join("store")),
        digest_of(&data.join("store"))
    );
    let (_, exported) = ledger(&["export", "--data-dir", s(&old), "--what", "events"]);
    assert_eq!(exported.matches(r#""schema_version":2"#).count(), 0);
    assert_eq!(exported.matches(r#""on":"#).count(), 3);
}
