//! The part of a Pulumi package schema (JSON) the SDK generators need, read into plain structs.
//! Reading the JSON, rather than the registry, keeps the SDKs from ever disagreeing with schema.json.

use serde_json::{Map, Value};
use std::fmt;

/// A failure to read the schema, naming where in it.
#[derive(Debug)]
pub struct SchemaError(String);

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "schema: {}", self.0)
    }
}

impl std::error::Error for SchemaError {}

fn err(message: impl Into<String>) -> SchemaError {
    SchemaError(message.into())
}

impl SchemaError {
    /// A name the schema gives that a generated SDK cannot use.
    pub fn conflict(message: impl Into<String>) -> Self {
        err(message)
    }
}

pub struct Package {
    pub name: String,
    pub version: String,
    pub description: String,
    pub license: String,
    pub keywords: Vec<String>,
    /// Where the engine downloads the plugin (`pluginDownloadURL`); empty when the schema has none.
    pub plugin_download_url: String,
    /// The project's `repository` and `homepage` URLs; empty when the schema has none.
    pub repository: String,
    pub homepage: String,
    pub python_package: String,
    pub nodejs_package: String,
    pub config: Vec<Property>,
    pub provider: Provider,
    pub types: Vec<ObjectType>,
    pub enums: Vec<EnumType>,
    pub resources: Vec<Resource>,
    pub functions: Vec<Function>,
}

pub struct Provider {
    pub description: String,
    pub inputs: Vec<Property>,
}

pub struct ObjectType {
    pub token: String,
    /// The type's name, the token's last part (`Connection`).
    pub name: String,
    pub description: String,
    pub properties: Vec<Property>,
}

/// A closed set of strings (`"type": "string"` with `enum` members).
pub struct EnumType {
    pub token: String,
    /// The type's name, the token's last part (`SslMode`).
    pub name: String,
    pub description: String,
    pub members: Vec<EnumMember>,
}

pub struct EnumMember {
    /// The member's name as the schema gives it (`VerifyFull`), else its value.
    pub name: String,
    pub value: String,
    pub description: String,
}

pub struct Resource {
    pub token: String,
    pub name: String,
    pub description: String,
    /// Every property the resource has, in schema order.
    pub properties: Vec<Property>,
    /// The properties a program sets, in schema order.
    pub inputs: Vec<Property>,
    /// A component (`isComponent`): the provider builds it through Construct.
    pub is_component: bool,
}

impl Resource {
    /// Properties that are outputs only (no input of that name).
    pub fn output_only(&self) -> impl Iterator<Item = &Property> {
        self.properties
            .iter()
            .filter(|p| !self.inputs.iter().any(|i| i.name == p.name))
    }

