"""The Grants platform teams ask for, end to end through the provider process and the emulator's
PostgreSQL token gateway, each identity signing in with its own token (psql, verify-full):

- PUBLIC loses CONNECT on the database (a revoking Grant, the first hardening step);
- the app's migrations create tables as the app's own role, and default privileges FOR ROLE that
  role (defaultPrivilegesOwner) let a reporting identity read them;
- one function overload, named by its argument types, is executable by the reporting identity,
  after PUBLIC lost EXECUTE on both overloads.
"""

from __future__ import annotations

import secrets
import subprocess

import pytest

from arm_support import (  # noqa: F401 (fixtures are found by name in the module)
    IDENTITY,
    RG,
    SERVER,
    arm_conformance,
    azure,
    check,
    create,
    emulator,
    read,
    server_inputs,
)
from harness import from_struct, unwrap
from test_sql_chain import (
    AD_ADMIN,
    DATABASE,
    GRANT,
    PRINCIPAL,
    PSQL,
    Hidden,
    Psql,
    deployer,
    destroy,
    gateway_port,
    invoke,
    msi_token,
)

SERVER_NAME = "pg-grants-asked"


def test_public_hardening_default_privileges_for_the_apps_role_and_one_function_overload(azure, emulator):
    if subprocess.run(["which", PSQL], capture_output=True).returncode != 0:
        pytest.fail("psql is not installed (apt-get install -y postgresql-client)", pytrace=False)
    suffix = secrets.token_hex(3)  # roles are cluster-wide in the backend
    app, reporting = f"app-{suffix}", f"reporting-{suffix}"
    me = deployer(azure, emulator)
    made: list[tuple[str, str, str, dict]] = []

    def up(token: str, name: str, news: dict) -> dict:
        inputs = check(azure, token, name, news)
        created = create(azure, token, name, inputs)
        assert created.id, f"{token} {name} has no ID"
        state = from_struct(created.properties)
        made.append((token, name, created.id, state))
        return state

    def refreshed(name: str, news: dict) -> list[str]:
        token, _, id, state = next(m for m in made if m[1] == name)
        return from_struct(read(azure, token, name, id, state, check(azure, token, name, news)).inputs)["privileges"]

    try:
        server = up(SERVER, "pg", server_inputs(SERVER_NAME, activeDirectoryAuth="Enabled", passwordAuth="Disabled"))
        fqdn = server["fullyQualifiedDomainName"]
        up(AD_ADMIN, "admin", {"resourceGroupName": RG, "serverName": SERVER_NAME, "objectId": me["objectId"],
                               "principalName": me["name"], "principalType": "ServicePrincipal"})
        identities = {who: up(IDENTITY, who, {"resourceGroupName": RG, "name": who, "location": "eastus"})
                      for who in (app, reporting)}
        up(DATABASE, "db", {"resourceGroupName": RG, "serverName": SERVER_NAME, "name": "appdb"})
        port, _ = gateway_port(emulator, fqdn)
        connection = {"host": fqdn, "port": port, "database": "postgres", "username": me["name"],
                      "sslMode": "verify-full"}
        psql = Psql(fqdn, port, emulator.info["caCertFile"])
        tokens = {who: msi_token(emulator, identities[who]["clientId"]) for who in (app, reporting)}
        admin_token = Hidden(unwrap(invoke(azure, "pgentra:index:getAccessToken", {})["token"]))
        for who in (app, reporting):
            up(PRINCIPAL, who, {"connection": connection, "name": who})

        # PUBLIC loses CONNECT: a role with no Grant of its own cannot get in.
        public = {"connection": connection, "role": "PUBLIC", "database": "appdb"}
        no_connect = {**public, "objectType": "database", "privileges": ["CONNECT"], "revoke": True}
        up(GRANT, "public-connect", no_connect)
        assert "permission denied for database" in psql.refused(reporting, tokens[reporting], "appdb", "SELECT 1")
        assert refreshed("public-connect", no_connect) == ["CONNECT"], "still revoked"

        def grant(name: str, role: str, **fields) -> None:
            up(GRANT, name, {"connection": connection, "role": role, "database": "appdb", **fields})

        for who in (app, reporting):
            grant(f"{who}-connect", who, objectType="database", privileges=["CONNECT"])
        grant("app-schema", app, objectType="schema", schema="public", privileges=["CREATE", "USAGE"])
        grant("reporting-schema", reporting, objectType="schema", schema="public", privileges=["USAGE"])
        # ALTER DEFAULT PRIVILEGES FOR ROLE needs the deployer to be a member of the app's role.
        up(GRANT, "deployer-in-app", {"connection": connection, "role": me["name"], "database": "appdb",
                                      "objectType": "role", "objects": [app], "privileges": []})
        for_app = {"connection": connection, "role": reporting, "database": "appdb", "objectType": "table",
                   "schema": "public", "privileges": ["SELECT"], "defaultPrivileges": True,
                   "defaultPrivilegesOwner": app}
        up(GRANT, "reporting-reads-apps-tables", for_app)

        # The app's migrations, as the app: a table and two overloads of a function.
        psql.ok(app, tokens[app], "appdb",
                "CREATE TABLE public.orders (id int, total int); INSERT INTO public.orders VALUES (1, 42); "
                "CREATE FUNCTION public.order_total(integer, text) RETURNS int LANGUAGE sql AS 'SELECT 1'; "
                "CREATE FUNCTION public.order_total(integer) RETURNS int LANGUAGE sql AS 'SELECT 2'")
        assert psql.ok(app, tokens[app], "appdb",
                       "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'public.orders'::regclass") == app
        assert psql.ok(reporting, tokens[reporting], "appdb", "SELECT total FROM public.orders") == "42"
        assert "permission denied" in psql.refused(reporting, tokens[reporting], "appdb",
                                                   "INSERT INTO public.orders VALUES (2, 0)")
        assert refreshed("reporting-reads-apps-tables", for_app) == ["SELECT"]

        # One overload by its argument types; PUBLIC loses EXECUTE on both first.
        functions = {"objectType": "function", "schema": "public", "privileges": ["EXECUTE"]}
        no_execute = {**public, **functions, "objects": ["order_total(integer, text)", "order_total(integer)"],
                      "revoke": True}
        up(GRANT, "public-execute", no_execute)
        grant("reporting-total", reporting, **functions, objects=["order_total(int4, TEXT)"])
        assert psql.ok(reporting, tokens[reporting], "appdb", "SELECT public.order_total(1, 'x')") == "1"
        assert "permission denied for function order_total" in psql.refused(
            reporting, tokens[reporting], "appdb", "SELECT public.order_total(1)")
        assert refreshed("public-execute", no_execute) == ["EXECUTE"]

        # A refresh of the overload's Grant finds an outside REVOKE of that overload only.
        psql.ok(me["name"], admin_token, "appdb", f'REVOKE EXECUTE ON FUNCTION public.order_total(integer, text) FROM "{reporting}"')
        assert refreshed("reporting-total", {"connection": connection, "role": reporting, "database": "appdb",
                                             **functions, "objects": ["order_total(int4, TEXT)"]}) == []
        # The app's role owns what its migrations made: they go first, as before dropping a role.
        psql.ok(app, tokens[app], "appdb", "DROP TABLE public.orders; DROP FUNCTION public.order_total(integer, text); "
                "DROP FUNCTION public.order_total(integer)")
    except BaseException:
        destroy(azure, made, quietly=True)
        raise
    destroy(azure, made)
