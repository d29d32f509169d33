"""The seed's SQL section as resources, end to end, through the provider process and the emulator's
PostgreSQL token gateway: a passwordless server with the deployer as its Entra admin, an app's
managed identity, a database, Principals and Grants; then the identity signs in with its own token
(psql, verify-full) and can do exactly what it was granted; then everything is destroyed.

The gateway listens on the server's fullyQualifiedDomainName (a loopback address) at 5432, as
Azure does; the stack is the same one a program would write for Azure.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.parse
import urllib.request
import warnings

import grpc
import pytest

from arm_support import (  # noqa: F401 (fixtures are found by name in the module)
    IDENTITY,
    MSI_API,
    PG_API,
    RG,
    SERVER,
    arm_conformance,
    azure,
    check,
    create,
    delete,
    emulator,
    diffed_properties,
    read,
    server_inputs,
    update,
)
from harness import acl_lock_key, from_struct, is_secret, to_struct, unwrap
from pulumi.runtime.proto import provider_pb2

AD_ADMIN = "pgentra:index:AdAdmin"
DATABASE = "pgentra:index:Database"
PRINCIPAL = "pgentra:index:Principal"
GRANT = "pgentra:index:Grant"
POSTGRES_RESOURCE = "https://ossrdbms-aad.database.windows.net"
PSQL = "psql"


def invoke(p, token: str, args: dict) -> dict:
    resp = p.stub.Invoke(provider_pb2.InvokeRequest(tok=token, args=to_struct(args)), timeout=30)
    assert not resp.failures, [(f.property, f.reason) for f in resp.failures]
    return from_struct(getattr(resp, "return"))  # `return` is a Python keyword


def gateway_port(emulator, fqdn: str, timeout: float = 5.0) -> tuple[int, str | None]:
    """Where this emulator's gateway for `fqdn` listens, as its state reports it: (5432, None) as
    on Azure; else (the port it fell back to, why) when something else holds fqdn:5432."""
    deadline = time.monotonic() + timeout
    while True:
        for server in emulator.state()["flexibleServers"]:
            gateway = server.get("pgGateway")
            if gateway and gateway["host"] == fqdn:
                port = gateway["port"]
                return port, None if port == 5432 else f"{fqdn}:5432 is held by another process"
        if time.monotonic() > deadline:
            pytest.fail(f"the emulator reports no PostgreSQL gateway for {fqdn}", pytrace=False)
        time.sleep(0.05)


class Psql:
    """psql against one emulated server's gateway, signing in with a password (an Entra token)."""

    def __init__(self, host: str, port: int, cafile: str):
        self.host, self.port, self.cafile = host, port, cafile

    def run(self, user: str, password: str, database: str, sql: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGPASSWORD=password, PGCONNECT_TIMEOUT="10", PGAPPNAME="pgentra-conformance")
        conninfo = (f"host={self.host} port={self.port} dbname={database} sslmode=verify-full "
                    f"sslrootcert={self.cafile} user='{user}'")
        return subprocess.run([PSQL, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql],
                              env=env, capture_output=True, text=True, timeout=30)

    def ok(self, user: str, password: str, database: str, sql: str) -> str:
        done = self.run(user, password, database, sql)
        assert done.returncode == 0, f"psql as {user!r} in {database}: {sql!r} failed: {done.stderr.strip()}"
        return done.stdout.strip()

    def refused(self, user: str, password: str, database: str, sql: str) -> str:
        done = self.run(user, password, database, sql)
        assert done.returncode != 0, f"psql as {user!r} in {database}: {sql!r} was allowed: {done.stdout.strip()}"
        return done.stderr


class Hidden(str):
    """A token: its repr (what pytest shows of a failing assertion's arguments) hides it."""

    def __repr__(self) -> str:
        return "<token>"


def msi_token(emulator, client_id: str, resource: str = POSTGRES_RESOURCE) -> str:
    """A token for a user-assigned identity from the emulator's managed-identity endpoint."""
    query = urllib.parse.urlencode({"resource": resource, "api-version": "2019-08-01", "client_id": client_id})
    req = urllib.request.Request(f"{emulator.info['identityEndpoint']}?{query}",
                                 headers={"X-IDENTITY-HEADER": emulator.info["identityHeader"]})
    with urllib.request.urlopen(req, context=emulator.tls, timeout=10) as resp:
        return Hidden(json.load(resp)["access_token"])


def deployer(azure, emulator) -> dict:
    """The deployer as getClientConfig answers it (objectId, name). An app-only token carries no
    display name, so when `name` is empty it comes from the emulator's directory (by appId): the
    display name Azure would show for the service principal, its PostgreSQL role name."""
    me = invoke(azure, "pgentra:index:getClientConfig", {})
    assert me["objectId"] and me["clientId"] == emulator.info["clientId"], f"getClientConfig: {me}"
    if not me.get("name"):
        sps = emulator.state()["directory"]["servicePrincipals"]
        me["name"] = next(sp["displayName"] for sp in sps if sp["appId"] == me["clientId"])
        assert next(sp["objectId"] for sp in sps if sp["appId"] == me["clientId"]) == me["objectId"]
    return me


