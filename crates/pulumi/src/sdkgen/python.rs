//! The Python SDK (`pulumi_pgentra`): one module per resource and function, `_inputs.py` and
//! `outputs.py` for object types, `provider.py`, a `config` module, in the shape of Pulumi's
//! Python codegen (`@pulumi.input_type` argument classes with snake_case names mapped to the
//! camelCase wire names by `@pulumi.getter(name=...)`, `pulumi.Output[...]` properties).
//! Unlike Pulumi's, the output is fully annotated, so `mypy --strict` passes over it.

use super::model::{
    snake_case, Function, ObjectType, Package, Property, Resource, SchemaError, Type,
};
use super::{Files, GENERATED_MARKER};
use crate::example_code::description_for;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The `pulumi` Python package the SDK is written against. The lower bound is the lowest release
/// the SDK imports and runs with (3.165.0 has `pulumi.type_token`, 3.163.0 does not; 3.164.0 was
/// never released): tests/sdk/test_sdk_python_lower_bound.py installs it and runs a program.
const PULUMI_REQUIREMENT: &str = "pulumi>=3.165.0,<4.0.0";
/// For resource registration's versions (pulumi itself depends on it).
const SEMVER_REQUIREMENT: &str = "semver>=3.0.0";
/// `NotRequired` for the `ArgsDict` TypedDicts before Python 3.11 (PEP 508 marker, TOML-quoted).
const TYPING_EXTENSIONS_REQUIREMENT: &str = "typing-extensions>=4.0.0; python_version < '3.11'";

pub fn generate(package: &Package) -> Result<Files, SchemaError> {
    let module = package.python_package.clone();
    let mut files = Files::new();
    let mut put = |path: String, text: String| {
        files.insert(PathBuf::from(path), text);
    };
    put("pyproject.toml".into(), pyproject(package));
    put("README.md".into(), readme(package));
    put(
        ".gitignore".into(),
        format!("# {GENERATED_MARKER}\n__pycache__/\n*.egg-info/\nbuild/\ndist/\n.mypy_cache/\n"),
    );
    put(format!("{module}/py.typed"), String::new());
    put(format!("{module}/pulumi-plugin.json"), plugin_json(package));
    put(format!("{module}/_utilities.py"), utilities(package));
    put(format!("{module}/__init__.py"), init(package));
    put(format!("{module}/provider.py"), provider(package)?);
    put(format!("{module}/_enums.py"), enums(package));
    put(format!("{module}/_inputs.py"), inputs(package));
    put(format!("{module}/outputs.py"), outputs(package));
    put(format!("{module}/config/__init__.py"), config_init());
    put(
        format!("{module}/config/__init__.pyi"),
        config_stub(package),
    );
    put(format!("{module}/config/vars.py"), config_vars(package));
    for resource in &package.resources {
        put(
            format!("{module}/{}.py", snake_case(&resource.name)),
            resource_module(resource)?,
        );
    }
    for function in &package.functions {
        put(
            format!("{module}/{}.py", snake_case(&function.name)),
            function_module(function),
        );
    }
    Ok(files)
}

// ---- names, types, literals ----------------------------------------------------------------

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// The Python name of a wire name: snake_case, with `_` appended to a keyword as Pulumi does.
fn py_name(wire: &str) -> String {
    let name = snake_case(wire);
    if KEYWORDS.contains(&name.as_str()) {
        name + "_"
    } else {
        name
    }
}

/// Python names a resource property may not take: they are the constructor's own parameters or
/// attributes every Pulumi resource has.
const RESERVED_RESOURCE_NAMES: &[&str] = &["resource_name", "opts", "id", "urn", "args"];

fn check_resource_names(owner: &str, properties: &[Property]) -> Result<(), SchemaError> {
    for property in properties {
        let name = py_name(&property.name);
        if RESERVED_RESOURCE_NAMES.contains(&name.as_str()) {
            return Err(SchemaError::conflict(format!(
                "{owner}.{}: its Python name `{name}` is reserved ({})",
                property.name,
                RESERVED_RESOURCE_NAMES.join(", ")
            )));
        }
    }
    Ok(())
}

/// The plain (resolved) Python type: for outputs, results and output object types.
fn plain_type(ty: &Type, object: &dyn Fn(&str) -> String) -> String {
    match ty {
        Type::String => "_builtins.str".into(),
        Type::Integer => "_builtins.int".into(),
        Type::Number => "_builtins.float".into(),
        Type::Boolean => "_builtins.bool".into(),
        Type::Any => "Any".into(),
        Type::Array(item) => format!("Sequence[{}]", plain_type(item, object)),
        Type::Map(value) => format!("Mapping[_builtins.str, {}]", plain_type(value, object)),
        Type::Object(name) => object(name),
        // What comes back is the string; the enum's members are strings too.
        Type::Enum(_) => "_builtins.str".into(),
    }
}

