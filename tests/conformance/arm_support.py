"""What the ARM conformance modules share: `pgentra emulator --json` as a separate process (with
a raw ARM client that makes changes outside the stack, and its admin API), the fixtures that start
it and a provider configured for it, the RPCs as the engine sends them, and the check that every
ARM exchange of a module validates against the official specs.

A test module imports the fixtures it uses by name (pytest finds fixtures in the module's
namespace): `from arm_support import arm_conformance, azure, emulator`.
"""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from harness import REPO_ROOT, from_struct, secret, to_struct, urn
from pulumi.runtime.proto import provider_pb2

EMULATOR = REPO_ROOT / "target" / "debug" / "pgentra"
RG = "rg-myapp-prod"
PG_API = "2025-08-01"
MSI_API = "2024-11-30"
RG_API = "2021-04-01"
DiffChanges = provider_pb2.DiffResponse.DiffChanges

IDENTITY = "pgentra:index:ManagedIdentity"
SERVER = "pgentra:index:FlexibleServer"
FEDERATED_CREDENTIAL = "pgentra:index:FederatedCredential"
FIREWALL_RULE = "pgentra:index:FirewallRule"
SERVER_PARAMETER = "pgentra:index:ServerParameter"


class Emulator:
    """`pgentra emulator --json`, plus a raw ARM client that makes changes outside the stack."""

    def __init__(self):
        if not EMULATOR.exists():
            pytest.fail(f"{EMULATOR} is missing: run scripts/test (or `cargo build --bins`) first")
        # --any-version: the suites ask for PostgreSQL 16 (and upgrade it) whatever the backend is.
        self.proc = subprocess.Popen([str(EMULATOR), "emulator", "--json", "--lro-ms", "50", "--any-version"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            pytest.fail(f"pgentra emulator printed nothing: {self.proc.stderr.read()}")
        self.info = json.loads(line)
        self.tls = ssl.create_default_context(cafile=self.info["caCertFile"])
        self.token = self._token()
        self.subscription = self.info["subscriptionId"]

    def _token(self) -> str:
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": self.info["clientId"],
            "client_secret": self.info["clientSecret"], "scope": "https://management.azure.com/.default",
        }).encode()
        with urllib.request.urlopen(self.info["tokenEndpoint"], form, context=self.tls, timeout=10) as resp:
            return json.load(resp)["access_token"]

    def call(self, method: str, path: str, api: str, body: dict | None = None) -> tuple[int, dict | None]:
        url = f"{self.info['armEndpoint']}{path}?api-version={api}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.tls, timeout=10) as resp:
                text = resp.read()
                return resp.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as err:
            text = err.read()
            return err.code, (json.loads(text) if text else None)

    def _admin(self, method: str, path: str, body: dict | list | None = None) -> tuple[int, dict | list | None]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.info['adminApi']}/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.tls, timeout=30) as resp:
                text = resp.read()
                return resp.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as err:
            text = err.read()
            return err.code, (json.loads(text) if text else None)

    def admin(self, path: str, body: dict | list) -> dict | list | None:
        """POST to the admin API (faults, settings, directory); it must accept."""
        status, answer = self._admin("POST", path, body)
        assert status in (200, 201), f"POST /_emulator/{path}: {status} {answer}"
        return answer

    def admin_get(self, path: str) -> tuple[int, dict | list | None]:
        return self._admin("GET", path)

    def clear_faults(self) -> None:
        status, answer = self._admin("DELETE", "faults")
        assert status == 204, f"DELETE /_emulator/faults: {status} {answer}"

    def faults(self) -> list:
        return self.admin_get("faults")[1]

    def state(self) -> dict:
        return self.admin_get("state")[1]

    def set_lro_ms(self, ms: int) -> None:
        assert self.admin("settings", {"lroDurationMs": ms})["lroDurationMs"] == ms

    def exchanges_so_far(self) -> int:
        """How many ARM exchanges the emulator recorded so far (a mark for `conformance(since=)`)."""
        status, answer = self.admin_get("conformance")
        assert status == 200, f"GET /_emulator/conformance: {status} {answer}"
        return answer["exchanges"]

    def exchanges(self, since: int = 0) -> list[dict]:
        """The recorded ARM exchanges (method, path, query, status), from the `since`-th on."""
        status, answer = self.admin_get(f"exchanges?since={since}")
        assert status == 200, f"GET /_emulator/exchanges: {status} {answer}"
        return answer

    def writes_to(self, path: str, since: int = 0) -> list[tuple[str, int]]:
        """(method, status) of every write (PUT, PATCH, DELETE, POST) sent to exactly `path`."""
        return [(e["method"], e["status"]) for e in self.exchanges(since)
                if e["path"].lower() == path.lower() and e["method"] != "GET"]

    def wait_until(self, what: str, probe, timeout: float = 10.0):
        """Polls `probe()` until it returns something truthy (an outside change's operation ending)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = probe()
            if got:
                return got
            time.sleep(0.05)
        pytest.fail(f"the emulator never showed {what} within {timeout} s", pytrace=False)

    def ready_server(self, name: str) -> dict:
        """Waits until the server exists and is Ready (no operation running on it); its body."""
        def probe():
            status, body = self.call("GET", self.path("server", name), PG_API)
            idle = f"{RG}/{name}".lower() not in self.state()["busyServers"]
            return body if status == 200 and body["properties"].get("state") == "Ready" and idle else None
        return self.wait_until(f"server {name} Ready", probe)

    def conformance(self, since: int = 0) -> dict:
        """The recorded ARM exchanges (from the `since`-th on) checked against the official specs."""
        status, answer = self.admin_get(f"conformance?since={since}")
        if status != 200:
            pytest.fail(f"the emulator could not check its ARM exchanges against the specs: {status} {answer}",
                        pytrace=False)
        return answer

    def path(self, kind: str, *names: str) -> str:
        base = f"/subscriptions/{self.subscription}/resourceGroups/{RG}/providers"
        if kind == "identity":
            p = f"{base}/Microsoft.ManagedIdentity/userAssignedIdentities/{names[0]}"
            return p + (f"/federatedIdentityCredentials/{names[1]}" if len(names) > 1 else "")
        p = f"{base}/Microsoft.DBforPostgreSQL/flexibleServers/{names[0]}"
        return p + (f"/{names[1]}/{names[2]}" if len(names) > 2 else "")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture(scope="module")
def emulator():
    emu = Emulator()
    try:
        status, _ = emu.call("PUT", f"/subscriptions/{emu.subscription}/resourcegroups/{RG}", RG_API,
                             {"location": "eastus"})
        assert status in (200, 201), status
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="module", autouse=True)
def arm_conformance(emulator):
    """After a module's tests: every ARM request the provider (and the tests) sent and every answer
    the emulator gave validates against the official specs, and some were checked at all."""
    yield
    report = emulator.conformance()
    problems = report["problems"]
    assert report["checked"] > 0, f"no ARM body was checked against the specs: {report}"
    assert not problems, f"{len(problems)} ARM exchange(s) break the official specs:\n" + "\n".join(problems)


@pytest.fixture
def azure(spawn, emulator):
    """A provider configured for the emulator's deployer, the client secret passed as a secret.
    Faults a test left behind are cleared after it."""
    config = dict(emulator.info["providerConfig"])
    config["clientSecret"] = secret(config["clientSecret"])
    yield spawn().start(config)
    emulator.clear_faults()


# ---------------------------------------------------------------------------------------------
# The RPCs, as the engine sends them
# ---------------------------------------------------------------------------------------------


def check(p, token: str, name: str, news: dict, olds: dict | None = None) -> dict:
    resp = p.check(token, name, news, olds)
    assert not resp.failures, [(f.property, f.reason) for f in resp.failures]
    return from_struct(resp.inputs)


def create(p, token: str, name: str, inputs: dict) -> provider_pb2.CreateResponse:
    return p.stub.Create(provider_pb2.CreateRequest(urn=urn(token, name), properties=to_struct(inputs), name=name,
                                                    type=token, timeout=60), timeout=90)


def read(p, token: str, name: str, id: str, state: dict | None = None, inputs: dict | None = None) -> provider_pb2.ReadResponse:
    return p.stub.Read(provider_pb2.ReadRequest(id=id, urn=urn(token, name), properties=to_struct(state or {}),
                                                inputs=to_struct(inputs or {}), name=name, type=token), timeout=60)


def update(p, token: str, name: str, id: str, olds: dict, news: dict, old_inputs: dict) -> provider_pb2.UpdateResponse:
    return p.stub.Update(provider_pb2.UpdateRequest(id=id, urn=urn(token, name), olds=to_struct(olds),
                                                    news=to_struct(news), old_inputs=to_struct(old_inputs),
                                                    name=name, type=token, timeout=60), timeout=90)


def delete(p, token: str, name: str, id: str, state: dict) -> None:
    p.stub.Delete(provider_pb2.DeleteRequest(id=id, urn=urn(token, name), properties=to_struct(state), name=name,
                                             type=token, timeout=60), timeout=90)


def diffed_properties(resp: provider_pb2.DiffResponse) -> set[str]:
    """The properties a Diff names, from `diffs` and `detailedDiff` alike."""
    return set(resp.diffs) | set(resp.detailedDiff)


def server_inputs(name: str, **extra) -> dict:
    """A passwordless server's program inputs (before Check)."""
    return {"resourceGroupName": RG, "serverName": name, "location": "eastus", "version": "16",
            "skuName": "Standard_B1ms", "storageSizeGb": 64, **extra}
