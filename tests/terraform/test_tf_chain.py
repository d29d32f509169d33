"""examples/terraform, the seed's whole passwordless chain, through the real Terraform 1.0.3 and
terraform-provider-pgentra against a `pgentra emulator` this module starts (ARM, Entra, managed
identities, a token-checking PostgreSQL gateway per server) and the real PostgreSQL behind it:
init offline, validate, plan, apply, an empty second plan, the app signing in with its own token,
drift made outside (ARM and SQL), an in-place update, a replacement, import, secrets kept out of
state, plans and logs, bad input refused before anything is made, faults during apply, destroy.

Run (from the repository root):
    CARGO_TARGET_DIR=target cargo build --bins
    .venv/bin/python -m pytest tests/terraform/test_tf_chain.py

Set PGENTRA_TF_TRANSCRIPTS=DIR to keep the example's `apply` and second `plan` output there.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tf_chain_support import (  # noqa: E402
    IDENTITIES_API,
    SERVERS_API,
    EmulatorProcess,
    ExampleWorkspace,
    Names,
    POSTGRES_RESOURCE,
    backend_database,
    changes,
    drift,
    prepare,
    psql_backend,
    psql_gateway,
    quote_ident,
    quote_literal,
    require_postgres,
    roles_present,
)
from tf_support import provider_binary  # noqa: E402

SQL_ADDRESSES = {
    "pgentra_principal.app", "pgentra_principal.readwrite", "pgentra_principal.developer",
    "pgentra_grant.app_connect", "pgentra_grant.app_schema_usage", "pgentra_grant.app_tables",
    "pgentra_grant.app_future_tables", "pgentra_grant.readwrite_connect",
    "pgentra_grant.readwrite_schema_usage", "pgentra_grant.readwrite_tables",
    "pgentra_grant.developer_membership",
}
ARM_ADDRESSES = {
    "pgentra_flexible_server.server", "pgentra_ad_admin.admin", "pgentra_firewall_rule.deployer",
    "pgentra_database.app", "pgentra_managed_identity.app", "pgentra_federated_credential.aks",
}
ALL_ADDRESSES = SQL_ADDRESSES | ARM_ADDRESSES


def transcript(name: str, text: str) -> None:
    folder = os.environ.get("PGENTRA_TF_TRANSCRIPTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_text(text)


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator():
    provider_binary()  # fails with the build command when missing
    require_postgres()
    running = EmulatorProcess()
    try:
        yield running
    finally:
        running.stop()


class Deployed:
    def __init__(self, ws: ExampleWorkspace, names: Names, tfvars: dict, apply_output: str):
        self.ws, self.names, self.tfvars, self.apply_output = ws, names, tfvars, apply_output

    def set_vars(self, **values) -> None:
        self.tfvars.update(values)
        (self.ws.workdir / "terraform.tfvars.json").write_text(json.dumps(self.tfvars, indent=2))

    def outputs(self) -> dict:
        out = json.loads(self.ws.ok("output", "-json").stdout)
        return {key: value["value"] for key, value in out.items()}

    def assert_converged(self) -> None:
        done = self.ws.tf("plan", "-detailed-exitcode")
        assert done.returncode == 0, "expected an empty plan:\n" + done.describe()


@pytest.fixture(scope="module")
def deployed(emulator, tmp_path_factory):
    """The example applied once; the scenarios below run on it in order, destroy last."""
    names = Names()
    tfvars = prepare(emulator, names)
    ws = ExampleWorkspace(tmp_path_factory.mktemp("chain"), emulator, tfvars)
    ws.ok("init")
    applied = ws.ok("apply", "-auto-approve", timeout=600)
    transcript("apply.txt", applied.stdout)
    return Deployed(ws, names, tfvars, applied.stdout)


SMALL_CONFIG = """
terraform {
  required_providers {
    pgentra = { source = "pgentra/pgentra" }
  }
}

provider "pgentra" {}
"""


def small_workspace(root: Path, emulator: EmulatorProcess, body: str) -> ExampleWorkspace:
    ws = ExampleWorkspace(root, emulator, None)
    for tf in ws.workdir.glob("*.tf"):
        tf.unlink()
    ws.write_config(SMALL_CONFIG + body)
    ws.ok("init")
    return ws


def resource_group(emulator: EmulatorProcess, name: str) -> str:
    sub = emulator.info["subscriptionId"]
    status, body = emulator.arm("PUT", f"/subscriptions/{sub}/resourcegroups/{name}", "2021-04-01",
                                {"location": "eastus"})
    assert status in (200, 201), (status, body)
    return name


def server_block(rg: str, name: str, address: str = "s", extra: str = "") -> str:
    return f"""
