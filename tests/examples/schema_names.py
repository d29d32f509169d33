"""What the examples may name, from the package schema (schema.json at the repo root), and a
checker for what an example names: resource, function and type tokens, the input properties each
passes, and the output properties it reads.

Each language's reader (YAML, Python's ast, the TypeScript compiler) turns a program into the same
list of `Use`s; `problems` checks them against the schema. A problem names the file, the line and
what is wrong, so a failing test reads as the fix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SCHEMA_FILE = REPO / "schema.json"
PACKAGE = "pgentra"

# What every resource has besides its schema properties (Pulumi's own).
RESOURCE_BUILTINS = {"urn", "id"}


@dataclass
class Use:
    """One thing a program names.

    kind: "resource" (a resource's inputs), "function" (an invoke's arguments), "object" (the
    fields of an object-typed input, e.g. a Connection), "output" (a property read from a
    resource or a function's result).
    token: the schema token, e.g. pgentra:index:FlexibleServer (or what the program wrote, when
    it maps to no token: then that is the problem).
    names: the property names, in the schema's camelCase.
    """

    kind: str
    token: str
    names: list[str] = field(default_factory=list)
    line: int = 0
    where: str = ""


class Schema:
    def __init__(self, path: Path = SCHEMA_FILE):
        spec = json.loads(path.read_text())
        self.resources = spec["resources"]
        self.functions = spec["functions"]
        self.types = spec["types"]

    def token(self, member: str) -> str:
        return f"{PACKAGE}:index:{member}"

    def resource_inputs(self, token: str) -> dict:
        return self.resources[token].get("inputProperties", {})

    def resource_outputs(self, token: str) -> set[str]:
        return set(self.resources[token].get("properties", {})) | RESOURCE_BUILTINS

    def object_type_of(self, token: str, prop: str) -> str | None:
        """The object type token an input property refers to (`$ref`), if any."""
        spec = self.resource_inputs(token).get(prop, {})
        ref = spec.get("$ref", "")
        return ref.rsplit("/", 1)[-1] if ref.startswith("#/types/") else None

    def problems(self, uses: list[Use]) -> list[str]:
        found = []
        for use in uses:
            at = f"{use.where}:{use.line}"
            if use.kind == "resource":
                if use.token not in self.resources:
                    found.append(f"{at}: resource type {use.token!r} is not in schema.json")
                    continue
                inputs = self.resource_inputs(use.token)
                for name in use.names:
                    if name not in inputs:
                        found.append(f"{at}: {use.token} has no input property {name!r}")
                for name in self.resources[use.token].get("requiredInputs", []):
                    if name not in use.names:
                        found.append(f"{at}: {use.token} is missing its required input {name!r}")
            elif use.kind == "function":
                if use.token not in self.functions:
                    found.append(f"{at}: function {use.token!r} is not in schema.json")
                    continue
                inputs = self.functions[use.token].get("inputs", {}).get("properties", {})
                for name in use.names:
                    if name not in inputs:
                        found.append(f"{at}: {use.token} has no argument {name!r}")
            elif use.kind == "object":
                if use.token not in self.types:
                    found.append(f"{at}: object type {use.token!r} is not in schema.json")
                    continue
                spec = self.types[use.token]
                for name in use.names:
                    if name not in spec.get("properties", {}):
                        found.append(f"{at}: {use.token} has no property {name!r}")
                for name in spec.get("required", []):
                    if name not in use.names:
                        found.append(f"{at}: {use.token} is missing its required property {name!r}")
            elif use.kind == "output":
                if use.token in self.resources:
                    outputs = self.resource_outputs(use.token)
                elif use.token in self.functions:
                    outputs = set(self.functions[use.token].get("outputs", {}).get("properties", {}))
                else:
                    found.append(f"{at}: {use.token!r} is neither a resource nor a function of schema.json")
                    continue
                for name in use.names:
                    if name not in outputs:
                        found.append(f"{at}: {use.token} has no output property {name!r}")
            else:
                raise ValueError(f"unknown use kind {use.kind!r}")
        return found


def camel(snake: str) -> str:
    """fully_qualified_domain_name -> fullyQualifiedDomainName (the SDKs' Python names)."""
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def pascal(camel_name: str) -> str:
    return camel_name[:1].upper() + camel_name[1:]


# ---------------------------------------------------------------------------------------------
# Pulumi YAML

_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")


def _line_of(text: str, needle: str, start: int = 0) -> int:
    index = text.find(needle, start)
    return text.count("\n", 0, index) + 1 if index >= 0 else 0


def yaml_uses(path: Path, text: str | None = None) -> list[Use]:
    """The uses of a Pulumi YAML program: resource types and properties, `fn::invoke` functions
    and arguments, object-typed inputs (inline or through a variable), and every `${a.b}` read of
    a resource's or an invoke result's property. A `${name}` that is neither a resource, a
    variable nor a declared config key is reported as an unknown object type so it fails too."""
    import yaml  # PyYAML, pinned in tests/requirements.txt

    text = path.read_text() if text is None else text
    doc = yaml.safe_load(text)
    where = str(path.relative_to(REPO)) if path.is_absolute() and REPO in path.parents else str(path)
    schema = Schema()
    uses: list[Use] = []
    resources = doc.get("resources") or {}
    variables = doc.get("variables") or {}
    config = set((doc.get("config") or {}).keys())

    invoke_of: dict[str, str] = {}
    for name, value in variables.items():
        if isinstance(value, dict) and "fn::invoke" in value:
            call = value["fn::invoke"]
            token = call.get("function", "")
            invoke_of[name] = token
            uses.append(Use("function", token, sorted((call.get("arguments") or {}).keys()),
                            _line_of(text, f"function: {token}"), where))

    def resolve(value):
        """A property value, with `${variable}` (the whole value) replaced by the variable's."""
        if isinstance(value, str):
            whole = _INTERPOLATION.fullmatch(value.strip())
            if whole and whole.group(1) in variables and whole.group(1) not in invoke_of:
                return resolve(variables[whole.group(1)])
        return value

    for name, res in resources.items():
        token = res.get("type", "")
        line = _line_of(text, f"\n  {name}:")
        props = res.get("properties") or {}
        uses.append(Use("resource", token, sorted(props.keys()), line, where))
        if token not in schema.resources:
            continue
        for prop, value in props.items():
            object_type = schema.object_type_of(token, prop)
            value = resolve(value)
            if object_type and isinstance(value, dict):
                uses.append(Use("object", object_type, sorted(value.keys()), line, where))

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)

    refs = [ref for section in ("resources", "variables", "outputs")
            for s in strings(doc.get(section)) for ref in _INTERPOLATION.findall(s)]
    for ref in refs:
        head, _, rest = ref.partition(".")
        prop = re.split(r"[.\[]", rest)[0] if rest else ""
        line = _line_of(text, "${" + ref + "}")
        if head in resources:
            if prop:
                uses.append(Use("output", resources[head].get("type", ""), [prop], line, where))
        elif head in invoke_of:
            if prop:
                uses.append(Use("output", invoke_of[head], [prop], line, where))
        elif head not in variables and head not in config and not head.startswith("pulumi"):
            uses.append(Use("object", f"${{{ref}}} (no resource, variable or config key {head!r})", [], line, where))
    return uses


# ---------------------------------------------------------------------------------------------
# Python (the generated SDK `pulumi_pgentra`: snake_case names for the schema's camelCase ones)

SDK_MODULE = "pulumi_pgentra"
PY_RESOURCE_OPTIONS = {"opts"}
PY_FUNCTION_OPTIONS = {"opts"}


def python_uses(path: Path, text: str | None = None) -> list[Use]:
    """The uses of a Python program of the generated SDK: `pgentra.<Resource>(name, **inputs)`,
    `pgentra.<Type>Args(**fields)`, `pgentra.get_<fn>(**args)` (and `_output`), and attribute
    reads on names bound to those (by assignment or by a parameter's annotation). Any other
    `pgentra.<member>` is reported too. Raises SyntaxError when the program does not parse."""
    import ast

    text = path.read_text() if text is None else text
    tree = ast.parse(text, filename=str(path))
    where = str(path.relative_to(REPO)) if path.is_absolute() and REPO in path.parents else str(path)
    schema = Schema()
    aliases = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
               for a in node.names if a.name == SDK_MODULE}
    uses: list[Use] = []
    bound: dict[str, str] = {}  # variable or parameter name -> the token it holds

    def member(node) -> str | None:
        """`X` for an expression `pgentra.X`."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            return node.attr
        return None

    def token_of_call(call: ast.Call) -> tuple[str, str] | None:
        """(kind, token) a call of the SDK makes: a resource, an object type or a function."""
        name = member(call.func)
        if name is None:
            return None
        if name.startswith("get_"):
            fn = camel(name[: -len("_output")] if name.endswith("_output") else name)
            return "function", schema.token(fn)
        if name.endswith("Args"):
            return "object", schema.token(name[: -len("Args")])
        return "resource", schema.token(name)

    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    # First pass: which names hold SDK resources or function results.
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            made = token_of_call(node.value)
            if made and made[0] in ("resource", "function"):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        bound[target.id] = made[1]
        elif isinstance(node, ast.arg) and node.annotation is not None:
            name = member(node.annotation)
            if name:
                bound[node.arg] = schema.token(name)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            made = token_of_call(node)
            if made:
                kind, token = made
                keywords = [k.arg for k in node.keywords if k.arg is not None]
                options = PY_RESOURCE_OPTIONS if kind == "resource" else PY_FUNCTION_OPTIONS
                names = [camel(k) for k in keywords if not (kind != "object" and k in options)]
                uses.append(Use(kind, token, names, node.lineno, where))
                if kind == "resource" and token in schema.resources:
                    # Object-typed inputs given as dict literals ({"host": ...}) in the SDK's
                    # snake_case TypedDict form.
                    for k in node.keywords:
                        object_type = schema.object_type_of(token, camel(k.arg or ""))
                        if object_type and isinstance(k.value, ast.Dict):
                            keys = [camel(key.value) for key in k.value.keys if isinstance(key, ast.Constant)]
                            uses.append(Use("object", object_type, keys, node.lineno, where))
        elif isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id in bound:
                uses.append(Use("output", bound[node.value.id], [camel(node.attr)], node.lineno, where))
            name = member(node)
            if name is not None and id(node) not in called and not (name.startswith("get_") or name.endswith("Args")):
                # `pgentra.X` not called (an annotation, a value): X must be a resource class.
                if schema.token(name) not in schema.resources:
                    uses.append(Use("resource", schema.token(name), [], node.lineno, where))
    return uses


# ---------------------------------------------------------------------------------------------
# TypeScript (the generated SDK `@pgentra/pulumi`), read by the TypeScript compiler in ts_names.js

TS_MODULE = "@pgentra/pulumi"
TS_NAMES = Path(__file__).with_name("ts_names.js")


def typescript_uses(path: Path, node_modules: Path, text: str | None = None) -> list[Use]:
    """The uses of a TypeScript program, as the TypeScript compiler (from `node_modules`) reads
    it. Raises SyntaxError with the compiler's messages when the program does not parse."""
    import os
    import subprocess
    import tempfile

    where = str(path.relative_to(REPO)) if path.is_absolute() and REPO in path.parents else str(path)
    with tempfile.TemporaryDirectory() as scratch:
        if text is not None:
            path = Path(scratch) / path.name
            path.write_text(text)
        env = {**os.environ, "NODE_PATH": str(node_modules)}
        done = subprocess.run(["node", str(TS_NAMES), str(path), TS_MODULE], env=env,
                              capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"node {TS_NAMES.name} {where} failed: {done.stderr.strip()}")
    read = json.loads(done.stdout)
    if read["syntaxErrors"]:
        raise SyntaxError("\n".join(read["syntaxErrors"]))
    if not read["aliases"]:
        raise SyntaxError(f"{where} does not `import * as ... from \"{TS_MODULE}\"`")
    schema = Schema()
    uses = []
    for raw in read["uses"]:
        member, line = raw["member"], raw["line"]
        if raw["kind"] == "new":
            token = schema.token(member)
            uses.append(Use("resource", token, raw["keys"], line, where))
            if token in schema.resources:
                for prop, keys in raw["nested"].items():
                    object_type = schema.object_type_of(token, prop)
                    if object_type:
                        uses.append(Use("object", object_type, keys, line, where))
        elif raw["kind"] == "call":
            fn = member[: -len("Output")] if member.endswith("Output") else member
            uses.append(Use("function", schema.token(fn), raw["keys"], line, where))
        elif raw["kind"] == "access":
            made = raw["member"]
            if raw["made"] == "call" and made.endswith("Output"):
                made = made[: -len("Output")]
            uses.append(Use("output", schema.token(made), raw["keys"], line, where))
        elif raw["kind"] == "ref":
            if schema.token(member) not in schema.resources:
                uses.append(Use("resource", schema.token(member), [], line, where))
        else:
            raise ValueError(f"ts_names.js reported an unknown use {raw!r}")
    return uses
