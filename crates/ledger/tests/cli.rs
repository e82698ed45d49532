//! The command-line tools' edges (issue 18 item 6): atomic `import` with inferred partitions,
//! `dry-run` exit codes and JSON, `replay --until-offset` past the end, the time flags'
//! formats, the CSV export's columns, `serve --access-log` and colour-free logs in a file.

mod common;

use common::{Server, export_events, ledger_with_stderr as ledger, save_fee_config};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// `ledger replay --data-dir DATA --into INTO FLAGS…`: (exit code, stdout, stderr).
fn replay(data: &Path, into: &Path, flags: &[&str]) -> (i32, String, String) {
    let mut args = vec!["replay", "--data-dir", s(data), "--into", s(into)];
    args.extend(flags);
    ledger(&args)
}

/// `ledger export --data-dir DATA --what events FLAGS…`: (exit code, stdout, stderr).
fn export(data: &Path, flags: &[&str]) -> (i32, String, String) {
    let mut args = vec!["export", "--data-dir", s(data), "--what", "events"];
    args.extend(flags);
    ledger(&args)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A stopped node's data dir holding `n` fee configs (one event each) in several communities,
/// so that several partitions hold events.
fn data_with_configs(root: &Path, n: usize, extra: &[&str]) -> std::path::PathBuf {
    let data = root.join("data");
    let server = Server::start_with(&data, extra);
    for i in 0..n {
        save_fee_config(&server, i, &format!("c{i}"));
    }
    assert_eq!(server.terminate(), Some(0));
    data
}

/// The names in `dir`.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_refused_import_leaves_nothing_behind_and_the_retry_infers_the_partitions() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_with_configs(tmp.path(), 12, &["--partitions", "3"]);
    let lines = export_events(&data);
    assert_eq!(lines.len(), 12);
    let target_root = tmp.path().join("imports");
    let target = target_root.join("copy");

    // The last event's hash broken: refused after every earlier line was written.
    let mut broken = lines.clone();
    let last = broken.pop().unwrap();
    let bad_hash = last.rsplit_once("\"hash\":\"").unwrap().0.to_string() + "\"hash\":\"00\"}";
    broken.push(bad_hash);
    let file = tmp.path().join("broken.jsonl");
    std::fs::write(&file, broken.join("\n") + "\n").unwrap();
    let (code, out, err) = ledger(&["import", "--data-dir", s(&target), s(&file)]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("line 12"), "{err}");
    assert!(
        !target_root.exists(),
        "nothing left behind, not even the parent it made"
    );

    // The retry with the good export works, without --partitions: 3, from the keys.
    let file = tmp.path().join("events.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let (code, out, err) = ledger(&["import", "--data-dir", s(&target), s(&file)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 12 events in 3 partitions"), "{out}");
    assert_eq!(entries(&target_root), vec!["copy".to_string()]);
    assert_eq!(export_events(&target), lines);

    // Into an existing empty directory, from stdin (spooled to infer the partitions).
    let existing = target_root.join("existing");
    std::fs::create_dir(&existing).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["import", "--data-dir", s(&existing)])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(entries(&existing), vec!["log".to_string()]);
    assert_eq!(export_events(&existing), lines);
    assert_eq!(
        entries(&target_root),
        vec!["copy".to_string(), "existing".to_string()]
    );
}

fn fee_config_update(config_id: &str, price: &str) -> Value {
    json!({
        "configId": config_id, "feeTypeCd": "1001", "feeName": "物业费", "feeFlag": "Y",
        "startTime": "2024-01-01", "endTime": "2024-12-31", "computingFormula": "1001",
        "squarePrice": price, "additionalAmount": "10.00", "communityId": "c0",
        "billType": "MONTHLY"
    })
}

#[test]
fn dry_run_exits_1_on_a_refused_or_unreadable_command_and_reports_json() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_with_configs(tmp.path(), 1, &[]);
    let accepted = json!({"command_id": "d-1", "type": "fee_config.update",
        "payload": fee_config_update("cfg-0", "3.00")});
    let refused = json!({"command_id": "d-2", "type": "fee_config.update",
        "payload": fee_config_update("no-such-config", "3.00")});
    let run = |name: &str, lines: &[String]| {
        let file = tmp.path().join(name);
        std::fs::write(&file, lines.join("\n") + "\n").unwrap();
        let (code, out, err) = ledger(&[
            "dry-run",
            "--data-dir",
            s(&data),
            "--format",
            "json",
            s(&file),
        ]);
        let report: Value =
            serde_json::from_str(&out).unwrap_or_else(|_| panic!("not JSON: {out} {err}"));
        (code, report)
    };

    let (code, report) = run("ok.jsonl", &[accepted.to_string()]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true);
    assert_eq!(
        report["commands"][0],
        json!({"line": 1, "commandId": "d-1", "outcome": "accepted", "detail": ""})
    );
    let row = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"].as_str().unwrap().starts_with("fc/"))
        .unwrap_or_else(|| panic!("no fee-config row: {report}"));
    assert_eq!(row["change"], "changed");
    assert_eq!(
        (&row["before"]["squarePrice"], &row["after"]["squarePrice"]),
        (&json!("2.50"), &json!("3.00"))
    );

    let (code, report) = run(
        "refused.jsonl",
        &[accepted.to_string(), refused.to_string()],
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], false);
    assert_eq!(report["commands"][1]["outcome"], "refused");
    assert!(
        report["commands"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("未找到该费用项"),
        "{report}"
    );

    let (code, report) = run("unreadable.jsonl", &["{not json".to_string()]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["commands"][0]["outcome"], "unreadable");
    assert_eq!(report["commands"][0]["line"], 1);

    // The text report keeps its exit code too.
    let file = tmp.path().join("refused.jsonl");
    let (code, out, _) = ledger(&["dry-run", "--data-dir", s(&data), s(&file)]);
    assert_eq!(code, 1);
    assert!(out.contains("command d-2: refused"), "{out}");
}

