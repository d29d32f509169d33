//! A Terraform object (attribute names in snake_case, every attribute present, null for unset,
//! nested blocks as objects) <-> the core's [`Props`] (camelCase names, absent = null).
//!
//! Names map through [`Property::tf_name`], so `connection` is `sql_connection` and its members
//! map the same way. The unknown marker of the core passes through untouched in both directions.

use pgentra_core::props::Props;
use pgentra_core::spec::{Property, Type};
use serde_json::{Map, Value};

/// Terraform object -> Props: the properties present and not null, by their camelCase name.
/// Attributes that are not properties (`id`) are left out.
pub fn to_props(properties: &'static [Property], object: &Map<String, Value>) -> Props {
    let mut props = Props::new(to_camel(properties, object));
    for property in properties.iter().filter(|p| p.secret) {
        if props.get(property.name).is_some() {
            props.mark_secret(property.name);
        }
    }
    props
}

fn to_camel(properties: &'static [Property], object: &Map<String, Value>) -> Map<String, Value> {
    let mut values = Map::new();
    for property in properties {
        match object.get(&property.tf_name()) {
            None | Some(Value::Null) => {}
            Some(value) => {
                values.insert(
                    property.name.to_owned(),
                    value_to_camel(&property.ty, value),
                );
            }
        }
    }
    values
}

fn value_to_camel(ty: &Type, value: &Value) -> Value {
    match (ty, value) {
        (Type::Object(object), Value::Object(members)) => {
            Value::Object(to_camel(object.properties, members))
        }
        (Type::Array(item), Value::Array(items)) => {
            Value::Array(items.iter().map(|v| value_to_camel(item, v)).collect())
        }
        (Type::Map(item), Value::Object(entries)) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), value_to_camel(item, v)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// Props -> Terraform object over `properties`: every attribute present, null when absent.
/// Properties the filter refuses are left out (the caller adds them, e.g. `id`).
pub fn to_object(
    properties: &'static [Property],
    values: &Map<String, Value>,
    include: impl Fn(&Property) -> bool,
) -> Map<String, Value> {
    let mut object = Map::new();
    for property in properties.iter().filter(|p| include(p)) {
        let value = match values.get(property.name) {
            None | Some(Value::Null) => Value::Null,
            Some(value) => value_to_snake(&property.ty, value),
        };
        object.insert(property.tf_name(), value);
    }
    object
}

fn value_to_snake(ty: &Type, value: &Value) -> Value {
    match (ty, value) {
        (Type::Object(object), Value::Object(members)) => {
            Value::Object(to_object(object.properties, members, Property::is_input))
        }
        (Type::Array(item), Value::Array(items)) => {
            Value::Array(items.iter().map(|v| value_to_snake(item, v)).collect())
        }
        (Type::Map(item), Value::Object(entries)) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), value_to_snake(item, v)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// A property path of the core (`connection.port`, `privileges[2]`, `tags["team"]`) written
/// with Terraform's names (`sql_connection.port`), for diagnostics and `requires_replace`.
pub fn tf_path(properties: &'static [Property], path: &str) -> String {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    let (head, rest) = path.split_at(end);
    let Some(property) = properties.iter().find(|p| p.name == head) else {
        return path.to_owned();
    };
    let name = property.tf_name();
    match (property.ty, rest.strip_prefix('.')) {
        (Type::Object(object), Some(member)) => {
            format!("{name}.{}", tf_path(object.properties, member))
        }
        _ => format!("{name}{rest}"),
    }
}

/// A message of the core written for Terraform users: each camelCase property name in it
/// (`passwordAuth`) becomes its Terraform name (`password_auth`). Names without a capital are
/// the same in both and stay, as does every other word.
pub fn tf_words(properties: &'static [Property], text: &str) -> String {
    let mut names: Vec<(&str, String)> = Vec::new();
    collect_names(properties, &mut names);
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        match names.iter().find(|(camel, _)| *camel == word.as_str()) {
            Some((_, tf)) => out.push_str(tf),
            None => out.push_str(word),
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn collect_names(properties: &'static [Property], names: &mut Vec<(&'static str, String)>) {
    for property in properties {
        if property.name.chars().any(|c| c.is_ascii_uppercase()) {
            names.push((property.name, property.tf_name()));
        }
        if let Type::Object(object) = property.ty {
            collect_names(object.properties, names);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgentra_core::resource::Registry;
    use serde_json::json;

    fn grant_properties() -> &'static [Property] {
        let registry = Box::leak(Box::new(Registry::builtin()));
        registry
            .resource("pgentra:index:Grant")
            .unwrap()
            .spec()
            .properties
    }

    #[test]
    fn a_terraform_object_becomes_camel_case_props_without_nulls() {
        let object = json!({
            "id": "ignored",
            "role": "app",
            "database": "appdb",
            "object_type": "table",
            "schema": null,
            "privileges": ["select"],
            "with_grant_option": null,
            "sql_connection": {"host": "h", "port": null, "database": null, "username": "me", "ssl_mode": "require"},
        });
        let props = to_props(grant_properties(), object.as_object().unwrap());
        assert_eq!(
            Value::Object(props.values),
            json!({
                "connection": {"host": "h", "username": "me", "sslMode": "require"},
                "role": "app",
                "database": "appdb",
                "objectType": "table",
                "privileges": ["select"],
            })
        );
    }

    #[test]
    fn props_become_a_full_terraform_object_with_nulls_and_the_nested_block() {
        let values = json!({
            "connection": {"host": "h", "port": 5432, "database": "postgres", "username": "me", "sslMode": "verify-full"},
            "role": "app",
            "objectType": "database",
        });
        let object = to_object(grant_properties(), values.as_object().unwrap(), |_| true);
        assert_eq!(object["role"], json!("app"));
        assert_eq!(object["object_type"], json!("database"));
        assert_eq!(object["schema"], Value::Null);
        assert_eq!(object["with_grant_option"], Value::Null);
        assert_eq!(
            object["sql_connection"],
            json!({"host": "h", "port": 5432, "database": "postgres", "username": "me", "ssl_mode": "verify-full"})
        );
        assert!(!object.contains_key("connection"));
    }

    #[test]
    fn the_round_trip_keeps_values_and_the_unknown_marker() {
        let unknown = pgentra_core::props::unknown();
        let values = json!({
            "connection": {"host": unknown.clone(), "username": "me"},
            "role": "app",
            "privileges": ["SELECT", unknown.clone()],
        });
        let object = to_object(grant_properties(), values.as_object().unwrap(), |_| true);
        let back = to_props(grant_properties(), &object);
        assert_eq!(Value::Object(back.values), values);
    }

    #[test]
    fn core_messages_name_properties_the_terraform_way() {
        let properties = grant_properties();
        assert_eq!(
            tf_words(
                properties,
                "only with objectType `role`; see sslMode, not schema."
            ),
            "only with object_type `role`; see ssl_mode, not schema."
        );
        assert_eq!(tf_words(properties, "objectTypes stay"), "objectTypes stay");
    }

    #[test]
    fn core_paths_are_written_with_terraform_names() {
        let properties = grant_properties();
        assert_eq!(
            tf_path(properties, "connection.sslMode"),
            "sql_connection.ssl_mode"
        );
        assert_eq!(tf_path(properties, "objectType"), "object_type");
        assert_eq!(tf_path(properties, "privileges[2]"), "privileges[2]");
        assert_eq!(tf_path(properties, "withGrantOption"), "with_grant_option");
        assert_eq!(tf_path(properties, "nonsense"), "nonsense");
    }
}
