"""Previews of the SQL resources: one `pulumi up` builds the whole chain, so at preview time the
server (and with it the connection's host) does not exist yet. Principal and Grant then preview as
creates without connecting anywhere, and the engine's log shows, per resource, the exact SQL the
apply will run, for a reviewer to read before it happens."""

from __future__ import annotations

import time

from harness import UNKNOWN, describe_failures, from_struct, to_struct, urn
from pulumi.runtime.proto import provider_pb2

PRINCIPAL = "pgentra:index:Principal"
GRANT = "pgentra:index:Grant"


def start(provider, trap):
    # ARM, Entra and (were a host known) PostgreSQL would be the trap: a preview contacts none.
    return provider.start({"environment": "public", "armEndpoint": trap.url, "authorityHost": trap.url})


def connection(host: str = UNKNOWN) -> dict:
    return {"host": host, "username": "PG Admins Group"}


def preview_create(provider, token: str, name: str, news: dict) -> dict:
    checked = provider.check(token, name, news)
    assert not checked.failures, describe_failures(checked)
    inputs = from_struct(checked.inputs)
    resp = provider.create(token, name, inputs, preview=True)
    assert resp.id == "", "a preview create has no ID"
    return from_struct(resp.properties)


def logged_for(engine, token: str, name: str, timeout: float = 5.0) -> list[str]:
    """The engine log lines of one resource (they arrive asynchronously)."""
    want = urn(token, name)
    deadline = time.monotonic() + timeout
    while True:
        lines = [r.message for r in list(engine.logs) if r.urn == want]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


def test_a_principal_on_a_server_not_yet_created_previews_its_pgaadauth_call(provider, engine, trap):
    start(provider, trap)
    outputs = preview_create(provider, PRINCIPAL, "app", {"connection": connection(), "name": "app-myapp-prod"})
    assert outputs["connection"]["host"] == UNKNOWN
    assert outputs["name"] == "app-myapp-prod"
    assert logged_for(engine, PRINCIPAL, "app") == [
        "would run:\n  SELECT pgaadauth_create_principal('app-myapp-prod', false, false);"]
    assert trap.connections == 0, "a preview contacted something"


def test_a_grant_on_a_server_not_yet_created_previews_its_grant_statement(provider, engine, trap):
    start(provider, trap)
    grant = {"connection": connection(), "role": "app-myapp-prod", "database": "myappdb",
             "objectType": "table", "schema": "public", "privileges": ["select", "insert"]}
    preview_create(provider, GRANT, "tables", grant)
    future = {**grant, "privileges": ["SELECT"], "defaultPrivileges": True}
    preview_create(provider, GRANT, "future", future)
    assert logged_for(engine, GRANT, "tables") == [
        'would run:\n  GRANT INSERT, SELECT ON ALL TABLES IN SCHEMA "public" TO "app-myapp-prod";']
    [future_sql] = logged_for(engine, GRANT, "future")
    assert future_sql.startswith("would run:\n  ALTER DEFAULT PRIVILEGES IN SCHEMA \"public\" GRANT SELECT ON TABLES"), \
        future_sql
    assert trap.connections == 0, "a preview contacted something"


def test_a_grant_for_a_role_not_yet_known_says_when_its_sql_will_show(provider, engine, trap):
    start(provider, trap)
    grant = {"connection": connection(), "role": UNKNOWN, "database": "myappdb",
             "objectType": "schema", "schema": "public", "privileges": ["USAGE"]}
    outputs = preview_create(provider, GRANT, "usage", grant)
    assert outputs["role"] == UNKNOWN
    assert logged_for(engine, GRANT, "usage") == ["the SQL it would run is shown once role is known"]


def test_an_update_preview_shows_the_revoke_and_the_grant_it_would_run(provider, engine, trap):
    start(provider, trap)
    olds = {"connection": connection("pg-myapp-prod.postgres.database.azure.com"), "role": "app-myapp-prod",
            "database": "myappdb", "objectType": "table", "schema": "public",
            "privileges": ["DELETE", "INSERT", "SELECT"]}
    news = {**olds, "privileges": ["SELECT", "UPDATE"]}
    checked = from_struct(provider.check(GRANT, "tables", news, olds).inputs)
    provider.stub.Update(provider_pb2.UpdateRequest(
        id="postgresql://x", urn=urn(GRANT, "tables"), olds=to_struct(olds), news=to_struct(checked),
        old_inputs=to_struct(olds), name="tables", type=GRANT, preview=True), timeout=10)
    assert logged_for(engine, GRANT, "tables") == [
        'would run:\n  REVOKE DELETE, INSERT ON ALL TABLES IN SCHEMA "public" FROM "app-myapp-prod";\n'
        '  GRANT SELECT, UPDATE ON ALL TABLES IN SCHEMA "public" TO "app-myapp-prod";']
    assert trap.connections == 0, "a preview contacted something"
