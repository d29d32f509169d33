"""Finding 1 and 7c of issue 11: the deployer's Entra token (the PostgreSQL password) goes only to a
server whose certificate verifies for the host dialled (sslMode verify-full), whatever the program,
the state, an import ID or `pgentra psql`'s environment say; a certificate that does not verify
fails at once, naming rustls' cause and the fix.

Each case points the real plugin (or `pgentra psql`) at a fake TLS PostgreSQL server on 127.0.0.1
that asks for a cleartext password and records it; the tokens are real (the emulator's).
"""

from __future__ import annotations

import subprocess

import grpc
import pytest

from sql_attack_support import (  # noqa: F401 (fixtures are found by name in the module)
    PGENTRA,
    certs,
    cli_env,
    emulator,
    engine,
    fake_servers,
    no_token_in,
    plugin,
)
from harness import to_struct, urn  # noqa: E402 (on the path once sql_attack_support is imported)
from pulumi.runtime.proto import provider_pb2

PRINCIPAL = "pgentra:index:Principal"
GRANT = "pgentra:index:Grant"
# Generous: the bound says "fails promptly instead of retrying for minutes", nothing finer.
PROMPTLY = 60


def connection(server, ssl_mode: str) -> dict:
    return {"host": "127.0.0.1", "port": server.port, "database": "postgres", "username": "pg-admins",
            "sslMode": ssl_mode}


def principal(server, ssl_mode: str) -> dict:
    """A Principal's inputs as Check would leave them (Create is sent without a Check)."""
    return {"connection": connection(server, ssl_mode), "name": "app-attack", "isAdmin": False, "isMfa": False}


def create_unchecked(p, inputs: dict, token: str = PRINCIPAL) -> grpc.RpcError:
    """Create, as a tampered engine or a Check-skipping client would send it; no engine timeout."""
    with pytest.raises(grpc.RpcError) as failed:
        p.stub.Create(provider_pb2.CreateRequest(urn=urn(token, "attack"), properties=to_struct(inputs),
                                                 name="attack", type=token), timeout=PROMPTLY)
    return failed.value


def assert_clean(p, engine, server) -> None:
    assert not server.got_a_token(), "the fake server received a password (the deployer's Entra token)"
    no_token_in(p.stderr(), "the plugin's stderr")
    no_token_in("\n".join(engine.messages()), "the engine's log messages")


@pytest.mark.parametrize("ssl_mode, kind", [("require", "self-signed"), ("verify-ca", "wrong-name")])
def test_a_mode_that_does_not_check_the_name_never_sends_the_token(plugin, engine, fake_servers, ssl_mode, kind):
    server = fake_servers(kind)
    err = create_unchecked(plugin, principal(server, ssl_mode))
    assert_clean(plugin, engine, server)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
    text = err.details()
    assert "sslMode" in text and ssl_mode in text and "verify-full" in text, text
    assert "bearer" in text and "caCertFile" in text, text


@pytest.mark.parametrize("ssl_mode", ["require", "verify-ca"])
def test_check_refuses_the_modes_that_send_the_token_unverified_saying_why(plugin, fake_servers, ssl_mode):
    server = fake_servers("self-signed")
    resp = plugin.check(PRINCIPAL, "app", principal(server, ssl_mode))
    reasons = {f.property: f.reason for f in resp.failures}
    assert "connection.sslMode" in reasons, reasons
    reason = reasons["connection.sslMode"]
    assert "verify-full" in reason and "bearer" in reason and "caCertFile" in reason, reason
    assert server.connections == 0


def test_an_import_id_asking_for_sslmode_require_is_refused_with_the_reason(plugin, engine, fake_servers):
    server = fake_servers("self-signed")
    id = f"postgresql://pg-admins@127.0.0.1:{server.port}/postgres?principal=app-attack&sslmode=require"
    with pytest.raises(grpc.RpcError) as failed:
        plugin.stub.Read(provider_pb2.ReadRequest(id=id, urn=urn(PRINCIPAL, "imported"), properties=to_struct({}),
                                                  inputs=to_struct({}), name="imported", type=PRINCIPAL),
                         timeout=PROMPTLY)
    assert_clean(plugin, engine, server)
    text = failed.value.details()
    assert "sslmode=require" in text and "verify-full" in text and "bearer" in text, text


