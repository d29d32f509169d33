"""The generated Python SDK (sdk/python, `pulumi_pgentra`) against the real `pulumi` package:
it type-checks under mypy --strict, a wrong program does not, its classes have the schema's
properties, and a program under Pulumi's mocks sends the schema's wire names, defaults and secrets."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import re
import textwrap

import pytest

from sdk_support import (
    PYTHON_SDK,
    REPO_ROOT,
    SCHEMA,
    mocks_environment,
    mypy,
    resource,
    resource_names,
    snake_case,
)

sys.path.insert(0, str(PYTHON_SDK))
import pulumi  # noqa: E402
import pulumi_pgentra  # noqa: E402  (imported from the committed SDK, not an installed copy)


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory):
    """One cache for the module's mypy runs: pulumi's own types are analysed once."""
    return tmp_path_factory.mktemp("mypy-cache")


def test_the_sdk_passes_mypy_strict(mypy_cache):
    result = mypy([str(PYTHON_SDK / "pulumi_pgentra")], mypy_cache)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


CORRECT_PROGRAM = """
import pulumi
import pulumi_pgentra as pgentra

server = pgentra.FlexibleServer(
    "db",
    resource_group_name="rg",
    location="eastus",
    version="16",
    sku_name="Standard_B1ms",
    storage_size_gb=64,
    tags={"team": "data"},
)
fqdn: pulumi.Output[str] = server.fully_qualified_domain_name
grant = pgentra.Grant(
    "grant",
    pgentra.GrantArgs(
        connection=pgentra.ConnectionArgs(host=fqdn, username="admins"),
        role="app",
        database="appdb",
        object_type="table",
        privileges=["SELECT", "INSERT"],
    ),
)
connection: pulumi.Output[pgentra.outputs.Connection] = grant.connection
me: pulumi.Output[pgentra.GetClientConfigResult] = pgentra.get_client_config_output()
token: pulumi.Output[str] = pgentra.get_access_token_output(scope="s").apply(lambda t: t.token)
imported = pgentra.Database.get("existing", "/subscriptions/s/databases/d")
provider = pgentra.Provider("azure", use_msi=True, client_secret="s")
environment: str = pgentra.config.environment
secret: pulumi.Output[str] | None = pgentra.config.client_secret
"""


def check_program(tmp_path, cache, program: str):
    path = tmp_path / "program.py"
    path.write_text(textwrap.dedent(program))
    return mypy([str(path)], cache, {"MYPYPATH": str(PYTHON_SDK)})


def test_a_correct_program_type_checks(tmp_path, mypy_cache):
    result = check_program(tmp_path, mypy_cache, CORRECT_PROGRAM)
    assert result.returncode == 0, result.stdout + result.stderr


# Objects as plain dicts (the ArgsDict TypedDicts), closed sets as enum members or plain strings,
# and get() with state, as a program written against Pulumi's own generated SDKs does.
TYPED_DICT_AND_ENUM_PROGRAM = """
import pulumi
import pulumi_pgentra as pgentra

