//! Property fees end to end over real HTTP (issue 3): rooms, the seed 004 example, prices per
//! formula, arrears as of several dates, payments, config side effects (seed 002), bill mode,
//! every rejection with its message and an unchanged log, replay determinism.

mod common;

use common::{Reply, Server};
use serde_json::{Value, json};

const C: &str = "123456789";

const SEED_004_HEADERS: &[(&str, &str)] = &[
    ("Authorization", "Bearer xxxxx"),
    ("app-id", "micro-community"),
    ("transaction-id", "100000000020230101120000000001"),
    ("sign", "xxxxx"),
    ("req-time", "20230101120000"),
];

fn seed_004_body() -> Value {
    serde_json::from_str(include_str!(
        "../../../schemas/examples/004_room_fee.create.json"
    ))
    .unwrap()
}

fn post(server: &Server, path: &str, id: &str, body: &Value) -> Reply {
    server.post(path, &[("transaction-id", id), ("app-id", "test")], body)
}

fn ok(server: &Server, path: &str, id: &str, body: &Value) -> Value {
    let r = post(server, path, id, body);
    assert_eq!(r.status, 200, "{path} {id}: {}", r.body);
    assert_eq!(r.body["code"], "0", "{path} {id}: {}", r.body);
    r.body["data"].clone()
}