def test_a_state_written_with_sslmode_require_is_not_deleted_over_an_unverified_connection(plugin, engine, fake_servers):
    server = fake_servers("self-signed")
    state = principal(server, "require")
    id = f"postgresql://pg-admins@127.0.0.1:{server.port}/postgres?principal=app-attack&sslmode=require"
    with pytest.raises(grpc.RpcError) as failed:
        plugin.stub.Delete(provider_pb2.DeleteRequest(id=id, urn=urn(PRINCIPAL, "attack"), properties=to_struct(state),
                                                      name="attack", type=PRINCIPAL), timeout=PROMPTLY)
    assert_clean(plugin, engine, server)
    text = failed.value.details()
    assert "sslMode" in text and "verify-full" in text, text


@pytest.mark.parametrize("kind, cause, fix", [
    ("wrong-name", "not valid for name", "host"),
    ("self-signed", "unknown issuer", "caCertFile"),
])
def test_a_certificate_that_does_not_verify_fails_at_once_with_the_tls_cause_and_the_fix(
        plugin, engine, fake_servers, kind, cause, fix):
    server = fake_servers(kind)
    grant = {"connection": connection(server, "verify-full"), "role": "app", "database": "postgres",
             "objectType": "database", "privileges": ["CONNECT"], "withGrantOption": False,
             "defaultPrivileges": False}
    err = create_unchecked(plugin, grant, GRANT)
    assert_clean(plugin, engine, server)
    text = err.details()
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION, (err.code(), text)
    assert cause in text.lower(), text
    assert fix in text, text
    assert server.connections == 1, f"a certificate failure is not retried: {server.connections} connections"


def test_pgentra_psql_verifies_the_certificate_by_default_and_never_sends_the_token_unverified(
        emulator, certs, fake_servers):
    server = fake_servers("self-signed")
    env = cli_env(emulator, emulator.info["caCertFile"])
    run = subprocess.run([str(PGENTRA), "psql", f"127.0.0.1:{server.port}", "postgres", "pg-admins", "--",
                          "-c", "SELECT 1"], env=env, capture_output=True, text=True, timeout=PROMPTLY)
    assert run.returncode != 0, run.stdout
    assert not server.got_a_token(), "pgentra psql sent the token to a server whose certificate it did not check"
    no_token_in(run.stdout + run.stderr, "pgentra psql's output")
    assert "sslmode=verify-full" in run.stderr, run.stderr


@pytest.mark.parametrize("mode", ["require", "verify-ca", "prefer", "disable"])
def test_pgentra_psql_refuses_a_pgsslmode_that_would_send_the_token_unverified(emulator, certs, fake_servers, mode):
    server = fake_servers("wrong-name")
    env = cli_env(emulator, certs.bundle(emulator.info["caCertFile"]), PGSSLMODE=mode)
    run = subprocess.run([str(PGENTRA), "psql", f"127.0.0.1:{server.port}", "postgres", "pg-admins", "--",
                          "-c", "SELECT 1"], env=env, capture_output=True, text=True, timeout=PROMPTLY)
    assert run.returncode != 0, run.stdout
    assert not server.got_a_token(), f"pgentra psql with PGSSLMODE={mode} sent the token"
    assert server.connections == 0, "refused before psql ran"
    assert "PGSSLMODE" in run.stderr and "verify-full" in run.stderr, run.stderr
    no_token_in(run.stdout + run.stderr, "pgentra psql's output")


@pytest.mark.parametrize("kind", ["self-signed", "wrong-name"])
def test_pgentra_doctor_reports_the_certificate_and_never_signs_in_unverified(emulator, certs, fake_servers, kind):
    server = fake_servers(kind)
    env = cli_env(emulator, certs.bundle(emulator.info["caCertFile"]))
    run = subprocess.run([str(PGENTRA), "doctor", f"127.0.0.1:{server.port}", "pg-admins"], env=env,
                         capture_output=True, text=True, timeout=PROMPTLY)
    assert run.returncode == 1, run.stdout + run.stderr
    assert not server.got_a_token(), "pgentra doctor sent the token to a server whose certificate did not verify"
    no_token_in(run.stdout + run.stderr, "pgentra doctor's output")
    tls = next((l for l in run.stdout.splitlines() if " tls " in f" {l} "), "")
    assert "FAIL" in tls, run.stdout
    sign_in = next((l for l in run.stdout.splitlines() if "sign-in" in l), "")
    assert "SKIP" in sign_in, run.stdout
