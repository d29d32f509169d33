//! Property bags as resources see them: plain JSON, with secrets and unknowns made explicit.
//!
//! The adapters decode their wire values into [`Props`]: secret wrappers are removed and the
//! names of the top-level properties that held a secret are kept aside, so a secret input
//! stays secret in every output that carries it. A value that is not known yet (a preview, a
//! plan) is the marker [`UNKNOWN`], wherever it stands; each codec maps its wire's own form
//! (Pulumi's sentinel strings, Terraform's msgpack extension) to it and back.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The core's marker for a value that is not known yet. No protocol sends it: the NUL bytes
/// keep it apart from anything a user can write, and only the codecs translate it.
pub const UNKNOWN: &str = "\u{0}pgentra:unknown\u{0}";

/// True when the value, or anything inside it, is not known yet.
pub fn contains_unknown(value: &Value) -> bool {
    match value {
        Value::String(s) => s == UNKNOWN,
        Value::Array(items) => items.iter().any(contains_unknown),
        Value::Object(map) => map.values().any(contains_unknown),
        _ => false,
    }
}

/// True when the whole value is the unknown marker.
pub fn is_unknown(value: &Value) -> bool {
    value.as_str() == Some(UNKNOWN)
}

pub fn unknown() -> Value {
    Value::String(UNKNOWN.to_owned())
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Props {
    pub values: Map<String, Value>,
    /// Top-level properties whose value (or part of it) was secret on the wire.
    pub secrets: BTreeSet<String>,
    /// Top-level properties whose value the provider chose rather than the program (an
    /// auto-name): a replacement may choose anew, so the old and new resources can coexist.
    pub provider_chosen: BTreeSet<String>,
}

impl Props {
    pub fn new(values: Map<String, Value>) -> Self {
        Self {
            values,
            ..Self::default()
        }
    }

    pub fn from_json(value: Value) -> Self {
        match value {
            Value::Object(map) => Self::new(map),
            _ => Self::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value of a property; `None` when absent or null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name).filter(|v| !v.is_null())
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    pub fn is_unknown(&self, name: &str) -> bool {
        self.get(name).is_some_and(contains_unknown)
    }

    pub fn has_unknowns(&self) -> bool {
        self.values.values().any(contains_unknown)
    }

    pub fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_owned(), value);
    }

    pub fn mark_secret(&mut self, name: &str) {
        self.secrets.insert(name.to_owned());
    }

    /// Records that the provider, not the program, chose this property's value.
    pub fn mark_provider_chosen(&mut self, name: &str) {
        self.provider_chosen.insert(name.to_owned());
    }

    pub fn is_provider_chosen(&self, name: &str) -> bool {
        self.provider_chosen.contains(name)
    }

    pub fn is_secret(&self, name: &str) -> bool {
        self.secrets.contains(name)
    }

    /// Carries the secret marks of `other` over to the properties of `self` with the same names.
    pub fn inherit_secrets(&mut self, other: &Props) {
        for name in &other.secrets {
            if self.values.contains_key(name) {
                self.secrets.insert(name.clone());
            }
        }
    }
}