/// The input type a parameter takes, `pulumi.Input[...]` all the way down, as Pulumi's codegen
/// writes it: an object as its args class or as a plain dict (its `ArgsDict`), a closed set as a
/// plain string or a member of its enum.
fn input_type(ty: &Type) -> String {
    input_type_with(ty, &|name| format!("Union['{name}Args', '{name}ArgsDict']"))
}

/// The input type an args class keeps a value under: pulumi reads the getter's annotation to
/// translate a dict's names to the wire's, so it names the args class alone.
fn stored_input_type(ty: &Type) -> String {
    input_type_with(ty, &|name| format!("'{name}Args'"))
}

fn input_type_with(ty: &Type, object: &dyn Fn(&str) -> String) -> String {
    let inner = match ty {
        Type::Array(item) => format!("Sequence[{}]", input_type_with(item, object)),
        Type::Map(value) => format!("Mapping[_builtins.str, {}]", input_type_with(value, object)),
        Type::Object(name) => object(name),
        Type::Enum(name) => format!("Union[_builtins.str, '{name}']"),
        other => plain_type(other, &|_| unreachable!("objects are handled above")),
    };
    format!("pulumi.Input[{inner}]")
}

fn optional(ty: String, required: bool) -> String {
    if required {
        ty
    } else {
        format!("Optional[{ty}]")
    }
}

fn output_object(name: &str) -> String {
    format!("'outputs.{name}'")
}

/// A Python literal for a schema default (strings, numbers, booleans).
fn literal(value: &Value) -> String {
    match value {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        // A JSON string is a valid Python string literal.
        other => other.to_string(),
    }
}

/// A docstring at `indent`, or nothing for an empty text.
fn docstring(text: &str, indent: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let escaped = text.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"");
    let body: Vec<String> = escaped
        .lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{indent}{l}")
            }
        })
        .collect();
    format!("{indent}\"\"\"\n{}\n{indent}\"\"\"\n", body.join("\n"))
}

fn header() -> String {
    format!("# coding=utf-8\n# {GENERATED_MARKER}\n\n")
}

const IMPORTS: &str = "\
import builtins as _builtins
from typing import Any, Generator, Mapping, Optional, Sequence, Union, overload

import pulumi
import pulumi.runtime

from . import _utilities
from ._enums import *
from ._utilities import _as_inputs
";

/// The `@property` getter decorators: `@pulumi.getter(name="wireName")` when the names differ.
fn getter(property: &Property) -> String {
    let name = py_name(&property.name);
    if name == property.name {
        "@pulumi.getter".into()
    } else {
        format!("@pulumi.getter(name=\"{}\")", property.name)
    }
}

/// A read-only `@property` for a property, typed `ty`, reading the value pulumi keeps for it.
/// `pulumi.get` returns Any: the value goes through a local of the property's type, so the
/// getter does not return Any (mypy --strict) and the annotation costs nothing at run time (a
/// local's annotation is never evaluated).
fn property_getter(property: &Property, ty: &str) -> String {
    let name = py_name(&property.name);
    format!(
        "\n    @_builtins.property\n    {}\n    def {name}(self) -> {ty}:\n{}        value: {ty} = pulumi.get(self, \"{name}\")\n        return value\n",
        getter(property),
        docstring(&property.description, "        "),
    )
}

/// Required properties first, then the others; schema order within each.
fn required_first(properties: &[Property]) -> Vec<&Property> {
    let mut ordered: Vec<&Property> = properties.iter().filter(|p| p.required).collect();
    ordered.extend(properties.iter().filter(|p| !p.required));
    ordered
}

/// `name: type,` parameters for the properties (keyword-only), required ones without a default.
fn parameters(properties: &[&Property], indent: &str, all_optional: bool) -> String {
    let mut out = String::new();
    for p in properties {
        let required = p.required && !all_optional;
        let ty = optional(input_type(&p.ty), required);
        let default = if required { "" } else { " = None" };
        let _ = writeln!(out, "{indent}{}: {ty}{default},", py_name(&p.name));
    }
    out
}

/// `:param type name: description` lines of a docstring.
fn param_docs(properties: &[&Property]) -> String {
    let mut out = String::new();
    for p in properties {
        let _ = writeln!(
            out,
            ":param {} {}: {}",
            stored_input_type(&p.ty),
            py_name(&p.name),
            p.description
        );
    }
    out
}

// ---- package files ------------------------------------------------------------------------

