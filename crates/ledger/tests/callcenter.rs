//! Call-center billing end to end over real HTTP (issue 5, seed 003): the seed's examples, a
//! month of CDRs on two lines through every report, rejections, idempotency, filters and paging,
//! and rebuilding the read models by replay.

mod common;

use common::Server;
use serde_json::{Value, json};

/// A JSON value from text, so numbers keep their written scale (`228.50` stays `228.50`).
fn j(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// A JSON number as an integer count of 1/10^dp (exact, from its text).
fn units(v: &Value, dp: usize) -> i64 {
    let text = v.to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    assert!(frac.len() <= dp, "{text} has more than {dp} decimals");
    format!("{int}{frac:0<dp$}").parse().unwrap()
}

fn seed_config() -> Value {
    j(r#"{
        "city_id": 1, "workplace_id": 2, "operator_code": 3,
        "line_batch": "E1-联通-北京-03", "line_quantity": 3, "did_detail": "", "did": "3436437",
        "minimum_charge_unit_price": 465.8, "minimum_charge_total_price": 3435.98,
        "month_rent_fee": 48578.4, "number_use_fee": 386.38, "caller_identify_fee": 387,
        "ring_fee": 3232,
        "call_fee_config": {
            "0": ["本地手机","单一",0.16,5,0.98,1.0,0.97],
            "1": ["本地固化","单一",0.16,5,0.98,1.0,0.97]
        },
        "discount_fee_config": {"0": ["超阈值优惠",50,""], "1": ["超阈值优惠",50,""]},
        "fee_remark": ""
    }"#)
}

#[test]
fn seed_tariff_examples_configure_list_edit_and_change_state() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let r = server.post("/api/fee/config/1", &[("X-User", "Jack")], &seed_config());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"code": 0, "message": "success", "user": "Jack"})
    );

    let r = server.get("/api/bill/fee/manage?city_id=1&workplace_id=2&operator_code=3");
    assert_eq!(r.status, 200);
    assert!(r.headers.contains_key("x-ledger-position"));
    assert_eq!(r.body["code"], 0);
    assert_eq!(r.body["message"], "success");
    assert_eq!(r.body["user"], "Jack");
    assert_eq!(r.body["data"]["total"], 1);
    let t = &r.body["data"]["items"][0];
    for (field, want) in [
        ("id", "1"),
        ("city_id", "1"),
        ("workplace_id", "2"),
        ("operator_code", "3"),
        ("line_batch_num", "\"E1-联通-北京-03\""),
        ("line_batch_code", "\"E1-联通-北京-03\""),
        ("line_quantity", "3"),
        ("line_amount", "3"),
        ("did", "\"3436437\""),
        ("minimum_charge_unit_price", "465.8"),
        ("minimum_charge_total_price", "3435.98"),
        ("month_rent_total_price", "48578.4"),
        ("number_use_fee", "386.38"),
        ("caller_identify_fee", "387"),
        ("caller_identification_fee", "387"),
        ("ring_fee", "3232"),
        ("fee_remark", "\"\""),
        ("charge_remark", "\"\""),
        ("take_effect_time", "null"),
        ("invalid_time", "null"),
        ("state", "true"),
    ] {
        assert_eq!(t[field].to_string(), want, "{field}");
    }
    assert_eq!(
        t["call_fee_config"],
        j(
            r#"{"0":["本地手机","单一",0.16,5,0.98,1.0,0.97,60],"1":["本地固化","单一",0.16,5,0.98,1.0,0.97,60]}"#
        ),
        "the positional arrays come back with the billing unit made explicit"
    );
    assert_eq!(
        t["discount_fee_config"],
        j(r#"{"0":["超阈值优惠",50,""],"1":["超阈值优惠",50,""]}"#)
    );

    // 2.2 edit: the seed's example item as the edit body.
    let edit = j(r#"{
        "city_id": 1, "workplace_id": 54, "operator_code": 78, "line_batch": "JD-NAME-KING",
        "line_quantity": 8, "did": "8343", "minimum_charge_unit_price": 8000.0,
        "minimum_charge_total_price": 40000.0, "month_rent_total_price": 24000.0,
        "number_use_fee": 0.0, "caller_identify_fee": 0.0, "ring_fee": 0.0, "fee_remark": "",
        "take_effect_time": "2018-09-03", "invalid_time": "2022-09-29"
    }"#);
    let r = server.put("/api/bill/fee/edit/1", &[("X-User", "Jack")], &edit);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["code"], 0);
    assert_eq!(r.body["message"], "success");
    assert_eq!(r.body["user"], "Jack");
    let d = &r.body["data"];
    for (field, want) in [
        ("id", "1"),
        ("city_id", "1"),
        ("workplace_id", "54"),
        ("operator_code", "78"),
        ("line_batch_code", "\"JD-NAME-KING\""),
        ("line_amount", "8"),
        ("did", "\"8343\""),
        ("minimum_charge_unit_price", "8000.0"),
        ("minimum_charge_total_price", "40000.0"),
        ("month_rent_total_price", "24000.0"),
        ("number_use_fee", "0.0"),
        ("caller_identification_fee", "0.0"),
        ("ring_fee", "0.0"),
        ("charge_remark", "\"\""),
        ("take_effect_time", "\"2018-09-03\""),
        ("invalid_time", "\"2022-09-29\""),
        ("state", "true"),
    ] {
        assert_eq!(d[field].to_string(), want, "{field}");
    }
    let listed = server.get("/api/bill/fee/manage?city_id=1").body;
    assert_eq!(
        listed["data"]["items"][0], *d,
        "the edit reply is the stored tariff"
    );

    // 2.3 state change.
    let r = server.post(
        "/api/bill/fee/manage/state/1",
        &[("Authorization", "Bearer Jack")],
        &json!({"state": false}),
    );
    assert_eq!(
        r.body,
        json!({"code": 0, "message": "success", "data": "change state success", "user": "Jack"})
    );
    let listed = server.get("/api/bill/fee/manage?city_id=1").body;
    assert_eq!(listed["data"]["items"][0]["state"], false);
    assert_eq!(
        server.get("/api/bill/fee/manage?city_id=2").body["data"],
        json!({"items": [], "total": 0}),
        "an unknown city lists nothing"
    );
}

