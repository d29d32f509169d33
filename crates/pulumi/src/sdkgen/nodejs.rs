//! The Node.js SDK: one TypeScript module per resource (the class, `<Name>Args` and `<Name>State`)
//! and per function (with its `...Output` form), `types/input.ts` and `types/output.ts` for object
//! types, `provider.ts`, `config/vars.ts`, in the shape of Pulumi's TypeScript codegen.

use super::model::{
    camel_case, pascal_case, Function, ObjectType, Package, Property, Resource, SchemaError, Type,
};
use super::{Files, GENERATED_MARKER};
use crate::example_code::description_for;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::PathBuf;

/// The dependency and dev toolchain written into package.json; sdk/nodejs/package-lock.json pins
/// them exactly (and `npm ci` fails when the two disagree). @pulumi/pulumi 3.248.0 is the newest
/// that supports Node.js 20 (later ones declare `node >=22`), the Node.js these machines have.
/// @pulumi/pulumi is a peer dependency: a program must load exactly one copy (its runtime state is
/// module-global), the program's own; the SDK builds against the pinned dev copy.
const PULUMI_DEPENDENCY: (&str, &str) = ("@pulumi/pulumi", "^3.248.0");
const DEV_DEPENDENCIES: &[(&str, &str)] = &[
    ("@pulumi/pulumi", "3.248.0"),
    ("@types/node", "20.19.43"),
    ("typescript", "5.9.3"),
];

pub fn generate(package: &Package) -> Result<Files, SchemaError> {
    let mut files = Files::new();
    let mut sources: Vec<String> = Vec::new();
    let mut put = |path: String, text: String| {
        if path.ends_with(".ts") {
            sources.push(path.clone());
        }
        files.insert(PathBuf::from(path), text);
    };
    put("README.md".into(), readme(package));
    put(
        ".gitignore".into(),
        format!("# {GENERATED_MARKER}\nnode_modules/\nbin/\n"),
    );
    put("utilities.ts".into(), utilities(package));
    put("index.ts".into(), index(package));
    put("provider.ts".into(), provider(package));
    put("types/index.ts".into(), types_index());
    put("types/enums/index.ts".into(), enums(package));
    put("types/input.ts".into(), input_types(package));
    put("types/output.ts".into(), output_types(package));
    put("config/index.ts".into(), config_index());
    put("config/vars.ts".into(), config_vars(package));
    for resource in &package.resources {
        put(
            format!("{}.ts", camel_case(&resource.name)),
            if resource.is_component {
                component_module(package, resource)?
            } else {
                resource_module(package, resource)?
            },
        );
    }
    for function in &package.functions {
        put(
            format!("{}.ts", camel_case(&function.name)),
            function_module(function),
        );
    }
    sources.sort();
    files.insert("package.json".into(), package_json(package));
    files.insert("tsconfig.json".into(), tsconfig(&sources));
    Ok(files)
}

// ---- names, types, literals ----------------------------------------------------------------

/// Names a resource property may not take: the class's own members.
const RESERVED_RESOURCE_NAMES: &[&str] = &["urn", "id", "get", "isInstance", "__pulumiType"];

fn input_object(name: &str) -> String {
    format!("inputs.{name}Args")
}

fn output_object(name: &str) -> String {
    format!("outputs.{name}")
}

/// The resolved TypeScript type.
fn plain_type(ty: &Type, object: &dyn Fn(&str) -> String) -> String {
    match ty {
        Type::String => "string".into(),
        Type::Integer | Type::Number => "number".into(),
        Type::Boolean => "boolean".into(),
        Type::Any => "any".into(),
        Type::Array(item) => format!("{}[]", plain_type(item, object)),
        Type::Map(value) => format!("{{[key: string]: {}}}", plain_type(value, object)),
        Type::Object(name) => object(name),
        // What comes back is the string; the enum's members are strings too.
        Type::Enum(_) => "string".into(),
    }
}

