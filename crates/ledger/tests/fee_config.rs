//! Fee configs end to end over real HTTP (issue: foundation): the seed 002 example, idempotency,
//! required-field rejections, restart.

mod common;

use common::Server;
use serde_json::{Value, json};

const SEED_002_HEADERS: &[(&str, &str)] = &[
    ("Authorization", "Bearer xxxxxx"),
    ("app-id", "micro-community"),
    ("transaction-id", "100000000020231201143456123456"),
    ("sign", "xxxxxx"),
    ("req-time", "20231201143456"),
];

fn seed_002_body() -> Value {
    serde_json::from_str(include_str!(
        "../../../schemas/examples/002_fee_config.update.json"
    ))
    .unwrap()
}

/// The config the seed's update changes: same id and community, other values.
fn create_body() -> Value {
    json!({
        "configId": "123456", "feeTypeCd": "1002", "feeName": "旧物业费", "feeFlag": "2006012",
        "startTime": "2022-01-01", "endTime": "2022-12-31", "computingFormula": "2002",
        "squarePrice": "1.00", "additionalAmount": "10.00", "communityId": "10001",
        "billType": "YEARLY"
    })
}

fn create(server: &Server) {
    let r = server.post(
        "/app/feeConfig.saveFeeConfig",
        &[
            ("transaction-id", "100000000020231201000000000001"),
            ("app-id", "micro-community"),
        ],
        &create_body(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"code": "0", "msg": "成功", "data": {"configId": "123456"}})
    );
}

fn list(server: &Server) -> Value {
    let r = server.get("/app/feeConfig.listFeeConfigs?communityId=10001&configId=123456");
    assert_eq!(r.status, 200);
    assert!(r.headers.contains_key("x-ledger-position"));
    r.body
}

#[test]
fn seed_002_example_updates_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    create(&server);

    let r = server.post(
        "/app/feeConfig.updateFeeConfig",
        SEED_002_HEADERS,
        &seed_002_body(),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"code": "0", "msg": "成功", "data": null}));

    let listed = list(&server);
    assert_eq!(listed["code"], "0");
    assert_eq!(listed["data"]["total"], 1);
    let c = &listed["data"]["feeConfigs"][0];
    assert_eq!(c["configId"], "123456");
    assert_eq!(c["communityId"], "10001");
    assert_eq!(c["feeTypeCd"], "1001");
    assert_eq!(c["feeName"], "物业费");
    assert_eq!(c["feeFlag"], "1003006", "Y is the periodic code");
    assert_eq!(c["startTime"], "2023-01-01 00:00:00");
    assert_eq!(
        c["endTime"], "2023-12-31 23:59:59",
        "an end date covers the whole day"
    );
    assert_eq!(c["computingFormula"], "面积 * 单价 + 附加费");
    assert_eq!(c["squarePrice"], "2.50", "scale kept exactly");
    assert_eq!(c["additionalAmount"], "100.00");
    assert_eq!(c["billType"], "002", "MONTHLY is code 002");
    assert_eq!(
        c["state"], "N",
        "UpdateFeeConfigCmd stores NA as N (the config's fees finish)"
    );
    assert_eq!(c["paymentCd"], "2100", "kept from the config");
    assert_eq!(
        c["paymentCycle"], 12,
        "kept from the config (YEARLY default)"
    );
}

#[test]
fn the_same_transaction_id_twice_appends_once_and_answers_identically() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    create(&server);
    let before = server.log_len();
    let first = server.post(
        "/app/feeConfig.updateFeeConfig",
        SEED_002_HEADERS,
        &seed_002_body(),
    );
    let second = server.post(
        "/app/feeConfig.updateFeeConfig",
        SEED_002_HEADERS,
        &seed_002_body(),
    );
    assert_eq!(first.status, 200);
    assert_eq!(first.status, second.status);
    assert_eq!(first.body, second.body);
    assert_eq!(
        server.log_len(),
        before + 1,
        "one event for two identical requests"
    );
    let outcome = server.get("/commands/100000000020231201143456123456");
    assert_eq!(outcome.body["status"], "accepted");
    assert_eq!(outcome.body["events"].as_array().unwrap().len(), 1);
}

#[test]
fn each_missing_required_field_is_named_and_nothing_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    create(&server);
    let before = server.log_len();
    let table = [
        ("configId", "费用项ID不能为空"),
        ("feeTypeCd", "必填，请选择费用类型"),
        ("feeName", "必填，请填写收费项目"),
        ("feeFlag", "必填，请选择费用标识"),
        ("startTime", "必填，请选择计费起始时间"),
        ("endTime", "必填，请选择计费终止时间"),
        ("computingFormula", "必填，请填写计算公式"),
        ("squarePrice", "必填，请填写计费单价"),
        ("additionalAmount", "必填，请填写附加费用"),
        ("communityId", "未包含小区ID"),
        ("billType", "必填，请填写出账类型"),
    ];
    for (i, (field, message)) in table.iter().enumerate() {
        for blank in [None, Some(json!("")), Some(Value::Null)] {
            let mut body = seed_002_body();
            match &blank {
                None => {
                    body.as_object_mut().unwrap().remove(*field);
                }
                Some(v) => body[*field] = v.clone(),
            }
            let id = format!("missing-{i}-{blank:?}");
            let r = server.post(
                "/app/feeConfig.updateFeeConfig",
                &[("transaction-id", &id)],
                &body,
            );
            assert_eq!(r.status, 400, "{field}");
            assert_eq!(r.body["code"], "400", "{field}");
            let english = if *field == "communityId" {
                "communityId is required".to_string()
            } else {
                format!("{field} is required")
            };
            assert_eq!(r.body["msg"], format!("{message} ({english})"), "{field}");
            assert_eq!(r.body["reason"], "missing_field", "{field}");
            assert_eq!(r.body["data"], Value::Null);
        }
    }
    assert_eq!(
        server.log_len(),
        before,
        "no rejected request appended anything"
    );
}

