//! Property tests of the decoders: arbitrary bytes and arbitrary JSON objects never panic; every
//! failure is a `Rejection` naming a field; and a valid body with one field mangled is refused
//! naming that field.

use ledger_wire::Fields;
use ledger_wire::command::decode_command;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[0-9]{1,30}(\\.[0-9]{0,30})?"
            .prop_map(|s| serde_json::from_str(&s).unwrap_or(Value::Null)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELDS: &[&str] = &[
    "configId",
    "feeTypeCd",
    "feeName",
    "feeFlag",
    "startTime",
    "endTime",
    "computingFormula",
    "squarePrice",
    "additionalAmount",
    "communityId",
    "billType",
    "state",
    "paymentCd",
    "paymentCycle",
];

fn valid() -> Map<String, Value> {
    json!({
        "configId": "123456", "feeTypeCd": "1001", "feeName": "物业费", "feeFlag": "Y",
        "startTime": "2023-01-01", "endTime": "2023-12-31", "computingFormula": "面积 * 单价 + 附加费",
        "squarePrice": 2.50, "additionalAmount": 100.00, "communityId": "10001", "billType": "MONTHLY"
    })
    .as_object()
    .unwrap()
    .clone()
}

proptest! {
    // 10,000 cases, each decoded as every command type: the CI-sized run of the decoders
    // (PROPTEST_CASES raises it for longer runs).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000)
    ))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(fields) = Fields::parse(&bytes) {
            for t in ledger_core::Command::TYPES {
                let _ = decode_command(t, &fields, "fuzz");
            }
        }
    }

    #[test]
    fn arbitrary_objects_are_decoded_or_refused_naming_a_field(
        extra in proptest::collection::btree_map(proptest::sample::select(FIELDS), any_json(), 0..8),
    ) {
        let mut body = valid();
        for (k, v) in extra {
            body.insert(k.to_string(), v);
        }
        let fields = Fields::from_map(body);
        for t in ledger_core::Command::TYPES {
            if let Err(r) = decode_command(t, &fields, "fuzz") {
                let field = r.field().expect("a body refusal names its field");
                prop_assert!(!field.is_empty(), "{t}: refusal names a field");
                if t.starts_with("fee_config.") {
                    prop_assert!(FIELDS.contains(&field), "{t} named {field}");
                }
            }
        }
    }

    #[test]
    fn a_mangled_field_is_the_one_named(
        field in proptest::sample::select(&FIELDS[..11]),
        junk in prop_oneof![Just(json!({"x": 1})), Just(json!([1, 2])), Just(json!("")), Just(Value::Null)],
    ) {
        let mut body = valid();
        body.insert(field.to_string(), junk);
        let refused = decode_command("fee_config.update", &Fields::from_map(body), "fuzz")
            .expect_err("a required field mangled");
        prop_assert_eq!(refused.field(), Some(field));
    }
}