/// `pulumi.Input<...>` all the way down, as Pulumi's codegen writes it; a closed set is a plain
/// string or a member of its enum.
fn input_type(ty: &Type) -> String {
    let inner = match ty {
        Type::Array(item) => format!("{}[]", input_type(item)),
        Type::Map(value) => format!("{{[key: string]: {}}}", input_type(value)),
        Type::Object(name) => input_object(name),
        Type::Enum(name) => format!("string | enums.{name}"),
        other => plain_type(other, &|_| unreachable!("objects are handled above")),
    };
    format!("pulumi.Input<{inner}>")
}

/// A TypeScript literal for a schema default: JSON literals are TypeScript literals.
fn literal(value: &Value) -> String {
    value.to_string()
}

/// A `/** ... */` comment at `indent`, or nothing for an empty text.
fn doc(text: &str, indent: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let escaped = text.replace("*/", "*&#47;");
    let mut out = format!("{indent}/**\n");
    for line in escaped.lines() {
        if line.is_empty() {
            let _ = writeln!(out, "{indent} *");
        } else {
            let _ = writeln!(out, "{indent} * {line}");
        }
    }
    let _ = writeln!(out, "{indent} */");
    out
}

fn header() -> String {
    format!("// {GENERATED_MARKER}\n\n")
}

const IMPORTS: &str = "\
import * as pulumi from \"@pulumi/pulumi\";
import * as enums from \"./types/enums\";
import * as inputs from \"./types/input\";
import * as outputs from \"./types/output\";
import * as utilities from \"./utilities\";
";

/// Interface members: `name?: type;` with the property's doc.
fn members(
    properties: &[Property],
    ty: &dyn Fn(&Property) -> String,
    all_optional: bool,
    readonly: bool,
) -> String {
    let mut out = String::new();
    for p in properties {
        out.push_str(&doc(&p.description, "    "));
        let optional = if p.required && !all_optional { "" } else { "?" };
        let readonly = if readonly { "readonly " } else { "" };
        let _ = writeln!(out, "    {readonly}{}{optional}: {};", p.name, ty(p));
    }
    out
}

/// Object types with at least one defaulted property, directly.
fn has_defaults(object: &ObjectType) -> bool {
    object.properties.iter().any(|p| p.default.is_some())
}

// ---- package files ------------------------------------------------------------------------

fn package_json(package: &Package) -> String {
    let dev: serde_json::Map<String, Value> = DEV_DEPENDENCIES
        .iter()
        .map(|(name, version)| ((*name).to_owned(), json!(version)))
        .collect();
    let mut json = json!({
        "name": package.nodejs_package,
        "version": package.version,
        "description": package.description,
        "keywords": package.keywords,
        "license": package.license,
        "main": "bin/index.js",
        "types": "bin/index.d.ts",
        // What `npm pack` ships: the compiled SDK (package.json and README.md always go).
        "files": ["bin/"],
        "scripts": {"build": "tsc"},
        "peerDependencies": {PULUMI_DEPENDENCY.0: PULUMI_DEPENDENCY.1},
        "devDependencies": dev,
        "pulumi": {"resource": true, "name": package.name, "version": package.version},
    });
    if !package.homepage.is_empty() {
        json["homepage"] = json!(package.homepage);
    }
    if !package.repository.is_empty() {
        json["repository"] = json!(package.repository);
    }
    if !package.plugin_download_url.is_empty() {
        json["pulumi"]["server"] = json!(package.plugin_download_url);
    }
    serde_json::to_string_pretty(&json).expect("plain JSON") + "\n"
}

fn tsconfig(sources: &[String]) -> String {
    let json = json!({
        "compilerOptions": {
            "outDir": "bin",
            "target": "es2020",
            "module": "commonjs",
            "moduleResolution": "node",
            "declaration": true,
            "sourceMap": true,
            "stripInternal": true,
            "experimentalDecorators": true,
            "noFallthroughCasesInSwitch": true,
            "forceConsistentCasingInFileNames": true,
            "resolveJsonModule": true,
            "strict": true
        },
        "files": sources,
    });
    serde_json::to_string_pretty(&json).expect("plain JSON") + "\n"
}