fn pyproject(package: &Package) -> String {
    let keywords: Vec<String> = package.keywords.iter().map(|k| format!("{k:?}")).collect();
    format!(
        "# {GENERATED_MARKER}\n\
[project]\n\
name = \"{module}\"\n\
version = \"{version}\"\n\
description = {description:?}\n\
readme = \"README.md\"\n\
requires-python = \">=3.9\"\n\
license = {{ text = \"{license}\" }}\n\
keywords = [{keywords}]\n\
dependencies = [\"{PULUMI_REQUIREMENT}\", \"{SEMVER_REQUIREMENT}\", \"{TYPING_EXTENSIONS_REQUIREMENT}\"]\n\
{urls}\
\n\
[build-system]\n\
requires = [\"setuptools>=61.0\"]\n\
build-backend = \"setuptools.build_meta\"\n\
\n\
[tool.setuptools.packages.find]\n\
include = [\"{module}\", \"{module}.*\"]\n\
\n\
[tool.setuptools.package-data]\n\
{module} = [\"py.typed\", \"pulumi-plugin.json\", \"config/*.pyi\"]\n\
\n\
# The SDK and programs using it type-check under `mypy --strict`.\n\
[tool.mypy]\n\
strict = true\n",
        module = package.python_package,
        version = package.version,
        description = package.description,
        license = package.license,
        keywords = keywords.join(", "),
        urls = project_urls(package),
    )
}

/// `[project.urls]`: the schema's homepage and repository, when it has them.
fn project_urls(package: &Package) -> String {
    let urls: Vec<String> = [
        ("Homepage", &package.homepage),
        ("Repository", &package.repository),
    ]
    .into_iter()
    .filter(|(_, url)| !url.is_empty())
    .map(|(key, url)| format!("{key} = {url:?}\n"))
    .collect();
    if urls.is_empty() {
        String::new()
    } else {
        format!("\n[project.urls]\n{}", urls.concat())
    }
}

fn readme(package: &Package) -> String {
    format!(
        "<!-- {GENERATED_MARKER} -->\n\
# {module}\n\n\
{description}\n\n\
The Python SDK of the `{name}` Pulumi provider, version {version}.\n\n\
```sh\npip install -e sdk/python\n```\n\n\
```python\nimport pulumi_{name} as {name}\n\nserver = {name}.FlexibleServer(\"db\", resource_group_name=\"rg\", location=\"eastus\", version=\"16\", sku_name=\"Standard_B1ms\")\n```\n",
        module = package.python_package,
        description = package.description,
        name = package.name,
        version = package.version,
    )
}

fn plugin_json(package: &Package) -> String {
    let mut json =
        serde_json::json!({"resource": true, "name": package.name, "version": package.version});
    if !package.plugin_download_url.is_empty() {
        json["server"] = Value::String(package.plugin_download_url.clone());
    }
    serde_json::to_string_pretty(&json).expect("plain JSON") + "\n"
}

fn utilities(package: &Package) -> String {
    // The helpers are a plain Python file, so they read (and lint) as Python; only the download
    // URL is filled in (as a JSON string, which is a Python string literal too); the version is
    // read from the package's metadata.
    let url = serde_json::to_string(&package.plugin_download_url).expect("a string");
    header() + &UTILITIES.replace("\"@PLUGIN_DOWNLOAD_URL@\"", &url)
}

const UTILITIES: &str = include_str!("templates/_utilities.py");

fn init(package: &Package) -> String {
    let mut out = header();
    out.push_str(&docstring(&package.description, ""));
    out.push_str("\nfrom . import _utilities\nfrom . import config\nfrom . import outputs\nfrom ._enums import *\nfrom ._inputs import *\n");
    let mut modules: Vec<String> = vec!["provider".into()];
    modules.extend(package.resources.iter().map(|r| snake_case(&r.name)));
    modules.extend(package.functions.iter().map(|f| snake_case(&f.name)));
    modules.sort();
    for module in modules {
        let _ = writeln!(out, "from .{module} import *");
    }
    let _ = write!(
        out,
        "\n_utilities.register_resources(\n    \"{}\",\n    \"index\",\n    {{\n",
        package.name
    );
    for resource in &package.resources {
        let _ = writeln!(out, "        \"{}\": {},", resource.token, resource.name);
    }
    out.push_str("    },\n    Provider,\n)\n");
    out
}

// ---- enums ----------------------------------------------------------------------------------

/// `_enums.py`: a `str, Enum` class per closed set, as Pulumi's codegen writes them; a member is
/// its value as a string, so a plain string and a member are alike on the wire.
fn enums(package: &Package) -> String {
    let mut out = header();
    out.push_str("import builtins as _builtins\nfrom enum import Enum\n");
    let names: Vec<String> = package
        .enums
        .iter()
        .map(|e| format!("'{}'", e.name))
        .collect();
    let _ = write!(out, "\n__all__ = [{}]\n", names.join(", "));
    for enum_type in &package.enums {
        let _ = write!(out, "\n\nclass {}(_builtins.str, Enum):\n", enum_type.name);
        out.push_str(&docstring(&enum_type.description, "    "));
        for member in &enum_type.members {
            let _ = writeln!(
                out,
                "    {} = {}",
                snake_case(&member.name).to_ascii_uppercase(),
                Value::String(member.value.clone())
            );
            out.push_str(&docstring(&member.description, "    "));
        }
    }
    out
}

