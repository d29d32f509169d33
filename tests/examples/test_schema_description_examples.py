"""The YAML examples in schema.json's descriptions (rendered from the core's examples) name only
what the schema has: resource and function tokens, input properties (required ones present),
object-typed inputs and the outputs they read. The Python and TypeScript examples are type-checked
by tests/sdk, the HCL ones validated by tests/terraform."""

from __future__ import annotations

import json
import re
from pathlib import Path

from schema_names import REPO, Schema, yaml_uses

SCHEMA = json.loads((REPO / "schema.json").read_text())


def yaml_examples() -> dict[str, list[str]]:
    found = {}
    for section in ("resources", "functions"):
        for token, body in SCHEMA[section].items():
            found[token] = re.findall(r"```yaml\n(.*?)```", body["description"], re.DOTALL)
    return found


def test_every_yaml_example_names_only_what_the_schema_has():
    examples = yaml_examples()
    assert all(examples.values()), [token for token, blocks in examples.items() if not blocks]
    problems = []
    for token, blocks in examples.items():
        for number, block in enumerate(blocks):
            problems += Schema().problems(yaml_uses(Path(f"schema.json {token} example {number}"), block))
    assert problems == []


def test_a_yaml_example_with_a_wrong_property_is_caught():
    block = yaml_examples()["pgentra:index:Grant"][0].replace("objectType:", "objectKind:", 1)
    problems = Schema().problems(yaml_uses(Path("doctored"), block))
    assert any("no input property 'objectKind'" in p for p in problems), problems