fn readme(package: &Package) -> String {
    format!(
        "<!-- {GENERATED_MARKER} -->\n\
# {npm}\n\n\
{description}\n\n\
The Node.js SDK of the `{name}` Pulumi provider, version {version}.\n\n\
```sh\nnpm ci && npm run build   # in sdk/nodejs: compiles to bin/\n```\n\n\
```typescript\nimport * as {name} from \"{npm}\";\n\nconst server = new {name}.FlexibleServer(\"db\", {{ resourceGroupName: \"rg\", location: \"eastus\", version: \"16\", skuName: \"Standard_B1ms\" }});\n```\n",
        npm = package.nodejs_package,
        description = package.description,
        name = package.name,
        version = package.version,
    )
}

fn utilities(package: &Package) -> String {
    // The helpers are a plain TypeScript file; only the download URL is filled in (the version
    // is read from package.json).
    let url = serde_json::to_string(&package.plugin_download_url).expect("a string");
    header() + &UTILITIES.replace("\"@PLUGIN_DOWNLOAD_URL@\"", &url)
}

const UTILITIES: &str = include_str!("templates/utilities.ts");

fn index(package: &Package) -> String {
    let mut out = header();
    out.push_str("import * as pulumi from \"@pulumi/pulumi\";\nimport * as utilities from \"./utilities\";\n\n");
    let mut modules: Vec<String> = vec!["provider".into()];
    modules.extend(package.resources.iter().map(|r| camel_case(&r.name)));
    modules.extend(package.functions.iter().map(|f| camel_case(&f.name)));
    modules.sort();
    for module in &modules {
        let _ = writeln!(out, "export * from \"./{module}\";");
    }
    out.push_str("\nimport * as config from \"./config\";\nimport * as types from \"./types\";\n\nexport { config, types };\n\n");
    for resource in &package.resources {
        let _ = writeln!(
            out,
            "import {{ {} }} from \"./{}\";",
            resource.name,
            camel_case(&resource.name)
        );
    }
    out.push_str("import { Provider } from \"./provider\";\n\n");
    // Registration lets the runtime rebuild resources it receives as references.
    out.push_str("const _module = {\n    version: utilities.getVersion(),\n    construct: (name: string, type: string, urn: string): pulumi.Resource => {\n        switch (type) {\n");
    for resource in &package.resources {
        let _ = writeln!(
            out,
            "            case \"{}\":\n                return new {}(name, <any>undefined, {{ urn }});",
            resource.token, resource.name
        );
    }
    let _ = write!(
        out,
        "            default:\n                throw new Error(`unknown resource type ${{type}}`);\n        }}\n    }},\n}};\npulumi.runtime.registerResourceModule(\"{name}\", \"index\", _module);\npulumi.runtime.registerResourcePackage(\"{name}\", {{\n    version: utilities.getVersion(),\n    constructProvider: (name: string, type: string, urn: string): pulumi.ProviderResource => {{\n        if (type !== \"pulumi:providers:{name}\") {{\n            throw new Error(`unknown provider type ${{type}}`);\n        }}\n        return new Provider(name, <any>undefined, {{ urn }});\n    }},\n}});\n",
        name = package.name
    );
    out
}

// ---- object types ---------------------------------------------------------------------------

fn types_index() -> String {
    let mut out = header();
    out.push_str("import * as enums from \"./enums\";\nimport * as input from \"./input\";\nimport * as output from \"./output\";\n\nexport { enums, input, output };\n");
    out
}

/// `types/enums/index.ts`: per closed set a const object of its members and the union type of
/// their values under the same name, as Pulumi's codegen writes them, so `enums.SslMode.VerifyFull`
/// and the plain `"verify-full"` are both a `SslMode`.
fn enums(package: &Package) -> String {
    let mut out = header();
    for (i, enum_type) in package.enums.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "export const {} = {{", enum_type.name);
        for member in &enum_type.members {
            out.push_str(&doc(&member.description, "    "));
            let _ = writeln!(
                out,
                "    {}: {},",
                member.name,
                Value::String(member.value.clone())
            );
        }
        out.push_str("} as const;\n\n");
        out.push_str(&doc(&enum_type.description, ""));
        let _ = writeln!(
            out,
            "export type {name} = (typeof {name})[keyof typeof {name}];",
            name = enum_type.name
        );
    }
    if package.enums.is_empty() {
        out.push_str("export {};\n");
    }
    out
}