// ---- object types ---------------------------------------------------------------------------

/// TypedDict and NotRequired: from typing since Python 3.11, from typing_extensions before.
const TYPED_DICT_IMPORTS: &str = "\
import sys
if sys.version_info >= (3, 11):
    from typing import NotRequired, TypedDict
else:
    from typing_extensions import NotRequired, TypedDict
";

fn inputs(package: &Package) -> String {
    types_module(package, TYPED_DICT_IMPORTS, &|object| {
        let class = format!("{}Args", object.name);
        let text = args_class(&class, &object.description, &object.properties, None);
        let dict = format!("{class}Dict");
        let dict_text = args_dict_class(&dict, &object.description, &object.properties);
        vec![(class, text), (dict, dict_text)]
    })
}

fn outputs(package: &Package) -> String {
    types_module(package, "", &|object| {
        vec![(object.name.clone(), output_class(object))]
    })
}

/// `_inputs.py` or `outputs.py`: classes per object type, given as (class name, class text).
fn types_module(
    package: &Package,
    imports: &str,
    classes_of: &dyn Fn(&ObjectType) -> Vec<(String, String)>,
) -> String {
    let classes: Vec<(String, String)> = package.types.iter().flat_map(classes_of).collect();
    let names: Vec<String> = classes
        .iter()
        .map(|(name, _)| format!("'{name}'"))
        .collect();
    let mut out = header();
    out.push_str(IMPORTS);
    out.push_str(imports);
    let _ = write!(out, "\n__all__ = [{}]\n", names.join(", "));
    for (_, text) in &classes {
        out.push_str("\n\n");
        out.push_str(text);
    }
    out
}

/// The `TypedDict` twin of an args class, so a program may write the object as a dict
/// (`connection={"host": ..., "username": ...}`) and still be type-checked: its keys are the
/// Python names, as the args class's parameters, which pulumi translates to the wire's names.
fn args_dict_class(class: &str, description: &str, properties: &[Property]) -> String {
    let mut out = format!("class {class}(TypedDict):\n");
    out.push_str(&docstring(description, "    "));
    for p in required_first(properties) {
        let ty = input_type(&p.ty);
        let ty = if p.required {
            ty
        } else {
            format!("NotRequired[{ty}]")
        };
        let _ = writeln!(out, "    {}: {ty}", py_name(&p.name));
        out.push_str(&docstring(&p.description, "    "));
    }
    if properties.is_empty() {
        out.push_str("    pass\n");
    }
    out
}

/// An `@pulumi.input_type` class: keyword-only constructor, then a getter and setter per property.
/// `token` is the resource whose arguments these are, for the docstring.
fn args_class(
    class: &str,
    description: &str,
    properties: &[Property],
    resource: Option<&str>,
) -> String {
    let ordered = required_first(properties);
    let mut out = String::new();
    let _ = writeln!(out, "@pulumi.input_type\nclass {class}:");
    if ordered.is_empty() {
        let _ = writeln!(out, "    def __init__(__self__) -> None:");
    } else {
        let _ = write!(
            out,
            "    def __init__(__self__, *,\n{}                 ) -> None:\n",
            parameters(&ordered, "                 ", false)
        );
    }
    let summary = match resource {
        Some(name) => format!("The set of arguments for constructing a {name} resource.\n"),
        None => description.to_owned(),
    };
    out.push_str(&docstring(
        &format!("{summary}\n{}", param_docs(&ordered)),
        "        ",
    ));
    for p in &ordered {
        let name = py_name(&p.name);
        if let Some(default) = &p.default {
            let _ = writeln!(
                out,
                "        if {name} is None:\n            {name} = {}",
                literal(default)
            );
        }
        if p.required {
            let _ = writeln!(out, "        pulumi.set(__self__, \"{name}\", {name})");
        } else {
            let _ = writeln!(
                out,
                "        if {name} is not None:\n            pulumi.set(__self__, \"{name}\", {name})"
            );
        }
    }
    if ordered.is_empty() {
        out.push_str("        pass\n");
    }
    for p in &ordered {
        let name = py_name(&p.name);
        let ty = optional(stored_input_type(&p.ty), p.required);
        out.push_str(&property_getter(p, &ty));
        let _ = write!(
            out,
            "\n    @{name}.setter\n    def {name}(self, value: {ty}) -> None:\n        pulumi.set(self, \"{name}\", value)\n"
        );
    }
    out
}

/// An `@pulumi.output_type` class: what a resource or function returns for an object type.
fn output_class(object: &ObjectType) -> String {
    let same_module = |name: &str| format!("'{name}'");
    result_class(
        &object.name,
        &object.description,
        &object.properties,
        &same_module,
    )
}