resource "pgentra_flexible_server" "{address}" {{
  resource_group_name = "{rg}"
  server_name         = "{name}"
  location            = "eastus"
  version             = "16"
  sku_name            = "Standard_D2s_v3"
  storage_size_gb     = 64
{extra}}}
"""


# --- before anything exists --------------------------------------------------------------------


def test_init_offline_validate_and_plan_with_principals_and_grants_before_the_server_exists(
    emulator, tmp_path
):
    names = Names()
    ws = ExampleWorkspace(tmp_path, emulator, prepare(emulator, names))

    init = ws.ok("init")
    assert "Installed pgentra/pgentra v0.1.0" in init.stdout, init.describe()
    validate = ws.ok("validate")
    assert "Success! The configuration is valid." in validate.stdout
    plan = ws.plan_json()

    planned = changes(plan)
    assert planned == {address: ["create"] for address in ALL_ADDRESSES}, planned
    by_address = {c["address"]: c["change"] for c in plan["resource_changes"]}
    for address in SQL_ADDRESSES:
        unknown = by_address[address]["after_unknown"]
        # The host is the server's FQDN, known only once the server exists (a single nested block).
        assert unknown["sql_connection"] == {"host": True}, (address, unknown)
        assert by_address[address]["after"]["sql_connection"]["username"] == names.admin_group
    assert by_address["pgentra_grant.app_tables"]["after"]["privileges"] == \
        ["SELECT", "INSERT", "UPDATE", "DELETE"]
    assert emulator.servers(names.resource_group) == []
    assert emulator.identities(names.resource_group) == []


@pytest.mark.parametrize(
    "attribute, extra, expected",
    [
        pytest.param("storage_size_gb", None, "storage_size_gb", id="wrong-type"),
        pytest.param("active_directory_auth", '  active_directory_auth = "Sometimes"\n', "active_directory_auth",
                     id="unknown-enum-value"),
        pytest.param("version", None, "version", id="version-azure-does-not-offer"),
        pytest.param("server_name", None, "server_name", id="name-azure-refuses"),
        pytest.param("principal_type", None, "principal_type", id="unknown-enum-value-in-a-sql-resource"),
    ],
)
def test_bad_input_is_a_diagnostic_naming_the_attribute_and_nothing_is_created(
    emulator, tmp_path, attribute, extra, expected
):
    rg = resource_group(emulator, f"rg-tf-bad-{Names().suffix}")
    name = f"pg-tf-bad-{Names().suffix}"
    body = server_block(rg, name, extra=extra or "")
    if attribute == "storage_size_gb":
        body = body.replace("storage_size_gb     = 64", 'storage_size_gb     = "lots"')
    elif attribute == "version":
        body = body.replace('version             = "16"', 'version             = "9"')
    elif attribute == "server_name":
        body = server_block(rg, "PG_Not-Allowed!")
    elif attribute == "principal_type":
        body += """