server = pgentra.FlexibleServer(
    "db",
    resource_group_name="rg",
    location="eastus",
    version=pgentra.ServerVersion.V16,
    sku_name="Standard_B1ms",
    active_directory_auth=pgentra.ActiveDirectoryAuth.ENABLED,
    password_auth="Disabled",
    public_network_access=pgentra.PublicNetworkAccess.DISABLED,
)
connection: pgentra.ConnectionArgsDict = {
    "host": server.fully_qualified_domain_name,
    "username": "PG Admins Group",
    "ssl_mode": pgentra.SslMode.VERIFY_FULL,
}
pgentra.Grant(
    "grant",
    connection=connection,
    role="app",
    database="appdb",
    object_type=pgentra.ObjectType.TABLE,
    schema="public",
    privileges=["SELECT"],
)
pgentra.Principal(
    "app",
    connection={"host": "pg.example.com", "username": "admins", "port": 5432},
    name="id-app",
    principal_type=pgentra.PrincipalType.SERVICE,
)
args = pgentra.GrantArgs(
    connection={"host": "pg.example.com", "username": "admins"},
    role="app",
    database="appdb",
    object_type="database",
    privileges=["CONNECT"],
)
imported = pgentra.Principal.get(
    "imported", "postgresql://pg.example.com/postgres?user=admins#role=id-app",
    connection={"host": "pg.example.com", "username": "admins"}, name="id-app",
)
mode: str = pgentra.SslMode.VERIFY_FULL
"""


def test_dicts_and_enum_members_type_check(tmp_path, mypy_cache):
    result = check_program(tmp_path, mypy_cache, TYPED_DICT_AND_ENUM_PROGRAM)
    assert result.returncode == 0, result.stdout + result.stderr


# Negative controls: each program differs from a correct one by one mistake, which mypy must name.
WRONG_PROGRAMS = {
    "a number where a string is required": (
        'pgentra.FlexibleServer("db", resource_group_name="rg", location=1, version="16", sku_name="B1")',
        'No overload variant of "FlexibleServer" matches argument types "str", "str", "int"',
    ),
    "a number where a string is required, in an args class": (
        'pgentra.FlexibleServerArgs(resource_group_name="rg", location=1, version="16", sku_name="B1")',
        'Argument "location" to "FlexibleServerArgs" has incompatible type "int"',
    ),
    "a required property left out": (
        'pgentra.FlexibleServer("db", resource_group_name="rg", location="eastus", version="16")',
        "No overload variant",
    ),
    "a property the schema does not have": (
        'pgentra.Database("d", resource_group_name="rg", server_name="s", name="n", owner="x")',
        "No overload variant",
    ),
    "an object type's property with the wrong type": (
        'pgentra.ConnectionArgs(host="h", username="u", port="5432")',
        'Argument "port" to "ConnectionArgs" has incompatible type "str"',
    ),
    "an output read as the wrong type": (
        'x: pulumi.Output[int] = pgentra.Database.get("d", "id").name',
        "Incompatible types in assignment",
    ),
    "a function result property that does not exist": (
        "pgentra.get_client_config().tenant",
        'has no attribute "tenant"',
    ),
    "a key an object type does not have, in its dict form": (
        'c: pgentra.ConnectionArgsDict = {"host": "h", "username": "u", "sslmode": "verify-full"}',
        'Extra key "sslmode" for TypedDict "ConnectionArgsDict"',
    ),
    "a value of the wrong type, in an object's dict form": (
        'c: pgentra.ConnectionArgsDict = {"host": "h", "username": "u", "port": "5432"}',
        'Incompatible types (expression has type "str", TypedDict item "port" has type',
    ),
    "a required key left out of an object's dict form": (
        'c: pgentra.ConnectionArgsDict = {"host": "h"}',
        'Missing key "username" for TypedDict "ConnectionArgsDict"',
    ),
    "a wrong key in a dict given to a resource": (
        'pgentra.Principal("p", connection={"host": "h", "user": "u"}, name="n")',
        "No overload variant",
    ),
    "an enum member that does not exist": (
        'pgentra.GrantArgs(connection={"host": "h", "username": "u"}, role="r", database="d", '
        'object_type=pgentra.ObjectType.VIEW, privileges=[])',
        '"type[ObjectType]" has no attribute "VIEW"',
    ),
    "a state property get() does not have": (
        'pgentra.Database.get("d", "id", owner="x")',
        'Unexpected keyword argument "owner" for "get" of "Database"',
    ),
}


@pytest.mark.parametrize("mistake", sorted(WRONG_PROGRAMS))
def test_a_wrong_program_fails_mypy(tmp_path, mypy_cache, mistake):
    line, expected = WRONG_PROGRAMS[mistake]
    result = check_program(tmp_path, mypy_cache, f"import pulumi\nimport pulumi_pgentra as pgentra\n\n{line}\n")
    assert result.returncode == 1, f"mypy accepted {mistake}:\n{result.stdout}{result.stderr}"
    assert "program.py:4: error:" in result.stdout and expected in result.stdout, result.stdout


@pytest.mark.parametrize("name", resource_names())
def test_args_classes_have_the_schemas_inputs(name):
    schema = resource(name)
    args_class = getattr(pulumi_pgentra, f"{name}Args")
    parameters = inspect.signature(args_class.__init__).parameters
    expected = {snake_case(p) for p in schema["inputProperties"]}
    assert set(parameters) - {"__self__"} == expected
    for wire in schema["inputProperties"]:
        parameter = parameters[snake_case(wire)]
        required = wire in schema["requiredInputs"]
        assert (parameter.default is inspect.Parameter.empty) == required, wire


@pytest.mark.parametrize("name", resource_names())
def test_resource_classes_expose_every_schema_property(name):
    resource_class = getattr(pulumi_pgentra, name)
    for wire in resource(name)["properties"]:
        member = getattr(resource_class, snake_case(wire), None)
        assert isinstance(member, property), f"{name}.{snake_case(wire)} ({wire})"
    if resource(name).get("isComponent"):
        # A component the provider builds (Construct): nothing to look up by ID.
        assert issubclass(resource_class, pulumi.ComponentResource) and not hasattr(resource_class, "get")
    else:
        assert callable(resource_class.get)


def test_flexible_server_args_has_the_schema_properties():
    args = pulumi_pgentra.FlexibleServerArgs(
        resource_group_name="rg", location="eastus", version="16", sku_name="Standard_B1ms"
    )
    assert args.storage_size_gb == 32  # the schema's default
    assert args.password_auth == "Disabled"
    assert args.active_directory_auth == "Enabled"
    assert args.administrator_login_password is None


def test_the_package_version_and_plugin_come_from_the_schema():
    plugin = json.loads((PYTHON_SDK / "pulumi_pgentra" / "pulumi-plugin.json").read_text())
    assert plugin == {"resource": True, "name": "pgentra", "version": SCHEMA["version"],
                      "server": SCHEMA["pluginDownloadURL"]}
    assert pulumi_pgentra._utilities.get_version() == SCHEMA["version"]
    assert pulumi_pgentra._utilities.get_plugin_download_url() == SCHEMA["pluginDownloadURL"]
    pyproject = (PYTHON_SDK / "pyproject.toml").read_text()
    assert f'version = "{SCHEMA["version"]}"' in pyproject
    assert 'name = "pulumi_pgentra"' in pyproject


MOCK_PROGRAM = r"""
import json, sys
import pulumi
from google.protobuf import struct_pb2

