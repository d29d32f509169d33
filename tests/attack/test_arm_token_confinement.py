"""The deployer's ARM bearer token goes to the configured ARM endpoint and nowhere else, and
what Azure (or a tampered state) says cannot crash the plugin, driven as the engine drives it:

- Read (import) of crafted IDs is refused at once as bad input, and nothing is sent for them;
- a Create whose answer points its Azure-AsyncOperation or Location at another host (plain http
  or https) keeps the resource's ID (ErrorResourceInitFailed) with an error naming the header
  and the host, and that host (a recording fake) never gets a connection;
- a 429 with a Retry-After of 2^64-1 seconds ends in a clear error within the engine's timeout,
  and the plugin goes on serving.

After every case the plugin's trace log holds no token (Entra tokens are JWTs: `eyJ...`)."""

from __future__ import annotations

import time

import grpc
import pytest

from arm_support import (  # noqa: F401 (fixtures are found by name in the module)
    PG_API,
    RG,
    SERVER,
    azure,
    check,
    emulator,
    read,
    server_inputs,
)
from harness import LoopbackListener, status_details, to_struct, urn
from pulumi.runtime.proto import provider_pb2


class RecordingHost(LoopbackListener):
    """A loopback listener that must never be contacted: it records every connection and the
    first bytes it got (a request line, or a TLS ClientHello), and answers like a poll would."""

    def __init__(self):
        self.received: list[bytes] = []
        super().__init__()

    def serve(self, conn):
        conn.settimeout(2)
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        self.received.append(data)
        body = b'{"status":"Succeeded"}'
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                         + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)
        except OSError:
            pass
        conn.close()


@pytest.fixture
def fake_host():
    host = RecordingHost()
    yield host
    host.close()


def assert_no_token_logged(p) -> None:
    log = p.stderr()
    assert "trace" in log.lower() or "debug" in log.lower(), "the provider did not log at trace level"
    assert "eyJ" not in log, "a token (JWT) is in the provider's log:\n" + \
        "\n".join(line for line in log.splitlines() if "eyJ" in line)[:2000]


def assert_still_serving(p) -> None:
    """The plugin answers the next RPC (it did not crash mid-operation)."""
    assert p.proc.poll() is None, f"the provider exited:\n{p.stderr()[-3000:]}"
    resp = p.check(SERVER, "after", server_inputs("pg-after"))
    assert not resp.failures


def test_read_of_crafted_ids_is_refused_at_once_and_sends_nothing(azure, emulator):
    sub = emulator.subscription
    server = f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers"
    crafted = {
        "a query in the name": f"{server}/pg-x?api-version=2017-12-01&x=",
        "a fragment in the name": f"{server}/pg-x#frag",
        "a dot-dot name": f"{server}/..",
        "whitespace in the group": f"/subscriptions/{sub}/resourceGroups/rg x/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-x",
        "a control character": f"{server}/pg-\u0007x",
        "user info": f"{server}/pg@127.0.0.1",
    }
    since = emulator.exchanges_so_far()
    for case, crafted_id in crafted.items():
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as err:
            read(azure, SERVER, "imported", crafted_id)
        took = time.monotonic() - started
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (case, err.value.code(), err.value.details())
        assert "is not a flexible server ID" in err.value.details(), (case, err.value.details())
        assert took < 10, f"{case}: refused only after {took:.1f} s (retried as if the network were down?)"
    sent = [e["path"] for e in emulator.exchanges(since)]
    assert not any(p.lower().startswith(server.lower()) for p in sent), \
        f"requests were sent for crafted IDs: {sent}"
    assert_still_serving(azure)
    assert_no_token_logged(azure)


@pytest.mark.parametrize("header,scheme", [
    ("azure-asyncoperation", "http"),
    ("azure-asyncoperation", "https"),
    ("location", "http"),
])
def test_a_create_whose_operation_url_points_elsewhere_keeps_the_id_and_never_contacts_it(
        azure, emulator, fake_host, header, scheme):
    name = f"pg-lro-{header[:5]}-{scheme}"
    path = emulator.path("server", name)
    elsewhere = f"{scheme}://127.0.0.1:{fake_host.port}/subscriptions/{emulator.subscription}/op?api-version=1"
    emulator.admin("faults", {"service": "arm", "method": "PUT", "pathPrefix": path, "count": 1,
                              "kind": {"type": "headers", "set": {header: elsewhere}}})
    inputs = check(azure, SERVER, "pg", server_inputs(name))
    with pytest.raises(grpc.RpcError) as err:
        azure.stub.Create(provider_pb2.CreateRequest(urn=urn(SERVER, "pg"), properties=to_struct(inputs), name="pg",
                                                     type=SERVER, timeout=30), timeout=60)
    assert fake_host.received == [], f"the other host was contacted: {fake_host.received[:1]!r}"
    # Azure accepted the write: the engine keeps the ID (nothing orphaned), and the reason names
    # the header and where it pointed.
    status = status_details(err.value)
    assert status is not None and status.details, f"no ErrorResourceInitFailed: {err.value.details()}"
    detail = provider_pb2.ErrorResourceInitFailed()
    assert status.details[0].Unpack(detail)
    assert detail.id.lower() == path.lower()
    reason = " ".join(detail.reasons) + " " + err.value.details()
    named = "Location header" if header == "location" else "Azure-AsyncOperation header"
    assert named in reason and f"127.0.0.1:{fake_host.port}" in reason, reason
    assert_still_serving(azure)
    assert_no_token_logged(azure)


