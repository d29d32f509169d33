"""pgentra's provider process, driven through the official Pulumi stubs as the engine drives it.

One scenario per test, named for the behaviour it pins down. See harness.py for the engine side.
"""

from __future__ import annotations

import json
import re
import signal
import tomllib

import grpc
import pytest
from google.protobuf import empty_pb2

from harness import (
    PROVIDER_URN,
    REPO_ROOT,
    UNKNOWN,
    describe_failures,
    from_struct,
    is_secret,
    plaintext_leaks,
    secret,
    shared_dir,
    to_struct,
    unwrap,
)
from pulumi.runtime.proto import plugin_pb2, provider_pb2

Kind = provider_pb2.PropertyDiff.Kind
DiffChanges = provider_pb2.DiffResponse.DiffChanges

SUBSCRIPTION = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "5b1e6f0a-2a43-4c8e-9f1e-8d7c6b5a4f3e"
OBJECT = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
CLIENT_SECRET = "pgentra-test-client-secret-4Qz7-value"

FLEX = "pgentra:index:FlexibleServer"
SERVER = {
    "resourceGroupName": "rg-myapp-prod",
    "serverName": "pg-myapp-prod",
    "location": "eastus",
    "version": "16",
    "skuName": "Standard_D2s_v3",
    "storageSizeGb": 64,
}
SERVER_CHECKED = {**SERVER, "activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"}
SERVER_STATE = {
    **SERVER_CHECKED,
    "fullyQualifiedDomainName": "pg-myapp-prod.postgres.database.azure.com",
    "state": "Ready",
}
SERVER_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-myapp-prod"
    "/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-myapp-prod"
)

AD_ADMIN = {
    "resourceGroupName": "rg-myapp-prod",
    "serverName": "pg-myapp-prod",
    "objectId": OBJECT,
    "principalName": "pg-admins",
    "principalType": "Group",
}
FEDERATED_CREDENTIAL = {
    "resourceGroupName": "rg-myapp-prod",
    "identityName": "id-myapp",
    "name": "fc-myapp-aks",
    "issuer": f"https://eastus.oic.prod-aks.azure.com/{TENANT}/{CLIENT}/",
    "subject": "system:serviceaccount:myapp:myapp",
}
CONNECTION = {
    "host": "pg-myapp-prod.postgres.database.azure.com",
    "port": 5432,
    "database": "postgres",
    "username": "pg-admins",
    "sslMode": "verify-full",
}
GRANT = {
    "connection": CONNECTION,
    "role": "myapp",
    "database": "appdb",
    "objectType": "table",
    "schema": "public",
    "privileges": ["SELECT"],
}

ALL_TOKENS = [
    f"pgentra:index:{t}"
    for t in (
        "FlexibleServer",
        "AdAdmin",
        "ManagedIdentity",
        "FederatedCredential",
        "Database",
        "FirewallRule",
        "ServerParameter",
        "Principal",
        "Grant",
    )
]

# Azure: 3-63 characters, lowercase letters, digits and hyphens, no hyphen at either end.
SERVER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def crate_version() -> str:
    """The workspace version, which every crate takes (`version.workspace = true`)."""
    with open(REPO_ROOT / "Cargo.toml", "rb") as f:
        return tomllib.load(f)["workspace"]["package"]["version"]


def without(d: dict, key: str) -> dict:
    return {k: v for k, v in d.items() if k != key}


def names_property(prop: str, failure_property: str) -> bool:
    return failure_property == prop or failure_property.startswith((prop + ".", prop + "["))


def get_schema(provider) -> dict:
    provider.handshake()
    resp = provider.stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=10)
    return json.loads(resp.schema)


# ---------------------------------------------------------------------------------------------
# Process start, handshake, plugin info
# ---------------------------------------------------------------------------------------------


def test_handshake_accepts_secrets_and_resources(provider):
    resp = provider.handshake()
    assert resp.accept_secrets is True
    assert resp.accept_resources is True


