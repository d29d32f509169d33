"""The Python example, run for real against `pgentra emulator` as its README says: the emulated
tenant prepared by examples/emulator_prepare.py, then the program's resources created by the real
provider plugin (py_engine_runner.py: Pulumi's mocks stand in for the engine's resource monitor
only, as the Pulumi CLI cannot be installed here), with the real SDK, against the emulator's ARM
and its token-checking PostgreSQL gateway in front of the local PostgreSQL. Then the app's managed
identity signs in with its own token and uses a table; the developer is in the readwrite group;
a password is refused; and everything is destroyed, last first."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
import ssl

import pytest

from emulator_env import emulator_env
from schema_names import EXAMPLES, REPO

RUNNER = REPO / "tests" / "examples" / "py_engine_runner.py"
PREPARE = EXAMPLES / "emulator_prepare.py"
PROJECT = "pgentra-example-python"
POSTGRES_RESOURCE = "https://ossrdbms-aad.database.windows.net"


class Token(str):
    """A token: its repr (what pytest shows of a failing assertion) hides it."""

    def __repr__(self) -> str:
        return "<token>"


def token_for(emulator: dict, form: dict) -> Token:
    tls = ssl.create_default_context(cafile=emulator["caCertFile"])
    body = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(emulator["tokenEndpoint"], body, context=tls, timeout=10) as resp:
        return Token(json.load(resp)["access_token"])


def msi_token(emulator: dict, client_id: str) -> Token:
    """The app's token, from the emulator's managed-identity endpoint, as a pod would get it."""
    tls = ssl.create_default_context(cafile=emulator["caCertFile"])
    query = urllib.parse.urlencode({"resource": POSTGRES_RESOURCE, "api-version": "2019-08-01",
                                    "client_id": client_id})
    req = urllib.request.Request(f"{emulator['identityEndpoint']}?{query}",
                                 headers={"X-IDENTITY-HEADER": emulator["identityHeader"]})
    with urllib.request.urlopen(req, context=tls, timeout=10) as resp:
        return Token(json.load(resp)["access_token"])


def psql(emulator: dict, host: str, user: str, password: str, database: str, sql: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGPASSWORD=password, PGCONNECT_TIMEOUT="10")
    conninfo = (f"host={host} port=5432 dbname={database} sslmode=verify-full "
                f"sslrootcert={emulator['caCertFile']} user='{user}'")
    return subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql],
                          env=env, capture_output=True, text=True, timeout=30)


def not_ours(fqdn: str, cafile: str) -> str | None:
    """None when fqdn:5432 is this emulator's gateway (TLS with its CA, naming the address); else
    what answers there. Another emulator on this machine (a concurrent test run) may hold it: this
    one's gateway then listens elsewhere, and the example, which connects at 5432 as on Azure,
    reaches the other one."""
    try:
        with socket.create_connection((fqdn, 5432), timeout=2) as sock:
            sock.sendall((8).to_bytes(4, "big") + (80877103).to_bytes(4, "big"))  # SSLRequest
            if sock.recv(1) != b"S":
                return f"{fqdn}:5432 is not an emulator's gateway"
            with ssl.create_default_context(cafile=cafile).wrap_socket(sock, server_hostname=fqdn):
                return None
    except ssl.SSLError as err:
        return f"{fqdn}:5432 is another emulator's gateway (TLS: {err.reason})"
    except OSError as err:
        return f"nothing answers on {fqdn}:5432 ({err})"


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, f"psql failed: {done.stderr.strip()}"
    return done.stdout.strip()


def test_the_python_example_runs_against_the_emulator_as_its_readme_says(emulator, tmp_path):
    if subprocess.run(["which", "psql"], capture_output=True).returncode != 0:
        pytest.fail("psql is not installed (apt-get install -y postgresql-client)", pytrace=False)
    if not (REPO / "target" / "debug" / "pulumi-resource-pgentra").exists():
        pytest.fail("target/debug/pulumi-resource-pgentra is missing: run scripts/test (or `cargo build --bins`)",
                    pytrace=False)
    # Roles live in the one local PostgreSQL behind every emulated server: names no other run uses.
    suffix = secrets.token_hex(3)
    env = emulator_env(emulator)
    prepared = subprocess.run(
        [sys.executable, str(PREPARE), "--oidc-issuer", emulator["oidcIssuer"], "--server-name", f"pg-ex-{suffix}",
         "--admin-group", f"PG Admins {suffix}", "--readwrite-group", f"myapp-db-readwrite-{suffix}",
         "--developer", f"developer-{suffix}@yourcompany.com"],
        env=env, capture_output=True, text=True, timeout=60)
    assert prepared.returncode == 0, prepared.stderr
    config = {shlex.split(line)[3]: shlex.split(line)[4] for line in prepared.stdout.splitlines()}
    config["identityName"] = f"id-myapp-{suffix}"

    sdk_env = {**os.environ, "PYTHONPATH": str(REPO / "sdk" / "python")}
    provider_config = json.dumps(emulator["providerConfig"])
    done = subprocess.run([sys.executable, str(RUNNER), "up", str(EXAMPLES / "python"), PROJECT, json.dumps(config),
                           provider_config], env=sdk_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    made_file = tmp_path / "made.json"
    made_file.write_text(done.stdout)
    ran = json.loads(done.stdout)
    try:
        server = next((r["state"] for r in ran["made"] if r["name"] == "server"), None)
        collision = server and not_ours(server["fullyQualifiedDomainName"], emulator["caCertFile"])
        if collision:
            pytest.fail(f"{collision}: another pgentra emulator on this machine holds the address this "
                        "emulator gave the server; run the tests alone", pytrace=False)
        assert ran["error"] is None, ran["error"]
        assert len(ran["made"]) == 17, [r["name"] for r in ran["made"]]
        state = {r["name"]: r["state"] for r in ran["made"]}
        host = ran["outputs"]["serverFqdn"]
        assert host == state["server"]["fullyQualifiedDomainName"]
        app, group, developer = config["identityName"], config["readwriteGroupName"], config["developerUpn"]
        assert ran["outputs"]["appConnectionString"] == \
            f"Host={host};Database=myappdb;Username={app};Ssl Mode=Require;"

        # The deployer, signed in as the admin group it is a member of, creates a table after the
        # grants: the app's default privileges cover it.
        deployer = token_for(emulator, {
            "grant_type": "client_credentials", "client_id": emulator["clientId"],
            "client_secret": emulator["clientSecret"], "scope": f"{POSTGRES_RESOURCE}/.default"})
        admins = config["adminGroupName"]
        ok(psql(emulator, host, admins, deployer, "myappdb", "CREATE TABLE public.orders (id int PRIMARY KEY, item text)"))

        # The app signs in as its identity, with the token its pod would get, and uses the table.
        token = msi_token(emulator, ran["outputs"]["appClientId"])
        ok(psql(emulator, host, app, token, "myappdb", "INSERT INTO public.orders VALUES (1, 'widget')"))
        assert ok(psql(emulator, host, app, token, "myappdb", "SELECT item FROM public.orders")) == "widget"
        denied = psql(emulator, host, app, token, "myappdb", "DROP TABLE public.orders")
        assert denied.returncode != 0 and "must be owner" in denied.stderr, denied.stderr
        refused = psql(emulator, host, app, "Passw0rd!-not-a-token", "myappdb", "SELECT 1")
        assert refused.returncode != 0 and "password authentication failed" in refused.stderr, refused.stderr

        # The developer is a member of the readwrite group, which holds the seed's table privileges
        # on tables that existed at grant time (none by default on later ones, as in the seed).
        facts = ok(psql(emulator, host, admins, deployer, "myappdb",
                        f"SELECT pg_has_role('{developer}', '{group}', 'member'), "
                        f"has_database_privilege('{group}', current_database(), 'CONNECT'), "
                        f"has_schema_privilege('{group}', 'public', 'USAGE')"))
        assert facts == "t|t|t", facts
    finally:
        destroyed = subprocess.run([sys.executable, str(RUNNER), "destroy", str(made_file), provider_config],
                                   env=sdk_env, capture_output=True, text=True, timeout=600)
    assert destroyed.returncode == 0, destroyed.stderr[-4000:]
    tls = ssl.create_default_context(cafile=emulator["caCertFile"])
    with urllib.request.urlopen(f"{emulator['adminApi']}/state", context=tls, timeout=10) as resp:
        left = json.load(resp)
    assert [s["name"] for s in left["flexibleServers"]] == [] and left["userAssignedIdentities"] == [], \
        "destroy left Azure resources behind"
