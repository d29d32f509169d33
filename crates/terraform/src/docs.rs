//! The Terraform registry's documentation, from the same blocks GetProviderSchema serves (so it
//! cannot disagree with the provider) and the core's examples rendered in HCL: `index.md` for the
//! provider, `resources/<type>.md` and `data-sources/<name>.md`, in the layout and front matter
//! the registry (and tfplugindocs) expects under `docs/`.

use crate::cty::CtyType;
use crate::schema::{self, Attribute, Block};
use pgentra_core::examples::{reference, Example, Step};
use pgentra_core::names::snake_case;
use pgentra_core::resource::Registry;
use pgentra_core::spec::{Property, Type};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The provider's registry address, as the examples' `required_providers` give it.
pub const SOURCE: &str = "pgentra/pgentra";

/// Every page by its path relative to `docs/`.
pub fn generate(registry: &Registry) -> BTreeMap<PathBuf, String> {
    let mut pages = BTreeMap::new();
    pages.insert(PathBuf::from("index.md"), index_page());
    for resource in registry.resources() {
        let spec = resource.spec();
        let name = spec.tf_type_name();
        let block = schema::resource_block(spec);
        let page = page(
            &name,
            "Resource",
            &block,
            spec.doc,
            &examples(registry, spec.token),
            true,
        );
        pages.insert(
            PathBuf::from(format!("resources/{}.md", short(&name))),
            page,
        );
    }
    // Only the functions the provider serves as data sources.
    if let Some(function) = registry.function(crate::service::CLIENT_CONFIG_FUNCTION) {
        let spec = function.spec();
        let name = schema::data_source_name(spec);
        let block = schema::function_block(spec);
        let page = page(
            &name,
            "Data Source",
            &block,
            spec.doc,
            &examples(registry, spec.token),
            false,
        );
        pages.insert(
            PathBuf::from(format!("data-sources/{}.md", short(&name))),
            page,
        );
    }
    pages
}

/// `pgentra_grant` is `grant`: the registry names pages without the provider's prefix.
fn short(name: &str) -> &str {
    name.strip_prefix("pgentra_").unwrap_or(name)
}

fn front_matter(title: &str, description: &str) -> String {
    let first = description.split("\n\n").next().unwrap_or("").trim();
    format!("---\npage_title: \"{title}\"\nsubcategory: \"\"\ndescription: |-\n  {first}\n---\n\n")
}

fn index_page() -> String {
    let block = schema::provider_block();
    let mut out = front_matter("Provider: pgentra", &block.description);
    let _ = write!(out, "# pgentra Provider\n\n{}\n\n", block.description);
    out.push_str(
        "Resources that reach PostgreSQL (`pgentra_principal`, `pgentra_grant`) sign in with a \
         fresh Microsoft Entra token for the deployer; there is no password to configure.\n\n",
    );
    let _ = write!(
        out,
        "## Example Usage\n\n```terraform\nterraform {{\n  required_providers {{\n    pgentra = {{\n      source = \"{SOURCE}\"\n    }}\n  }}\n}}\n\n# Every setting may come from its environment variable instead (ARM_SUBSCRIPTION_ID, ...).\nprovider \"pgentra\" {{\n  subscription_id = \"00000000-0000-0000-0000-000000000000\"\n}}\n```\n\n"
    );
    out.push_str("## Schema\n\n");
    schema_sections(&block, "", &mut out);
    out
}

fn page(
    name: &str,
    kind: &str,
    block: &Block,
    doc: &str,
    examples: &str,
    importable: bool,
) -> String {
    let mut out = front_matter(&format!("{name} {kind} - pgentra"), doc);
    let _ = write!(out, "# {name} ({kind})\n\n{doc}\n\n");
    if !examples.is_empty() {
        let _ = write!(out, "## Example Usage\n\n{examples}");
    }
    out.push_str("## Schema\n\n");
    schema_sections(block, "", &mut out);
    if importable {
        let _ = write!(
            out,
            "## Import\n\nImport takes the resource's ID, the same ID Pulumi uses (see `id` above):\n\n```shell\nterraform import {name}.example '<id>'\n```\n"
        );
    }
    out
}

