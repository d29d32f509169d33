//! Where each property of an ARM-backed resource lives in ARM's JSON, described once per
//! resource, so the request body, the read-back and import all come from the same table.

use crate::props::Props;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy)]
pub struct ArmField {
    pub property: &'static str,
    /// A dotted path into the resource body: `properties.storage.storageSizeGB`.
    pub path: &'static str,
    /// Sent, never returned (a password): read-back keeps the value from the state.
    pub write_only: bool,
    /// Returned, never sent (an FQDN, a state).
    pub read_only: bool,
}

impl ArmField {
    pub const fn new(property: &'static str, path: &'static str) -> Self {
        Self {
            property,
            path,
            write_only: false,
            read_only: false,
        }
    }
    pub const fn write_only(self) -> Self {
        Self {
            write_only: true,
            ..self
        }
    }
    pub const fn read_only(self) -> Self {
        Self {
            read_only: true,
            ..self
        }
    }
}

/// The request body for a PUT or PATCH: every writable field the inputs set.
pub fn to_arm(fields: &[ArmField], inputs: &Props) -> Value {
    let mut body = Value::Object(Map::new());
    // ARM wants the `properties` object even when every property in it is optional and unset.
    if fields
        .iter()
        .any(|f| !f.read_only && f.path.starts_with("properties."))
    {
        body["properties"] = Value::Object(Map::new());
    }
    for field in fields.iter().filter(|f| !f.read_only) {
        if let Some(value) = inputs.get(field.property) {
            set_path(&mut body, field.path, value.clone());
        }
    }
    body
}

/// The properties ARM reports, with write-only values carried over from `state`.
pub fn from_arm(fields: &[ArmField], body: &Value, state: &Props) -> Props {
    let mut props = Props::default();
    for field in fields {
        let value = if field.write_only {
            state.get(field.property).cloned()
        } else {
            get_path(body, field.path).cloned()
        };
        // ARM reports unset strings as "" (authConfig.tenantId defaults to ""): that is no value.
        if let Some(value) = value.filter(|v| !v.is_null() && v.as_str() != Some("")) {
            props.set(field.property, value);
        }
    }
    props.inherit_secrets(state);
    props
}

pub fn get_path<'a>(body: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(body, |current, key| current.get(key))
}

fn set_path(body: &mut Value, path: &str, value: Value) {
    let mut current = body;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        let map = match current {
            Value::Object(map) => map,
            other => {
                *other = Value::Object(Map::new());
                other.as_object_mut().expect("just made an object")
            }
        };
        if keys.peek().is_none() {
            map.insert(key.to_owned(), value);
            return;
        }
        current = map
            .entry(key.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: &[ArmField] = &[
        ArmField::new("location", "location"),
        ArmField::new("sizeGb", "properties.storage.storageSizeGB"),
        ArmField::new("password", "properties.password").write_only(),
        ArmField::new("fqdn", "properties.fqdn").read_only(),
    ];

    #[test]
    fn the_body_nests_writable_fields_and_leaves_out_read_only_ones() {
        let inputs = Props::from_json(
            json!({"location": "eastus", "sizeGb": 64, "password": "p", "fqdn": "x"}),
        );
        assert_eq!(
            to_arm(FIELDS, &inputs),
            json!({"location": "eastus", "properties": {"storage": {"storageSizeGB": 64}, "password": "p"}})
        );
    }

    #[test]
    fn read_back_takes_what_arm_says_and_keeps_write_only_values_from_the_state() {
        let body = json!({"location": "westeurope", "properties": {"storage": {"storageSizeGB": 128}, "fqdn": "db.example"}});
        let mut state = Props::from_json(json!({"password": "p", "location": "eastus"}));
        state.mark_secret("password");
        let props = from_arm(FIELDS, &body, &state);
        assert_eq!(
            props.get("location"),
            Some(&json!("westeurope")),
            "drift shows"
        );
        assert_eq!(props.get("sizeGb"), Some(&json!(128)));
        assert_eq!(props.get("fqdn"), Some(&json!("db.example")));
        assert_eq!(props.get("password"), Some(&json!("p")));
        assert!(props.is_secret("password"));
    }
}
