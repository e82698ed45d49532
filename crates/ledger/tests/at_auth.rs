//! `at=` replays the log only for an authenticated caller: unauthenticated `at=` requests are
//! refused in the family's envelope before anything is replayed, so they cannot fill the disk;
//! an authenticated one is answered from a replay, and evicted replays are deleted.

mod common;

use common::Server;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;

/// Every directory under `dir` (a replay creates one per position).
fn directories(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                out.insert(entry.path().display().to_string());
                stack.push(entry.path());
            }
        }
    }
    out
}

fn replays(data: &Path) -> usize {
    std::fs::read_dir(data.join("at-cache")).map_or(0, |d| d.count())
}

fn seed(server: &Server, n: usize) {
    for i in 0..n {
        let r = server.post(
            "/app/feeConfig.saveFeeConfig",
            &[("transaction-id", &format!("seed-{i}"))],
            &json!({
                "configId": format!("cfg-{i}"), "feeTypeCd": "1001", "feeName": "物业费",
                "feeFlag": "1003006", "startTime": "2023-01-01", "endTime": "2023-12-31",
                "computingFormula": "1001", "squarePrice": "2.50", "additionalAmount": "0",
                "communityId": "10001", "billType": "MONTHLY"
            }),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

#[test]
fn fifty_unauthenticated_at_requests_replay_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--partitions", "1"]);
    seed(&server, 3);
    let before = directories(&data);
    let paths = [
        "/app/fee.listFee?communityId=10001",
        "/app/feeConfig.listFeeConfigs?communityId=10001",
        "/api/bill/summary?page=1",
        "/ui/api/arrears?asOf=2024-01-01",
        "/log/positions?x=1",
        "/healthz?x=1",
        "/commands/seed-1?x=1",
    ];
    for i in 0..50 {
        let path = format!("{}&at=0:{}", paths[i % paths.len()], i % 4);
        let r = server.get_unsigned(&path, &[]);
        assert_eq!(r.status, 401, "{path}: {}", r.body);
        // The family's envelope: property `code`, call-center `code` -1, else `error`.
        if path.starts_with("/app/") {
            assert_eq!(r.body["code"], "401", "{path}");
        } else if path.starts_with("/api/") {
            assert_eq!(r.body["code"], -1, "{path}");
        } else {
            assert!(r.body["error"].is_string(), "{path}: {}", r.body);
        }
    }
    // The BaaS and utility POST queries: credentials are read from the body before any replay.
    let r = server.post_unsigned(
        "/occ/http/srv_baas_feeowed_qry?at=0:1",
        &[
            ("appkey", "x"),
            ("sign", "y"),
            ("req-time", "20240101000000"),
        ],
        br#"{"tenantId":"MVNE"}"#,
    );
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["returnCode"], "BaaS-000001");
    let r = server.post_unsigned("/Service/v1/QueryUserArrearages/?at=0:1", &[], b"{}");
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["CODE"], 401);

    assert_eq!(replays(&data), 0, "no replay was made");
    assert_eq!(directories(&data), before, "the data dir did not grow");

    // An authenticated caller's at= is answered from a replay.
    let r = server.get("/app/feeConfig.listFeeConfigs?communityId=10001&at=0:2");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["total"], 2, "{}", r.body);
    assert_eq!(replays(&data), 1);

    // A property app reads its command's outcome as of a position, signing the query it sends
    // (`at` included) as every property GET does.
    let query = "?at=0:2";
    let headers = common::property_headers("q-1", &common::req_time_now(), query.as_bytes());
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = server.get_unsigned(&format!("/commands/seed-1{query}"), &headers);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["command_id"], "property:micro-community:seed-1");
}

#[test]
fn evicted_replays_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--partitions", "1"]);
    seed(&server, 6);
    for offset in 0..7 {
        let r = server.get(&format!(
            "/app/feeConfig.listFeeConfigs?communityId=10001&at=0:{offset}"
        ));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["total"], offset, "{}", r.body);
    }
    // Seven positions replayed, at most four kept on disk.
    assert!(replays(&data) <= 4, "{} replays on disk", replays(&data));
}