/// An `@pulumi.output_type` class with keyword-only constructor and read-only properties.
fn result_class(
    class: &str,
    description: &str,
    properties: &[Property],
    object: &dyn Fn(&str) -> String,
) -> String {
    let ordered = required_first(properties);
    let mut out = String::new();
    let _ = writeln!(out, "@pulumi.output_type\nclass {class}:");
    out.push_str(&docstring(description, "    "));
    if ordered.is_empty() {
        out.push_str("    def __init__(__self__) -> None:\n        pass\n");
    } else {
        out.push_str("    def __init__(__self__, *,\n");
        for p in &ordered {
            let ty = optional(plain_type(&p.ty, object), p.required);
            let default = if p.required { "" } else { " = None" };
            let _ = writeln!(out, "                 {}: {ty}{default},", py_name(&p.name));
        }
        out.push_str("                 ) -> None:\n");
        for p in &ordered {
            let name = py_name(&p.name);
            if p.required {
                let _ = writeln!(out, "        pulumi.set(__self__, \"{name}\", {name})");
            } else {
                let _ = writeln!(
                    out,
                    "        if {name} is not None:\n            pulumi.set(__self__, \"{name}\", {name})"
                );
            }
        }
    }
    for p in &ordered {
        let ty = optional(plain_type(&p.ty, object), p.required);
        out.push_str(&property_getter(p, &ty));
    }
    out
}

// ---- resources and the provider -----------------------------------------------------------

/// What differs between a resource and the provider in the shared class shape.
struct ClassShape<'a> {
    class: &'a str,
    base: &'a str,
    /// The first argument of the base constructor: the type token, or the package for a provider.
    super_token: &'a str,
    type_token: &'a str,
    description: &'a str,
    inputs: &'a [Property],
    /// Properties that are outputs only: set to None so the engine fills them in.
    outputs_only: Vec<&'a Property>,
    /// Every property exposed as a `pulumi.Output` attribute.
    properties: &'a [Property],
    secrets: Vec<&'a str>,
    /// Apply schema defaults to inputs (resources do; the provider leaves them to the plugin,
    /// which also reads their environment variables).
    apply_defaults: bool,
    /// JSON-encode inputs that are not strings (provider configuration).
    json_encode: bool,
    /// Offer `get(resource_name, id, opts)`.
    has_get: bool,
    /// A component the provider builds (`remote=True`): no ID, outputs from Construct.
    remote: bool,
}

fn resource_module(resource: &Resource) -> Result<String, SchemaError> {
    check_resource_names(&resource.token, &resource.properties)?;
    check_resource_names(&resource.token, &resource.inputs)?;
    let description = description_for(&resource.description, "python");
    let shape = ClassShape {
        class: &resource.name,
        base: if resource.is_component {
            "pulumi.ComponentResource"
        } else {
            "pulumi.CustomResource"
        },
        super_token: &resource.token,
        type_token: &resource.token,
        description: &description,
        inputs: &resource.inputs,
        outputs_only: resource.output_only().collect(),
        properties: &resource.properties,
        secrets: resource.secret_names(),
        apply_defaults: true,
        json_encode: false,
        has_get: !resource.is_component,
        remote: resource.is_component,
    };
    Ok(class_module(&shape))
}

fn provider(package: &Package) -> Result<String, SchemaError> {
    check_resource_names("provider", &package.provider.inputs)?;
    let mut secrets: Vec<&str> = package
        .provider
        .inputs
        .iter()
        .filter(|p| p.secret)
        .map(|p| p.name.as_str())
        .collect();
    secrets.sort_unstable();
    let token = format!("pulumi:providers:{}", package.name);
    let shape = ClassShape {
        class: "Provider",
        base: "pulumi.ProviderResource",
        super_token: &package.name,
        type_token: &token,
        description: &package.provider.description,
        inputs: &package.provider.inputs,
        outputs_only: Vec::new(),
        properties: &[],
        secrets,
        apply_defaults: false,
        json_encode: true,
        has_get: false,
        remote: false,
    };
    Ok(class_module(&shape))
}

