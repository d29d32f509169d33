"""Refresh finds what was changed outside the stack (raw ARM calls against `pgentra emulator`):
Read reports the live values, and the engine's Diff of the refreshed state against the program's
inputs names the drifted properties."""

from __future__ import annotations

from arm_support import (  # noqa: F401 (fixtures are found by name in the module)
    FIREWALL_RULE,
    PG_API,
    RG,
    SERVER,
    DiffChanges,
    arm_conformance,
    azure,
    check,
    create,
    diffed_properties,
    emulator,
    read,
    server_inputs,
)
from harness import from_struct


def test_refresh_finds_password_auth_re_enabled_and_a_firewall_rule_widened_outside(azure, emulator):
    server_program = server_inputs("pg-drift")
    server_in = check(azure, SERVER, "pg", server_program)
    server = create(azure, SERVER, "pg", server_in)
    server_state = from_struct(server.properties)
    assert server_state["passwordAuth"] == "Disabled"
    rule_program = {"resourceGroupName": RG, "serverName": "pg-drift", "name": "deployer",
                    "startIpAddress": "203.0.113.7", "endIpAddress": "203.0.113.7"}
    rule_in = check(azure, FIREWALL_RULE, "fw", rule_program)
    rule = create(azure, FIREWALL_RULE, "fw", rule_in)
    rule_state = from_struct(rule.properties)

    # Someone turns password sign-in back on in the portal (Azure then wants a login) ...
    status, answer = emulator.call("PATCH", emulator.path("server", "pg-drift"), PG_API, {"properties": {
        "administratorLogin": "portaladmin", "administratorLoginPassword": "P0rtal-Passw0rd!",
        "authConfig": {"passwordAuth": "Enabled"}}})
    assert status in (200, 202), (status, answer)
    live = emulator.ready_server("pg-drift")
    assert live["properties"]["authConfig"]["passwordAuth"] == "Enabled"
    # ... and opens the firewall to a whole range.
    rule_path = emulator.path("server", "pg-drift", "firewallRules", "deployer")
    status, answer = emulator.call("PUT", rule_path, PG_API,
                                   {"properties": {"startIpAddress": "203.0.113.7", "endIpAddress": "203.0.113.255"}})
    assert status in (200, 201, 202), (status, answer)
    emulator.ready_server("pg-drift")
    assert emulator.call("GET", rule_path, PG_API)[1]["properties"]["endIpAddress"] == "203.0.113.255"

    # Refresh: Read with the state and inputs the engine holds.
    refreshed = read(azure, SERVER, "pg", server.id, server_state, server_in)
    assert refreshed.id == server.id
    assert from_struct(refreshed.properties)["passwordAuth"] == "Enabled"
    assert from_struct(refreshed.inputs)["passwordAuth"] == "Enabled"
    refreshed_rule = read(azure, FIREWALL_RULE, "fw", rule.id, rule_state, rule_in)
    assert from_struct(refreshed_rule.properties)["endIpAddress"] == "203.0.113.255"
    assert from_struct(refreshed_rule.inputs)["endIpAddress"] == "203.0.113.255"

    # The next `up`: Check the program against the refreshed inputs, then Diff against the refreshed state.
    rule_next = check(azure, FIREWALL_RULE, "fw", rule_program, olds=from_struct(refreshed_rule.inputs))
    diff = azure.diff(FIREWALL_RULE, "fw", from_struct(refreshed_rule.properties), rule_next,
                      old_inputs=from_struct(refreshed_rule.inputs), id=rule.id)
    assert diff.changes == DiffChanges.DIFF_SOME and diffed_properties(diff) == {"endIpAddress"}
    assert list(diff.replaces) == []
    server_next = check(azure, SERVER, "pg", server_program, olds=from_struct(refreshed.inputs))
    diff = azure.diff(SERVER, "pg", from_struct(refreshed.properties), server_next,
                      old_inputs=from_struct(refreshed.inputs), id=server.id)
    assert diff.changes == DiffChanges.DIFF_SOME and "passwordAuth" in diffed_properties(diff)
    # Azure keeps a login once set: putting passwordAuth back is a PATCH, never a new server.
    assert list(diff.replaces) == [], f"undoing the drift must not replace the server: {list(diff.replaces)}"


def test_a_refresh_without_drift_leaves_the_next_up_with_nothing_to_do(azure, emulator):
    """Read finds values the program never set (the admin's tenantId, the database's charset and
    collation); they stay out of the refreshed inputs, so the next `up` neither updates nor (for
    tenantId, which forces one) replaces anything."""
    create(azure, SERVER, "pg-quiet", check(azure, SERVER, "pg-quiet", server_inputs("pg-quiet")))
    programs = {
        "pgentra:index:AdAdmin": {"resourceGroupName": RG, "serverName": "pg-quiet", "principalType": "Group",
                                  "objectId": "6a3e2a40-8d8c-4f5e-9b8a-0c1d2e3f4a5b", "principalName": "PG Admins"},
        "pgentra:index:Database": {"resourceGroupName": RG, "serverName": "pg-quiet", "name": "myappdb"},
    }
    for token, program in programs.items():
        inputs = check(azure, token, "r", program)
        created = create(azure, token, "r", inputs)
        refreshed = read(azure, token, "r", created.id, from_struct(created.properties), inputs)
        state = from_struct(refreshed.properties)
        assert state.get("tenantId") or state.get("charset"), f"{token}: Read reports what Azure filled in: {state}"
        assert set(from_struct(refreshed.inputs)) <= set(inputs), \
            f"{token}: the refresh added inputs the program never set: {set(from_struct(refreshed.inputs)) - set(inputs)}"
        following = check(azure, token, "r", program, olds=from_struct(refreshed.inputs))
        diff = azure.diff(token, "r", state, following, old_inputs=from_struct(refreshed.inputs), id=created.id)
        assert diff.changes == DiffChanges.DIFF_NONE, (token, diffed_properties(diff), list(diff.replaces))
