"""examples/terraform/orders-database, a stack built on the module
examples/terraform/modules/passwordless-database (the Terraform shape of the PasswordlessDatabase
component), through the real Terraform 1.0.3 and terraform-provider-pgentra against a `pgentra
emulator` this module starts and the real PostgreSQL behind it: a bad `access` refused by the
module's validation before anything is made; apply; an empty second plan; each app signing in
with its own token from the module's PG* environment, a readwrite app's migrations creating
tables a readonly app reads; one app more adding only that app's resources; destroy.

Run (from the repository root):
    CARGO_TARGET_DIR=target cargo build --bins
    .venv/bin/python -m pytest tests/terraform/test_tf_passwordless_database.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tf_chain_support import (  # noqa: E402
    EmulatorProcess,
    ExampleWorkspace,
    Names,
    changes,
    prepare,
    psql_backend,
    quote_literal,
    require_postgres,
    roles_present,
)
from tf_support import REPO, provider_binary  # noqa: E402

EXAMPLE = REPO / "examples" / "terraform" / "orders-database"
MODULES = REPO / "examples" / "terraform" / "modules"
MODULE = "module.orders_db"
ROOT_VARIABLES = ("server_name", "resource_group_name", "location", "admin_group_name",
                  "admin_group_object_id", "oidc_issuer_url", "deployer_ip")


@pytest.fixture(scope="module")
def emulator():
    provider_binary()  # fails with the build command when missing
    require_postgres()
    running = EmulatorProcess()
    try:
        yield running
    finally:
        running.stop()


class StackWorkspace(ExampleWorkspace):
    """The orders-database example and the modules folder beside it, as in the repository (the
    example calls ../modules/passwordless-database), with terraform.tfvars.json."""

    def __init__(self, root: Path, emulator: EmulatorProcess, tfvars: dict):
        super().__init__(root, emulator, None)
        for copied in self.workdir.glob("*.tf"):
            copied.unlink()
        for source in EXAMPLE.glob("*.tf"):
            shutil.copyfile(source, self.workdir / source.name)
        shutil.copytree(MODULES, self.workdir.parent / "modules")
        self.tfvars = tfvars
        self.write_vars()

    def write_vars(self) -> None:
        (self.workdir / "terraform.tfvars.json").write_text(json.dumps(self.tfvars, indent=2))

    def addresses(self) -> set[str]:
        """Every resource in state, the module's included."""
        def walk(module: dict):
            for resource in module.get("resources", []):
                yield resource["address"]
            for child in module.get("child_modules", []):
                yield from walk(child)
        return set(walk(self.state_json().get("values", {}).get("root_module", {})))

    def outputs(self) -> dict:
        return {key: value["value"] for key, value in json.loads(self.ok("output", "-json").stdout).items()}

    def assert_converged(self) -> None:
        done = self.tf("plan", "-detailed-exitcode")
        assert done.returncode == 0, "expected an empty plan:\n" + done.describe()


class Apps:
    """App names no other run uses (roles live in the one PostgreSQL behind every server)."""

    def __init__(self, suffix: str):
        self.api = f"id-orders-api-{suffix}"
        self.reporting = f"id-orders-reporting-{suffix}"
        self.billing = f"id-billing-{suffix}"


def app_addresses(app: str, access: str, service_accounts: list[tuple[str, str]], others: dict[str, str]) -> set[str]:
    """What the stack makes for one app: its identity, and in the module its role, its four Grants,
    its federated credentials, and the default privileges it shares with each other app
    (`others`: name -> access) where one of the two is readwrite."""
    made = {f'pgentra_managed_identity.app["{app}"]'}
    made |= {f'{MODULE}.pgentra_{kind}["{app}"]' for kind in
             ("principal.app", "grant.connect", "grant.schema", "grant.tables", "grant.sequences")}
    made |= {f'{MODULE}.pgentra_federated_credential.service_account["{app}/{ns}/{sa}"]'
             for ns, sa in service_accounts}
    if access == "readwrite":
        made.add(f'{MODULE}.pgentra_grant.admin_in_owner["{app}"]')
    for other, other_access in others.items():
        pairs = []
        if other_access == "readwrite":
            pairs.append(f"{app}/{other}")
        if access == "readwrite":
            pairs.append(f"{other}/{app}")
        made |= {f'{MODULE}.pgentra_grant.future_{kind}["{pair}"]' for pair in pairs for kind in ("tables", "sequences")}
    return made