fn class_module(shape: &ClassShape<'_>) -> String {
    let class = shape.class;
    let args = format!("{class}Args");
    let mut out = header();
    out.push_str(IMPORTS);
    out.push_str("from . import outputs\nfrom ._inputs import *\n");
    let _ = write!(out, "\n__all__ = ['{args}', '{class}']\n\n\n");
    out.push_str(&args_class(&args, "", shape.inputs, Some(class)));
    // What `get` may be given besides the ID: every property, none required (Pulumi's `_<Name>State`).
    let state = format!("_{class}State");
    let state_properties: Vec<Property> = shape
        .properties
        .iter()
        .map(|p| Property {
            required: false,
            default: None,
            ..p.clone()
        })
        .collect();
    if shape.has_get {
        out.push_str("\n\n");
        out.push_str(&args_class(
            &state,
            &format!("Input properties used for looking up and filtering {class} resources."),
            &state_properties,
            None,
        ));
    }

    let ordered = required_first(shape.inputs);
    let _ = write!(
        out,
        "\n\n@pulumi.type_token(\"{token}\")\nclass {class}({base}):\n",
        token = shape.type_token,
        base = shape.base
    );
    out.push_str(&docstring(shape.description, "    "));
    // The two documented ways to construct it, then the implementation that tells them apart.
    let _ = write!(
        out,
        "    @overload\n    def __init__(__self__,\n                 resource_name: str,\n                 args: {args},\n                 opts: Optional[pulumi.ResourceOptions] = None) -> None:\n"
    );
    let _ = write!(
        out,
        "{}        ...\n\n",
        docstring(
            &format!(
                "{}\n:param str resource_name: The name of the resource.\n:param {args} args: The arguments to use to populate this resource's properties.\n:param pulumi.ResourceOptions opts: Options for the resource.",
                shape.description
            ),
            "        "
        )
    );
    let _ = write!(
        out,
        "    @overload\n    def __init__(__self__,\n                 resource_name: str,\n                 opts: Optional[pulumi.ResourceOptions] = None,\n{}                 ) -> None:\n",
        if ordered.is_empty() {
            String::new()
        } else {
            format!("                 *,\n{}", parameters(&ordered, "                 ", false))
        }
    );
    let _ = write!(
        out,
        "{}        ...\n\n",
        docstring(
            &format!(
                "{}\n:param str resource_name: The name of the resource.\n:param pulumi.ResourceOptions opts: Options for the resource.\n{}",
                shape.description,
                param_docs(&ordered)
            ),
            "        "
        )
    );
    let _ = write!(
        out,
        "    def __init__(__self__, resource_name: str, *args: Any, **kwargs: Any) -> None:\n        resource_args, opts = _utilities.get_resource_args_opts({args}, pulumi.ResourceOptions, *args, **kwargs)\n        if resource_args is not None:\n            __self__._internal_init(resource_name, opts, **resource_args.__dict__)\n        else:\n            __self__._internal_init(resource_name, *args, **kwargs)\n\n"
    );

    // _internal_init: every input optional here; the required ones are checked at run time
    // (for callers without a type checker), as Pulumi's SDKs do.
    let _ = write!(
        out,
        "    def _internal_init(__self__,\n                       resource_name: str,\n                       opts: Optional[pulumi.ResourceOptions] = None,\n{}                       ) -> None:\n",
        parameters(&ordered, "                       ", true)
    );
    out.push_str(
        "        opts = pulumi.ResourceOptions.merge(_utilities.get_resource_opts_defaults(), opts)\n",
    );
    let _ = writeln!(out, "        __props__ = {args}.__new__({args})");
    for p in shape.inputs {
        let name = py_name(&p.name);
        if p.required {
            let _ = writeln!(
                out,
                "        if {name} is None and not opts.urn:\n            raise TypeError(\"Missing required property '{name}'\")"
            );
        }
        if let (true, Some(default)) = (shape.apply_defaults, &p.default) {
            let _ = writeln!(
                out,
                "        if {name} is None:\n            {name} = {}",
                literal(default)
            );
        }
        let mut value = name.clone();
        if shape.json_encode && !matches!(p.ty, Type::String | Type::Enum(_)) {
            // Provider configuration travels as strings, as in Pulumi's SDKs.
            value = format!("pulumi.Output.from_input({value}).apply(pulumi.runtime.to_json)");
        }
        if p.secret {
            value = format!("pulumi.Output.secret({value})");
        }
        if value == name {
            let _ = writeln!(out, "        __props__.__dict__[\"{name}\"] = {name}");
        } else {
            let _ = writeln!(
                out,
                "        __props__.__dict__[\"{name}\"] = None if {name} is None else {value}"
            );
        }
    }
    for p in &shape.outputs_only {
        let _ = writeln!(
            out,
            "        __props__.__dict__[\"{}\"] = None",
            py_name(&p.name)
        );
    }
    let _ = writeln!(
        out,
        "        super().__init__(\"{}\", resource_name, _as_inputs(__props__), {class}._with_secret_outputs(opts){})",
        shape.super_token,
        if shape.remote { ", remote=True" } else { "" }
    );

    // The options every construction gets: the schema's secrets stay secret in the state even
    // when the provider returns them in the clear.
    let secrets: Vec<String> = shape.secrets.iter().map(|s| format!("\"{s}\"")).collect();
    let _ = write!(
        out,
        "\n    @staticmethod\n    def _with_secret_outputs(opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:\n"
    );
    if secrets.is_empty() {
        out.push_str("        return opts\n");
    } else {
        let _ = write!(
            out,
            "        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=[{}])\n        return pulumi.ResourceOptions.merge(opts, secret_opts)\n",
            secrets.join(", ")
        );
    }

    if shape.has_get {
        let _ = write!(
            out,
            "\n    @staticmethod\n    def get(resource_name: str,\n            id: pulumi.Input[_builtins.str],\n            opts: Optional[pulumi.ResourceOptions] = None,\n{}            ) -> '{class}':\n{}",
            parameters(&state_properties.iter().collect::<Vec<_>>(), "            ", true),
            docstring(
                &format!(
                    "Get an existing {class} resource's state with the given name, id (its Azure or SQL ID), and optional extra\nproperties used to qualify the lookup.\n\n:param str resource_name: The unique name of the resulting resource.\n:param pulumi.Input[str] id: The unique provider ID of the resource to lookup.\n:param pulumi.ResourceOptions opts: Options for the resource.\n{}",
                    param_docs(&state_properties.iter().collect::<Vec<_>>())
                ),
                "        "
            )
        );
        let _ = writeln!(
            out,
            "        opts = pulumi.ResourceOptions.merge(_utilities.get_resource_opts_defaults(), opts)\n        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))\n        __props__ = {state}.__new__({state})"
        );
        for p in shape.properties {
            let _ = writeln!(
                out,
                "        __props__.__dict__[\"{name}\"] = {name}",
                name = py_name(&p.name)
            );
        }
        let _ = write!(
            out,
            "        resource = {class}.__new__({class})\n        {base}.__init__(resource, \"{token}\", resource_name, _as_inputs(__props__), {class}._with_secret_outputs(opts))\n        return resource\n",
            base = shape.base,
            token = shape.super_token,
        );
    }

    for p in shape.properties {
        let ty = format!(
            "pulumi.Output[{}]",
            optional(plain_type(&p.ty, &output_object), p.required)
        );
        out.push_str(&property_getter(p, &ty));
    }
    out
}

