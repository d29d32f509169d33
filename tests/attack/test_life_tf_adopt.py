"""Issue 11, 5b for Terraform: a create whose answer Terraform never recorded (the provider died
after Azure created the identity) is adopted by the next Terraform create of the same resource,
with a warning in the provider's log, instead of failing "already exists" forever or taking it
over silently. Terraform tells a provider nothing of its workspace, so the mark is the resource
type's (documented in README.md); a resource without it is refused with the import command.

Run: cargo build --bins && .venv/bin/python -m pytest tests/attack/test_life_tf_adopt.py -q
"""

from __future__ import annotations

import sys
from pathlib import Path

TERRAFORM_TESTS = Path(__file__).resolve().parents[1] / "terraform"
if str(TERRAFORM_TESTS) not in sys.path:
    sys.path.insert(0, str(TERRAFORM_TESTS))

from test_tf_rpc import (  # noqa: E402,F401 (fixtures are found by name in the module)
    IDENTITY,
    apply,
    configured,
    emulator,
    emulator_resource_group,
    errors,
    plugin,
    unpack,
)


def test_an_identity_whose_create_terraform_never_recorded_is_adopted_and_a_foreign_one_refused(configured, emulator):
    rg = emulator_resource_group(emulator, "rg-life-tf-adopt")
    config = configured.object(IDENTITY, resource_group_name=rg, name="id-life-tf", location="eastus",
                               tags={"env": "test"})
    planned = unpack(configured.plan(IDENTITY, None, config).planned_state.msgpack)
    lost = apply(configured, IDENTITY, None, planned, config)  # Terraform never saw this answer
    assert errors(lost.diagnostics) == [], lost.diagnostics
    again = apply(configured, IDENTITY, None, planned, config)
    assert errors(again.diagnostics) == [], list(again.diagnostics)
    state = unpack(again.new_state.msgpack)
    assert state["id"] == unpack(lost.new_state.msgpack)["id"] and state["tags"] == {"env": "test"}

    sub = emulator.info["subscriptionId"]
    foreign = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-life-tf-foreign"
    status, body = emulator.arm("PUT", foreign, "2024-11-30", {"location": "eastus"})
    assert status in (200, 201), (status, body)
    config = configured.object(IDENTITY, resource_group_name=rg, name="id-life-tf-foreign", location="eastus")
    planned = unpack(configured.plan(IDENTITY, None, config).planned_state.msgpack)
    refused = apply(configured, IDENTITY, None, planned, config)
    (diagnostic,) = errors(refused.diagnostics)
    assert "terraform import" in diagnostic.detail + diagnostic.summary, (diagnostic.summary, diagnostic.detail)
    assert sorted(i["id"].lower() for i in emulator.identities(rg)) == sorted(
        [state["id"].lower(), foreign.lower()])

    log = configured.close()
    assert "adopting" in log and "id-life-tf" in log, log[-3000:]
    assert "eyJ" not in log, "a token reached the provider's log"
