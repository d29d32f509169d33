"""Construct of pgentra:index:PasswordlessDatabase, with the official stubs playing the engine:
a fake pulumirpc.ResourceMonitor (served with the pinned wheel's resource_pb2_grpc) records
what the provider registers through it and answers with URNs as the engine forms them.

- the component is registered first, as a plain component under the program's parent, and
  every child comes with the component as parent, the program's pgentra provider, and its
  dependencies (on the program's resources behind the inputs, and on its siblings);
- a child is registered only after every sibling it depends on;
- the outputs (host, database, per app its user and PG* variables) reach RegisterResourceOutputs
  and the ConstructResponse;
- a second Construct with one app more registers the same children under the same URNs, plus
  only that app's;
- inputs that cannot make a database are refused before anything is registered.
"""

from __future__ import annotations

import threading
from concurrent import futures

import grpc
import pytest
from google.protobuf import empty_pb2, json_format

from pulumi.runtime.proto import provider_pb2, resource_pb2, resource_pb2_grpc

from harness import RPC_TIMEOUT, UNKNOWN, from_struct, is_secret, secret, to_struct

TOKEN = "pgentra:index:PasswordlessDatabase"
STACK_URN = "urn:pulumi:dev::myapp::pulumi:pulumi:Stack::myapp-dev"
PROVIDER_REF = "urn:pulumi:dev::myapp::pulumi:providers:pgentra::pg::6a1c3e1d-provider-id"
SERVER_URN = "urn:pulumi:dev::myapp::pgentra:index:FlexibleServer::pg"
IDENTITY_URN = "urn:pulumi:dev::myapp::pgentra:index:ManagedIdentity::orders"
ADMIN_URN = "urn:pulumi:dev::myapp::pgentra:index:AdAdmin::admin"
IDENTITY_ID = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-apps/providers/"
               "Microsoft.ManagedIdentity/userAssignedIdentities/id-orders")


class FakeMonitor(resource_pb2_grpc.ResourceMonitorServicer):
    """Records RegisterResource and RegisterResourceOutputs; forms URNs as the engine does
    (a child's type is qualified by its parent's)."""

    def __init__(self):
        self.registered: list[resource_pb2.RegisterResourceRequest] = []
        self.outputs: list[resource_pb2.RegisterResourceOutputsRequest] = []
        self.urns: set[str] = {STACK_URN}
        self._lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        resource_pb2_grpc.add_ResourceMonitorServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"
        self.server.start()

    def RegisterResource(self, request, context):
        with self._lock:
            unknown = [u for u in request.dependencies if u not in self.urns and u not in OUTSIDE]
            if unknown:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{request.name} depends on unregistered {unknown}")
            qualified = request.type
            if request.parent and request.parent != STACK_URN:
                qualified = request.parent.split("::")[-2] + "$" + request.type
            urn = f"urn:pulumi:dev::myapp::{qualified}::{request.name}"
            if urn in self.urns:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"duplicate URN {urn}")
            self.urns.add(urn)
            self.registered.append(request)
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=f"id-{request.name}" if request.custom else "", object=request.object)

    def RegisterResourceOutputs(self, request, context):
        with self._lock:
            self.outputs.append(request)
        return empty_pb2.Empty()

    def stop(self):
        self.server.stop(grace=None)


OUTSIDE = {SERVER_URN, IDENTITY_URN, ADMIN_URN}


@pytest.fixture
def monitor():
    m = FakeMonitor()
    yield m
    m.stop()


def orders() -> dict:
    return {"name": "id-orders", "principalId": "11111111-1111-1111-1111-111111111111", "access": "readwrite",
            "identityId": IDENTITY_ID, "oidcIssuer": "https://oidc.example.com/tenant/cluster/",
            "serviceAccounts": [{"namespace": "shop", "name": "orders-api"}]}


def reports() -> dict:
    return {"name": "id-reports", "principalId": "22222222-2222-2222-2222-222222222222", "access": "readonly"}


def billing() -> dict:
    return {"name": "id-billing", "principalId": "33333333-3333-3333-3333-333333333333", "access": "readonly"}