sent = []

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        sent.append({"type": args.typ, "name": args.name, "inputs": args.inputs, "id": args.resource_id})
        state = dict(args.inputs)
        if args.typ == "pgentra:index:FlexibleServer":
            state["fullyQualifiedDomainName"] = "pg1.postgres.database.azure.com"
            state["state"] = "Ready"
        return [args.name + "-id", state]

    def call(self, args):
        sent.append({"call": args.token, "args": args.args})
        if args.token == "pgentra:index:getAccessToken":
            return {"token": "eyJ.token", "expiresOn": "2030-01-01T00:00:00Z"}
        return {"tenantId": "t", "subscriptionId": "s", "objectId": "o", "name": "me@example.com", "clientId": ""}

pulumi.runtime.set_mocks(Mocks(), preview=False)
import pulumi_pgentra as pgentra

@pulumi.runtime.test
def program():
    server = pgentra.FlexibleServer("pg1", resource_group_name="rg", location="eastus", version="16",
                                    sku_name="Standard_B1ms", administrator_login_password="Passw0rd!x")
    grant = pgentra.Grant("g", connection=pgentra.ConnectionArgs(host=server.fully_qualified_domain_name,
                          username="admins"), role="app", database="appdb", object_type="table",
                          privileges=["SELECT"])
    explicit = pgentra.Provider("explicit", use_msi=True, client_secret="clientS3cret")
    token = pgentra.get_access_token_output()
    pgentra.Grant("dict-form", connection={"host": "pg2.example.com", "username": "admins",
                  "ssl_mode": pgentra.SslMode.VERIFY_FULL}, role="app", database="appdb",
                  object_type=pgentra.ObjectType.SCHEMA, schema="public", privileges=["USAGE"],
                  with_grant_option=False)
    pgentra.Principal.get("looked-up", "principal-id", connection={"host": "pg3.example.com",
                          "username": "admins"}, name="id-app", is_admin=False)

    config_secret = pgentra.config.client_secret

    def rebuilt(urn):
        # A resource reference as the engine sends one: the registered module rebuilds the class.
        ref = struct_pb2.Struct()
        ref.update({"4dabf18193072939515e22adb298388d": "5cf8f73096256a8f31e491e813e4eb8e",
                    "urn": urn, "packageVersion": ""})
        return type(pulumi.runtime.rpc.deserialize_property(ref)).__name__

    def report(values):
        (fqdn, connection, password_secret, token_secret, token_value, config_secret_is_secret,
         server_urn, provider_urn) = values
        print(json.dumps({"sent": sent, "fqdn": fqdn, "connection_host": connection.host,
                          "connection_port": connection.port, "password_secret": password_secret,
                          "token_secret": token_secret, "token": token_value.token,
                          "config": {"subscription_id": pgentra.config.subscription_id,
                                     "tenant_id": pgentra.config.tenant_id,
                                     "environment": pgentra.config.environment,
                                     "use_msi": pgentra.config.use_msi,
                                     "client_secret_is_secret": config_secret_is_secret},
                          "references": [rebuilt(server_urn), rebuilt(provider_urn)]}, default=str))

    return pulumi.Output.all(server.fully_qualified_domain_name, grant.connection,
                             pulumi.Output.from_input(server.administrator_login_password.is_secret()),
                             pulumi.Output.from_input(token.is_secret()), token,
                             pulumi.Output.from_input(config_secret.is_secret()),
                             server.urn, explicit.urn).apply(report)

