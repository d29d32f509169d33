"""The PasswordlessDatabase examples (examples/component/: YAML, Python, TypeScript) name only
what schema.json has, give the component every required input, and read only its outputs; a
doctored copy with a wrong name is caught, so the check is known to look."""

from __future__ import annotations

import pytest

from node_toolchain import node_modules
from schema_names import EXAMPLES, Schema, python_uses, typescript_uses, yaml_uses

COMPONENT = EXAMPLES / "component"
FILES = {"yaml": COMPONENT / "Pulumi.yaml", "python": COMPONENT / "__main__.py", "typescript": COMPONENT / "index.ts"}
TOKEN = "pgentra:index:PasswordlessDatabase"


def uses(language: str, text: str | None = None):
    path = FILES[language]
    if language == "yaml":
        return yaml_uses(path, text)
    if language == "python":
        return python_uses(path, text)
    return typescript_uses(path, node_modules(), text)


@pytest.mark.parametrize("language", sorted(FILES))
def test_the_component_example_names_only_what_the_schema_has(language):
    found = uses(language)
    assert Schema().problems(found) == []
    assert any(u.kind == "resource" and u.token == TOKEN for u in found), f"{language}: no {TOKEN}"
    assert any(u.kind == "output" and u.token == TOKEN and "connections" in u.names for u in found), language


DOCTORED = {
    "yaml": ("      databaseName: shop\n", "      database: shop\n", "PasswordlessDatabase has no input property 'database'"),
    "python": ('database_name="shop"', 'database="shop"', "PasswordlessDatabase has no input property 'database'"),
    "typescript": ('databaseName: "shop"', 'database: "shop"', "PasswordlessDatabase has no input property 'database'"),
}


@pytest.mark.parametrize("language", sorted(DOCTORED))
def test_a_doctored_component_example_is_caught(language):
    old, new, problem = DOCTORED[language]
    text = FILES[language].read_text()
    assert old in text, f"the control's anchor {old!r} is gone from the {language} example"
    problems = Schema().problems(uses(language, text.replace(old, new, 1)))
    assert any(problem in p for p in problems), problems
