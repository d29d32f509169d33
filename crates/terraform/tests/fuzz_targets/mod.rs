//! The fuzz target on the Terraform value codec, shared by the bounded driver in `cargo test`
//! (tests/codec_fuzz.rs) and the coverage-guided one (fuzz/, `cargo fuzz`).

use pgentra_terraform::codec::{decode_json, decode_msgpack, encode_msgpack};
use pgentra_terraform::cty::CtyType;
use serde_json::{json, Value};

fn marker() -> Value {
    json!({"$unknown": true})
}

/// A type shaped like pgentra's resources: strings, numbers, lists, maps and a nested block.
pub fn grant_like_type() -> CtyType {
    CtyType::object([
        ("id", CtyType::String),
        ("port", CtyType::Number),
        ("privileges", CtyType::list(CtyType::String)),
        ("objects", CtyType::set(CtyType::String)),
        ("tags", CtyType::map(CtyType::String)),
        ("with_grant_option", CtyType::Bool),
        (
            "sql_connection",
            CtyType::object([("host", CtyType::String), ("port", CtyType::Number)]),
        ),
    ])
}

/// Whatever decodes re-encodes, and decodes again to the same value.
pub fn fuzz_terraform_codec(bytes: &[u8]) {
    let ty = grant_like_type();
    if let Ok(value) = decode_msgpack(bytes, &ty, &marker()) {
        let again = encode_msgpack(&value, &ty, &marker()).expect("a decoded value encodes");
        let back = decode_msgpack(&again, &ty, &marker()).expect("what encode wrote decodes");
        assert_eq!(back, value);
    }
    if let Ok(value) = decode_json(bytes, &ty) {
        let again = encode_msgpack(&value, &ty, &marker()).expect("a decoded value encodes");
        assert_eq!(
            decode_msgpack(&again, &ty, &marker()).expect("decodes"),
            value
        );
    }
}

pub fn seeds() -> Vec<Vec<u8>> {
    let ty = grant_like_type();
    let value = json!({
        "id": "x", "port": 5432, "privileges": ["SELECT", marker()], "objects": ["a", "b"],
        "tags": {"team": "data"}, "with_grant_option": false,
        "sql_connection": {"host": "pg", "port": 1.5},
    });
    vec![
        encode_msgpack(&value, &ty, &marker()).unwrap(),
        encode_msgpack(&Value::Null, &ty, &marker()).unwrap(),
        br#"{"id":"x","port":1e308,"privileges":["a"],"objects":null,"tags":{},"with_grant_option":true,"sql_connection":null}"#.to_vec(),
        vec![0x81, 0xa4, b't', b'a', b'g', b's', 0x91, 0x91, 0x91, 0xc0],
    ]
}