def destroy(azure, made: list[tuple[str, str, str, dict]], quietly: bool = False) -> None:
    """Deletes what was made, last first; `quietly` (after a failure) goes on past errors."""
    for token, name, id, state in reversed(made):
        try:
            delete(azure, token, name, id, state)
        except grpc.RpcError:
            if not quietly:
                raise


def test_an_app_identity_signs_in_with_its_token_and_can_do_exactly_what_its_grants_allow(azure, emulator):
    if subprocess.run(["which", PSQL], capture_output=True).returncode != 0:
        pytest.fail("psql is not installed (apt-get install -y postgresql-client)", pytrace=False)
    started = time.monotonic()
    cafile = emulator.info["caCertFile"]
    suffix = secrets.token_hex(3)  # roles are cluster-wide in the backend: never collide with another run
    app, readwrite = f"app-myapp-{suffix}", f"myapp-readwrite-{suffix}"
    me = deployer(azure, emulator)

    made: list[tuple[str, str, str, dict]] = []

    def up(token: str, name: str, news: dict) -> dict:
        created = create(azure, token, name, check(azure, token, name, news))
        assert created.id, f"{token} {name} has no ID"
        state = from_struct(created.properties)
        made.append((token, name, created.id, state))
        return state

    try:
        server = up(SERVER, "pg", server_inputs("pg-myapp-sql", activeDirectoryAuth="Enabled", passwordAuth="Disabled"))
        assert server["activeDirectoryAuth"] == "Enabled" and server["passwordAuth"] == "Disabled"
        fqdn = server["fullyQualifiedDomainName"]
        up(AD_ADMIN, "admin", {"resourceGroupName": RG, "serverName": "pg-myapp-sql", "objectId": me["objectId"],
                               "principalName": me["name"], "principalType": "ServicePrincipal"})
        identity = up(IDENTITY, "app", {"resourceGroupName": RG, "name": app, "location": "eastus"})
        group = emulator.admin("directory/groups", {"displayName": readwrite, "members": [identity["principalId"]]})
        assert group["objectId"], group
        up(DATABASE, "db", {"resourceGroupName": RG, "serverName": "pg-myapp-sql", "name": "myappdb"})

        # Same stack as on Azure: the server's FQDN at PostgreSQL's port (unless another emulator on
        # this machine holds that address's 5432: then the port the gateway fell back to).
        port, not_5432 = gateway_port(emulator, fqdn)
        if not_5432:
            warnings.warn(f"the gateway for {fqdn} is on port {port}, not 5432 as on Azure: {not_5432}")
        connection = {"host": fqdn, "port": port, "database": "postgres", "username": me["name"],
                      "sslMode": "verify-full"}
        psql = Psql(fqdn, port, cafile)
        answer = invoke(azure, "pgentra:index:getAccessToken", {})["token"]
        if not is_secret(answer):
            pytest.fail("getAccessToken's token does not travel as a secret", pytrace=False)
        admin_token = Hidden(unwrap(answer))

        # A table that exists before the grants (covered by "all tables"), created by the admin.
        psql.ok(me["name"], admin_token, "myappdb", "CREATE TABLE public.orders (id int PRIMARY KEY, item text)")

        up(PRINCIPAL, "app", {"connection": connection, "name": app})
        up(PRINCIPAL, "readwrite", {"connection": connection, "name": readwrite})
        roles = psql.ok(me["name"], admin_token, "postgres",
                        "SELECT rolname FROM pgaadauth_list_principals(false) ORDER BY 1")
        assert app in roles.splitlines() and readwrite in roles.splitlines(), roles

        grant = {"connection": connection, "role": app, "database": "myappdb"}
        # PUBLIC holds CONNECT on a new database (as on Azure): take it away, so only the app's own
        # Grant lets it in. The statement names the database as a program would; the gateway maps it.
        psql.ok(me["name"], admin_token, "postgres", "REVOKE CONNECT ON DATABASE myappdb FROM PUBLIC")
        connect_news = {**grant, "objectType": "database", "privileges": ["CONNECT"]}
        connect = up(GRANT, "connect", connect_news)
        connect_id = made[-1][2]
        up(GRANT, "usage", {**grant, "objectType": "schema", "schema": "public", "privileges": ["USAGE"]})
        rw = ["SELECT", "INSERT", "UPDATE", "DELETE"]
        tables_news = {**grant, "objectType": "table", "schema": "public", "privileges": rw}
        tables = up(GRANT, "tables", tables_news)
        up(GRANT, "future-tables", {**grant, "objectType": "table", "schema": "public", "privileges": rw,
                                    "defaultPrivileges": True})
        refreshed = read(azure, GRANT, "tables", made[-2][2], tables, check(azure, GRANT, "tables", tables_news))
        assert sorted(from_struct(refreshed.inputs)["privileges"]) == sorted(rw), "a fresh Grant reads back as drift"

        # A table created after the grants, by the admin: the default privileges cover it.
        psql.ok(me["name"], admin_token, "myappdb", "CREATE TABLE public.invoices (id int PRIMARY KEY)")

        # The app signs in with its own managed-identity token and does what it was granted.
        token = msi_token(emulator, identity["clientId"])
        psql.ok(app, token, "myappdb", "INSERT INTO public.orders VALUES (1, 'widget')")
        assert psql.ok(app, token, "myappdb", "SELECT item FROM public.orders WHERE id = 1") == "widget"
        psql.ok(app, token, "myappdb", "UPDATE public.orders SET item = 'gadget' WHERE id = 1")
        psql.ok(app, token, "myappdb", "INSERT INTO public.invoices VALUES (7)")
        assert psql.ok(app, token, "myappdb", "SELECT count(*) FROM public.invoices") == "1"
        assert psql.ok(app, token, "myappdb", "SELECT current_user") == app

        # CONNECT revoked outside: refresh shows it as drift, the app is shut out, `up` restores it.
        psql.ok(me["name"], admin_token, "postgres", f'REVOKE CONNECT ON DATABASE myappdb FROM "{app}"')
        drifted = read(azure, GRANT, "connect", connect_id, connect, check(azure, GRANT, "connect", connect_news))
        assert drifted.id == connect_id and from_struct(drifted.inputs)["privileges"] == [], from_struct(drifted.inputs)
        assert "permission denied for database" in psql.refused(app, token, "myappdb", "SELECT 1")
        following = check(azure, GRANT, "connect", connect_news, olds=from_struct(drifted.inputs))
        diff = azure.diff(GRANT, "connect", from_struct(drifted.properties), following,
                          old_inputs=from_struct(drifted.inputs), id=connect_id)
        assert "privileges" in diffed_properties(diff) and not list(diff.replaces), diffed_properties(diff)
        update(azure, GRANT, "connect", connect_id, from_struct(drifted.properties), following,
               from_struct(drifted.inputs))
        assert psql.ok(app, token, "myappdb", "SELECT count(*) FROM public.orders") == "1"

        # ... and nothing it was not granted.
        assert "permission denied for schema public" in \
            psql.refused(app, token, "myappdb", "CREATE TABLE public.sneaky (id int)")
        assert "must be owner of table orders" in psql.refused(app, token, "myappdb", "DROP TABLE public.orders")
        assert "permission denied for table orders" in psql.refused(app, token, "myappdb", "TRUNCATE public.orders")

        # Only its own token, for PostgreSQL, signs it in; never a password.
        refused = psql.refused(app, "Passw0rd!-not-a-token", "myappdb", "SELECT 1")
        assert "password authentication failed" in refused and "disabled" in refused, refused
        wrong_audience = msi_token(emulator, identity["clientId"], "https://management.azure.com/")
        assert "audience" in psql.refused(app, wrong_audience, "myappdb", "SELECT 1")
        assert "password authentication failed" in psql.refused(app, admin_token, "myappdb", "SELECT 1"), \
            "the deployer's token signed in as the app's role"
    except BaseException:
        destroy(azure, made, quietly=True)  # keep the first failure, not a teardown one
        raise
    # Destroy in reverse order through the provider, as `pulumi destroy` would.
    destroy(azure, made)

    assert emulator.call("GET", emulator.path("server", "pg-myapp-sql"), PG_API)[0] == 404
    assert emulator.call("GET", emulator.path("identity", app), MSI_API)[0] == 404
    assert time.monotonic() - started < 40, f"the SQL chain took {time.monotonic() - started:.1f} s"


