"""Finding 4 of issue 11: no value from the wire, a state or an ID becomes SQL. Every value that
reaches SQL is quoted by sql/quote.rs or checked against a closed set of keywords at the SQL layer,
whatever Check did: Create without Check, Update and Delete with a tampered state or ID are refused
naming the property, and nothing runs (the database says so: the victim role is still there, the
grantee holds nothing). Names with quotes are names, granted exactly.
"""

from __future__ import annotations

import grpc
import pytest

from sql_attack_support import (  # noqa: F401 (fixtures are found by name in the module)
    azure,
    emulator,
    engine,
    entra_server,
    no_token_in,
    unique,
)
from harness import to_struct, urn  # noqa: E402
from pulumi.runtime.proto import provider_pb2  # noqa: E402

GRANT = "pgentra:index:Grant"
PRINCIPAL = "pgentra:index:Principal"


@pytest.fixture
def roles(entra_server):
    """(grantee, victim): the victim is what an injected `DROP ROLE` would take."""
    grantee, victim = unique("attack-grantee"), unique("attack-victim")
    for r in (grantee, victim):
        entra_server.backend(f'CREATE ROLE "{r}"', database="postgres")
    yield grantee, victim
    for r in (grantee, victim):
        entra_server.backend(f'DROP OWNED BY "{r}"')
        entra_server.backend(f'DROP ROLE IF EXISTS "{r}"', database="postgres")


def holds_anything(server, role: str) -> bool:
    """Whether `role` holds any privilege in the server's myappdb (database, schemas, tables)."""
    return server.backend(
        "SELECT EXISTS (SELECT 1 FROM pg_database d, aclexplode(d.datacl) a WHERE a.grantee = '" + role + "'::regrole)"
        " OR EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a WHERE a.grantee = '" + role + "'::regrole)"
        " OR EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) a WHERE a.grantee = '" + role + "'::regrole)"
    ) == "t"


def exists(server, role: str) -> bool:
    return server.backend(f"SELECT count(*) FROM pg_roles WHERE rolname = '{role}'", database="postgres") == "1"


def grant(server, role: str, **changes) -> dict:
    base = {"connection": server.connection(), "role": role, "database": "myappdb", "objectType": "schema",
            "schema": "public", "privileges": ["USAGE"], "withGrantOption": False, "defaultPrivileges": False}
    base.update(changes)
    return base


def grant_id(server, role: str, on: str = "schema", schema: str = "public") -> str:
    from urllib.parse import quote
    enc = lambda s: quote(s, safe="-._~")  # noqa: E731 (the ID's own encoding)
    return (f"postgresql://{enc(server.admin)}@{server.fqdn}:{server.port}/postgres?grant={enc(role)}"
            f"&in=myappdb&on={enc(on)}&schema={enc(schema)}")


INJECTED_TYPE = "TABLE t; DROP ROLE {victim}; --"
INJECTED_PRIVILEGE = "USAGE ON SCHEMA public TO PUBLIC; DROP ROLE \"{victim}\"; --"


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failed:
        call()
    err = failed.value
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
    return err


def test_create_without_check_refuses_an_object_type_that_is_not_one_of_the_set(azure, entra_server, roles):
    grantee, victim = roles
    inputs = grant(entra_server, grantee, objectType=INJECTED_TYPE.format(victim=victim))
    err = refused(lambda: azure.stub.Create(provider_pb2.CreateRequest(
        urn=urn(GRANT, "g"), properties=to_struct(inputs), name="g", type=GRANT), timeout=60))
    assert "objectType" in err.details() and "database, schema, table" in err.details(), err.details()
    assert exists(entra_server, victim) and not holds_anything(entra_server, grantee)


def test_create_without_check_refuses_a_privilege_that_is_not_a_keyword_of_the_object_type(azure, entra_server, roles):
    grantee, victim = roles
    inputs = grant(entra_server, grantee, privileges=[INJECTED_PRIVILEGE.format(victim=victim)])
    err = refused(lambda: azure.stub.Create(provider_pb2.CreateRequest(
        urn=urn(GRANT, "g"), properties=to_struct(inputs), name="g", type=GRANT), timeout=60))
    assert "is not a privilege on a schema" in err.details(), err.details()
    assert exists(entra_server, victim) and not holds_anything(entra_server, grantee)


@pytest.mark.parametrize("tampered", ["olds", "news"])
def test_update_with_a_tampered_state_or_input_runs_nothing(azure, entra_server, roles, tampered):
    grantee, victim = roles
    good = grant(entra_server, grantee)
    bad = grant(entra_server, grantee, objectType=INJECTED_TYPE.format(victim=victim),
                privileges=[INJECTED_PRIVILEGE.format(victim=victim)])
    olds, news = (bad, good) if tampered == "olds" else (good, grant(
        entra_server, grantee, privileges=["USAGE", INJECTED_PRIVILEGE.format(victim=victim)]))
    err = refused(lambda: azure.stub.Update(provider_pb2.UpdateRequest(
        id=grant_id(entra_server, grantee), urn=urn(GRANT, "g"), olds=to_struct(olds), news=to_struct(news),
        old_inputs=to_struct(olds), name="g", type=GRANT), timeout=60))
    assert "objectType" in err.details() or "is not a privilege" in err.details(), err.details()
    assert exists(entra_server, victim) and not holds_anything(entra_server, grantee)


