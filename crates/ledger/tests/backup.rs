//! Online backup and reads (issue 18 item 3): `ledger backup` during a write stream writes a
//! copy that verifies, holds every command acknowledged before the backup started, and that
//! `serve` and `replay` accept; the endpoint needs the admin token; `verify`, `export` and
//! `dry-run` on a data dir a server holds say so and how to use `--server`, and work with it.

mod common;

use common::{Server, demo, export_events, ledger_with_stderr as ledger, save_fee_config};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `ledger backup --server … --out COPY --admin-token TOKEN`: (exit code, stdout, stderr).
fn backup(server: &Server, copy: &Path, token: &str) -> (i32, String, String) {
    ledger(&[
        "backup",
        "--server",
        &server.base,
        "--out",
        s(copy),
        "--admin-token",
        token,
    ])
}

/// The `configId`s of the fee configs created in an events export.
fn config_ids(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "fee_config.created")
        .map(|e| {
            e["payload"]["config"]["configId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// The events of an export, grouped by partition in offset order.
fn by_partition(lines: &[String]) -> std::collections::BTreeMap<u64, Vec<String>> {
    let mut out = std::collections::BTreeMap::<u64, Vec<String>>::new();
    for l in lines {
        let e: Value = serde_json::from_str(l).unwrap();
        out.entry(e["partition"].as_u64().unwrap())
            .or_default()
            .push(l.clone());
    }
    out
}

#[test]
fn a_backup_during_a_write_stream_verifies_and_holds_every_command_acknowledged_before_it() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Arc::new(Server::start_with(
        &tmp.path().join("data"),
        &["--partitions", "4"],
    ));
    for i in 0..10 {
        save_fee_config(&server, i, &format!("c{i}"));
    }

    // Another thread keeps sending commands, reporting each acknowledged one, until told to
    // stop: the backup runs while the server takes them.
    let stop = Arc::new(AtomicBool::new(false));
    let (acked_tx, acked) = mpsc::channel::<usize>();
    let writer = {
        let (server, stop) = (server.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 100;
            while !stop.load(Ordering::Relaxed) {
                save_fee_config(&server, i, &format!("c{}", i % 7));
                let _ = acked_tx.send(i);
                i += 1;
            }
            i - 100
        })
    };
    // Acknowledged before the backup starts: the first ten and what the stream has sent so far
    // (at least five, so the stream is under way).
    let mut before: BTreeSet<String> = (0..10).map(|i| format!("cfg-{i}")).collect();
    for _ in 0..5 {
        before.insert(format!("cfg-{}", acked.recv().unwrap()));
    }
    before.extend(acked.try_iter().map(|i| format!("cfg-{i}")));

    let copy = tmp.path().join("backups").join("copy");
    let (code, out, err) = backup(&server, &copy, demo::ADMIN_TOKEN);
    stop.store(true, Ordering::Relaxed);
    let streamed = writer.join().unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("backed up"), "{out}");
    assert!(streamed >= 5, "the write stream ran: {streamed} commands");
    let leftovers: Vec<_> = std::fs::read_dir(copy.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec!["copy"], "no staging directory left");

    // The copy verifies and holds every command acknowledged before the backup started.
    let (code, out, err) = ledger(&["verify", "--data-dir", s(&copy)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("identical to a rebuild"), "{out}");
    let copied = export_events(&copy);
    let in_copy = config_ids(&copied);
    let missing: Vec<_> = before.difference(&in_copy).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not in the copy: {missing:?}"
    );

    // Each partition of the copy is a prefix of the server's log: the same events, bytes and
    // offsets, cut at one point per partition.
    let server = Arc::try_unwrap(server).ok().expect("the writer is done");
    let data = server.data_dir.clone();
    assert_eq!(server.terminate(), Some(0));
    let full = by_partition(&export_events(&data));
    for (p, events) in by_partition(&copied) {
        assert_eq!(events[..], full[&p][..events.len()], "partition {p}");
    }
    let meta = std::fs::read_to_string(copy.join("log").join("segment-log.meta")).unwrap();
    assert!(meta.contains("partitions 4"), "{meta}");
    let info: Value =
        serde_json::from_slice(&std::fs::read(copy.join("backup.json")).unwrap()).unwrap();
    assert_eq!(info["events"].as_u64().unwrap(), copied.len() as u64);

    // `replay` accepts the copy and replays every event of it.
    let into = tmp.path().join("replayed");
    let (code, out, err) = ledger(&["replay", "--data-dir", s(&copy), "--into", s(&into)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with(&format!("replayed {} events", copied.len())),
        "{out}"
    );

    // `serve` accepts it (with the default partition count: the copy's own count rules), serves
    // what it holds and takes new commands.
    let served = Server::start_with(&copy, &["--partitions", "4"]);
    assert_eq!(served.log_len(), copied.len() as u64);
    let listed = served.get("/app/feeConfig.listFeeConfigs?communityId=c0");
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(
        listed.body.to_string().contains("\"cfg-0\""),
        "{}",
        listed.body
    );
    save_fee_config(&served, 10_000, "c0");
    assert_eq!(served.log_len(), copied.len() as u64 + 1);
    assert_eq!(served.terminate(), Some(0));
}

#[test]
fn the_backup_endpoint_refuses_a_non_admin_token() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    save_fee_config(&server, 0, "c0");
    for headers in [
        vec![],
        vec![(
            "authorization",
            format!("Bearer {}", demo::CALLCENTER_TOKEN),
        )],
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = server.get_unsigned("/admin/backup", &headers);
        assert_eq!(r.status, 401, "{headers:?}: {}", r.body);
        assert!(r.body["error"].is_string(), "{}", r.body);
    }
    let copy = tmp.path().join("copy");
    let (code, out, err) = backup(&server, &copy, demo::CALLCENTER_TOKEN);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("refused the backup (401"), "{err}");
    assert!(err.contains("wrong admin token"), "{err}");
    assert!(!copy.exists(), "a refused backup leaves nothing behind");
}

