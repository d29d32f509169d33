//! Property tests of what comes in over the Pulumi wire: the value codec round-trips every
//! value with its secrets and unknowns, no Struct (NaN, infinities, huge numbers, NUL, deep
//! nesting, sentinels, signatures) makes decode or Check panic, and for every resource
//! Diff(a, a) is no change and Check is idempotent.

use pgentra_core::props::{Props, UNKNOWN};
use pgentra_core::provider;
use pgentra_core::resource::Resource;
use pgentra_core::spec::diff_inputs;
use pgentra_pulumi::codec::{decode, encode, encode_value, SECRET_SIG, SIG_KEY, UNKNOWN_SENTINEL};
use proptest::prelude::*;
use prost_types::{value::Kind, ListValue, Struct, Value as PbValue};
use serde_json::{Map, Number, Value};
use std::sync::Arc;

fn resources() -> Vec<Arc<dyn Resource>> {
    pgentra_core::resources::all()
}

/// JSON values the wire can carry exactly: whole numbers within 2^53, finite fractions.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 53)..(1i64 << 53)).prop_map(|n| Value::Number(n.into())),
        (-1e15f64..1e15)
            .prop_filter("a fraction", |f| f.fract() != 0.0)
            .prop_map(|f| Value::Number(Number::from_f64(f).unwrap())),
        ".{0,12}".prop_map(Value::String),
        Just(Value::String(UNKNOWN.to_owned())),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn props() -> impl Strategy<Value = Props> {
    prop::collection::btree_map("[a-zA-Z]{1,8}", (json_value(), any::<bool>()), 0..6).prop_map(
        |m| {
            let mut props = Props::default();
            for (name, (value, secret)) in m {
                if secret {
                    props.mark_secret(&name);
                }
                props.set(&name, value);
            }
            props
        },
    )
}

/// Any protobuf Value, hostile ones included.
fn pb_value() -> impl Strategy<Value = PbValue> {
    let number = prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(1e19),
        Just(f64::MAX),
        Just(-0.0),
    ];
    let leaf = prop_oneof![
        Just(PbValue { kind: None }),
        Just(PbValue {
            kind: Some(Kind::NullValue(0))
        }),
        any::<bool>().prop_map(|b| PbValue {
            kind: Some(Kind::BoolValue(b))
        }),
        number.prop_map(|n| PbValue {
            kind: Some(Kind::NumberValue(n))
        }),
        prop_oneof![
            ".{0,16}".prop_map(String::from),
            Just("a\0b".to_owned()),
            Just(UNKNOWN_SENTINEL.to_owned()),
            Just(UNKNOWN.to_owned()),
            Just("x".repeat(5000)),
        ]
        .prop_map(|s| PbValue {
            kind: Some(Kind::StringValue(s))
        }),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|values| PbValue {
                kind: Some(Kind::ListValue(ListValue { values }))
            }),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-z]{1,6}".prop_map(String::from),
                    Just(SIG_KEY.to_owned()),
                    Just("value".to_owned())
                ],
                inner.clone(),
                0..4
            )
            .prop_map(|fields| PbValue {
                kind: Some(Kind::StructValue(Struct { fields }))
            }),
            inner.prop_map(|v| {
                let mut fields = std::collections::BTreeMap::new();
                fields.insert(
                    SIG_KEY.to_owned(),
                    PbValue {
                        kind: Some(Kind::StringValue(SECRET_SIG.to_owned())),
                    },
                );
                fields.insert("value".to_owned(), v);
                PbValue {
                    kind: Some(Kind::StructValue(Struct { fields })),
                }
            }),
        ]
    })
}

/// A value `depth` lists deep, built without recursion.
fn nested(depth: usize) -> PbValue {
    let mut value = PbValue {
        kind: Some(Kind::StringValue("leaf".into())),
    };
    for _ in 0..depth {
        value = PbValue {
            kind: Some(Kind::ListValue(ListValue {
                values: vec![value],
            })),
        };
    }
    value
}

/// Inputs for a resource: its own property names with plausible or hostile values.
fn inputs_for(index: usize) -> impl Strategy<Value = (usize, Props)> {
    let resource = resources().swap_remove(index);
    let names: Vec<&'static str> = resource
        .spec()
        .properties
        .iter()
        .filter(|p| p.is_input())
        .map(|p| p.name)
        .collect();
    let plausible = prop_oneof![
        Just(Value::String("pg-orders".into())),
        Just(Value::String("rg-data".into())),
        Just(Value::String("eastus".into())),
        Just(Value::String("16".into())),
        Just(Value::String("Standard_B1ms".into())),
        Just(Value::String("00000000-0000-0000-0000-0000000000aa".into())),
        Just(Value::String("orders".into())),
        Just(Value::String("database".into())),
        Just(serde_json::json!(["CONNECT", "create"])),
        Just(
            serde_json::json!({"host": "pg-orders.postgres.database.azure.com", "username": "admin@example.com"})
        ),
        Just(serde_json::json!({"team": "data"})),
        Just(serde_json::json!(64)),
        Just(serde_json::json!(true)),
        json_value(),
    ];
    let count = names.len();
    (
        Just(index),
        prop::collection::vec((0..count, plausible), 0..(count + 3)),
    )
        .prop_map(move |(index, picks)| {
            let mut props = Props::default();
            for (i, value) in picks {
                props.set(names[i], value);
            }
            (index, props)
        })
}