#[test]
fn tariff_refusals_name_the_field_and_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_eq!(
        server.post("/api/fee/config/1", &[], &seed_config()).status,
        200
    );
    let before = server.log_len();
    let with = |path: &str, value: Value| {
        let mut body = seed_config();
        let mut target = &mut body;
        let parts: Vec<&str> = path.split('/').collect();
        for p in &parts[..parts.len() - 1] {
            target = &mut target[*p];
        }
        target[parts[parts.len() - 1]] = value;
        body
    };
    let table: Vec<(&str, Value, u16, &str)> = vec![
        (
            "/api/fee/config/2",
            with("call_fee_config/0", json!(["本地手机", "单一", 0.16])),
            400,
            "参数错误 (call_fee_config[0] has 3 elements, expected 7 or 8)",
        ),
        (
            "/api/fee/config/2",
            with(
                "call_fee_config/1",
                json!(["本地固化", "单一", "0.16", 5, 0.98, 1.0, 0.97]),
            ),
            400,
            "参数错误 (call_fee_config[1][2] (first_section_price) must be a number)",
        ),
        (
            "/api/fee/config/2",
            with(
                "call_fee_config/0",
                json!(["本地手机", "单一", 0.16, 5, 1.5, 1.0, 0.97]),
            ),
            400,
            "参数错误 (call_fee_config[0][4] (first_section_discount) must be in (0, 1], got 1.5)",
        ),
        (
            "/api/fee/config/2",
            with("discount_fee_config/1", json!(["超阈值优惠", 50])),
            400,
            "参数错误 (discount_fee_config[1] has 2 elements, expected 3 or 4)",
        ),
        (
            "/api/fee/config/2",
            with("city_id", Value::Null),
            400,
            "缺少参数 (city_id is required: a tariff rates the calls of one city (calls are matched to tariffs by city_id and DID) and its events live in that city's partition, so a tariff without a city could never rate a call)",
        ),
        (
            "/api/fee/config/2",
            with("ring_fee", json!(-1)),
            400,
            "ring_fee 不能为负数 (ring_fee must not be negative)",
        ),
        (
            "/api/fee/config/abc",
            seed_config(),
            400,
            "id 必须是整数 (id must be a whole number, got \"abc\")",
        ),
        (
            "/api/fee/config/1",
            seed_config(),
            409,
            "冲突 (tariff 1 already exists; change it with PUT /api/bill/fee/edit/1)",
        ),
    ];
    for (path, body, status, message) in table {
        let r = server.post(path, &[("X-User", "Jack")], &body);
        assert_eq!(r.status, status, "{path}: {}", r.body);
        let reason = r.body["reason"].clone();
        assert_eq!(
            r.body,
            json!({"code": -1, "message": message, "user": "Jack", "reason": reason}),
            "{path}"
        );
        let expected = if status == 409 {
            "conflict"
        } else if message.starts_with("缺少") {
            "missing_field"
        } else {
            "invalid_field"
        };
        assert_eq!(reason, expected, "{path}");
    }
    let r = server.put("/api/bill/fee/edit/9", &[], &json!({"ring_fee": 1}));
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        json!({"code": -1, "message": "未找到 (tariff 9 not found)", "user": "Jack", "reason": "not_found"})
    );
    let r = server.put("/api/bill/fee/edit/1", &[], &json!({"city_id": 2}));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["message"],
        "参数错误 (city_id 2 is not tariff 1's city 1; a tariff cannot move to another city)"
    );
    let r = server.post(
        "/api/bill/fee/manage/state/1",
        &[],
        &json!({"state": "maybe"}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["message"],
        "参数错误 (state must be true or false, got \"maybe\")"
    );
    let r = server.post("/api/bill/fee/manage/state/1", &[], &json!({}));
    assert_eq!(r.body["message"], "缺少参数 (state is required)");
    assert_eq!(
        server.log_len(),
        before,
        "no refused request appended anything"
    );
}

