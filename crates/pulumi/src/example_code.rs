//! The core's examples (`pgentra_core::examples`) as Pulumi programs in TypeScript, Python and
//! YAML, and the `{{% examples %}}` section of a schema description that holds them: Pulumi's
//! registry shows one tab per language, and the SDK generators keep their own language's block.

use crate::schema::PACKAGE;
use pgentra_core::examples::{reference, Example, Step};
use pgentra_core::names::snake_case;
use pgentra_core::resource::Registry;
use pgentra_core::spec::{Property, Type};
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// The npm package the TypeScript examples import (the schema's `language.nodejs.packageName`).
pub const NODEJS_PACKAGE: &str = "@pgentra/pulumi";
/// The Python package the Python examples import.
pub const PYTHON_PACKAGE: &str = "pulumi_pgentra";

/// The languages of an example, as their code fences name them.
pub const LANGUAGES: [&str; 3] = ["typescript", "python", "yaml"];

/// The `{{% examples %}}` section for `token`'s examples, or nothing when it has none.
pub fn examples_section(registry: &Registry, token: &str) -> String {
    let mut out = String::new();
    for example in pgentra_core::examples::for_token(token) {
        let _ = write!(out, "{{{{% example %}}}}\n### {}\n\n", example.title);
        for language in LANGUAGES {
            let _ = write!(
                out,
                "```{language}\n{}```\n",
                render(registry, example, language)
            );
        }
        out.push_str("{{% /example %}}\n");
    }
    if out.is_empty() {
        return out;
    }
    format!("\n\n{{{{% examples %}}}}\n## Example Usage\n\n{out}{{{{% /examples %}}}}")
}

/// One example as a program in `language` (a name of [`LANGUAGES`]).
pub fn render(registry: &Registry, example: &Example, language: &str) -> String {
    let program = Program { registry, example };
    match language {
        "typescript" => program.typescript(),
        "python" => program.python(),
        "yaml" => program.yaml(),
        other => panic!("no example renderer for {other}"),
    }
}

struct Program<'a> {
    registry: &'a Registry,
    example: &'a Example,
}

/// The type's last part: `pgentra:index:FlexibleServer` is `FlexibleServer`.
fn short_name(token: &str) -> &str {
    token.rsplit(':').next().unwrap_or(token)
}