fn any_resource_inputs() -> impl Strategy<Value = (usize, Props)> {
    let strategies: Vec<_> = (0..resources().len())
        .map(|i| inputs_for(i).boxed())
        .collect();
    proptest::strategy::Union::new(strategies)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_codec_round_trips_values_secrets_and_unknowns(props in props()) {
        let wire = encode(&props, |_| false);
        let back = decode(Some(&wire)).expect("what encode wrote decodes");
        prop_assert_eq!(&back.values, &props.values);
        prop_assert_eq!(&back.secrets, &props.secrets);
        prop_assert_eq!(back.has_unknowns(), props.has_unknowns());
    }

    #[test]
    fn no_struct_makes_decode_or_check_panic(fields in prop::collection::btree_map("[a-zA-Z]{1,10}", pb_value(), 0..6)) {
        let wire = Struct { fields };
        if let Ok(props) = decode(Some(&wire)) {
            // What decodes re-encodes, and every number that came through is finite.
            let _ = encode(&props, |_| false);
            for resource in resources() {
                let checked = provider::check(resource.as_ref(), &props, &Props::default());
                let _ = diff_inputs(resource.spec(), &checked.inputs, &props);
            }
        }
    }

    #[test]
    fn diff_of_a_value_with_itself_is_no_change((index, inputs) in any_resource_inputs()) {
        let resource = resources().swap_remove(index);
        // An unknown new value is reported as a possible change by design (the old state
        // never holds one), so the property is about known values.
        prop_assume!(!inputs.has_unknowns());
        let outcome = diff_inputs(resource.spec(), &inputs, &inputs);
        prop_assert!(outcome.changes.is_empty(), "{}: {:?}", resource.spec().token, outcome.changes);
        let checked = provider::check(resource.as_ref(), &inputs, &Props::default());
        let outcome = diff_inputs(resource.spec(), &checked.inputs, &checked.inputs);
        prop_assert!(outcome.changes.is_empty(), "{}: {:?}", resource.spec().token, outcome.changes);
    }

    #[test]
    fn check_is_idempotent((index, inputs) in any_resource_inputs()) {
        let resource = resources().swap_remove(index);
        let once = provider::check(resource.as_ref(), &inputs, &Props::default());
        if once.failures.is_empty() {
            let twice = provider::check(resource.as_ref(), &once.inputs, &Props::default());
            prop_assert!(twice.failures.is_empty(), "{}: {:?} then {:?}", resource.spec().token, once.inputs, twice.failures);
            prop_assert_eq!(&twice.inputs.values, &once.inputs.values, "{}", resource.spec().token);
        }
    }

    #[test]
    fn every_refusal_echoes_at_most_a_bounded_reason((index, mut inputs) in any_resource_inputs(), which in 0usize..16) {
        let resource = resources().swap_remove(index);
        let names: Vec<&str> = resource.spec().properties.iter().filter(|p| p.is_input()).map(|p| p.name).collect();
        let name = names[which % names.len()];
        inputs.set(name, Value::String("\u{e9}".repeat(300_000)));
        let checked = provider::check(resource.as_ref(), &inputs, &Props::default());
        for failure in &checked.failures {
            prop_assert!(failure.reason.len() <= 1100, "{}.{}: {} bytes", resource.spec().token, failure.property, failure.reason.len());
        }
        prop_assert!(checked.failures.iter().any(|f| f.property == name), "{}.{} let 600 KB through", resource.spec().token, name);
    }
}

#[test]
fn ten_thousand_levels_decode_to_a_refusal_naming_the_property_without_overflowing() {
    // Run on a thread with the stack a tokio worker has (2 MiB).
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let mut fields = std::collections::BTreeMap::new();
            fields.insert("tags".to_owned(), nested(10_000));
            let wire = Struct { fields };
            let error = decode(Some(&wire)).expect_err("too deep");
            assert_eq!(error.property(), "tags");
            // Dropping a 10,000-deep prost value recurses too: take it apart iteratively.
            let mut pending = vec![wire.fields.into_values().next().unwrap()];
            while let Some(value) = pending.pop() {
                if let Some(Kind::ListValue(list)) = value.kind {
                    pending.extend(list.values);
                }
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn a_nan_anywhere_is_refused_naming_the_top_level_property() {
    let mut inner = Map::new();
    inner.insert("x".into(), Value::Null);
    let mut fields = std::collections::BTreeMap::new();
    let mut list = encode_value(&Value::Array(vec![Value::Null]));
    if let Some(Kind::ListValue(l)) = &mut list.kind {
        l.values.push(PbValue {
            kind: Some(Kind::NumberValue(f64::NAN)),
        });
    }
    fields.insert("privileges".to_owned(), list);
    let error = decode(Some(&Struct { fields })).expect_err("NaN");
    assert_eq!(error.property(), "privileges");
    assert!(error.reason().contains("finite"), "{}", error.reason());
}