/// A fee-config update of `cfg-0` (community c0) as a dry-run command envelope.
fn price_change(command_id: &str, price: &str) -> String {
    json!({"command_id": command_id, "type": "fee_config.update", "payload": {
        "configId": "cfg-0", "feeTypeCd": "1001", "feeName": "物业费", "feeFlag": "Y",
        "startTime": "2024-01-01", "endTime": "2024-12-31", "computingFormula": "1001",
        "squarePrice": price, "additionalAmount": "10.00", "communityId": "c0",
        "billType": "MONTHLY"
    }})
    .to_string()
}

#[test]
fn tools_on_a_held_data_dir_name_the_server_and_work_with_server() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_with(&data, &["--partitions", "2"]);
    for i in 0..3 {
        save_fee_config(&server, i, &format!("c{i}"));
    }
    let commands = tmp.path().join("commands.jsonl");
    std::fs::write(&commands, price_change("d-1", "3.00") + "\n").unwrap();
    let runs: [(&str, Vec<&str>); 3] = [
        ("verify", vec!["verify"]),
        ("export", vec!["export", "--what", "events"]),
        ("dry-run", vec!["dry-run", s(&commands)]),
    ];

    for (tool, args) in &runs {
        let mut held = args.clone();
        held.extend(["--data-dir", s(&data)]);
        let (code, out, err) = ledger(&held);
        assert_ne!(code, 0, "{tool}: {out}");
        assert!(
            err.contains("is held by a running ledger server"),
            "{tool}: {err}"
        );
        assert!(
            err.contains(&format!("ledger {tool} --server URL")),
            "{tool}: {err}"
        );
    }

    let online = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--server", &server.base]);
        ledger(&all)
    };
    let (code, out, err) = online(&runs[0].1);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("chain ok").count(), 2, "{out}");
    let (code, out, err) = online(&runs[1].1);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        config_ids(&out.lines().map(str::to_string).collect::<Vec<_>>()),
        (0..3).map(|i| format!("cfg-{i}")).collect()
    );
    let (code, out, err) = online(&runs[2].1);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("command d-1: accepted"), "{out}");
    assert!(out.contains("\"2.50\" → \"3.00\""), "{out}");
    // The dry run's command stayed on the scratch copy: the server's log is unchanged.
    assert_eq!(server.log_len(), 3);
}
