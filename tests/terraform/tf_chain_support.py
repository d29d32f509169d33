"""Support for running examples/terraform through the real Terraform 1.0.3 against a `pgentra
emulator` started for the test (its ARM, Entra and per-server PostgreSQL gateways) and the real
PostgreSQL on 127.0.0.1:5432 behind it. Everything talks to 127.0.0.0/8 only.

A missing prerequisite fails with the command that provides it; nothing is ever skipped."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tf_support import REPO, PrerequisiteMissing, TerraformWorkspace, target_dir

EXAMPLE = REPO / "examples" / "terraform"
PREPARE = REPO / "examples" / "emulator_prepare.py"
POSTGRES_RESOURCE = "https://ossrdbms-aad.database.windows.net"
ARM_SCOPE = "https://management.azure.com/.default"
SERVERS_API = "2025-08-01"
IDENTITIES_API = "2024-11-30"
BUILD_BINS = "CARGO_TARGET_DIR=${PGENTRA_TARGET_DIR:-target} cargo build --bins"


class Secret(str):
    """A token or secret: its repr (what pytest shows of a failing assertion) hides it."""

    def __repr__(self) -> str:
        return "<secret>"


# --- prerequisites -----------------------------------------------------------------------------


def pgentra_binary() -> Path:
    binary = target_dir() / "debug" / "pgentra"
    if not binary.is_file():
        raise PrerequisiteMissing(f"{binary} does not exist; build it first (from {REPO}):\n    {BUILD_BINS}")
    return binary


def require_postgres() -> None:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=3):
            pass
    except OSError as error:
        raise PrerequisiteMissing(
            f"no PostgreSQL answers on 127.0.0.1:5432 ({error}); scripts/test starts one, or:\n"
            "    apt-get install -y postgresql && pg_ctlcluster 15 main start "
            "(superuser postgres, trust on 127.0.0.1)"
        ) from error
    if shutil.which("psql") is None:
        raise PrerequisiteMissing("psql is not installed:\n    apt-get install -y postgresql-client")


# --- the emulator ------------------------------------------------------------------------------


class EmulatorProcess:
    """`pgentra emulator --json` in a process of its own, and its admin and ARM APIs."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            # --any-version: the example asks for PostgreSQL 16 whatever the backend is.
            [str(pgentra_binary()), "emulator", "--json", "--lro-ms", "50", "--any-version"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline()
        if not line:
            self.process.kill()
            raise PrerequisiteMissing(f"pgentra emulator printed nothing: {self.process.stderr.read()}")
        self.info = json.loads(line)
        if "terraform" not in self.info:
            self.stop()
            raise PrerequisiteMissing(
                f"{pgentra_binary()} prints no `terraform` settings with --json: rebuild it:\n    {BUILD_BINS}"
            )
        self.tls = ssl.create_default_context(cafile=self.info["caCertFile"])
        self._arm_token: Secret | None = None

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    @property
    def terraform_env(self) -> dict[str, str]:
        """What `pgentra emulator` tells a Terraform user to export (ARM_* and the overrides)."""
        return dict(self.info["terraform"]["environment"])

    @property
    def client_secret(self) -> str:
        return self.info["providerConfig"]["clientSecret"]

    def request(self, method: str, url: str, body=None, headers=None, form: bool = False):
        headers = dict(headers or {})
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body).encode() if form else json.dumps(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=30) as response:
                text = response.read()
                return response.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as error:
            text = error.read()
            return error.code, (json.loads(text) if text else None)

    def token(self, scope: str) -> Secret:
        status, body = self.request("POST", self.info["tokenEndpoint"], form=True, body={
            "grant_type": "client_credentials", "client_id": self.info["clientId"],
            "client_secret": self.info["clientSecret"], "scope": scope})
        assert status == 200, f"token: HTTP {status}"
        return Secret(body["access_token"])

    def msi_token(self, client_id: str) -> Secret:
        """The app's token from the managed-identity endpoint, as its pod would get it."""
        query = urllib.parse.urlencode({"resource": POSTGRES_RESOURCE, "api-version": "2019-08-01",
                                        "client_id": client_id})
        status, body = self.request("GET", f"{self.info['identityEndpoint']}?{query}",
                                    headers={"X-IDENTITY-HEADER": self.info["identityHeader"]})
        assert status == 200, f"managed identity token: HTTP {status} {body}"
        return Secret(body["access_token"])

    def arm(self, method: str, path: str, api_version: str, body=None):
        if self._arm_token is None:
            self._arm_token = self.token(ARM_SCOPE)
        url = f"{self.info['armEndpoint'].rstrip('/')}{path}?api-version={api_version}"
        return self.request(method, url, body, {"Authorization": f"Bearer {self._arm_token}"})

    def state(self) -> dict:
        status, body = self.request("GET", f"{self.info['adminApi']}/state")
        assert status == 200, status
        return body

    def add_faults(self, rules: list[dict]) -> None:
        status, body = self.request("POST", f"{self.info['adminApi']}/faults", rules)
        assert status == 201, (status, body)

    def clear_faults(self) -> None:
        self.request("DELETE", f"{self.info['adminApi']}/faults")

    def exchanges(self, since: int = 0) -> list[dict]:
        status, body = self.request("GET", f"{self.info['adminApi']}/exchanges?since={since}")
        assert status == 200, status
        return body

    def servers(self, resource_group: str) -> list[dict]:
        return [s for s in self.state()["flexibleServers"] if s["resourceGroup"] == resource_group]

    def identities(self, resource_group: str) -> list[dict]:
        return [i for i in self.state()["userAssignedIdentities"] if i["resourceGroup"] == resource_group]

    def wait_until(self, what: str, condition, timeout: float = 20):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"the emulator never showed {what}")
            time.sleep(0.1)


