//! Start-up rules: the demo credentials face no network unless `--demo` says so, and the
//! business time zone (`timezone`) is the one `req-time` is checked in and `config print` shows.

mod common;

use chrono::{FixedOffset, Utc};
use common::{Server, baas_headers};
use std::process::Command;

fn ledger(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("LEDGER_DEMO")
        .output()
        .expect("ledger runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn demo_credentials_on_a_network_address_refuse_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, _, err) = ledger(&[
        "serve",
        "--data-dir",
        data.to_str().unwrap(),
        "--listen",
        "0.0.0.0:0",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("--demo") && err.contains("config file"),
        "{err}"
    );
    // The README's first command (loopback, no flags) still starts: the harness does so.
    let server = Server::start(&dir.path().join("loopback"));
    assert_eq!(server.get("/healthz").status, 200);
}

/// `req-time` for now at `offset` hours east of UTC.
fn req_time_at(offset_hours: i32) -> String {
    let zone = FixedOffset::east_opt(offset_hours * 3600).unwrap();
    Utc::now()
        .with_timezone(&zone)
        .format("%Y%m%d%H%M%S")
        .to_string()
}

#[test]
fn req_time_is_read_in_the_configured_time_zone() {
    let (code, out, _) = ledger(&["config", "print", "--timezone", "Asia/Shanghai"]);
    assert_eq!(code, 0);
    assert!(out.contains("timezone = \"Asia/Shanghai\""), "{out}");
    let (code, _, err) = ledger(&["config", "print", "--timezone", "Mars/Olympus"]);
    assert_ne!(code, 0);
    assert!(err.contains("Mars/Olympus"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    // Etc/GMT-8 is UTC+08:00 (POSIX signs are inverted).
    let server = Server::start_with(dir.path(), &["--timezone", "Etc/GMT-8"]);
    let body =
        br#"{"tradeSeq":"MVNE20160401121212000100000005","tenantId":"MVNE","extCustId":"1"}"#;
    let send = |req_time: &str| {
        let headers = baas_headers(req_time, body);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        server.post_unsigned("/occ/http/srv_baas_feeowed_qry", &headers, body)
    };
    // A client at +08:00: authenticated (the customer is unknown: 404, not 401).
    let r = send(&req_time_at(8));
    assert_eq!(r.status, 404, "{}", r.body);
    // A client writing its time at -08:00 is 16 hours off.
    let r = send(&req_time_at(-8));
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(
        r.body["returnMessage"].as_str().unwrap().contains("window"),
        "{}",
        r.body
    );
}

/// A second server on a data dir a running one holds is refused with a message saying so, and
/// the store is left where it is (in use is not broken: it is not moved aside and rebuilt).
#[test]
fn a_second_server_on_a_served_data_dir_is_refused_and_moves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let (code, _, err) = ledger(&[
        "serve",
        "--data-dir",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("in use by another process"), "{err}");
    let names: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("store.broken")),
        "{names:?}"
    );
    assert_eq!(
        server.get("/healthz").status,
        200,
        "the first server serves on"
    );
}

/// The compose stack's example config (deploy/ledger.example.toml) is a valid config with its
/// own credentials: `config print` reads it, masks its secrets and shows no demo credential.
#[test]
fn the_deployment_example_config_is_valid_and_not_the_demo_set() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/ledger.example.toml"
    );
    let (code, out, err) = ledger(&["config", "print", "--config", example]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("brokers = \"kafka:9092\""), "{out}");
    for secret in [
        "change-me-admin-token",
        "change-me-property-secret",
        "change-me-property-token",
        "change-me-baas-secret",
        "change-me-utility-key",
        "change-me-callcenter-token",
    ] {
        assert!(!out.contains(secret), "{secret} is masked: {out}");
    }
    assert!(!out.contains("demo-"), "no demo credential: {out}");
}
