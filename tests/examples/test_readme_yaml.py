"""The README's Pulumi YAML snippet is a program wired like examples/yaml: every property the
example takes from another resource's output (a server's name, its host, the admin's name, a
principal's role name, a database's name, an identity's name and principal id) the snippet takes
from the same output too, never as a literal repeated in two resources; it names only what
schema.json has, and it evaluates (its references resolve, in dependency order)."""

from __future__ import annotations

import re

import pytest
import yaml

import seed_stack
from schema_names import EXAMPLES, REPO, Schema, yaml_uses
from yaml_program import run

README = REPO / "README.md"
_REF = re.compile(r"\$\{([^}]*)\}")


def snippet(text: str) -> str:
    """The YAML block of the README's Resources section."""
    section = text.split("\n## Resources\n", 1)[1]
    return section.split("```yaml\n", 1)[1].split("```\n", 1)[0]


def resource_properties(doc: dict) -> dict[str, tuple[str, dict[str, object]]]:
    """Each resource's (type, {property path: value}), with plain variables substituted (the
    example passes its connection through one) and nested objects flattened to dotted paths."""
    variables = doc.get("variables") or {}

    def flatten(value, path: str, into: dict):
        if isinstance(value, str):
            whole = _REF.fullmatch(value)
            plain = whole and whole.group(1) in variables and not _is_invoke(variables[whole.group(1)])
            if plain:
                return flatten(variables[whole.group(1)], path, into)
            into[path] = value
        elif isinstance(value, dict):
            for key, inner in value.items():
                flatten(inner, f"{path}.{key}" if path else key, into)
        else:
            into[path] = value
        return into

    return {name: (spec["type"], flatten(spec.get("properties") or {}, "", {}))
            for name, spec in (doc.get("resources") or {}).items()}


def _is_invoke(value) -> bool:
    return isinstance(value, dict) and any(key.startswith("fn::") for key in value)


def output_reference(value, resources: dict) -> tuple[str, str] | None:
    """(the referenced resource's type, the output) when `value` is exactly `${resource.output}`."""
    whole = _REF.fullmatch(value) if isinstance(value, str) else None
    if not whole:
        return None
    head, _, output = whole.group(1).partition(".")
    return (resources[head][0], output) if head in resources and output else None


def wiring_rules(example: dict) -> dict[tuple[str, str], tuple[str, str]]:
    """(type, property path) -> (type, output), for each property every resource of that type in
    the example takes from the same kind of output."""
    resources = resource_properties(example)
    seen: dict[tuple[str, str], set] = {}
    for rtype, props in resources.values():
        for path, value in props.items():
            seen.setdefault((rtype, path), set()).add(output_reference(value, resources))
    return {key: refs.pop() for key, refs in seen.items() if len(refs) == 1 and None not in refs}


def wiring_problems(readme_text: str) -> list[str]:
    example = yaml.safe_load((EXAMPLES / "yaml" / "Pulumi.yaml").read_text())
    doc = yaml.safe_load(snippet(readme_text))
    resources = resource_properties(doc)
    rules = wiring_rules(example)
    problems = []
    for name, (rtype, props) in resources.items():
        for path, value in props.items():
            wanted = rules.get((rtype, path))
            if wanted and output_reference(value, resources) != wanted:
                problems.append(f"{name}.{path} is {value!r}; examples/yaml takes it from the output "
                                f"{wanted[1]} of a {wanted[0].split(':')[-1]}")
    users: dict[str, set[str]] = {}
    for name, (_, props) in resources.items():
        for value in props.values():
            for literal in value if isinstance(value, list) else [value]:
                if isinstance(literal, str) and "${" not in literal:
                    users.setdefault(literal, set()).add(name)
    problems += [f"the literal {literal!r} is repeated in {sorted(names)}: reference one resource's output"
                 for literal, names in users.items() if len(names) > 1]
    return problems


def test_the_wiring_rules_come_from_the_example():
    rules = wiring_rules(yaml.safe_load((EXAMPLES / "yaml" / "Pulumi.yaml").read_text()))
    t = "pgentra:index:"
    assert rules[(t + "AdAdmin", "serverName")] == (t + "FlexibleServer", "serverName")
    assert rules[(t + "Grant", "connection.host")] == (t + "FlexibleServer", "fullyQualifiedDomainName")
    assert rules[(t + "Grant", "connection.username")] == (t + "AdAdmin", "principalName")
    assert rules[(t + "Grant", "role")] == (t + "Principal", "name")
    assert rules[(t + "Grant", "database")] == (t + "Database", "name")


def test_the_readme_snippet_is_wired_like_examples_yaml():
    assert wiring_problems(README.read_text()) == []


def test_the_readme_snippet_names_only_what_the_schema_has():
    uses = yaml_uses(README, snippet(README.read_text()))
    assert uses, "the snippet names resources"
    assert Schema().problems(uses) == []


def test_the_readme_snippet_evaluates_in_dependency_order():
    doc = yaml.safe_load(snippet(README.read_text()))
    config = {"adminGroupObjectId": seed_stack.CONFIG["adminGroupObjectId"]}
    resources, _, _ = run(doc, config, seed_stack.mock_state, seed_stack.mock_call)
    assert len(resources) == len(doc["resources"])
    grant = next(r for r in resources if r["type"] == seed_stack.GRANT)
    assert grant["inputs"]["connection"] == {"host": seed_stack.fqdn("pg-myapp-prod"), "username": "PG Admins"}
    assert grant["inputs"]["role"] == "app-myapp-prod"


DOCTORED = [
    ('serverName: "${server.serverName}",\n                 objectId', 'serverName: pg-myapp-prod,\n                 objectId',
     "admin.serverName"),
    ('role: "${appRole.name}"', "role: app-myapp-prod", "appTables.role"),
    ('username: "${admin.principalName}"}\n      role', "username: PG Admins}\n      role", "repeated"),
]


@pytest.mark.parametrize("old,new,says", DOCTORED, ids=[d[2] for d in DOCTORED])
def test_a_snippet_with_literals_in_place_of_references_fails_the_check(old, new, says):
    text = README.read_text()
    assert old in text, f"the control's anchor {old!r} is gone from the README snippet: update the control"
    problems = wiring_problems(text.replace(old, new, 1))
    assert any(says in p for p in problems), problems