# --- the example's variables -------------------------------------------------------------------


@dataclass
class Names:
    """Names no other run uses: roles live in the one PostgreSQL behind every emulated server."""

    suffix: str = field(default_factory=lambda: secrets.token_hex(3))

    @property
    def resource_group(self) -> str:
        return f"rg-tf-{self.suffix}"

    @property
    def server(self) -> str:
        return f"pg-tf-{self.suffix}"

    @property
    def identity(self) -> str:
        return f"id-tf-{self.suffix}"

    @property
    def database(self) -> str:
        return f"appdb_{self.suffix}"

    @property
    def admin_group(self) -> str:
        return f"PG Admins tf {self.suffix}"

    @property
    def readwrite_group(self) -> str:
        return f"myapp-db-readwrite-tf-{self.suffix}"

    @property
    def developer(self) -> str:
        return f"developer-tf-{self.suffix}@yourcompany.com"

    def roles(self) -> list[str]:
        return [self.identity, self.readwrite_group, self.developer]


def prepare(emulator: EmulatorProcess, names: Names) -> dict[str, object]:
    """examples/emulator_prepare.py, as README-emulator.md runs it; its output as tfvars."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARM_", "AZURE_", "PGENTRA_"))}
    env.update({var: emulator.info["providerConfig"][key] for key, var in {
        "armEndpoint": "PGENTRA_ARM_ENDPOINT", "authorityHost": "AZURE_AUTHORITY_HOST",
        "tenantId": "AZURE_TENANT_ID", "subscriptionId": "AZURE_SUBSCRIPTION_ID",
        "clientId": "AZURE_CLIENT_ID", "clientSecret": "AZURE_CLIENT_SECRET",
        "caCertFile": "PGENTRA_CA_CERT_FILE"}.items()})
    done = subprocess.run(
        [sys.executable, str(PREPARE), "--oidc-issuer", emulator.info["oidcIssuer"],
         "--server-name", names.server, "--resource-group", names.resource_group,
         "--admin-group", names.admin_group, "--readwrite-group", names.readwrite_group,
         "--developer", names.developer],
        env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    import shlex
    pulumi = {shlex.split(line)[3]: shlex.split(line)[4] for line in done.stdout.splitlines()}
    snake = {
        "serverName": "server_name", "resourceGroupName": "resource_group_name", "location": "location",
        "adminGroupName": "admin_group_name", "adminGroupObjectId": "admin_group_object_id",
        "readwriteGroupName": "readwrite_group_name", "developerUpn": "developer_upn",
        "oidcIssuerUrl": "oidc_issuer_url", "deployerIp": "deployer_ip",
    }
    tfvars: dict[str, object] = {snake[key]: value for key, value in pulumi.items()}
    tfvars["identity_name"] = names.identity
    tfvars["database_name"] = names.database
    tfvars["tags"] = {"env": "test"}
    return tfvars


# --- Terraform on the example ------------------------------------------------------------------


class ExampleWorkspace(TerraformWorkspace):
    """examples/terraform copied into a temporary directory, pointed at the emulator through the
    environment `pgentra emulator` prints (provider "pgentra" {} reads it), tfvars written."""

    def __init__(self, root: Path, emulator: EmulatorProcess, tfvars: dict[str, object] | None):
        super().__init__(root)
        for source in EXAMPLE.glob("*.tf"):
            shutil.copyfile(source, self.workdir / source.name)
        if tfvars is not None:
            (self.workdir / "terraform.tfvars.json").write_text(json.dumps(tfvars, indent=2))
        self.emulator = emulator
        self.extra_env = emulator.terraform_env

    def tf(self, *args: str, env: dict[str, str] | None = None, timeout: float = 300):
        return self.run(*args, "-no-color", env={**self.extra_env, **(env or {})}, timeout=timeout)

    def ok(self, *args: str, env: dict[str, str] | None = None, timeout: float = 300):
        done = self.tf(*args, env=env, timeout=timeout)
        assert done.returncode == 0, done.describe()
        return done

    def state_json(self) -> dict:
        return json.loads(self.ok("show", "-json").stdout)

    def resources(self) -> dict[str, dict]:
        """address -> values, from `terraform show -json`."""
        state = self.state_json()
        out = {}
        for resource in state.get("values", {}).get("root_module", {}).get("resources", []):
            out[resource["address"]] = resource["values"]
        return out

    def plan_json(self, *args: str) -> dict:
        self.ok("plan", "-out=chain.tfplan", *args)
        return json.loads(self.ok("show", "-json", "chain.tfplan").stdout)


def changes(plan: dict) -> dict[str, list[str]]:
    """address -> actions of every resource change that is not a no-op."""
    return {c["address"]: c["change"]["actions"] for c in plan.get("resource_changes", [])
            if c["change"]["actions"] != ["no-op"]}


def drift(plan: dict) -> dict[str, list[str]]:
    return {c["address"]: c["change"]["actions"] for c in plan.get("resource_drift", [])}


# --- SQL ---------------------------------------------------------------------------------------


def psql_gateway(emulator: EmulatorProcess, host: str, user: str, password: str, database: str, sql: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGPASSWORD=password, PGCONNECT_TIMEOUT="10")
    conninfo = (f"host={host} port=5432 dbname={database} sslmode=verify-full "
                f"sslrootcert={emulator.info['caCertFile']} user='{user}'")
    return subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql],
                          env=env, capture_output=True, text=True, timeout=30)


def psql_backend(sql: str, database: str = "postgres") -> str:
    """The real PostgreSQL behind the emulator, as its superuser: what happens outside Terraform."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    done = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                           "-p", "5432", "-U", "postgres", "-d", database, "-c", sql],
                          env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"psql (backend) {sql!r}: {done.stderr}"
    return done.stdout.strip()


def backend_database(azure_name: str) -> str:
    """The backend database the emulator made for a server's database (`<prefix>__<name>`)."""
    rows = psql_backend(f"SELECT datname FROM pg_database WHERE datname LIKE '%\\_\\_{azure_name}'").split()
    assert len(rows) == 1, f"backend databases for {azure_name}: {rows}"
    return rows[0]


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def roles_present(names: list[str]) -> list[str]:
    listed = ", ".join(quote_literal(n) for n in names)
    out = psql_backend(f"SELECT rolname FROM pg_roles WHERE rolname IN ({listed}) ORDER BY 1")
    return out.splitlines() if out else []
