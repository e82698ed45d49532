//! Listing and paging (issue 18 item 4): the property lists page with upstream's `page` and
//! `row` (defaults, maximum, `total` counted before paging, `records` the page count), bad
//! values are refused naming the field, and an unknown query parameter is refused naming it in
//! every family while each family's own parameters stay accepted.

mod common;

use common::{Reply, Server};
use serde_json::{Value, json};

const C: &str = "P1";
const ADMIN: (&str, &str) = ("Authorization", "Bearer demo-admin-token");

fn ok(server: &Server, path: &str, id: &str, body: &Value) {
    let r = server.post(path, &[("transaction-id", id)], body);
    assert_eq!(r.status, 200, "{path} {id}: {}", r.body);
}

/// Seven fee configs in P1 (cfg-1…cfg-7), a room with a fee of each of the first five, and one
/// config in P2.
fn seeded() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let config = |community: &str, id: &str| {
        json!({
            "configId": id, "feeTypeCd": "1001", "feeName": format!("费用 {id}"),
            "feeFlag": "1003006", "startTime": "2023-01-01", "endTime": "2023-12-31",
            "computingFormula": "1001", "squarePrice": "2.50", "additionalAmount": "0",
            "communityId": community, "billType": "MONTHLY"
        })
    };
    for i in 1..=7 {
        let id = format!("cfg-{i}");
        ok(
            &server,
            "/app/feeConfig.saveFeeConfig",
            &format!("c{i}"),
            &config(C, &id),
        );
    }
    ok(
        &server,
        "/app/feeConfig.saveFeeConfig",
        "c-p2",
        &config("P2", "cfg-x"),
    );
    let room = json!({
        "communityId": C, "roomId": "r1", "roomNum": "1-1-101", "builtUpArea": "100",
        "roomArea": "80", "roomRent": "1000.00", "ownerId": "o1", "ownerName": "张三"
    });
    ok(&server, "/app/room.saveRoom", "room-r1", &room);
    for i in 1..=5 {
        let fee = json!({
            "communityId": C, "locationObjId": "r1", "configId": format!("cfg-{i}"),
            "storeId": "s1", "startTime": "2023-01-01", "endTime": "2023-12-31"
        });
        ok(
            &server,
            "/app/fee.saveRoomCreateFee",
            &format!("f{i}"),
            &fee,
        );
    }
    (dir, server)
}

fn ids(r: &Reply, list: &str, id: &str) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["data"][list]
        .as_array()
        .unwrap_or_else(|| panic!("{list}: {}", r.body))
        .iter()
        .map(|x| x[id].as_str().unwrap().to_string())
        .collect()
}

fn paging(r: &Reply) -> (u64, u64, u64, u64) {
    let d = &r.body["data"];
    let n = |k: &str| d[k].as_u64().unwrap_or_else(|| panic!("{k}: {}", r.body));
    (n("total"), n("records"), n("page"), n("row"))
}

#[test]
fn property_lists_page_with_page_and_row_counting_total_before_paging() {
    let (_dir, server) = seeded();
    let configs = |query: &str| {
        server.get(&format!(
            "/app/feeConfig.listFeeConfigs?communityId={C}{query}"
        ))
    };
    let all: Vec<String> = (1..=7).map(|i| format!("cfg-{i}")).collect();

    // Defaults: page 1 of 100 rows.
    let r = configs("");
    assert_eq!(ids(&r, "feeConfigs", "configId"), all);
    assert_eq!(paging(&r), (7, 1, 1, 100));
    // Page 2 of 3 rows, then the last, partial page, then past the end.
    let r = configs("&page=2&row=3");
    assert_eq!(ids(&r, "feeConfigs", "configId"), all[3..6]);
    assert_eq!(paging(&r), (7, 3, 2, 3));
    let r = configs("&page=3&row=3");
    assert_eq!(ids(&r, "feeConfigs", "configId"), all[6..]);
    let r = configs("&page=4&row=3");
    assert!(ids(&r, "feeConfigs", "configId").is_empty());
    assert_eq!(paging(&r), (7, 3, 4, 3));
    // The maximum is accepted.
    assert_eq!(paging(&configs("&row=1000")), (7, 1, 1, 1000));

    // listFee: the page is a slice of the whole list, total counts every fee.
    let fees = |query: &str| server.get(&format!("/app/fee.listFee?communityId={C}{query}"));
    let every = ids(&fees("&asOf=2023-06-01"), "fees", "feeId");
    assert_eq!(every.len(), 5);
    let r = fees("&asOf=2023-06-01&page=2&row=2");
    assert_eq!(ids(&r, "fees", "feeId"), every[2..4]);
    assert_eq!(paging(&r), (5, 3, 2, 2));

    // listCommunitys.
    let r = server.get("/app/community.listCommunitys?page=2&row=1");
    assert_eq!(ids(&r, "communitys", "communityId"), ["P2"]);
    assert_eq!(paging(&r), (2, 2, 2, 1));
    let r = server.get("/app/community.listCommunitys");
    assert_eq!(
        r.body["data"]["communitys"][0],
        json!({
            "communityId": C, "feeConfigs": 7, "rooms": 1, "roomFees": 5
        })
    );
}

