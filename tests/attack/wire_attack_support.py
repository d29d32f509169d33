"""Support for the wire attack tests (tests/attack/test_wire_*.py): what comes in over the
Pulumi and Terraform wires, sent to the real plugin processes.

Puts tests/conformance (the engine harness, the emulator fixtures) and tests/terraform (the
tfplugin6 driver) on the import path, and gives the engine fixtures those suites' conftest
files give their own directories (pytest does not share conftest fixtures across folders)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for folder in ("conformance", "terraform"):
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))

from google.protobuf import struct_pb2  # noqa: E402

from harness import BINARY, REPO_ROOT, FakeEngine, ProviderProcess, to_struct, urn  # noqa: E402,F401


@pytest.fixture
def engine():
    e = FakeEngine()
    yield e
    e.stop()


@pytest.fixture
def spawn(engine):
    """spawn() starts a provider the way the engine does; each is shut down like the engine does."""
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run `cargo build --bins` first", pytrace=False)
    started: list[ProviderProcess] = []

    def _spawn() -> ProviderProcess:
        p = ProviderProcess(["--logtostderr", "-v=9", engine.address], engine)
        started.append(p)
        return p

    yield _spawn
    for p in started:
        p.shutdown()


# ---------------------------------------------------------------------------------------------
# Raw protobuf, for values the Python protobuf library will not build (10,000 levels deep)
# ---------------------------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def nested_list_value(depth: int) -> bytes:
    """A google.protobuf.Value: `depth` lists, one inside the other, around a string."""
    value = _field(3, b"leaf")  # Value.string_value
    for _ in range(depth):
        value = _field(6, _field(1, value))  # Value.list_value { values: [value] }
    return value


def struct_with(fields: dict[str, bytes]) -> bytes:
    """A google.protobuf.Struct whose entries are given as encoded Values."""
    return b"".join(_field(1, _field(1, key.encode()) + _field(2, value)) for key, value in fields.items())


def encoded_value(python_value) -> bytes:
    return struct_pb2.Value(**_value_kwargs(python_value)).SerializeToString()


def _value_kwargs(v):
    value = struct_pb2.Value()
    if isinstance(v, str):
        return {"string_value": v}
    if isinstance(v, bool):
        return {"bool_value": v}
    if isinstance(v, (int, float)):
        return {"number_value": float(v)}
    value.struct_value.update(v)
    return {"struct_value": value.struct_value}


def raw_unary(process: ProviderProcess, method: str):
    """A ResourceProvider method that sends bytes as they are and returns the raw answer."""
    return process.channel.unary_unary(
        f"/pulumirpc.ResourceProvider/{method}",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b,
    )