impl Program<'_> {
    fn properties_of(&self, token: &str) -> &'static [Property] {
        match self.registry.resource(token) {
            Some(resource) => resource.spec().properties,
            None => self
                .registry
                .functions()
                .find(|f| f.spec().token == token)
                .map(|f| f.spec().inputs)
                .or_else(|| {
                    pgentra_core::components::all()
                        .into_iter()
                        .find(|c| c.token == token)
                        .map(|c| c.inputs)
                })
                .unwrap_or(&[]),
        }
    }

    fn typescript(&self) -> String {
        let mut out = format!(
            "import * as pulumi from \"@pulumi/pulumi\";\nimport * as {PACKAGE} from \"{NODEJS_PACKAGE}\";\n\n"
        );
        for step in self.example.steps {
            match step {
                Step::Resource { name, token, .. } => {
                    let body = ts_object(&step.values(), self.properties_of(token), 0);
                    let _ = writeln!(
                        out,
                        "const {name} = new {PACKAGE}.{}(\"{name}\", {body});",
                        short_name(token)
                    );
                }
                Step::Invoke { name, token, .. } => {
                    let values = step.values();
                    let arguments = if values.is_empty() {
                        String::new()
                    } else {
                        ts_object(&values, self.properties_of(token), 0)
                    };
                    let _ = writeln!(
                        out,
                        "const {name} = {PACKAGE}.{}Output({arguments});",
                        short_name(token)
                    );
                }
                Step::Export { name, value } => {
                    let _ = writeln!(out, "export const {name} = {};", ts_reference(value));
                }
            }
        }
        out
    }

    fn python(&self) -> String {
        let mut out = format!("import pulumi\nimport {PYTHON_PACKAGE} as {PACKAGE}\n\n");
        for step in self.example.steps {
            match step {
                Step::Resource { name, token, .. } => {
                    let _ = write!(
                        out,
                        "{} = {PACKAGE}.{}(\"{name}\"",
                        snake_case(name),
                        short_name(token)
                    );
                    for (key, value) in &step.values() {
                        let property = self.properties_of(token).iter().find(|p| p.name == key);
                        let _ = write!(
                            out,
                            ",\n    {}={}",
                            snake_case(key),
                            py_value(value, property.map(|p| &p.ty), 1)
                        );
                    }
                    out.push_str(")\n");
                }
                Step::Invoke { name, token, .. } => {
                    let arguments: Vec<String> = step
                        .values()
                        .iter()
                        .map(|(key, value)| {
                            format!("{}={}", snake_case(key), py_value(value, None, 0))
                        })
                        .collect();
                    let _ = writeln!(
                        out,
                        "{} = {PACKAGE}.{}_output({})",
                        snake_case(name),
                        snake_case(short_name(token)),
                        arguments.join(", ")
                    );
                }
                Step::Export { name, value } => {
                    let _ = writeln!(out, "pulumi.export(\"{name}\", {})", py_reference(value));
                }
            }
        }
        out
    }

    fn yaml(&self) -> String {
        let mut resources = String::new();
        let mut variables = String::new();
        let mut outputs = String::new();
        for step in self.example.steps {
            match step {
                Step::Resource { name, token, .. } => {
                    let _ = write!(resources, "  {name}:\n    type: {token}\n    properties:\n");
                    yaml_members(&step.values(), 3, &mut resources);
                }
                Step::Invoke { name, token, .. } => {
                    let _ = write!(
                        variables,
                        "  {name}:\n    fn::invoke:\n      function: {token}\n      arguments:"
                    );
                    let values = step.values();
                    if values.is_empty() {
                        variables.push_str(" {}\n");
                    } else {
                        variables.push('\n');
                        yaml_members(&values, 4, &mut variables);
                    }
                }
                Step::Export { name, value } => {
                    let _ = writeln!(outputs, "  {name}: {}", Value::String((*value).to_owned()));
                }
            }
        }
        let mut out = String::new();
        for (section, body) in [
            ("variables", variables),
            ("resources", resources),
            ("outputs", outputs),
        ] {
            if !body.is_empty() {
                let _ = write!(out, "{section}:\n{body}");
            }
        }
        out
    }
}

fn indent(level: usize) -> String {
    "    ".repeat(level)
}