def test_a_long_apply_signs_each_new_session_in_with_a_renewed_token(azure, emulator):
    """Tokens live an hour on Azure; an apply that outlives one must never sign in with an
    expired token. Here tokens live 4 s, and each new session (a Grant in a database not used
    before) comes after the last token expired: each needs, and gets, a renewed token."""
    me = deployer(azure, emulator)
    suffix = secrets.token_hex(3)
    made: list[tuple[str, str, str, dict]] = []

    def up(token: str, name: str, news: dict) -> dict:
        created = create(azure, token, name, check(azure, token, name, news))
        made.append((token, name, created.id, from_struct(created.properties)))
        return made[-1][3]

    def postgres_tokens() -> int:
        return emulator.state()["tokensIssued"].get(POSTGRES_RESOURCE, 0)

    try:
        fqdn = up(SERVER, "pg-renew", server_inputs("pg-myapp-renew"))["fullyQualifiedDomainName"]
        up(AD_ADMIN, "admin-renew", {"resourceGroupName": RG, "serverName": "pg-myapp-renew",
                                     "objectId": me["objectId"], "principalName": me["name"],
                                     "principalType": "ServicePrincipal"})
        for db in ("renew1", "renew2"):
            up(DATABASE, db, {"resourceGroupName": RG, "serverName": "pg-myapp-renew", "name": db})
        port, _ = gateway_port(emulator, fqdn)
        connection = {"host": fqdn, "port": port, "database": "postgres", "username": me["name"],
                      "sslMode": "verify-full"}
        app = f"app-renew-{suffix}"
        up(IDENTITY, "app-renew-id", {"resourceGroupName": RG, "name": app, "location": "eastus"})
        assert emulator.admin("settings", {"tokenLifetimeSeconds": 4})["tokenLifetimeSeconds"] == 4
        before = postgres_tokens()
        up(PRINCIPAL, "app-renew", {"connection": connection, "name": app})
        assert postgres_tokens() == before + 1
        for db in ("renew1", "renew2"):
            time.sleep(4.5)  # the last token has expired: the gateway would refuse it
            up(GRANT, f"usage-{db}", {"connection": connection, "role": app, "database": db,
                                      "objectType": "schema", "schema": "public", "privileges": ["USAGE"]})
        assert postgres_tokens() == before + 3, "each new session after an expiry signed in with a renewed token"
    finally:
        emulator.admin("settings", {"tokenLifetimeSeconds": 3600})
        destroy(azure, made, quietly=True)