const TYPES_IMPORTS: &str = "\
import * as pulumi from \"@pulumi/pulumi\";
import * as enums from \"../types/enums\";
import * as inputs from \"../types/input\";
import * as outputs from \"../types/output\";
";

fn input_types(package: &Package) -> String {
    let mut out = header();
    out.push_str(TYPES_IMPORTS);
    for object in &package.types {
        out.push('\n');
        out.push_str(&doc(&object.description, ""));
        let _ = write!(
            out,
            "export interface {}Args {{\n{}}}\n",
            object.name,
            members(&object.properties, &|p| input_type(&p.ty), false, false)
        );
        if has_defaults(object) {
            let _ = write!(
                out,
                "\n/** {name}Args with the schema's defaults filled in. */\nexport function {fn_name}(val: {name}Args): {name}Args {{\n    return {{\n        ...val,\n",
                name = object.name,
                fn_name = provide_defaults(&object.name),
            );
            for p in object.properties.iter().filter(|p| p.default.is_some()) {
                let _ = writeln!(
                    out,
                    "        {name}: (val.{name}) ?? {},",
                    literal(p.default.as_ref().expect("filtered")),
                    name = p.name
                );
            }
            out.push_str("    };\n}\n");
        }
    }
    out
}

/// `connectionArgsProvideDefaults`, as Pulumi names it.
fn provide_defaults(object: &str) -> String {
    format!("{}ArgsProvideDefaults", camel_case(object))
}

fn output_types(package: &Package) -> String {
    let mut out = header();
    out.push_str(TYPES_IMPORTS);
    for object in &package.types {
        out.push('\n');
        out.push_str(&doc(&object.description, ""));
        let _ = write!(
            out,
            "export interface {} {{\n{}}}\n",
            object.name,
            members(
                &object.properties,
                &|p| plain_type(&p.ty, &output_object),
                false,
                false
            )
        );
    }
    out
}

// ---- resources and the provider -----------------------------------------------------------

/// The expression that puts an input into `resourceInputs`: defaults, object defaults, secrets.
fn input_value(package: &Package, p: &Property, from: &str, json_encode: bool) -> String {
    let raw = format!("{from}?.{}", p.name);
    let mut value = match &p.default {
        Some(default) => format!("({raw}) ?? {}", literal(default)),
        None => raw.clone(),
    };
    if let Type::Object(name) = &p.ty {
        if package.object_type(name).is_some_and(has_defaults) {
            value = format!(
                "{raw} ? pulumi.output({raw}).apply(inputs.{}) : undefined",
                provide_defaults(name)
            );
        }
    }
    if json_encode && !matches!(p.ty, Type::String | Type::Enum(_)) {
        // Provider configuration travels as strings, as in Pulumi's SDKs.
        value = format!("pulumi.output({value}).apply(JSON.stringify)");
    }
    if p.secret {
        value = format!("{raw} ? pulumi.secret({value}) : undefined");
    }
    value
}

fn secret_options(names: &[&str]) -> String {
    if names.is_empty() {
        return String::new();
    }
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        "        const secretOpts = {{ additionalSecretOutputs: [{}] }};\n        opts = pulumi.mergeOptions(opts, secretOpts);\n",
        quoted.join(", ")
    )
}