/// A monthly postpaid periodic config for 2023 with `formula`, overridable field by field.
fn config_body(config_id: &str, formula: &str, extra: Value) -> Value {
    let mut body = json!({
        "configId": config_id, "feeTypeCd": "1001", "feeName": format!("费用 {config_id}"),
        "feeFlag": "1003006", "startTime": "2023-01-01", "endTime": "2023-12-31",
        "computingFormula": formula, "squarePrice": "2.50", "additionalAmount": "100.00",
        "communityId": C, "billType": "MONTHLY"
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn create_config(server: &Server, config_id: &str, formula: &str, extra: Value) {
    let data = ok(
        server,
        "/app/feeConfig.saveFeeConfig",
        &format!("cfg-{config_id}"),
        &config_body(config_id, formula, extra),
    );
    assert_eq!(data, json!({"configId": config_id}));
}

/// room1001: 100 m² built-up, 80 m² indoor, rent 1000.00, owner 张三.
fn create_room(server: &Server, room_id: &str, extra: Value) {
    let mut body = json!({
        "communityId": C, "roomId": room_id, "roomNum": "1-1-101", "builtUpArea": "100",
        "roomArea": "80", "roomRent": "1000.00", "ownerId": "owner_001", "ownerName": "张三",
        "ownerTel": "13800000000"
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let data = ok(
        server,
        "/app/room.saveRoom",
        &format!("room-{room_id}"),
        &body,
    );
    assert_eq!(data, json!({"roomId": room_id}));
}

/// Creates a fee of `config_id` on `room_id` from 2023-01-01 to `end_date`.
fn create_fee(server: &Server, id: &str, config_id: &str, room_id: &str, end_date: &str) {
    let data = ok(
        server,
        "/app/fee.saveRoomCreateFee",
        id,
        &json!({
            "communityId": C, "locationObjId": room_id, "configId": config_id,
            "storeId": "store_001", "startTime": "2023-01-01", "endTime": end_date
        }),
    );
    assert_eq!(
        data,
        json!({"totalRoom": 1, "successRoom": 1, "errorRoom": 0})
    );
}

fn list_fees(server: &Server, room_id: &str, as_of: &str) -> Vec<Value> {
    let r = server.get(&format!(
        "/app/fee.listFee?communityId={C}&payerObjId={room_id}&asOf={}",
        as_of.replace(' ', "%20")
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["code"], "0");
    assert!(r.headers.contains_key("x-ledger-position"));
    let fees = r.body["data"]["fees"].as_array().unwrap().clone();
    assert_eq!(r.body["data"]["total"], fees.len());
    fees
}

/// The fee of `config_id` on `room_id` (the only one of that config).
fn fee_of(server: &Server, room_id: &str, config_id: &str, as_of: &str) -> Value {
    let fees: Vec<Value> = list_fees(server, room_id, as_of)
        .into_iter()
        .filter(|f| f["configId"] == config_id)
        .collect();
    assert_eq!(fees.len(), 1, "one fee of {config_id}: {fees:?}");
    fees[0].clone()
}

fn fee_id_of(server: &Server, room_id: &str, config_id: &str) -> String {
    fee_of(server, room_id, config_id, "2023-01-01")["feeId"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A rejection: status, `code` and `msg` as given, `data` null, and nothing appended.
fn refused(server: &Server, path: &str, id: &str, body: &Value, status: u16, msg: &str) {
    let before = server.log_len();
    let r = post(server, path, id, body);
    assert_eq!(r.status, status, "{path} {body}: {}", r.body);
    assert_eq!(
        r.body["code"],
        status.to_string(),
        "{path} {body}: {}",
        r.body
    );
    assert_eq!(r.body["data"], Value::Null, "{path} {body}: {}", r.body);
    assert!(r.body["reason"].is_string(), "{path} {body}: {}", r.body);
    // The message as given when it carries its English detail, else the given upstream
    // (Chinese) text followed by one.
    let text = r.body["msg"].as_str().unwrap();
    if msg.contains(" (") {
        assert_eq!(text, msg, "{path} {body}");
    } else {
        common::assert_styled(text, &format!("{path} {body}"));
        assert!(
            text.starts_with(&format!("{msg} (")),
            "{path} {body}: {text}"
        );
    }
    assert_eq!(server.log_len(), before, "{path} {body}: nothing appended");
}

/// The seed 004 world: config fee_config_001 with formula 1102, room room1001.
fn seed_world(server: &Server) {
    create_config(
        server,
        "fee_config_001",
        "1102",
        json!({"feeName": "租金", "squarePrice": "0", "additionalAmount": "0"}),
    );
    create_room(server, "room1001", json!({}));
}

#[test]
fn seed_004_example_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_world(&server);
    let before = server.log_len();

    let r = server.post(
        "/app/fee.saveRoomCreateFee",
        SEED_004_HEADERS,
        &seed_004_body(),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"code": "0", "msg": "成功", "data": {"totalRoom": 1, "successRoom": 1, "errorRoom": 0}})
    );
    assert_eq!(server.log_len(), before + 1);

    // The same transaction-id again: the same answer, nothing appended.
    let again = server.post(
        "/app/fee.saveRoomCreateFee",
        SEED_004_HEADERS,
        &seed_004_body(),
    );
    assert_eq!((again.status, &again.body), (r.status, &r.body));
    assert_eq!(server.log_len(), before + 1);

    let fee = fee_of(&server, "room1001", "fee_config_001", "2023-09-01 00:00:00");
    let fee_id = fee["feeId"].as_str().unwrap();
    assert!(fee_id.starts_with("90") && fee_id.len() == 18, "{fee_id}");
    let batch_id = fee["batchId"].as_str().unwrap();
    assert!(
        batch_id.starts_with("12") && batch_id.len() == 18,
        "{batch_id}"
    );
    let expected = json!({
        "feeId": fee_id,
        "configId": "fee_config_001",
        "feeName": "租金",
        "feeTypeCd": "1001",
        "feeFlag": "1003006",
        "state": "2008001",
        "computingFormula": "1102",
        "paymentCd": "2100",
        "paymentCycle": 1,
        "startTime": "2023-01-01 00:00:00",
        "endTime": "2023-01-01 00:00:00",
        "deadlineTime": "2023-12-31 23:59:59",
        // 1102 lists its base rent with 4 decimals; dealRentRate changes only the amount owed
        "feePrice": "1000.0000",
        // Jan 1 -> Jun 1: 5 months at 1000; Jun 1 -> Sep 1: 3 months at 1050; 5000 + 3150
        "oweMonths": "8",
        "amountOwed": "8150.00",
        "payerObjId": "room1001",
        "payerObjType": "3333",
        "payerObjName": "1-1-101",
        "incomeObjId": "store_001",
        "batchId": batch_id,
        "ownerId": "owner_001",
        "ownerName": "张三",
        "ownerTel": "13800000000",
        "rateCycle": 12,
        "rate": "0.05",
        "rateStartTime": "2023-06-01 00:00:00",
        "feeAttrs": [
            {"specCd": "390010", "value": "2023-12-31 23:59:59"},
            {"specCd": "390007", "value": "owner_001"},
            {"specCd": "390008", "value": "张三"},
            {"specCd": "390009", "value": "13800000000"},
            {"specCd": "390012", "value": "1-1-101"},
            {"specCd": "390014", "value": "12"},
            {"specCd": "390015", "value": "0.05"},
            {"specCd": "390016", "value": "2023-06-01"},
        ],
    });
    assert_eq!(fee, expected);

    let paths = server.get("/openapi.json").body["paths"].clone();
    for path in [
        "/app/room.saveRoom",
        "/app/community.setting",
        "/app/fee.saveRoomCreateFee",
        "/app/fee.payFee",
        "/app/fee.listFee",
    ] {
        assert!(paths.get(path).is_some(), "{path} is documented");
    }

    // As of a date alone (00:00:00) past the deadline: capped at 2024-01-01,
    // 5 * 1000 + 7 * 1050 = 12350.00 for 12 months.
    let later = fee_of(&server, "room1001", "fee_config_001", "2024-03-01");
    assert_eq!(
        (&later["oweMonths"], &later["amountOwed"]),
        (&json!("12"), &json!("12350.00"))
    );
}

#[test]
fn each_formula_prices_as_hand_computed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    create_room(
        &server,
        "r",
        json!({"builtUpArea": "89.47", "roomArea": "76.123", "roomRent": "1800"}),
    );
    // (formula, monthly feePrice, amount owed for Jan–Mar as of 2023-04-01: 3 months)
    let table = [
        // feePrice is listed with 4 decimals (upstream FEE_SCALE).
        // 2.35 * 89.47 + 12.5 = 222.7545; * 3 = 668.2635 -> 668.26
        ("1001", "222.7545", "668.26"),
        // 12.50; * 3 = 37.50
        ("2002", "12.5000", "37.50"),
        // 2.35 * 76.123 + 12.5 = 191.38905 -> 191.3891 (4 dp); * 3 = 574.1673 -> 574.17
        ("3003", "191.3891", "574.17"),
        // room rent; * 3 = 5400
        ("1101", "1800.0000", "5400.00"),
        // rent before its first increase (2030-01-01); * 3 = 5400
        ("1102", "1800.0000", "5400.00"),
        // the fee's own amount 66.66; * 3 = 199.98
        ("4004", "66.6600", "199.98"),
        ("8008", "66.6600", "199.98"),
        // the seed's expression prices like 1001
        ("面积 * 单价 + 附加费", "222.7545", "668.26"),
        // 1800 / 7 = 257.142857 -> 257.1429; * 3 = 771.4287 -> 771.43
        ("租金 / 7", "257.1429", "771.43"),
    ];
    for (i, (formula, _, _)) in table.iter().enumerate() {
        let config_id = format!("f{i}");
        create_config(
            &server,
            &config_id,
            formula,
            json!({"squarePrice": "2.35", "additionalAmount": "12.5"}),
        );
        ok(
            &server,
            "/app/fee.saveRoomCreateFee",
            &format!("fee-{i}"),
            &json!({
                "communityId": C, "locationObjId": "r", "configId": config_id,
                "storeId": "s", "startTime": "2023-01-01", "endTime": "2023-12-31",
                "amount": "66.66", "rateCycle": 12, "rate": "0.05", "rateStartTime": "2030-01-01"
            }),
        );
    }
    for (i, (formula, price, owed)) in table.iter().enumerate() {
        let fee = fee_of(&server, "r", &format!("f{i}"), "2023-04-01");
        assert_eq!(fee["feePrice"], *price, "{formula}");
        assert_eq!(fee["oweMonths"], "3", "{formula}");
        assert_eq!(fee["amountOwed"], *owed, "{formula}");
        assert_eq!(fee["computingFormula"], *formula);
    }
}

#[test]
fn arrears_as_of_several_dates() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_world(&server);
    // 1001 on room1001: 2.50 * 100 + 100 = 350.00 a month
    create_config(&server, "post", "1001", json!({}));
    create_config(&server, "pre", "1001", json!({"paymentCd": "1200"}));
    create_config(&server, "quarter", "1001", json!({"billType": "QUARTERLY"}));
    create_config(&server, "short", "1001", json!({}));
    create_fee(&server, "fee-post", "post", "room1001", "2023-12-31");
    create_fee(&server, "fee-pre", "pre", "room1001", "2023-12-31");
    create_fee(&server, "fee-quarter", "quarter", "room1001", "2023-12-31");
    // the deadline falls inside the window
    create_fee(&server, "fee-short", "short", "room1001", "2023-03-15");
    let r = server.post(
        "/app/fee.saveRoomCreateFee",
        SEED_004_HEADERS,
        &seed_004_body(),
    );
    assert_eq!(r.status, 200);

    // (config, as of, oweMonths, amountOwed)
    let table = [
        // monthly postpaid: 0 cycles end on the paid-through date (the start) and now is past
        // it, so the running month is due (upstream's prepayment rule, period 0)
        ("post", "2023-01-16", "1", "350.00"),
        // 5.4667 months elapsed: 5 cycles, 5 * 350
        ("post", "2023-06-15", "5", "1750.00"),
        // capped at the deadline: 12 * 350
        ("post", "2024-06-01", "12", "4200.00"),
        // prepaid: the running month is due from its first instant
        ("pre", "2023-01-01", "1", "350.00"),
        // 5 + 1 cycles
        ("pre", "2023-06-15", "6", "2100.00"),
        // quarterly (paymentCycle 3): 2.9677 months -> 0 quarters, ending on the paid-through
        // date: the first quarter is due, 3 * 350
        ("quarter", "2023-03-31", "3", "1050.00"),
        // one quarter: 3 * 350
        ("quarter", "2023-04-01", "3", "1050.00"),
        // 8.4667 months: 2 quarters = 6 months
        ("quarter", "2023-09-15", "6", "2100.00"),
        // deadline 2023-03-15 23:59:59: due to 2023-03-01 first, 2 * 350
        ("short", "2023-03-10", "2", "700.00"),
        // then capped at 2023-03-16: 2 + 15/31 = 2.4839 months; 350 * 2.4839 = 869.365 -> 869.37
        ("short", "2023-07-01", "2.4839", "869.37"),
        // 1102 before the increase: 4 * 1000
        ("fee_config_001", "2023-05-20 12:00:00", "4", "4000.00"),
        // across the increase on 2023-06-01: 5 * 1000 + 3 * 1050
        ("fee_config_001", "2023-09-01 00:00:00", "8", "8150.00"),
        // 5 * 1000 + 7 * 1050, capped at the deadline
        ("fee_config_001", "2025-01-01", "12", "12350.00"),
    ];
    for (config, as_of, months, owed) in table {
        let fee = fee_of(&server, "room1001", config, as_of);
        assert_eq!(
            (fee["oweMonths"].as_str(), fee["amountOwed"].as_str()),
            (Some(months), Some(owed)),
            "{config} as of {as_of}"
        );
    }
}

#[test]
fn payments_reduce_arrears_finish_at_the_deadline_and_are_refused_after() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    create_room(&server, "room1001", json!({}));
    create_config(&server, "prop", "面积 * 单价 + 附加费", json!({}));
    create_fee(&server, "fee-prop", "prop", "room1001", "2023-12-31");
    let fee_id = fee_id_of(&server, "room1001", "prop");
    let fee = fee_of(&server, "room1001", "prop", "2023-06-15");
    // 5 months at 350.00
    assert_eq!(
        (&fee["oweMonths"], &fee["amountOwed"]),
        (&json!("5"), &json!("1750.00"))
    );

    let pay = json!({"communityId": C, "feeId": fee_id, "cycles": "2", "receivedAmount": "700.00"});
    let before = server.log_len();
    let data = ok(&server, "/app/fee.payFee", "pay-1", &pay);
    assert_eq!(server.log_len(), before + 1);
    let detail_id = data["detailId"].as_str().unwrap().to_string();
    assert!(detail_id.starts_with("80"));
    assert_eq!(
        data,
        json!({
            "detailId": detail_id, "feeId": fee_id, "cycles": "2",
            // 2 * 350
            "receivableAmount": "700.00", "receivedAmount": "700.00",
            "startTime": "2023-01-01 00:00:00", "endTime": "2023-03-01 00:00:00",
            "state": "2008001"
        })
    );
    // The same serial again: same answer, nothing appended, paid once.
    let again = post(&server, "/app/fee.payFee", "pay-1", &pay);
    assert_eq!(again.body["data"], data);
    assert_eq!(server.log_len(), before + 1);

    let fee = fee_of(&server, "room1001", "prop", "2023-06-15");
    // 2 months fewer: 3 * 350
    assert_eq!(
        (&fee["oweMonths"], &fee["amountOwed"]),
        (&json!("3"), &json!("1050.00"))
    );
    assert_eq!(fee["endTime"], "2023-03-01 00:00:00");

    // -101: pay 175.00 = 0.5 of a month; Mar 1 + 0.5 * 31 days * 24 h = 372 h -> Mar 16 12:00
    let data = ok(
        &server,
        "/app/fee.payFee",
        "pay-amount",
        &json!({"communityId": C, "feeId": fee_id, "cycles": "-101", "receivedAmount": "175"}),
    );
    assert_eq!(data["cycles"], "0.5");
    assert_eq!(data["receivableAmount"], "175.00");
    assert_eq!(data["endTime"], "2023-03-16 12:00:00");

    // -103 up to the deadline: the quote is 350 * dayCompare(Mar 16 12:00, Dec 31 00:00) =
    // 350 * (15.5/31 + 8 + 30/31 = 0.5 + 8 + 0.9677) = 3313.695 -> 3313.70, below the 3325.00
    // received, so the receivable is 3325.00
    let data = ok(
        &server,
        "/app/fee.payFee",
        "pay-rest",
        &json!({"communityId": C, "feeId": fee_id, "cycles": "-103", "custEndTime": "2023-12-31",
                "receivedAmount": "3325.00"}),
    );
    assert_eq!(data["receivableAmount"], "3325.00");
    assert_eq!(data["endTime"], "2024-01-01 00:00:00");
    assert_eq!(data["state"], "2009001");
    let fee = fee_of(&server, "room1001", "prop", "2024-06-01");
    assert_eq!(fee["state"], "2009001");
    assert_eq!(
        (&fee["oweMonths"], &fee["amountOwed"]),
        (&json!("0"), &json!("0.00"))
    );

    refused(
        &server,
        "/app/fee.payFee",
        "pay-again",
        &json!({"communityId": C, "feeId": fee_id, "cycles": "1", "receivedAmount": "350"}),
        422,
        "收费已经结束，不能再缴费",
    );
}

#[test]
fn config_na_finishes_only_that_configs_fees() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    create_room(&server, "room1001", json!({}));
    create_room(&server, "room1002", json!({"roomNum": "1-1-102"}));
    create_config(&server, "a", "1001", json!({}));
    create_config(&server, "b", "1001", json!({}));
    create_fee(&server, "a1", "a", "room1001", "2023-12-31");
    create_fee(&server, "a2", "a", "room1002", "2023-12-31");
    create_fee(&server, "b1", "b", "room1001", "2023-12-31");

    // Seed 002's body, on config a.
    let mut update = config_body("a", "面积 * 单价 + 附加费", json!({}));
    update["feeFlag"] = json!("Y");
    update["state"] = json!("NA");
    let before = server.log_len();
    assert_eq!(
        ok(&server, "/app/feeConfig.updateFeeConfig", "na", &update),
        Value::Null
    );
    assert_eq!(
        server.log_len(),
        before + 1,
        "one event lists every finished fee"
    );
    let outcome = server.get("/commands/na").body;
    let payload = &outcome["events"][0]["payload"];
    let mut finished: Vec<String> = payload["finishedFeeIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    finished.sort();
    let mut want = vec![
        fee_id_of(&server, "room1001", "a"),
        fee_id_of(&server, "room1002", "a"),
    ];
    want.sort();
    assert_eq!(finished, want);

    for (room, config, state, owed) in [
        ("room1001", "a", "2009001", "0.00"),
        ("room1002", "a", "2009001", "0.00"),
        // b untouched: 5 months at 350 as of 2023-06-01
        ("room1001", "b", "2008001", "1750.00"),
    ] {
        let fee = fee_of(&server, room, config, "2023-06-01");
        assert_eq!(fee["state"], state, "{room} {config}");
        assert_eq!(fee["amountOwed"], owed, "{room} {config}");
    }
}

#[test]
fn fee_flag_change_with_and_without_a_bill_rule() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    create_room(&server, "room1001", json!({}));
    create_config(&server, "plain", "1001", json!({}));
    create_config(&server, "ruled", "1001", json!({}));
    create_fee(&server, "p1", "plain", "room1001", "2023-12-31");
    create_fee(&server, "r1", "ruled", "room1001", "2023-12-31");
    // Bill mode on, then a fee of "ruled" becomes a bill rule.
    assert_eq!(
        ok(
            &server,
            "/app/community.setting",
            "mode-on",
            &json!({"communityId": C, "settingKey": "PAY_FEE_MONTH", "settingValue": "ON"}),
        ),
        Value::Null
    );
    create_fee(&server, "r2", "ruled", "room1001", "2023-12-31");
    let ruled_months: Vec<Value> = list_fees(&server, "room1001", "2023-02-15")
        .into_iter()
        .filter(|f| f["billRuleId"].is_string())
        .collect();
    // postpaid, as of Feb 15: 1.5 months -> 1 cycle -> target Feb 1: only January's bill
    assert_eq!(ruled_months.len(), 1, "January");

    for config in ["plain", "ruled"] {
        let mut update = config_body(config, "1001", json!({}));
        update["feeFlag"] = json!("2006012");
        ok(
            &server,
            "/app/feeConfig.updateFeeConfig",
            &format!("flag-{config}"),
            &update,
        );
    }
    // Without a bill rule: the fee takes the one-off flag and owes its price once.
    let plain = fee_of(&server, "room1001", "plain", "2023-06-01");
    assert_eq!(plain["feeFlag"], "2006012");
    assert_eq!(
        (&plain["oweMonths"], &plain["amountOwed"]),
        (&json!("1"), &json!("350.00"))
    );
    // With a bill rule linked: the config's flag changed, its fee keeps the periodic flag.
    let ruled: Vec<Value> = list_fees(&server, "room1001", "2023-06-01")
        .into_iter()
        .filter(|f| f["configId"] == "ruled" && f["billRuleId"].is_null())
        .collect();
    assert_eq!(ruled.len(), 1);
    assert_eq!(ruled[0]["feeFlag"], "1003006");
    assert_eq!(ruled[0]["amountOwed"], "1750.00");
    let configs = server.get(&format!(
        "/app/feeConfig.listFeeConfigs?communityId={C}&configId=ruled"
    ));
    assert_eq!(configs.body["data"]["feeConfigs"][0]["feeFlag"], "2006012");
}

#[test]
fn bill_mode_yields_monthly_fees_that_can_be_paid() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_world(&server);
    create_config(&server, "prop", "1001", json!({}));
    ok(
        &server,
        "/app/community.setting",
        "mode-on",
        &json!({"communityId": C, "settingKey": "PAY_FEE_MONTH", "settingValue": "ON"}),
    );
    // 1102 is never billed by month: the seed example still creates a room fee.
    let r = server.post(
        "/app/fee.saveRoomCreateFee",
        SEED_004_HEADERS,
        &seed_004_body(),
    );
    assert_eq!(
        r.body["data"],
        json!({"totalRoom": 1, "successRoom": 1, "errorRoom": 0})
    );
    let data = ok(
        &server,
        "/app/fee.saveRoomCreateFee",
        "rule",
        &json!({"communityId": C, "locationObjId": "room1001", "configId": "prop",
                "storeId": "store_001", "startTime": "2023-01-15", "endTime": "2023-03-31"}),
    );
    assert_eq!(
        data,
        json!({"totalRoom": 1, "successRoom": 1, "errorRoom": 0})
    );

    let months = |as_of: &str| -> Vec<Value> {
        list_fees(&server, "room1001", as_of)
            .into_iter()
            .filter(|f| f["configId"] == "prop")
            .collect()
    };
    assert_eq!(months("2023-01-14").len(), 0);
    let feb = months("2023-02-10");
    assert_eq!(feb.len(), 2);
    let rule_id = feb[0]["billRuleId"].as_str().unwrap().to_string();
    // As of Feb 10 the target is Feb 15 (0.8698 months -> 0 cycles, ending on the rule's
    // endTime -> 1 cycle): January and February exist. January (Jan 15 -> Feb 1) owes the full
    // 350 (no proration), a one-off fee owed once.
    assert_eq!(feb[0]["feeId"], format!("{rule_id}-202301"));
    assert_eq!(feb[0]["feeFlag"], "2006012");
    assert_eq!(feb[0]["startTime"], "2023-01-15 00:00:00");
    assert_eq!(feb[0]["deadlineTime"], "2023-01-31 23:59:59");
    assert_eq!(
        (&feb[0]["feePrice"], &feb[0]["amountOwed"]),
        (&json!("350.0000"), &json!("350.00"))
    );
    assert_eq!(feb[1]["feeId"], format!("{rule_id}-202302"));
    assert_eq!(feb[1]["amountOwed"], "350.00");
    // Bills run to the config's end (max_time), not the request's: as of 2024-01-01 the
    // target is Dec 15 (11.5484 months -> 11 cycles), so January to December exist.
    assert_eq!(months("2024-01-01").len(), 12);

    let data = ok(
        &server,
        "/app/fee.payFee",
        "pay-feb",
        &json!({"communityId": C, "feeId": format!("{rule_id}-202302"), "cycles": "1",
                "receivedAmount": "350"}),
    );
    assert_eq!(data["state"], "2009001");
    assert_eq!(data["endTime"], "2023-03-01 00:00:00");
    let after: Vec<(Value, Value)> = months("2023-04-01")
        .into_iter()
        .map(|f| (f["state"].clone(), f["amountOwed"].clone()))
        .collect();
    assert_eq!(
        after,
        // as of Apr 1 the target is Mar 15 (2.5484 months -> 2 cycles): January to March
        vec![
            (json!("2008001"), json!("350.00")),
            (json!("2009001"), json!("0.00")),
            (json!("2008001"), json!("350.00")),
        ]
    );
}