fn operator_report_body() -> Value {
    j(r#"{
        "bill_date": "2022-03-31", "did": "0411882544", "city_id": 71, "workplace_id": 67,
        "operator_code": 43, "bg": "房产", "bu": "二手房", "fee_strategy": "标准资费",
        "fee_state": true, "call_duration": 13020, "tel_fee_total": 228.50, "remark": ""
    }"#)
}

#[test]
fn operator_report_seed_shape_and_each_required_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let r = server.post(
        "/api/bill/operator/create",
        &[("X-User", "Jack01")],
        &operator_report_body(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"code": 0, "message": "success", "user": "Jack"})
    );
    let before = server.log_len();
    for field in [
        "bill_date",
        "did",
        "city_id",
        "workplace_id",
        "operator_code",
        "bg",
        "bu",
        "fee_strategy",
        "fee_state",
        "call_duration",
        "tel_fee_total",
    ] {
        let mut body = operator_report_body();
        body.as_object_mut().unwrap().remove(field);
        let r = server.post("/api/bill/operator/create", &[], &body);
        assert_eq!(r.status, 400, "{field}");
        assert_eq!(
            r.body,
            json!({"code": -1, "message": format!("缺少参数 ({field} is required)"), "user": "Jack",
                   "reason": "missing_field"})
        );
    }
    let bad: &[(&str, Value, &str)] = &[
        ("city_id", json!("abc"), "city_id"),
        (
            "bill_date",
            json!("2022-13-01"),
            "bill_date must be yyyy-MM-dd or yyyy-MM",
        ),
        ("tel_fee_total", json!(-1), "tel_fee_total"),
        (
            "tel_fee_total",
            json!(1.005),
            "tel_fee_total is in yuan with at most 2 decimals",
        ),
        ("fee_state", json!("yes"), "fee_state must be true or false"),
        (
            "call_duration",
            json!(-5),
            "call_duration must not be negative",
        ),
    ];
    for (field, value, message) in bad {
        let mut body = operator_report_body();
        body[*field] = value.clone();
        let r = server.post("/api/bill/operator/create", &[], &body);
        assert_eq!(r.status, 400, "{field}={value}");
        assert_eq!(r.body["code"], -1);
        let got = r.body["message"].as_str().unwrap();
        let english = got.split_once(" (").map_or("", |(_, e)| e);
        assert!(english.starts_with(message), "{field}={value}: {got}");
    }
    let r = server.post_raw("/api/bill/operator/create", &[], b"{nope".to_vec());
    assert_eq!(r.status, 400);
    assert!(r.body["message"].as_str().unwrap().contains("body"));
    assert_eq!(server.log_len(), before);
}