fn resource_module(package: &Package, resource: &Resource) -> Result<String, SchemaError> {
    for p in resource.properties.iter().chain(&resource.inputs) {
        if RESERVED_RESOURCE_NAMES.contains(&p.name.as_str()) {
            return Err(SchemaError::conflict(format!(
                "{}.{}: the name is reserved on a TypeScript resource class ({})",
                resource.token,
                p.name,
                RESERVED_RESOURCE_NAMES.join(", ")
            )));
        }
    }
    let name = &resource.name;
    let args = format!("{name}Args");
    let state = format!("{name}State");
    let args_optional = if resource.inputs.iter().any(|p| p.required) {
        ""
    } else {
        "?"
    };
    let mut out = header();
    out.push_str(IMPORTS);
    out.push('\n');
    out.push_str(&doc(
        &description_for(&resource.description, "typescript"),
        "",
    ));
    let _ = write!(
        out,
        "export class {name} extends pulumi.CustomResource {{\n{}",
        doc(
            &format!("Get an existing {name} resource's state with the given name, ID (its Azure or SQL ID), and optional extra\nproperties used to qualify the lookup.\n\n@param name The _unique_ name of the resulting resource.\n@param id The _unique_ provider ID of the resource to lookup.\n@param state Any extra arguments used during the lookup.\n@param opts Optional settings to control the behavior of the CustomResource."),
            "    "
        )
    );
    let _ = write!(
        out,
        "    public static get(name: string, id: pulumi.Input<pulumi.ID>, state?: {state}, opts?: pulumi.CustomResourceOptions): {name} {{\n        return new {name}(name, <any>state, {{ ...opts, id: id }});\n    }}\n\n    /** @internal */\n    public static readonly __pulumiType = \"{token}\";\n\n",
        token = resource.token
    );
    let _ = write!(
        out,
        "    /**\n     * Returns true if the given object is an instance of {name}. This is designed to work even\n     * when multiple copies of the Pulumi SDK have been loaded into the same process.\n     */\n    public static isInstance(obj: any): obj is {name} {{\n        if (obj === undefined || obj === null) {{\n            return false;\n        }}\n        return obj[\"__pulumiType\"] === {name}.__pulumiType;\n    }}\n\n"
    );
    for p in &resource.properties {
        out.push_str(&doc(&p.description, "    "));
        let ty = plain_type(&p.ty, &output_object);
        let ty = if p.required {
            ty
        } else {
            format!("{ty} | undefined")
        };
        let _ = writeln!(
            out,
            "    declare public readonly {}: pulumi.Output<{ty}>;",
            p.name
        );
    }
    let _ = write!(
        out,
        "\n{}    constructor(name: string, args{args_optional}: {args}, opts?: pulumi.CustomResourceOptions)\n    constructor(name: string, argsOrState?: {args} | {state}, opts?: pulumi.CustomResourceOptions) {{\n        let resourceInputs: pulumi.Inputs = {{}};\n        opts = opts || {{}};\n        if (opts.id) {{\n            const state = argsOrState as {state} | undefined;\n",
        doc(
            &format!("Create a {name} resource with the given unique name, arguments, and options.\n\n@param name The _unique_ name of the resource.\n@param args The arguments to use to populate this resource's properties.\n@param opts A bag of options that control this resource's behavior."),
            "    "
        )
    );
    for p in &resource.properties {
        let _ = writeln!(
            out,
            "            resourceInputs[\"{n}\"] = state?.{n};",
            n = p.name
        );
    }
    let _ = write!(
        out,
        "        }} else {{\n            const args = argsOrState as {args} | undefined;\n"
    );
    for p in resource.inputs.iter().filter(|p| p.required) {
        let _ = writeln!(
            out,
            "            if (args?.{n} === undefined && !opts.urn) {{\n                throw new Error(\"Missing required property '{n}'\");\n            }}",
            n = p.name
        );
    }
    for p in &resource.inputs {
        let _ = writeln!(
            out,
            "            resourceInputs[\"{}\"] = {};",
            p.name,
            input_value(package, p, "args", false)
        );
    }
    for p in resource.output_only() {
        let _ = writeln!(
            out,
            "            resourceInputs[\"{}\"] = undefined /*out*/;",
            p.name
        );
    }
    out.push_str(
        "        }\n        opts = pulumi.mergeOptions(utilities.resourceOptsDefaults(), opts);\n",
    );
    out.push_str(&secret_options(&resource.secret_names()));
    let _ = write!(
        out,
        "        super({name}.__pulumiType, name, resourceInputs, opts);\n    }}\n}}\n\n"
    );
    out.push_str(&doc(
        &format!("Input properties used for looking up and filtering {name} resources."),
        "",
    ));
    let _ = write!(
        out,
        "export interface {state} {{\n{}}}\n\n",
        members(&resource.properties, &|p| input_type(&p.ty), true, false)
    );
    out.push_str(&doc(
        &format!("The set of arguments for constructing a {name} resource."),
        "",
    ));
    let _ = write!(
        out,
        "export interface {args} {{\n{}}}\n",
        members(&resource.inputs, &|p| input_type(&p.ty), false, false)
    );
    Ok(out)
}

