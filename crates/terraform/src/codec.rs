//! `DynamicValue` <-> `serde_json::Value`, typed by cty.
//!
//! Terraform sends msgpack (JSON only as a fallback when msgpack is empty) and must be answered in
//! msgpack. Unknown values ("known after apply") are msgpack extensions on the wire; in
//! `serde_json::Value` they are a marker value chosen by the caller (the core defines it), passed
//! in as `unknown`: decoding turns any extension into a clone of it, encoding turns a value equal
//! to it into extension 0. The marker must be a value no attribute can legitimately hold (not
//! null, not a plain string), since encoding recognises it by equality.
//!
//! Objects are strict on the way out (go-cty refuses an object with a missing or extra key), so
//! encoding fills absent attributes with null and refuses extra keys; decoding fills absent
//! attributes with null too (lenient towards JSON written by other clients) and refuses extras.

use std::fmt;

use rmpv::Value as Msgpack;
use serde_json::{Map, Number, Value};

use crate::cty::CtyType;
use crate::proto::tfplugin6::DynamicValue;

/// Extension type of a plain unknown; cty writes it as fixext1 `d4 00 00`.
const UNKNOWN_EXTENSION: i8 = 0;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("decoding msgpack: {0}")]
    MsgpackSyntax(#[from] rmpv::decode::Error),
    #[error("{trailing} bytes left after the msgpack value")]
    TrailingBytes { trailing: usize },
    #[error("decoding JSON: {0}")]
    JsonSyntax(#[from] serde_json::Error),
    #[error("encoding msgpack: {0}")]
    MsgpackWrite(#[from] rmpv::encode::Error),
    #[error("at {path}: expected {expected}, found {found}")]
    TypeMismatch {
        path: ValuePath,
        expected: String,
        found: String,
    },
    #[error("at {path}: unexpected attribute {attribute:?} (the {type_name} type has no such attribute)")]
    UnexpectedAttribute {
        path: ValuePath,
        attribute: String,
        type_name: String,
    },
    #[error("at {path}: number {text} does not fit a 64-bit integer or a finite float")]
    NumberOutOfRange { path: ValuePath, text: String },
    #[error("at {path}: JSON cannot express an unknown value")]
    UnknownInJson { path: ValuePath },
    #[error("at {attribute}: nested deeper than {MAX_DEPTH} levels of lists and objects; pgentra's attributes are a few levels deep")]
    TooDeep { attribute: String },
}

impl CodecError {
    /// Where in the value the problem is, in the syntax [`crate::diagnostics::attribute_path`]
    /// reads, when the error knows.
    pub fn attribute_path(&self) -> Option<String> {
        match self {
            CodecError::TypeMismatch { path, .. }
            | CodecError::UnexpectedAttribute { path, .. }
            | CodecError::NumberOutOfRange { path, .. }
            | CodecError::UnknownInJson { path } => Some(path.to_string()),
            CodecError::TooDeep { attribute } => Some(attribute.clone()),
            _ => None,
        }
        .filter(|path| !path.is_empty())
    }
}

/// How deep lists and objects may nest in one attribute's value. rmpv's own limit (1024)
/// recurses deep enough to overflow a worker thread's stack; pgentra's deepest attribute is a
/// few levels deep.
pub const MAX_DEPTH: usize = 32;

/// rmpv counts a reader's calls, not levels: an array costs 2, a string or binary 3.
const VALUE_DEPTH: usize = 2 * MAX_DEPTH + 4;
const KEY_DEPTH: usize = 4;

/// Where in a value an error happened, written like `sql_connection.host` or `privileges[2]`
/// (the syntax [`crate::diagnostics::attribute_path`] reads).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValuePath(Vec<PathStep>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathStep {
    Attribute(String),
    Index(usize),
    Key(String),
}

impl ValuePath {
    fn child(&self, step: PathStep) -> ValuePath {
        let mut steps = self.0.clone();
        steps.push(step);
        ValuePath(steps)
    }
}

impl fmt::Display for ValuePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("the top level");
        }
        for (position, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(name) if position == 0 => write!(f, "{name}")?,
                PathStep::Attribute(name) => write!(f, ".{name}")?,
                PathStep::Index(index) => write!(f, "[{index}]")?,
                PathStep::Key(key) => write!(f, "[{}]", Value::String(key.clone()))?,
            }
        }
        Ok(())
    }
}

