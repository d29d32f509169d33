"""Faults injected into `pgentra emulator` (its admin API) while the provider works through them:
throttling, server errors, a dropped connection, an operation Azure cancels, the token service
down, and concurrent writes to one identity. Each ends in success after retries or in a clear
error, with the state true to what exists in the emulator."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from arm_support import (  # noqa: F401 (fixtures are found by name in the module)
    FEDERATED_CREDENTIAL,
    IDENTITY,
    MSI_API,
    PG_API,
    RG,
    SERVER,
    arm_conformance,
    azure,
    check,
    create,
    emulator,
    server_inputs,
)
from harness import from_struct, secret, status_details, to_struct, urn
from pulumi.runtime.proto import provider_pb2


def identity_inputs(name: str) -> dict:
    return {"resourceGroupName": RG, "name": name, "location": "eastus"}


def assert_created_as_the_emulator_holds_it(emulator, created, path: str, api: str) -> dict:
    assert created.id.lower() == path.lower()
    status, live = emulator.call("GET", path, api)
    assert status == 200, f"{path} is not in the emulator: {status} {live}"
    assert emulator.faults() == [], "every injected fault was used up"
    return live


def test_a_429_storm_is_waited_out_and_the_server_is_created(azure, emulator):
    path = emulator.path("server", "pg-throttled")
    emulator.admin("faults", {"pathPrefix": path, "method": "PUT", "count": 2,
                              "kind": {"type": "throttle", "retryAfter": 1}})
    created = create(azure, SERVER, "pg", check(azure, SERVER, "pg", server_inputs("pg-throttled")))
    live = assert_created_as_the_emulator_holds_it(emulator, created, path, PG_API)
    assert from_struct(created.properties)["state"] == live["properties"]["state"] == "Ready"


def test_two_server_errors_are_retried_and_the_identity_is_created(azure, emulator):
    path = emulator.path("identity", "id-after-500s")
    emulator.admin("faults", {"pathPrefix": path, "method": "PUT", "count": 2, "kind": {"type": "serverError"}})
    created = create(azure, IDENTITY, "id", check(azure, IDENTITY, "id", identity_inputs("id-after-500s")))
    live = assert_created_as_the_emulator_holds_it(emulator, created, path, MSI_API)
    assert from_struct(created.properties)["principalId"] == live["properties"]["principalId"]


def test_a_dropped_connection_is_retried_and_the_identity_is_created(azure, emulator):
    path = emulator.path("identity", "id-after-drop")
    emulator.admin("faults", {"pathPrefix": path, "method": "PUT", "count": 1, "kind": {"type": "drop"}})
    created = create(azure, IDENTITY, "id", check(azure, IDENTITY, "id", identity_inputs("id-after-drop")))
    live = assert_created_as_the_emulator_holds_it(emulator, created, path, MSI_API)
    assert from_struct(created.properties)["clientId"] == live["properties"]["clientId"]


def test_a_server_whose_operation_azure_cancels_stays_in_the_state_with_its_id(azure, emulator):
    path = emulator.path("server", "pg-canceled")
    emulator.admin("faults", {"pathPrefix": path, "count": 1, "kind": {"type": "lroCanceled"}})
    with pytest.raises(grpc.RpcError) as err:
        create(azure, SERVER, "pg", check(azure, SERVER, "pg", server_inputs("pg-canceled")))
    status = status_details(err.value)
    assert status is not None and status.details, f"no ErrorResourceInitFailed: {err.value.details()}"
    detail = provider_pb2.ErrorResourceInitFailed()
    assert status.details[0].Unpack(detail)
    assert detail.id.lower() == path.lower()
    assert detail.reasons and "Canceled" in detail.reasons[0], list(detail.reasons)
    assert emulator.faults() == []


def test_with_the_token_service_down_create_fails_clearly_and_creates_nothing(spawn, emulator):
    """The token service answers 503 to every request: within the engine's timeout the Create
    ends in an error that says signing in failed (not an internal error), and nothing exists."""
    path = emulator.path("identity", "id-no-token")
    emulator.admin("faults", {"service": "login", "pathPrefix": "", "count": 1000, "kind": {"type": "unavailable"}})
    engine_timeout = 5.0
    try:
        config = dict(emulator.info["providerConfig"])
        config["clientSecret"] = secret(config["clientSecret"])
        p = spawn().start(config)  # a fresh process: no token cached
        inputs = check(p, IDENTITY, "id", identity_inputs("id-no-token"))
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as err:
            p.stub.Create(provider_pb2.CreateRequest(urn=urn(IDENTITY, "id"), properties=to_struct(inputs), name="id",
                                                     type=IDENTITY, timeout=engine_timeout),
                          timeout=3 * engine_timeout)
        took = time.monotonic() - started
    finally:
        emulator.clear_faults()
    code, message = err.value.code(), err.value.details()
    assert took < 2 * engine_timeout, f"Create ignored the engine's timeout of {engine_timeout} s while the " \
        f"token service was down: {code.name} after {took:.1f} s"
    assert code != grpc.StatusCode.INTERNAL, (code, message)
    assert any(w in message.lower() for w in ("signing in", "token", "credential")), message
    assert config["clientSecret"]["value"] not in message, "the client secret leaked into the error"
    details = status_details(err.value)
    assert details is None or not details.details, "nothing was accepted, so there is no ID to keep"
    assert emulator.call("GET", path, MSI_API)[0] == 404, "nothing may be created without a token"
    assert not any(i["name"] == "id-no-token" for i in emulator.state()["userAssignedIdentities"])


def test_four_federated_credentials_created_at_once_on_one_identity_all_succeed(azure, emulator):
    create(azure, IDENTITY, "id", check(azure, IDENTITY, "id", identity_inputs("id-busy")))
    names = [f"fc-pod-{i}" for i in range(4)]

    def make(name: str):
        inputs = check(azure, FEDERATED_CREDENTIAL, name, {
            "resourceGroupName": RG, "identityName": "id-busy", "name": name,
            "issuer": emulator.info["oidcIssuer"], "subject": f"system:serviceaccount:myapp-ns:{name}"})
        return create(azure, FEDERATED_CREDENTIAL, name, inputs)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(make, names))  # one provider process, four Creates in flight
    assert sorted(r.id.lower() for r in results) == sorted(
        emulator.path("identity", "id-busy", n).lower() for n in names)
    status, listed = emulator.call("GET", f"{emulator.path('identity', 'id-busy')}/federatedIdentityCredentials",
                                   MSI_API)
    assert status == 200 and sorted(c["name"] for c in listed["value"]) == names
