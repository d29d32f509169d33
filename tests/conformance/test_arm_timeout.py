"""The engine's timeout (customTimeouts) bounds an ARM operation: a server that takes longer
than the timeout is not waited for forever, and since Azure accepted it, its ID is kept."""

from __future__ import annotations

import json
import urllib.request

import grpc
import pytest

from harness import from_struct, status_details, to_struct, urn
from pulumi.runtime.proto import provider_pb2
from arm_support import RG, SERVER, arm_conformance, azure, check, emulator  # noqa: F401 (fixtures)


def set_lro_ms(emulator, ms: int) -> None:
    req = urllib.request.Request(f"{emulator.info['adminApi']}/settings", data=json.dumps({"lroDurationMs": ms}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, context=emulator.tls, timeout=10).close()


def test_a_create_slower_than_the_engine_timeout_stops_waiting_and_keeps_the_id(azure, emulator):
    inputs = check(azure, SERVER, "slow", {"resourceGroupName": RG, "serverName": "pg-slow", "location": "eastus",
                                           "version": "16", "skuName": "Standard_B1ms"})
    set_lro_ms(emulator, 20_000)
    try:
        with pytest.raises(grpc.RpcError) as err:
            azure.stub.Create(provider_pb2.CreateRequest(urn=urn(SERVER, "slow"), properties=to_struct(inputs), name="slow",
                                                         type=SERVER, timeout=2), timeout=30)
    finally:
        set_lro_ms(emulator, 50)
    assert "timed out" in (err.value.details() or ""), err.value.details()
    status = status_details(err.value)
    assert status is not None and status.details, "the accepted server's ID must reach the engine"
    detail = provider_pb2.ErrorResourceInitFailed()
    assert status.details[0].Unpack(detail) and detail.id.endswith("/flexibleServers/pg-slow")
    assert from_struct(detail.properties)["serverName"] == "pg-slow"
