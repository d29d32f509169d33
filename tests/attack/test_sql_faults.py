"""Finding 7d of issue 11: a PostgreSQL connection lost mid-statement (the gateway closing, the
backend restarting) is network trouble the engine may retry (UNAVAILABLE), not a refusal
(FAILED_PRECONDITION); nothing half-done is left, and the next attempt converges.

Through the real plugin and the emulator's PostgreSQL gateway: its `pgClose` fault closes the
client's connection when a matching statement arrives; a backend restart is the backend session
terminated (what a restart does to every session) while the Grant waits for its ACL lock.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time

import grpc
import pytest

from sql_attack_support import (  # noqa: F401 (fixtures are found by name in the module)
    azure,
    BACKEND,
    PSQL,
    emulator,
    engine,
    entra_server,
    no_token_in,
    unique,
)
from harness import acl_lock_key, to_struct, urn  # noqa: E402
from pulumi.runtime.proto import provider_pb2  # noqa: E402

GRANT = "pgentra:index:Grant"
ACL_LOCK = acl_lock_key("database", "myappdb")  # what a GRANT on database myappdb's ACL takes first


@pytest.fixture
def role(entra_server):
    """A plain role (roles are cluster-wide in the backend), dropped after the test."""
    name = unique("attack-fault")
    entra_server.backend(f'CREATE ROLE "{name}"', database="postgres")
    yield name
    entra_server.backend(f'DROP OWNED BY "{name}"')
    entra_server.backend(f'DROP ROLE IF EXISTS "{name}"', database="postgres")


def connect_grant(server, role: str) -> dict:
    return {"connection": server.connection(), "role": role, "database": "myappdb", "objectType": "database",
            "privileges": ["CONNECT"], "withGrantOption": False, "defaultPrivileges": False}


def create(p, inputs: dict, timeout: float = 0) -> provider_pb2.CreateResponse:
    return p.stub.Create(provider_pb2.CreateRequest(urn=urn(GRANT, "connect"), properties=to_struct(inputs),
                                                    name="connect", type=GRANT, timeout=timeout), timeout=60)


def has_connect(server, role: str) -> bool:
    return server.backend(f"SELECT has_database_privilege('{role}', current_database(), 'CONNECT WITH GRANT OPTION') "
                          f"OR EXISTS (SELECT 1 FROM pg_database d, aclexplode(d.datacl) a "
                          f"WHERE d.datname = current_database() AND a.grantee = '{role}'::regrole)") == "t"


def test_the_gateway_closing_mid_statement_is_unavailable_and_the_retry_converges(azure, engine, emulator,
                                                                                   entra_server, role):
    emulator.admin("faults", {"kind": {"type": "pgClose"}, "pathPrefix": "GRANT CONNECT", "count": 1})
    with pytest.raises(grpc.RpcError) as failed:
        create(azure, connect_grant(entra_server, role))
    err = failed.value
    assert err.code() == grpc.StatusCode.UNAVAILABLE, (err.code(), err.details())
    assert "closed" in err.details().lower() or "eof" in err.details().lower(), err.details()
    assert not emulator.faults(), "the fault was used"
    assert not has_connect(entra_server, role), "the statement never reached the backend, yet something was granted"

    created = create(azure, connect_grant(entra_server, role))  # the engine's retry
    assert created.id
    assert has_connect(entra_server, role)
    no_token_in(azure.stderr(), "the plugin's stderr")
    no_token_in("\n".join(engine.messages()), "the engine's log messages")


def test_the_backend_restarting_mid_statement_is_unavailable_and_the_retry_converges(azure, engine, emulator,
                                                                                      entra_server, role):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGAPPNAME"] = "pgentra-attack-lock-holder"
    holder = subprocess.Popen([PSQL, "-X", "-q", "-d", f"{BACKEND} dbname={entra_server.backend_db}",
                               "-c", f"SELECT pg_advisory_lock({ACL_LOCK}); SELECT pg_sleep(30)"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    outcome: dict = {}

    def run():
        try:
            outcome["created"] = create(azure, connect_grant(entra_server, role))
        except grpc.RpcError as e:
            outcome["error"] = e

    worker = threading.Thread(target=run)
    try:
        waiting = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                   "AND wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%'")
        deadline = time.monotonic() + 20
        held = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                f"AND objid = {ACL_LOCK & 0xFFFFFFFF}")
        while entra_server.backend(held) != "1":
            assert time.monotonic() < deadline, "the lock holder never held the ACL lock"
            time.sleep(0.05)
        worker.start()
        pid = ""
        while not pid and time.monotonic() < deadline:
            pid = entra_server.backend(waiting)
            time.sleep(0.05)
        assert pid, "the Grant never waited for the ACL lock"
        entra_server.backend(f"SELECT pg_terminate_backend({pid.splitlines()[0]})")
        worker.join(timeout=60)
    finally:
        # The holder's backend goes on sleeping after its psql is gone: end it, freeing the lock.
        entra_server.backend("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE application_name = 'pgentra-attack-lock-holder'")
        holder.kill()
        holder.wait(timeout=10)
    err = outcome.get("error")
    assert err is not None, "the Grant succeeded although its session was terminated"
    assert err.code() == grpc.StatusCode.UNAVAILABLE, (err.code(), err.details())
    assert not has_connect(entra_server, role)

    assert create(azure, connect_grant(entra_server, role)).id
    assert has_connect(entra_server, role)
    no_token_in(azure.stderr(), "the plugin's stderr")
