//! Tenant isolation: two credentials per family, each scoped to its own tenant, community or
//! city. A credential's own scope works; another scope's command and query are refused with
//! the family's code and append nothing; `GET /commands/{id}` is refused without credentials
//! and for another scope, and answers the owner and the admin token; `/ui/` needs the admin
//! token (HTTP Basic) while `/healthz`, `/readyz` and `/metrics` stay open.

mod common;

use common::{Reply, Server, md5_hex, req_time_now};
use serde_json::{Value, json};

const CONFIG: &str = r#"
[auth]
admin_token = "admin-secret"
[[auth.property_apps]]
app_id = "pa"
secret = "sa"
token = "ta"
communities = ["C-A"]
[[auth.property_apps]]
app_id = "pb"
secret = "sb"
token = "tb"
communities = ["C-B"]
[[auth.baas_apps]]
appkey = "ka"
secret = "ska"
tenants = ["T-A"]
[[auth.baas_apps]]
appkey = "kb"
secret = "skb"
tenants = ["T-B"]
[[auth.callcenter_users]]
user = "alice"
token = "tok-alice"
cities = [71]
[[auth.callcenter_users]]
user = "bob"
token = "tok-bob"
cities = [72]
[[auth.utility_channels]]
channel_did = "CH-A"
dynamic_key = "key-a"
register_did = "R-A"
accounts = ["ACC-A"]
[[auth.utility_channels]]
channel_did = "CH-B"
dynamic_key = "key-b"
register_did = "R-B"
accounts = ["ACC-B"]
"#;

fn start() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ledger.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    (dir, server)
}

fn refs(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Property headers of app `(app_id, secret, token)` over `content`.
fn property(app: (&str, &str, &str), tid: &str, content: &[u8]) -> Vec<(String, String)> {
    let now = req_time_now();
    let sign = md5_hex(&[
        tid.as_bytes(),
        now.as_bytes(),
        app.0.as_bytes(),
        content,
        app.1.as_bytes(),
    ]);
    vec![
        ("app-id".into(), app.0.into()),
        ("transaction-id".into(), tid.into()),
        ("req-time".into(), now),
        ("sign".into(), sign),
        ("Authorization".into(), format!("Bearer {}", app.2)),
    ]
}

fn baas(app: (&str, &str), content: &[u8]) -> Vec<(String, String)> {
    let now = req_time_now();
    let sign = md5_hex(&[now.as_bytes(), app.0.as_bytes(), content, app.1.as_bytes()]);
    vec![
        ("appkey".into(), app.0.into()),
        ("req-time".into(), now),
        ("sign".into(), sign),
    ]
}

fn bearer(token: &str) -> Vec<(String, String)> {
    vec![("Authorization".into(), format!("Bearer {token}"))]
}

const PA: (&str, &str, &str) = ("pa", "sa", "ta");
const PB: (&str, &str, &str) = ("pb", "sb", "tb");

fn fee_config(community: &str, config_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "configId": config_id, "feeTypeCd": "1001", "feeName": "物业费", "feeFlag": "1003006",
        "startTime": "2023-01-01", "endTime": "2023-12-31", "computingFormula": "1001",
        "squarePrice": "2.50", "additionalAmount": "0", "communityId": community,
        "billType": "MONTHLY"
    }))
    .unwrap()
}

fn assert_refused(r: &Reply, status: u16, code_field: &str, code: Value, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    assert_eq!(r.body[code_field], code, "{what}: {}", r.body);
}