resource "pgentra_principal" "p" {
  sql_connection {
    host     = pgentra_flexible_server.s.fully_qualified_domain_name
    username = "admins"
  }
  name           = "someone"
  object_id      = "00000000-0000-0000-0000-000000000001"
  principal_type = "robot"
}
"""
    ws = small_workspace(tmp_path, emulator, body)
    since = len(emulator.exchanges())

    validate = ws.tf("validate")
    refused = validate if validate.returncode != 0 else ws.tf("plan")

    assert refused.returncode == 1, refused.describe()
    message = " ".join(refused.stderr.split())
    assert "Error" in message and expected in message, refused.describe()
    # The diagnostic points at the attribute: Terraform quotes its line of the configuration.
    assert re.search(rf"^\s*\d+:\s+{expected}\s+=", refused.stderr, re.M), refused.describe()
    assert "panic" not in message.lower(), refused.describe()
    assert ws.tf("apply", "-auto-approve").returncode == 1
    written = [e for e in emulator.exchanges(since) if e["method"] in ("PUT", "PATCH", "DELETE")]
    assert written == [], written
    assert emulator.servers(rg) == []


# --- the chain, applied ------------------------------------------------------------------------


def test_apply_creates_the_whole_chain(emulator, deployed):
    ws, names = deployed.ws, deployed.names

    assert "Apply complete! Resources: 17 added, 0 changed, 0 destroyed." in deployed.apply_output
    made = ws.resources()
    assert set(made) == ALL_ADDRESSES | {"data.pgentra_client_config.current"}, sorted(made)
    [server] = emulator.servers(names.resource_group)
    props = server["properties"]
    assert props["authConfig"]["activeDirectoryAuth"] == "Enabled"
    assert props["authConfig"]["passwordAuth"] == "Disabled"
    assert server["administrators"][0]["properties"]["principalName"] == names.admin_group
    [identity] = emulator.identities(names.resource_group)
    assert [f["subject"] for f in identity["federatedIdentityCredentials"]] == \
        ["system:serviceaccount:myapp-ns:myapp-sa"]
    outputs = deployed.outputs()
    host = props["fullyQualifiedDomainName"]
    assert outputs["server_fqdn"] == host
    assert outputs["app_client_id"] == identity["clientId"]
    assert outputs["app_connection_string"] == \
        f"Host={host};Database={names.database};Username={names.identity};Ssl Mode=Require;"
    assert made["pgentra_flexible_server.server"]["id"] == server["id"]
    assert made["pgentra_principal.app"]["id"].startswith("postgresql://")
    assert made["pgentra_grant.app_tables"]["id"].startswith("postgresql://")


def test_a_second_plan_finds_nothing_to_do(deployed):
    done = deployed.ws.tf("plan", "-detailed-exitcode")
    transcript("second-plan.txt", done.stdout)

    assert done.returncode == 0, done.describe()
    assert "No changes. Your infrastructure matches the configuration." in done.stdout, done.describe()


def test_the_apps_identity_signs_in_with_its_own_token_and_uses_what_it_was_granted(emulator, deployed):
    names, outputs = deployed.names, deployed.outputs()
    host = outputs["server_fqdn"]
    deployer = emulator.token(f"{POSTGRES_RESOURCE}/.default")

    def ok(done) -> str:
        assert done.returncode == 0, f"psql failed: {done.stderr.strip()}"
        return done.stdout.strip()

    # The deployer, as the admin group, creates a table after the grants: default privileges cover it.
    ok(psql_gateway(emulator, host, names.admin_group, deployer, names.database,
                    "CREATE TABLE public.orders (id int PRIMARY KEY, item text)"))
    app = emulator.msi_token(outputs["app_client_id"])
    ok(psql_gateway(emulator, host, names.identity, app, names.database,
                    "INSERT INTO public.orders VALUES (1, 'widget')"))
    assert ok(psql_gateway(emulator, host, names.identity, app, names.database,
                           "SELECT item FROM public.orders")) == "widget"
    denied = psql_gateway(emulator, host, names.identity, app, names.database, "DROP TABLE public.orders")
    assert denied.returncode != 0 and "must be owner" in denied.stderr, denied.stderr
    refused = psql_gateway(emulator, host, names.identity, "Passw0rd!-not-a-token", names.database, "SELECT 1")
    assert refused.returncode != 0 and "password authentication failed" in refused.stderr, refused.stderr
    facts = ok(psql_gateway(
        emulator, host, names.admin_group, deployer, names.database,
        f"SELECT pg_has_role({quote_literal(names.developer)}, {quote_literal(names.readwrite_group)}, 'member'), "
        f"has_schema_privilege({quote_literal(names.readwrite_group)}, 'public', 'USAGE')"))
    assert facts == "t|t", facts
    # The table made for this scenario goes, so destroy leaves nothing the example did not make.
    ok(psql_gateway(emulator, host, names.admin_group, deployer, names.database, "DROP TABLE public.orders"))


def test_arm_drift_is_found_by_refresh_only_and_plan_and_restored_by_apply(emulator, deployed):
    names, ws = deployed.names, deployed.ws
    sub = emulator.info["subscriptionId"]
    rg = f"/subscriptions/{sub}/resourceGroups/{names.resource_group}"
    identity = f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{names.identity}"
    server = f"{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{names.server}"
    status, body = emulator.arm("PUT", identity, IDENTITIES_API,
                                {"location": "eastus", "tags": {"env": "changed-outside"}})
    assert status in (200, 201), (status, body)
    status, body = emulator.arm("PATCH", server, SERVERS_API, {"tags": {"env": "changed-outside"}})
    assert status in (200, 202), (status, body)
    emulator.wait_until("the server's tags changed", lambda: emulator.servers(names.resource_group)[0]
                        ["tags"] == {"env": "changed-outside"})

    refresh_only = ws.plan_json("-refresh-only")
    found = drift(refresh_only)
    assert set(found) == {"pgentra_managed_identity.app", "pgentra_flexible_server.server"}, found
    assert changes(refresh_only) == {}
    plan = ws.plan_json()
    assert changes(plan) == {"pgentra_managed_identity.app": ["update"],
                             "pgentra_flexible_server.server": ["update"]}, changes(plan)
    ws.ok("apply", "-auto-approve")

    assert emulator.identities(names.resource_group)[0]["tags"] == {"env": "test"}
    assert emulator.servers(names.resource_group)[0]["tags"] == {"env": "test"}
    deployed.assert_converged()


def test_password_auth_turned_on_outside_is_found_and_turned_off_again(emulator, deployed):
    names, ws = deployed.names, deployed.ws
    sub = emulator.info["subscriptionId"]
    server = (f"/subscriptions/{sub}/resourceGroups/{names.resource_group}"
              f"/providers/Microsoft.DBforPostgreSQL/flexibleServers/{names.server}")
    # As on Azure, password authentication needs an administrator login and password.
    password = "Outs1de-" + Names().suffix + "-Pw!"
    status, body = emulator.arm("PATCH", server, SERVERS_API, {"properties": {
        "authConfig": {"passwordAuth": "Enabled"}, "administratorLogin": "outsider",
        "administratorLoginPassword": password}})
    assert status in (200, 202), (status, body)

    def password_auth() -> str:
        return emulator.servers(names.resource_group)[0]["properties"]["authConfig"]["passwordAuth"]

    emulator.wait_until("password authentication on", lambda: password_auth() == "Enabled")

    refresh_only = ws.plan_json("-refresh-only")
    assert set(drift(refresh_only)) == {"pgentra_flexible_server.server"}, drift(refresh_only)
    plan = ws.plan_json()
    assert changes(plan) == {"pgentra_flexible_server.server": ["update"]}, changes(plan)
    [change] = [c["change"] for c in plan["resource_changes"] if c["address"] == "pgentra_flexible_server.server"]
    assert (change["before"]["password_auth"], change["after"]["password_auth"]) == ("Enabled", "Disabled")
    ws.ok("apply", "-auto-approve")

    assert password_auth() == "Disabled"
    assert password not in (ws.workdir / "terraform.tfstate").read_text()
    deployed.assert_converged()


def test_sql_drift_revoked_outside_is_found_by_refresh_only_and_plan_and_restored_by_apply(deployed):
    names, ws = deployed.names, deployed.ws
    database = backend_database(names.database)
    holds_connect = (
        "SELECT count(*) FROM pg_database d, aclexplode(d.datacl) a "
        f"WHERE d.datname = {quote_literal(database)} AND a.privilege_type = 'CONNECT' "
        f"AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = {quote_literal(names.identity)})"
    )
    assert psql_backend(holds_connect) == "1"
    psql_backend(f"REVOKE CONNECT ON DATABASE {quote_ident(database)} FROM {quote_ident(names.identity)}")
    assert psql_backend(holds_connect) == "0"

    refresh_only = ws.plan_json("-refresh-only")
    assert set(drift(refresh_only)) == {"pgentra_grant.app_connect"}, drift(refresh_only)
    plan = ws.plan_json()
    assert set(changes(plan)) == {"pgentra_grant.app_connect"}, changes(plan)
    ws.ok("apply", "-auto-approve")

    assert psql_backend(holds_connect) == "1"
    deployed.assert_converged()


def test_a_tag_change_updates_in_place_and_changes_nothing_else(emulator, deployed):
    names, ws = deployed.names, deployed.ws
    before = ws.resources()
    deployed.set_vars(tags={"env": "test", "team": "data"})

    plan = ws.plan_json()
    assert changes(plan) == {"pgentra_managed_identity.app": ["update"],
                             "pgentra_flexible_server.server": ["update"]}, changes(plan)
    by_address = {c["address"]: c["change"] for c in plan["resource_changes"]}
    for address in ("pgentra_managed_identity.app", "pgentra_flexible_server.server"):
        change = by_address[address]
        # Every input keeps its value; only the tags move (a computed output such as the server's
        # `state` may be planned unknown: it passes through Updating while Azure applies).
        unknown = {k for k, v in change["after_unknown"].items() if v is True}
        moved = {k for k in set(change["before"]) | set(change["after"])
                 if k not in unknown and change["before"].get(k) != change["after"].get(k)}
        assert moved == {"tags"}, (address, moved)
        assert unknown <= {"state"}, (address, unknown)
    ws.ok("apply", "-auto-approve")

    after = ws.resources()
    for address in ALL_ADDRESSES:
        expected = dict(before[address])
        if address in ("pgentra_managed_identity.app", "pgentra_flexible_server.server"):
            expected["tags"] = {"env": "test", "team": "data"}
        assert after[address] == expected, address
    assert emulator.servers(names.resource_group)[0]["tags"] == {"env": "test", "team": "data"}
    deployed.assert_converged()


def test_renaming_the_federated_credential_replaces_it_and_only_it(emulator, deployed):
    names, ws = deployed.names, deployed.ws
    deployed.set_vars(federated_credential_name="fc-myapp-aks-v2")

    plan = ws.plan_json()
    planned = changes(plan)
    assert set(planned) == {"pgentra_federated_credential.aks"}, planned
    assert sorted(planned["pgentra_federated_credential.aks"]) == ["create", "delete"], planned
    ws.ok("apply", "-auto-approve")

    [identity] = emulator.identities(names.resource_group)
    assert [f["name"] for f in identity["federatedIdentityCredentials"]] == ["fc-myapp-aks-v2"]
    deployed.assert_converged()


@pytest.mark.parametrize("address", [
    "pgentra_managed_identity.app", "pgentra_database.app", "pgentra_principal.app",
    "pgentra_grant.app_schema_usage", "pgentra_grant.app_future_tables", "pgentra_grant.developer_membership",
])
def test_import_by_the_same_id_as_pulumi_then_an_empty_plan(deployed, address):
    ws = deployed.ws
    resource_id = ws.resources()[address]["id"]
    expected = "postgresql://" if address.startswith(("pgentra_principal", "pgentra_grant")) else "/subscriptions/"
    assert resource_id.startswith(expected), resource_id

    ws.ok("state", "rm", address)
    imported = ws.ok("import", address, resource_id)

    assert "Import successful!" in imported.stdout, imported.describe()
    assert ws.resources()[address]["id"] == resource_id
    # Nothing to do for any resource: what was imported reads back as the configuration says.
    assert changes(ws.plan_json()) == {}
    # `state rm` dropped the outputs that depended on it (Terraform's doing, not the provider's):
    # a refresh-only apply writes them back, then the plan is empty outright.
    ws.ok("apply", "-refresh-only", "-auto-approve")
    deployed.assert_converged()


def test_the_client_secret_never_reaches_state_plan_files_or_trace_logs(emulator, deployed):
    ws, secret = deployed.ws, emulator.client_secret
    # A plan with a change in it, with Terraform's and the provider's trace logs.
    deployed.set_vars(tags={"env": "test", "team": "data", "cost": "1"})
    planned = ws.tf("plan", "-out=secret.tfplan", env={"TF_LOG": "trace"})
    assert planned.returncode == 0, planned.describe()
    shown = ws.ok("show", "-json", "secret.tfplan")
    applied = ws.tf("apply", "-auto-approve", env={"TF_LOG": "trace"})
    assert applied.returncode == 0, applied.describe()

    assert "GRPCProvider.v6: ApplyResourceChange" in applied.stderr  # the log really is a trace
    for where, text in [("plan log", planned.stdout + planned.stderr), ("plan json", shown.stdout),
                        ("apply log", applied.stdout + applied.stderr),
                        ("state", (ws.workdir / "terraform.tfstate").read_text()),
                        ("plan file", (ws.workdir / "secret.tfplan").read_bytes().decode("latin-1"))]:
        assert secret not in text, f"the client secret is in the {where}"
    schema = json.loads(ws.ok("providers", "schema", "-json").stdout)
    provider = schema["provider_schemas"]["registry.terraform.io/pgentra/pgentra"]
    assert provider["provider"]["block"]["attributes"]["client_secret"].get("sensitive") is True
    server = provider["resource_schemas"]["pgentra_flexible_server"]["block"]["attributes"]
    assert server["administrator_login_password"].get("sensitive") is True
    deployed.assert_converged()


def test_destroy_leaves_nothing_in_the_emulator_or_the_backend(emulator, deployed):
    names, ws = deployed.names, deployed.ws
    assert roles_present(names.roles()) == sorted(names.roles())

    destroyed = ws.ok("destroy", "-auto-approve", timeout=600)

    assert "Destroy complete! Resources: 17 destroyed." in destroyed.stdout, destroyed.describe()
    assert emulator.servers(names.resource_group) == []
    assert emulator.identities(names.resource_group) == []
    assert roles_present(names.roles()) == []
    assert ws.resources() == {}


# --- faults during apply -----------------------------------------------------------------------


def fault_workspace(emulator: EmulatorProcess, root: Path) -> tuple[ExampleWorkspace, str, str, str]:
    suffix = Names().suffix
    rg = resource_group(emulator, f"rg-tf-fault-{suffix}")
    name = f"pg-tf-fault-{suffix}"
    body = server_block(rg, name) + f"""