#[test]
fn malformed_fields_are_named_and_nothing_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    create(&server);
    let before = server.log_len();
    let table: &[(&str, Value, &str)] = &[
        ("squarePrice", json!("abc"), "squarePrice"),
        ("squarePrice", json!(-1), "squarePrice"),
        ("additionalAmount", json!("1.0000001"), "additionalAmount"),
        ("startTime", json!("2023/01/01"), "startTime"),
        ("endTime", json!("2023-13-01"), "endTime"),
        ("billType", json!("WEEKLY"), "billType"),
        ("feeFlag", json!("X"), "feeFlag"),
        ("computingFormula", json!("面积 * 价格"), "computingFormula"),
        ("computingFormula", json!("5005"), "computingFormula"),
        ("state", json!("Z"), "state"),
        ("feeName", json!({"a": 1}), "feeName"),
    ];
    for (i, (field, value, named)) in table.iter().enumerate() {
        let mut body = seed_002_body();
        body[*field] = value.clone();
        let r = server.post(
            "/app/feeConfig.updateFeeConfig",
            &[("transaction-id", &format!("bad-{i}"))],
            &body,
        );
        assert_eq!(r.status, 400, "{field}={value}: {}", r.body);
        assert_eq!(r.body["code"], "400");
        let msg = r.body["msg"].as_str().unwrap();
        assert!(
            msg.contains(named),
            "{field}={value}: message {msg:?} names the field"
        );
    }
    let r = server.post_raw("/app/feeConfig.updateFeeConfig", &[], b"{not json".to_vec());
    assert_eq!(r.status, 400);
    assert!(r.body["msg"].as_str().unwrap().contains("body"));
    assert_eq!(server.log_len(), before);
}

#[test]
fn an_unknown_config_is_refused_and_nothing_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    create(&server);
    let before = server.log_len();
    let mut body = seed_002_body();
    body["configId"] = json!("no-such-config");
    let r = server.post(
        "/app/feeConfig.updateFeeConfig",
        &[("transaction-id", "unknown-1")],
        &body,
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        json!({"code": "404", "msg": "未找到该费用项 (no such fee config)", "data": null,
               "reason": "not_found"})
    );
    let mut body = seed_002_body();
    body["communityId"] = json!("other-community");
    let r = server.post(
        "/app/feeConfig.updateFeeConfig",
        &[("transaction-id", "unknown-2")],
        &body,
    );
    assert_eq!(
        r.body["msg"], "未找到该费用项 (no such fee config)",
        "the config is looked up by configId + communityId"
    );
    assert_eq!(server.log_len(), before);
}

#[test]
fn a_restart_serves_the_same_read_models_without_reapplying() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    create(&server);
    server.post(
        "/app/feeConfig.updateFeeConfig",
        SEED_002_HEADERS,
        &seed_002_body(),
    );
    let before = server.get("/log/positions").body;
    let listed = list(&server);
    server.terminate();

    let server = Server::start(dir.path());
    let after = server.get("/log/positions").body;
    assert_eq!(
        before, after,
        "same positions and the same read-model digest"
    );
    assert_eq!(list(&server), listed);
    let outcome = server.get("/commands/100000000020231201143456123456").body;
    assert_eq!(
        outcome["events"].as_array().unwrap().len(),
        1,
        "not re-applied"
    );
    // A repeat after the restart is still recognised.
    let again = server.post(
        "/app/feeConfig.updateFeeConfig",
        SEED_002_HEADERS,
        &seed_002_body(),
    );
    assert_eq!(
        again.body,
        json!({"code": "0", "msg": "成功", "data": null})
    );
    assert_eq!(server.get("/log/positions").body["events"], after["events"]);
}

#[test]
fn a_command_not_projected_within_the_wait_answers_202_with_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--command-wait-ms", "0"]);
    let r = server.post(
        "/app/feeConfig.saveFeeConfig",
        &[("transaction-id", "slow-1")],
        &create_body(),
    );
    assert_eq!(r.status, 202);
    assert_eq!(r.body["code"], "202");
    // Ids are namespaced per app; `/commands/slow-1` finds it under the namespace too.
    assert_eq!(
        r.body["data"]["commandId"],
        "property:micro-community:slow-1"
    );
    // The command was still decided; its outcome can be looked up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let o = server.get("/commands/slow-1");
        if o.status == 200 {
            assert_eq!(o.body["status"], "accepted");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "outcome never appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
