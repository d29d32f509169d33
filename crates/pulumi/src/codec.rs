//! google.protobuf.Struct <-> [`Props`], with Pulumi's special values made explicit.
//!
//! Secrets are unwrapped and remembered by top-level property name; every unknown sentinel
//! becomes the core's [`UNKNOWN`] marker (and back: [`UNKNOWN_SENTINEL`]); the names in
//! `__defaults` become the provider-chosen properties (and back); a resource reference becomes the referenced resource's ID (or URN for
//! a component); an output value becomes its value, unknown or secret as it says.

use pgentra_core::props::{Props, UNKNOWN};
use prost_types::{value::Kind, ListValue, Struct, Value as PbValue};
use serde_json::{Map, Number, Value};

/// The key that marks a struct as a special value, and the signatures it may hold.
pub const SIG_KEY: &str = "4dabf18193072939515e22adb298388d";
pub const SECRET_SIG: &str = "1b47061264138c4ac30d75fd1eb44270";
pub const RESOURCE_REF_SIG: &str = "5cf8f73096256a8f31e491e813e4eb8e";
pub const OUTPUT_SIG: &str = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
pub const ASSET_SIG: &str = "c44067f5952c0a294b673a41bacd8c17";
pub const ARCHIVE_SIG: &str = "0def7320c3a5731c473e5ecbe6d01bc7";

/// The engine's generic "computed" sentinel: a value not known yet.
pub const UNKNOWN_SENTINEL: &str = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/// The checked-inputs key listing the properties whose values the provider chose
/// (auto-names), the convention of Pulumi's bridged providers.
pub const DEFAULTS_KEY: &str = "__defaults";

/// Every sentinel the engine may use for a value that is not known yet.
const UNKNOWN_SENTINELS: &[&str] = &[
    UNKNOWN_SENTINEL,
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a",
];

#[derive(Debug)]
pub enum CodecError {
    Unsupported {
        path: String,
        what: &'static str,
    },
    UnknownSignature {
        path: String,
        signature: String,
    },
    NotFinite {
        path: String,
        value: f64,
    },
    TooDeep {
        path: String,
    },
    /// The core's own unknown marker sent as text: it would pass Check as "not known yet".
    Marker {
        path: String,
    },
}

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "property {}: {}", self.path(), self.reason())
    }
}

impl std::error::Error for CodecError {}

impl CodecError {
    fn path(&self) -> &str {
        match self {
            CodecError::Unsupported { path, .. }
            | CodecError::UnknownSignature { path, .. }
            | CodecError::NotFinite { path, .. }
            | CodecError::TooDeep { path }
            | CodecError::Marker { path } => path,
        }
    }

    /// The top-level property the problem is in (a Check failure names it).
    pub fn property(&self) -> &str {
        let path = self.path();
        let end = path.find(['.', '[']).unwrap_or(path.len());
        &path[..end]
    }

    /// What is wrong, without the property (a Check failure names the property apart).
    pub fn reason(&self) -> String {
        let path = self.path();
        let at = match path.find(['.', '[']) {
            Some(i) => format!(" (at {})", bounded(&path[i..])),
            None => String::new(),
        };
        match self {
            CodecError::Unsupported { what, .. } => {
                format!("{what} values are not supported by pgentra{at}")
            }
            CodecError::UnknownSignature { signature, .. } => format!(
                "unrecognised special value signature {}{at}",
                bounded(signature)
            ),
            CodecError::NotFinite { value, .. } => {
                format!("{value} is not a number pgentra accepts; use a finite number{at}")
            }
            CodecError::Marker { .. } => format!(
                "the text contains NUL characters, which neither Azure nor PostgreSQL accepts{at}"
            ),
            CodecError::TooDeep { .. } => format!(
                "nested deeper than {MAX_DEPTH} levels of lists and objects; pgentra's properties are a few levels deep"
            ),
        }
    }
}

/// A path or text echoed in a refusal, cut to its first 60 characters.
fn bounded(text: &str) -> String {
    pgentra_core::spec::shown(text)
}

/// How deep lists and objects may nest in a property value. pgentra's deepest property is a
/// few levels deep; the limit keeps the recursive codec and Check far from the stack's end.
pub const MAX_DEPTH: usize = 32;

