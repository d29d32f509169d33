"""What the "life" attack tests share (interrupted and cancelled operations, many providers at
once): the conformance harness's engine and provider fixtures and the emulator fixtures of
arm_support.py, imported by name, plus the checks every case ends with.

A test module imports the fixtures it uses by name:
`from life_support import arm_conformance, azure, emulator, engine, spawn`.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import threading
import time
from pathlib import Path

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"
if str(CONFORMANCE) not in sys.path:
    sys.path.insert(0, str(CONFORMANCE))

import grpc  # noqa: E402
import pytest  # noqa: E402

from arm_support import (  # noqa: E402,F401 (fixtures are found by name in the test module)
    RG,
    SERVER,
    arm_conformance,
    azure,
    check,
    create,
    delete,
    emulator,
    read,
    server_inputs,
)
from harness import status_details, to_struct, urn  # noqa: E402
from pulumi.runtime.proto import provider_pb2  # noqa: E402


def _conformance_fixtures():
    """tests/conformance/conftest.py under a name of its own (another conftest may be loaded)."""
    spec = importlib.util.spec_from_file_location("life_conformance_fixtures", CONFORMANCE / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_fixtures = _conformance_fixtures()
engine = _fixtures.engine
spawn = _fixtures.spawn

# A JWT's header, base64url of '{"' (how every Entra token starts).
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}")


def assert_no_token_anywhere(provider, engine) -> None:
    """No bearer token in the plugin's stderr nor in any Log message the engine got."""
    for where, text in [("the plugin's stderr", provider.stderr()),
                        ("the engine's Log messages", "\n".join(engine.messages()))]:
        found = JWT.search(text)
        assert found is None, f"a token reached {where}: {found.group(0)[:12]}..."


def server_key(name: str) -> str:
    return f"{RG}/{name}".lower()


def wait_for_busy(emulator, name: str, timeout: float = 20.0) -> None:
    """Until the emulator runs an operation on the server (its create was accepted)."""
    emulator.wait_until(f"an operation running on {name}",
                        lambda: server_key(name) in emulator.state()["busyServers"], timeout)


def slow_lro(emulator, name: str, ms: int) -> None:
    """The next operation on server `name` runs `ms` milliseconds."""
    emulator.admin("faults", {"pathPrefix": emulator.path("server", name), "count": 1,
                              "kind": {"type": "lroSlow", "ms": ms}})


class InFlight:
    """A Create sent on its own thread, as the engine sends it, with the engine's timeout."""

    def __init__(self, provider, token: str, name: str, inputs: dict, engine_timeout: float = 600):
        self.result: object = None
        self.error: grpc.RpcError | None = None
        self.returned_at: float | None = None
        self._done = threading.Event()
        request = provider_pb2.CreateRequest(urn=urn(token, name), properties=to_struct(inputs), name=name,
                                             type=token, timeout=engine_timeout)

        def run():
            try:
                self.result = provider.stub.Create(request, timeout=engine_timeout + 30)
            except grpc.RpcError as error:
                self.error = error
            self.returned_at = time.monotonic()
            self._done.set()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)


def init_failed(error: grpc.RpcError) -> provider_pb2.ErrorResourceInitFailed:
    """The ErrorResourceInitFailed an error carries (the test fails when it carries none)."""
    status = status_details(error)
    assert status is not None and status.details, \
        f"no ErrorResourceInitFailed (the ID would be lost): {error.code().name} {error.details()}"
    detail = provider_pb2.ErrorResourceInitFailed()
    assert status.details[0].Unpack(detail), status.details[0].type_url
    return detail