/// Line A (tariff 101): seed rule, 60 s units; minimum 2 lines × 50 = 100; fixed
/// 100 + 20 + 5 + 3.5 = 128.50.
fn line_a() -> Value {
    j(r#"{
        "city_id": 71, "workplace_id": 67, "operator_code": 43, "line_batch": "JN-02-DX-01",
        "line_quantity": 2, "did": "0411882544", "minimum_charge_unit_price": 50,
        "month_rent_fee": 100, "number_use_fee": 20, "caller_identify_fee": 5, "ring_fee": 3.5,
        "call_fee_config": {"0": ["本地手机","单一",0.16,5,0.98,1.0,0.97]}
    }"#)
}

/// Line B (tariff 102): 6 s units, 50 units at 0.015 × 0.9, then 0.012 × 0.95; minimum total
/// 10; month rent 30; 10% off usage above 5 yuan.
fn line_b() -> Value {
    j(r#"{
        "city_id": 71, "workplace_id": 67, "operator_code": 43, "line_batch": "JN-02-DX-02",
        "line_quantity": 1, "did": "041188990000", "minimum_charge_total_price": 10,
        "month_rent_fee": 30,
        "call_fee_config": {"0": ["本地固话","单一",0.015,50,0.9,0.012,0.95,"6s"]},
        "discount_fee_config": {"0": ["超阈值优惠",5,"10%"]}
    }"#)
}

#[allow(clippy::too_many_arguments)]
fn cdr(
    id: String,
    did: &str,
    city: i64,
    bg: &str,
    bu: &str,
    line: &str,
    call_type: &str,
    number_type: &str,
    start: String,
    duration_s: u32,
) -> Value {
    json!({
        "call_id": id, "did": did, "line_prefix": "JN-02", "city_id": city, "workplace_id": 67,
        "operator_code": 43, "bg": bg, "bu": bu, "business_line": line, "call_type": call_type,
        "number_type": number_type, "start_time": start, "duration_s": duration_s
    })
}

/// Every day of March 2022: on line A a 60 s call at 09:xx (1 unit, 0.1568; 房产/二手房/黄页) and
/// a 360 s call at 10:xx (6 units, 5 × 0.1568 + 0.97 = 1.7540; 招聘/蓝领/招聘); on line B a 600 s
/// call at 14:xx (100 units: 50 × 0.0135 + 50 × 0.0114 = 1.2450; 房产/二手房/黄页).
fn march_cdrs() -> Vec<Value> {
    let mut calls = Vec::new();
    for d in 1..=31 {
        let day = format!("2022-03-{d:02}");
        calls.push(cdr(
            format!("A-{d}-1"),
            "04118825440001",
            71,
            "房产",
            "二手房",
            "黄页",
            "本地手机",
            "联通手机",
            format!("{day} 09:{:02}:00", d),
            60,
        ));
        calls.push(cdr(
            format!("A-{d}-2"),
            "04118825440002",
            71,
            "招聘",
            "蓝领",
            "招聘",
            "本地手机",
            "联通手机",
            format!("{day} 10:{:02}:30", d),
            360,
        ));
        calls.push(cdr(
            format!("B-{d}"),
            "041188990000",
            71,
            "房产",
            "二手房",
            "黄页",
            "本地固话",
            "电信固话",
            format!("{day} 14:00:{:02}", d),
            600,
        ));
    }
    calls
}