#[test]
fn property_apps_act_and_read_only_in_their_communities() {
    let (_dir, server) = start();
    let save = "/app/feeConfig.saveFeeConfig";
    let body = fee_config("C-A", "cfg-a");
    let r = server.post_unsigned(save, &refs(&property(PA, "t-a1", &body)), &body);
    assert_eq!(r.status, 200, "{}", r.body);
    let before = server.log_len();

    // App B writing into community C-A: 403, code "403", nothing appended.
    let body = fee_config("C-A", "cfg-b");
    let r = server.post_unsigned(save, &refs(&property(PB, "t-b1", &body)), &body);
    assert_refused(&r, 403, "code", json!("403"), "B's command in C-A");
    assert!(
        r.body["msg"].as_str().unwrap().contains("community:C-A"),
        "{}",
        r.body
    );
    assert_eq!(server.log_len(), before);

    // Queries: A lists C-A, B is refused C-A.
    let query = "?communityId=C-A";
    let path = format!("/app/feeConfig.listFeeConfigs{query}");
    let r = server.get_unsigned(&path, &refs(&property(PA, "q-a", query.as_bytes())));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["total"], 1);
    let r = server.get_unsigned(&path, &refs(&property(PB, "q-b", query.as_bytes())));
    assert_refused(&r, 403, "code", json!("403"), "B's query of C-A");
    let path = format!("/app/fee.listFee{query}");
    let r = server.get_unsigned(&path, &refs(&property(PB, "q-b2", query.as_bytes())));
    assert_refused(&r, 403, "code", json!("403"), "B's listFee of C-A");

    // The command's outcome: the owner and the admin read it; B, and nobody, may not.
    let id = "property:pa:t-a1";
    let outcome = format!("/commands/{id}");
    let r = server.get_unsigned(&outcome, &refs(&property(PA, "o-a", b"")));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["command_id"], id, "{}", r.body);
    let r = server.get_unsigned(&outcome, &refs(&property(PB, "o-b", b"")));
    assert_eq!(r.status, 403, "{}", r.body);
    let r = server.get_unsigned(&outcome, &[]);
    assert_eq!(r.status, 401, "{}", r.body);
    let r = server.get_unsigned(&outcome, &refs(&bearer("admin-secret")));
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn baas_apps_act_and_read_only_in_their_tenants() {
    let (_dir, server) = start();
    let path = "/occ/http/baas/bills";
    let body = bill("T-A", "B1");
    let r = server.post_unsigned(path, &refs(&baas(("ka", "ska"), &body)), &body);
    assert_eq!(r.status, 200, "{}", r.body);
    let before = server.log_len();

    let body = bill("T-A", "B2");
    let r = server.post_unsigned(path, &refs(&baas(("kb", "skb"), &body)), &body);
    assert_refused(
        &r,
        403,
        "returnCode",
        json!("BaaS-000007"),
        "kb's bill in T-A",
    );
    let payment = serde_json::to_vec(&json!({"paymentId": "P1", "tenantId": "T-A",
        "extCustId": "10010111", "serviceId": "1001", "amount": "1.00",
        "paidAt": "20160620093000"}))
    .unwrap();
    let r = server.post_unsigned(
        "/occ/http/baas/payments",
        &refs(&baas(("kb", "skb"), &payment)),
        &payment,
    );
    assert_refused(
        &r,
        403,
        "returnCode",
        json!("BaaS-000007"),
        "kb's payment in T-A",
    );
    assert_eq!(server.log_len(), before);

    let query = serde_json::to_vec(
        &json!({"tradeSeq": "T-A20160401121212000100000005", "tenantId": "T-A",
        "extCustId": "10010111", "beginDate": "20160101000000", "endDate": "20161231235959"}),
    )
    .unwrap();
    let qpath = "/occ/http/srv_baas_feeowed_qry";
    let r = server.post_unsigned(qpath, &refs(&baas(("ka", "ska"), &query)), &query);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = server.post_unsigned(qpath, &refs(&baas(("kb", "skb"), &query)), &query);
    assert_refused(
        &r,
        403,
        "returnCode",
        json!("BaaS-000007"),
        "kb's query of T-A",
    );
    assert!(r.body.get("feeOwed").is_none(), "{}", r.body);

    let outcome = "/commands/baas:T-A:bill:B1";
    let r = server.get_unsigned(outcome, &refs(&baas(("ka", "ska"), b"")));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = server.get_unsigned(outcome, &refs(&baas(("kb", "skb"), b"")));
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(server.get_unsigned(outcome, &[]).status, 401);
}

