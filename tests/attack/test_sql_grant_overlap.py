"""Finding 5a of issue 11: two Grants over the same privilege on the same role and objects. A Grant
owns exactly what it lists and its Delete revokes that, so the second Grant would have its
privileges taken by the first one's Delete (they even share an ID). The rule: a Grant over
privileges (or memberships) the role already holds is refused at create (and an update that adds
them), naming what is held and why; Grants over disjoint privileges coexist and each Delete takes
back only its own. Replacement deletes first (deleteBeforeReplace), so it never meets itself.
"""

from __future__ import annotations

import grpc
import pytest

from sql_attack_support import (  # noqa: F401 (fixtures are found by name in the module)
    azure,
    emulator,
    engine,
    entra_server,
    unique,
)
from harness import from_struct, to_struct, urn  # noqa: E402
from pulumi.runtime.proto import provider_pb2  # noqa: E402

GRANT = "pgentra:index:Grant"


@pytest.fixture
def role(entra_server):
    name = unique("attack-overlap")
    entra_server.backend(f'CREATE ROLE "{name}"', database="postgres")
    entra_server.as_admin("myappdb", "CREATE TABLE IF NOT EXISTS public.orders (id int)")
    entra_server.as_admin("myappdb", "CREATE TABLE IF NOT EXISTS public.invoices (id int)")
    yield name
    entra_server.backend(f'DROP OWNED BY "{name}"')
    entra_server.backend(f'DROP ROLE IF EXISTS "{name}"', database="postgres")


def tables(server, role: str, privileges: list[str], objects: list[str] | None = None) -> dict:
    g = {"connection": server.connection(), "role": role, "database": "myappdb", "objectType": "table",
         "schema": "public", "privileges": privileges, "withGrantOption": False, "defaultPrivileges": False}
    if objects:
        g["objects"] = objects
    return g


def checked(p, name: str, news: dict) -> dict:
    resp = p.check(GRANT, name, news)
    assert not resp.failures, [(f.property, f.reason) for f in resp.failures]
    return from_struct(resp.inputs)


def create(p, name: str, news: dict) -> tuple[str, dict]:
    resp = p.stub.Create(provider_pb2.CreateRequest(urn=urn(GRANT, name), properties=to_struct(checked(p, name, news)),
                                                    name=name, type=GRANT, timeout=60), timeout=90)
    return resp.id, from_struct(resp.properties)


def delete(p, name: str, id: str, state: dict) -> None:
    p.stub.Delete(provider_pb2.DeleteRequest(id=id, urn=urn(GRANT, name), properties=to_struct(state), name=name,
                                             type=GRANT, timeout=60), timeout=90)


def held(server, role: str, table: str = "orders") -> set[str]:
    out = server.backend("SELECT a.privilege_type FROM pg_class c, aclexplode(c.relacl) a "
                         f"WHERE c.relname = '{table}' AND c.relnamespace = 'public'::regnamespace "
                         f"AND a.grantee = '{role}'::regrole")
    return set(out.split()) if out else set()


def test_a_second_grant_over_a_privilege_the_first_holds_is_refused_and_the_first_keeps_it(azure, entra_server, role):
    first_id, first = create(azure, "first", tables(entra_server, role, ["SELECT", "INSERT"]))
    with pytest.raises(grpc.RpcError) as failed:
        create(azure, "second", tables(entra_server, role, ["SELECT", "UPDATE"]))
    err = failed.value
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS, (err.code(), err.details())
    text = err.details()
    assert "SELECT" in text and "already holds" in text and "would take it from each other" in text, text
    assert "import" in text, text
    assert held(entra_server, role) == {"SELECT", "INSERT"}, "the refused Grant changed nothing"
    delete(azure, "first", first_id, first)
    assert held(entra_server, role) == set()


def test_grants_over_disjoint_privileges_coexist_and_each_delete_takes_back_only_its_own(azure, entra_server, role):
    reader_id, reader = create(azure, "reader", tables(entra_server, role, ["SELECT"]))
    writer_id, writer = create(azure, "writer", tables(entra_server, role, ["INSERT"]))
    assert held(entra_server, role) == {"SELECT", "INSERT"}
    delete(azure, "reader", reader_id, reader)
    assert held(entra_server, role) == {"INSERT"}, "deleting one Grant took the other's privilege"
    delete(azure, "writer", writer_id, writer)
    assert held(entra_server, role) == set()


def test_all_tables_over_a_named_tables_privilege_is_refused(azure, entra_server, role):
    named_id, named = create(azure, "named", tables(entra_server, role, ["SELECT"], objects=["orders"]))
    with pytest.raises(grpc.RpcError) as failed:
        create(azure, "all", tables(entra_server, role, ["SELECT"]))
    assert failed.value.code() == grpc.StatusCode.ALREADY_EXISTS, failed.value.details()
    assert held(entra_server, role, "invoices") == set(), "the refused Grant granted on other tables"
    delete(azure, "named", named_id, named)


