"""ARM resources driven through the official Pulumi stubs as the engine drives them, against
`pgentra emulator` (a separate process speaking ARM and Entra over TLS): create, no-op diff,
update, refresh with drift, import, delete, and the failures a user must see clearly."""

from __future__ import annotations

import base64
import json

import grpc
import pytest

from arm_support import (  # noqa: F401 (fixtures are found by name in the module)
    IDENTITY,
    MSI_API,
    PG_API,
    RG,
    SERVER,
    DiffChanges,
    arm_conformance,
    azure,
    check,
    create,
    delete,
    emulator,
    read,
)
from harness import from_struct, is_secret, status_details, to_struct, unwrap, urn
from pulumi.runtime.proto import provider_pb2


def test_a_managed_identity_lives_its_whole_life_through_the_provider(azure, emulator):
    news = {"resourceGroupName": RG, "name": "id-myapp-prod", "location": "eastus", "tags": {"env": "prod"}}
    inputs = check(azure, IDENTITY, "app", news)
    preview = azure.create(IDENTITY, "app", inputs, preview=True)
    assert emulator.call("GET", emulator.path("identity", "id-myapp-prod"), MSI_API)[0] == 404, "preview created it"
    assert from_struct(preview.properties)["principalId"] == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

    created = create(azure, IDENTITY, "app", inputs)
    assert created.id.lower() == emulator.path("identity", "id-myapp-prod").lower()
    state = from_struct(created.properties)
    status, live = emulator.call("GET", emulator.path("identity", "id-myapp-prod"), MSI_API)
    assert status == 200 and state["principalId"] == live["properties"]["principalId"]
    assert state["clientId"] == live["properties"]["clientId"] and state["tags"] == {"env": "prod"}

    assert azure.diff(IDENTITY, "app", state, inputs, old_inputs=inputs).changes == DiffChanges.DIFF_NONE

    changed = check(azure, IDENTITY, "app", {**news, "tags": {"env": "prod", "team": "data"}}, olds=inputs)
    diff = azure.diff(IDENTITY, "app", state, changed, old_inputs=inputs)
    assert diff.changes == DiffChanges.DIFF_SOME and list(diff.replaces) == []
    updated = azure.stub.Update(provider_pb2.UpdateRequest(id=created.id, urn=urn(IDENTITY, "app"), olds=to_struct(state),
                                                           news=to_struct(changed), old_inputs=to_struct(inputs),
                                                           name="app", type=IDENTITY, timeout=60), timeout=90)
    state = from_struct(updated.properties)
    assert emulator.call("GET", emulator.path("identity", "id-myapp-prod"), MSI_API)[1]["tags"] == {"env": "prod", "team": "data"}

    # Someone retags it outside the stack: refresh shows the drift.
    emulator.call("PUT", emulator.path("identity", "id-myapp-prod"), MSI_API, {"location": "eastus", "tags": {"env": "dev"}})
    refreshed = read(azure, IDENTITY, "app", created.id, state, changed)
    assert from_struct(refreshed.properties)["tags"] == {"env": "dev"}
    assert from_struct(refreshed.inputs)["tags"] == {"env": "dev"}

    # Import from the ID alone gives the inputs a program needs.
    imported = read(azure, IDENTITY, "app", created.id)
    assert {k: from_struct(imported.inputs)[k] for k in ("resourceGroupName", "name", "location")} == \
        {"resourceGroupName": RG, "name": "id-myapp-prod", "location": "eastus"}

    delete(azure, IDENTITY, "app", created.id, state)
    assert emulator.call("GET", emulator.path("identity", "id-myapp-prod"), MSI_API)[0] == 404
    gone = read(azure, IDENTITY, "app", created.id, state)
    assert gone.id == "" and not gone.HasField("properties"), "a deleted resource reads as gone"


def test_creating_over_an_existing_resource_fails_and_says_to_import_it(azure, emulator):
    emulator.call("PUT", emulator.path("identity", "id-someone-else"), MSI_API, {"location": "eastus"})
    inputs = check(azure, IDENTITY, "taken", {"resourceGroupName": RG, "name": "id-someone-else", "location": "eastus"})
    with pytest.raises(grpc.RpcError) as err:
        create(azure, IDENTITY, "taken", inputs)
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "already exists" in err.value.details() and "pulumi import pgentra:index:ManagedIdentity" in err.value.details()