fn tariff(city: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "city_id": city, "workplace_id": 2, "operator_code": 3,
        "line_batch": "E1-联通-北京-03", "line_quantity": 3, "did_detail": "", "did": "3436437",
        "minimum_charge_unit_price": 465.8, "minimum_charge_total_price": 3435.98,
        "month_rent_fee": 48578.4, "number_use_fee": 386.38, "caller_identify_fee": 387,
        "ring_fee": 3232,
        "call_fee_config": {"0": ["本地手机","单一",0.16,5,0.98,1.0,0.97]},
        "discount_fee_config": {"0": ["超阈值优惠",50,""]},
        "fee_remark": ""
    }))
    .unwrap()
}

#[test]
fn callcenter_users_act_and_read_only_in_their_cities() {
    let (_dir, server) = start();
    let mut alice = bearer("tok-alice");
    alice.push(("X-Request-Id".into(), "r1".into()));
    let r = server.post_unsigned("/api/fee/config/1", &refs(&alice), &tariff(71));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"], "alice");
    let before = server.log_len();

    let r = server.post_unsigned("/api/fee/config/2", &refs(&bearer("tok-bob")), &tariff(71));
    assert_refused(&r, 403, "code", json!(-1), "bob's tariff in city 71");
    let calls = serde_json::to_vec(&json!({"calls": [{"call_id": "c1", "did": "3436437",
        "line_prefix": "JN-02", "city_id": 71, "workplace_id": 2, "operator_code": 3,
        "bg": "房产", "bu": "二手房", "business_line": "黄页", "call_type": "本地手机",
        "number_type": "联通手机", "start_time": "2022-03-01 09:01:00", "duration_s": 360}]}))
    .unwrap();
    let r = server.post_unsigned("/api/bill/calls", &refs(&bearer("tok-bob")), &calls);
    assert_refused(&r, 403, "code", json!(-1), "bob's calls in city 71");
    let cost = serde_json::to_vec(&json!({"bg": "BG1", "bu": "BU1", "cost_center": "X",
        "cost_center_code": "X1"}))
    .unwrap();
    let r = server.post_unsigned("/api/bill/cost-center", &refs(&bearer("tok-bob")), &cost);
    assert_refused(
        &r,
        403,
        "code",
        json!(-1),
        "a city-scoped user's cost center",
    );
    assert_eq!(server.log_len(), before);

    let r = server.get_unsigned(
        "/api/bill/fee/manage?city_id=71",
        &refs(&bearer("tok-alice")),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["total"], 1, "{}", r.body);
    for path in [
        "/api/bill/fee/manage?city_id=71",
        "/api/bill/fee/manage",
        "/api/bill/summary?city_id=71",
        "/api/bill/verify",
    ] {
        let r = server.get_unsigned(path, &refs(&bearer("tok-bob")));
        assert_refused(&r, 403, "code", json!(-1), path);
    }

    let outcome = "/commands/callcenter:alice:r1";
    let r = server.get_unsigned(outcome, &refs(&bearer("tok-alice")));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = server.get_unsigned(outcome, &refs(&bearer("tok-bob")));
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(server.get_unsigned(outcome, &[]).status, 401);
}

/// A utility body of channel `(channel_did, dynamic_key, register_did)` on `account`.
fn utility(channel: (&str, &str, &str), account: &str, data: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "SYS_HEAD": {"CHANNEL_DID": channel.0, "DYNAMIC_KEY": channel.1,
                     "REGISTER_DID": channel.2, "ACCOUNT_DID": account},
        "DATA": data
    }))
    .unwrap()
}