resource "pgentra_managed_identity" "i" {{
  resource_group_name = "{rg}"
  name                = "id-tf-fault-{suffix}"
  location            = "eastus"
}}
"""
    ws = small_workspace(root, emulator, body)
    sub = emulator.info["subscriptionId"]
    server_id = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}"
    return ws, rg, name, server_id


def converge_after(ws: ExampleWorkspace, first, name: str) -> None:
    """The first apply succeeded, or failed with the server in state; the next apply converges."""
    transcript(f"{name}-first-apply.txt", first.describe())
    if first.returncode != 0:
        listed = ws.ok("state", "list").stdout.split()
        assert "pgentra_flexible_server.s" in listed, "a failed create must leave the server in state:\n" + \
            first.describe()
        state = json.loads((ws.workdir / "terraform.tfstate").read_text())
        [server] = [r for r in state["resources"] if r["type"] == "pgentra_flexible_server"]
        assert server["instances"][0].get("status") == "tainted", server["instances"][0]
        second = ws.tf("apply", "-auto-approve")
        assert second.returncode == 0, second.describe()
    done = ws.tf("plan", "-detailed-exitcode")
    assert done.returncode == 0, done.describe()
    ws.ok("destroy", "-auto-approve")


def test_a_429_storm_during_apply_is_ridden_out_or_converges_on_the_next_apply(emulator, tmp_path):
    ws, rg, name, server_id = fault_workspace(emulator, tmp_path)
    emulator.add_faults([
        {"service": "arm", "pathPrefix": server_id, "count": 4, "kind": {"type": "throttle", "retryAfter": 1}},
        {"service": "arm", "pathPrefix": f"/subscriptions/{emulator.info['subscriptionId']}/resourceGroups/{rg}"
         "/providers/Microsoft.ManagedIdentity", "count": 3, "kind": {"type": "throttle", "retryAfter": 1}},
    ])
    try:
        first = ws.tf("apply", "-auto-approve")
    finally:
        emulator.clear_faults()

    assert [s["name"] for s in emulator.servers(rg)] == [name], first.describe()
    converge_after(ws, first, "throttled")
    assert emulator.servers(rg) == []


def test_a_failed_long_running_create_leaves_the_server_in_state_and_the_next_apply_converges(
    emulator, tmp_path
):
    ws, rg, name, server_id = fault_workspace(emulator, tmp_path)
    emulator.add_faults([{"pathPrefix": server_id, "count": 1, "kind": {"type": "lroFailed"}}])
    try:
        first = ws.tf("apply", "-auto-approve")
    finally:
        emulator.clear_faults()

    if first.returncode != 0:
        message = " ".join(first.stderr.split())
        assert name in message or server_id in message, first.describe()
    converge_after(ws, first, "failed-lro")
    assert emulator.servers(rg) == []
