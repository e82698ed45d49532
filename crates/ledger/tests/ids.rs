//! Ids and bodies at the wire: a key given twice, control characters in an id, an id longer
//! than its cap (body or header) are refused with 400 naming the field and append nothing;
//! property and call-center command ids are namespaced per app and user, so one app's
//! transaction-id does not block another's.

mod common;

use common::{Server, md5_hex, req_time_now};
use serde_json::json;

fn baas_sign(body: &[u8]) -> Vec<(String, String)> {
    common::baas_headers(&req_time_now(), body)
}

fn refs(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[test]
fn a_bill_with_amount_twice_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let body = br#"{"billId":"B1","tenantId":"MVNE","extCustId":"1","serviceId":"1001","periodStart":"20160601000000","periodEnd":"20160630235959","amount":"1.00","amount":"999.00"}"#;
    let r = server.post_unsigned("/occ/http/baas/bills", &refs(&baas_sign(body)), body);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["returnCode"], "BaaS-000002");
    let message = r.body["returnMessage"].as_str().unwrap();
    assert!(
        message.contains("amount") && message.contains("twice"),
        "{message}"
    );
    assert_eq!(server.log_len(), 0);
}

#[test]
fn control_characters_and_overlong_ids_are_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let room = |community: &str| {
        json!({"communityId": community, "roomId": "R1", "roomNum": "101", "unitId": "U1",
               "layer": 1, "section": 1, "apartment": "A", "builtUpArea": "100",
               "ownerId": "O1", "ownerName": "张三"})
    };
    for (community, why) in [
        ("C\u{0}1", "control"),
        ("C\n1", "control"),
        (&*"C".repeat(65), "longer"),
    ] {
        let r = server.post("/app/room.saveRoom", &[], &room(community));
        assert_eq!(r.status, 400, "{community:?}: {}", r.body);
        assert_eq!(r.body["code"], "400");
        let msg = r.body["msg"].as_str().unwrap();
        assert!(msg.contains("communityId") && msg.contains(why), "{msg}");
    }
    // A 60,000-character transaction-id.
    let long = "t".repeat(60_000);
    let r = server.post(
        "/app/room.saveRoom",
        &[("transaction-id", &long)],
        &room("C1"),
    );
    assert!(
        r.status == 400 || r.status == 431,
        "{}: {}",
        r.status,
        r.body
    );
    // A NUL in a utility filter (the seed's query shape, every filter "" but this one).
    let mut query: serde_json::Value = serde_json::from_str(include_str!(
        "../../../schemas/examples/001_QueryUserArrearages.json"
    ))
    .unwrap();
    query["SYS_HEAD"] = json!({"CHANNEL_DID": "CH00000000000001",
        "DYNAMIC_KEY": "demo-dynamic-key-0001", "REGISTER_DID": "R000000000000001",
        "ACCOUNT_DID": "A1"});
    query["ACC_VOLPRICE_OWE"]["BOOK_AID"] = json!("B\u{0}1");
    let r = server.post("/Service/v1/QueryUserArrearages/", &[], &query);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["MESSAGE"].as_str().unwrap().contains("BOOK_AID"),
        "{}",
        r.body
    );
    let long_id = "r".repeat(65);
    let r = server.post(
        "/api/bill/cost-center",
        &[("X-Request-Id", &long_id)],
        &json!({"bg": "BG", "bu": "BU", "cost_center": "X", "cost_center_code": "X1"}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["message"].as_str().unwrap().contains("X-Request-Id"),
        "{}",
        r.body
    );
    assert_eq!(server.log_len(), 0, "nothing appended");
}

const TWO_APPS: &str = r#"
[auth]
admin_token = "adm"
[[auth.property_apps]]
app_id = "pa"
secret = "sa"
token = "ta"
[[auth.property_apps]]
app_id = "pb"
secret = "sb"
token = "tb"
"#;

#[test]
fn property_transaction_ids_are_per_app() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ledger.toml");
    std::fs::write(&config, TWO_APPS).unwrap();
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let post = |app: (&str, &str, &str), config_id: &str| {
        let body = serde_json::to_vec(&json!({
            "configId": config_id, "feeTypeCd": "1001", "feeName": "物业费",
            "feeFlag": "1003006", "startTime": "2023-01-01", "endTime": "2023-12-31",
            "computingFormula": "1001", "squarePrice": "2.50", "additionalAmount": "0",
            "communityId": "10001", "billType": "MONTHLY"
        }))
        .unwrap();
        let now = req_time_now();
        let sign = md5_hex(&[
            b"same-1",
            now.as_bytes(),
            app.0.as_bytes(),
            &body,
            app.1.as_bytes(),
        ]);
        let headers = [
            ("app-id", app.0),
            ("transaction-id", "same-1"),
            ("req-time", &now),
            ("sign", &sign),
            ("Authorization", &format!("Bearer {}", app.2)),
        ];
        server.post_unsigned("/app/feeConfig.saveFeeConfig", &headers, &body)
    };
    assert_eq!(post(("pa", "sa", "ta"), "cfg-a").status, 200);
    // The same transaction-id from another app is its own command, not a conflicting reuse.
    let r = post(("pb", "sb", "tb"), "cfg-b");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(server.log_len(), 2);
    for id in ["property:pa:same-1", "property:pb:same-1"] {
        let r = server.get_unsigned(
            &format!("/commands/{id}"),
            &[("Authorization", "Bearer adm")],
        );
        assert_eq!(r.status, 200, "{id}: {}", r.body);
    }
}

#[test]
fn commands_logged_under_bare_ids_stay_readable_and_answer_retries() {
    let root = tempfile::tempdir().unwrap();
    let body = json!({
        "configId": "cfg-old", "feeTypeCd": "1001", "feeName": "物业费",
        "feeFlag": "1003006", "startTime": "2023-01-01", "endTime": "2023-12-31",
        "computingFormula": "1001", "squarePrice": "2.50", "additionalAmount": "0",
        "communityId": "10001", "billType": "MONTHLY"
    });
    let live = root.path().join("live");
    let server = Server::start_with(&live, &["--partitions", "2"]);
    let save = "/app/feeConfig.saveFeeConfig";
    assert_eq!(
        server
            .post(save, &[("transaction-id", "legacy-1")], &body)
            .status,
        200
    );
    assert_eq!(server.terminate(), Some(0));
    // The same history as a node before namespacing wrote it: the bare transaction-id.
    let old = common::reseal(&common::export_events(&live), |mut e| {
        if e.command_id == "property:micro-community:legacy-1" {
            e.command_id = "legacy-1".into();
        }
        e
    });
    let data = common::import_events(root.path(), "old", 2, &old);
    let server = Server::start(&data);
    let outcome = server.get("/commands/legacy-1");
    assert_eq!(outcome.status, 200, "{}", outcome.body);
    assert_eq!(outcome.body["command_id"], "legacy-1");
    let before = server.log_len();
    let retry = server.post(save, &[("transaction-id", "legacy-1")], &body);
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.body["data"]["configId"], "cfg-old");
    assert_eq!(
        server.log_len(),
        before,
        "the retry was answered, not decided again"
    );
}
