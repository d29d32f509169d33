"""Hostile values over the Terraform wire (tfplugin6 msgpack), sent to the real provider as
Terraform sends them: NaN and Infinity, NUL bytes, megabyte strings and their echo, and values
nested 10,000 levels deep. Each is an error diagnostic naming the attribute, never a crash."""

from __future__ import annotations

import os
import tempfile
import threading

import msgpack
import pytest

import wire_attack_support  # noqa: F401 (puts tests/terraform on the import path)
from test_tf_rpc import ERROR, SERVER, Plugin, dynamic, full_object, pack, server_config
from tfplugin_proto import tfplugin6_0_pb2 as tfplugin6

PARAMETER = "pgentra_server_parameter"
MEGABYTE = 1024 * 1024


@pytest.fixture
def tf():
    launched = Plugin()
    yield launched
    launched.close()


def error_text(diagnostics) -> str:
    return "\n".join(f"{d.summary} | {d.detail}" for d in diagnostics if d.severity == ERROR)


def attributes_pointed_at(diagnostics) -> list[str]:
    """The first step of each error's attribute path: what Terraform underlines."""
    return [d.attribute.steps[0].attribute_name for d in diagnostics if d.severity == ERROR and d.attribute.steps]


def parameter(tf: Plugin, **overrides):
    values = dict(resource_group_name="rg-data", server_name="pg-orders", name="azure.extensions", value="PGCRYPTO")
    values.update(overrides)
    return tf.object(PARAMETER, **values)


@pytest.mark.parametrize("number", [float("nan"), float("inf")], ids=["NaN", "Infinity"])
def test_a_non_finite_number_is_an_error_naming_the_attribute(tf, number):
    diagnostics = tf.validate(SERVER, server_config(tf, storage_size_gb=number)).diagnostics
    text = error_text(diagnostics)
    assert "storage_size_gb" in text, text or "no error"
    assert attributes_pointed_at(diagnostics) == ["storage_size_gb"], diagnostics


def test_a_nul_byte_is_an_error_naming_the_attribute(tf):
    text = error_text(tf.validate(PARAMETER, parameter(tf, value="PGCRYPTO\x00;DROP")).diagnostics)
    assert "value" in text and "NUL" in text, text or "no error"


def test_a_megabyte_value_is_refused_and_not_echoed(tf):
    text = error_text(tf.validate(PARAMETER, parameter(tf, value="x" * MEGABYTE)).diagnostics)
    assert "at most 2048 bytes" in text and len(text) < 1000, text[:300] or "no error"


def test_a_refused_megabyte_name_is_echoed_cut_to_sixty_characters(tf):
    text = error_text(tf.validate(SERVER, server_config(tf, server_name="A" * MEGABYTE)).diagnostics)
    assert "server_name" in text and "(1048576 bytes)" in text and len(text) < 1000, text[:300] or "no error"


def nested_msgpack(depth: int) -> bytes:
    """A msgpack value `depth` one-element arrays deep, written by hand (msgpack-python stops at 512)."""
    return b"\x91" * depth + msgpack.packb("leaf")


def test_ten_thousand_nested_lists_are_an_error_naming_the_attribute_and_the_provider_survives(tf):
    config = server_config(tf)
    # The config with tags replaced by 10,000 nested lists, as raw msgpack.
    entries = [msgpack.packb(k) + (nested_msgpack(10_000) if k == "tags" else pack(v)) for k, v in config.items()]
    header = b"\xde" + len(entries).to_bytes(2, "big")
    raw = header + b"".join(entries)
    response = tf.provider.ValidateResourceConfig(
        tfplugin6.ValidateResourceConfig.Request(type_name=SERVER, config=tfplugin6.DynamicValue(msgpack=raw)),
        timeout=30)
    text = error_text(response.diagnostics)
    assert "tags" in text and "nested" in text, text or "no error"
    assert attributes_pointed_at(response.diagnostics) == ["tags"], response.diagnostics
    assert not error_text(tf.validate(SERVER, server_config(tf)).diagnostics), "the provider must still serve"


def test_a_fifo_as_ca_cert_file_is_refused_promptly_naming_the_attribute(tf):
    with tempfile.TemporaryDirectory() as folder:
        fifo = os.path.join(folder, "ca.pem")
        os.mkfifo(fifo)
        config = full_object(tf.schema.provider.block, {"environment": "public", "ca_cert_file": fifo})
        outcome = {}

        def configure():
            outcome["response"] = tf.provider.ConfigureProvider(
                tfplugin6.ConfigureProvider.Request(terraform_version="1.0.3", config=dynamic(config)), timeout=60)

        worker = threading.Thread(target=configure, daemon=True)
        worker.start()
        worker.join(timeout=20)
        if worker.is_alive():
            with open(fifo, "wb"):
                pass  # unblock the provider's read so it can be stopped
            pytest.fail("ConfigureProvider with a FIFO as ca_cert_file hung (20 s)")
    text = error_text(outcome["response"].diagnostics)
    assert "ca_cert_file" in text and "not a regular file" in text, text or "no error"
