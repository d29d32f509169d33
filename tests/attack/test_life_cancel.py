"""Issue 11, 7b: the engine's Cancel and SIGINT stop an operation's wait for a long-running
operation promptly. The operation goes on in Azure, so a create that Azure accepted answers
ErrorResourceInitFailed with the server's ID and the inputs known so far: the engine keeps it in
the state, and nothing in the emulator is unknown to it. The emulator's create never ends here
(a 10-minute operation); without the cancel the Create would wait for all of it.

Run: cargo build --bins && .venv/bin/python -m pytest tests/attack/test_life_cancel.py -q
"""

from __future__ import annotations

import os
import signal
import threading
import time

import grpc
from google.protobuf import empty_pb2

from life_support import (  # noqa: F401 (fixtures are found by name in the module)
    SERVER,
    InFlight,
    arm_conformance,
    assert_no_token_anywhere,
    check,
    create,
    delete,
    emulator,
    engine,
    init_failed,
    server_inputs,
    slow_lro,
    spawn,
    wait_for_busy,
)
from harness import from_struct, secret  # noqa: E402 (life_support puts harness on the path)

# Generous: the wait it replaces is the whole 10-minute operation (or the engine's timeout).
PROMPTLY = 15.0
ENDLESS_MS = 600_000


def started(spawn, emulator):
    config = dict(emulator.info["providerConfig"])
    config["clientSecret"] = secret(config["clientSecret"])
    return spawn().start(config)


def create_in_flight(provider, emulator, name: str) -> InFlight:
    inputs = check(provider, SERVER, "pg", server_inputs(name))
    slow_lro(emulator, name, ENDLESS_MS)
    creating = InFlight(provider, SERVER, "pg", inputs)
    wait_for_busy(emulator, name)
    time.sleep(1.0)  # the provider is now in its poll wait
    assert not creating.done(), "the create should still be waiting for the operation"
    return creating


def assert_init_failed_with_the_id(creating: InFlight, emulator, name: str, since: float) -> None:
    assert creating.wait(PROMPTLY), f"Create was still waiting {PROMPTLY} s after it was cancelled"
    assert creating.error is not None, "a create that did not finish cannot succeed"
    detail = init_failed(creating.error)
    assert detail.id.lower() == emulator.path("server", name).lower(), detail.id
    outputs = from_struct(detail.properties)
    assert outputs["serverName"] == name and outputs["resourceGroupName"] == "rg-myapp-prod", outputs
    assert any("cancel" in r.lower() for r in detail.reasons), list(detail.reasons)


def test_cancel_stops_the_wait_for_a_server_create_and_keeps_its_id(spawn, engine, emulator):
    provider = started(spawn, emulator)
    creating = create_in_flight(provider, emulator, "pg-cancelled")
    cancelled_at = time.monotonic()
    provider.stub.Cancel(empty_pb2.Empty(), timeout=5)
    assert_init_failed_with_the_id(creating, emulator, "pg-cancelled", cancelled_at)
    # After Cancel the provider starts nothing new (the engine is shutting it down).
    try:
        create(provider, SERVER, "pg2", check(provider, SERVER, "pg2", server_inputs("pg-after")))
        raise AssertionError("a Create after Cancel must be refused")
    except grpc.RpcError as error:
        assert "cancel" in (error.details() or "").lower(), error.details()
    assert emulator.call("GET", emulator.path("server", "pg-after"), "2025-08-01")[0] == 404
    provider.shutdown()
    assert_no_token_anywhere(provider, engine)


def test_sigint_stops_the_wait_for_a_server_create_and_keeps_its_id(spawn, engine, emulator):
    provider = started(spawn, emulator)
    creating = create_in_flight(provider, emulator, "pg-interrupted")
    os.kill(provider.proc.pid, signal.SIGINT)
    assert_init_failed_with_the_id(creating, emulator, "pg-interrupted", time.monotonic())
    provider.closed = True
    assert provider.proc.wait(timeout=10) is not None, "the plugin must exit after SIGINT"
    assert_no_token_anywhere(provider, engine)


def test_cancel_stops_the_wait_for_a_server_delete_with_a_clear_cancelled_error(spawn, engine, emulator):
    provider = started(spawn, emulator)
    name = "pg-delete-cancelled"
    created = create(provider, SERVER, "pg", check(provider, SERVER, "pg", server_inputs(name)))
    emulator.ready_server(name)
    slow_lro(emulator, name, ENDLESS_MS)
    result: dict = {}

    def run():
        try:
            delete(provider, SERVER, "pg", created.id, from_struct(created.properties))
        except grpc.RpcError as error:
            result["error"] = error
        result["done"] = True

    deleting = threading.Thread(target=run, daemon=True)
    deleting.start()
    wait_for_busy(emulator, name)
    time.sleep(1.0)
    assert "done" not in result, "the delete should still be waiting for the operation"
    provider.stub.Cancel(empty_pb2.Empty(), timeout=5)
    deleting.join(PROMPTLY)
    assert "done" in result, f"Delete was still waiting {PROMPTLY} s after it was cancelled"
    error = result.get("error")
    assert error is not None, "a delete that did not finish cannot succeed (the engine would drop the server)"
    assert "cancelled" in error.details() and "deleting pgentra:index:FlexibleServer" in error.details(), \
        error.details()
    assert error.code() != grpc.StatusCode.INTERNAL, error.details()
    provider.shutdown()
    assert_no_token_anywhere(provider, engine)