def construct(provider, monitor, apps: list[dict], server_secret: bool = False, host: str | None = None):
    server = {"host": host or "pg-shop.postgres.database.azure.com", "resourceGroupName": "rg-shop",
              "serverName": "pg-shop", "adminName": "deployer@contoso.com"}
    return provider.stub.Construct(
        provider_pb2.ConstructRequest(
            project="myapp", stack="dev", dryRun=host == UNKNOWN, parallel=16, monitorEndpoint=monitor.address,
            type=TOKEN, name="shop", parent=STACK_URN,
            inputs=to_struct({"server": secret(server) if server_secret else server,
                              "databaseName": "shop", "apps": apps}),
            inputDependencies={
                "server": provider_pb2.ConstructRequest.PropertyDependencies(urns=[SERVER_URN]),
                "apps": provider_pb2.ConstructRequest.PropertyDependencies(urns=[IDENTITY_URN]),
            },
            providers={"pgentra": PROVIDER_REF},
            dependencies=[ADMIN_URN],
            retainOnDelete=True,
            deletedWith=SERVER_URN,
            organization="organization",
        ),
        timeout=RPC_TIMEOUT * 3,
    )


def by_name(monitor) -> dict[str, resource_pb2.RegisterResourceRequest]:
    return {r.name: r for r in monitor.registered}


def child_urn(token: str, name: str) -> str:
    return f"urn:pulumi:dev::myapp::{TOKEN}${token}::{name}"


def test_construct_registers_the_component_then_its_children_with_their_dependencies_and_outputs(configured, monitor):
    response = construct(configured, monitor, [orders(), reports()])

    component = monitor.registered[0]
    assert (component.type, component.name, component.parent) == (TOKEN, "shop", STACK_URN)
    assert not component.custom and not component.remote
    assert dict(component.providers) == {"pgentra": PROVIDER_REF}
    assert component.retainOnDelete and component.deletedWith == SERVER_URN, "the program's options hold for the component"
    component_urn = f"urn:pulumi:dev::myapp::{TOKEN}::shop"
    assert response.urn == component_urn

    children = monitor.registered[1:]
    assert {c.parent for c in children} == {component_urn}
    assert all(c.custom and c.provider == PROVIDER_REF for c in children)
    assert all(ADMIN_URN in c.dependencies for c in children), "the component's dependsOn holds for its children"
    kinds = {c.name: c.type.rsplit(":", 1)[1] for c in children}
    assert kinds == {
        "shop-db": "Database",
        "shop-id-orders": "Principal", "shop-id-reports": "Principal",
        "shop-admin-in-id-orders": "Grant",
        **{f"shop-id-{app}-{what}": "Grant" for app in ("orders", "reports")
           for what in ("connect", "schema", "tables", "sequences")},
        "shop-id-reports-on-id-orders-tables": "Grant", "shop-id-reports-on-id-orders-sequences": "Grant",
        "shop-id-orders-shop-orders-api": "FederatedCredential",
    }

    named = by_name(monitor)
    db_urn = child_urn("pgentra:index:Database", "shop-db")
    reports_role = child_urn("pgentra:index:Principal", "shop-id-reports")
    orders_role = child_urn("pgentra:index:Principal", "shop-id-orders")
    membership = child_urn("pgentra:index:Grant", "shop-admin-in-id-orders")

    database = named["shop-db"]
    assert from_struct(database.object) == {"resourceGroupName": "rg-shop", "serverName": "pg-shop", "name": "shop"}
    assert SERVER_URN in database.dependencies
    assert list(database.propertyDependencies["serverName"].urns) == [SERVER_URN]

    role = from_struct(named["shop-id-reports"].object)
    assert role["objectId"] == "22222222-2222-2222-2222-222222222222" and role["principalType"] == "service"
    assert role["connection"]["username"] == "deployer@contoso.com"
    assert role["connection"]["sslMode"] == "verify-full"

    tables = named["shop-id-reports-tables"]
    assert from_struct(tables.object)["privileges"] == ["SELECT"]
    assert set(tables.propertyDependencies["role"].urns) == {IDENTITY_URN, reports_role}
    assert db_urn in tables.propertyDependencies["database"].urns
    assert {db_urn, reports_role, SERVER_URN} <= set(tables.dependencies)

    future = named["shop-id-reports-on-id-orders-tables"]
    body = from_struct(future.object)
    assert body["defaultPrivileges"] is True and body["defaultPrivilegesOwner"] == "id-orders"
    assert {orders_role, membership} <= set(future.dependencies)
    order = [r.name for r in monitor.registered]
    assert order.index("shop-admin-in-id-orders") < order.index("shop-id-reports-on-id-orders-tables")
    assert order.index("shop-db") < order.index("shop-id-orders-tables")

    credential = from_struct(named["shop-id-orders-shop-orders-api"].object)
    assert credential["subject"] == "system:serviceaccount:shop:orders-api"
    assert (credential["resourceGroupName"], credential["identityName"]) == ("rg-apps", "id-orders")
    assert IDENTITY_URN in named["shop-id-orders-shop-orders-api"].dependencies

    [registered_outputs] = monitor.outputs
    assert registered_outputs.urn == component_urn
    outputs = from_struct(registered_outputs.outputs)
    assert outputs == from_struct(response.state)
    assert outputs["host"] == "pg-shop.postgres.database.azure.com" and outputs["database"] == "shop"
    assert outputs["connections"]["id-reports"] == {
        "userName": "id-reports",
        "env": {"PGHOST": "pg-shop.postgres.database.azure.com", "PGPORT": "5432", "PGDATABASE": "shop",
                "PGUSER": "id-reports", "PGSSLMODE": "verify-full"},
    }
    assert db_urn in response.stateDependencies["database"].urns
    assert reports_role in response.stateDependencies["connections"].urns


