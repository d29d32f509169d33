"""Issue 11, 5b: a server create whose plugin was killed (kill -9) mid-operation is never taken
over silently. The create tags the server with a mark of the stack and resource (a hash of the
URN); the next run's create of the same resource adopts a server carrying that mark, with a
warning to the engine, after waiting for a create still running in Azure (one refused write,
then reads, instead of a storm of 409s). A server without the mark, or with another's, is
refused with the import command, whether its create still runs or has ended. The mark never
shows in the program's tags, so the next preview has nothing to change.

Run: cargo build --bins && .venv/bin/python -m pytest tests/attack/test_life_interrupted.py -q
"""

from __future__ import annotations

import os
import signal

import grpc
import pytest

from life_support import (  # noqa: F401 (fixtures are found by name in the module)
    RG,
    SERVER,
    InFlight,
    arm_conformance,
    assert_no_token_anywhere,
    check,
    create,
    emulator,
    engine,
    read,
    server_inputs,
    slow_lro,
    spawn,
    wait_for_busy,
)
from harness import from_struct, secret  # noqa: E402 (life_support puts harness on the path)
from pulumi.runtime.proto import provider_pb2

PG_API = "2025-08-01"
MARK_TAG = "pgentra-create"


def started(spawn, emulator):
    config = dict(emulator.info["providerConfig"])
    config["clientSecret"] = secret(config["clientSecret"])
    return spawn().start(config)


def killed_mid_create(spawn, emulator, name: str, lro_ms: int):
    """A plugin that started creating server `name` (an operation of `lro_ms`) and was killed
    with SIGKILL while Azure ran it: the engine never heard of the server."""
    first = started(spawn, emulator)
    inputs = check(first, SERVER, "pg", server_inputs(name))
    slow_lro(emulator, name, lro_ms)
    creating = InFlight(first, SERVER, "pg", inputs)
    wait_for_busy(emulator, name)
    os.killpg(first.proc.pid, signal.SIGKILL)
    first.proc.wait(timeout=5)
    first.closed = True
    assert creating.wait(10) and creating.error is not None, "the killed plugin cannot have answered"
    return inputs


def server_write_statuses(emulator, name: str, since: int) -> list[tuple[str, int]]:
    return emulator.writes_to(emulator.path("server", name), since)


def assert_no_diff_after_refresh(provider, name: str, created) -> None:
    """The mark is not among the program's tags: refresh, then the next preview changes nothing."""
    outputs = from_struct(created.properties)
    assert MARK_TAG not in (outputs.get("tags") or {}), outputs.get("tags")
    inputs = check(provider, SERVER, "pg", server_inputs(name))
    refreshed = read(provider, SERVER, "pg", created.id, outputs, inputs)
    assert MARK_TAG not in (from_struct(refreshed.properties).get("tags") or {})
    diff = provider.diff(SERVER, "pg", from_struct(refreshed.properties), inputs,
                         old_inputs=from_struct(refreshed.inputs), id=created.id)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE, (list(diff.diffs), dict(diff.detailedDiff))


def assert_emulator_holds_only(emulator, prefix: str, known_ids: set[str]) -> None:
    """Nothing in the emulator that the state does not know: its servers named `prefix...` are
    exactly the ones whose IDs the engine got."""
    held = {s["id"].lower() for s in emulator.state()["flexibleServers"] if s["name"].startswith(prefix)}
    assert held == {i.lower() for i in known_ids}, f"the emulator holds {held}, the state knows {known_ids}"


def test_a_create_still_running_after_kill_9_is_waited_for_then_adopted_with_a_warning(spawn, engine, emulator):
    name = "pg-life-running"
    killed_mid_create(spawn, emulator, name, lro_ms=8_000)
    second = started(spawn, emulator)
    since = emulator.exchanges_so_far()
    created = create(second, SERVER, "pg", check(second, SERVER, "pg", server_inputs(name)))
    assert created.id.lower() == emulator.path("server", name).lower()
    messages = engine.messages()
    assert any("already running" in m and name in m for m in messages), messages
    assert any(m.startswith("adopting") and name in m and "interrupted create" in m for m in messages), messages
    refused = [s for (m, s) in server_write_statuses(emulator, name, since) if s == 409]
    assert len(refused) <= 1, f"the running create was written into {len(refused)} times (a 409 storm)"
    assert_no_diff_after_refresh(second, name, created)
    assert_emulator_holds_only(emulator, "pg-life-running", {created.id})
    assert_no_token_anywhere(second, engine)