pub fn decode(value: Option<&Struct>) -> Result<Props, CodecError> {
    let mut props = Props::default();
    let Some(value) = value else { return Ok(props) };
    for (name, field) in &value.fields {
        if name == DEFAULTS_KEY {
            let mut secret = false;
            if let Value::Array(names) = decode_value(field, &Path::Property(name), &mut secret, 0)?
            {
                for chosen in names.iter().filter_map(Value::as_str) {
                    props.mark_provider_chosen(chosen);
                }
            }
            continue;
        }
        let mut secret = false;
        let decoded = decode_value(field, &Path::Property(name), &mut secret, 0)?;
        if secret {
            props.mark_secret(name);
        }
        props.values.insert(name.clone(), decoded);
    }
    Ok(props)
}

/// Where a value sits in its property, spelled out only when a refusal names it: decoding must
/// not build a path string for every element of every list and object on the way (Check and
/// Diff decode each resource's properties two or three times).
#[derive(Clone, Copy)]
enum Path<'a> {
    Property(&'a str),
    Index(&'a Path<'a>, usize),
    Key(&'a Path<'a>, &'a str),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Property(name) => f.write_str(name),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
        }
    }
}

fn decode_value(
    value: &PbValue,
    path: &Path<'_>,
    secret: &mut bool,
    depth: usize,
) -> Result<Value, CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::TooDeep {
            path: path.to_string(),
        });
    }
    let depth = depth + 1;
    Ok(match &value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        // NaN and the infinities have no JSON form: silently null they would become the default.
        Some(Kind::NumberValue(n)) if !n.is_finite() => {
            return Err(CodecError::NotFinite {
                path: path.to_string(),
                value: *n,
            })
        }
        Some(Kind::NumberValue(n)) => number(*n),
        Some(Kind::StringValue(s)) if UNKNOWN_SENTINELS.contains(&s.as_str()) => {
            Value::String(UNKNOWN.to_owned())
        }
        Some(Kind::StringValue(s)) if s == UNKNOWN => {
            return Err(CodecError::Marker {
                path: path.to_string(),
            })
        }
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::ListValue(list)) => Value::Array(
            list.values
                .iter()
                .enumerate()
                .map(|(i, v)| decode_value(v, &Path::Index(path, i), secret, depth))
                .collect::<Result<_, _>>()?,
        ),
        Some(Kind::StructValue(s)) => match signature(s) {
            None => Value::Object(
                s.fields
                    .iter()
                    .map(|(k, v)| {
                        Ok((
                            k.clone(),
                            decode_value(v, &Path::Key(path, k), secret, depth)?,
                        ))
                    })
                    .collect::<Result<Map<_, _>, CodecError>>()?,
            ),
            Some(SECRET_SIG) => {
                *secret = true;
                s.fields
                    .get("value")
                    .map(|v| decode_value(v, path, secret, depth))
                    .transpose()?
                    .unwrap_or(Value::Null)
            }
            Some(OUTPUT_SIG) => {
                if matches!(
                    s.fields.get("secret").and_then(|v| v.kind.as_ref()),
                    Some(Kind::BoolValue(true))
                ) {
                    *secret = true;
                }
                match s.fields.get("value") {
                    Some(v) => decode_value(v, path, secret, depth)?,
                    None => Value::String(UNKNOWN.to_owned()),
                }
            }
            Some(RESOURCE_REF_SIG) => {
                let text = |key: &str| match s.fields.get(key).and_then(|v| v.kind.as_ref()) {
                    Some(Kind::StringValue(s)) => Some(s.clone()),
                    _ => None,
                };
                match (text("id"), text("urn")) {
                    (Some(id), _) if id.is_empty() || UNKNOWN_SENTINELS.contains(&id.as_str()) => {
                        Value::String(UNKNOWN.to_owned())
                    }
                    (Some(id), _) => Value::String(id),
                    (None, Some(urn)) => Value::String(urn),
                    (None, None) => Value::String(UNKNOWN.to_owned()),
                }
            }
            Some(ASSET_SIG) => {
                return Err(CodecError::Unsupported {
                    path: path.to_string(),
                    what: "asset",
                })
            }
            Some(ARCHIVE_SIG) => {
                return Err(CodecError::Unsupported {
                    path: path.to_string(),
                    what: "archive",
                })
            }
            Some(other) => {
                return Err(CodecError::UnknownSignature {
                    path: path.to_string(),
                    signature: other.to_owned(),
                })
            }
        },
    })
}

