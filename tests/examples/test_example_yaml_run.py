"""The YAML example, evaluated as the Pulumi YAML runtime registers it against mocks (see
yaml_program.py), registers the seed's whole stack wired as the seed needs it."""

from __future__ import annotations

import pytest
import yaml

import seed_stack
from schema_names import EXAMPLES
from yaml_program import run


def test_the_yaml_example_registers_the_seed_stack():
    doc = yaml.safe_load((EXAMPLES / "yaml" / "Pulumi.yaml").read_text())
    resources, calls, outputs = run(doc, seed_stack.CONFIG, seed_stack.mock_state, seed_stack.mock_call)
    seed_stack.assert_seed_stack(resources, calls, outputs)


DOCTORED = [
    ("passwordAuth: Disabled", "passwordAuth: Enabled", "passwordAuth"),
    ("host: ${server.fullyQualifiedDomainName}", "host: ${serverName}.postgres.database.azure.com", "connection"),
    ("    options:\n      dependsOn:\n        - ${deployerFirewallRule}\n", "", "firewall"),
    ("      defaultPrivileges: true\n", "", "missing"),
    ("subject: system:serviceaccount:myapp-ns:myapp-sa", "subject: system:serviceaccount:default:myapp-sa", "subject"),
]


@pytest.mark.parametrize("old,new,says", DOCTORED, ids=[d[2] for d in DOCTORED])
def test_a_doctored_yaml_example_fails_the_check(old, new, says):
    text = (EXAMPLES / "yaml" / "Pulumi.yaml").read_text()
    assert old in text, f"the control's anchor {old!r} is gone from the YAML example: update the control"
    doc = yaml.safe_load(text.replace(old, new, 1))
    resources, calls, outputs = run(doc, seed_stack.CONFIG, seed_stack.mock_state, seed_stack.mock_call)
    with pytest.raises(AssertionError, match=says):
        seed_stack.assert_seed_stack(resources, calls, outputs)