/// Decodes a `DynamicValue`: msgpack when present, else JSON; an empty value is null.
pub fn decode_dynamic_value(
    value: &DynamicValue,
    ty: &CtyType,
    unknown: &Value,
) -> Result<Value, CodecError> {
    if !value.msgpack.is_empty() {
        decode_msgpack(&value.msgpack, ty, unknown)
    } else if !value.json.is_empty() {
        decode_json(&value.json, ty)
    } else {
        Ok(Value::Null)
    }
}

/// Encodes a value for a response (always msgpack).
pub fn encode_dynamic_value(
    value: &Value,
    ty: &CtyType,
    unknown: &Value,
) -> Result<DynamicValue, CodecError> {
    Ok(DynamicValue {
        msgpack: encode_msgpack(value, ty, unknown)?,
        json: Vec::new(),
    })
}

/// Decodes msgpack bytes of type `ty`; any extension value becomes `unknown`.
pub fn decode_msgpack(bytes: &[u8], ty: &CtyType, unknown: &Value) -> Result<Value, CodecError> {
    let mut reader = bytes;
    let value = read_object_bounded(&mut reader)?;
    if !reader.is_empty() {
        return Err(CodecError::TrailingBytes {
            trailing: reader.len(),
        });
    }
    msgpack_to_json(&value, ty, unknown, &ValuePath::default())
}

/// Reads a msgpack value with every attribute of a top-level map bounded to [`MAX_DEPTH`],
/// so a value nested too deep is refused naming its attribute (and never overflows the stack).
fn read_object_bounded(reader: &mut &[u8]) -> Result<Msgpack, CodecError> {
    let too_deep = |attribute: &str| CodecError::TooDeep {
        attribute: crate::codec::shown_name(attribute),
    };
    let entries = match reader.first() {
        Some(&marker @ 0x80..=0x8f) => {
            *reader = &reader[1..];
            usize::from(marker & 0x0f)
        }
        Some(0xde) if reader.len() >= 3 => {
            let n = u16::from_be_bytes([reader[1], reader[2]]);
            *reader = &reader[3..];
            usize::from(n)
        }
        Some(0xdf) if reader.len() >= 5 => {
            let n = u32::from_be_bytes([reader[1], reader[2], reader[3], reader[4]]);
            *reader = &reader[5..];
            n as usize
        }
        _ => {
            return rmpv::decode::read_value_with_max_depth(reader, VALUE_DEPTH).map_err(
                |e| match e {
                    rmpv::decode::Error::DepthLimitExceeded => too_deep("the value"),
                    other => CodecError::MsgpackSyntax(other),
                },
            )
        }
    };
    let mut map = Vec::with_capacity(entries.min(1024));
    for _ in 0..entries {
        let key =
            rmpv::decode::read_value_with_max_depth(reader, KEY_DEPTH).map_err(|e| match e {
                rmpv::decode::Error::DepthLimitExceeded => too_deep("a key"),
                other => CodecError::MsgpackSyntax(other),
            })?;
        let name = key.as_str().unwrap_or("?").to_owned();
        let value =
            rmpv::decode::read_value_with_max_depth(reader, VALUE_DEPTH).map_err(|e| match e {
                rmpv::decode::Error::DepthLimitExceeded => too_deep(&name),
                other => CodecError::MsgpackSyntax(other),
            })?;
        map.push((key, value));
    }
    Ok(Msgpack::Map(map))
}

