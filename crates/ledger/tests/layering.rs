//! The crate layering ARCHITECTURE.md states, checked against every crate's `Cargo.toml`, so it
//! cannot drift: the table under "Layering" in ARCHITECTURE.md is read here and is the rule
//! (core depends on none of ours; wire, log and store on core only; the API on core and wire,
//! reading the read models through core's `ReadModels` port and the time through `Clock`; only
//! the binary wires the adapters together). Dev- and build-dependencies are held to the same
//! table, so an adapter cannot come back into the API through its tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn crates_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The header of the layering table in ARCHITECTURE.md.
const TABLE_HEADER: &str = "| crate | may depend on (of ours) |";

/// Allowed `ledger-*` dependencies of each crate, as ARCHITECTURE.md's table lists them: each
/// row names crates (comma-separated) and what they may depend on (`none` or a list).
fn allowed() -> BTreeMap<String, BTreeSet<String>> {
    let architecture = std::fs::read_to_string(crates_dir().join("../ARCHITECTURE.md")).unwrap();
    let list = |cell: &str| -> BTreeSet<String> {
        cell.split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty() && *c != "none")
            .map(str::to_string)
            .collect()
    };
    let rows: Vec<&str> = architecture
        .lines()
        .skip_while(|l| l.trim() != TABLE_HEADER)
        .skip(2)
        .take_while(|l| l.trim_start().starts_with('|'))
        .collect();
    assert!(
        !rows.is_empty(),
        "ARCHITECTURE.md has no layering table headed {TABLE_HEADER:?}"
    );
    let mut table = BTreeMap::new();
    for row in rows {
        let cells: Vec<&str> = row.trim().trim_matches('|').split('|').collect();
        let [crates, deps] = cells.as_slice() else {
            panic!("layering row {row:?} is not `| crates | dependencies |`");
        };
        for name in list(crates) {
            assert!(
                table.insert(name.clone(), list(deps)).is_none(),
                "{name} is listed twice in the layering table"
            );
        }
    }
    table
}

fn ours(table: Option<&toml::Value>) -> BTreeSet<String> {
    table
        .and_then(toml::Value::as_table)
        .map(|t| {
            t.keys()
                .filter(|k| k.starts_with("ledger"))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The adapters (log, store, api) never depend on each other; only the binary wires them. The
/// table may change, this may not.
const ADAPTERS: [&str; 3] = ["ledger-log", "ledger-store", "ledger-api"];

#[test]
fn the_table_lets_no_adapter_depend_on_another() {
    for (name, deps) in allowed() {
        if name == "ledger" {
            continue;
        }
        for adapter in ADAPTERS {
            assert!(
                !deps.contains(adapter),
                "ARCHITECTURE.md lets {name} depend on the adapter {adapter}; only the binary may"
            );
        }
    }
}

#[test]
fn every_crate_depends_only_on_the_layers_below_it() {
    let crates = crates_dir();
    let allowed = allowed();
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(&crates).unwrap() {
        let dir = entry.unwrap().path();
        let manifest = dir.join("Cargo.toml");
        if !manifest.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest).unwrap();
        let doc: toml::Value = toml::from_str(&text).unwrap();
        let name = doc["package"]["name"].as_str().unwrap().to_string();
        let folder = dir.file_name().unwrap().to_str().unwrap().to_string();
        assert_eq!(name, folder, "crates/<name> folder = crate name");
        let Some(ok) = allowed.get(name.as_str()) else {
            panic!("crate {name} is not in the layering table of ARCHITECTURE.md; add it there");
        };
        for kind in ["dependencies", "dev-dependencies", "build-dependencies"] {
            for dep in ours(doc.get(kind)) {
                assert!(
                    ok.contains(dep.as_str()),
                    "{name} depends on {dep} ({kind}), which the layering does not allow"
                );
            }
        }
        seen.insert(name);
    }
    assert_eq!(
        seen,
        allowed
            .keys()
            .map(|k| k.to_string())
            .collect::<BTreeSet<_>>(),
        "every crate of the table exists"
    );
}
