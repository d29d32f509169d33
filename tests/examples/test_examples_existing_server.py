"""The examples that do only the SQL half, on a server pgentra does not manage
(examples/python-existing-server and examples/terraform-existing-server), run for real against
`pgentra emulator`. The server, its Entra admin (the deployer), the databases and the app's
identities are made first with plain ARM requests, as azure-native, azurerm or the portal would;
then the Python program runs through the real provider plugin (py_engine_runner.py) and the
Terraform configuration through the real Terraform 1.0.3. The app signs in with its own token and
uses a table; PUBLIC has lost CONNECT; destroy removes the app's role and leaves the server."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from schema_names import EXAMPLES, REPO

sys.path.insert(0, str(REPO / "tests" / "terraform"))
from tf_chain_support import (  # noqa: E402
    ARM_SCOPE,
    IDENTITIES_API,
    POSTGRES_RESOURCE,
    SERVERS_API,
    EmulatorProcess,
    psql_gateway,
    require_postgres,
)
from tf_support import TerraformWorkspace, provider_binary  # noqa: E402

RUNNER = REPO / "tests" / "examples" / "py_engine_runner.py"


@dataclass
class Outside:
    """What was made outside pgentra: the server's address, its admin, and per example a
    database and an identity (name, principalId, clientId)."""

    server_path: str
    host: str
    admin: str
    databases: dict[str, str]
    identities: dict[str, dict]


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, f"psql failed: {done.stderr.strip()}"
    return done.stdout.strip()


def made_outside(emu: EmulatorProcess) -> Outside:
    suffix = secrets.token_hex(3)
    sub, tenant = emu.info["subscriptionId"], emu.info["tenantId"]
    rg, server = f"rg-outside-{suffix}", f"pg-outside-{suffix}"
    status, body = emu.arm("PUT", f"/subscriptions/{sub}/resourcegroups/{rg}", "2021-04-01", {"location": "eastus"})
    assert status in (200, 201), (status, body)
    base = f"/subscriptions/{sub}/resourceGroups/{rg}/providers"
    server_path = f"{base}/Microsoft.DBforPostgreSQL/flexibleServers/{server}"

    def settled(path: str, api: str, ready=lambda body: True):
        """PUT accepted; wait until the resource exists, is ready and its server is idle."""
        def probe():
            status, body = emu.arm("GET", path, api)
            idle = f"{rg}/{server}".lower() not in emu.state().get("busyServers", [])
            return body if status == 200 and ready(body) and idle else None
        return emu.wait_until("/".join(path.rsplit("/", 2)[-2:]), probe, timeout=60)

    def put(path: str, api: str, body: dict, ready=lambda body: True) -> dict:
        status, answer = emu.arm("PUT", path, api, body)
        assert status in (200, 201, 202), (path, status, answer)
        return settled(path, api, ready)

    live = put(server_path, SERVERS_API, {
        "location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {"version": "16", "storage": {"storageSizeGB": 32},
                       "authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled",
                                      "tenantId": tenant}},
    }, ready=lambda body: body["properties"].get("state") == "Ready")
    host = live["properties"]["fullyQualifiedDomainName"]
    # The deployer is the server's Entra admin (on Azure, usually a group it is a member of).
    claims_part = emu.token(ARM_SCOPE).split(".")[1]
    oid = json.loads(base64.urlsafe_b64decode(claims_part + "=" * (-len(claims_part) % 4)))["oid"]
    admin = next(sp["displayName"] for sp in emu.state()["directory"]["servicePrincipals"]
                 if sp["appId"] == emu.info["clientId"])
    put(f"{server_path}/administrators/{oid}", SERVERS_API, {
        "properties": {"principalType": "ServicePrincipal", "principalName": admin, "tenantId": tenant}})
    databases, identities = {}, {}
    for example in ("python", "terraform"):
        databases[example] = f"appdb_{example}"
        put(f"{server_path}/databases/{databases[example]}", SERVERS_API,
            {"properties": {"charset": "UTF8", "collation": "en_US.utf8"}})
        name = f"id-app-{example}-{suffix}"
        identity = put(f"{base}/Microsoft.ManagedIdentity/userAssignedIdentities/{name}", IDENTITIES_API,
                       {"location": "eastus"})
        identities[example] = {"name": name, **identity["properties"]}
    gateway = next(s.get("pgGateway") for s in emu.state()["flexibleServers"] if s["name"] == server)
    if not gateway or gateway["port"] != 5432:
        pytest.fail(f"the gateway for {host} is not on port 5432 ({gateway}): another pgentra emulator on this "
                    "machine holds that address; run the tests alone", pytrace=False)
    return Outside(server_path, host, admin, databases, identities)


@pytest.fixture(scope="module")
def outside():
    provider_binary()  # fails with the build command when missing
    require_postgres()
    emu = EmulatorProcess()
    try:
        yield emu, made_outside(emu)
    finally:
        emu.stop()


def assert_the_app_works_and_public_cannot_connect(emu: EmulatorProcess, made: Outside, example: str) -> None:
    database, app = made.databases[example], made.identities[example]
    deployer = emu.token(f"{POSTGRES_RESOURCE}/.default")
    # A table the app's migrations would make, created after the Grants: default privileges cover it.
    ok(psql_gateway(emu, made.host, made.admin, deployer, database, "CREATE TABLE public.orders (id int, item text)"))
    token = emu.msi_token(app["clientId"])
    ok(psql_gateway(emu, made.host, app["name"], token, database, "INSERT INTO public.orders VALUES (1, 'widget')"))
    assert ok(psql_gateway(emu, made.host, app["name"], token, database, "SELECT item FROM public.orders")) == "widget"
    assert ok(psql_gateway(emu, made.host, made.admin, deployer, database,
                           "SELECT has_database_privilege('public', current_database(), 'CONNECT')")) == "f"


def assert_the_role_is_gone_and_the_server_stays(emu: EmulatorProcess, made: Outside, example: str) -> None:
    deployer = emu.token(f"{POSTGRES_RESOURCE}/.default")
    left = ok(psql_gateway(emu, made.host, made.admin, deployer, "postgres",
                           f"SELECT count(*) FROM pg_roles WHERE rolname = '{made.identities[example]['name']}'"))
    assert left == "0", "destroy dropped the app's role"
    status, body = emu.arm("GET", made.server_path, SERVERS_API)
    assert status == 200 and body["properties"]["state"] == "Ready", "the server is not pgentra's to delete"


def test_the_python_example_manages_only_the_sql_half(outside, tmp_path):
    emu, made = outside
    app = made.identities["python"]
    config = {"serverHost": made.host, "adminName": made.admin, "databaseName": made.databases["python"],
              "appIdentityName": app["name"], "appIdentityObjectId": app["principalId"]}
    env = {**os.environ, "PYTHONPATH": str(REPO / "sdk" / "python")}
    provider_config = json.dumps(emu.info["providerConfig"])
    done = subprocess.run([sys.executable, str(RUNNER), "up", str(EXAMPLES / "python-existing-server"),
                           "pgentra-example-existing-server", json.dumps(config), provider_config],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    made_file = tmp_path / "made.json"
    made_file.write_text(done.stdout)
    ran = json.loads(done.stdout)
    try:
        assert ran["error"] is None, ran["error"]
        types = sorted(r["type"] for r in ran["made"])
        assert types == ["pgentra:index:Grant"] * 5 + ["pgentra:index:Principal"], types
        assert ran["outputs"]["appRole"] == app["name"]
        assert_the_app_works_and_public_cannot_connect(emu, made, "python")
    finally:
        destroyed = subprocess.run([sys.executable, str(RUNNER), "destroy", str(made_file), provider_config],
                                   env=env, capture_output=True, text=True, timeout=600)
    assert destroyed.returncode == 0, destroyed.stderr[-4000:]
    assert_the_role_is_gone_and_the_server_stays(emu, made, "python")


def test_the_terraform_example_manages_only_the_sql_half(outside, tmp_path):
    emu, made = outside
    app = made.identities["terraform"]
    ws = TerraformWorkspace(tmp_path)
    for source in (EXAMPLES / "terraform-existing-server").glob("*.tf"):
        shutil.copyfile(source, ws.workdir / source.name)
    (ws.workdir / "terraform.tfvars.json").write_text(json.dumps({
        "server_host": made.host, "admin_name": made.admin, "database_name": made.databases["terraform"],
        "app_identity_name": app["name"], "app_identity_object_id": app["principalId"]}))

    def tf(*args: str, timeout: float = 300):
        done = ws.run(*args, "-no-color", env=emu.terraform_env, timeout=timeout)
        assert done.returncode == 0, done.describe()
        return done

    tf("init")
    arm_writes_before = len([e for e in emu.exchanges() if e["method"] != "GET"])
    tf("apply", "-auto-approve", timeout=600)
    try:
        assert json.loads(tf("output", "-json").stdout)["app_role"]["value"] == app["name"]
        again = ws.run("plan", "-detailed-exitcode", "-no-color", env=emu.terraform_env)
        assert again.returncode == 0, "expected an empty second plan:\n" + again.describe()
        assert_the_app_works_and_public_cannot_connect(emu, made, "terraform")
    finally:
        tf("destroy", "-auto-approve", timeout=600)
    assert len([e for e in emu.exchanges() if e["method"] != "GET"]) == arm_writes_before, \
        "the SQL half wrote to ARM"
    assert_the_role_is_gone_and_the_server_stays(emu, made, "terraform")
