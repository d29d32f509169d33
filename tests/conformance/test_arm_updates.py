"""Changes to live ARM resources through the provider, against `pgentra emulator`: a server moved
to Entra-only in place, storage grown in place, a server parameter reset to its default by
Delete, and a server imported from its ARM ID alone."""

from __future__ import annotations

from arm_support import (  # noqa: F401 (fixtures are found by name in the module)
    PG_API,
    RG,
    SERVER,
    SERVER_PARAMETER,
    DiffChanges,
    arm_conformance,
    azure,
    check,
    create,
    delete,
    diffed_properties,
    emulator,
    read,
    server_inputs,
    update,
)
from harness import from_struct, plaintext_leaks, secret
from test_lockout_guard import add_entra_admin

PASSWORD = "Sup3r-Secret!"


def test_a_password_server_moves_to_entra_only_in_place(azure, emulator):
    """azure-native users lose servers to this: turning password sign-in off (and dropping the
    login and password from the program) must PATCH the same server, never replace it."""
    path = emulator.path("server", "pg-entra-only")
    before = check(azure, SERVER, "pg", server_inputs(
        "pg-entra-only", passwordAuth="Enabled", administratorLogin="pgadmin",
        administratorLoginPassword=secret(PASSWORD)))
    created = create(azure, SERVER, "pg", before)
    state = from_struct(created.properties)
    assert state["passwordAuth"] == "Enabled"
    assert not plaintext_leaks(state, PASSWORD), "the password must stay a secret in the state"
    live = emulator.ready_server("pg-entra-only")
    assert live["properties"]["authConfig"]["passwordAuth"] == "Enabled"
    fqdn = live["properties"]["fullyQualifiedDomainName"]
    # An Entra admin first: without one the lock-out guard refuses the switch (test_lockout_guard.py).
    add_entra_admin(emulator, "pg-entra-only")
    mark = len(emulator.exchanges())

    resp = azure.check(SERVER, "pg", server_inputs("pg-entra-only", passwordAuth="Disabled"), olds=before)
    assert not resp.failures, [(f.property, f.reason) for f in resp.failures]
    after = from_struct(resp.inputs)

    diff = azure.diff(SERVER, "pg", state, after, old_inputs=before, id=created.id)
    assert diff.changes == DiffChanges.DIFF_SOME
    assert list(diff.replaces) == [], f"moving to Entra-only must not replace the server: {list(diff.replaces)}"
    assert "passwordAuth" in diffed_properties(diff)
    assert not diff.deleteBeforeReplace

    updated = update(azure, SERVER, "pg", created.id, state, after, before)
    assert from_struct(updated.properties)["passwordAuth"] == "Disabled"
    live = emulator.ready_server("pg-entra-only")
    assert live["properties"]["authConfig"]["passwordAuth"] == "Disabled"
    assert live["properties"]["authConfig"]["activeDirectoryAuth"] == "Enabled"
    assert live["id"].lower() == path.lower() and live["properties"]["fullyQualifiedDomainName"] == fqdn
    writes = emulator.writes_to(path, since=mark)
    assert [m for m, _ in writes] == ["PATCH"], f"one PATCH, nothing deleted or re-created: {writes}"


def test_storage_grows_in_place_from_64_to_128_gb(azure, emulator):
    path = emulator.path("server", "pg-grow")
    before = check(azure, SERVER, "pg", server_inputs("pg-grow", storageSizeGb=64))
    created = create(azure, SERVER, "pg", before)
    state = from_struct(created.properties)
    mark = len(emulator.exchanges())

    after = check(azure, SERVER, "pg", server_inputs("pg-grow", storageSizeGb=128), olds=before)
    diff = azure.diff(SERVER, "pg", state, after, old_inputs=before, id=created.id)
    assert diff.changes == DiffChanges.DIFF_SOME and list(diff.replaces) == []
    assert diffed_properties(diff) == {"storageSizeGb"}

    updated = update(azure, SERVER, "pg", created.id, state, after, before)
    assert from_struct(updated.properties)["storageSizeGb"] == 128
    live = emulator.ready_server("pg-grow")
    assert live["properties"]["storage"]["storageSizeGB"] == 128
    assert [m for m, _ in emulator.writes_to(path, since=mark)] == ["PATCH"]


def test_a_deleted_server_parameter_goes_back_to_its_default(azure, emulator):
    create(azure, SERVER, "pg", check(azure, SERVER, "pg", server_inputs("pg-params")))
    param = emulator.path("server", "pg-params", "configurations", "azure.extensions")
    inputs = check(azure, SERVER_PARAMETER, "ext", {"resourceGroupName": RG, "serverName": "pg-params",
                                                    "name": "azure.extensions", "value": "PGCRYPTO"})
    created = create(azure, SERVER_PARAMETER, "ext", inputs)
    state = from_struct(created.properties)
    assert created.id.lower() == param.lower()
    status, live = emulator.call("GET", param, PG_API)
    assert status == 200 and live["properties"]["value"] == "PGCRYPTO"
    assert live["properties"]["source"] == "user-override"
    default = live["properties"]["defaultValue"]

    delete(azure, SERVER_PARAMETER, "ext", created.id, state)
    status, live = emulator.call("GET", param, PG_API)
    assert status == 200, "a parameter always exists on its server"
    assert live["properties"]["value"] == default, live["properties"]
    assert live["properties"]["source"] == "system-default", live["properties"]


def test_a_server_imported_by_its_arm_id_alone_gives_inputs_check_accepts(azure, emulator):
    path = emulator.path("server", "pg-someone-made")
    status, _ = emulator.call("PUT", path, PG_API, {
        "location": "eastus", "tags": {"owner": "dba"},
        "sku": {"name": "Standard_D2s_v3", "tier": "GeneralPurpose"},
        "properties": {"version": "16", "storage": {"storageSizeGB": 128},
                       "authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled",
                                      "tenantId": emulator.info["tenantId"]}},
    })
    assert status in (200, 201, 202), status
    emulator.ready_server("pg-someone-made")

    imported = read(azure, SERVER, "pg", path)
    assert imported.id.lower() == path.lower()
    assert imported.HasField("inputs"), "without inputs the engine says the provider cannot import"
    inputs = from_struct(imported.inputs)
    assert {k: inputs.get(k) for k in ("resourceGroupName", "serverName", "location", "version", "skuName",
                                       "skuTier", "storageSizeGb", "activeDirectoryAuth", "passwordAuth")} == {
        "resourceGroupName": RG, "serverName": "pg-someone-made", "location": "eastus", "version": "16",
        "skuName": "Standard_D2s_v3", "skuTier": "GeneralPurpose", "storageSizeGb": 128,
        "activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"}

    # The engine's import: Check(olds = inputs from Read, news = the same inputs), then Diff.
    resp = azure.check(SERVER, "pg", inputs, olds=inputs)
    assert not resp.failures, [(f.property, f.reason) for f in resp.failures]
    checked = from_struct(resp.inputs)
    diff = azure.diff(SERVER, "pg", from_struct(imported.properties), checked, old_inputs=inputs, id=imported.id)
    assert diff.changes == DiffChanges.DIFF_NONE, f"an import must not plan a change: {diffed_properties(diff)}"
