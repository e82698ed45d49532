//! The anchored history: `ledger digest` signs the log's heads; `ledger verify --digest` passes
//! on the untouched history and fails on a doctored export whose rewritten event has every
//! later hash recomputed (which `import` and the chain check accept) and on a truncated one.
//! `GET /digest` serves the same digest to the admin only.

mod common;

use common::{Server, export_events, import_events, ledger, reseal};
use serde_json::json;
use std::path::Path;

/// A stopped node's data dir with `n` fee configs in one partition.
fn populated(dir: &Path, n: usize) {
    let server = Server::start_with(dir, &["--partitions", "1"]);
    for i in 0..n {
        common::save_fee_config(&server, i, "10001");
    }
    // The admin reads the digest over HTTP; nobody else does.
    assert_eq!(server.get_unsigned("/digest", &[]).status, 401);
    let served = server.get("/digest");
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(served.body["partitions"][0]["end"], n as u64);
    assert_eq!(server.terminate(), Some(0));
}

fn verify(data: &Path, digest: &Path, key: &Path) -> (i32, String) {
    ledger(&[
        "verify",
        "--data-dir",
        data.to_str().unwrap(),
        "--digest",
        digest.to_str().unwrap(),
        "--digest-key",
        key.to_str().unwrap(),
    ])
}

#[test]
fn verify_digest_refuses_a_rewritten_or_truncated_history() {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    populated(&live, 6);
    let key = live.join("digest.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key is private");
    }
    let (code, text) = ledger(&["digest", "--data-dir", live.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    let digest = root.path().join("digest.json");
    std::fs::write(&digest, &text).unwrap();

    // The untouched log, and an exact copy of its history, extend the digest.
    let (code, out) = verify(&live, &digest, &key);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("partition 0: extends the digest"), "{out}");
    let lines = export_events(&live);
    assert_eq!(lines.len(), 6);
    let copy = import_events(root.path(), "copy", 1, &lines);
    assert_eq!(verify(&copy, &digest, &key).0, 0);

    // Event 2 rewritten (another actor), every later hash recomputed: import accepts it.
    let doctored = reseal(&lines, |mut e| {
        if e.command_id == "property:micro-community:t-2" {
            e.actor = Some("mallory".into());
        }
        e
    });
    assert_ne!(doctored[2], lines[2]);
    let rewritten = import_events(root.path(), "rewritten", 1, &doctored);
    let (code, out) = ledger(&["verify", "--data-dir", rewritten.to_str().unwrap()]);
    assert_eq!(code, 0, "the chain alone does not see it: {out}");
    let (code, out) = verify(&rewritten, &digest, &key);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("partition 0: REWRITTEN: offset 5"), "{out}");

    // The last two events dropped.
    let truncated = import_events(root.path(), "truncated", 1, &lines[..4]);
    let (code, out) = verify(&truncated, &digest, &key);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("partition 0: TRUNCATED: the log has 4 events, the digest saw 6"),
        "{out}"
    );

    // A digest edited to match the doctored log no longer carries a valid signature.
    let mut forged: serde_json::Value = serde_json::from_str(&text).unwrap();
    let doctored_head = doctored[5].rsplit("\"hash\":\"").next().unwrap();
    forged["partitions"][0]["hash"] = json!(doctored_head.trim_end_matches("\"}"));
    let forged_file = root.path().join("forged.json");
    std::fs::write(&forged_file, forged.to_string()).unwrap();
    let (code, out) = verify(&rewritten, &forged_file, &key);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("BAD SIGNATURE"), "{out}");
}