#[test]
fn room_fee_rejections_are_named_and_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_world(&server);
    create_room(
        &server,
        "no-owner",
        json!({"ownerId": null, "ownerName": null}),
    );
    let path = "/app/fee.saveRoomCreateFee";
    for (field, msg) in [
        ("communityId", "未包含小区ID"),
        ("locationObjId", "未包含收费对象"),
        ("configId", "未包含收费项目"),
        ("storeId", "未包含商户ID"),
        ("startTime", "未包含计费起始时间"),
        ("endTime", "未包含计费结束时间"),
    ] {
        for blank in [None, Some(json!("")), Some(Value::Null)] {
            let mut body = seed_004_body();
            match &blank {
                None => {
                    body.as_object_mut().unwrap().remove(field);
                }
                Some(v) => body[field] = v.clone(),
            }
            refused(
                &server,
                path,
                "x",
                &body,
                400,
                &format!("{msg} ({field} is required)"),
            );
        }
    }
    for (field, msg) in [
        ("rateCycle", "未包含递增周期"),
        ("rate", "未包含递增率"),
        ("rateStartTime", "未包含递增开始时间"),
    ] {
        let mut body = seed_004_body();
        body.as_object_mut().unwrap().remove(field);
        refused(
            &server,
            path,
            "x",
            &body,
            400,
            &format!("{msg} ({field} is required)"),
        );
    }
    let with = |k: &str, v: Value| {
        let mut body = seed_004_body();
        body[k] = v;
        body
    };
    refused(
        &server,
        path,
        "x",
        &with("configId", json!("nope")),
        404,
        "当前费用项ID不存在或存在多条",
    );
    refused(
        &server,
        path,
        "x",
        &with("locationObjId", json!("nope")),
        404,
        "未查到需要付费的房屋或未绑定业主",
    );
    refused(
        &server,
        path,
        "x",
        &with("locationObjId", json!("no-owner")),
        404,
        "未查到需要付费的房屋或未绑定业主",
    );
    refused(
        &server,
        path,
        "x",
        &with("endTime", json!("2022-12-31")),
        400,
        "计费结束时间不能早于计费起始时间 (endTime is before startTime)",
    );
    refused(
        &server,
        path,
        "x",
        &with("startTime", json!("2023/01/01")),
        400,
        "startTime 格式错误: invalid date-time \"2023/01/01\": expected \"yyyy-MM-dd HH:mm:ss\" or \"yyyy-MM-dd\" in the years 1900..=2199",
    );
    refused(
        &server,
        path,
        "x",
        &with("rate", json!("-0.05")),
        400,
        "rate 不能为负数 (rate must not be negative)",
    );
    refused(
        &server,
        path,
        "x",
        &with("rateCycle", json!("0")),
        400,
        "递增周期必须在1到1200个月之间 (rateCycle must be 1..=1200 months, got 0)",
    );
    // Corrected, the same serial is accepted (refusals are not recorded).
    assert_eq!(
        ok(&server, path, "x", &seed_004_body()),
        json!({"totalRoom": 1, "successRoom": 1, "errorRoom": 0})
    );
}