const UA: (&str, &str, &str) = ("CH-A", "key-a", "R-A");
const UB: (&str, &str, &str) = ("CH-B", "key-b", "R-B");

/// A utility charge record with serial `serial`.
fn charge(serial: &str) -> Value {
    json!({"SERIAL_DID": serial, "CUSTOMER_DID": "C1", "RET_STORES_AID": "RS01",
           "BOOK_AID": "BK01", "CHARGE_PACK_TYPE": "1", "ACCOUNT_MONTH": 202403,
           "THE_CHARGE_CONS": 10, "CHARGE_PRICE": 0.5, "OPERATION_DATE": 20240331})
}

/// A BaaS bill `id` of customer 10010111 in `tenant`.
fn bill(tenant: &str, id: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"billId": id, "tenantId": tenant, "extCustId": "10010111",
        "serviceId": "1001", "periodStart": "20160601000000", "periodEnd": "20160630235959",
        "amount": "12.00"}),
    )
    .unwrap()
}

#[test]
fn utility_channels_act_and_read_only_on_their_accounts() {
    let (_dir, server) = start();
    let charges = "/Service/v1/Charges/";
    let r = server.post_unsigned(charges, &[], &utility(UA, "ACC-A", charge("S1")));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["CODE"], 0, "{}", r.body);
    let before = server.log_len();

    // Another channel's account: the command and the query are refused, nothing appended.
    let r = server.post_unsigned(charges, &[], &utility(UA, "ACC-B", charge("S2")));
    assert_refused(
        &r,
        401,
        "CODE",
        json!(401),
        "charge on another channel's account",
    );
    assert_eq!(server.log_len(), before);
    let arrears = |account: &str| {
        utility(
            UA,
            account,
            json!({"RET_STORES_AID": "", "BOOK_AID": "", "CHARGE_PACK_TYPE": "1"}),
        )
    };
    let query = "/Service/v1/QueryUserArrearages/";
    let r = server.post_unsigned(query, &[], &arrears("ACC-B"));
    assert_refused(
        &r,
        401,
        "CODE",
        json!(401),
        "arrears of another channel's account",
    );
    let r = server.post_unsigned(query, &[], &arrears("ACC-A"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["CODE"], 0, "{}", r.body);

    // Utility credentials travel in the body, so a GET cannot carry them: the outcome is
    // the admin's to read.
    let outcome = "/commands/utility:ACC-A:charge:S1";
    assert_eq!(server.get_unsigned(outcome, &[]).status, 401);
    let r = server.get_unsigned(outcome, &refs(&bearer("admin-secret")));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["command_id"], "utility:ACC-A:charge:S1",
        "{}",
        r.body
    );
}

#[test]
fn the_dashboard_needs_the_admin_token_and_health_stays_open() {
    let (_dir, server) = start();
    for path in [
        "/ui/",
        "/ui/api/arrears",
        "/ui/api/verify",
        "/ui/dashboard.js",
    ] {
        let r = server.get_unsigned(path, &[]);
        assert_eq!(r.status, 401, "{path}");
        assert!(
            r.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic"),
            "{path}"
        );
        let r = server.get_unsigned(path, &refs(&bearer("tok-alice")));
        assert_eq!(r.status, 401, "{path} with a family token");
        // HTTP Basic, any user name, the token as the password: base64("op:admin-secret").
        let r = server.get_unsigned(path, &[("Authorization", "Basic b3A6YWRtaW4tc2VjcmV0")]);
        assert_eq!(r.status, 200, "{path}");
    }
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(server.get_unsigned(path, &[]).status, 200, "{path}");
    }
}