/// A component the provider builds through Construct (`remote: true`): no ID and no `get`; its
/// outputs come from the provider's ConstructResponse.
fn component_module(package: &Package, resource: &Resource) -> Result<String, SchemaError> {
    for p in resource.properties.iter().chain(&resource.inputs) {
        if RESERVED_RESOURCE_NAMES.contains(&p.name.as_str()) {
            return Err(SchemaError::conflict(format!(
                "{}.{}: the name is reserved on a TypeScript resource class ({})",
                resource.token,
                p.name,
                RESERVED_RESOURCE_NAMES.join(", ")
            )));
        }
    }
    let name = &resource.name;
    let args = format!("{name}Args");
    let mut out = header();
    out.push_str(IMPORTS);
    out.push('\n');
    out.push_str(&doc(
        &description_for(&resource.description, "typescript"),
        "",
    ));
    let _ = write!(
        out,
        "export class {name} extends pulumi.ComponentResource {{\n    /** @internal */\n    public static readonly __pulumiType = \"{token}\";\n\n",
        token = resource.token
    );
    let _ = write!(
        out,
        "    /**\n     * Returns true if the given object is an instance of {name}. This is designed to work even\n     * when multiple copies of the Pulumi SDK have been loaded into the same process.\n     */\n    public static isInstance(obj: any): obj is {name} {{\n        if (obj === undefined || obj === null) {{\n            return false;\n        }}\n        return obj[\"__pulumiType\"] === {name}.__pulumiType;\n    }}\n\n"
    );
    for p in &resource.properties {
        out.push_str(&doc(&p.description, "    "));
        let ty = plain_type(&p.ty, &output_object);
        let _ = writeln!(
            out,
            "    declare public readonly {}: pulumi.Output<{ty}>;",
            p.name
        );
    }
    let _ = write!(
        out,
        "\n{}    constructor(name: string, args: {args}, opts?: pulumi.ComponentResourceOptions) {{\n        let resourceInputs: pulumi.Inputs = {{}};\n        opts = opts || {{}};\n        if (!opts.urn) {{\n",
        doc(
            &format!("Create a {name} with the given unique name, arguments, and options: the provider registers its resources.\n\n@param name The _unique_ name of the component, the first part of its resources' names.\n@param args The arguments to use to populate this component's properties.\n@param opts A bag of options that control this component's behavior."),
            "    "
        )
    );
    for p in resource.inputs.iter().filter(|p| p.required) {
        let _ = writeln!(
            out,
            "            if (args?.{n} === undefined) {{\n                throw new Error(\"Missing required property '{n}'\");\n            }}",
            n = p.name
        );
    }
    for p in &resource.inputs {
        let _ = writeln!(
            out,
            "            resourceInputs[\"{}\"] = {};",
            p.name,
            input_value(package, p, "args", false)
        );
    }
    out.push_str("        }\n");
    for p in resource.output_only() {
        let _ = writeln!(
            out,
            "        resourceInputs[\"{}\"] = undefined /*out*/;",
            p.name
        );
    }
    out.push_str("        opts = pulumi.mergeOptions(utilities.resourceOptsDefaults(), opts);\n");
    let _ = write!(
        out,
        "        super({name}.__pulumiType, name, resourceInputs, opts, true /*remote*/);\n    }}\n}}\n\n"
    );
    out.push_str(&doc(
        &format!("The set of arguments for constructing a {name} component."),
        "",
    ));
    let _ = write!(
        out,
        "export interface {args} {{\n{}}}\n",
        members(&resource.inputs, &|p| input_type(&p.ty), false, false)
    );
    Ok(out)
}