#[test]
fn replay_until_an_offset_past_the_end_names_the_partition_and_its_end() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_with_configs(tmp.path(), 1, &["--partitions", "1"]);
    let into = tmp.path().join("r");
    let (code, _, err) = replay(&data, &into, &["--until-offset", "0:5"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("partition 0") && err.contains("ends at offset 1"),
        "{err}"
    );
    assert!(!into.join("store").exists());
    let (code, out, err) = replay(&data, &into, &["--until-offset", "0:1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("replayed 1 events"), "{out}");
}

#[test]
fn time_flags_take_dates_local_times_and_rfc3339() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_with_configs(tmp.path(), 2, &[]);
    let count = |flags: &[&str]| -> usize {
        let (code, out, err) = export(&data, flags);
        assert_eq!(code, 0, "{flags:?}: {err}");
        out.lines().count()
    };
    let utc = ["--timezone", "UTC"];
    for (flag, cut, expected) in [
        ("--from", "2000-01-01", 2),
        ("--from", "2999-01-01 03:20", 0),
        ("--until", "2999-01-01 03:20:59", 2),
        ("--until", "2000-01-01T00:00:00+08:00", 0),
    ] {
        assert_eq!(
            count(&[&utc[..], &[flag, cut]].concat()),
            expected,
            "{flag} {cut}"
        );
    }
    // The zone matters for a time without an offset: the current UTC wall-clock minute read in
    // a zone 14 hours ahead is hours before the events, in one 11 hours behind hours after.
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M").to_string();
    assert_eq!(
        count(&["--timezone", "Pacific/Kiritimati", "--until", &now]),
        0
    );
    assert_eq!(
        count(&["--timezone", "Pacific/Pago_Pago", "--until", &now]),
        2
    );

    let into = tmp.path().join("r");
    let (code, out, err) = replay(&data, &into, &["--until-time", "2000-01-01 00:00"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("replayed 0 events"), "{out}");
    let (code, _, err) = export(&data, &["--from", "yesterday"]);
    assert_ne!(code, 0);
    assert!(err.contains("YYYY-MM-DD HH:MM"), "{err}");
}

#[test]
fn the_csv_export_has_every_envelope_field() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_with_configs(tmp.path(), 1, &[]);
    let stored: Value = serde_json::from_str(&export_events(&data)[0]).unwrap();
    let (code, csv, err) = export(&data, &["--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    for field in stored.as_object().unwrap().keys() {
        assert!(
            header.contains(&field.as_str()),
            "{field} missing from {header:?}"
        );
    }
    let row = lines.next().unwrap();
    let (actor, body) = (
        stored["actor"].as_str().unwrap(),
        stored["body_sha256"].as_str().unwrap(),
    );
    assert!(!actor.is_empty() && body.len() == 64, "{stored}");
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    assert_eq!(at("body_sha256"), at("actor") + 1);
    assert!(row.contains(&format!(",{actor},{body},")), "{row}");
}

#[test]
fn access_log_writes_one_line_per_request_without_colour_into_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_with(&data, &["--access-log"]);
    let reply = server.get("/app/nope");
    assert_eq!(reply.status, 404);
    assert_eq!(server.terminate(), Some(0));
    // The harness writes the server's stderr to a file: no terminal, so no escapes.
    let log = std::fs::read_to_string(data.with_extension("server.log")).unwrap();
    assert!(!log.contains('\u{1b}'), "colour escapes in {log}");
    let line = log
        .lines()
        .find(|l| l.contains("path=/app/nope"))
        .unwrap_or_else(|| panic!("no access line: {log}"));
    for part in [
        "access",
        "method=GET",
        "status=404",
        "duration_ms=",
        "bytes=",
    ] {
        assert!(line.contains(part), "{part} missing from {line}");
    }
    let readyz = log.lines().filter(|l| l.contains("path=/readyz")).count();
    assert!(
        readyz >= 1,
        "the harness's readiness polls are logged: {log}"
    );
}