program()
"""


@pytest.fixture(scope="module")
def mocked_run():
    env = mocks_environment(PYTHONPATH=str(PYTHON_SDK))
    result = subprocess.run(
        [sys.executable, "-c", MOCK_PROGRAM], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def registered(run, type_token, name=None):
    return next(r for r in run["sent"] if r.get("type") == type_token and name in (None, r["name"]))


def test_under_mocks_resources_are_sent_with_wire_names_and_defaults(mocked_run):
    server = registered(mocked_run, "pgentra:index:FlexibleServer")
    inputs = server["inputs"]
    assert set(inputs) <= set(resource("FlexibleServer")["inputProperties"])
    assert inputs["resourceGroupName"] == "rg" and inputs["skuName"] == "Standard_B1ms"
    assert inputs["passwordAuth"] == "Disabled" and inputs["activeDirectoryAuth"] == "Enabled"
    assert inputs["storageSizeGb"] == 32
    grant = registered(mocked_run, "pgentra:index:Grant", "g")
    assert grant["inputs"]["connection"] == {
        "host": "pg1.postgres.database.azure.com", "username": "admins",
        "port": 5432, "database": "postgres", "sslMode": "verify-full",
    }
    assert grant["inputs"]["objectType"] == "table" and grant["inputs"]["withGrantOption"] is False
    assert mocked_run["connection_host"] == "pg1.postgres.database.azure.com"
    assert mocked_run["connection_port"] == 5432


def test_under_mocks_a_dict_and_enum_members_are_sent_as_wire_names_and_strings(mocked_run):
    grant = registered(mocked_run, "pgentra:index:Grant", "dict-form")
    assert grant["inputs"]["connection"] == {
        "host": "pg2.example.com", "username": "admins", "sslMode": "verify-full",
    }
    assert grant["inputs"]["objectType"] == "schema" and grant["inputs"]["withGrantOption"] is False


def test_under_mocks_get_sends_the_id_and_the_state_it_was_given(mocked_run):
    looked_up = registered(mocked_run, "pgentra:index:Principal", "looked-up")
    assert looked_up["id"] == "principal-id"
    assert looked_up["inputs"] == {
        "connection": {"host": "pg3.example.com", "username": "admins"},
        "name": "id-app",
        "isAdmin": False,
    }


def test_under_mocks_schema_secrets_stay_secret(mocked_run):
    assert mocked_run["password_secret"] is True
    assert mocked_run["token_secret"] is True and mocked_run["token"] == "eyJ.token"
    provider = registered(mocked_run, "pulumi:providers:pgentra")
    # Provider config goes out as strings; the secret travels wrapped as a secret value.
    assert provider["inputs"]["useMsi"] == "true"
    assert provider["inputs"]["clientSecret"] != "clientS3cret"
    assert "clientS3cret" in json.dumps(provider["inputs"]["clientSecret"])


def test_under_mocks_functions_invoke_the_schema_tokens(mocked_run):
    calls = [r["call"] for r in mocked_run["sent"] if "call" in r]
    assert calls == ["pgentra:index:getAccessToken"]


def test_config_reads_stack_config_then_the_environment_then_the_default(mocked_run):
    assert mocked_run["config"] == {
        "subscription_id": "sub-from-stack",  # stack config wins over ARM_SUBSCRIPTION_ID
        "tenant_id": "tenant-from-env",
        "environment": "public",  # the schema's default
        "use_msi": True,
        "client_secret_is_secret": True,
    }


def test_resource_references_are_rebuilt_as_the_sdks_classes(mocked_run):
    assert mocked_run["references"] == ["FlexibleServer", "Provider"]


def schema_examples(language: str) -> dict[str, list[str]]:
    """The ```<language> blocks of every resource's and function's description, by token."""
    found = {}
    for section in ("resources", "functions"):
        for token, body in SCHEMA[section].items():
            blocks = re.findall(rf"```{language}\n(.*?)```", body["description"], re.DOTALL)
            if blocks:
                found[token] = blocks
    return found


def test_every_type_has_an_example_in_its_description():
    tokens = set(SCHEMA["resources"]) | set(SCHEMA["functions"])
    assert set(schema_examples("python")) == tokens
    assert set(schema_examples("typescript")) == tokens
    assert set(schema_examples("yaml")) == tokens


def test_the_python_examples_in_the_schema_type_check(tmp_path, mypy_cache):
    """Each example a module of its own, all checked by one mypy --strict run."""
    paths = []
    for index, (token, blocks) in enumerate(sorted(schema_examples("python").items())):
        for number, block in enumerate(blocks):
            path = tmp_path / f"example{index}_{number}.py"
            path.write_text(f"# {token}\n{block}")
            paths.append(str(path))
    result = mypy(paths, mypy_cache, {"MYPYPATH": str(PYTHON_SDK)})
    assert result.returncode == 0, result.stdout + result.stderr