// ---- functions --------------------------------------------------------------------------------

fn function_module(function: &Function) -> String {
    let base = snake_case(&function.name);
    let result = format!("{}Result", super::model::pascal_case(&function.name));
    let awaitable = format!("Awaitable{result}");
    let output_name = format!("{base}_output");
    let mut out = header();
    out.push_str(IMPORTS);
    out.push_str("from . import outputs\nfrom ._inputs import *\n");
    let _ = write!(
        out,
        "\n__all__ = ['{result}', '{awaitable}', '{base}', '{output_name}']\n\n\n"
    );
    out.push_str(&result_class(
        &result,
        &format!("A collection of values returned by {}.", function.name),
        &function.outputs,
        &output_object,
    ));
    let keyword_list = |source: &str| -> String {
        function
            .outputs
            .iter()
            .map(|p| {
                let name = py_name(&p.name);
                format!("            {name}=pulumi.get({source}, \"{name}\"),\n")
            })
            .collect()
    };
    let _ = write!(
        out,
        "\n\nclass {awaitable}({result}):\n    def __await__(self) -> Generator[Any, None, {result}]:\n        if False:\n            yield self\n        return {result}(\n{}        )\n",
        keyword_list("self")
    );

    let inputs = required_first(&function.inputs);
    let plain_params: String = inputs
        .iter()
        .map(|p| {
            let ty = optional(
                plain_type(&p.ty, &|name| format!("'{name}Args'")),
                p.required,
            );
            let default = if p.required { "" } else { " = None" };
            format!("{}: {ty}{default},\n", py_name(&p.name))
        })
        .collect();
    let output_params: String = inputs
        .iter()
        .map(|p| {
            let ty = optional(input_type(&p.ty), p.required);
            let default = if p.required { "" } else { " = None" };
            format!("{}: {ty}{default},\n", py_name(&p.name))
        })
        .collect();
    let indent = |text: &str, by: usize| -> String {
        text.lines()
            .map(|l| format!("{}{l}\n", " ".repeat(by)))
            .collect()
    };
    let args_dict: String = inputs
        .iter()
        .map(|p| format!("    __args__[\"{}\"] = {}\n", p.name, py_name(&p.name)))
        .collect();
    let doc = docstring(
        &format!(
            "{}\n\n{}",
            description_for(&function.description, "python"),
            param_docs(&inputs)
        ),
        "    ",
    );
    let secret = function.outputs.iter().any(|p| p.secret);

    // The plain form: blocks until the provider answers.
    let _ = write!(
        out,
        "\n\ndef {base}({plain}opts: Optional[pulumi.InvokeOptions] = None) -> {awaitable}:\n{doc}    __args__: dict[str, Any] = dict()\n{args_dict}    opts = pulumi.InvokeOptions.merge(_utilities.get_invoke_opts_defaults(), opts)\n    __ret__ = pulumi.runtime.invoke(\"{token}\", __args__, opts=opts, typ={result}).value\n\n    return {awaitable}(\n{kw}    )\n",
        plain = if plain_params.is_empty() { String::new() } else { format!("\n{}", indent(&plain_params, 5 + base.len())) + &" ".repeat(5 + base.len()) },
        token = function.token,
        kw = keyword_list("__ret__").replace("            ", "        "),
    );
    // The Output form: takes Inputs, returns an Output; secret when the schema says so.
    let wrap = if secret {
        ("pulumi.Output.secret(", ")")
    } else {
        ("", "")
    };
    let _ = write!(
        out,
        "\n\ndef {output_name}({params}opts: Optional[Union[pulumi.InvokeOptions, pulumi.InvokeOutputOptions]] = None) -> pulumi.Output[{result}]:\n{doc}    __args__: dict[str, Any] = dict()\n{args_dict}    opts = pulumi.InvokeOutputOptions.merge(_utilities.get_invoke_output_opts_defaults(), opts)\n    __ret__ = pulumi.runtime.invoke_output(\"{token}\", __args__, opts=opts, typ={result})\n    return {open}__ret__.apply(lambda __response__: {result}(\n{kw}    )){close}\n",
        params = if output_params.is_empty() { String::new() } else { format!("\n{}", indent(&output_params, 5 + output_name.len())) + &" ".repeat(5 + output_name.len()) },
        token = function.token,
        kw = keyword_list("__response__").replace("            ", "        "),
        open = wrap.0,
        close = wrap.1,
    );
    out
}