fn provider(package: &Package) -> String {
    let inputs = &package.provider.inputs;
    let mut out = header();
    out.push_str(IMPORTS);
    out.push('\n');
    out.push_str(&doc(&package.provider.description, ""));
    let _ = write!(
        out,
        "export class Provider extends pulumi.ProviderResource {{\n    /** @internal */\n    public static readonly __pulumiType = \"{name}\";\n\n    /**\n     * Returns true if the given object is an instance of Provider. This is designed to work even\n     * when multiple copies of the Pulumi SDK have been loaded into the same process.\n     */\n    public static isInstance(obj: any): obj is Provider {{\n        if (obj === undefined || obj === null) {{\n            return false;\n        }}\n        return obj[\"__pulumiType\"] === \"pulumi:providers:\" + Provider.__pulumiType;\n    }}\n\n{}    constructor(name: string, args?: ProviderArgs, opts?: pulumi.ResourceOptions) {{\n        let resourceInputs: pulumi.Inputs = {{}};\n        opts = opts || {{}};\n",
        doc("Create a Provider resource with the given unique name, arguments, and options.\n\n@param name The _unique_ name of the resource.\n@param args The arguments to use to populate this resource's properties.\n@param opts A bag of options that control this resource's behavior.", "    "),
        name = package.name,
    );
    // Defaults and environment variables are left to the plugin, which reads them itself when
    // a value is absent; copying them here would put the client secret into the stack's state.
    for p in inputs {
        let no_default = Property {
            default: None,
            ..p.clone()
        };
        let _ = writeln!(
            out,
            "        resourceInputs[\"{}\"] = {};",
            p.name,
            input_value(package, &no_default, "args", true)
        );
    }
    out.push_str("        opts = pulumi.mergeOptions(utilities.resourceOptsDefaults(), opts);\n");
    let mut secrets: Vec<&str> = inputs
        .iter()
        .filter(|p| p.secret)
        .map(|p| p.name.as_str())
        .collect();
    secrets.sort_unstable();
    out.push_str(&secret_options(&secrets));
    out.push_str("        super(Provider.__pulumiType, name, resourceInputs, opts);\n    }\n}\n\n");
    out.push_str(&doc(
        "The set of arguments for constructing a Provider resource.",
        "",
    ));
    let _ = write!(
        out,
        "export interface ProviderArgs {{\n{}}}\n",
        members(inputs, &|p| input_type(&p.ty), true, false)
    );
    out
}

// ---- functions --------------------------------------------------------------------------------

