//! The Pulumi package schema, generated from the registry's descriptions.
//! `pgentra schema` writes it to schema.json; a test fails when the committed file is stale.

use crate::example_code::examples_section;
use pgentra_core::config::CONFIG;
use pgentra_core::resource::Registry;
use pgentra_core::spec::{Default, ObjectType, Property, Role, Type};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub const PACKAGE: &str = "pgentra";

/// The project's home: the schema's `repository` and `homepage`.
pub const REPOSITORY: &str = "https://github.com/pgentra/pgentra";

/// Where the Pulumi engine fetches a plugin version that is not installed: by default the
/// project's GitHub releases (the engine looks up release `v<version>` and its asset
/// `pulumi-resource-pgentra-v<version>-<os>-<arch>.tar.gz`, which `scripts/release` builds).
/// A build for another host sets PGENTRA_PLUGIN_DOWNLOAD_URL at compile time, e.g.
/// `https://downloads.example.com/pgentra/v${VERSION}` (`scripts/release --plugin-download-url`).
pub const PLUGIN_DOWNLOAD_URL: &str = match option_env!("PGENTRA_PLUGIN_DOWNLOAD_URL") {
    Some(url) => url,
    None => "github://api.github.com/pgentra/pgentra",
};

pub fn generate(registry: &Registry) -> Value {
    let mut types: BTreeMap<String, Value> = BTreeMap::new();
    let mut resources = Map::new();
    for resource in registry.resources() {
        let spec = resource.spec();
        collect_types(spec.properties, &mut types);
        let autonamed = spec.autoname.map(|a| a.property);
        let inputs: Vec<&Property> = spec.inputs().collect();
        let mut required_outputs: Vec<&str> = spec
            .properties
            .iter()
            .filter(|p| {
                p.is_required() || p.default.is_some() || !p.is_input() || Some(p.name) == autonamed
            })
            .map(|p| p.name)
            .collect();
        required_outputs.sort_unstable();
        resources.insert(
            spec.token.to_owned(),
            json!({
                "description": format!("{}{}", spec.doc, examples_section(registry, spec.token)),
                "properties": properties(spec.properties.iter()),
                "required": required_outputs,
                "inputProperties": properties(inputs.iter().copied()),
                "requiredInputs": required(inputs.iter().copied()),
            }),
        );
    }
    // Components (served through Construct): their children are the resources above.
    for component in pgentra_core::components::all() {
        collect_types(component.inputs, &mut types);
        collect_types(component.outputs, &mut types);
        resources.insert(
            component.token.to_owned(),
            json!({
                "isComponent": true,
                "description": format!("{}{}", component.doc, examples_section(registry, component.token)),
                "properties": properties(component.outputs.iter()),
                "required": component.outputs.iter().map(|p| p.name).collect::<Vec<_>>(),
                "inputProperties": properties(component.inputs.iter()),
                "requiredInputs": required(component.inputs.iter()),
            }),
        );
    }
    let mut functions = Map::new();
    for function in registry.functions() {
        let spec = function.spec();
        collect_types(spec.inputs, &mut types);
        collect_types(spec.outputs, &mut types);
        functions.insert(
            spec.token.to_owned(),
            json!({
                "description": format!("{}{}", spec.doc, examples_section(registry, spec.token)),
                "inputs": {"properties": properties(spec.inputs.iter()), "required": required(spec.inputs.iter())},
                "outputs": {"properties": properties(spec.outputs.iter()), "required": spec.outputs.iter().map(|p| p.name).collect::<Vec<_>>()},
            }),
        );
    }
    collect_types(CONFIG, &mut types);
    let config_variables = properties(CONFIG.iter());
    json!({
        "name": PACKAGE,
        "displayName": "pgentra",
        "version": pgentra_core::VERSION,
        "description": "Passwordless Azure Database for PostgreSQL: a Flexible Server with Microsoft Entra ID authentication on and password authentication off, its Entra admin, managed identities, workload-identity federation, and the database principals and GRANTs for those identities, applied over a session that signs in with an Entra token.",
        "keywords": ["pulumi", "azure", "postgresql", "entra", "passwordless", "category/database", "kind/native"],
        "license": "Apache-2.0",
        "publisher": "pgentra",
        "repository": REPOSITORY,
        "homepage": REPOSITORY,
        "pluginDownloadURL": PLUGIN_DOWNLOAD_URL,
        "meta": {"moduleFormat": "(.*)"},
        "config": {"variables": config_variables},
        "provider": {
            "description": "The pgentra provider. Credentials are tried in order: client secret, workload identity (federated token file), managed identity, Azure CLI login.",
            "inputProperties": properties(CONFIG.iter()),
        },
        "types": types,
        "resources": resources,
        "functions": functions,
        "language": {
            "python": {"packageName": "pulumi_pgentra"},
            "nodejs": {"packageName": "@pgentra/pulumi"},
        },
    })
}

/// The schema as committed: pretty JSON with a trailing newline.
pub fn render(registry: &Registry) -> String {
    let mut text = serde_json::to_string_pretty(&generate(registry)).expect("schema is plain JSON");
    text.push('\n');
    text
}

/// The token of a type of this package: `pgentra:index:<name>`.
fn type_token(name: &str) -> String {
    format!("{PACKAGE}:index:{name}")
}

