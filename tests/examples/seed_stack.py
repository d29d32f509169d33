"""What every example must register when it runs: the seed's whole stack, wired the way the seed
needs it. One description for the three languages, checked against what each program passed to
Pulumi's test mocks (Python, TypeScript) or what the YAML program evaluates to.

The mocks play Azure: a FlexibleServer gets a fullyQualifiedDomainName, a ManagedIdentity a
principalId and clientId, getClientConfig answers for a deployer. Those values are made up here and
appear nowhere in the examples, so finding one in another resource's inputs proves the wiring.
"""

from __future__ import annotations

import json
from collections import Counter

# The stack config the tests run the examples with (keys without a default, and one override).
CONFIG = {
    "serverName": "pg-myapp-test",
    "adminGroupObjectId": "aaaaaaaa-0000-4000-8000-000000000001",
    "developerUpn": "dev@contoso.example",
    "oidcIssuerUrl": "https://oidc.aks.example/tenant/issuer/",
    "deployerIp": "198.51.100.23",
    "location": "westeurope",
}
# The examples' defaults for the rest (examples/README.md documents them).
DEFAULTS = {
    "resourceGroupName": "rg-myapp-prod",
    "identityName": "id-myapp-prod",
    "databaseName": "myappdb",
    "adminGroupName": "PG Admins Group",
    "readwriteGroupName": "myapp-db-readwrite",
}

# What the mocked Azure answers.
CLIENT = {
    "tenantId": "72f988bf-0000-4000-8000-00000000beef",
    "subscriptionId": "00000000-0000-4000-8000-0000000000aa",
    "objectId": "dddddddd-0000-4000-8000-00000000d0d0",
    "name": "deployer@contoso.example",
    "clientId": "",
}
IDENTITY_PRINCIPAL_ID = "eeeeeeee-0000-4000-8000-0000000000e1"
IDENTITY_CLIENT_ID = "cccccccc-0000-4000-8000-0000000000c1"

T = "pgentra:index:"
SERVER, ADMIN, FIREWALL, DATABASE = T + "FlexibleServer", T + "AdAdmin", T + "FirewallRule", T + "Database"
IDENTITY, FIC, PRINCIPAL, GRANT = T + "ManagedIdentity", T + "FederatedCredential", T + "Principal", T + "Grant"
GET_CLIENT_CONFIG = T + "getClientConfig"


# What the mocked Azure adds to a new resource's inputs ("{input}" is filled from its inputs) and
# answers to an invoke. The FQDN is not Azure's form, so no program can spell it out itself.
MOCK_OUTPUTS = {
    SERVER: {"fullyQualifiedDomainName": "{serverName}.mocked-fqdn.example", "state": "Ready"},
    IDENTITY: {"principalId": IDENTITY_PRINCIPAL_ID, "clientId": IDENTITY_CLIENT_ID, "tenantId": CLIENT["tenantId"]},
}
MOCK_CALLS = {GET_CLIENT_CONFIG: CLIENT}


def fqdn(server_name: str) -> str:
    return MOCK_OUTPUTS[SERVER]["fullyQualifiedDomainName"].format(serverName=server_name)


def mock_state(token: str, inputs: dict) -> dict:
    """The state the mocked Azure returns for a new resource: its inputs plus its computed outputs."""
    added = {k: v.format(**inputs) for k, v in MOCK_OUTPUTS.get(token, {}).items()}
    return {**inputs, **added}


def mock_call(token: str) -> dict:
    if token in MOCK_CALLS:
        return dict(MOCK_CALLS[token])
    raise AssertionError(f"the example invoked {token}, which the seed's stack does not need")


def mocks_json() -> str:
    """The mocked answers, for the runner in another language (tests/examples/ts_mocks_runner.js)."""
    return json.dumps({"outputs": MOCK_OUTPUTS, "calls": MOCK_CALLS})


def connection_defaults() -> dict:
    from schema_names import Schema

    props = Schema().types[T + "Connection"]["properties"]
    return {k: spec["default"] for k, spec in props.items() if "default" in spec}


READ_WRITE = ["DELETE", "INSERT", "SELECT", "UPDATE"]


def expected_grants(cfg: dict) -> set[tuple]:
    """(name, role, database, objectType, schema, privileges, objects, defaultPrivileges) per Grant."""
    app, group, dev, db = cfg["identityName"], cfg["readwriteGroupName"], cfg["developerUpn"], cfg["databaseName"]
    rw = tuple(READ_WRITE)
    return {
        ("appConnect", app, db, "database", None, ("CONNECT",), (), False),
        ("appSchemaUsage", app, db, "schema", "public", ("USAGE",), (), False),
        ("appTables", app, db, "table", "public", rw, (), False),
        ("appFutureTables", app, db, "table", "public", rw, (), True),
        ("readwriteConnect", group, db, "database", None, ("CONNECT",), (), False),
        ("readwriteSchemaUsage", group, db, "schema", "public", ("USAGE",), (), False),
        ("readwriteTables", group, db, "table", "public", rw, (), False),
        ("developerMembership", dev, db, "role", None, (), (group,), False),
    }