class Stack:
    def __init__(self, ws: StackWorkspace, names: Names, apps: Apps, apply_output: str):
        self.ws, self.names, self.apps, self.apply_output = ws, names, apps, apply_output

    def psql(self, app: str, sql: str, token_of: str | None = None) -> subprocess.CompletedProcess:
        """psql as the app, configured only by the module's environment output and the app's own
        managed-identity token as the password (plus the emulator's CA to verify the server);
        `token_of`: another app whose token to present instead."""
        outputs = self.ws.outputs()
        token = self.ws.emulator.msi_token(outputs["client_ids"][token_of or app])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(outputs["environments"][app])
        env.update(PGPASSWORD=token, PGSSLROOTCERT=self.ws.emulator.info["caCertFile"], PGCONNECT_TIMEOUT="10")
        return subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
                              env=env, capture_output=True, text=True, timeout=30)

    def ok(self, app: str, sql: str) -> str:
        done = self.psql(app, sql)
        assert done.returncode == 0, f"psql as {app} failed: {done.stderr.strip()}"
        return done.stdout.strip()

    def refused(self, app: str, sql: str) -> str:
        done = self.psql(app, sql)
        assert done.returncode != 0, f"psql as {app} was allowed: {sql}"
        return done.stderr


def stack_vars(emulator: EmulatorProcess, names: Names, apps: dict) -> dict:
    prepared = prepare(emulator, names)
    tfvars = {key: prepared[key] for key in ROOT_VARIABLES}
    tfvars["database_name"] = names.database
    tfvars["apps"] = apps
    return tfvars


@pytest.fixture(scope="module")
def stack(emulator, tmp_path_factory):
    """The example applied with two apps; the scenarios below run on it in order, destroy last."""
    names = Names()
    apps = Apps(names.suffix)
    ws = StackWorkspace(tmp_path_factory.mktemp("orders"), emulator, stack_vars(emulator, names, {
        apps.api: {"access": "readwrite", "service_accounts": [{"namespace": "orders", "name": "orders-api"}]},
        apps.reporting: {"access": "readonly", "service_accounts": []},
    }))
    ws.ok("init")
    applied = ws.ok("apply", "-auto-approve", timeout=600)
    return Stack(ws, names, apps, applied.stdout)


# --- bad input ---------------------------------------------------------------------------------


def test_an_unknown_access_is_refused_by_the_modules_validation_and_nothing_is_made(emulator, tmp_path):
    names = Names()
    ws = StackWorkspace(tmp_path, emulator, stack_vars(emulator, names, {
        f"id-bad-{names.suffix}": {"access": "admin", "service_accounts": []}}))
    ws.ok("init")
    since = len(emulator.exchanges())

    planned = ws.tf("plan")
    applied = ws.tf("apply", "-auto-approve")

    for refused in (planned, applied):
        assert refused.returncode == 1, refused.describe()
        message = " ".join(refused.stderr.split())
        assert "Invalid value for variable" in message, refused.describe()
        assert 'Each app\'s access must be "readwrite" (its migrations create the tables; it reads and writes ' \
               'them) or "readonly" (it reads them).' in message, refused.describe()
        # Terraform points at the module call's `apps` argument in the example.
        assert 'in module "orders_db"' in message and re.search(r"^\s*\d+:\s+apps\s+=", refused.stderr, re.M), \
            refused.describe()
        assert "panic" not in message.lower(), refused.describe()
    written = [e for e in emulator.exchanges(since) if e["method"] in ("PUT", "PATCH", "DELETE")]
    assert written == [], written
    assert emulator.servers(names.resource_group) == []
    assert emulator.identities(names.resource_group) == []


# --- the stack, applied ------------------------------------------------------------------------


def test_apply_makes_the_database_a_role_per_app_their_grants_and_federated_credentials(emulator, stack):
    ws, names, apps = stack.ws, stack.names, stack.apps

    expected = {"data.pgentra_client_config.current", "pgentra_flexible_server.server", "pgentra_ad_admin.admin",
                "pgentra_firewall_rule.deployer", f"{MODULE}.pgentra_database.this"}
    expected |= app_addresses(apps.api, "readwrite", [("orders", "orders-api")], {})
    expected |= app_addresses(apps.reporting, "readonly", [], {apps.api: "readwrite"})
    assert ws.addresses() == expected, sorted(ws.addresses() ^ expected)
    assert f"Apply complete! Resources: {len(expected) - 1} added, 0 changed, 0 destroyed." in stack.apply_output

    [server] = emulator.servers(names.resource_group)
    host = server["properties"]["fullyQualifiedDomainName"]
    identities = {i["name"]: i for i in emulator.identities(names.resource_group)}
    assert set(identities) == {apps.api, apps.reporting}
    [credential] = identities[apps.api]["federatedIdentityCredentials"]
    assert credential["subject"] == "system:serviceaccount:orders:orders-api"
    assert credential["issuer"] == emulator.info["oidcIssuer"]
    assert identities[apps.reporting]["federatedIdentityCredentials"] == []
    assert roles_present([apps.api, apps.reporting]) == sorted([apps.api, apps.reporting])

    outputs = ws.outputs()
    assert (outputs["host"], outputs["database"]) == (host, names.database)
    assert outputs["users"] == {apps.api: apps.api, apps.reporting: apps.reporting}
    for app in (apps.api, apps.reporting):
        assert outputs["environments"][app] == {"PGHOST": host, "PGPORT": "5432", "PGDATABASE": names.database,
                                                "PGUSER": app, "PGSSLMODE": "verify-full"}
        assert outputs["client_ids"][app] == identities[app]["clientId"]