#[test]
fn pay_room_and_setting_rejections_are_named_and_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_world(&server);
    create_config(&server, "prop", "1001", json!({}));
    create_fee(&server, "fee", "prop", "room1001", "2023-12-31");
    let fee_id = fee_id_of(&server, "room1001", "prop");
    let pay = |k: &str, v: Option<Value>| {
        let mut body =
            json!({"communityId": C, "feeId": fee_id, "cycles": "1", "receivedAmount": "350"});
        match v {
            Some(v) => body[k] = v,
            None => {
                body.as_object_mut().unwrap().remove(k);
            }
        }
        body
    };
    let path = "/app/fee.payFee";
    for (field, absent, empty) in [
        (
            "communityId",
            "请求报文中未包含communityId节点",
            "小区ID不能为空",
        ),
        ("cycles", "请求报文中未包含cycles节点", "周期不能为空"),
        (
            "receivedAmount",
            "请求报文中未包含receivedAmount节点",
            "实收金额不能为空",
        ),
        ("feeId", "请求报文中未包含feeId节点", "费用ID不能为空"),
    ] {
        // the upstream "absent" messages already name the field
        refused(&server, path, "p", &pay(field, None), 400, absent);
        refused(&server, path, "p", &pay(field, Some(json!(""))), 400, empty);
    }
    // receivedAmount is required with cycles too, as upstream's payFee validation requires it;
    // the message says so.
    let r = post(&server, path, "p", &pay("receivedAmount", None));
    let msg = r.body["msg"].as_str().unwrap();
    assert!(msg.contains("with cycles too"), "{msg}");
    refused(
        &server,
        path,
        "p",
        &pay("feeId", Some(json!("nope"))),
        404,
        "传入费用ID错误",
    );
    refused(
        &server,
        path,
        "p",
        &pay("cycles", Some(json!("13"))),
        422,
        "缴费周期超过 缴费结束时间,请用按结束时间方式缴费",
    );
    refused(
        &server,
        path,
        "p",
        &pay("cycles", Some(json!("0"))),
        400,
        "缴费周期或金额错误",
    );
    refused(
        &server,
        path,
        "p",
        &pay("cycles", Some(json!("abc"))),
        400,
        "cycles 不是合法的数字 (cycles must be a decimal number, got \"abc\")",
    );
    refused(
        &server,
        path,
        "p",
        &pay("receivedAmount", Some(json!("-1"))),
        400,
        "receivedAmount 不能为负数 (receivedAmount must not be negative)",
    );
    refused(
        &server,
        path,
        "p",
        &pay("cycles", Some(json!("-103"))),
        400,
        "未包含自定义结束时间",
    );
    refused(
        &server,
        path,
        "p",
        &pay("cycles", Some(json!("-105"))),
        400,
        "未包含自定义开始时间",
    );

    let room = json!({"communityId": C, "roomId": "r9", "roomNum": "9", "builtUpArea": "1",
                      "roomArea": "1", "roomRent": "1"});
    for (field, msg) in [
        ("communityId", "未包含小区ID"),
        ("roomNum", "请求报文中未包含roomNum"),
        ("builtUpArea", "请求报文中未包含builtUpArea"),
        ("roomArea", "请求报文中未包含roomArea"),
        ("roomRent", "请求报文中未包含roomRent"),
    ] {
        let mut body = room.clone();
        body.as_object_mut().unwrap().remove(field);
        refused(&server, "/app/room.saveRoom", "r", &body, 400, msg);
    }
    let mut body = room.clone();
    body["ownerId"] = json!("o1");
    refused(
        &server,
        "/app/room.saveRoom",
        "r",
        &body,
        400,
        "未包含业主名称",
    );
    let mut body = room.clone();
    body["builtUpArea"] = json!("-5");
    refused(
        &server,
        "/app/room.saveRoom",
        "r",
        &body,
        400,
        "builtUpArea 不能为负数 (builtUpArea must not be negative)",
    );

    let setting = "/app/community.setting";
    refused(
        &server,
        setting,
        "s",
        &json!({"communityId": C, "settingValue": "ON"}),
        400,
        "未包含设置项",
    );
    refused(
        &server,
        setting,
        "s",
        &json!({"communityId": C, "settingKey": "PAY_FEE_MONTH"}),
        400,
        "未包含设置值",
    );
    refused(
        &server,
        setting,
        "s",
        &json!({"communityId": C, "settingKey": "OTHER", "settingValue": "ON"}),
        400,
        "settingKey 取值无效: \"OTHER\" (settingKey must be one of PAY_FEE_MONTH, PAY_FEE_MONTH_CYCLE)",
    );
    refused(
        &server,
        setting,
        "s",
        &json!({"communityId": C, "settingKey": "PAY_FEE_MONTH_CYCLE", "settingValue": "0"}),
        400,
        "每张账单月数必须在1到120之间 (settingValue must be 1..=120, got 0)",
    );

    let before = server.log_len();
    let r = server.get(&format!(
        "/app/fee.listFee?communityId={C}&payerObjId=room1001&asOf=2023-13-01"
    ));
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], "400");
    assert!(
        r.body["msg"].as_str().unwrap().contains("asOf"),
        "{}",
        r.body
    );
    let r = server.get("/app/fee.listFee?payerObjId=room1001");
    assert_eq!(
        r.body,
        json!({"code": "400", "msg": "未包含小区ID (communityId is required)", "data": null,
               "reason": "invalid_parameter"})
    );
    assert_eq!(server.log_len(), before);
}