fn function_module(function: &Function) -> String {
    let name = &function.name;
    let pascal = pascal_case(name);
    let args = format!("{pascal}Args");
    let output_args = format!("{pascal}OutputArgs");
    let result = format!("{pascal}Result");
    let has_inputs = !function.inputs.is_empty();
    let args_optional = if function.inputs.iter().any(|p| p.required) {
        ""
    } else {
        "?"
    };
    let secret = function.outputs.iter().any(|p| p.secret);
    let props: String = function
        .inputs
        .iter()
        .map(|p| format!("        \"{n}\": args.{n},\n", n = p.name))
        .collect();
    let props = if has_inputs {
        format!("{{\n{props}    }}")
    } else {
        "{}".to_owned()
    };
    let mut out = header();
    out.push_str(IMPORTS);

    // The Promise form.
    out.push('\n');
    out.push_str(&doc(
        &description_for(&function.description, "typescript"),
        "",
    ));
    let (args_param, args_default) = if has_inputs {
        (
            format!("args{args_optional}: {args}, "),
            if args_optional.is_empty() {
                ""
            } else {
                "    args = args || {};\n"
            },
        )
    } else {
        (String::new(), "")
    };
    let _ = write!(
        out,
        "export function {name}({args_param}opts?: pulumi.InvokeOptions): Promise<{result}> {{\n{args_default}    opts = pulumi.mergeOptions(utilities.resourceOptsDefaults(), opts || {{}});\n    return pulumi.runtime.invoke(\"{token}\", {props}, opts);\n}}\n\n",
        token = function.token,
        props = props.replace("\n    ", "\n        ").replace("\n        }", "\n    }"),
    );
    if has_inputs {
        out.push_str(&doc(
            &format!("A collection of arguments for invoking {name}."),
            "",
        ));
        let _ = write!(
            out,
            "export interface {args} {{\n{}}}\n\n",
            members(
                &function.inputs,
                &|p| plain_type(&p.ty, &input_object),
                false,
                false
            )
        );
    }
    out.push_str(&doc(
        &format!("A collection of values returned by {name}."),
        "",
    ));
    let _ = write!(
        out,
        "export interface {result} {{\n{}}}\n\n",
        members(
            &function.outputs,
            &|p| plain_type(&p.ty, &output_object),
            false,
            true
        )
    );

    // The Output form.
    out.push_str(&doc(
        &description_for(&function.description, "typescript"),
        "",
    ));
    let args_param = if has_inputs {
        format!("args{args_optional}: {output_args}, ")
    } else {
        String::new()
    };
    let call = format!(
        "pulumi.runtime.invokeOutput(\"{}\", {props}, opts)",
        function.token
    );
    let call = if secret {
        // The result holds a secret: the whole result is secret, as the schema says.
        format!("pulumi.secret({call})")
    } else {
        call
    };
    let _ = write!(
        out,
        "export function {name}Output({args_param}opts?: pulumi.InvokeOutputOptions): pulumi.Output<{result}> {{\n{args_default}    opts = pulumi.mergeOptions(utilities.resourceOptsDefaults(), opts || {{}});\n    return {call};\n}}\n",
    );
    if has_inputs {
        out.push('\n');
        out.push_str(&doc(
            &format!("A collection of arguments for invoking {name}."),
            "",
        ));
        let _ = write!(
            out,
            "export interface {output_args} {{\n{}}}\n",
            members(&function.inputs, &|p| input_type(&p.ty), false, false)
        );
    }
    out
}

// ---- config -------------------------------------------------------------------------------

fn config_index() -> String {
    let mut out = header();
    out.push_str("export * from \"./vars\";\n");
    out
}

fn config_vars(package: &Package) -> String {
    let mut out = header();
    let _ = write!(
        out,
        "import * as pulumi from \"@pulumi/pulumi\";\nimport * as utilities from \"../utilities\";\n\ndeclare var exports: any;\nconst __config = new pulumi.Config(\"{}\");\n",
        package.name
    );
    for variable in &package.config {
        let plain = plain_type(&variable.ty, &output_object);
        let (getter, env) = match variable.ty {
            Type::Boolean => ("getBoolean", "getEnvBoolean"),
            Type::Integer | Type::Number => ("getNumber", "getEnvNumber"),
            _ => ("get", "getEnv"),
        };
        let environment: Vec<String> = variable
            .environment
            .iter()
            .map(|e| format!("\"{e}\""))
            .collect();
        let from_env = if environment.is_empty() {
            "undefined".to_owned()
        } else {
            format!("utilities.{env}({})", environment.join(", "))
        };
        let (ty, body) = if variable.secret {
            (
                format!("pulumi.Output<{plain}> | undefined"),
                format!(
                    "const value = __config.getSecret{suffix}(\"{n}\");\n        if (value !== undefined) {{\n            return value;\n        }}\n        const fromEnv = {from_env};\n        return fromEnv === undefined ? undefined : pulumi.secret(fromEnv);",
                    suffix = &getter[3..],
                    n = variable.name
                ),
            )
        } else {
            let fallback = match &variable.default {
                Some(default) => format!(" ?? {}", literal(default)),
                None => String::new(),
            };
            let ty = if variable.default.is_some() {
                plain
            } else {
                format!("{plain} | undefined")
            };
            (
                ty,
                format!(
                    "return __config.{getter}(\"{n}\") ?? {from_env}{fallback};",
                    n = variable.name
                ),
            )
        };
        out.push('\n');
        out.push_str(&doc(&variable.description, ""));
        let _ = write!(
            out,
            "export declare const {n}: {ty};\nObject.defineProperty(exports, \"{n}\", {{\n    get() {{\n        {body}\n    }},\n    enumerable: true,\n}});\n",
            n = variable.name
        );
    }
    out
}
