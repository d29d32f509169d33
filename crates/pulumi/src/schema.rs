//! The Pulumi package schema, generated from the registry's descriptions.
//! `pgentra schema` writes it to schema.json; a test fails when the committed file is stale.

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
    let mut types: BTreeMap<&str, Value> = BTreeMap::new();
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
                "description": spec.doc,
                "properties": properties(spec.properties.iter()),
                "required": required_outputs,
                "inputProperties": properties(inputs.iter().copied()),
                "requiredInputs": required(inputs.iter().copied()),
            }),
        );
    }
    let mut functions = Map::new();
    for function in registry.functions() {
        let spec = function.spec();
        functions.insert(
            spec.token.to_owned(),
            json!({
                "description": spec.doc,
                "inputs": {"properties": properties(spec.inputs.iter()), "required": required(spec.inputs.iter())},
                "outputs": {"properties": properties(spec.outputs.iter()), "required": spec.outputs.iter().map(|p| p.name).collect::<Vec<_>>()},
            }),
        );
    }
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

fn collect_types(list: &'static [Property], types: &mut BTreeMap<&'static str, Value>) {
    for property in list {
        if let Some(object) = object_type(&property.ty) {
            if !types.contains_key(object.token) {
                collect_types(object.properties, types);
                types.insert(
                    object.token,
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

fn property(p: &Property) -> Value {
    let mut spec = type_ref(&p.ty);
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