def test_plugin_info_reports_the_crate_version(provider):
    provider.handshake()
    info = provider.stub.GetPluginInfo(empty_pb2.Empty(), timeout=10)
    assert info.version == crate_version()


def test_attach_mode_starts_without_an_engine_address(spawn, engine):
    p = spawn([])
    resp = p.handshake(root_directory=None, program_directory=None)
    assert resp.accept_secrets and resp.accept_resources
    p.stub.Attach(plugin_pb2.PluginAttach(address=engine.address), timeout=10)
    assert p.stub.GetPluginInfo(empty_pb2.Empty(), timeout=10).version == crate_version()
    p.configure({"environment": "public"})


def test_tracing_flag_is_accepted_before_the_engine_address(spawn, engine):
    p = spawn(["--tracing", "http://x", engine.address])
    assert p.handshake().accept_secrets
    assert p.stub.GetPluginInfo(empty_pb2.Empty(), timeout=10).version == crate_version()


# ---------------------------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------------------------


def test_schema_declares_every_resource_type_and_function(provider):
    schema = get_schema(provider)
    assert schema["name"] == "pgentra"
    missing = [t for t in ALL_TOKENS if t not in schema.get("resources", {})]
    assert not missing, f"resources missing from the schema: {missing}"
    assert "pgentra:index:Connection" in schema.get("types", {})
    for fn in ("pgentra:index:getClientConfig", "pgentra:index:getAccessToken"):
        assert fn in schema.get("functions", {}), f"function {fn} missing"


def test_schema_equals_the_committed_schema_json(provider):
    committed = REPO_ROOT / "schema.json"
    assert committed.exists(), "schema.json is not committed at the repo root"
    assert get_schema(provider) == json.loads(committed.read_text()), (
        "GetSchema differs from the committed schema.json (regenerate it)"
    )


def _python_patterns(node):
    """The metaschema's regexes are ECMA-262, whose named groups `(?<name>...)` Python's re spells
    `(?P<name>...)`; rewrite only that (lookbehinds `(?<=`, `(?<!` are left alone)."""
    if isinstance(node, dict):
        return {
            k: re.sub(r"\(\?<(?![=!])", "(?P<", v) if k == "pattern" and isinstance(v, str) else _python_patterns(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_python_patterns(v) for v in node]
    return node


def _metaschema_validator():
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    path = shared_dir() / "reference" / "pulumi" / "pulumi-package-metaschema.json"
    assert path.exists(), f"{path} not found: put shared/ beside the repo or set PGENTRA_SHARED"
    meta = _python_patterns(json.loads(path.read_text()))
    Draft202012Validator.check_schema(meta)
    registry = Registry().with_resource(meta["$id"], Resource.from_contents(meta))
    return Draft202012Validator(meta, registry=registry)


def test_schema_validates_against_the_pulumi_metaschema(provider):
    validator = _metaschema_validator()
    errors = sorted(validator.iter_errors(get_schema(provider)), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:20])


def test_metaschema_validation_rejects_a_broken_schema():
    validator = _metaschema_validator()
    broken = {"name": "9-starts-with-a-digit", "version": "one", "resources": {"not a token": {}}, "bogus": 1}
    errors = {tuple(e.absolute_path) or e.validator for e in validator.iter_errors(broken)}
    assert ("name",) in errors, errors
    assert ("version",) in errors, errors
    assert ("resources", "not a token") in errors or ("resources",) in errors, errors
    assert validator.is_valid({"name": "pgentra", "version": "0.1.0"})


# ---------------------------------------------------------------------------------------------
# Provider configuration
# ---------------------------------------------------------------------------------------------


def check_config(provider, news: dict) -> provider_pb2.CheckResponse:
    return provider.stub.CheckConfig(
        provider_pb2.CheckRequest(
            urn=PROVIDER_URN,
            olds=to_struct({}),
            news=to_struct(news),
            name="default",
            type="pulumi:providers:pgentra",
        ),
        timeout=10,
    )