def test_the_seed_chain_is_created_and_destroyed_through_the_provider(azure, emulator):
    """The seed's az section as resources: passwordless server, admin group, identity with an AKS
    federated credential, a database, a firewall rule for the deployer and a server parameter."""
    chain = [
        (SERVER, "pg", {"resourceGroupName": RG, "serverName": "pg-myapp-prod", "location": "eastus", "version": "16",
                        "skuName": "Standard_D2s_v3", "storageSizeGb": 64}),
        ("pgentra:index:AdAdmin", "admins", {"resourceGroupName": RG, "serverName": "pg-myapp-prod",
                                             "objectId": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                                             "principalName": "PG Admins Group", "principalType": "Group"}),
        (IDENTITY, "id", {"resourceGroupName": RG, "name": "id-myapp-chain", "location": "eastus"}),
        ("pgentra:index:FederatedCredential", "fc", {"resourceGroupName": RG, "identityName": "id-myapp-chain",
                                                     "name": "fc-myapp-aks", "issuer": emulator.info["oidcIssuer"],
                                                     "subject": "system:serviceaccount:myapp-ns:myapp-sa"}),
        ("pgentra:index:Database", "db", {"resourceGroupName": RG, "serverName": "pg-myapp-prod", "name": "myappdb"}),
        ("pgentra:index:FirewallRule", "fw", {"resourceGroupName": RG, "serverName": "pg-myapp-prod", "name": "deployer",
                                              "startIpAddress": "203.0.113.7", "endIpAddress": "203.0.113.7"}),
        ("pgentra:index:ServerParameter", "ext", {"resourceGroupName": RG, "serverName": "pg-myapp-prod",
                                                  "name": "azure.extensions", "value": "PGCRYPTO"}),
    ]
    made = []
    for token, name, news in chain:
        created = create(azure, token, name, check(azure, token, name, news))
        assert created.id, token
        made.append((token, name, created.id, from_struct(created.properties)))
    server = made[0][3]
    assert server["passwordAuth"] == "Disabled" and server["activeDirectoryAuth"] == "Enabled"
    assert server["state"] == "Ready" and server["fullyQualifiedDomainName"]
    status, live = emulator.call("GET", emulator.path("server", "pg-myapp-prod"), PG_API)
    assert live["properties"]["authConfig"]["passwordAuth"] == "Disabled"
    status, fic = emulator.call("GET", emulator.path("identity", "id-myapp-chain", "fc-myapp-aks"), MSI_API)
    assert status == 200 and fic["properties"]["audiences"] == ["api://AzureADTokenExchange"]
    status, param = emulator.call("GET", emulator.path("server", "pg-myapp-prod", "configurations", "azure.extensions"), PG_API)
    assert param["properties"]["value"] == "PGCRYPTO" and param["properties"]["source"] == "user-override"
    for token, name, id, state in reversed(made):
        delete(azure, token, name, id, state)
    assert emulator.call("GET", emulator.path("server", "pg-myapp-prod"), PG_API)[0] == 404
    assert emulator.call("GET", emulator.path("identity", "id-myapp-chain"), MSI_API)[0] == 404


def test_a_server_whose_operation_fails_after_azure_accepted_it_stays_in_the_state(azure, emulator):
    path = emulator.path("server", "pg-doomed")
    emulator.admin("faults", {"pathPrefix": path, "count": 1, "kind": {"type": "lroFailed"}})
    inputs = check(azure, SERVER, "doomed", {"resourceGroupName": RG, "serverName": "pg-doomed", "location": "eastus",
                                             "version": "16", "skuName": "Standard_B1ms"})
    with pytest.raises(grpc.RpcError) as err:
        create(azure, SERVER, "doomed", inputs)
    status = status_details(err.value)
    assert status is not None and status.details, f"no ErrorResourceInitFailed: {err.value.details()}"
    detail = provider_pb2.ErrorResourceInitFailed()
    assert status.details[0].Unpack(detail)
    assert detail.id.lower() == path.lower()
    assert detail.reasons and "Failed" in detail.reasons[0]


def invoke(p, token: str, args: dict) -> dict:
    resp = p.stub.Invoke(provider_pb2.InvokeRequest(tok=token, args=to_struct(args)), timeout=30)
    assert not resp.failures, [(f.property, f.reason) for f in resp.failures]
    return from_struct(getattr(resp, "return"))  # `return` is a Python keyword


def test_get_client_config_and_get_access_token_answer_for_the_deployer(azure, emulator):
    config = invoke(azure, "pgentra:index:getClientConfig", {})
    assert config["tenantId"] == emulator.info["tenantId"]
    assert config["subscriptionId"] == emulator.info["subscriptionId"]
    assert config["clientId"] == emulator.info["clientId"] and config["objectId"]
    result = invoke(azure, "pgentra:index:getAccessToken", {})
    assert is_secret(result["token"]), "the token must travel as a secret"
    payload = unwrap(result["token"]).split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["aud"].rstrip("/") == "https://ossrdbms-aad.database.windows.net"
    assert result["expiresOn"].endswith("Z") or "+" in result["expiresOn"]