/// Object types, and an enum type for every closed set of strings (as Pulumi's codegen turns
/// them into Python `str, Enum` classes and TypeScript const objects). Two closed sets under one
/// name must be the same set.
fn collect_types(list: &'static [Property], types: &mut BTreeMap<String, Value>) {
    for property in list {
        if let Some(name) = property.enum_type_name() {
            let enum_type = json!({
                "type": "string",
                "description": property.doc,
                "enum": property.allowed.iter().map(|value| json!({"name": enum_member_name(value), "value": value})).collect::<Vec<_>>(),
            });
            match types.get(&type_token(&name)) {
                None => {
                    types.insert(type_token(&name), enum_type);
                }
                Some(existing) => assert_eq!(
                    existing["enum"], enum_type["enum"],
                    "two closed sets are both named {name}: give one `.enum_name(...)` in its description ({})",
                    property.name
                ),
            }
        }
        if let Some(object) = object_type(&property.ty) {
            if !types.contains_key(object.token) {
                collect_types(object.properties, types);
                types.insert(
                    object.token.to_owned(),
                    json!({
                        "type": "object",
                        "description": object.doc,
                        "properties": properties(object.properties.iter()),
                        "required": required(object.properties.iter()),
                    }),
                );
            }
        }
    }
}

fn object_type(ty: &Type) -> Option<&'static ObjectType> {
    match ty {
        Type::Object(object) => Some(object),
        Type::Array(item) | Type::Map(item) => object_type(item),
        _ => None,
    }
}

fn properties<'a>(list: impl Iterator<Item = &'a Property>) -> Value {
    Value::Object(list.map(|p| (p.name.to_owned(), property(p))).collect())
}

fn required<'a>(list: impl Iterator<Item = &'a Property>) -> Vec<&'static str> {
    list.filter(|p| p.is_required()).map(|p| p.name).collect()
}

/// An enum member's name from its value: `verify-full` is `VerifyFull`, `16` is `V16` (a name
/// cannot start with a digit).
fn enum_member_name(value: &str) -> String {
    let name: String = value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{name}")
    } else {
        name
    }
}

fn property(p: &Property) -> Value {
    let mut spec = match p.enum_type_name() {
        // A plain string keeps working beside the enum's members, as in azure-native.
        Some(name) if matches!(p.ty, Type::String) => json!({
            "oneOf": [{"type": "string"}, {"$ref": format!("#/types/{}", type_token(&name))}]
        }),
        _ => type_ref(&p.ty),
    };
    let mut doc = p.doc.to_owned();
    if !p.allowed.is_empty() && !p.allowed.iter().all(|a| doc.contains(&format!("`{a}`"))) {
        let listed: Vec<String> = p.allowed.iter().map(|a| format!("`{a}`")).collect();
        doc.push_str(&format!(" One of {}.", listed.join(", ")));
    }
    match p.default {
        Some(Default::StrList(items)) => doc.push_str(&format!(
            " Defaults to `{}`.",
            serde_json::to_string(items).unwrap_or_default()
        )),
        Some(default) => {
            spec["default"] = default.to_json();
        }
        None => {}
    }
    spec["description"] = Value::String(doc);
    if p.secret {
        spec["secret"] = Value::Bool(true);
    }
    if p.replace && matches!(p.role, Role::Input { .. }) {
        spec["willReplaceOnChanges"] = Value::Bool(true);
    }
    if !p.env.is_empty() {
        spec["defaultInfo"] = json!({"environment": p.env});
    }
    spec
}

fn type_ref(ty: &Type) -> Value {
    match ty {
        Type::String => json!({"type": "string"}),
        Type::Integer => json!({"type": "integer"}),
        Type::Number => json!({"type": "number"}),
        Type::Boolean => json!({"type": "boolean"}),
        Type::Array(item) => json!({"type": "array", "items": type_ref(item)}),
        Type::Map(item) => json!({"type": "object", "additionalProperties": type_ref(item)}),
        Type::Object(object) => json!({"$ref": format!("#/types/{}", object.token)}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_closed_set_is_an_enum_type_with_named_members() {
        let schema = generate(&Registry::builtin());
        let enums: BTreeMap<&str, Vec<(&str, &str)>> = schema["types"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, body)| body["type"] == "string")
            .map(|(token, body)| {
                let members = body["enum"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| (m["name"].as_str().unwrap(), m["value"].as_str().unwrap()))
                    .collect();
                (token.as_str(), members)
            })
            .collect();
        assert_eq!(
            enums["pgentra:index:SslMode"],
            [("VerifyFull", "verify-full")]
        );
        assert_eq!(enums["pgentra:index:ServerVersion"][5], ("V16", "16"));
        for name in [
            "ActiveDirectoryAuth",
            "PasswordAuth",
            "PublicNetworkAccess",
            "SkuTier",
            "ObjectType",
            "PrincipalType",
            "AdAdminPrincipalType",
            "Environment",
        ] {
            assert!(
                enums.contains_key(format!("pgentra:index:{name}").as_str()),
                "{name}: {enums:?}"
            );
        }
        let reference = &schema["types"]["pgentra:index:Connection"]["properties"]["sslMode"];
        assert_eq!(reference["oneOf"][0], json!({"type": "string"}));
        assert_eq!(
            reference["oneOf"][1],
            json!({"$ref": "#/types/pgentra:index:SslMode"})
        );
        assert_eq!(reference["default"], "verify-full");
    }

    #[test]
    fn enum_member_names_are_identifiers() {
        assert_eq!(enum_member_name("verify-full"), "VerifyFull");
        assert_eq!(enum_member_name("GeneralPurpose"), "GeneralPurpose");
        assert_eq!(enum_member_name("usgovernment"), "Usgovernment");
        assert_eq!(enum_member_name("11"), "V11");
    }
}