def test_a_second_construct_with_one_app_more_adds_only_that_apps_children(configured, monitor):
    construct(configured, monitor, [orders(), reports()])
    first = {r.name: json_format.MessageToDict(r) for r in monitor.registered}
    first_urns = set(monitor.urns)

    again = FakeMonitor()
    try:
        construct(configured, again, [orders(), billing(), reports()])
        second = {r.name: json_format.MessageToDict(r) for r in again.registered}
        added = sorted(set(second) - set(first))
        assert set(first) <= set(second), f"children dropped: {set(first) - set(second)}"
        assert added and all(name.startswith("shop-id-billing") for name in added), added
        for name, request in first.items():
            assert second[name] == request, f"{name} was registered differently"
        assert first_urns <= again.urns
        assert len(again.outputs) == 1
        assert "id-billing" in from_struct(again.outputs[0].outputs)["connections"]
    finally:
        again.stop()


def test_a_secret_server_keeps_the_childrens_connections_and_the_host_secret(configured, monitor):
    construct(configured, monitor, [reports()], server_secret=True)
    named = by_name(monitor)
    role = json_format.MessageToDict(named["shop-id-reports"].object)
    assert is_secret(role["connection"]) and not is_secret(role["name"])
    outputs = json_format.MessageToDict(monitor.outputs[0].outputs)
    assert is_secret(outputs["host"]) and not is_secret(outputs["database"])


def test_a_preview_with_the_host_not_known_yet_registers_every_child_with_it_unknown(configured, monitor):
    """A preview of a stack whose server is new: the host is the engine's unknown sentinel."""
    response = construct(configured, monitor, [orders(), reports()], host=UNKNOWN)
    assert len(monitor.registered) == 1 + 15  # the component, and the children of the first test
    role = from_struct(by_name(monitor)["shop-id-orders"].object)
    assert role["connection"]["host"] == UNKNOWN and role["name"] == "id-orders"
    outputs = from_struct(response.state)
    assert outputs["host"] == UNKNOWN and outputs["database"] == "shop"
    assert outputs["connections"]["id-orders"]["env"]["PGHOST"] == UNKNOWN
    assert outputs["connections"]["id-orders"]["env"]["PGUSER"] == "id-orders"


def test_inputs_that_make_no_database_are_refused_naming_the_property_before_anything_is_registered(configured, monitor):
    bad = {**reports(), "access": "owner"}
    with pytest.raises(grpc.RpcError) as err:
        construct(configured, monitor, [orders(), bad])
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "apps[1].access" in err.value.details() and "readwrite, readonly" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        construct(configured, monitor, [reports(), reports()])
    assert "apps[1].name" in err.value.details()
    assert monitor.registered == []
