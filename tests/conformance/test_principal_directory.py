"""Roles bound to Entra objects that changed under them, through the provider process and the
emulator (its PostgreSQL gateway and its Microsoft Graph): a principal deleted and re-created
under the same name (a new object ID) shows as drift on refresh and Update re-binds the same role
in place; a renamed one shows as drift; `pgentra doctor` lists the role whose object is gone.

The provider asks Graph only because its configuration names graphEndpoint (here the emulator).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import urllib.parse
import urllib.request

import pytest

from arm_support import (  # noqa: F401 (fixtures are found by name in the module)
    EMULATOR,
    RG,
    SERVER,
    arm_conformance,
    check,
    create,
    delete,
    diffed_properties,
    emulator,
    read,
    server_inputs,
    update,
)
from harness import from_struct, secret
from test_sql_chain import AD_ADMIN, PRINCIPAL, POSTGRES_RESOURCE, Hidden, Psql, deployer, destroy, gateway_port


@pytest.fixture
def graph_azure(spawn, emulator):
    """A provider configured for the emulator's deployer that may ask the emulator's Graph."""
    config = dict(emulator.info["providerConfig"])
    config["clientSecret"] = secret(config["clientSecret"])
    config["graphEndpoint"] = emulator.info["armEndpoint"]
    yield spawn().start(config)
    emulator.clear_faults()


def sp_token(emulator, sp: dict, resource: str = POSTGRES_RESOURCE) -> str:
    """A token of a service principal (client credentials), for `resource`."""
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": sp["appId"],
                                   "client_secret": sp["clientSecret"], "scope": f"{resource}/.default"}).encode()
    with urllib.request.urlopen(emulator.info["tokenEndpoint"], form, context=emulator.tls, timeout=10) as resp:
        return Hidden(json.load(resp)["access_token"])


def directory(emulator, method: str, object_id: str, body: dict | None = None) -> None:
    status, answer = emulator._admin(method, f"directory/{object_id}", body)
    assert status == 204, f"{method} /_emulator/directory/{object_id}: {status} {answer}"


def graph_get(emulator, path: str, token: str | None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(f"{emulator.info['armEndpoint']}/v1.0/{path}", headers=headers)
    try:
        with urllib.request.urlopen(req, context=emulator.tls, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_graph_answers_directory_objects_and_graphs_own_404(emulator):
    sp = emulator.admin("directory/servicePrincipals", {"displayName": f"id-graph-{secrets.token_hex(3)}"})
    deployer_sp = {"appId": emulator.info["clientId"], "clientSecret": emulator.info["clientSecret"]}
    token = sp_token(emulator, deployer_sp, "https://graph.microsoft.com")
    status, body = graph_get(emulator, f"directoryObjects/{sp['objectId']}", token)
    assert status == 200 and body["@odata.type"] == "#microsoft.graph.servicePrincipal", body
    assert body["displayName"] == sp["displayName"] and body["id"] == sp["objectId"]
    status, body = graph_get(emulator, f"servicePrincipals/{sp['objectId']}", token)
    assert status == 200 and body["appId"] == sp["appId"], body
    # Another type's collection, a deleted object: Graph's 404.
    status, body = graph_get(emulator, f"users/{sp['objectId']}", token)
    assert status == 404 and body["error"]["code"] == "Request_ResourceNotFound", body
    directory(emulator, "DELETE", sp["objectId"])
    status, body = graph_get(emulator, f"directoryObjects/{sp['objectId']}", token)
    assert status == 404 and body["error"]["code"] == "Request_ResourceNotFound", body
    assert "request-id" in body["error"]["innerError"]
    # Only a Graph token opens it.
    assert graph_get(emulator, f"directoryObjects/{sp['objectId']}", None)[0] == 401
    arm_token = sp_token(emulator, deployer_sp, "https://management.azure.com")
    status, body = graph_get(emulator, f"directoryObjects/{sp['objectId']}", arm_token)
    assert status == 401 and body["error"]["code"] == "InvalidAuthenticationToken", body


def test_a_re_created_principal_is_drift_and_up_re_binds_the_same_role(graph_azure, emulator, engine):
    azure = graph_azure
    me = deployer(azure, emulator)
    server_name = f"pg-rebind-{secrets.token_hex(2)}"
    role = f"id-rebind-{secrets.token_hex(3)}"
    made: list[tuple[str, str, str, dict]] = []

    def up(token: str, name: str, news: dict) -> tuple[dict, dict]:
        inputs = check(azure, token, name, news)
        created = create(azure, token, name, inputs)
        made.append((token, name, created.id, from_struct(created.properties)))
        return inputs, made[-1][3]

    try:
        _, server = up(SERVER, "pg", server_inputs(server_name))
        fqdn = server["fullyQualifiedDomainName"]
        up(AD_ADMIN, "admin", {"resourceGroupName": RG, "serverName": server_name, "objectId": me["objectId"],
                               "principalName": me["name"], "principalType": "ServicePrincipal"})
        port, _ = gateway_port(emulator, fqdn)
        connection = {"host": fqdn, "port": port, "database": "postgres", "username": me["name"],
                      "sslMode": "verify-full"}
        psql = Psql(fqdn, port, emulator.info["caCertFile"])
        admin_token = Hidden(sp_token(emulator, {"appId": emulator.info["clientId"],
                                                 "clientSecret": emulator.info["clientSecret"]}))

        first = emulator.admin("directory/servicePrincipals", {"displayName": role})
        program = {"connection": connection, "name": role, "objectId": first["objectId"], "principalType": "service"}
        inputs, state = up(PRINCIPAL, "app", program)
        principal_id = made[-1][2]
        assert state["directoryName"] == role, state
        role_oid = psql.ok(me["name"], admin_token, "postgres", f"SELECT oid FROM pg_roles WHERE rolname = '{role}'")
        assert psql.ok(role, sp_token(emulator, first), "postgres", "SELECT current_user") == role

        # Deleted and re-created under the same name: a new object ID, and the old token's role is orphaned.
        directory(emulator, "DELETE", first["objectId"])
        second = emulator.admin("directory/servicePrincipals", {"displayName": role})
        assert second["objectId"] != first["objectId"]
        refused = psql.refused(role, sp_token(emulator, second), "postgres", "SELECT 1")
        assert "password authentication failed" in refused and second["objectId"] in refused, refused

        # Refresh: the directory no longer has the bound object.
        refreshed = read(azure, PRINCIPAL, "app", principal_id, state, inputs)
        outputs = from_struct(refreshed.properties)
        assert outputs["directoryName"] == "" and state["directoryName"] == role, "refresh shows the drift"
        assert from_struct(refreshed.inputs)["objectId"] == first["objectId"], "still bound to the old object"
        emulator.wait_until("the refresh's warning naming the re-created object", lambda: [
            m for m in engine.messages() if "no longer exists" in m and first["objectId"] in m
            and f"now has the object ID {second['objectId']} (re-created)" in m])

        # The program names the new object (as `objectId: identity.principalId` would): `up` re-binds in place.
        news = check(azure, PRINCIPAL, "app", {**program, "objectId": second["objectId"]},
                     olds=from_struct(refreshed.inputs))
        diff = azure.diff(PRINCIPAL, "app", outputs, news, old_inputs=from_struct(refreshed.inputs), id=principal_id)
        assert diffed_properties(diff) == {"objectId"} and not list(diff.replaces), diffed_properties(diff)
        updated = from_struct(update(azure, PRINCIPAL, "app", principal_id, outputs, news,
                                     from_struct(refreshed.inputs)).properties)
        assert updated["objectId"] == second["objectId"] and updated["directoryName"] == role, updated
        bound = psql.ok(me["name"], admin_token, "postgres",
                        f"SELECT objectid FROM pgaadauth_list_principals(false) WHERE rolname = '{role}'")
        assert bound == second["objectId"], bound
        assert psql.ok(me["name"], admin_token, "postgres",
                       f"SELECT oid FROM pg_roles WHERE rolname = '{role}'") == role_oid, "the same role, not a new one"
        assert psql.ok(role, sp_token(emulator, second), "postgres", "SELECT current_user") == role, \
            "the re-created principal signs in, with the role's privileges kept"
        made[-1] = (PRINCIPAL, "app", principal_id, updated)

        # Renamed in Entra: refresh shows the new name against the role's.
        directory(emulator, "PATCH", second["objectId"], {"displayName": f"{role}-renamed"})
        renamed = read(azure, PRINCIPAL, "app", principal_id, updated, news)
        assert from_struct(renamed.properties)["directoryName"] == f"{role}-renamed"
        emulator.wait_until("the rename's warning", lambda: [
            m for m in engine.messages() if "renamed" in m and f"{role}-renamed" in m])
    except BaseException:
        destroy(azure, made, quietly=True)
        raise
    destroy(azure, made)


def test_doctor_lists_the_role_whose_object_was_re_created(graph_azure, emulator):
    azure = graph_azure
    me = deployer(azure, emulator)
    server_name = f"pg-orphan-{secrets.token_hex(2)}"
    role = f"id-orphan-{secrets.token_hex(3)}"
    made: list[tuple[str, str, str, dict]] = []

    def up(token: str, name: str, news: dict) -> dict:
        created = create(azure, token, name, check(azure, token, name, news))
        made.append((token, name, created.id, from_struct(created.properties)))
        return made[-1][3]

    try:
        fqdn = up(SERVER, "pg", server_inputs(server_name))["fullyQualifiedDomainName"]
        up(AD_ADMIN, "admin", {"resourceGroupName": RG, "serverName": server_name, "objectId": me["objectId"],
                               "principalName": me["name"], "principalType": "ServicePrincipal"})
        port, _ = gateway_port(emulator, fqdn)
        connection = {"host": fqdn, "port": port, "database": "postgres", "username": me["name"],
                      "sslMode": "verify-full"}
        first = emulator.admin("directory/servicePrincipals", {"displayName": role})
        up(PRINCIPAL, "app", {"connection": connection, "name": role})
        directory(emulator, "DELETE", first["objectId"])
        second = emulator.admin("directory/servicePrincipals", {"displayName": role})

        env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "ARM_", "PG"))}
        env.update(AZURE_TENANT_ID=emulator.info["tenantId"], AZURE_CLIENT_ID=emulator.info["clientId"],
                   AZURE_CLIENT_SECRET=emulator.info["clientSecret"],
                   AZURE_AUTHORITY_HOST=emulator.info["providerConfig"]["authorityHost"],
                   PGENTRA_ARM_ENDPOINT=emulator.info["armEndpoint"],
                   PGENTRA_CA_CERT_FILE=emulator.info["caCertFile"],
                   AZURE_SUBSCRIPTION_ID=emulator.info["subscriptionId"])
        target = f"{RG}/{server_name}"
        plain = subprocess.run([str(EMULATOR), "doctor", target, me["name"], "-p", str(port)],
                               env=env, capture_output=True, text=True, timeout=60)
        assert "bound-objects" not in plain.stdout, "without PGENTRA_GRAPH_ENDPOINT Graph is never asked"
        env["PGENTRA_GRAPH_ENDPOINT"] = emulator.info["armEndpoint"]
        done = subprocess.run([str(EMULATOR), "doctor", target, me["name"], "-p", str(port)],
                              env=env, capture_output=True, text=True, timeout=60)
        print(done.stdout)
        assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
        lines = done.stdout.splitlines()
        start = next(i for i, l in enumerate(lines) if l[6:].startswith("bound-objects"))
        following = []
        for line in lines[start + 1:]:
            if not line.startswith("      "):
                break
            following.append(line)
        entry = "\n".join([lines[start], *following])
        assert lines[start].startswith("FAIL"), done.stdout
        assert (f'role "{role}" is bound to service {first["objectId"]}, which no longer exists in the directory; '
                f're-created as {second["objectId"]}') in entry, entry
        assert (f'SECURITY LABEL FOR "pgaadauth" ON ROLE "{role}" IS '
                f"'aadauth,oid={second['objectId']},type=service';") in entry, entry
        assert f'"{me["name"]}"' not in entry.split("fix:")[0], "the admin's own object exists: not listed"
    except BaseException:
        destroy(azure, made, quietly=True)
        raise
    destroy(azure, made)