/// Configures both lines, maps 房产/二手房 to a cost center, records March, and files the
/// operators' bills: line A matching the system exactly, line B with 18000 s and 70.00.
fn march(server: &Server) {
    for (id, body) in [("101", line_a()), ("102", line_b())] {
        let r = server.post(&format!("/api/fee/config/{id}"), &[], &body);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = server.post(
        "/api/bill/cost-center",
        &[],
        &json!({"bg": "房产", "bu": "二手房", "cost_center": "房产人力资源部", "cost_center_code": "67.10.00.34.09"}),
    );
    assert_eq!(
        r.body,
        json!({"code": 0, "message": "success", "user": "Jack"})
    );
    let r = server.post(
        "/api/bill/calls",
        &[("X-Request-Id", "march-batch")],
        &json!({"calls": march_cdrs()}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // 31 × (0.1568 + 1.7540 + 1.2450) = 31 × 3.1558 = 97.8298
    assert_eq!(
        r.body["data"],
        j(r#"{"recorded":93,"fee_total":97.8298,"duplicates":[],"unrated":[]}"#)
    );
    let r = server.post("/api/bill/operator/create", &[], &operator_report_body());
    assert_eq!(r.status, 200);
    let mut b = operator_report_body();
    b["bill_date"] = json!("2022-03");
    b["did"] = json!("041188990000");
    b["call_duration"] = json!(18000);
    b["tel_fee_total"] = j("70.00");
    assert_eq!(
        server.post("/api/bill/operator/create", &[], &b).status,
        200
    );
}

#[test]
fn a_month_of_two_lines_through_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    march(&server);

    // Summary: 3 cells a day; its totals are the sums of the CDRs.
    let r = server.get("/api/bill/summary?limit=1000");
    assert_eq!(r.body["code"], 0);
    assert_eq!(r.body["data"]["total"], 93);
    let items = r.body["data"]["items"].as_array().unwrap();
    let sum = |f: &str, dp| items.iter().map(|i| units(&i[f], dp)).sum::<i64>();
    assert_eq!(sum("call_amount", 0), 93);
    assert_eq!(sum("call_duration", 0), 31 * (60 + 360 + 600));
    assert_eq!(sum("weight_duration", 0), 31 * (60 + 360 + 600));
    assert_eq!(sum("fee_total", 4), 978298, "97.8298 yuan");
    assert_eq!(
        items[0],
        j(
            r#"{"id":1,"city_id":71,"bg":"房产","bu":"二手房","business_line":"黄页",
              "call_time":"2022-03-01 09:00:00","workplace_id":67,"operator_code":43,
              "call_type":"本地手机","number_type":"联通手机","call_amount":1,"call_duration":60,
              "weight_duration":60,"fee_total":0.1568,"cost_total":0.1568}"#
        )
    );

    // Operator query: usage, the discount, line A's minimum top-up and both lines' fixed fees.
    // tel_fee 59.23 + 38.60; call_fee 59.23 + (38.60 − 3.36); top-up 100 − 59.23 = 40.77;
    // fixed 128.50 + 30; total 228.50 + 65.24.
    let r = server.get("/api/bill/operator/query?city_id=71");
    assert_eq!(
        r.body,
        j(
            r#"{"code":0,"message":"success","data":{"items":[{"id":1,"city_id":71,
              "workplace_id":67,"operator_code":43,"bill_date":"2022-03-01","call_duration":31620,
              "weight_duration":31620,"call_amount":93,"tel_fee":97.83,"call_fee":94.47,
              "minimum_charge_fee":40.77,"fixed_fee":158.50,"total_tel_fee":293.74,
              "minimum_charge_compare":false,"report_state":true}],"total":1},"user":"Jack"}"#
        )
    );

    // Business lines: 房产/二手房/黄页 4.8608 + 38.595 = 43.4558 → 43.46, less line B's whole
    // discount 3.36 → 40.10; 招聘/蓝领 54.374 → 54.37.
    let r = server.get("/api/bill/businessline/query?city_id=71&bill_start_date=2022-03-01&bill_end_date=2022-03-31");
    assert_eq!(
        r.body["data"],
        j(r#"{"items":[
            {"id":1,"city_id":71,"bg":"房产","bu":"二手房","business_line":"黄页","bill_date":"2022-03-01",
             "call_duration":20460,"weight_duration":20460,"fee":43.46,"fee_after_discount":40.10,
             "call_amount":62,"tel_traffic":62},
            {"id":2,"city_id":71,"bg":"招聘","bu":"蓝领","business_line":"招聘","bill_date":"2022-03-01",
             "call_duration":11160,"weight_duration":11160,"fee":54.37,"fee_after_discount":54.37,
             "call_amount":31,"tel_traffic":31}],"total":2}"#)
    );

    // Verify: line A matches (0.00%); line B (18600 − 18000)/18000 = +3.33%,
    // (65.24 − 70)/70 = −6.80%.
    let r = server.get("/api/bill/verify?city_id=71&operator_code=43");
    assert_eq!(
        r.body["data"],
        j(r#"{"items":[
            {"id":1,"city_id":71,"workplace_id":67,"operator_code":43,"bill_date":"2022-03-01",
             "did":"0411882544","line_prefix":"JN-02-DX-01","operator_call_duration":13020,
             "billing_call_duration":13020,"billing_duration":13020,"time_diff":"0.00%",
             "operator_total_fee":228.50,"billing_total_fee":228.50,"fee_diff":"0.00%"},
            {"id":2,"city_id":71,"workplace_id":67,"operator_code":43,"bill_date":"2022-03-01",
             "did":"041188990000","line_prefix":"JN-02-DX-02","operator_call_duration":18000,
             "billing_call_duration":18600,"billing_duration":18600,"time_diff":"3.33%",
             "operator_total_fee":70.00,"billing_total_fee":65.24,"fee_diff":"-6.80%"}],"total":2}"#)
    );

    // Share by weight: 房产/二手房 1860 + 18600 = 20460, 招聘/蓝领 11160 (of 31620);
    // operator 298.50 → 193.15 + 105.35; system 293.74 → 190.07 + 103.67.
    let r = server.get("/api/bill/share?city_id=71&workplace_id=67");
    let items = r.body["data"]["items"].as_array().unwrap().clone();
    assert_eq!(
        items,
        vec![
            j(
                r#"{"id":1,"city_id":71,"workplace_id":67,"bill_date":"2022-03-01","operator_code":43,
                  "bg":"房产","bu":"二手房","cost_center":"房产人力资源部","cost_center_code":"67.10.00.34.09",
                  "operator_bill_share":193.15,"system_bill_share":190.07,"report_state":true,
                  "satisfy_minimum_charge":false}"#
            ),
            j(
                r#"{"id":2,"city_id":71,"workplace_id":67,"bill_date":"2022-03-01","operator_code":43,
                  "bg":"招聘","bu":"蓝领","cost_center":"","cost_center_code":"",
                  "operator_bill_share":105.35,"system_bill_share":103.67,"report_state":true,
                  "satisfy_minimum_charge":false}"#
            ),
        ]
    );
    let shares = |f: &str| items.iter().map(|i| units(&i[f], 2)).sum::<i64>();
    assert_eq!(
        shares("operator_bill_share"),
        29850,
        "the operator bills' 298.50"
    );
    assert_eq!(shares("system_bill_share"), 29374, "total_tel_fee 293.74");

    assert_eq!(
        server.get("/api/bill/calltype").body["data"],
        j(r#"{"items":[{"id":1,"name":"本地固话"},{"id":2,"name":"本地手机"}],"total":2}"#)
    );
    assert_eq!(
        server.get("/api/bill/numtype").body["data"],
        j(r#"{"items":[{"id":1,"name":"电信固话"},{"id":2,"name":"联通手机"}],"total":2}"#)
    );
}

#[test]
fn filters_and_paging() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    march(&server);
    let total = |q: &str| {
        let r = server.get(q);
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        r.body["data"]["total"].as_u64().unwrap()
    };
    let r = server.get("/api/bill/summary?limit=10&page=10");
    assert_eq!(r.body["data"]["total"], 93, "total counts before paging");
    let ids: Vec<u64> = r.body["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![91, 92, 93]);
    assert_eq!(
        server.get("/api/bill/summary").body["data"]["items"]
            .as_array()
            .unwrap()
            .len(),
        20,
        "default limit"
    );
    assert_eq!(
        total("/api/bill/summary?call_start_time=2022-03-05&call_end_time=2022-03-06"),
        6
    );
    assert_eq!(
        total(
            "/api/bill/summary?call_start_time=2022-03-05%2009:30:00&call_end_time=2022-03-05%2010:00:00"
        ),
        2,
        "the start's hour and an end on the hour are included"
    );
    assert_eq!(total("/api/bill/summary?call_type=本地固话"), 31);
    assert_eq!(
        total("/api/bill/summary?bg=招聘&bu=蓝领&number_type=联通手机"),
        31
    );
    assert_eq!(total("/api/bill/summary?operator_code=43&city_id=71"), 93);
    assert_eq!(
        total("/api/bill/summary?city_id=999"),
        0,
        "unknown value: empty list"
    );
    assert_eq!(
        total("/api/bill/operator/query?report_state=true&satisfy_minimum_charge=false"),
        1
    );
    assert_eq!(
        total("/api/bill/operator/query?satisfy_minimum_charge=true"),
        0
    );
    assert_eq!(total("/api/bill/operator/query?bill_start_date=2022-04"), 0);
    assert_eq!(
        total("/api/bill/operator/query?bill_start_date=2022-03-15&bill_end_date=2022-03-16"),
        1
    );
    assert_eq!(total("/api/bill/businessline/query?bg=房产"), 1);
    assert_eq!(total("/api/bill/verify?workplace_id=68"), 0);
    assert_eq!(total("/api/bill/share?cost_center_code=67.10.00.34.09"), 1);
    assert_eq!(total("/api/bill/share?report_state=false"), 0);
    assert_eq!(total("/api/bill/fee/manage?operator_code=43"), 2);
    let r = server.get("/api/bill/fee/manage?limit=1&page=2");
    assert_eq!(r.body["data"]["total"], 2);
    assert_eq!(r.body["data"]["items"][0]["id"], 102);

    let before = server.log_len();
    for (q, param) in [
        ("/api/bill/summary?city_id=abc", "city_id"),
        (
            "/api/bill/summary?call_start_time=2022-03-32",
            "call_start_time",
        ),
        (
            "/api/bill/summary?call_start_time=2022-03-05&call_end_time=2022-03-04",
            "call_start_time",
        ),
        (
            "/api/bill/operator/query?bill_end_date=March",
            "bill_end_date",
        ),
        (
            "/api/bill/operator/query?report_state=maybe",
            "report_state",
        ),
        (
            "/api/bill/businessline/query?bill_start_date=2022-02-30",
            "bill_start_date",
        ),
        ("/api/bill/verify?operator_code=4.5", "operator_code"),
        (
            "/api/bill/share?satisfy_minimum_charge=2",
            "satisfy_minimum_charge",
        ),
        ("/api/bill/fee/manage?workplace_id=x", "workplace_id"),
        ("/api/bill/summary?page=0", "page"),
        ("/api/bill/summary?limit=1001", "limit"),
        ("/api/bill/calltype?limit=abc", "limit"),
    ] {
        let r = server.get(q);
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.body["code"], -1, "{q}");
        assert_eq!(r.body["user"], "Jack", "{q}");
        let message = r.body["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("查询参数错误 ({param}")),
            "{q}: {message}"
        );
        assert_eq!(r.body["reason"], "invalid_parameter", "{q}");
        assert!(r.body.get("data").is_none());
    }
    assert_eq!(server.log_len(), before);
}

#[test]
fn idempotent_commands_and_repeated_call_ids() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let first = server.post(
        "/api/fee/config/101",
        &[("X-Request-Id", "cfg-1")],
        &line_a(),
    );
    let before = server.log_len();
    let again = server.post(
        "/api/fee/config/101",
        &[("X-Request-Id", "cfg-1")],
        &line_a(),
    );
    assert_eq!((first.status, &first.body), (again.status, &again.body));
    assert_eq!(
        server.log_len(),
        before,
        "the same request id appends nothing"
    );

    let batch = json!({"calls": march_cdrs()[..2]});
    let first = server.post("/api/bill/calls", &[("X-Request-Id", "b-1")], &batch);
    assert_eq!(first.body["data"]["recorded"], 2);
    let before = server.log_len();
    let again = server.post("/api/bill/calls", &[("X-Request-Id", "b-1")], &batch);
    assert_eq!(first.body, again.body);
    assert_eq!(server.log_len(), before);

    // A new batch repeating call ids: they are ignored and listed.
    let summary = server.get("/api/bill/summary").body;
    let r = server.post("/api/bill/calls", &[], &json!({"calls": march_cdrs()[..3]}));
    assert_eq!(
        r.body["data"],
        j(
            r#"{"recorded":0,"fee_total":0.0000,"duplicates":["A-1-1","A-1-2"],
              "unrated":[{"call_id":"B-1","reason":"no tariff covers did 041188990000 in city 71"}]}"#
        )
    );
    assert_eq!(server.get("/api/bill/summary").body, summary);

    // Once line B is configured the unrated call can be sent again.
    assert_eq!(
        server.post("/api/fee/config/102", &[], &line_b()).status,
        200
    );
    let r = server.post(
        "/api/bill/calls",
        &[],
        &json!({"calls": march_cdrs()[2..3]}),
    );
    assert_eq!(r.body["data"]["recorded"], 1);
    assert_eq!(r.body["data"]["fee_total"].to_string(), "1.2450");
}