def test_delete_with_a_tampered_object_type_in_the_state_is_refused_not_passed_over(azure, entra_server, roles):
    grantee, victim = roles
    entra_server.as_admin("myappdb", f'GRANT USAGE ON SCHEMA public TO "{grantee}"')
    state = grant(entra_server, grantee, objectType=INJECTED_TYPE.format(victim=victim))
    err = refused(lambda: azure.stub.Delete(provider_pb2.DeleteRequest(
        id=grant_id(entra_server, grantee), urn=urn(GRANT, "g"), properties=to_struct(state), name="g",
        type=GRANT), timeout=60))
    assert "objectType" in err.details(), err.details()
    assert exists(entra_server, victim)
    assert holds_anything(entra_server, grantee), "a refused Delete revoked something"


@pytest.mark.parametrize("part", ["on", "schema"])
def test_delete_of_a_tampered_id_without_state_never_splices_it(azure, entra_server, roles, part):
    grantee, victim = roles
    injected = INJECTED_TYPE.format(victim=victim)
    id = grant_id(entra_server, grantee, on=injected) if part == "on" else \
        grant_id(entra_server, grantee, schema=f'public"; DROP ROLE "{victim}"; --')
    try:
        azure.stub.Delete(provider_pb2.DeleteRequest(id=id, urn=urn(GRANT, "g"), properties=to_struct({}),
                                                     name="g", type=GRANT), timeout=60)
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
        assert "on=TYPE" in err.details(), err.details()
    assert exists(entra_server, victim)


def test_delete_with_a_tampered_privilege_in_the_state_runs_nothing(azure, entra_server, roles):
    grantee, victim = roles
    entra_server.as_admin("myappdb", f'GRANT USAGE ON SCHEMA public TO "{grantee}"')
    state = grant(entra_server, grantee, privileges=[INJECTED_PRIVILEGE.format(victim=victim)])
    err = refused(lambda: azure.stub.Delete(provider_pb2.DeleteRequest(
        id=grant_id(entra_server, grantee), urn=urn(GRANT, "g"), properties=to_struct(state), name="g",
        type=GRANT), timeout=60))
    assert "is not a privilege" in err.details(), err.details()
    assert exists(entra_server, victim) and holds_anything(entra_server, grantee)


def test_create_principal_without_check_refuses_a_principal_type_outside_the_set(azure, engine, entra_server, roles):
    _, victim = roles
    name = unique("attack-principal")
    inputs = {"connection": entra_server.connection(), "name": name,
              "objectId": "0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a69",
              "principalType": f"user'); DROP ROLE \"{victim}\"; --", "isAdmin": False, "isMfa": False}
    err = refused(lambda: azure.stub.Create(provider_pb2.CreateRequest(
        urn=urn(PRINCIPAL, "p"), properties=to_struct(inputs), name="p", type=PRINCIPAL), timeout=60))
    assert "principalType" in err.details() and "user, group, service" in err.details(), err.details()
    assert exists(entra_server, victim) and not exists(entra_server, name)
    no_token_in(azure.stderr(), "the plugin's stderr")
    no_token_in("\n".join(engine.messages()), "the engine's log messages")


def test_a_schema_name_with_quotes_is_a_name_granted_exactly(azure, entra_server, roles):
    grantee, victim = roles
    schema = f'it\'s "odd"; DROP ROLE "{victim}"; --'[:63]
    quoted = '"' + schema.replace('"', '""') + '"'
    entra_server.as_admin("myappdb", f"CREATE SCHEMA IF NOT EXISTS {quoted}")
    try:
        inputs = grant(entra_server, grantee, schema=schema)
        created = azure.stub.Create(provider_pb2.CreateRequest(urn=urn(GRANT, "g"), properties=to_struct(inputs),
                                                               name="g", type=GRANT), timeout=60)
        assert exists(entra_server, victim)
        literal = "'" + schema.replace("'", "''") + "'"
        assert entra_server.backend(f"SELECT has_schema_privilege('{grantee}', {literal}, 'USAGE')") == "t"
        on_public = ("SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) a "
                     f"WHERE n.nspname = 'public' AND a.grantee = '{grantee}'::regrole")
        assert entra_server.backend(on_public) == "0", "granted on public instead"
        azure.stub.Delete(provider_pb2.DeleteRequest(id=created.id, urn=urn(GRANT, "g"), properties=created.properties,
                                                     name="g", type=GRANT), timeout=60)
        assert not holds_anything(entra_server, grantee) and exists(entra_server, victim)
    finally:
        entra_server.as_admin("myappdb", f"DROP SCHEMA IF EXISTS {quoted}")