def test_check_config_accepts_and_returns_a_good_config(provider):
    provider.handshake()
    news = {"subscriptionId": SUBSCRIPTION, "environment": "public", "version": crate_version()}
    resp = check_config(provider, news)
    assert not resp.failures, describe_failures(resp)
    inputs = from_struct(resp.inputs)
    assert inputs.get("subscriptionId") == SUBSCRIPTION
    assert inputs.get("environment") == "public"


def test_check_config_rejects_an_unknown_cloud_environment(provider):
    provider.handshake()
    resp = check_config(provider, {"subscriptionId": SUBSCRIPTION, "environment": "mars"})
    failures = [f for f in resp.failures if f.property == "environment"]
    assert failures, f"no failure on environment: {describe_failures(resp)}"
    for cloud in ("public", "usgovernment", "china"):
        assert cloud in failures[0].reason, f"reason does not list {cloud!r}: {failures[0].reason!r}"


def test_check_config_accepts_use_msi_as_the_string_true(provider):
    provider.handshake()
    resp = check_config(provider, {"subscriptionId": SUBSCRIPTION, "useMsi": "true"})
    assert not resp.failures, describe_failures(resp)
    assert from_struct(resp.inputs).get("useMsi") in (True, "true")


def test_configure_accepts_secrets_resources_and_previews(provider):
    provider.handshake()
    resp = provider.configure(
        {
            "subscriptionId": SUBSCRIPTION,
            "tenantId": TENANT,
            "clientId": CLIENT,
            "clientSecret": secret(CLIENT_SECRET),
            "environment": "public",
        }
    )
    assert resp.acceptSecrets is True
    assert resp.supportsPreview is True
    assert resp.acceptResources is True


# ---------------------------------------------------------------------------------------------
# Check
# ---------------------------------------------------------------------------------------------


def test_check_accepts_a_good_server_and_fills_entra_only_defaults(configured):
    resp = configured.check(FLEX, "db", SERVER)
    assert not resp.failures, describe_failures(resp)
    inputs = from_struct(resp.inputs)
    assert inputs["activeDirectoryAuth"] == "Enabled"
    assert inputs["passwordAuth"] == "Disabled"
    for key, value in SERVER.items():
        assert inputs.get(key) == value, f"{key}: sent {value!r}, checked {inputs.get(key)!r}"


@pytest.mark.parametrize(
    "type_name, news",
    [
        ("AdAdmin", AD_ADMIN),
        ("FederatedCredential", FEDERATED_CREDENTIAL),
        ("Grant", GRANT),
    ],
    ids=["AdAdmin", "FederatedCredential", "Grant"],
)
def test_check_accepts_a_good_fixture(configured, type_name, news):
    """The baselines that the rejection cases below alter in one property each."""
    resp = configured.check(f"pgentra:index:{type_name}", "thing", news)
    assert not resp.failures, describe_failures(resp)


@pytest.mark.parametrize(
    "type_name, news, prop",
    [
        ("FlexibleServer", {**SERVER, "serverName": "Bad_Name!"}, "serverName"),
        ("FlexibleServer", {**SERVER, "version": "9"}, "version"),
        ("FlexibleServer", {**SERVER, "storageSizeGb": 33}, "storageSizeGb"),
        (
            "FlexibleServer",
            {**SERVER, "passwordAuth": "Disabled", "administratorLoginPassword": secret("S3cret!Passw0rd")},
            "administratorLoginPassword",
        ),
        ("FlexibleServer", without(SERVER, "location"), "location"),
        ("AdAdmin", {**AD_ADMIN, "principalType": "Robot"}, "principalType"),
        ("FederatedCredential", {**FEDERATED_CREDENTIAL, "name": "x"}, "name"),
        ("Grant", {**GRANT, "privileges": ["SELECT", "FLY"]}, "privileges"),
    ],
    ids=[
        "server-name-with-invalid-characters",
        "unsupported-postgres-version",
        "storage-size-not-offered",
        "password-while-password-auth-disabled",
        "missing-location",
        "unknown-principal-type",
        "federated-credential-name-too-short",
        "privilege-not-valid-for-tables",
    ],
)
def test_check_rejects_invalid_input_naming_the_property(configured, type_name, news, prop):
    resp = configured.check(f"pgentra:index:{type_name}", "thing", news)
    assert any(names_property(prop, f.property) for f in resp.failures), (
        f"expected a failure on {prop!r}, got: {describe_failures(resp)}"
    )


