"""Runs a Pulumi YAML program the way the YAML runtime would register it, against the mocks of
seed_stack.py: config (with the program's defaults), `fn::invoke` variables, `${...}`
interpolations of config, variables and resource outputs (a whole-value `${x}` keeps its type),
resources in dependency order, and `options.dependsOn`. It covers what Pulumi YAML offers that the
examples use, and refuses anything else (another `fn::`), so a program it cannot read fails."""

from __future__ import annotations

import re
from typing import Any, Callable

_REF = re.compile(r"\$\{([^}]*)\}")


class Unresolved(Exception):
    """A reference to a resource not registered yet."""


def run(doc: dict, config: dict, new_resource: Callable[[str, dict], dict], call: Callable[[str], dict]):
    """Returns (resources [{type, name, inputs, dependsOn}], calls [tokens], outputs)."""
    values = {key: config.get(key, (spec or {}).get("default")) for key, spec in (doc.get("config") or {}).items()}
    missing = [k for k, v in values.items() if v is None]
    assert not missing, f"required config not set: {missing}"
    variables = doc.get("variables") or {}
    resources = doc.get("resources") or {}
    states: dict[str, dict] = {}
    calls: list[str] = []
    invoked: dict[str, dict] = {}

    def lookup(ref: str, refs: set[str]):
        head, _, path = ref.partition(".")
        if head in resources:
            if head not in states:
                raise Unresolved(head)
            refs.add(head)
            value: Any = states[head]
        elif head in variables:
            value = variable(head, refs)
        elif head in values:
            value = values[head]
        else:
            raise KeyError(f"${{{ref}}}: no resource, variable or config key {head!r}")
        for part in filter(None, path.split(".")):
            value = value[part]
        return value

    def variable(name: str, refs: set[str]):
        spec = variables[name]
        if isinstance(spec, dict) and "fn::invoke" in spec:
            if name not in invoked:
                token = spec["fn::invoke"]["function"]
                calls.append(token)
                invoked[name] = call(token)
            return invoked[name]
        return evaluate(spec, refs)

    def evaluate(value, refs: set[str]):
        if isinstance(value, str):
            whole = _REF.fullmatch(value)
            if whole:
                return lookup(whole.group(1), refs)
            return _REF.sub(lambda m: str(lookup(m.group(1), refs)), value)
        if isinstance(value, list):
            return [evaluate(v, refs) for v in value]
        if isinstance(value, dict):
            fns = [k for k in value if k.startswith("fn::")]
            assert not fns, f"{fns} is not supported by this reader"
            return {k: evaluate(v, refs) for k, v in value.items()}
        return value

    registered = []
    pending = list(resources)
    while pending:
        progressed = False
        for name in list(pending):
            spec = resources[name]
            refs: set[str] = set()
            try:
                inputs = evaluate(spec.get("properties") or {}, refs)
                evaluate((spec.get("options") or {}).get("dependsOn") or [], refs)  # adds to refs
            except Unresolved:
                continue
            states[name] = new_resource(spec["type"], inputs)
            registered.append({"type": spec["type"], "name": name, "inputs": inputs, "dependsOn": sorted(refs)})
            pending.remove(name)
            progressed = True
        assert progressed, f"these resources wait on each other: {pending}"

    outputs = evaluate(doc.get("outputs") or {}, set())
    return registered, calls, outputs
