"""The lock-out guard, through the provider process and the emulator: an update that turns
password sign-in off on a server with no Microsoft Entra administrator is refused before any
write, with the commands that add one; with an administrator it goes through; and a new
Entra-only server whose administrator comes later in the same stack is created as before."""

from __future__ import annotations

import grpc
import pytest

from arm_support import (  # noqa: F401 (fixtures are found by name in the module)
    PG_API,
    RG,
    SERVER,
    arm_conformance,
    azure,
    check,
    create,
    delete,
    emulator,
    server_inputs,
    update,
)
from harness import from_struct, secret

AD_ADMIN = "pgentra:index:AdAdmin"
PASSWORD = "Sup3r-Secret!"


def deployer_principal(emulator) -> dict:
    """The deployer's service principal in the emulator's directory (objectId, displayName)."""
    sps = emulator.state()["directory"]["servicePrincipals"]
    return next(sp for sp in sps if sp["appId"] == emulator.info["clientId"])


def admin_inputs(emulator, server: str) -> dict:
    me = deployer_principal(emulator)
    return {"resourceGroupName": RG, "serverName": server, "objectId": me["objectId"],
            "principalName": me["displayName"], "principalType": "ServicePrincipal"}


def add_entra_admin(emulator, server: str) -> None:
    """Makes the deployer the server's Entra administrator outside the stack (raw ARM) and waits."""
    me = deployer_principal(emulator)
    path = f"{emulator.path('server', server)}/administrators/{me['objectId']}"
    status, body = emulator.call("PUT", path, PG_API, {"properties": {
        "principalType": "ServicePrincipal", "principalName": me["displayName"], "tenantId": emulator.info["tenantId"]}})
    assert status in (200, 201, 202), (status, body)
    emulator.wait_until("the administrator", lambda: emulator.call("GET", path, PG_API)[0] == 200)
    emulator.ready_server(server)


def test_turning_password_auth_off_without_an_entra_admin_is_refused_with_the_fix(azure, emulator):
    name = "pg-lockout"
    before = check(azure, SERVER, "pg", server_inputs(
        name, passwordAuth="Enabled", administratorLogin="pgadmin", administratorLoginPassword=secret(PASSWORD)))
    created = create(azure, SERVER, "pg", before)
    state = from_struct(created.properties)
    emulator.ready_server(name)
    after = check(azure, SERVER, "pg", server_inputs(name, passwordAuth="Disabled"), olds=before)
    mark = len(emulator.exchanges())

    with pytest.raises(grpc.RpcError) as err:
        update(azure, SERVER, "pg", created.id, state, after, before)
    details = err.value.details()
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.value.code(), details)
    assert "no Microsoft Entra administrator" in details, details
    assert (f"az postgres flexible-server microsoft-entra-admin create --resource-group {RG} "
            f"--server-name {name}") in details, details
    assert "pgentra:index:AdAdmin" in details, details
    assert emulator.writes_to(emulator.path("server", name), since=mark) == [], "refused before the PATCH"
    assert emulator.ready_server(name)["properties"]["authConfig"]["passwordAuth"] == "Enabled"

    # The fix: an AdAdmin in the stack, then the same update goes through.
    admin = create(azure, AD_ADMIN, "admin", check(azure, AD_ADMIN, "admin", admin_inputs(emulator, name)))
    emulator.ready_server(name)
    updated = update(azure, SERVER, "pg", created.id, state, after, before)
    assert from_struct(updated.properties)["passwordAuth"] == "Disabled"
    assert emulator.ready_server(name)["properties"]["authConfig"]["passwordAuth"] == "Disabled"
    delete(azure, AD_ADMIN, "admin", admin.id, from_struct(admin.properties))
    delete(azure, SERVER, "pg", created.id, from_struct(updated.properties))


def test_a_new_entra_only_server_with_its_admin_in_the_same_stack_is_created(azure, emulator):
    name = "pg-entra-new"
    created = create(azure, SERVER, "pg", check(azure, SERVER, "pg", server_inputs(name, passwordAuth="Disabled")))
    assert from_struct(created.properties)["passwordAuth"] == "Disabled"
    admin = create(azure, AD_ADMIN, "admin", check(azure, AD_ADMIN, "admin", admin_inputs(emulator, name)))
    assert admin.id.lower().endswith(f"/administrators/{deployer_principal(emulator)['objectId']}".lower())
    delete(azure, AD_ADMIN, "admin", admin.id, from_struct(admin.properties))
    delete(azure, SERVER, "pg", created.id, from_struct(created.properties))
