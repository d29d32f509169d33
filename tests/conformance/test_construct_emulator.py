"""PasswordlessDatabase end to end against the emulator: the test plays the engine's resource
monitor and, as the engine does, has the provider Check and Create each child the component
registers; then each app signs in with its own managed identity's token, using the PG*
variables the component returned, and can do what its access level says and no more.
"""

from __future__ import annotations

import secrets
import subprocess
import threading

import grpc
import pytest

from pulumi.runtime.proto import provider_pb2, resource_pb2

from arm_support import (  # noqa: F401 (fixtures are found by name in the module)
    IDENTITY,
    RG,
    SERVER,
    arm_conformance,
    azure,
    check,
    create,
    emulator,
    server_inputs,
)
from harness import from_struct, to_struct
from test_construct import STACK_URN, TOKEN, FakeMonitor
from test_sql_chain import AD_ADMIN, PSQL, Psql, deployer, destroy, gateway_port, msi_token

SERVER_NAME = "pg-component"


class EngineMonitor(FakeMonitor):
    """The fake monitor, creating each custom child through the provider as the engine would."""

    def __init__(self, provider):
        self.provider = provider
        self.made: list[tuple[str, str, str, dict]] = []
        self._made_lock = threading.Lock()
        super().__init__()

    def RegisterResource(self, request, context):
        answer = super().RegisterResource(request, context)
        if not request.custom:
            return answer
        checked = self.provider.stub.Check(
            provider_pb2.CheckRequest(urn=answer.urn, olds=None, news=request.object, name=request.name,
                                      type=request.type, randomSeed=b"0" * 32), timeout=60)
        if checked.failures:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"{request.name}: " + "; ".join(f"{f.property}: {f.reason}" for f in checked.failures))
        try:
            created = self.provider.stub.Create(
                provider_pb2.CreateRequest(urn=answer.urn, properties=checked.inputs, name=request.name,
                                           type=request.type, timeout=60), timeout=90)
        except grpc.RpcError as e:
            context.abort(e.code(), f"{request.name}: {e.details()}")
        with self._made_lock:
            self.made.append((request.type, request.name, created.id, from_struct(created.properties)))
        return resource_pb2.RegisterResourceResponse(urn=answer.urn, id=created.id, object=created.properties)


def test_each_app_signs_in_with_its_identity_and_the_env_the_component_returned(azure, emulator):
    if subprocess.run(["which", PSQL], capture_output=True).returncode != 0:
        pytest.fail("psql is not installed (apt-get install -y postgresql-client)", pytrace=False)
    suffix = secrets.token_hex(3)  # roles are cluster-wide in the backend
    writer, reader = f"orders-{suffix}", f"reports-{suffix}"
    me = deployer(azure, emulator)
    made: list[tuple[str, str, str, dict]] = []

    def up(token: str, name: str, news: dict) -> dict:
        created = create(azure, token, name, check(azure, token, name, news))
        state = from_struct(created.properties)
        made.append((token, name, created.id, state))
        return state

    monitor = EngineMonitor(azure)
    try:
        server = up(SERVER, "pg", server_inputs(SERVER_NAME, activeDirectoryAuth="Enabled", passwordAuth="Disabled"))
        fqdn = server["fullyQualifiedDomainName"]
        up(AD_ADMIN, "admin", {"resourceGroupName": RG, "serverName": SERVER_NAME, "objectId": me["objectId"],
                               "principalName": me["name"], "principalType": "ServicePrincipal"})
        identities = {who: up(IDENTITY, who, {"resourceGroupName": RG, "name": who, "location": "eastus"})
                      for who in (writer, reader)}
        writer_id = next(id for token, name, id, _ in made if name == writer)
        port, _ = gateway_port(emulator, fqdn)
        apps = [
            {"name": writer, "principalId": identities[writer]["principalId"], "access": "readwrite",
             "identityId": writer_id,
             "oidcIssuer": "https://oidc.example.com/tenant/cluster/",
             "serviceAccounts": [{"namespace": "shop", "name": "orders-api"}]},
            {"name": reader, "principalId": identities[reader]["principalId"], "access": "readonly"},
        ]
        response = azure.stub.Construct(provider_pb2.ConstructRequest(
            project="myapp", stack="dev", monitorEndpoint=monitor.address, type=TOKEN, name="shop",
            parent=STACK_URN, inputs=to_struct({"server": {"host": fqdn, "port": port, "resourceGroupName": RG,
                                                         "serverName": SERVER_NAME, "adminName": me["name"]},
                                              "databaseName": "shop", "apps": apps})), timeout=300)
        made.extend(monitor.made)
        kinds = sorted(t.rsplit(":", 1)[1] for t, *_ in monitor.made)
        assert kinds.count("Grant") == 11 and kinds.count("Principal") == 2, kinds
        assert kinds.count("Database") == 1 and kinds.count("FederatedCredential") == 1, kinds

        outputs = from_struct(response.state)
        env = {who: outputs["connections"][who]["env"] for who in (writer, reader)}
        assert env[writer]["PGPORT"] == str(port) and env[writer]["PGSSLMODE"] == "verify-full"
        psql = Psql(env[writer]["PGHOST"], int(env[writer]["PGPORT"]), emulator.info["caCertFile"])
        tokens = {who: msi_token(emulator, identities[who]["clientId"]) for who in (writer, reader)}

        def as_app(who: str, sql: str, refused: bool = False) -> str:
            run = psql.refused if refused else psql.ok
            return run(env[who]["PGUSER"], tokens[who], env[who]["PGDATABASE"], sql)

        as_app(writer, "CREATE TABLE public.orders (id serial PRIMARY KEY, total int); "
                       "INSERT INTO public.orders (total) VALUES (42)")
        assert as_app(reader, "SELECT total FROM public.orders") == "42", "default privileges for the writer's tables"
        assert "permission denied" in as_app(reader, "INSERT INTO public.orders (total) VALUES (1)", refused=True)
        assert "permission denied" in as_app(reader, "CREATE TABLE public.mine (id int)", refused=True)
        credential = next(state for t, _, _, state in monitor.made if t.endswith("FederatedCredential"))
        assert credential["subject"] == "system:serviceaccount:shop:orders-api"
        as_app(writer, "DROP TABLE public.orders")  # the writer's role owns it; it goes before the role
    except BaseException:
        made.extend(m for m in monitor.made if m not in made)
        destroy(azure, made, quietly=True)
        monitor.stop()
        raise
    destroy(azure, made)
    monitor.stop()