def test_a_huge_retry_after_on_throttling_is_a_clear_error_not_a_crash(azure, emulator):
    name = "pg-retry-after-huge"
    path = emulator.path("server", name)
    emulator.admin("faults", {"service": "arm", "method": "PUT", "pathPrefix": path, "count": 1,
                              "kind": {"type": "throttle", "retryAfter": 18446744073709551615}})
    inputs = check(azure, SERVER, "pg", server_inputs(name))
    engine_timeout = 5.0
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as err:
        azure.stub.Create(provider_pb2.CreateRequest(urn=urn(SERVER, "pg"), properties=to_struct(inputs), name="pg",
                                                     type=SERVER, timeout=engine_timeout), timeout=60)
    took = time.monotonic() - started
    code, message = err.value.code(), err.value.details()
    assert code != grpc.StatusCode.UNKNOWN or "panic" not in message.lower(), message
    assert "429" in message or "throttl" in message.lower() or "TooManyRequests" in message, (code, message)
    assert took < 4 * engine_timeout, f"took {took:.1f} s past an engine timeout of {engine_timeout} s"
    status, _ = emulator.call("GET", path, PG_API)
    assert status == 404, "the throttled PUT never reached Azure, so nothing exists"
    assert_still_serving(azure)
    assert_no_token_logged(azure)


@pytest.mark.parametrize("token", [
    "pgentra:index:ManagedIdentity", "pgentra:index:FlexibleServer", "pgentra:index:FederatedCredential",
    "pgentra:index:FirewallRule", "pgentra:index:ServerParameter",
])
def test_delete_of_an_empty_or_malformed_id_is_an_error_at_once(azure, emulator, token):
    since = emulator.exchanges_so_far()
    for bad_id in ["", f"/subscriptions/{emulator.subscription}/resourceGroups/{RG} x"]:
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as err:
            azure.stub.Delete(provider_pb2.DeleteRequest(id=bad_id, urn=urn(token, "gone"), properties=to_struct({}),
                                                         name="gone", type=token, timeout=30), timeout=60)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (token, bad_id, err.value.details())
        assert "ID" in err.value.details(), err.value.details()
        assert time.monotonic() - started < 10
    writes = [e for e in emulator.exchanges(since) if e["method"] != "GET"]
    assert writes == [], f"a delete of a malformed ID was sent: {writes}"
    assert_no_token_logged(azure)


def test_tokens_expiring_every_two_seconds_are_renewed_and_calls_keep_working(azure, emulator):
    def arm_tokens_issued() -> int:
        issued = emulator.state()["tokensIssued"]
        return sum(n for resource, n in issued.items() if "management" in resource)

    before = arm_tokens_issued()
    emulator.admin("settings", {"tokenLifetimeSeconds": 2})
    try:
        identity = "pgentra:index:ManagedIdentity"
        names = []
        for n in range(3):
            name = f"id-short-token-{n}"
            inputs = check(azure, identity, "id", {"resourceGroupName": RG, "name": name, "location": "eastus"})
            created = azure.stub.Create(provider_pb2.CreateRequest(
                urn=urn(identity, f"id{n}"), properties=to_struct(inputs), name=f"id{n}", type=identity,
                timeout=60), timeout=90)
            names.append((created.id, name))
            time.sleep(2.5)  # the token the last call used has expired by now
        for created_id, name in names:
            got = read(azure, identity, name, created_id)
            assert got.id == created_id
        renewed = arm_tokens_issued() - before
    finally:
        emulator.admin("settings", {"tokenLifetimeSeconds": 3600})
    assert renewed >= 3, f"two-second tokens over about eight seconds of calls were asked for {renewed} time(s)"
    assert_no_token_logged(azure)


@pytest.mark.parametrize("kind", ["unavailable", "drop"])
def test_a_token_service_that_is_down_is_unavailable_for_the_engine(spawn, emulator, kind):
    """A fresh process (no token cached) while the token service answers 503 or drops every
    connection: the Create ends within the engine's timeout as UNAVAILABLE (retry later), with a
    message about signing in, and nothing is created."""
    from harness import secret
    name = f"id-no-token-{kind}"
    emulator.admin("faults", {"service": "login", "pathPrefix": "", "count": 100000, "kind": {"type": kind}})
    try:
        config = dict(emulator.info["providerConfig"])
        config["clientSecret"] = secret(config["clientSecret"])
        p = spawn().start(config)
        identity = "pgentra:index:ManagedIdentity"
        inputs = check(p, identity, "id", {"resourceGroupName": RG, "name": name, "location": "eastus"})
        with pytest.raises(grpc.RpcError) as err:
            p.stub.Create(provider_pb2.CreateRequest(urn=urn(identity, "id"), properties=to_struct(inputs), name="id",
                                                     type=identity, timeout=5), timeout=30)
    finally:
        emulator.clear_faults()
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE, (err.value.code(), err.value.details())
    assert "signing in" in err.value.details(), err.value.details()
    assert not any(i["name"] == name for i in emulator.state()["userAssignedIdentities"])
    assert_no_token_logged(p)