/// `### Required`, `### Optional`, `### Read-Only`, then a section per nested block.
fn schema_sections(block: &Block, anchor_prefix: &str, out: &mut String) {
    let nested_heading = !anchor_prefix.is_empty();
    let mut groups: [(&str, Vec<String>); 3] = [
        ("Required", vec![]),
        ("Optional", vec![]),
        ("Read-Only", vec![]),
    ];
    for attribute in &block.attributes {
        let group = if attribute.required {
            0
        } else if attribute.optional {
            1
        } else {
            2
        };
        groups[group].1.push(attribute_line(attribute));
    }
    for nested in &block.blocks {
        let anchor = format!("nestedblock--{}{}", anchor_prefix, nested.name);
        let group = if nested.required { 0 } else { 1 };
        groups[group].1.push(format!(
            "- `{}` (Block, {}) {} (see [below for nested schema](#{anchor}))",
            nested.name,
            if nested.required {
                "Required"
            } else {
                "Optional"
            },
            nested.property.doc
        ));
    }
    for (title, lines) in &mut groups {
        if lines.is_empty() {
            continue;
        }
        lines.sort();
        if nested_heading {
            let _ = write!(out, "{title}:\n\n{}\n\n", lines.join("\n"));
        } else {
            let _ = write!(out, "### {title}\n\n{}\n\n", lines.join("\n"));
        }
    }
    for nested in &block.blocks {
        let _ = write!(
            out,
            "<a id=\"nestedblock--{anchor_prefix}{name}\"></a>\n### Nested Schema for `{name}`\n\n",
            name = nested.name
        );
        schema_sections(
            &nested.block,
            &format!("{anchor_prefix}{}--", nested.name),
            out,
        );
    }
}

fn attribute_line(attribute: &Attribute) -> String {
    let mut kind = type_name(&attribute.ty);
    if attribute.sensitive {
        kind.push_str(", Sensitive");
    }
    let mut description = attribute.description.clone();
    if let Some(property) = attribute.property {
        description.push_str(&allowed_values(property));
    }
    format!("- `{}` ({kind}) {description}", attribute.name)
}

/// " One of `a`, `b`." when the description does not list a closed set's values itself.
fn allowed_values(property: &Property) -> String {
    let listed = property
        .allowed
        .iter()
        .all(|a| property.doc.contains(&format!("`{a}`")));
    if property.allowed.is_empty() || listed {
        return String::new();
    }
    let values: Vec<String> = property.allowed.iter().map(|a| format!("`{a}`")).collect();
    format!(" One of {}.", values.join(", "))
}

fn type_name(ty: &CtyType) -> String {
    match ty {
        CtyType::String => "String".into(),
        CtyType::Number => "Number".into(),
        CtyType::Bool => "Boolean".into(),
        CtyType::List(item) => format!("List of {}", type_name(item)),
        CtyType::Set(item) => format!("Set of {}", type_name(item)),
        CtyType::Map(item) => format!("Map of {}", type_name(item)),
        CtyType::Object(_) => "Object".into(),
    }
}

// ---- the examples in HCL ----------------------------------------------------------------------

/// `### <title>` and an HCL block per example of `token`.
fn examples(registry: &Registry, token: &str) -> String {
    let mut out = String::new();
    for example in pgentra_core::examples::for_token(token) {
        let _ = write!(
            out,
            "### {}\n\n```terraform\n{}```\n\n",
            example.title,
            hcl(registry, example)
        );
    }
    out
}

/// What a step's name refers to in HCL, and the properties its outputs are among.
struct Declared {
    address: String,
    properties: &'static [Property],
}

/// One example as HCL: resources, data sources and outputs, names in Terraform's snake_case.
pub fn hcl(registry: &Registry, example: &Example) -> String {
    let mut declared: BTreeMap<&str, Declared> = BTreeMap::new();
    let mut blocks: Vec<String> = Vec::new();
    for step in example.steps {
        match step {
            Step::Resource { name, token, .. } => {
                let spec = registry
                    .resource(token)
                    .expect("examples name known resources")
                    .spec();
                let kind = spec.tf_type_name();
                let body = hcl_body(&step.values(), spec.properties, &declared, 1);
                blocks.push(format!(
                    "resource \"{kind}\" \"{}\" {{\n{body}}}\n",
                    snake_case(name)
                ));
                declared.insert(
                    name,
                    Declared {
                        address: format!("{kind}.{}", snake_case(name)),
                        properties: spec.properties,
                    },
                );
            }
            Step::Invoke { name, token, .. } => {
                let spec = registry
                    .functions()
                    .find(|f| f.spec().token == *token)
                    .expect("examples name known functions")
                    .spec();
                let kind = schema::data_source_name(spec);
                let body = hcl_body(&step.values(), spec.inputs, &declared, 1);
                let body = if body.is_empty() {
                    String::new()
                } else {
                    format!("\n{body}")
                };
                blocks.push(format!(
                    "data \"{kind}\" \"{}\" {{{body}}}\n",
                    snake_case(name)
                ));
                declared.insert(
                    name,
                    Declared {
                        address: format!("data.{kind}.{}", snake_case(name)),
                        properties: spec.outputs,
                    },
                );
            }
            Step::Export { name, value } => {
                blocks.push(format!(
                    "output \"{}\" {{\n  value = {}\n}}\n",
                    snake_case(name),
                    hcl_string(value, &declared)
                ));
            }
        }
    }
    blocks.join("\n")
}