def test_a_grant_stuck_behind_a_lock_gives_up_at_the_engines_timeout(azure, emulator):
    """customTimeouts bound the SQL too: a Grant waiting for a lock someone else holds fails with
    DEADLINE_EXCEEDED at the timeout the engine sent, rolled back, and succeeds once it is free."""
    me = deployer(azure, emulator)
    cafile = emulator.info["caCertFile"]
    made: list[tuple[str, str, str, dict]] = []

    def up(token: str, name: str, news: dict) -> dict:
        created = create(azure, token, name, check(azure, token, name, news))
        made.append((token, name, created.id, from_struct(created.properties)))
        return made[-1][3]

    holder = None
    try:
        fqdn = up(SERVER, "pg-lock", server_inputs("pg-myapp-lock"))["fullyQualifiedDomainName"]
        up(AD_ADMIN, "admin-lock", {"resourceGroupName": RG, "serverName": "pg-myapp-lock",
                                    "objectId": me["objectId"], "principalName": me["name"],
                                    "principalType": "ServicePrincipal"})
        up(DATABASE, "db-lock", {"resourceGroupName": RG, "serverName": "pg-myapp-lock", "name": "myappdb"})
        port, _ = gateway_port(emulator, fqdn)
        connection = {"host": fqdn, "port": port, "database": "postgres", "username": me["name"],
                      "sslMode": "verify-full"}
        admin_token = Hidden(unwrap(invoke(azure, "pgentra:index:getAccessToken", {})["token"]))
        psql = Psql(fqdn, port, cafile)
        # Another pgentra process mid-GRANT on schema public in myappdb: it holds that schema's lock.
        acl_lock = acl_lock_key("schema", "public")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGPASSWORD"] = admin_token
        holder = subprocess.Popen(
            [PSQL, "-X", "-q", "-d", f"host={fqdn} port={port} dbname=myappdb sslmode=verify-full "
             f"sslrootcert={cafile} user='{me['name']}'",
             "-c", f"SELECT pg_advisory_lock({acl_lock}); SELECT pg_sleep(6)"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        held = f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = {acl_lock & 0xFFFFFFFF}"
        emulator.wait_until("the lock is held", lambda: psql.ok(me["name"], admin_token, "myappdb", held) == "1")

        news = check(azure, GRANT, "usage", {"connection": connection, "role": me["name"], "database": "myappdb",
                                             "objectType": "schema", "schema": "public", "privileges": ["CREATE"]})
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as err:
            azure.stub.Create(provider_pb2.CreateRequest(urn=f"urn:pulumi:test::test::{GRANT}::usage",
                                                         properties=to_struct(news), name="usage", type=GRANT,
                                                         timeout=2), timeout=30)
        took = time.monotonic() - started
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, (err.value.code(), err.value.details())
        assert "statement timeout" in err.value.details(), err.value.details()
        assert took < 10, f"the Grant gave up after {took:.1f} s, not at its 2 s timeout"

        holder.wait(timeout=30)  # the other process is done: its session ends, and the lock with it
        up(GRANT, "usage", news)
    finally:
        if holder is not None and holder.poll() is None:
            holder.kill()
        destroy(azure, made, quietly=True)