fn signature(s: &Struct) -> Option<&str> {
    match s.fields.get(SIG_KEY)?.kind.as_ref()? {
        Kind::StringValue(sig) => Some(sig.as_str()),
        _ => None,
    }
}

fn number(n: f64) -> Value {
    // The wire has only doubles; whole numbers go back to integers so rules and diffs see 64, not 64.0.
    // Every whole double within int64 converts exactly (the Terraform codec draws the same line;
    // a bound of 9e15 made 9000000000000000 a float, found by tests/wire_properties.rs).
    if n.fract() == 0.0 && n >= i64::MIN as f64 && n < i64::MAX as f64 {
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// Encodes properties, wrapping as secret every top-level property that `props` marks secret
/// or for which `always_secret` says so.
pub fn encode(props: &Props, always_secret: impl Fn(&str) -> bool) -> Struct {
    let mut fields: std::collections::BTreeMap<String, PbValue> = props
        .values
        .iter()
        .map(|(name, value)| {
            let encoded = encode_value(value);
            let wrapped = if props.is_secret(name) || always_secret(name) {
                secret(encoded)
            } else {
                encoded
            };
            (name.clone(), wrapped)
        })
        .collect();
    if !props.provider_chosen.is_empty() {
        let chosen = props
            .provider_chosen
            .iter()
            .cloned()
            .map(Value::String)
            .collect();
        fields.insert(DEFAULTS_KEY.to_owned(), encode_value(&Value::Array(chosen)));
    }
    Struct { fields }
}

pub fn encode_value(value: &Value) -> PbValue {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Value::String(s) if s == UNKNOWN => Kind::StringValue(UNKNOWN_SENTINEL.to_owned()),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(items) => Kind::ListValue(ListValue {
            values: items.iter().map(encode_value).collect(),
        }),
        Value::Object(map) => Kind::StructValue(Struct {
            fields: map
                .iter()
                .map(|(k, v)| (k.clone(), encode_value(v)))
                .collect(),
        }),
    };
    PbValue { kind: Some(kind) }
}

fn secret(value: PbValue) -> PbValue {
    let mut fields = std::collections::BTreeMap::new();
    fields.insert(
        SIG_KEY.to_owned(),
        PbValue {
            kind: Some(Kind::StringValue(SECRET_SIG.to_owned())),
        },
    );
    fields.insert("value".to_owned(), value);
    PbValue {
        kind: Some(Kind::StructValue(Struct { fields })),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cores_unknown_marker_sent_as_text_is_refused_not_taken_for_unknown() {
        // Otherwise a program could send it to skip Check ("checked when known").
        let mut wire = pb_struct(json!({"serverName": "ok"}));
        wire.fields.insert(
            "role".into(),
            PbValue {
                kind: Some(Kind::StringValue(UNKNOWN.to_owned())),
            },
        );
        let error = decode(Some(&wire)).unwrap_err();
        assert_eq!(error.property(), "role");
        assert!(error.reason().contains("NUL"), "{}", error.reason());
    }

    use super::*;
    use serde_json::json;

    fn pb(value: Value) -> PbValue {
        encode_value(&value)
    }

    fn pb_struct(value: Value) -> Struct {
        match pb(value).kind {
            Some(Kind::StructValue(s)) => s,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_secret_input_is_unwrapped_and_remembered_by_name() {
        let wire = pb_struct(
            json!({"password": {SIG_KEY: SECRET_SIG, "value": "hunter2-Long"}, "login": "pgadmin"}),
        );
        let props = decode(Some(&wire)).unwrap();
        assert_eq!(props.get("password"), Some(&json!("hunter2-Long")));
        assert!(props.is_secret("password"));
        assert!(!props.is_secret("login"));
        let back = encode(&props, |_| false);
        assert_eq!(
            back.fields["password"],
            pb(json!({SIG_KEY: SECRET_SIG, "value": "hunter2-Long"}))
        );
        assert_eq!(back.fields["login"], pb(json!("pgadmin")));
    }

    #[test]
    fn a_secret_nested_in_a_map_makes_the_whole_property_secret() {
        let wire = pb_struct(
            json!({"tags": {"owner": {SIG_KEY: SECRET_SIG, "value": "me"}, "env": "prod"}}),
        );
        let props = decode(Some(&wire)).unwrap();
        assert_eq!(
            props.get("tags"),
            Some(&json!({"owner": "me", "env": "prod"}))
        );
        assert!(props.is_secret("tags"));
    }

    #[test]
    fn typed_unknown_sentinels_become_the_generic_one() {
        let wire = pb_struct(
            json!({"n": "3eeb2bf0-c639-47a8-9e75-3b44932eb421", "l": ["a", "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7"]}),
        );
        let props = decode(Some(&wire)).unwrap();
        assert!(props.is_unknown("n"));
        assert!(props.is_unknown("l"));
    }

    #[test]
    fn an_output_value_without_a_value_is_unknown_and_a_secret_output_is_secret() {
        let wire = pb_struct(json!({
            "a": {SIG_KEY: OUTPUT_SIG, "dependencies": []},
            "b": {SIG_KEY: OUTPUT_SIG, "value": "x", "secret": true},
        }));
        let props = decode(Some(&wire)).unwrap();
        assert!(props.is_unknown("a"));
        assert_eq!(props.get("b"), Some(&json!("x")));
        assert!(props.is_secret("b"));
    }

    #[test]
    fn a_resource_reference_becomes_its_id() {
        let wire = pb_struct(json!({
            "server": {SIG_KEY: RESOURCE_REF_SIG, "urn": "urn:pulumi:s::p::t::n", "id": "/subscriptions/x"},
            "pending": {SIG_KEY: RESOURCE_REF_SIG, "urn": "urn:pulumi:s::p::t::n", "id": ""},
        }));
        let props = decode(Some(&wire)).unwrap();
        assert_eq!(props.get("server"), Some(&json!("/subscriptions/x")));
        assert!(props.is_unknown("pending"));
    }

    #[test]
    fn whole_numbers_up_to_int64_decode_as_integers() {
        let props = decode(Some(&pb_struct(json!({"a": 9.0e15, "b": 1.0e18})))).unwrap();
        assert_eq!(props.get("a"), Some(&json!(9_000_000_000_000_000i64)));
        assert_eq!(props.get("b"), Some(&json!(1_000_000_000_000_000_000i64)));
    }

    #[test]
    fn whole_numbers_decode_as_integers() {
        let props = decode(Some(&pb_struct(json!({"size": 64.0, "ratio": 0.5})))).unwrap();
        assert_eq!(props.get("size"), Some(&json!(64)));
        assert_eq!(props.get("ratio"), Some(&json!(0.5)));
    }

    #[test]
    fn a_refusal_deep_in_a_property_names_its_whole_path() {
        let mut wire = pb_struct(json!({"connection": {"hosts": ["a", "b"]}}));
        let Some(Kind::StructValue(connection)) = wire
            .fields
            .get_mut("connection")
            .and_then(|v| v.kind.as_mut())
        else {
            unreachable!()
        };
        let Some(Kind::ListValue(hosts)) = connection
            .fields
            .get_mut("hosts")
            .and_then(|v| v.kind.as_mut())
        else {
            unreachable!()
        };
        hosts.values[1] = PbValue {
            kind: Some(Kind::NumberValue(f64::NAN)),
        };
        let error = decode(Some(&wire)).unwrap_err();
        assert_eq!(error.property(), "connection");
        assert!(
            error
                .to_string()
                .starts_with("property connection.hosts[1]: NaN"),
            "{error}"
        );
    }

    #[test]
    fn assets_are_refused_with_the_property_named() {
        let wire = pb_struct(json!({"file": {SIG_KEY: ASSET_SIG, "hash": "00", "text": "x"}}));
        let err = decode(Some(&wire)).unwrap_err().to_string();
        assert!(err.contains("file") && err.contains("asset"), "{err}");
    }

    #[test]
    fn always_secret_properties_are_wrapped_on_output() {
        let props =
            Props::from_json(json!({"token": "eyJ...", "expiresOn": "2026-01-01T00:00:00Z"}));
        let wire = encode(&props, |name| name == "token");
        assert_eq!(
            wire.fields["token"],
            pb(json!({SIG_KEY: SECRET_SIG, "value": "eyJ..."}))
        );
        assert_eq!(wire.fields["expiresOn"], pb(json!("2026-01-01T00:00:00Z")));
    }
}