#[test]
fn lists_answer_at_a_past_position() {
    let (_dir, server) = seeded();
    // Before anything was written: no community; the app signs the query with `at=` in it.
    let r = server.get("/app/community.listCommunitys?at=0:0");
    assert_eq!(ids(&r, "communitys", "communityId"), Vec::<String>::new());
    assert_eq!(paging(&r).0, 0);
    let now = server.get("/app/community.listCommunitys");
    let position = now.headers["x-ledger-position"]
        .to_str()
        .unwrap()
        .to_string();
    let r = server.get(&format!("/app/community.listCommunitys?at={position}"));
    assert_eq!(ids(&r, "communitys", "communityId"), ["P1", "P2"]);
    // The admin token replays the BaaS and utility lists.
    for path in [
        "/occ/http/baas/tenants?at=0:0",
        "/Service/v1/Accounts/?at=0:0",
    ] {
        let r = server.get_unsigned(path, &[ADMIN]);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let total = [&r.body["total"], &r.body["DATA"]["total"]];
        assert!(total.contains(&&json!(0)), "{path}: {}", r.body);
    }
}

#[test]
fn bad_page_or_row_is_refused_naming_the_field() {
    let (_dir, server) = seeded();
    let before = server.log_len();
    for (query, field) in [
        ("page=0", "page"),
        ("page=x", "page"),
        ("row=0", "row"),
        ("row=1001", "row"),
        ("row=-1", "row"),
        ("page=1&row=2.5", "row"),
    ] {
        for path in [
            format!("/app/feeConfig.listFeeConfigs?communityId={C}&{query}"),
            format!("/app/fee.listFee?communityId={C}&{query}"),
            format!("/app/community.listCommunitys?{query}"),
        ] {
            let r = server.get(&path);
            assert_eq!(r.status, 400, "{path}: {}", r.body);
            assert_eq!(r.body["code"], "400", "{path}: {}", r.body);
            assert_eq!(r.body["reason"], "invalid_parameter", "{path}: {}", r.body);
            let msg = r.body["msg"].as_str().unwrap();
            assert!(msg.starts_with(&format!("{field} ")), "{path}: {msg}");
            if field == "row" {
                assert!(msg.contains("1000"), "{path}: the maximum is named: {msg}");
            }
        }
    }
    assert_eq!(server.log_len(), before);
}

#[test]
fn an_unknown_query_parameter_is_refused_naming_it_in_every_family() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let before = server.log_len();
    // (path, the unknown name, code field, expected code, message field)
    let cases: [(&str, &str, &str, Value, &str); 6] = [
        (
            "/app/fee.listFee?communityId=c1&limit=5",
            "limit",
            "code",
            json!("400"),
            "msg",
        ),
        (
            "/app/feeConfig.listFeeConfigs?communityId=c1&limit=5",
            "limit",
            "code",
            json!("400"),
            "msg",
        ),
        (
            "/app/community.listCommunitys?limit=5",
            "limit",
            "code",
            json!("400"),
            "msg",
        ),
        (
            "/occ/http/baas/tenants?limit=5",
            "limit",
            "returnCode",
            json!("BaaS-000002"),
            "returnMessage",
        ),
        (
            "/occ/http/baas/customers?tenantId=T&limit=5",
            "limit",
            "returnCode",
            json!("BaaS-000002"),
            "returnMessage",
        ),
        (
            "/api/bill/summary?page=1&limit=5&row=5",
            "row",
            "code",
            json!(-1),
            "message",
        ),
    ];
    for (path, name, code, expected, message) in cases {
        let r = server.get(path);
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(r.body[code], expected, "{path}: {}", r.body);
        assert_eq!(r.body["reason"], "unknown_parameter", "{path}: {}", r.body);
        let text = r.body[message].as_str().unwrap();
        assert!(
            text.contains(&format!("未知参数 {name} ")),
            "{path}: {text}"
        );
    }
    let r = server.get_unsigned("/Service/v1/Accounts/?limit=5", &[ADMIN]);
    assert_eq!(
        (r.status, &r.body["CODE"]),
        (400, &json!(400)),
        "{}",
        r.body
    );
    assert_eq!(r.body["REASON"], "unknown_parameter", "{}", r.body);
    assert!(
        r.body["MESSAGE"].as_str().unwrap().contains("limit"),
        "{}",
        r.body
    );

    // Each family's own parameters stay accepted: the call center's page/limit, the utility
    // channel's SYS_HEAD fields.
    let r = server.get("/api/bill/summary?page=1&limit=5&city_id=1");
    assert_eq!(r.status, 200, "{}", r.body);
    let r = server.get_unsigned(
        "/Service/v1/Accounts/?CHANNEL_DID=CH00000000000001&DYNAMIC_KEY=demo-dynamic-key-0001\
         &REGISTER_DID=R000000000000001&page=1&row=5",
        &[],
    );
    assert_eq!((r.status, &r.body["CODE"]), (200, &json!(0)), "{}", r.body);
    assert_eq!(server.log_len(), before);
}