def test_a_create_that_ended_after_kill_9_is_adopted_with_a_warning(spawn, engine, emulator):
    name = "pg-life-ended"
    killed_mid_create(spawn, emulator, name, lro_ms=2_000)
    emulator.ready_server(name)
    second = started(spawn, emulator)
    created = create(second, SERVER, "pg", check(second, SERVER, "pg", server_inputs(name)))
    assert created.id.lower() == emulator.path("server", name).lower()
    messages = engine.messages()
    assert any(m.startswith("adopting") and name in m and "interrupted create" in m for m in messages), messages
    assert_no_diff_after_refresh(second, name, created)
    assert_emulator_holds_only(emulator, "pg-life-ended", {created.id})
    assert_no_token_anywhere(second, engine)


def foreign_server(emulator, name: str, tags: dict | None) -> None:
    body = {"location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
            "properties": {"version": "16", "authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"}}}
    if tags is not None:
        body["tags"] = tags
    status, answer = emulator.call("PUT", emulator.path("server", name), PG_API, body)
    assert status in (200, 201, 202), (status, answer)


def assert_refused_with_the_import_command(error: grpc.RpcError, emulator, name: str) -> None:
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS, (error.code(), error.details())
    assert f"pulumi import {SERVER} pg {emulator.path('server', name)}" in error.details(), error.details()


@pytest.mark.parametrize("tags", [None, {MARK_TAG: "pulumi-0123456789abcdef0123456789abcdef", "team": "x"}],
                         ids=["unmarked", "another-stacks-mark"])
def test_a_foreign_server_is_refused_with_the_import_command(spawn, engine, emulator, tags):
    name = f"pg-life-foreign-{'marked' if tags else 'plain'}"
    foreign_server(emulator, name, tags)
    emulator.ready_server(name)
    provider = started(spawn, emulator)
    with pytest.raises(grpc.RpcError) as err:
        create(provider, SERVER, "pg", check(provider, SERVER, "pg", server_inputs(name)))
    assert_refused_with_the_import_command(err.value, emulator, name)
    assert not any(m.startswith("adopting") for m in engine.messages()), engine.messages()
    assert_no_token_anywhere(provider, engine)


def test_a_foreign_create_still_running_is_waited_for_then_refused_not_taken_over(spawn, engine, emulator):
    name = "pg-life-foreign-running"
    slow_lro(emulator, name, 8_000)
    foreign_server(emulator, name, None)
    wait_for_busy(emulator, name)
    provider = started(spawn, emulator)
    since = emulator.exchanges_so_far()
    with pytest.raises(grpc.RpcError) as err:
        create(provider, SERVER, "pg", check(provider, SERVER, "pg", server_inputs(name)))
    assert_refused_with_the_import_command(err.value, emulator, name)
    statuses = server_write_statuses(emulator, name, since)
    assert [s for (_, s) in statuses if s < 300] == [], f"the foreign server was written to: {statuses}"
    status, live = emulator.call("GET", emulator.path("server", name), PG_API)
    assert status == 200 and MARK_TAG not in (live.get("tags") or {}), live.get("tags")
    assert_no_token_anywhere(provider, engine)


def test_an_identity_whose_create_answer_was_lost_is_adopted_and_another_stacks_refused(spawn, engine, emulator):
    """The engine never recorded an identity (its plugin died after Azure created it): the
    next run's create of the same resource adopts it with a warning; the same name wanted by
    another resource (another URN: another name, or another stack) is refused with the import command."""
    identity = "pgentra:index:ManagedIdentity"
    inputs = {"resourceGroupName": RG, "name": "id-life-lost", "location": "eastus", "tags": {"env": "prod"}}
    first = started(spawn, emulator)
    lost = create(first, identity, "app", check(first, identity, "app", inputs))  # the answer is lost
    second = started(spawn, emulator)
    created = create(second, identity, "app", check(second, identity, "app", inputs))
    assert created.id == lost.id
    assert any(m.startswith("adopting") and "id-life-lost" in m for m in engine.messages()), engine.messages()
    outputs = from_struct(created.properties)
    assert outputs["tags"] == {"env": "prod"} and outputs["principalId"] == from_struct(lost.properties)["principalId"]
    with pytest.raises(grpc.RpcError) as err:
        create(second, identity, "other-app", check(second, identity, "other-app", inputs))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS, err.value.details()
    assert f"pulumi import {identity} other-app {created.id}" in err.value.details(), err.value.details()
    held = [i for i in emulator.state()["userAssignedIdentities"] if i["name"].startswith("id-life-lost")]
    assert [i["id"].lower() for i in held] == [created.id.lower()]
    assert_no_token_anywhere(second, engine)