fn is_identifier(key: &str) -> bool {
    key.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn ts_reference(value: &str) -> String {
    match reference(value) {
        Some((step, property)) => format!("{step}.{property}"),
        None => Value::String(value.to_owned()).to_string(),
    }
}

fn py_reference(value: &str) -> String {
    match reference(value) {
        Some((step, property)) => format!("{}.{}", snake_case(step), snake_case(property)),
        None => Value::String(value.to_owned()).to_string(),
    }
}

fn ts_object(values: &Map<String, Value>, properties: &[Property], level: usize) -> String {
    let mut out = "{\n".to_owned();
    for (key, value) in values {
        let nested: &[Property] = match properties.iter().find(|p| p.name == key).map(|p| p.ty) {
            Some(Type::Object(object)) => object.properties,
            _ => &[],
        };
        let key_text = if is_identifier(key) {
            key.clone()
        } else {
            Value::String(key.clone()).to_string()
        };
        let _ = writeln!(
            out,
            "{}{key_text}: {},",
            indent(level + 1),
            ts_value(value, nested, level + 1)
        );
    }
    out.push_str(&indent(level));
    out.push('}');
    out
}

fn ts_value(value: &Value, properties: &[Property], level: usize) -> String {
    match value {
        Value::String(s) => ts_reference(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| ts_value(v, &[], level)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => ts_object(map, properties, level),
        other => other.to_string(),
    }
}

/// A Python value: an object type as a dict of its Python names (its `ArgsDict`), a map as a
/// dict of its own keys.
fn py_value(value: &Value, ty: Option<&Type>, level: usize) -> String {
    match value {
        Value::String(s) => py_reference(s),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Array(items) => {
            let item_ty = match ty {
                Some(Type::Array(item)) => Some(*item),
                _ => None,
            };
            let items: Vec<String> = items.iter().map(|v| py_value(v, item_ty, level)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let object = match ty {
                Some(Type::Object(object)) => Some(object),
                _ => None,
            };
            let mut out = "{\n".to_owned();
            for (key, value) in map {
                let (key_text, member_ty) = match object {
                    Some(object) => (
                        snake_case(key),
                        object
                            .properties
                            .iter()
                            .find(|p| p.name == key)
                            .map(|p| &p.ty),
                    ),
                    None => (key.clone(), None),
                };
                let _ = writeln!(
                    out,
                    "{}{}: {},",
                    indent(level + 1),
                    Value::String(key_text),
                    py_value(value, member_ty, level + 1)
                );
            }
            out.push_str(&indent(level));
            out.push('}');
            out
        }
        other => other.to_string(),
    }
}

/// `key: value` lines at `level` (two spaces a level), nested maps as blocks.
fn yaml_members(values: &Map<String, Value>, level: usize, out: &mut String) {
    let pad = "  ".repeat(level);
    for (key, value) in values {
        match value {
            Value::Object(map) => {
                let _ = writeln!(out, "{pad}{key}:");
                yaml_members(map, level + 1, out);
            }
            // JSON's literals and flow lists are YAML's too.
            other => {
                let _ = writeln!(out, "{pad}{key}: {other}");
            }
        }
    }
}

/// `text` for one language's SDK: the examples section keeps only that language's code blocks,
/// without the registry's shortcodes (as Pulumi's codegen does for its docstrings).
pub fn description_for(text: &str, language: &str) -> String {
    let Some(start) = text.find("{{% examples %}}") else {
        return text.to_owned();
    };
    let mut out = text[..start].to_owned();
    let mut keep = true;
    let mut in_code = false;
    for line in text[start..].lines() {
        if !in_code && line.starts_with("{{%") {
            continue;
        }
        if let Some(fence) = line.strip_prefix("```") {
            if !in_code {
                in_code = true;
                keep = fence == language;
            } else {
                in_code = false;
                if keep {
                    out.push_str(line);
                    out.push('\n');
                }
                keep = true;
                continue;
            }
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_keeps_its_languages_block_without_shortcodes() {
        let registry = Registry::builtin();
        let text = format!(
            "A grant.{}",
            examples_section(&registry, "pgentra:index:Grant")
        );
        let python = description_for(&text, "python");
        assert!(
            python.starts_with("A grant.\n\n## Example Usage\n\n### "),
            "{python}"
        );
        assert!(python.contains("```python\nimport pulumi\n"), "{python}");
        assert!(
            !python.contains("typescript") && !python.contains("{{%"),
            "{python}"
        );
        let typescript = description_for(&text, "typescript");
        assert!(
            typescript.contains("new pgentra.Grant(\"tables\", {"),
            "{typescript}"
        );
        assert!(!typescript.contains("```python"), "{typescript}");
    }

    #[test]
    fn objects_are_dicts_of_python_names_and_references_are_outputs() {
        let registry = Registry::builtin();
        let example = pgentra_core::examples::for_token("pgentra:index:Grant")
            .next()
            .unwrap();
        let python = render(&registry, example, "python");
        assert!(
            python.contains(
                "    connection={\n        \"host\": server.fully_qualified_domain_name,\n"
            ),
            "{python}"
        );
        assert!(python.contains("\"ssl_mode\": \"verify-full\""), "{python}");
        assert!(
            python.contains("    tags={\n        \"team\": \"data\",\n    }"),
            "{python}"
        );
        let yaml = render(&registry, example, "yaml");
        assert!(
            yaml.contains(
                "      connection:\n        host: \"${server.fullyQualifiedDomainName}\"\n"
            ),
            "{yaml}"
        );
    }
}