def assert_seed_stack(resources: list[dict], calls: list[str], outputs: dict) -> None:
    """resources: [{type, name, inputs, dependsOn: [names]}] as registered; calls: the tokens
    invoked; outputs: the stack outputs, resolved."""
    cfg = {**DEFAULTS, **CONFIG}
    counts = Counter(r["type"] for r in resources)
    assert counts == {SERVER: 1, ADMIN: 1, FIREWALL: 1, DATABASE: 1, IDENTITY: 1, FIC: 1, PRINCIPAL: 3, GRANT: 8}, counts
    by_name = {r["name"]: r for r in resources}
    assert len(by_name) == len(resources), "two resources share a name"
    assert GET_CLIENT_CONFIG in calls, "getClientConfig was not invoked"

    def inputs(name: str, token: str) -> dict:
        assert name in by_name, f"no resource named {name!r}; registered: {sorted(by_name)}"
        assert by_name[name]["type"] == token, f"{name} is a {by_name[name]['type']}, not a {token}"
        return by_name[name]["inputs"]

    server = inputs("server", SERVER)
    assert server["activeDirectoryAuth"] == "Enabled" and server["passwordAuth"] == "Disabled", server
    assert not {"administratorLogin", "administratorLoginPassword"} & set(server), "a password admin exists"
    assert (server["serverName"], server["resourceGroupName"], server["location"]) == \
        (cfg["serverName"], cfg["resourceGroupName"], cfg["location"])
    assert server["tenantId"] == CLIENT["tenantId"], "the server's tenant is not getClientConfig's"
    assert (server["version"], server["skuName"], server["storageSizeGb"]) == ("16", "Standard_D2s_v3", 64)

    admin = inputs("admin", ADMIN)
    assert admin == {"resourceGroupName": cfg["resourceGroupName"], "serverName": cfg["serverName"],
                     "objectId": cfg["adminGroupObjectId"], "principalName": cfg["adminGroupName"],
                     "principalType": "Group", "tenantId": CLIENT["tenantId"]}, admin

    firewall = inputs("deployerFirewallRule", FIREWALL)
    assert firewall["startIpAddress"] == firewall["endIpAddress"] == cfg["deployerIp"], firewall
    assert firewall["serverName"] == cfg["serverName"]

    database = inputs("database", DATABASE)
    assert (database["name"], database["serverName"]) == (cfg["databaseName"], cfg["serverName"])

    identity = inputs("appIdentity", IDENTITY)
    assert (identity["name"], identity["location"]) == (cfg["identityName"], cfg["location"])

    fic = inputs("appFederatedCredential", FIC)
    assert fic["subject"] == "system:serviceaccount:myapp-ns:myapp-sa", fic
    assert fic["audiences"] == ["api://AzureADTokenExchange"], fic
    assert (fic["issuer"], fic["identityName"]) == (cfg["oidcIssuerUrl"], cfg["identityName"])

    # Every SQL resource signs in at the server's FQDN (from the server's output) as the admin group;
    # the rest of the connection is the schema's defaults (an SDK may fill them in, YAML does not).
    connection = {"host": fqdn(cfg["serverName"]), "username": cfg["adminGroupName"]}
    defaults = connection_defaults()
    for r in resources:
        if r["type"] in (PRINCIPAL, GRANT):
            given = {k: v for k, v in r["inputs"]["connection"].items()
                     if v is not None and not (k in defaults and v == defaults[k])}
            assert given == connection, f"{r['name']}'s connection is {given}, not {connection}"
            if r["type"] == PRINCIPAL:
                assert "deployerFirewallRule" in r["dependsOn"], \
                    f"{r['name']} may run its SQL before the firewall lets the deployer in"

    app = inputs("appPrincipal", PRINCIPAL)
    assert (app["name"], app["objectId"], app["principalType"]) == \
        (cfg["identityName"], IDENTITY_PRINCIPAL_ID, "service"), app
    assert inputs("readwritePrincipal", PRINCIPAL)["name"] == cfg["readwriteGroupName"]
    assert inputs("developerPrincipal", PRINCIPAL)["name"] == cfg["developerUpn"]

    grants = set()
    for r in resources:
        if r["type"] == GRANT:
            g = r["inputs"]
            grants.add((r["name"], g["role"], g["database"], g["objectType"], g.get("schema"),
                        tuple(sorted(g.get("privileges") or [])), tuple(g.get("objects") or []),
                        bool(g.get("defaultPrivileges"))))
    assert grants == expected_grants(cfg), (
        f"missing: {sorted(expected_grants(cfg) - grants)}\nunexpected: {sorted(grants - expected_grants(cfg))}")

    assert outputs == {
        "serverFqdn": fqdn(cfg["serverName"]),
        "appClientId": IDENTITY_CLIENT_ID,
        "appConnectionString": f"Host={fqdn(cfg['serverName'])};Database={cfg['databaseName']};"
                               f"Username={cfg['identityName']};Ssl Mode=Require;",
        "deployer": CLIENT["name"],
    }, outputs