#[test]
fn a_batch_spanning_cities_is_split_per_city() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_eq!(
        server.post("/api/fee/config/101", &[], &line_a()).status,
        200
    );
    let mut other = line_a();
    other["city_id"] = json!(72);
    assert_eq!(server.post("/api/fee/config/201", &[], &other).status, 200);
    let mut calls = march_cdrs()[..2].to_vec();
    calls.insert(1, {
        let mut c = calls[0].clone();
        c["call_id"] = json!("C72-1");
        c["city_id"] = json!(72);
        c
    });
    let r = server.post(
        "/api/bill/calls",
        &[("X-Request-Id", "mixed")],
        &json!({"calls": calls}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // 0.1568 + 0.1568 + 1.7540
    assert_eq!(
        r.body["data"],
        j(r#"{"recorded":3,"fee_total":2.0676,"duplicates":[],"unrated":[]}"#)
    );
    for id in ["mixed%23city:71", "mixed%23city:72"] {
        let outcome = server.get(&format!("/commands/{id}")).body;
        assert_eq!(outcome["status"], "accepted", "{id}");
    }
    assert_eq!(
        server.get("/api/bill/summary?city_id=72").body["data"]["total"],
        1
    );

    let before = server.log_len();
    let bad = json!({"calls": [calls[0].clone(), {"call_id": "x", "did": "1", "city_id": 71}]});
    let r = server.post("/api/bill/calls", &[], &bad);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        json!({"code": -1, "message": "缺少参数 (calls[1].workplace_id is required)", "user": "Jack",
               "reason": "missing_field"})
    );
    let mut late = calls[0].clone();
    late["start_time"] = json!("2022-03-01");
    let r = server.post("/api/bill/calls", &[], &json!({"calls": [late]}));
    assert_eq!(
        r.body["message"],
        "参数错误 (calls[0].start_time must be yyyy-MM-dd HH:mm:ss, got \"2022-03-01\")"
    );
    let r = server.post("/api/bill/calls", &[], &json!({"calls": []}));
    assert_eq!(
        r.body["message"],
        "缺少参数 (calls must hold at least one call)"
    );
    assert_eq!(server.log_len(), before, "a rejected batch records nothing");
}

/// Every query reply (bodies only: the position header may differ by nothing but is not part
/// of the read models).
fn all_replies(server: &Server) -> Vec<Value> {
    [
        "/api/bill/summary?limit=1000",
        "/api/bill/operator/query",
        "/api/bill/businessline/query",
        "/api/bill/verify",
        "/api/bill/share",
        "/api/bill/fee/manage",
        "/api/bill/calltype",
        "/api/bill/numtype",
    ]
    .iter()
    .map(|q| server.get(q).body)
    .collect()
}

#[test]
fn rebuilding_the_read_models_by_replay_gives_identical_replies() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    march(&server);
    let edit = server.put(
        "/api/bill/fee/edit/102",
        &[],
        &json!({"month_rent_total_price": 40}),
    );
    assert_eq!(edit.status, 200);
    let replies = all_replies(&server);
    let digest = server.get("/log/positions").body["read_model_digest"].clone();
    assert_eq!(server.terminate(), Some(0));

    std::fs::remove_dir_all(dir.path().join("store")).unwrap();
    let server = Server::start(dir.path());
    assert_eq!(all_replies(&server), replies);
    assert_eq!(
        server.get("/log/positions").body["read_model_digest"],
        digest
    );
    assert_eq!(server.terminate(), Some(0));
    let (code, out) = common::ledger(&["verify", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
}