/// The top-level attribute of a JSON object whose value nests deeper than [`MAX_DEPTH`]
/// (`"the value"` when the document itself is too deep), scanned without recursion; `None`
/// when nothing is (malformed JSON is left to the parser to describe).
fn too_deep_json_attribute(bytes: &[u8]) -> Option<String> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut string_start = 0;
    let mut last_key: Option<String> = None;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    in_string = false;
                    // A string at depth 1 followed by ':' is a top-level key.
                    let rest = bytes[i + 1..].iter().find(|c| !c.is_ascii_whitespace());
                    if depth == 1 && rest == Some(&b':') {
                        let raw = &bytes[string_start..=i];
                        last_key = serde_json::from_slice::<String>(raw).ok();
                    }
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                string_start = i;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH + 1 {
                    return Some(match &last_key {
                        Some(key) => shown_name(key),
                        None => "the value".to_owned(),
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// An attribute name echoed in an error, cut to 60 characters.
fn shown_name(name: &str) -> String {
    match name.char_indices().nth(60) {
        None => name.to_owned(),
        Some((cut, _)) => format!("{}… ({} bytes)", &name[..cut], name.len()),
    }
}

/// Decodes the JSON form of a value of type `ty` (which cannot contain unknowns).
pub fn decode_json(bytes: &[u8], ty: &CtyType) -> Result<Value, CodecError> {
    if let Some(attribute) = too_deep_json_attribute(bytes) {
        return Err(CodecError::TooDeep { attribute });
    }
    let value: Value = serde_json::from_slice(bytes)?;
    conform_json(value, ty, &ValuePath::default())
}

/// Encodes `value` as msgpack of type `ty`; a value equal to `unknown` becomes extension 0.
pub fn encode_msgpack(value: &Value, ty: &CtyType, unknown: &Value) -> Result<Vec<u8>, CodecError> {
    let msgpack = json_to_msgpack(value, ty, unknown, &ValuePath::default())?;
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &msgpack)?;
    Ok(bytes)
}

fn msgpack_kind(value: &Msgpack) -> String {
    match value {
        Msgpack::Nil => "null",
        Msgpack::Boolean(_) => "bool",
        Msgpack::Integer(_) | Msgpack::F32(_) | Msgpack::F64(_) => "number",
        Msgpack::String(_) => "string",
        Msgpack::Binary(_) => "binary",
        Msgpack::Array(_) => "array",
        Msgpack::Map(_) => "map",
        Msgpack::Ext(_, _) => "unknown",
    }
    .to_string()
}

fn json_kind(value: &Value) -> String {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
    .to_string()
}

fn mismatch(path: &ValuePath, ty: &CtyType, found: String) -> CodecError {
    CodecError::TypeMismatch {
        path: path.clone(),
        expected: ty.friendly_name(),
        found,
    }
}

/// cty writes numbers as int, uint, float64 or, when neither is exact, a decimal string.
fn number_from_decimal(text: &str, path: &ValuePath) -> Result<Number, CodecError> {
    let out_of_range = || CodecError::NumberOutOfRange {
        path: path.clone(),
        text: text.to_string(),
    };
    if let Ok(int) = text.parse::<i64>() {
        return Ok(int.into());
    }
    if let Ok(uint) = text.parse::<u64>() {
        return Ok(uint.into());
    }
    // Beyond 64-bit precision: the nearest float is the best serde_json can hold.
    let float: f64 = text.parse().map_err(|_| out_of_range())?;
    canonical_number(float).ok_or_else(out_of_range)
}

/// A float as the number it is: a whole one within int64 as an integer, so a value reads the
/// same whichever of int or float64 the sender wrote it as (and as [`number_to_msgpack`]
/// writes it back). Without it 98304.0 and 98304 read as different values (found by the
/// codec fuzz target: decode, encode, decode was not a fixed point).
fn canonical_number(float: f64) -> Option<Number> {
    if float.fract() == 0.0 && float >= i64::MIN as f64 && float < i64::MAX as f64 {
        Some(Number::from(float as i64))
    } else {
        Number::from_f64(float)
    }
}

fn msgpack_to_json(
    value: &Msgpack,
    ty: &CtyType,
    unknown: &Value,
    path: &ValuePath,
) -> Result<Value, CodecError> {
    match (value, ty) {
        (Msgpack::Nil, _) => Ok(Value::Null),
        // Any extension type is an unknown (type 12 carries refinements we do not need).
        (Msgpack::Ext(_, _), _) => Ok(unknown.clone()),
        (Msgpack::String(text), CtyType::String) => match text.as_str() {
            // The core's unknown marker sent as text would pass Check as "not known yet".
            Some(text) if unknown.as_str() == Some(text) => {
                Err(mismatch(path, ty, "text holding NUL characters".into()))
            }
            Some(text) => Ok(Value::String(text.to_string())),
            None => Err(mismatch(path, ty, "string that is not UTF-8".into())),
        },
        (Msgpack::Boolean(flag), CtyType::Bool) => Ok(Value::Bool(*flag)),
        (Msgpack::Integer(int), CtyType::Number) => {
            if let Some(int) = int.as_i64() {
                Ok(Value::Number(int.into()))
            } else if let Some(uint) = int.as_u64() {
                Ok(Value::Number(uint.into()))
            } else {
                Err(mismatch(path, ty, "an integer out of range".into()))
            }
        }
        (Msgpack::F64(float), CtyType::Number) => canonical_number(*float)
            .map(Value::Number)
            .ok_or_else(|| CodecError::NumberOutOfRange {
                path: path.clone(),
                text: float.to_string(),
            }),
        (Msgpack::F32(float), CtyType::Number) => canonical_number(f64::from(*float))
            .map(Value::Number)
            .ok_or_else(|| CodecError::NumberOutOfRange {
                path: path.clone(),
                text: float.to_string(),
            }),
        (Msgpack::String(text), CtyType::Number) => match text.as_str() {
            Some(text) => Ok(Value::Number(number_from_decimal(text, path)?)),
            None => Err(mismatch(path, ty, "string that is not UTF-8".into())),
        },
        (Msgpack::Array(elements), CtyType::List(element_type) | CtyType::Set(element_type)) => {
            elements
                .iter()
                .enumerate()
                .map(|(index, element)| {
                    msgpack_to_json(
                        element,
                        element_type,
                        unknown,
                        &path.child(PathStep::Index(index)),
                    )
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        (Msgpack::Map(entries), CtyType::Map(element_type)) => {
            let mut map = Map::new();
            for (key, element) in entries {
                let key = msgpack_key(key, path)?;
                let element = msgpack_to_json(
                    element,
                    element_type,
                    unknown,
                    &path.child(PathStep::Key(key.clone())),
                )?;
                map.insert(key, element);
            }
            Ok(Value::Object(map))
        }
        (Msgpack::Map(entries), CtyType::Object(attributes)) => {
            let mut present = std::collections::BTreeMap::new();
            for (key, element) in entries {
                let key = msgpack_key(key, path)?;
                if !attributes.contains_key(&key) {
                    return Err(unexpected_attribute(path, key, ty));
                }
                present.insert(key, element);
            }
            let mut object = Map::new();
            for (name, attribute_type) in attributes {
                let attribute_value = match present.get(name) {
                    Some(element) => msgpack_to_json(
                        element,
                        attribute_type,
                        unknown,
                        &path.child(PathStep::Attribute(name.clone())),
                    )?,
                    None => Value::Null,
                };
                object.insert(name.clone(), attribute_value);
            }
            Ok(Value::Object(object))
        }
        (other, _) => Err(mismatch(path, ty, msgpack_kind(other))),
    }
}

fn msgpack_key(key: &Msgpack, path: &ValuePath) -> Result<String, CodecError> {
    match key.as_str() {
        Some(key) => Ok(key.to_string()),
        None => Err(CodecError::TypeMismatch {
            path: path.clone(),
            expected: "string map keys".into(),
            found: msgpack_kind(key),
        }),
    }
}

fn unexpected_attribute(path: &ValuePath, attribute: String, ty: &CtyType) -> CodecError {
    CodecError::UnexpectedAttribute {
        path: path.clone(),
        attribute,
        type_name: ty.friendly_name(),
    }
}

/// Checks a JSON value against `ty`, filling absent object attributes with null.
fn conform_json(value: Value, ty: &CtyType, path: &ValuePath) -> Result<Value, CodecError> {
    match (value, ty) {
        (Value::Null, _) => Ok(Value::Null),
        (Value::String(text), CtyType::String) if text == pgentra_core::props::UNKNOWN => {
            Err(mismatch(path, ty, "text holding NUL characters".into()))
        }
        (value @ Value::String(_), CtyType::String) => Ok(value),
        (value @ Value::Bool(_), CtyType::Bool) => Ok(value),
        (Value::Number(number), CtyType::Number) => Ok(Value::Number(
            match number.as_f64().filter(|_| number.is_f64()) {
                Some(float) => canonical_number(float).unwrap_or(number),
                None => number,
            },
        )),
        (Value::String(text), CtyType::Number) => {
            Ok(Value::Number(number_from_decimal(&text, path)?))
        }
        (Value::Array(elements), CtyType::List(element_type) | CtyType::Set(element_type)) => {
            elements
                .into_iter()
                .enumerate()
                .map(|(index, element)| {
                    conform_json(element, element_type, &path.child(PathStep::Index(index)))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        (Value::Object(entries), CtyType::Map(element_type)) => {
            let mut map = Map::new();
            for (key, element) in entries {
                let element = conform_json(
                    element,
                    element_type,
                    &path.child(PathStep::Key(key.clone())),
                )?;
                map.insert(key, element);
            }
            Ok(Value::Object(map))
        }
        (Value::Object(mut entries), CtyType::Object(attributes)) => {
            if let Some(extra) = entries.keys().find(|key| !attributes.contains_key(*key)) {
                return Err(unexpected_attribute(path, extra.clone(), ty));
            }
            let mut object = Map::new();
            for (name, attribute_type) in attributes {
                let attribute_value = match entries.remove(name) {
                    Some(element) => conform_json(
                        element,
                        attribute_type,
                        &path.child(PathStep::Attribute(name.clone())),
                    )?,
                    None => Value::Null,
                };
                object.insert(name.clone(), attribute_value);
            }
            Ok(Value::Object(object))
        }
        (other, _) => Err(mismatch(path, ty, json_kind(&other))),
    }
}

fn json_to_msgpack(
    value: &Value,
    ty: &CtyType,
    unknown: &Value,
    path: &ValuePath,
) -> Result<Msgpack, CodecError> {
    if value == unknown {
        // One payload byte makes rmpv write fixext1: `d4 00 00`, exactly what cty writes.
        return Ok(Msgpack::Ext(UNKNOWN_EXTENSION, vec![0]));
    }
    match (value, ty) {
        (Value::Null, _) => Ok(Msgpack::Nil),
        (Value::String(text), CtyType::String) => Ok(Msgpack::from(text.as_str())),
        (Value::Bool(flag), CtyType::Bool) => Ok(Msgpack::Boolean(*flag)),
        (Value::Number(number), CtyType::Number) => Ok(number_to_msgpack(number)),
        (Value::Array(elements), CtyType::List(element_type) | CtyType::Set(element_type)) => {
            elements
                .iter()
                .enumerate()
                .map(|(index, element)| {
                    json_to_msgpack(
                        element,
                        element_type,
                        unknown,
                        &path.child(PathStep::Index(index)),
                    )
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Msgpack::Array)
        }
        (Value::Object(entries), CtyType::Map(element_type)) => entries
            .iter()
            .map(|(key, element)| {
                let element = json_to_msgpack(
                    element,
                    element_type,
                    unknown,
                    &path.child(PathStep::Key(key.clone())),
                )?;
                Ok((Msgpack::from(key.as_str()), element))
            })
            .collect::<Result<Vec<_>, CodecError>>()
            .map(Msgpack::Map),
        (Value::Object(entries), CtyType::Object(attributes)) => {
            if let Some(extra) = entries.keys().find(|key| !attributes.contains_key(*key)) {
                return Err(unexpected_attribute(path, extra.clone(), ty));
            }
            // Every attribute of the type, absent ones as nil: go-cty refuses anything else.
            attributes
                .iter()
                .map(|(name, attribute_type)| {
                    let element = match entries.get(name) {
                        Some(element) => json_to_msgpack(
                            element,
                            attribute_type,
                            unknown,
                            &path.child(PathStep::Attribute(name.clone())),
                        )?,
                        None => Msgpack::Nil,
                    };
                    Ok((Msgpack::from(name.as_str()), element))
                })
                .collect::<Result<Vec<_>, CodecError>>()
                .map(Msgpack::Map)
        }
        (other, _) => Err(mismatch(path, ty, json_kind(other))),
    }
}

/// Integers stay integers (cty writes an exact int64 as an int); other numbers are float64.
fn number_to_msgpack(number: &Number) -> Msgpack {
    if let Some(int) = number.as_i64() {
        Msgpack::from(int)
    } else if let Some(uint) = number.as_u64() {
        Msgpack::from(uint)
    } else {
        let float = number.as_f64().unwrap_or(f64::NAN);
        if float.fract() == 0.0 && float >= i64::MIN as f64 && float < i64::MAX as f64 {
            Msgpack::from(float as i64)
        } else {
            Msgpack::F64(float)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cores_unknown_marker_sent_as_text_is_refused_not_taken_for_unknown() {
        let core_marker = Value::String(pgentra_core::props::UNKNOWN.to_owned());
        let value = Msgpack::Map(vec![(
            Msgpack::from("id"),
            Msgpack::from(pgentra_core::props::UNKNOWN),
        )]);
        let error =
            decode_msgpack(&msgpack_bytes(&value), &server_type(), &core_marker).unwrap_err();
        assert!(error.to_string().contains("at id"), "{error}");
        let json = serde_json::to_vec(&json!({"id": pgentra_core::props::UNKNOWN})).unwrap();
        assert!(decode_json(&json, &server_type()).is_err());
    }

    #[test]
    fn ten_thousand_nested_arrays_are_refused_naming_the_attribute_without_overflowing() {
        let mut bytes = vec![0x81]; // a map of one entry
        rmpv::encode::write_value(&mut bytes, &Msgpack::from("tags")).unwrap();
        bytes.extend(std::iter::repeat_n(0x91, 10_000));
        rmpv::encode::write_value(&mut bytes, &Msgpack::from("leaf")).unwrap();
        let error = decode_msgpack(&bytes, &server_type(), &marker()).unwrap_err();
        assert!(
            matches!(&error, CodecError::TooDeep { attribute } if attribute == "tags"),
            "{error}"
        );
        let mut top = Vec::new();
        top.extend(std::iter::repeat_n(0x91, 10_000));
        rmpv::encode::write_value(&mut top, &Msgpack::from("leaf")).unwrap();
        assert!(matches!(
            decode_msgpack(&top, &server_type(), &marker()),
            Err(CodecError::TooDeep { .. })
        ));
    }

    #[test]
    fn a_nan_is_refused_naming_the_attribute() {
        let value = Msgpack::Map(vec![(
            Msgpack::from("storage_size_gb"),
            Msgpack::F64(f64::NAN),
        )]);
        let error = decode_msgpack(&msgpack_bytes(&value), &server_type(), &marker()).unwrap_err();
        assert!(error.to_string().contains("storage_size_gb"), "{error}");
    }

    use super::*;
    use serde_json::json;

    fn marker() -> Value {
        json!({"$unknown": true})
    }

    fn connection_type() -> CtyType {
        CtyType::object([
            ("host", CtyType::String),
            ("port", CtyType::Number),
            ("username", CtyType::String),
        ])
    }

    fn server_type() -> CtyType {
        CtyType::object([
            ("id", CtyType::String),
            ("privileges", CtyType::list(CtyType::String)),
            ("sql_connection", connection_type()),
            ("tags", CtyType::map(CtyType::String)),
            ("enabled", CtyType::Bool),
        ])
    }

    fn msgpack_bytes(value: &Msgpack) -> Vec<u8> {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, value).unwrap();
        bytes
    }

    #[test]
    fn unknown_is_written_as_fixext1_type_zero() {
        let bytes = encode_msgpack(&marker(), &CtyType::String, &marker()).unwrap();
        assert_eq!(bytes, [0xd4, 0x00, 0x00]);
    }

    #[test]
    fn any_extension_type_decodes_as_the_unknown_marker() {
        for extension in [
            Msgpack::Ext(0, vec![0]),
            Msgpack::Ext(0, vec![]),
            Msgpack::Ext(
                12,
                msgpack_bytes(&Msgpack::Map(vec![(1.into(), false.into())])),
            ),
        ] {
            let decoded =
                decode_msgpack(&msgpack_bytes(&extension), &CtyType::Number, &marker()).unwrap();
            assert_eq!(decoded, marker(), "extension {extension:?}");
        }
    }

    #[test]
    fn unknowns_nested_in_lists_and_objects_round_trip() {
        let value = json!({
            "id": marker(),
            "privileges": ["SELECT", marker()],
            "sql_connection": {"host": marker(), "port": 5432, "username": "app"},
            "tags": {"team": marker()},
            "enabled": true,
        });
        let bytes = encode_msgpack(&value, &server_type(), &marker()).unwrap();
        let decoded = decode_msgpack(&bytes, &server_type(), &marker()).unwrap();
        assert_eq!(decoded, value);
    }

    #[test]
    fn numbers_are_read_from_int_uint_float_and_decimal_string() {
        let cases = [
            (Msgpack::from(-7i64), json!(-7)),
            (Msgpack::from(u64::MAX), json!(u64::MAX)),
            (Msgpack::F64(2.5), json!(2.5)),
            (Msgpack::from("5432"), json!(5432)),
            (Msgpack::from("18446744073709551615"), json!(u64::MAX)),
            (Msgpack::from("0.1"), json!(0.1)),
            (
                Msgpack::from("123456789012345678901234567890"),
                json!(1.2345678901234568e29),
            ),
        ];
        for (wire, expected) in cases {
            let decoded =
                decode_msgpack(&msgpack_bytes(&wire), &CtyType::Number, &marker()).unwrap();
            assert_eq!(decoded, expected, "wire {wire:?}");
        }
    }

    #[test]
    fn a_decimal_string_that_is_not_a_number_is_refused() {
        let error = decode_msgpack(
            &msgpack_bytes(&Msgpack::from("many")),
            &CtyType::Number,
            &marker(),
        )
        .unwrap_err();
        assert!(
            matches!(error, CodecError::NumberOutOfRange { .. }),
            "{error}"
        );
    }

    #[test]
    fn integers_are_written_as_msgpack_ints_and_fractions_as_float64() {
        assert_eq!(
            encode_msgpack(&json!(5432), &CtyType::Number, &marker()).unwrap(),
            [0xcd, 0x15, 0x38]
        );
        assert_eq!(
            encode_msgpack(&json!(32.0), &CtyType::Number, &marker()).unwrap(),
            [0x20]
        );
        let mut float = vec![0xcb];
        float.extend_from_slice(&2.5f64.to_be_bytes());
        assert_eq!(
            encode_msgpack(&json!(2.5), &CtyType::Number, &marker()).unwrap(),
            float
        );
    }

    #[test]
    fn encoding_writes_every_attribute_with_missing_ones_as_nil() {
        let bytes = encode_msgpack(&json!({"host": "db"}), &connection_type(), &marker()).unwrap();
        let written = rmpv::decode::read_value(&mut bytes.as_slice()).unwrap();
        assert_eq!(
            written,
            Msgpack::Map(vec![
                ("host".into(), "db".into()),
                ("port".into(), Msgpack::Nil),
                ("username".into(), Msgpack::Nil),
            ])
        );
    }

    #[test]
    fn decoding_fills_missing_attributes_with_null() {
        let wire = Msgpack::Map(vec![("port".into(), 5432.into())]);
        let decoded = decode_msgpack(&msgpack_bytes(&wire), &connection_type(), &marker()).unwrap();
        assert_eq!(
            decoded,
            json!({"host": null, "port": 5432, "username": null})
        );
    }

    #[test]
    fn encoding_refuses_an_attribute_the_type_does_not_have() {
        let value = json!({"sql_connection": {"host": "db", "password": "x"}});
        let error = encode_msgpack(&value, &server_type(), &marker()).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"at sql_connection: unexpected attribute "password" (the object type has no such attribute)"#
        );
    }

    #[test]
    fn decoding_refuses_an_attribute_the_type_does_not_have() {
        let wire = Msgpack::Map(vec![("hostname".into(), "db".into())]);
        let error =
            decode_msgpack(&msgpack_bytes(&wire), &connection_type(), &marker()).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"at the top level: unexpected attribute "hostname" (the object type has no such attribute)"#
        );
    }

    #[test]
    fn type_mismatches_name_the_path() {
        let value = json!({"privileges": ["SELECT", 3]});
        let error = encode_msgpack(&value, &server_type(), &marker()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "at privileges[1]: expected string, found number"
        );
        let value = json!({"tags": {"team a": false}});
        let error = encode_msgpack(&value, &server_type(), &marker()).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"at tags["team a"]: expected string, found bool"#
        );
    }

    #[test]
    fn null_objects_and_null_attributes_are_nil() {
        assert_eq!(
            encode_msgpack(&Value::Null, &server_type(), &marker()).unwrap(),
            [0xc0]
        );
        assert_eq!(
            decode_msgpack(&[0xc0], &server_type(), &marker()).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn dynamic_value_prefers_msgpack_and_falls_back_to_json() {
        let ty = connection_type();
        let from_json = DynamicValue {
            msgpack: Vec::new(),
            json: br#"{"host":"db","port":"5432"}"#.to_vec(),
        };
        assert_eq!(
            decode_dynamic_value(&from_json, &ty, &marker()).unwrap(),
            json!({"host": "db", "port": 5432, "username": null})
        );
        let both = DynamicValue {
            msgpack: encode_msgpack(&json!({"host": "wire"}), &ty, &marker()).unwrap(),
            json: br#"{"host":"ignored"}"#.to_vec(),
        };
        assert_eq!(
            decode_dynamic_value(&both, &ty, &marker()).unwrap()["host"],
            json!("wire")
        );
        assert_eq!(
            decode_dynamic_value(&DynamicValue::default(), &ty, &marker()).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn responses_are_msgpack_only() {
        let encoded =
            encode_dynamic_value(&json!({"host": "db"}), &connection_type(), &marker()).unwrap();
        assert!(encoded.json.is_empty());
        assert!(!encoded.msgpack.is_empty());
    }

    #[test]
    fn sets_and_maps_round_trip() {
        let ty = CtyType::object([
            ("privileges", CtyType::set(CtyType::String)),
            ("limits", CtyType::map(CtyType::Number)),
        ]);
        let value = json!({"privileges": ["SELECT", "INSERT"], "limits": {"a": 1, "b": 2.5}});
        let bytes = encode_msgpack(&value, &ty, &marker()).unwrap();
        assert_eq!(decode_msgpack(&bytes, &ty, &marker()).unwrap(), value);
    }

    #[test]
    fn trailing_bytes_after_the_value_are_refused() {
        let error = decode_msgpack(&[0xc0, 0xc0], &CtyType::String, &marker()).unwrap_err();
        assert_eq!(error.to_string(), "1 bytes left after the msgpack value");
    }
}