@pytest.mark.parametrize(
    "change, prop, says",
    [
        ({"subject": "repo:contoso/app:ref:refs/heads/main"}, "subject",
         "system:serviceaccount:<namespace>:<service account>"),
        ({"subject": "system:serviceaccount:MyApp:myapp"}, "subject", 'namespace "MyApp"'),
        ({"issuer": FEDERATED_CREDENTIAL["issuer"].rstrip("/")}, "issuer", "trailing '/'"),
        ({"issuer": "https://issuer.example/?x=1"}, "issuer", "a query"),
    ],
    ids=["aks-issuer-non-service-account-subject", "bad-namespace", "aks-issuer-without-slash",
         "issuer-with-query"],
)
def test_check_refuses_a_workload_identity_entra_would_not_match(configured, change, prop, says):
    """What only the first token exchange would show (AADSTS70021) is refused at preview."""
    resp = configured.check("pgentra:index:FederatedCredential", "fc",
                            {**FEDERATED_CREDENTIAL, **change})
    reasons = [f.reason for f in resp.failures if f.property == prop]
    assert reasons and says in reasons[0], describe_failures(resp)


def test_check_auto_names_a_server_stably_from_the_resource_name(configured):
    news = without(SERVER, "serverName")
    seed = bytes(range(32))
    first = configured.check(FLEX, "pg-main", news, seed=seed)
    assert not first.failures, describe_failures(first)
    name = from_struct(first.inputs).get("serverName")
    assert isinstance(name, str) and SERVER_NAME.match(name), f"not a valid server name: {name!r}"
    assert name.startswith("pg-main"), f"auto-name {name!r} is not derived from the resource name"
    again = configured.check(FLEX, "pg-main", news, seed=seed)
    assert from_struct(again.inputs).get("serverName") == name, "same randomSeed gave another name"


def test_check_refuses_to_shrink_storage(configured):
    olds = {**SERVER_CHECKED, "storageSizeGb": 128}
    resp = configured.check(FLEX, "db", {**SERVER, "storageSizeGb": 64}, olds=olds)
    assert any(names_property("storageSizeGb", f.property) for f in resp.failures), describe_failures(resp)


# ---------------------------------------------------------------------------------------------
# Diff
# ---------------------------------------------------------------------------------------------


def diff_server(provider, news: dict, olds: dict = SERVER_STATE, old_inputs: dict = SERVER_CHECKED):
    return provider.diff(FLEX, "db", olds=olds, news=news, old_inputs=old_inputs, id=SERVER_ID)


def test_diff_of_identical_inputs_is_none(configured):
    resp = diff_server(configured, SERVER_CHECKED)
    assert resp.changes == DiffChanges.DIFF_NONE, DiffChanges.Name(resp.changes)
    assert not resp.replaces


def test_diff_of_changed_tags_is_an_in_place_update(configured):
    olds = {**SERVER_STATE, "tags": {"env": "prod"}}
    old_inputs = {**SERVER_CHECKED, "tags": {"env": "prod"}}
    resp = diff_server(configured, {**SERVER_CHECKED, "tags": {"env": "prod", "team": "data"}}, olds, old_inputs)
    assert resp.changes == DiffChanges.DIFF_SOME, DiffChanges.Name(resp.changes)
    assert "tags" in resp.diffs
    assert resp.hasDetailedDiff
    assert "tags" in resp.detailedDiff, dict(resp.detailedDiff)
    assert resp.detailedDiff["tags"].kind == Kind.UPDATE, Kind.Name(resp.detailedDiff["tags"].kind)
    assert not resp.replaces


