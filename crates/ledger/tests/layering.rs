//! The crate layering ARCHITECTURE.md states, checked against every crate's `Cargo.toml`, so it
//! cannot drift: core depends on none of ours; wire, log and store on core only; the API on
//! core and wire (it reads the read models through core's `ReadModels` port and the clock
//! through `Clock`); only the binary wires the adapters together. Dev- and build-dependencies
//! are held to the same table, so an adapter cannot come back into the API through its tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Allowed `ledger-*` dependencies of each crate (of every kind).
fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let set = |deps: &[&'static str]| deps.iter().copied().collect::<BTreeSet<_>>();
    BTreeMap::from([
        ("ledger-core", set(&[])),
        ("ledger-wire", set(&["ledger-core"])),
        ("ledger-log", set(&["ledger-core"])),
        ("ledger-store", set(&["ledger-core"])),
        ("ledger-api", set(&["ledger-core", "ledger-wire"])),
        (
            "ledger",
            set(&[
                "ledger-core",
                "ledger-wire",
                "ledger-log",
                "ledger-store",
                "ledger-api",
            ]),
        ),
    ])
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

#[test]
fn every_crate_depends_only_on_the_layers_below_it() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
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
            panic!(
                "crate {name} is not in the layering table (ARCHITECTURE.md); add it there and here"
            );
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
