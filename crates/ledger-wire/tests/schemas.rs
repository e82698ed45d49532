//! The checked-in JSON Schemas in `schemas/` must match the code's types. Run with
//! `UPDATE_SCHEMAS=1` to regenerate them after changing a command or event type.

use ledger_core::Event;
use ledger_core::envelope::EventEnvelopeSchema;
use ledger_wire::command::{CommandEnvelopeWire, payload_schemas};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

/// Every schema file the code implies, by path relative to `schemas/`.
fn generated() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut put = |path: String, schema: schemars::Schema| {
        files.insert(path, serde_json::to_string_pretty(&schema).unwrap() + "\n");
    };
    put(
        "command-envelope.json".into(),
        schemars::schema_for!(CommandEnvelopeWire),
    );
    put(
        "event-envelope.json".into(),
        schemars::schema_for!(EventEnvelopeSchema),
    );
    for (name, schema) in payload_schemas() {
        put(format!("commands/{name}.json"), schema);
    }
    for (name, schema) in Event::payload_schemas() {
        put(format!("events/{name}.json"), schema);
    }
    files
}

#[test]
fn checked_in_schemas_match_the_code() {
    let dir = schemas_dir();
    let files = generated();
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        for sub in ["commands", "events"] {
            let _ = std::fs::remove_dir_all(dir.join(sub));
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for (path, text) in &files {
            std::fs::write(dir.join(path), text).unwrap();
        }
    }
    for (path, text) in &files {
        let on_disk = std::fs::read_to_string(dir.join(path))
            .unwrap_or_else(|_| panic!("schemas/{path} is missing: run UPDATE_SCHEMAS=1 cargo test -p ledger-wire --test schemas"));
        assert_eq!(
            &on_disk, text,
            "schemas/{path} drifted from the code: regenerate with UPDATE_SCHEMAS=1"
        );
    }
    for sub in ["commands", "events"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let name = format!("{sub}/{}", entry.unwrap().file_name().to_string_lossy());
            assert!(
                files.contains_key(&name),
                "schemas/{name} has no type in the code"
            );
        }
    }
}

#[test]
fn every_command_and_event_type_has_a_schema() {
    let files = generated();
    for name in ledger_core::Command::TYPES {
        assert!(
            files.contains_key(&format!("commands/{name}.json")),
            "command {name}"
        );
    }
    for (name, _) in Event::TYPES {
        assert!(
            files.contains_key(&format!("events/{name}.json")),
            "event {name}"
        );
    }
}

#[test]
fn the_seed_examples_decode_through_the_wire() {
    let body = std::fs::read(schemas_dir().join("examples/002_fee_config.update.json")).unwrap();
    let fields = ledger_wire::Fields::parse(&body).unwrap();
    let cmd = ledger_wire::command::decode_command("fee_config.update", &fields, "t").unwrap();
    assert_eq!(cmd.type_name(), "fee_config.update");
}