#[test]
fn replay_and_restart_rebuild_the_same_read_models() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seed_world(&server);
    create_config(&server, "prop", "1001", json!({}));
    create_fee(&server, "fee", "prop", "room1001", "2023-12-31");
    let fee_id = fee_id_of(&server, "room1001", "prop");
    ok(
        &server,
        "/app/fee.payFee",
        "pay",
        &json!({"communityId": C, "feeId": fee_id, "cycles": "2", "receivedAmount": "700"}),
    );
    ok(
        &server,
        "/app/community.setting",
        "mode",
        &json!({"communityId": C, "settingKey": "PAY_FEE_MONTH", "settingValue": "ON"}),
    );
    create_fee(&server, "rule", "prop", "room1001", "2023-12-31");
    let mut update = config_body("prop", "1001", json!({}));
    update["state"] = json!("NA");
    ok(&server, "/app/feeConfig.updateFeeConfig", "na", &update);
    let listed = list_fees(&server, "room1001", "2023-06-01");
    let positions = server.get("/log/positions").body;
    server.terminate();

    let (code, out) = common::ledger(&["verify", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "verify: {out}");

    let server = Server::start(dir.path());
    assert_eq!(server.get("/log/positions").body, positions);
    assert_eq!(list_fees(&server, "room1001", "2023-06-01"), listed);
}

