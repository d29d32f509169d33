//! The cty type model: the types Terraform gives attribute values, and their JSON type text
//! (what `Schema.Attribute.type` carries, e.g. `"string"` or `["list","string"]`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// A cty type. Objects keep their attributes sorted by name, the order cty itself writes them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtyType {
    String,
    Number,
    Bool,
    List(Box<CtyType>),
    Set(Box<CtyType>),
    Map(Box<CtyType>),
    Object(BTreeMap<String, CtyType>),
}

#[derive(Debug, thiserror::Error)]
pub enum CtyTypeError {
    #[error("cty type text is not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error("unsupported cty type {0}")]
    Unsupported(String),
}

impl CtyType {
    pub fn list(element: CtyType) -> Self {
        CtyType::List(Box::new(element))
    }

    pub fn set(element: CtyType) -> Self {
        CtyType::Set(Box::new(element))
    }

    pub fn map(element: CtyType) -> Self {
        CtyType::Map(Box::new(element))
    }

    /// An object type from `(attribute name, type)` pairs.
    pub fn object<N: Into<String>>(attributes: impl IntoIterator<Item = (N, CtyType)>) -> Self {
        CtyType::Object(
            attributes
                .into_iter()
                .map(|(name, ty)| (name.into(), ty))
                .collect(),
        )
    }

    /// The JSON form of the type: `"string"`, `["list","string"]`, `["object",{"a":"bool"}]`.
    pub fn to_json(&self) -> Value {
        match self {
            CtyType::String => json!("string"),
            CtyType::Number => json!("number"),
            CtyType::Bool => json!("bool"),
            CtyType::List(element) => json!(["list", element.to_json()]),
            CtyType::Set(element) => json!(["set", element.to_json()]),
            CtyType::Map(element) => json!(["map", element.to_json()]),
            CtyType::Object(attributes) => {
                let attributes: serde_json::Map<String, Value> = attributes
                    .iter()
                    .map(|(name, ty)| (name.clone(), ty.to_json()))
                    .collect();
                json!(["object", attributes])
            }
        }
    }

    /// The bytes for `Schema.Attribute.type`: the JSON text, quotes included for primitives.
    pub fn type_text(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Parses the JSON form back (the inverse of [`CtyType::to_json`]).
    pub fn from_json(value: &Value) -> Result<Self, CtyTypeError> {
        let unsupported = || CtyTypeError::Unsupported(value.to_string());
        match value {
            Value::String(name) => match name.as_str() {
                "string" => Ok(CtyType::String),
                "number" => Ok(CtyType::Number),
                "bool" => Ok(CtyType::Bool),
                _ => Err(unsupported()),
            },
            Value::Array(parts) if parts.len() == 2 => match (&parts[0], &parts[1]) {
                (Value::String(kind), element) if kind == "list" => {
                    Ok(CtyType::list(Self::from_json(element)?))
                }
                (Value::String(kind), element) if kind == "set" => {
                    Ok(CtyType::set(Self::from_json(element)?))
                }
                (Value::String(kind), element) if kind == "map" => {
                    Ok(CtyType::map(Self::from_json(element)?))
                }
                (Value::String(kind), Value::Object(attributes)) if kind == "object" => {
                    let attributes = attributes
                        .iter()
                        .map(|(name, ty)| Ok((name.clone(), Self::from_json(ty)?)))
                        .collect::<Result<BTreeMap<_, _>, CtyTypeError>>()?;
                    Ok(CtyType::Object(attributes))
                }
                _ => Err(unsupported()),
            },
            _ => Err(unsupported()),
        }
    }

    /// Parses type text as found in `Schema.Attribute.type`.
    pub fn from_type_text(text: &[u8]) -> Result<Self, CtyTypeError> {
        Self::from_json(&serde_json::from_slice(text)?)
    }

    /// A short name for error messages: `string`, `list of string`, `object`.
    pub fn friendly_name(&self) -> String {
        match self {
            CtyType::String => "string".into(),
            CtyType::Number => "number".into(),
            CtyType::Bool => "bool".into(),
            CtyType::List(element) => format!("list of {}", element.friendly_name()),
            CtyType::Set(element) => format!("set of {}", element.friendly_name()),
            CtyType::Map(element) => format!("map of {}", element.friendly_name()),
            CtyType::Object(_) => "object".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitive_type_text_is_a_quoted_json_string() {
        assert_eq!(CtyType::String.type_text(), br#""string""#);
        assert_eq!(CtyType::Number.type_text(), br#""number""#);
        assert_eq!(CtyType::Bool.type_text(), br#""bool""#);
    }

    #[test]
    fn collection_type_text_is_a_kind_and_element_pair() {
        assert_eq!(
            CtyType::list(CtyType::String).type_text(),
            br#"["list","string"]"#
        );
        assert_eq!(
            CtyType::set(CtyType::String).type_text(),
            br#"["set","string"]"#
        );
        assert_eq!(
            CtyType::map(CtyType::list(CtyType::Number)).type_text(),
            br#"["map",["list","number"]]"#
        );
    }

    #[test]
    fn object_type_text_lists_attributes_sorted_by_name() {
        let ty = CtyType::object([("port", CtyType::Number), ("host", CtyType::String)]);
        assert_eq!(
            String::from_utf8(ty.type_text()).unwrap(),
            r#"["object",{"host":"string","port":"number"}]"#
        );
    }

    #[test]
    fn type_text_round_trips() {
        let ty = CtyType::object([
            ("tags", CtyType::map(CtyType::String)),
            ("privileges", CtyType::set(CtyType::String)),
            ("nested", CtyType::object([("enabled", CtyType::Bool)])),
        ]);
        assert_eq!(CtyType::from_type_text(&ty.type_text()).unwrap(), ty);
    }

    #[test]
    fn unsupported_type_text_is_refused_by_name() {
        let error = CtyType::from_type_text(br#""dynamic""#).unwrap_err();
        assert_eq!(error.to_string(), r#"unsupported cty type "dynamic""#);
    }
}
