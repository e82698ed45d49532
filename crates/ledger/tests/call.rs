//! `ledger call` against a running server: one request per family signed with the demo
//! credentials by the CLI itself, the reply printed, and the exit status following the family's
//! envelope (a refused command exits 1 and appends nothing).

mod common;

use common::Server;
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `ledger call ARGS` against `server` with `stdin`; returns (exit code, parsed stdout).
fn call_with_stdin(server: &Server, args: &[&str], stdin: &[u8]) -> (i32, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .arg("call")
        .args(args)
        .env("LEDGER_SERVER", &server.base)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ledger runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| {
        panic!(
            "not JSON: {text} / {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), body)
}

fn call(server: &Server, args: &[&str]) -> (i32, Value) {
    call_with_stdin(server, args, b"")
}

/// A refused call: exit 1, the family's code field, its message field naming the cause, and a
/// log still `events` long (nothing appended).
fn refused(
    server: &Server,
    (exit, reply): (i32, &Value),
    (code_field, code): (&str, Value),
    (message_field, cause): (&str, &str),
    events: u64,
) {
    assert_eq!(exit, 1, "{reply}");
    assert_eq!(reply[code_field], code, "{reply}");
    let message = reply[message_field].as_str().unwrap_or_default();
    assert!(message.contains(cause), "{reply}");
    assert_eq!(server.log_len(), events, "nothing appended");
}

/// A fresh server on a temporary data dir (kept as long as the directory).
fn fresh_server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    (dir, server)
}

fn fee_config(config_id: &str) -> String {
    json!({
        "configId": config_id, "feeTypeCd": "1001", "feeName": "物业费", "feeFlag": "Y",
        "startTime": "2024-01-01", "endTime": "2024-12-31", "computingFormula": "1001",
        "squarePrice": "2.50", "additionalAmount": "10.00", "communityId": "10001",
        "billType": "MONTHLY"
    })
    .to_string()
}

#[test]
fn property_commands_and_queries_are_signed_and_a_refusal_exits_1() {
    let (_dir, server) = fresh_server();
    // Both saves under transaction-id t-1.
    let save = |config_id: &str| {
        let body = fee_config(config_id);
        let args = [
            "-H",
            "transaction-id: t-1",
            "POST",
            "/app/feeConfig.saveFeeConfig",
            &body,
        ];
        call(&server, &args)
    };
    let (code, reply) = save("cfg-1");
    assert_eq!((code, &reply["code"]), (0, &json!("0")), "{reply}");
    assert_eq!(server.log_len(), 1);
    // The query string with a non-ASCII value: signed as it is sent (percent-encoded).
    let (code, reply) = call(
        &server,
        &[
            "GET",
            "/app/feeConfig.listFeeConfigs?communityId=10001&configId=物业费",
        ],
    );
    assert_eq!(code, 0, "{reply}");
    assert_eq!(reply["data"]["total"], 0, "no config has that id: {reply}");
    let (code, reply) = call(
        &server,
        &["GET", "/app/feeConfig.listFeeConfigs?communityId=10001"],
    );
    assert_eq!(code, 0, "{reply}");
    assert_eq!(
        reply["data"]["feeConfigs"][0]["configId"], "cfg-1",
        "{reply}"
    );
    // The same transaction-id with another body: refused, printed, exit 1, nothing appended.
    let (code, reply) = save("cfg-2");
    refused(
        &server,
        (code, &reply),
        ("code", json!("409")),
        ("msg", "already used"),
        1,
    );
}

#[test]
fn baas_body_from_a_file_is_signed_and_a_failure_envelope_exits_1() {
    let (dir, server) = fresh_server();
    let bill = dir.path().join("bill.json");
    std::fs::write(
        &bill,
        r#"{"billId":"B1","tenantId":"MVNE","extCustId":"10010111","serviceId":"1001","periodStart":"20160101000000","periodEnd":"20160131235959","amount":"60.50"}"#,
    )
    .unwrap();
    let at_bill = format!("@{}", bill.display());
    let (code, reply) = call(&server, &["POST", "/occ/http/baas/bills", &at_bill]);
    assert_eq!(
        (code, &reply["returnCode"]),
        (0, &json!("BaaS-000000")),
        "{reply}"
    );
    let appended = server.log_len();
    // A payment above what is owed: BaaS-000005, exit 1, nothing appended.
    let (code, reply) = call(
        &server,
        &[
            "POST",
            "/occ/http/baas/payments",
            r#"{"paymentId":"P1","tenantId":"MVNE","extCustId":"10010111","serviceId":"1001","amount":"99.00","paidAt":"20160420093000"}"#,
        ],
    );
    refused(
        &server,
        (code, &reply),
        ("returnCode", json!("BaaS-000005")),
        ("returnMessage", "owe"),
        appended,
    );
    // The lists are GETs signed over their query.
    let (code, reply) = call(&server, &["GET", "/occ/http/baas/customers?tenantId=MVNE"]);
    assert_eq!(code, 0, "{reply}");
    assert_eq!(
        reply["customers"],
        json!([{"extCustId": "10010111"}]),
        "{reply}"
    );
}

#[test]
fn utility_credentials_are_put_into_sys_head_from_stdin_body() {
    let (_dir, server) = fresh_server();
    let charge = br#"{"SYS_HEAD":{"ACCOUNT_DID":"A000000000000001"},"DATA":{"SERIAL_DID":"S1","CUSTOMER_DID":"C0000001","RET_STORES_AID":"RS01","BOOK_AID":"BK0001","CHARGE_PACK_TYPE":"1","ACCOUNT_MONTH":202403,"THE_CHARGE_CONS":120.5,"CHARGE_PRICE":0.4883}}"#;
    let (code, reply) = call_with_stdin(&server, &["POST", "/Service/v1/Charges/", "-"], charge);
    assert_eq!(code, 0, "{reply}");
    assert_eq!(
        reply["DATA"]["ACC_VOLPRICE_OWE"][0]["CALC_FEE"].to_string(),
        "58.84"
    );
    // The same serial with another record: CODE 409, exit 1, nothing appended.
    let other = String::from_utf8(charge.to_vec())
        .unwrap()
        .replace("120.5", "99");
    let (code, reply) = call(&server, &["POST", "/Service/v1/Charges/", &other]);
    refused(
        &server,
        (code, &reply),
        ("CODE", json!(409)),
        ("MESSAGE", "charge:S1"),
        1,
    );
    // The accounts list, a GET without a body: read with the admin token.
    let (code, reply) = call(&server, &["GET", "/Service/v1/Accounts/"]);
    assert_eq!(code, 0, "{reply}");
    assert_eq!(
        reply["DATA"]["ACCOUNTS"][0]["ACCOUNT_DID"], "A000000000000001",
        "{reply}"
    );
}

#[test]
fn call_center_gets_the_users_bearer_token_and_admin_paths_the_admin_token() {
    let (_dir, server) = fresh_server();
    let cost_center = r#"{"bg":"房产","bu":"二手房","cost_center":"房产人力资源部","cost_center_code":"67.10.00.34.09"}"#;
    let (code, reply) = call(
        &server,
        &[
            "-H",
            "X-Request-Id: cc-1",
            "POST",
            "/api/bill/cost-center",
            cost_center,
        ],
    );
    assert_eq!((code, &reply["code"]), (0, &json!(0)), "{reply}");
    assert_eq!(reply["user"], "Jack");
    let (code, reply) = call(&server, &["GET", "/commands/callcenter:Jack:cc-1"]);
    assert_eq!(code, 0, "{reply}");
    assert_eq!(reply["status"], "accepted", "{reply}");
    // A bad query parameter: code -1 naming it, exit 1.
    let (code, reply) = call(&server, &["GET", "/api/bill/fee/manage?city_id=x"]);
    refused(
        &server,
        (code, &reply),
        ("code", json!(-1)),
        ("message", "city_id"),
        1,
    );
}

#[test]
fn as_names_a_credential_of_the_config_and_an_unknown_one_is_an_error() {
    let (_dir, server) = fresh_server();
    let out = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args([
            "call",
            "--as",
            "nobody",
            "GET",
            "/app/fee.listFee?communityId=1",
        ])
        .env("LEDGER_SERVER", &server.base)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nobody") && err.contains("micro-community"),
        "{err}"
    );
    let (code, reply) = call(
        &server,
        &[
            "--as",
            "micro-community",
            "GET",
            "/app/feeConfig.listFeeConfigs?communityId=1",
        ],
    );
    assert_eq!((code, &reply["code"]), (0, &json!("0")), "{reply}");
}