// ---- config -------------------------------------------------------------------------------

fn config_init() -> String {
    format!(
        "# coding=utf-8\n# {GENERATED_MARKER}\n\n\
import sys\n\nfrom .vars import _ExportableConfig\n\n\
# The module's attributes are the properties of _ExportableConfig, read when accessed.\n\
sys.modules[__name__].__class__ = _ExportableConfig\n"
    )
}

/// The config variable's type as read: secrets come back as `pulumi.Output[str]`.
fn config_type(variable: &Property) -> String {
    let plain = plain_type(&variable.ty, &|name| format!("'outputs.{name}'"));
    let ty = if variable.secret {
        format!("pulumi.Output[{plain}]")
    } else {
        plain
    };
    optional(ty, variable.default.is_some() && !variable.secret)
}

fn config_stub(package: &Package) -> String {
    let mut out = format!(
        "# coding=utf-8\n# {GENERATED_MARKER}\n\nimport builtins as _builtins\nfrom typing import Any, Mapping, Optional, Sequence\n\nimport pulumi\n\n"
    );
    for variable in &package.config {
        let _ = write!(
            out,
            "{}: {}\n{}\n",
            py_name(&variable.name),
            config_type(variable),
            docstring(&variable.description, "").trim_end()
        );
    }
    out
}

fn config_vars(package: &Package) -> String {
    let mut out = header();
    out.push_str("import builtins as _builtins\nimport types\nfrom typing import Any, Mapping, Optional, Sequence\n\nimport pulumi\n\nfrom .. import _utilities\n\n");
    let _ = write!(
        out,
        "__config__ = pulumi.Config(\"{}\")\n\n\nclass _ExportableConfig(types.ModuleType):\n",
        package.name
    );
    if package.config.is_empty() {
        out.push_str("    pass\n");
    }
    for variable in &package.config {
        let (getter, env) = match variable.ty {
            Type::Boolean => ("get_bool", "get_env_bool"),
            Type::Integer => ("get_int", "get_env_int"),
            Type::Number => ("get_float", "get_env_float"),
            _ => ("get", "get_env"),
        };
        let environment = environment_names(variable);
        let name = py_name(&variable.name);
        let _ = write!(
            out,
            "    @_builtins.property\n    def {name}(self) -> {}:\n{}",
            config_type(variable),
            docstring(&variable.description, "        ")
        );
        if variable.secret {
            let _ = writeln!(
                out,
                "        value = __config__.get_secret(\"{}\")",
                variable.name
            );
            if !environment.is_empty() {
                let _ = writeln!(
                    out,
                    "        if value is None:\n            from_env = _utilities.{env}({environment})\n            value = None if from_env is None else pulumi.Output.secret(from_env)"
                );
            }
        } else {
            let _ = writeln!(
                out,
                "        value = __config__.{getter}(\"{}\")",
                variable.name
            );
            if !environment.is_empty() {
                let _ = writeln!(
                    out,
                    "        if value is None:\n            value = _utilities.{env}({environment})"
                );
            }
        }
        match &variable.default {
            Some(default) if !variable.secret => {
                let _ = writeln!(
                    out,
                    "        return {} if value is None else value",
                    literal(default)
                );
            }
            _ => out.push_str("        return value\n"),
        }
        out.push('\n');
    }
    out
}

/// `"AZURE_TENANT_ID", "ARM_TENANT_ID"`: the variable's environment fallbacks as arguments.
fn environment_names(variable: &Property) -> String {
    variable
        .environment
        .iter()
        .map(|name| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
