"""Hostile values over the Pulumi wire, sent to the real plugin as the engine sends them: NaN and
Infinity, NUL bytes, megabyte strings, refusals that would echo a megabyte back, and values nested
10,000 levels deep. Each is refused by Check naming the property (or, when the request cannot even
be decoded, with INVALID_ARGUMENT naming it), never defaulted, never INTERNAL, never a crash."""

from __future__ import annotations

import grpc
import pytest

from wire_attack_support import engine, nested_list_value, raw_unary, spawn, struct_with, urn  # noqa: F401

from harness import describe_failures, failures_by_property, from_struct, to_struct
from pulumi.runtime.proto import provider_pb2

SERVER = "pgentra:index:FlexibleServer"
PARAMETER = "pgentra:index:ServerParameter"
MEGABYTE = 1024 * 1024


def server(**extra) -> dict:
    return {"resourceGroupName": "rg-data", "serverName": "pg-orders", "location": "eastus", "version": "16",
            "skuName": "Standard_B1ms", **extra}


def parameter(**extra) -> dict:
    return {"resourceGroupName": "rg-data", "serverName": "pg-orders", "name": "azure.extensions",
            "value": "PGCRYPTO", **extra}


@pytest.fixture
def p(spawn):
    return spawn().start()


def refused(p, token: str, news: dict, prop: str) -> str:
    resp = p.check(token, "r", news)
    failures = failures_by_property(resp)
    assert prop in failures, f"Check let {prop} through: {describe_failures(resp)}; inputs {from_struct(resp.inputs)}"
    return failures[prop]


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")], ids=["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_number_is_refused_naming_the_property_not_replaced_by_the_default(p, number):
    reason = refused(p, SERVER, server(storageSizeGb=number), "storageSizeGb")
    assert "finite" in reason, reason


def test_a_nul_byte_in_a_string_is_refused_naming_the_property(p):
    reason = refused(p, PARAMETER, parameter(value="PGCRYPTO\x00;DROP"), "value")
    assert "NUL" in reason, reason


def test_a_megabyte_value_is_refused_with_the_limit_and_without_echoing_it(p):
    reason = refused(p, PARAMETER, parameter(value="x" * MEGABYTE), "value")
    assert "at most 2048 bytes" in reason, reason[:300]
    assert len(reason) < 400 and f"({MEGABYTE} bytes)" in reason, reason[:300]


def test_a_refused_megabyte_name_is_echoed_cut_to_sixty_characters(p):
    reason = refused(p, SERVER, server(serverName="A" * MEGABYTE), "serverName")
    assert len(reason) < 400, f"the refusal echoes {len(reason)} bytes"
    assert '"' + "A" * 60 + '"… (1048576 bytes)' in reason, reason
    # Under the generic cap, a rule's own refusal of a long name is cut the same way.
    reason = refused(p, SERVER, server(serverName="B" * 1000), "serverName")
    assert '"' + "B" * 60 + '"… (1000 bytes)' in reason and len(reason) < 400, reason


def test_an_unknown_property_with_a_megabyte_name_does_not_crash_check(p):
    resp = p.check(SERVER, "r", server(**{"k" * 1000: "v"}))
    assert resp.failures, "an unknown property must be refused"


def test_a_value_nested_too_deep_for_pgentra_is_a_check_failure_naming_the_property(p):
    deep = "leaf"
    for _ in range(40):
        deep = [deep]
    reason = refused(p, SERVER, server(tags=deep), "tags")
    assert "nested deeper" in reason, reason


@pytest.mark.parametrize("method, request_type, field",
                         [("Check", provider_pb2.CheckRequest, 3), ("Create", provider_pb2.CreateRequest, 2)])
def test_ten_thousand_nested_lists_are_invalid_argument_naming_the_property(p, method, request_type, field):
    base = request_type(urn=urn(SERVER, "deep"), type=SERVER).SerializeToString()
    news = struct_with({"tags": nested_list_value(10_000), "serverName": b"\x1a\x02pg"})
    # The Struct goes in as raw bytes: Python's protobuf refuses to build one this deep.
    payload = base + bytes([field << 3 | 2]) + _varint(len(news)) + news
    with pytest.raises(grpc.RpcError) as err:
        raw_unary(p, method)(payload, timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.value.code(), err.value.details())
    assert "tags" in err.value.details(), err.value.details()
    # The process is still serving.
    assert p.check(SERVER, "after", server()).inputs is not None


def test_create_without_check_refuses_a_nan_as_invalid_argument(p):
    with pytest.raises(grpc.RpcError) as err:
        p.stub.Create(provider_pb2.CreateRequest(urn=urn(SERVER, "nan"), type=SERVER, name="nan",
                                                 properties=to_struct(server(storageSizeGb=float("nan"))),
                                                 timeout=30), timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.value.code(), err.value.details())
    assert "storageSizeGb" in err.value.details()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def test_the_cores_unknown_marker_sent_as_text_is_refused_not_skipped_as_unknown(p):
    # pgentra marks "not known yet" inside the core with this NUL-delimited text; sent by a
    # program it would pass Check unchecked and reach Create.
    reason = refused(p, PARAMETER, parameter(value="\x00pgentra:unknown\x00"), "value")
    assert "NUL" in reason, reason