def test_diff_of_changed_location_replaces(configured):
    resp = diff_server(configured, {**SERVER_CHECKED, "location": "westeurope"})
    assert resp.changes == DiffChanges.DIFF_SOME, DiffChanges.Name(resp.changes)
    assert "location" in resp.replaces
    assert "location" in resp.diffs
    assert resp.hasDetailedDiff
    assert resp.detailedDiff["location"].kind == Kind.UPDATE_REPLACE, Kind.Name(resp.detailedDiff["location"].kind)


def test_diff_replacing_a_server_with_a_fixed_name_deletes_first(configured):
    # serverName is the user's own (the same in old inputs and news): Azure names are global,
    # so the new server cannot exist beside the old one.
    resp = diff_server(configured, {**SERVER_CHECKED, "location": "westeurope"})
    assert resp.replaces
    assert resp.deleteBeforeReplace is True


def test_diff_with_an_unknown_value_may_change(configured):
    resp = diff_server(configured, {**SERVER_CHECKED, "skuName": UNKNOWN})
    assert resp.changes == DiffChanges.DIFF_SOME, DiffChanges.Name(resp.changes)
    assert "skuName" in resp.diffs


def test_diff_of_grant_privileges_is_an_update(configured):
    news = {**GRANT, "privileges": ["SELECT", "INSERT"]}
    resp = configured.diff("pgentra:index:Grant", "grant", olds=GRANT, news=news, id="grant-id")
    assert resp.changes == DiffChanges.DIFF_SOME, DiffChanges.Name(resp.changes)
    assert "privileges" in resp.diffs
    assert not resp.replaces
    replacing = {k: Kind.Name(v.kind) for k, v in resp.detailedDiff.items() if "REPLACE" in Kind.Name(v.kind)}
    assert not replacing, replacing


def test_diff_of_grant_role_replaces_deleting_first(configured):
    news = {**GRANT, "role": "otherapp"}
    resp = configured.diff("pgentra:index:Grant", "grant", olds=GRANT, news=news, id="grant-id")
    assert resp.changes == DiffChanges.DIFF_SOME, DiffChanges.Name(resp.changes)
    assert "role" in resp.replaces
    assert resp.deleteBeforeReplace is True


# ---------------------------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------------------------


def test_preview_create_returns_inputs_and_unknown_computed_outputs(provider, trap):
    # ARM and Entra point at a local trap: a preview must not contact either.
    provider.start({"environment": "public", "armEndpoint": trap.url, "authorityHost": trap.url,
                    "subscriptionId": SUBSCRIPTION})
    checked = provider.check(FLEX, "db", SERVER)
    assert not checked.failures, describe_failures(checked)
    inputs = from_struct(checked.inputs)
    resp = provider.create(FLEX, "db", inputs, preview=True)
    outputs = from_struct(resp.properties)
    for key, value in inputs.items():
        if key.startswith("__"):
            continue  # the provider's own bookkeeping in inputs (e.g. __defaults), not a property
        assert outputs.get(key) == value, f"{key}: input {value!r}, preview output {outputs.get(key)!r}"
    assert outputs.get("fullyQualifiedDomainName") == UNKNOWN
    assert trap.connections == 0, "a preview Create contacted ARM/Entra"


def test_create_of_a_principal_without_a_credential_fails_cleanly_naming_the_sources(configured):
    local = {**CONNECTION, "host": "127.0.0.1", "port": 9}  # nothing listens; never leaves this machine
    principal = {"connection": local, "name": "app-myapp-prod"}
    checked = from_struct(configured.check("pgentra:index:Principal", "app", principal).inputs)
    with pytest.raises(grpc.RpcError) as err:
        configured.create("pgentra:index:Principal", "app", checked, preview=False)
    code = err.value.code()
    assert code not in (grpc.StatusCode.OK, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), code
    assert "client secret" in (err.value.details() or ""), err.value.details()