#[test]
fn config_rounding_prepayment_and_pay_105_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    create_room(&server, "room1001", json!({}));
    // 1001: 2.3333 * 100 + 100 = 333.33 a month; owed amounts rounded up to 1 decimal; prepaid
    // with a 5-day prepayment period
    create_config(
        &server,
        "r",
        "1001",
        json!({"squarePrice": "2.3333", "paymentCd": "1200", "scale": "3", "decimalPlace": 1,
               "prepaymentPeriod": 5}),
    );
    let listed = server.get(&format!(
        "/app/feeConfig.listFeeConfigs?communityId={C}&configId=r"
    ));
    let c = &listed.body["data"]["feeConfigs"][0];
    assert_eq!(
        (&c["scale"], &c["decimalPlace"], &c["prepaymentPeriod"]),
        (&json!("3"), &json!(1), &json!(5))
    );
    create_fee(&server, "fee-r", "r", "room1001", "2023-12-31");
    let fee_id = fee_id_of(&server, "room1001", "r");
    // prepaid at the start: 1 cycle due; 333.33 rounded up to 1 decimal = 333.4
    let fee = fee_of(&server, "room1001", "r", "2023-01-01");
    assert_eq!(
        (&fee["feePrice"], &fee["oweMonths"], &fee["amountOwed"]),
        (&json!("333.3300"), &json!("1"), &json!("333.4"))
    );
    let data = ok(
        &server,
        "/app/fee.payFee",
        "pay-r",
        &json!({"communityId": C, "feeId": fee_id, "cycles": "1", "receivedAmount": "333.33"}),
    );
    assert_eq!(data["endTime"], "2023-02-01 00:00:00");
    // paid to Feb 1: on Jan 26 nothing is due; from Jan 28 (after Feb 1 - 5 days) February is
    for (as_of, months, owed) in [("2023-01-26", "0", "0.0"), ("2023-01-28", "1", "333.4")] {
        let fee = fee_of(&server, "room1001", "r", as_of);
        assert_eq!(
            (fee["oweMonths"].as_str(), fee["amountOwed"].as_str()),
            (Some(months), Some(owed)),
            "as of {as_of}"
        );
    }

    // -105 on a plain monthly fee (350.00): pay March and April; January and February stay owed
    // as a new fee. Quote 350 * dayCompare(Mar 1, Apr 30 00:00) = 350 * 1.9667 = 688.35 is
    // below the 700 received, so the receivable is 700.00.
    create_config(&server, "p", "1001", json!({}));
    create_fee(&server, "fee-p", "p", "room1001", "2023-12-31");
    let fee_id = fee_id_of(&server, "room1001", "p");
    let data = ok(
        &server,
        "/app/fee.payFee",
        "pay-105",
        &json!({"communityId": C, "feeId": fee_id, "cycles": "-105",
                "customStartTime": "2023-03-01", "customEndTime": "2023-04-30",
                "receivedAmount": "700"}),
    );
    let owed_fee_id = data["owedFeeId"].as_str().unwrap().to_string();
    assert_eq!(
        (
            &data["cycles"],
            &data["receivableAmount"],
            &data["startTime"],
            &data["endTime"]
        ),
        (
            &json!("2"),
            &json!("700.00"),
            &json!("2023-03-01 00:00:00"),
            &json!("2023-05-01 00:00:00")
        )
    );
    let fees: Vec<(String, String, String)> = list_fees(&server, "room1001", "2023-06-01")
        .into_iter()
        .filter(|f| f["configId"] == "p")
        .map(|f| {
            (
                f["feeId"].as_str().unwrap().to_string(),
                f["oweMonths"].as_str().unwrap().to_string(),
                f["amountOwed"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // as of Jun 1: the paid fee owes May (5 cycles -> target May 31 23:59:59); the new fee
    // (deadline Feb 28 23:59:59) owes January and February
    let mut want = vec![
        (fee_id, "1".to_string(), "350.00".to_string()),
        (owed_fee_id, "2".to_string(), "700.00".to_string()),
    ];
    want.sort();
    let mut fees = fees;
    fees.sort();
    assert_eq!(fees, want);
}