def test_a_second_plan_finds_nothing_to_do(stack):
    done = stack.ws.tf("plan", "-detailed-exitcode")

    assert done.returncode == 0, done.describe()
    assert "No changes. Your infrastructure matches the configuration." in done.stdout, done.describe()


def test_each_app_signs_in_with_its_own_token_and_the_readonly_app_reads_what_the_migrations_made(stack):
    apps = stack.apps

    # The readwrite app's migrations, as the app itself: a table with a sequence behind its id.
    stack.ok(apps.api, "CREATE TABLE public.orders (id serial PRIMARY KEY, item text)")
    stack.ok(apps.api, "INSERT INTO public.orders (item) VALUES ('widget')")
    assert stack.ok(apps.api, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'public.orders'::regclass") \
        == apps.api
    # The readonly app reads it (default privileges FOR ROLE the api's role), and only reads.
    assert stack.ok(apps.reporting, "SELECT item FROM public.orders") == "widget"
    assert stack.ok(apps.reporting, "SELECT last_value FROM public.orders_id_seq") == "1"
    assert "permission denied" in stack.refused(apps.reporting, "INSERT INTO public.orders (item) VALUES ('x')")
    assert "permission denied" in stack.refused(apps.reporting, "CREATE TABLE public.mine (id int)")
    # The user must be the token's identity: the api's user with the reporting app's token is refused.
    stolen = stack.psql(apps.api, "SELECT 1", token_of=apps.reporting)
    assert stolen.returncode != 0 and "password authentication failed" in stolen.stderr, stolen.stderr
    # Tables the migrations made are no drift: the Grants on all tables still read as configured.
    stack.ws.assert_converged()


def test_one_app_more_adds_only_that_apps_resources(emulator, stack):
    ws, apps = stack.ws, stack.apps
    ws.tfvars["apps"] = {**ws.tfvars["apps"], apps.billing: {
        "access": "readwrite", "service_accounts": [{"namespace": "billing", "name": "billing.worker"}]}}
    ws.write_vars()

    plan = ws.plan_json()

    planned = changes(plan)
    added = app_addresses(apps.billing, "readwrite", [("billing", "billing.worker")],
                          {apps.api: "readwrite", apps.reporting: "readonly"})
    assert planned == {address: ["create"] for address in added}, planned
    applied = ws.ok("apply", "-auto-approve", timeout=600)
    assert f"Apply complete! Resources: {len(added)} added, 0 changed, 0 destroyed." in applied.stdout

    identity = next(i for i in emulator.identities(stack.names.resource_group) if i["name"] == apps.billing)
    assert [(c["name"], c["subject"]) for c in identity["federatedIdentityCredentials"]] == \
        [("billing-billing-worker", "system:serviceaccount:billing:billing.worker")]
    # The new app reads and writes the tables that existed before it, and the others use what its
    # own migrations make.
    assert stack.ok(apps.billing, "SELECT item FROM public.orders") == "widget"
    stack.ok(apps.billing, "INSERT INTO public.orders (item) VALUES ('gadget')")
    stack.ok(apps.billing, "CREATE TABLE public.invoices (id serial PRIMARY KEY, total int); "
                           "INSERT INTO public.invoices (total) VALUES (42)")
    assert stack.ok(apps.reporting, "SELECT total FROM public.invoices") == "42"
    stack.ok(apps.api, "UPDATE public.invoices SET total = 43")
    assert "permission denied" in stack.refused(apps.reporting, "DELETE FROM public.invoices")
    ws.assert_converged()


def test_destroy_removes_the_database_the_roles_and_the_identities(emulator, stack):
    ws, names, apps = stack.ws, stack.names, stack.apps
    every_app = [apps.api, apps.reporting, apps.billing]
    assert roles_present(every_app) == sorted(every_app)
    # A role that owns tables cannot be dropped: the apps' migrations' tables go first.
    stack.ok(apps.billing, "DROP TABLE public.invoices")
    stack.ok(apps.api, "DROP TABLE public.orders")
    count = len(ws.addresses()) - 1  # the data source is not destroyed

    destroyed = ws.ok("destroy", "-auto-approve", timeout=600)

    assert f"Destroy complete! Resources: {count} destroyed." in destroyed.stdout, destroyed.describe()
    assert roles_present(every_app) == []
    assert emulator.servers(names.resource_group) == []
    assert emulator.identities(names.resource_group) == []
    leftover = psql_backend("SELECT count(*) FROM pg_database WHERE datname LIKE "
                            + quote_literal(f"%\\_\\_{names.database}"))
    assert leftover == "0"
    assert ws.addresses() == set()