def test_create_of_an_arm_resource_without_a_subscription_says_how_to_set_one(configured):
    checked = from_struct(configured.check(FLEX, "db", SERVER).inputs)
    with pytest.raises(grpc.RpcError) as err:
        configured.create(FLEX, "db", checked, preview=False)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.code()
    assert "pgentra:subscriptionId" in (err.value.details() or ""), err.value.details()


# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------


def test_secrets_stay_secret_through_check_and_preview_create(configured):
    password = "S3cret!Passw0rd-for-test"
    owner = "alice@contoso.com"
    news = {
        **SERVER,
        "passwordAuth": "Enabled",
        "administratorLogin": "pgadmin",
        "administratorLoginPassword": secret(password),
        "tags": {"env": "prod", "owner": secret(owner)},
    }
    checked = configured.check(FLEX, "db", news)
    assert not checked.failures, describe_failures(checked)
    inputs = from_struct(checked.inputs)
    assert is_secret(inputs.get("administratorLoginPassword")), inputs.get("administratorLoginPassword")
    assert unwrap(inputs["administratorLoginPassword"]) == password

    outputs = from_struct(configured.create(FLEX, "db", inputs, preview=True).properties)
    assert is_secret(outputs.get("administratorLoginPassword")), outputs.get("administratorLoginPassword")
    assert unwrap(outputs["administratorLoginPassword"]) == password
    tags = unwrap(outputs.get("tags"))
    assert isinstance(tags, dict) and unwrap(tags.get("owner")) == owner, outputs.get("tags")
    for where, value in (("checked inputs", inputs), ("preview outputs", outputs)):
        for needle in (password, owner):
            leaks = plaintext_leaks(value, needle)
            assert not leaks, f"{needle!r} in clear in {where} at {leaks}"


# ---------------------------------------------------------------------------------------------
# Cancel, shutdown, component RPCs, logging
# ---------------------------------------------------------------------------------------------


def test_cancel_returns_empty_then_sigint_stops_the_process(provider):
    provider.start()
    resp = provider.stub.Cancel(empty_pb2.Empty(), timeout=5)
    assert isinstance(resp, empty_pb2.Empty)
    provider.channel.close()
    code = provider.interrupt_and_wait()  # fails the test unless the process exits within 5 s
    assert code in (0, -signal.SIGINT, 128 + signal.SIGINT), f"exit status {code} after SIGINT"


def test_construct_of_an_unknown_component_is_refused_naming_the_one_there_is(configured):
    with pytest.raises(grpc.RpcError) as err:
        configured.stub.Construct(
            provider_pb2.ConstructRequest(
                project="myapp", stack="dev", type="pgentra:index:Thing", name="thing", inputs=to_struct({})
            ),
            timeout=10,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.code()
    assert "pgentra:index:PasswordlessDatabase" in err.value.details(), err.value.details()


def test_call_is_unimplemented(configured):
    with pytest.raises(grpc.RpcError) as err:
        configured.stub.Call(
            provider_pb2.CallRequest(tok="pgentra:index:Thing/method", args=to_struct({}), project="myapp", stack="dev"),
            timeout=10,
        )
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED, err.value.code()


def test_logs_reach_the_engine_without_the_client_secret(provider, engine):
    provider.handshake()
    provider.configure(
        {
            "subscriptionId": SUBSCRIPTION,
            "tenantId": TENANT,
            "clientId": CLIENT,
            "clientSecret": secret(CLIENT_SECRET),
            "environment": "public",
        }
    )
    messages = engine.wait_for_logs(1, timeout=5)
    assert messages, "no LogRequest reached the engine after Configure"
    leaked = [m for m in messages if CLIENT_SECRET in m]
    assert not leaked, f"clientSecret in engine log messages: {leaked}"
    assert CLIENT_SECRET not in provider.stderr(), "clientSecret in the provider's stderr log"