fn hcl_string(value: &str, declared: &BTreeMap<&str, Declared>) -> String {
    match reference(value).and_then(|(step, property)| Some((declared.get(step)?, property))) {
        Some((target, property)) => {
            let attribute = target
                .properties
                .iter()
                .find(|p| p.name == property)
                .map(|p| p.tf_name())
                .unwrap_or_else(|| snake_case(property));
            format!("{}.{attribute}", target.address)
        }
        None => Value::String(value.to_owned()).to_string(),
    }
}

/// A block's body at `level` (two spaces a level): attributes aligned as `terraform fmt` aligns
/// them, an object-typed property as a nested block under its Terraform name.
fn hcl_body(
    values: &Map<String, Value>,
    properties: &[Property],
    declared: &BTreeMap<&str, Declared>,
    level: usize,
) -> String {
    let pad = "  ".repeat(level);
    let mut attributes: Vec<(String, String)> = Vec::new();
    let mut nested = String::new();
    for (key, value) in values {
        let property = properties.iter().find(|p| p.name == key);
        let name = property
            .map(|p| p.tf_name())
            .unwrap_or_else(|| snake_case(key));
        match (property.map(|p| p.ty), value) {
            (Some(Type::Object(object)), Value::Object(members)) => {
                let body = hcl_body(members, object.properties, declared, level + 1);
                let _ = write!(nested, "\n{pad}{name} {{\n{body}{pad}}}\n");
            }
            _ => attributes.push((name, hcl_value(value, declared, level))),
        }
    }
    let width = attributes
        .iter()
        .filter(|(_, v)| !v.contains('\n'))
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (name, value) in attributes {
        let _ = writeln!(out, "{pad}{name:width$} = {value}");
    }
    out.push_str(&nested);
    out
}

fn hcl_value(value: &Value, declared: &BTreeMap<&str, Declared>, level: usize) -> String {
    match value {
        Value::String(s) => hcl_string(s, declared),
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|v| hcl_value(v, declared, level))
                .collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let pad = "  ".repeat(level + 1);
            let width = map.keys().map(String::len).max().unwrap_or(0);
            let mut out = "{\n".to_owned();
            for (key, value) in map {
                let _ = writeln!(
                    out,
                    "{pad}{key:width$} = {}",
                    hcl_value(value, declared, level + 1)
                );
            }
            out.push_str(&"  ".repeat(level));
            out.push('}');
            out
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grant_example_is_hcl_with_terraform_names_and_references() {
        let registry = Registry::builtin();
        let example = pgentra_core::examples::for_token("pgentra:index:Grant")
            .next()
            .unwrap();
        let text = hcl(&registry, example);
        assert!(
            text.contains("resource \"pgentra_grant\" \"tables\" {\n"),
            "{text}"
        );
        assert!(text.contains("  sql_connection {\n    host     = pgentra_flexible_server.server.fully_qualified_domain_name\n"), "{text}");
        assert!(text.contains("  object_type = \"table\"\n"), "{text}");
        assert!(
            text.contains("  tags                  = {\n    team = \"data\"\n  }\n"),
            "{text}"
        );
    }

    #[test]
    fn every_resource_and_data_source_has_a_page_with_its_schema() {
        let registry = Registry::builtin();
        let pages = generate(&registry);
        let grant = &pages[&PathBuf::from("resources/grant.md")];
        assert!(
            grant.starts_with("---\npage_title: \"pgentra_grant Resource - pgentra\"\n"),
            "{grant}"
        );
        assert!(
            grant.contains("### Required\n\n- `database` (String)"),
            "{grant}"
        );
        assert!(
            grant.contains("- `sql_connection` (Block, Required)"),
            "{grant}"
        );
        assert!(
            grant.contains(
                "### Nested Schema for `sql_connection`\n\nRequired:\n\n- `host` (String)"
            ),
            "{grant}"
        );
        assert!(
            grant.contains("terraform import pgentra_grant.example"),
            "{grant}"
        );
        let server = &pages[&PathBuf::from("resources/flexible_server.md")];
        assert!(
            server.contains("- `administrator_login_password` (String, Sensitive)"),
            "{server}"
        );
        let client = &pages[&PathBuf::from("data-sources/client_config.md")];
        assert!(
            client.contains("data \"pgentra_client_config\" \"current\" {}"),
            "{client}"
        );
        assert!(!client.contains("## Import"), "{client}");
        assert_eq!(pages.len(), 1 + registry.resources().count() + 1);
    }
}
