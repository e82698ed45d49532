//! README.md is tested: every shell block marked ```` ```sh runnable ```` runs, in order, with
//! `bash -euo pipefail` against one fresh server (the built binary first on PATH as `ledger`,
//! `LEDGER_SERVER` naming the server, the repository root as the working directory); each block
//! must exit 0, and where a command is followed by a `# → REPLY` line the reply it printed must
//! match: a JSON reply must hold every field the README shows (with the values shown), other
//! text must appear in the output. Blocks marked ```` ```sh norun ```` are not run; a `sh` block
//! with neither marker fails the test, so every example is one or the other.

mod common;

use common::Server;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const RUNNABLE: &str = "sh runnable";
const NORUN: &str = "sh norun";
/// Introduces the expected reply of the command before it.
const REPLY: &str = "# → ";
/// Printed between the steps of a block, so each expected reply is compared with its own step.
const STEP: &str = "@@readme-step@@";

struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    info: String,
    body: Vec<String>,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fenced_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (n, line) in text.lines().enumerate() {
        match (&mut open, line.trim_start().strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    line: n + 1,
                    info: info.trim().to_string(),
                    body: Vec::new(),
                })
            }
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some(b), None) => b.body.push(line.to_string()),
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "README.md ends inside a fenced block");
    blocks
}

/// `expected` ⊆ `actual`: every field of an object (recursively), arrays element by element
/// with the same length, other values equal (numbers by their text).
fn holds(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            e.iter().all(|(k, v)| a.get(k).is_some_and(|x| holds(x, v)))
        }
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(x, v)| holds(x, v))
        }
        (a, e) => a == e,
    }
}

/// The last JSON value a step printed (`ledger call` pretty-prints one per request).
fn last_json(output: &str) -> Option<Value> {
    serde_json::Deserializer::from_str(output.trim())
        .into_iter::<Value>()
        .map_while(Result::ok)
        .last()
}

/// The block as a script printing `STEP` after each command that has an expected reply, and
/// the expected replies in order.
fn script(block: &Block) -> (String, Vec<String>) {
    let mut script = String::new();
    let mut replies = Vec::new();
    for line in &block.body {
        match line.trim_start().strip_prefix(REPLY) {
            Some(reply) => {
                script.push_str(&format!("printf '\\n%s\\n' '{STEP}'\n"));
                replies.push(reply.trim().to_string());
            }
            None => {
                script.push_str(line);
                script.push('\n');
            }
        }
    }
    (script, replies)
}

#[test]
fn every_runnable_readme_block_runs_and_shows_its_replies() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let blocks = fenced_blocks(&readme);
    let unmarked: Vec<String> = blocks
        .iter()
        .filter(|b| b.info.starts_with("sh") && b.info != RUNNABLE && b.info != NORUN)
        .map(|b| format!("line {}: ```{}", b.line, b.info))
        .collect();
    assert!(
        unmarked.is_empty(),
        "shell blocks must be `{RUNNABLE}` or `{NORUN}`: {unmarked:?}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ledger")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (mut ran, mut compared) = (0, 0);
    for block in blocks.iter().filter(|b| b.info == RUNNABLE) {
        let (script, replies) = script(block);
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(&root)
            .env("PATH", &path)
            .env("LEDGER_SERVER", &server.base)
            .env("RUST_LOG", "warn")
            .output()
            .expect("bash runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "README.md block at line {} failed ({}):\n{}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            block.line,
            out.status,
            block.body.join("\n")
        );
        let steps: Vec<&str> = stdout.split(STEP).collect();
        for (i, expected) in replies.iter().enumerate() {
            let got = steps[i];
            let ok = match serde_json::from_str::<Value>(expected) {
                Ok(want) => last_json(got).is_some_and(|v| holds(&v, &want)),
                Err(_) => got.contains(expected.as_str()),
            };
            assert!(
                ok,
                "README.md block at line {}: reply {} is not `{expected}`; the command printed:\n{got}",
                block.line,
                i + 1
            );
            compared += 1;
        }
        ran += 1;
    }
    eprintln!("README.md: {ran} runnable blocks ran, {compared} replies compared");
    assert!(ran > 0 && compared > 0, "nothing of README.md was run");
}

#[test]
fn a_reply_holds_what_the_readme_shows() {
    let actual: Value =
        serde_json::from_str(r#"{"code":"0","data":{"a":[1,{"b":2.50,"c":3}],"d":"x"}}"#).unwrap();
    let shows = |s: &str| holds(&actual, &serde_json::from_str(s).unwrap());
    assert!(shows(r#"{"code":"0"}"#));
    assert!(shows(r#"{"data":{"a":[1,{"b":2.50}]}}"#));
    assert!(
        !shows(r#"{"data":{"a":[1,{"b":2.5}]}}"#),
        "numbers by their text"
    );
    assert!(!shows(r#"{"data":{"a":[1]}}"#), "arrays keep their length");
    assert!(!shows(r#"{"code":"1"}"#));
    assert_eq!(
        last_json("{\"a\":1}\n{\n  \"b\": 2\n}\n"),
        Some(serde_json::json!({"b": 2}))
    );
}