def test_an_update_that_adds_another_grants_privilege_is_refused(azure, entra_server, role):
    reader_id, reader = create(azure, "reader", tables(entra_server, role, ["SELECT"]))
    writer_id, writer = create(azure, "writer", tables(entra_server, role, ["INSERT"]))
    news = checked(azure, "reader", tables(entra_server, role, ["SELECT", "INSERT"]))
    with pytest.raises(grpc.RpcError) as failed:
        azure.stub.Update(provider_pb2.UpdateRequest(id=reader_id, urn=urn(GRANT, "reader"), olds=to_struct(reader),
                                                     news=to_struct(news), old_inputs=to_struct(reader), name="reader",
                                                     type=GRANT, timeout=60), timeout=90)
    assert failed.value.code() == grpc.StatusCode.ALREADY_EXISTS, failed.value.details()
    assert "INSERT" in failed.value.details()
    delete(azure, "reader", reader_id, reader)
    assert held(entra_server, role) == {"INSERT"}
    delete(azure, "writer", writer_id, writer)


def test_a_membership_already_held_is_refused(azure, entra_server, role):
    group = unique("attack-group")
    entra_server.backend(f'CREATE ROLE "{group}"', database="postgres")
    try:
        def membership(objects):
            return {"connection": entra_server.connection(), "role": role, "database": "postgres",
                    "objectType": "role", "objects": objects, "privileges": [], "withGrantOption": False,
                    "defaultPrivileges": False}
        first_id, first = create(azure, "member", membership([group]))
        with pytest.raises(grpc.RpcError) as failed:
            create(azure, "member-again", membership([group]))
        assert failed.value.code() == grpc.StatusCode.ALREADY_EXISTS, failed.value.details()
        assert "already a member of" in failed.value.details()
        delete(azure, "member", first_id, first)
    finally:
        entra_server.backend(f'DROP ROLE IF EXISTS "{group}"', database="postgres")


def test_a_replacement_deletes_first_so_it_never_overlaps_itself(azure, entra_server, role):
    """Signing in through another database replaces the Grant but not what it is on: created
    before the old one's delete, the new one would be refused as an overlap."""
    old_id, old = create(azure, "tables", tables(entra_server, role, ["SELECT"], objects=["orders"]))
    moved = tables(entra_server, role, ["SELECT"], objects=["orders"])
    moved["connection"] = entra_server.connection("myappdb")
    news = checked(azure, "tables", moved)
    diff = azure.diff(GRANT, "tables", old, news, id=old_id)
    assert list(diff.replaces), "another connection database replaces the Grant"
    assert diff.deleteBeforeReplace, "a replacing Grant must revoke before it grants"
    delete(azure, "tables", old_id, old)
    new_id, new = create(azure, "tables", news)
    assert held(entra_server, role) == {"SELECT"}
    delete(azure, "tables", new_id, new)
    assert held(entra_server, role) == set()


def test_two_plugin_processes_creating_one_grant_at_the_same_instant_one_wins(azure, engine, emulator, entra_server,
                                                                               role):
    """The check runs in the GRANT's own transaction under a lock every pgentra process takes,
    so it holds across processes (two `pulumi up` of two stacks, or a stack and a Terraform run):
    both Creates at once, each round on another privilege, and exactly one wins each time."""
    import threading
    from harness import ProviderProcess, secret

    config = dict(emulator.info["providerConfig"])
    config["clientSecret"] = secret(config["clientSecret"])
    other = ProviderProcess(["--logtostderr", "-v=9", engine.address], engine).start(config)
    try:
        for privilege in ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES"]:
            news = tables(entra_server, role, [privilege])
            # Checked first, so the two Creates leave together.
            inputs = [checked(p, f"race-{privilege}", news) for p in (azure, other)]
            start = threading.Barrier(2)
            outcomes: list = [None, None]

            def run(i: int, p) -> None:
                start.wait()
                try:
                    resp = p.stub.Create(provider_pb2.CreateRequest(
                        urn=urn(GRANT, f"race-{privilege}"), properties=to_struct(inputs[i]), name=f"race-{privilege}",
                        type=GRANT, timeout=60), timeout=90)
                    outcomes[i] = ("created", resp.id, from_struct(resp.properties))
                except grpc.RpcError as e:
                    outcomes[i] = ("refused", e.code(), e.details())

            threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate((azure, other))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            won = [o for o in outcomes if o[0] == "created"]
            lost = [o for o in outcomes if o[0] == "refused"]
            assert len(won) == 1 and len(lost) == 1, outcomes
            assert lost[0][1] == grpc.StatusCode.ALREADY_EXISTS, lost[0]
            assert privilege in lost[0][2] and "already holds" in lost[0][2], lost[0]
            assert held(entra_server, role) == {privilege}
            delete(azure, f"race-{privilege}", won[0][1], won[0][2])
            assert held(entra_server, role) == set()
    finally:
        other.shutdown()