    /// Wire names of the properties the schema marks secret, sorted.
    pub fn secret_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .properties
            .iter()
            .chain(&self.inputs)
            .filter(|p| p.secret)
            .map(|p| p.name.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

pub struct Function {
    pub token: String,
    /// The function's name, the token's last part (`getClientConfig`).
    pub name: String,
    pub description: String,
    pub inputs: Vec<Property>,
    pub outputs: Vec<Property>,
}

#[derive(Clone)]
pub struct Property {
    /// The wire (schema) name, camelCase.
    pub name: String,
    pub ty: Type,
    pub description: String,
    pub required: bool,
    pub secret: bool,
    pub default: Option<Value>,
    /// Environment variables the value falls back to (`defaultInfo.environment`).
    pub environment: Vec<String>,
}

#[derive(Clone, PartialEq)]
pub enum Type {
    String,
    Integer,
    Number,
    Boolean,
    Any,
    Array(Box<Type>),
    Map(Box<Type>),
    /// An object type of this package, by its name (`Connection`).
    Object(String),
    /// A string, or a member of this package's enum type of that name (`SslMode`): the
    /// schema's `oneOf` of a string and the enum, or a plain reference to the enum.
    Enum(String),
}

/// The last part of a type token: `pgentra:index:FlexibleServer` is `FlexibleServer`.
fn token_name(token: &str) -> Result<String, SchemaError> {
    match token.split(':').collect::<Vec<_>>()[..] {
        [_, _, name] if !name.is_empty() => Ok(name.to_owned()),
        _ => Err(err(format!(
            "type token {token:?} is not of the form package:module:Name"
        ))),
    }
}

fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn object_at<'a>(value: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    value.get(key).and_then(Value::as_object)
}

fn names_at(value: &Value, key: &str) -> Vec<String> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn language_package(schema: &Value, language: &str) -> Option<String> {
    schema
        .pointer(&format!("/language/{language}/packageName"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

impl Package {
    pub fn parse(schema: &Value) -> Result<Self, SchemaError> {
        let name = str_at(schema, "name").to_owned();
        if name.is_empty() {
            return Err(err("the package has no `name`"));
        }
        let all_types = parse_section(schema, "types", parse_type_definition)?;
        let mut types = Vec::new();
        let mut enums = Vec::new();
        for definition in all_types {
            match definition {
                TypeDefinition::Object(object) => types.push(object),
                TypeDefinition::Enum(enum_type) => enums.push(enum_type),
            }
        }
        let resources = parse_section(schema, "resources", parse_resource)?;
        let functions = parse_section(schema, "functions", parse_function)?;
        let config = match schema.pointer("/config/variables") {
            Some(variables) => parse_properties(variables, &[], "config.variables")?,
            None => Vec::new(),
        };
        let provider = schema.get("provider").cloned().unwrap_or(Value::Null);
        let provider = Provider {
            description: str_at(&provider, "description").to_owned(),
            inputs: properties_at(
                &provider,
                "inputProperties",
                "requiredInputs",
                "provider.inputProperties",
            )?,
        };
        let mut package = Package {
            python_package: language_package(schema, "python")
                .unwrap_or_else(|| format!("pulumi_{}", name.replace('-', "_"))),
            nodejs_package: language_package(schema, "nodejs")
                .unwrap_or_else(|| format!("@pulumi/{name}")),
            version: str_at(schema, "version").to_owned(),
            description: str_at(schema, "description").to_owned(),
            license: str_at(schema, "license").to_owned(),
            keywords: names_at(schema, "keywords"),
            plugin_download_url: str_at(schema, "pluginDownloadURL").to_owned(),
            repository: str_at(schema, "repository").to_owned(),
            homepage: str_at(schema, "homepage").to_owned(),
            name,
            config,
            provider,
            types,
            enums,
            resources,
            functions,
        };
        package.resolve_enum_references();
        Ok(package)
    }

    /// A plain `$ref` reads as an object type until the types are known: one that names an
    /// enum type is that enum.
    fn resolve_enum_references(&mut self) {
        let names: Vec<String> = self.enums.iter().map(|e| e.name.clone()).collect();
        fn resolve(ty: &mut Type, names: &[String]) {
            match ty {
                Type::Object(name) if names.contains(name) => *ty = Type::Enum(name.clone()),
                Type::Array(item) | Type::Map(item) => resolve(item, names),
                _ => {}
            }
        }
        let lists = self
            .types
            .iter_mut()
            .map(|t| &mut t.properties)
            .chain(
                self.resources
                    .iter_mut()
                    .flat_map(|r| [&mut r.properties, &mut r.inputs]),
            )
            .chain(
                self.functions
                    .iter_mut()
                    .flat_map(|f| [&mut f.inputs, &mut f.outputs]),
            )
            .chain([&mut self.config, &mut self.provider.inputs]);
        for list in lists {
            for property in list.iter_mut() {
                resolve(&mut property.ty, &names);
            }
        }
    }

    pub fn object_type(&self, name: &str) -> Option<&ObjectType> {
        self.types.iter().find(|t| t.name == name)
    }
}

/// Every entry of a top-level section (`types`, `resources`, `functions`), in schema order.
fn parse_section<T>(
    schema: &Value,
    key: &str,
    parse: fn(&str, &Value) -> Result<T, SchemaError>,
) -> Result<Vec<T>, SchemaError> {
    object_at(schema, key)
        .map(|entries| {
            entries
                .iter()
                .map(|(token, body)| parse(token, body))
                .collect()
        })
        .unwrap_or_else(|| Ok(Vec::new()))
}

/// The properties under `key` of `body`, required as listed under `required_key`; none when
/// `key` is absent.
fn properties_at(
    body: &Value,
    key: &str,
    required_key: &str,
    at: &str,
) -> Result<Vec<Property>, SchemaError> {
    match body.get(key) {
        Some(properties) => parse_properties(properties, &names_at(body, required_key), at),
        None => Ok(Vec::new()),
    }
}

enum TypeDefinition {
    Object(ObjectType),
    Enum(EnumType),
}

fn parse_type_definition(token: &str, body: &Value) -> Result<TypeDefinition, SchemaError> {
    match (str_at(body, "type"), body.get("enum")) {
        ("object", None) => Ok(TypeDefinition::Object(parse_object_type(token, body)?)),
        ("string", Some(members)) => {
            Ok(TypeDefinition::Enum(parse_enum_type(token, body, members)?))
        }
        _ => Err(err(format!(
            "types.{token}: only object types and string enums are supported"
        ))),
    }
}

fn parse_enum_type(token: &str, body: &Value, members: &Value) -> Result<EnumType, SchemaError> {
    let members = members
        .as_array()
        .ok_or_else(|| err(format!("types.{token}.enum must be a list")))?
        .iter()
        .map(|member| {
            let value = member.get("value").and_then(Value::as_str).ok_or_else(|| {
                err(format!(
                    "types.{token}.enum: every member needs a string `value`"
                ))
            })?;
            let name = member.get("name").and_then(Value::as_str).unwrap_or(value);
            Ok(EnumMember {
                name: name.to_owned(),
                value: value.to_owned(),
                description: str_at(member, "description").to_owned(),
            })
        })
        .collect::<Result<Vec<_>, SchemaError>>()?;
    Ok(EnumType {
        token: token.to_owned(),
        name: token_name(token)?,
        description: str_at(body, "description").to_owned(),
        members,
    })
}

fn parse_object_type(token: &str, body: &Value) -> Result<ObjectType, SchemaError> {
    Ok(ObjectType {
        token: token.to_owned(),
        name: token_name(token)?,
        description: str_at(body, "description").to_owned(),
        properties: properties_at(body, "properties", "required", token)?,
    })
}

fn parse_resource(token: &str, body: &Value) -> Result<Resource, SchemaError> {
    Ok(Resource {
        token: token.to_owned(),
        name: token_name(token)?,
        description: str_at(body, "description").to_owned(),
        properties: properties_at(body, "properties", "required", token)?,
        inputs: properties_at(
            body,
            "inputProperties",
            "requiredInputs",
            &format!("{token}.inputProperties"),
        )?,
        is_component: body.get("isComponent").and_then(Value::as_bool) == Some(true),
    })
}

fn parse_function(token: &str, body: &Value) -> Result<Function, SchemaError> {
    let side = |key: &str| match body.get(key) {
        Some(side) => properties_at(side, "properties", "required", &format!("{token}.{key}")),
        None => Ok(Vec::new()),
    };
    Ok(Function {
        token: token.to_owned(),
        name: token_name(token)?,
        description: str_at(body, "description").to_owned(),
        inputs: side("inputs")?,
        outputs: side("outputs")?,
    })
}

fn parse_properties(
    properties: &Value,
    required: &[String],
    at: &str,
) -> Result<Vec<Property>, SchemaError> {
    let properties = properties
        .as_object()
        .ok_or_else(|| err(format!("{at}: properties must be an object")))?;
    properties
        .iter()
        .map(|(name, body)| {
            Ok(Property {
                name: name.clone(),
                ty: parse_type(body, &format!("{at}.{name}"))?,
                description: str_at(body, "description").to_owned(),
                required: required.iter().any(|r| r == name),
                secret: body.get("secret").and_then(Value::as_bool) == Some(true),
                default: body.get("default").cloned(),
                environment: body
                    .get("defaultInfo")
                    .map(|info| names_at(info, "environment"))
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn parse_type(body: &Value, at: &str) -> Result<Type, SchemaError> {
    if let Some(choices) = body.get("oneOf").and_then(Value::as_array) {
        // Only the string-or-enum form: a plain string beside the enum's members.
        let enum_name = match choices.as_slice() {
            [plain, reference] if str_at(plain, "type") == "string" => str_at(reference, "$ref")
                .strip_prefix("#/types/")
                .map(token_name),
            _ => None,
        };
        return match enum_name {
            Some(name) => Ok(Type::Enum(name?)),
            None => Err(err(format!(
                "{at}: only a oneOf of a string and an enum type of this package is supported"
            ))),
        };
    }
    if let Some(reference) = body.get("$ref").and_then(Value::as_str) {
        return match reference.strip_prefix("#/types/") {
            Some(token) => Ok(Type::Object(token_name(token)?)),
            None if reference == "pulumi.json#/Any" => Ok(Type::Any),
            None => Err(err(format!(
                "{at}: reference {reference:?} is not to a type of this package"
            ))),
        };
    }
    match str_at(body, "type") {
        "string" => Ok(Type::String),
        "integer" => Ok(Type::Integer),
        "number" => Ok(Type::Number),
        "boolean" => Ok(Type::Boolean),
        "array" => {
            let items = body
                .get("items")
                .ok_or_else(|| err(format!("{at}: an array needs `items`")))?;
            Ok(Type::Array(Box::new(parse_type(
                items,
                &format!("{at}.items"),
            )?)))
        }
        "object" => match body.get("additionalProperties") {
            Some(values) => Ok(Type::Map(Box::new(parse_type(
                values,
                &format!("{at}.additionalProperties"),
            )?))),
            None => Ok(Type::Map(Box::new(Type::Any))),
        },
        other => Err(err(format!(
            "{at}: type {other:?} is not one of string, integer, number, boolean, array, object or a $ref"
        ))),
    }
}

/// `storageSizeGb` is `storage_size_gb`; `getClientConfig` is `get_client_config`;
/// `AdAdmin` is `ad_admin`. A run of capitals is one word (`caCertFile`, `URLPath` is `url_path`).
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let previous_lower =
                i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let ends_run = i > 0
                && chars[i - 1].is_ascii_uppercase()
                && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if previous_lower || ends_run {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '-' {
            out.push('_');
        } else {
            out.push(c);
        }
    }
    out
}

/// `getClientConfig` is `GetClientConfig`.
pub fn pascal_case(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// `FlexibleServer` is `flexibleServer` (TypeScript module file names).
pub fn camel_case(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_splits_words_and_capital_runs() {
        assert_eq!(snake_case("storageSizeGb"), "storage_size_gb");
        assert_eq!(snake_case("AdAdmin"), "ad_admin");
        assert_eq!(snake_case("getClientConfig"), "get_client_config");
        assert_eq!(snake_case("endIpAddress"), "end_ip_address");
        assert_eq!(snake_case("URLPath"), "url_path");
        assert_eq!(snake_case("oidcTokenFilePath"), "oidc_token_file_path");
        assert_eq!(snake_case("name"), "name");
    }
}