/// The ids listed under `list` (at the top level, or in `data`/`DATA`) by `key`.
fn listed(r: &Reply, list: &str, key: &str) -> Vec<String> {
    assert_eq!(r.status, 200, "{list}: {}", r.body);
    let rows = [&r.body[list], &r.body["data"][list], &r.body["DATA"][list]]
        .into_iter()
        .find_map(Value::as_array)
        .unwrap_or_else(|| panic!("{list}: {}", r.body));
    rows.iter()
        .map(|row| row[key].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn lists_show_the_admin_everything_and_a_credential_only_its_own() {
    let (_dir, server) = start();
    let save = "/app/feeConfig.saveFeeConfig";
    for (app, community, tid) in [(PA, "C-A", "l-a"), (PB, "C-B", "l-b")] {
        let body = fee_config(community, "cfg");
        let r = server.post_unsigned(save, &refs(&property(app, tid, &body)), &body);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for (app, tenant) in [(("ka", "ska"), "T-A"), (("kb", "skb"), "T-B")] {
        let body = bill(tenant, "B1");
        let r = server.post_unsigned("/occ/http/baas/bills", &refs(&baas(app, &body)), &body);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for (channel, account) in [(UA, "ACC-A"), (UB, "ACC-B")] {
        let body = utility(channel, account, charge("S1"));
        let r = server.post_unsigned("/Service/v1/Charges/", &[], &body);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let admin = bearer("admin-secret");
    let admin = refs(&admin);

    let communities = "/app/community.listCommunitys";
    let r = server.get_unsigned(communities, &admin);
    assert_eq!(listed(&r, "communitys", "communityId"), ["C-A", "C-B"]);
    assert_eq!(r.body["data"]["total"], 2, "{}", r.body);
    let r = server.get_unsigned(communities, &refs(&property(PB, "lq-b", b"")));
    assert_eq!(listed(&r, "communitys", "communityId"), ["C-B"]);
    assert_eq!(r.body["data"]["total"], 1, "{}", r.body);
    let r = server.get_unsigned(communities, &[]);
    assert_refused(
        &r,
        401,
        "code",
        json!("401"),
        "communities without credentials",
    );

    let tenants = "/occ/http/baas/tenants";
    let r = server.get_unsigned(tenants, &admin);
    assert_eq!(listed(&r, "tenants", "tenantId"), ["T-A", "T-B"]);
    let r = server.get_unsigned(tenants, &refs(&baas(("ka", "ska"), b"")));
    assert_eq!(listed(&r, "tenants", "tenantId"), ["T-A"]);
    assert_eq!(r.body["total"], 1, "{}", r.body);
    let query = "?tenantId=T-B";
    let customers = format!("/occ/http/baas/customers{query}");
    let r = server.get_unsigned(&customers, &refs(&baas(("kb", "skb"), query.as_bytes())));
    assert_eq!(listed(&r, "customers", "extCustId"), ["10010111"]);
    let r = server.get_unsigned(&customers, &refs(&baas(("ka", "ska"), query.as_bytes())));
    assert_refused(
        &r,
        403,
        "returnCode",
        json!("BaaS-000007"),
        "ka's customers of T-B",
    );
    let r = server.get_unsigned(tenants, &[]);
    assert_refused(
        &r,
        401,
        "returnCode",
        json!("BaaS-000001"),
        "tenants unsigned",
    );

    let accounts = "/Service/v1/Accounts/";
    let r = server.get_unsigned(accounts, &admin);
    assert_eq!(listed(&r, "ACCOUNTS", "ACCOUNT_DID"), ["ACC-A", "ACC-B"]);
    let own = format!("{accounts}?CHANNEL_DID=CH-A&DYNAMIC_KEY=key-a&REGISTER_DID=R-A");
    let r = server.get_unsigned(&own, &[]);
    assert_eq!(listed(&r, "ACCOUNTS", "ACCOUNT_DID"), ["ACC-A"]);
    let wrong = format!("{accounts}?CHANNEL_DID=CH-A&DYNAMIC_KEY=key-b&REGISTER_DID=R-A");
    let r = server.get_unsigned(&wrong, &[]);
    assert_refused(&r, 401, "CODE", json!(401), "accounts with a wrong key");
}
