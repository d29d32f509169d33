"""The engine's timeout, a failed create's secrets and a hostile caCertFile, through the real
plugin against `pgentra emulator`: an engine timeout of inf or 1e19 seconds creates the server
(it used to overflow the deadline and kill the RPC, leaving a server the stack did not know); a
create Azure accepts and then fails returns its secret inputs wrapped as secrets in
ErrorResourceInitFailed; a FIFO as caCertFile is refused at once instead of hanging Configure."""

from __future__ import annotations

import os
import tempfile
import threading

import grpc
import pytest

from wire_attack_support import engine, spawn  # noqa: F401 (fixtures)

from arm_support import RG, SERVER, arm_conformance, check, emulator, server_inputs  # noqa: F401 (fixtures)
from harness import SECRET_SIG, SIG_KEY, secret, status_details, to_struct, urn
from pulumi.runtime.proto import provider_pb2


@pytest.fixture
def azure(spawn, emulator):
    config = dict(emulator.info["providerConfig"])
    config["clientSecret"] = secret(config["clientSecret"])
    yield spawn().start(config)
    emulator.clear_faults()


@pytest.mark.parametrize("timeout", [float("inf"), 1e19, 1.8e308], ids=["inf", "1e19", "max-double"])
def test_an_engine_timeout_past_the_clock_creates_the_server_instead_of_killing_the_rpc(azure, emulator, timeout):
    name = f"pg-timeout-{str(timeout).replace('.', '').replace('+', '')}"[:40].lower()
    inputs = check(azure, SERVER, name, server_inputs(name))
    created = azure.stub.Create(provider_pb2.CreateRequest(urn=urn(SERVER, name), properties=to_struct(inputs),
                                                           name=name, type=SERVER, timeout=timeout), timeout=90)
    assert created.id.lower() == emulator.path("server", name).lower()
    azure.stub.Delete(provider_pb2.DeleteRequest(id=created.id, urn=urn(SERVER, name), properties=created.properties,
                                                 name=name, type=SERVER, timeout=timeout), timeout=90)


@pytest.mark.parametrize("timeout", [float("nan"), -1.0, 0.0], ids=["NaN", "negative", "zero"])
def test_an_engine_timeout_that_is_not_a_positive_number_means_none(azure, emulator, timeout):
    name = "pg-no-timeout"
    inputs = check(azure, SERVER, name, server_inputs(name))
    created = azure.stub.Create(provider_pb2.CreateRequest(urn=urn(SERVER, name), properties=to_struct(inputs),
                                                           name=name, type=SERVER, timeout=timeout), timeout=90)
    azure.stub.Delete(provider_pb2.DeleteRequest(id=created.id, urn=urn(SERVER, name), properties=created.properties,
                                                 name=name, type=SERVER, timeout=60), timeout=90)


def is_wrapped_secret(value) -> bool:
    fields = value.struct_value.fields if value.HasField("struct_value") else {}
    return SIG_KEY in fields and fields[SIG_KEY].string_value == SECRET_SIG


def test_init_failed_details_keep_secret_inputs_wrapped_as_secrets(azure, emulator):
    """The password is a secret by its description even when a program passes it in plain text
    (as a Create's answer wraps it); tags were secret on the wire. Both stay secret when Azure
    accepts the server and then fails it."""
    name = "pg-init-failed-secret"
    path = emulator.path("server", name)
    news = check(azure, SERVER, name, server_inputs(name, passwordAuth="Enabled", administratorLogin="pgowner",
                                                    administratorLoginPassword="Sup3r-Secret-Pw!",
                                                    tags=secret({"owner": "team-secret-tag"})))
    news["administratorLoginPassword"] = "Sup3r-Secret-Pw!"  # as a program may pass it: in plain text
    emulator.admin("faults", {"pathPrefix": path, "count": 1, "kind": {"type": "lroCanceled"}})
    with pytest.raises(grpc.RpcError) as err:
        azure.stub.Create(provider_pb2.CreateRequest(urn=urn(SERVER, name), properties=to_struct(news), name=name,
                                                     type=SERVER, timeout=60), timeout=90)
    status = status_details(err.value)
    assert status is not None and status.details, f"no ErrorResourceInitFailed: {err.value.details()}"
    detail = provider_pb2.ErrorResourceInitFailed()
    assert status.details[0].Unpack(detail) and detail.id.lower() == path.lower()
    properties = detail.properties.fields
    plain = {k: v for k, v in properties.items() if not is_wrapped_secret(v)}
    assert "Sup3r-Secret-Pw!" not in str(plain) and "team-secret-tag" not in str(plain), plain
    assert is_wrapped_secret(properties["tags"]), properties["tags"]
    assert is_wrapped_secret(properties["administratorLoginPassword"]), properties["administratorLoginPassword"]
    assert not is_wrapped_secret(properties["serverName"])


def test_a_fifo_as_ca_cert_file_is_refused_promptly_naming_the_property(spawn):
    with tempfile.TemporaryDirectory() as folder:
        fifo = os.path.join(folder, "ca.pem")
        os.mkfifo(fifo)
        p = spawn()
        p.handshake()
        outcome = {}

        def configure():
            try:
                p.configure({"environment": "public", "caCertFile": fifo})
                outcome["ok"] = True
            except grpc.RpcError as e:
                outcome["error"] = e

        worker = threading.Thread(target=configure, daemon=True)
        worker.start()
        worker.join(timeout=20)
        if worker.is_alive():
            # Unblock the plugin's read so the process can be shut down, then fail.
            with open(fifo, "wb"):
                pass
            pytest.fail("Configure with a FIFO as caCertFile hung (20 s)")
    assert "error" in outcome, "Configure accepted a FIFO as caCertFile"
    error = outcome["error"]
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (error.code(), error.details())
    assert "caCertFile" in error.details() and "not a regular file" in error.details(), error.details()
