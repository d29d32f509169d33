"""The generated Node.js SDK (sdk/nodejs, `@pgentra/pulumi`) against the real `@pulumi/pulumi` and
`typescript` pinned by sdk/nodejs/package-lock.json (installed by scripts/test): it type-checks
under `tsc --strict`, a wrong program does not, and a program under Pulumi's mocks sends the
schema's wire names, defaults and secrets."""

from __future__ import annotations

import json
import os
import re

import pytest

from sdk_support import (
    NODE_MODULES,
    NODE_SDK,
    SCHEMA,
    mocks_environment,
    TSC,
    require_node_toolchain,
    resource,
    resource_names,
    run,
)


def tsc(args: list[str], cwd=None):
    return run(["node", str(TSC), *args], **({"cwd": cwd} if cwd else {}))


@pytest.fixture(scope="module")
def sdk_build(tmp_path_factory):
    """One strict compile of the SDK (tsc is slow to load @pulumi/pulumi's types): it is the
    type check, and its output is what the mocks program runs."""
    require_node_toolchain()
    out = tmp_path_factory.mktemp("sdk-js")
    return out, tsc(["-p", str(NODE_SDK), "--outDir", str(out)])


def test_the_sdk_passes_tsc_strict(sdk_build):
    _, result = sdk_build
    assert result.returncode == 0, result.stdout + result.stderr
    config = json.loads((NODE_SDK / "tsconfig.json").read_text())
    assert config["compilerOptions"]["strict"] is True


CORRECT_PROGRAM = """
import * as pulumi from "@pulumi/pulumi";
import * as pgentra from "SDK";

const server = new pgentra.FlexibleServer("db", {
    resourceGroupName: "rg",
    location: "eastus",
    version: "16",
    skuName: "Standard_B1ms",
    storageSizeGb: 64,
    tags: { team: "data" },
});
const fqdn: pulumi.Output<string> = server.fullyQualifiedDomainName;
const grant = new pgentra.Grant("grant", {
    connection: { host: fqdn, username: "admins" },
    role: "app",
    database: "appdb",
    objectType: "table",
    privileges: ["SELECT", "INSERT"],
});
const connection: pulumi.Output<pgentra.types.output.Connection> = grant.connection;
const me: pulumi.Output<pgentra.GetClientConfigResult> = pgentra.getClientConfigOutput();
const token: pulumi.Output<string> = pgentra.getAccessTokenOutput({ scope: "s" }).token;
const plain: Promise<pgentra.GetAccessTokenResult> = pgentra.getAccessToken();
const imported = pgentra.Database.get("existing", "/subscriptions/s/databases/d");
const provider = new pgentra.Provider("azure", { useMsi: true, clientSecret: "s" });
const environment: string = pgentra.config.environment;
const secret: pulumi.Output<string> | undefined = pgentra.config.clientSecret;
// Closed sets: an enum member or the plain string, both a member of the enum's type.
const enums = pgentra.types.enums;
const strictServer = new pgentra.FlexibleServer("strict", {
    resourceGroupName: "rg",
    location: "eastus",
    version: enums.ServerVersion.V16,
    skuName: "Standard_B1ms",
    activeDirectoryAuth: enums.ActiveDirectoryAuth.Enabled,
    passwordAuth: "Disabled",
    publicNetworkAccess: enums.PublicNetworkAccess.Disabled,
});
const schemaGrant = new pgentra.Grant("schema", {
    connection: { host: strictServer.fullyQualifiedDomainName, username: "admins", sslMode: enums.SslMode.VerifyFull },
    role: "app",
    database: "appdb",
    objectType: enums.ObjectType.Schema,
    schema: "public",
    privileges: ["USAGE"],
});
const mode: pgentra.types.enums.SslMode = "verify-full";
const principalType: pgentra.types.enums.PrincipalType = enums.PrincipalType.Service;
export { connection, me, token, plain, imported, provider, environment, secret, schemaGrant, mode, principalType };
"""

# Negative controls: each program differs from a correct one by one mistake, which tsc must name.
WRONG_PROGRAMS = {
    "a number where a string is required": (
        'new pgentra.FlexibleServer("db", { resourceGroupName: "rg", location: 1, version: "16", skuName: "B1" });',
        "TS2322: Type 'number' is not assignable to type 'Input<string>'",
    ),
    "a required property left out": (
        'new pgentra.FlexibleServer("db", { resourceGroupName: "rg", location: "eastus", version: "16" });',
        "TS2345",
    ),
    "a property the schema does not have": (
        'new pgentra.Database("d", { resourceGroupName: "rg", serverName: "s", name: "n", owner: "x" });',
        "TS2353: Object literal may only specify known properties, and 'owner'",
    ),
    "an object type's property with the wrong type": (
        'const c: pgentra.types.input.ConnectionArgs = { host: "h", username: "u", port: "5432" };',
        "TS2322: Type 'string' is not assignable to type 'Input<number>",
    ),
    "an output read as the wrong type": (
        'const x: pulumi.Output<number> = pgentra.Database.get("d", "id").name;',
        "TS2322: Type 'Output<string>' is not assignable to type 'OutputInstance<number>'",
    ),
    "a function result property that does not exist": (
        "pgentra.getClientConfigOutput().apply(c => c.tenant);",
        "Property 'tenant' does not exist on type 'GetClientConfigResult'",
    ),
    "a value outside an enum's closed set": (
        'const mode: pgentra.types.enums.SslMode = "require";',
        "TS2322: Type '\"require\"' is not assignable to type '\"verify-full\"'",
    ),
    "an enum member that does not exist": (
        "const view = pgentra.types.enums.ObjectType.View;",
        "Property 'View' does not exist on type",
    ),
}


def program_file(mistake: str) -> str:
    return f"wrong{sorted(WRONG_PROGRAMS).index(mistake)}.ts"


@pytest.fixture(scope="module")
def checked_programs(tmp_path_factory):
    """The correct program and every wrong one, each its own module, checked by one tsc run in a
    project beside nothing: it finds @pulumi/pulumi and @types/node in sdk/nodejs/node_modules
    and imports the SDK's sources by path. Returns tsc's errors by file."""
    require_node_toolchain()
    directory = tmp_path_factory.mktemp("programs")
    sources = {"correct.ts": CORRECT_PROGRAM}
    for mistake, (line, _) in WRONG_PROGRAMS.items():
        sources[program_file(mistake)] = (
            f'import * as pulumi from "@pulumi/pulumi";\nimport * as pgentra from "SDK";\n\n{line}\nexport {{}};\n'
        )
    for name, text in sources.items():
        (directory / name).write_text(text.replace("SDK", NODE_SDK.as_posix()))
    for name, text in schema_typescript_examples().items():
        (directory / name).write_text(text.replace('"@pgentra/pulumi"', f'"{NODE_SDK.as_posix()}"'))
        sources[name] = text
    (directory / "tsconfig.json").write_text(
        json.dumps(
            {
                "compilerOptions": {
                    "strict": True,
                    "noEmit": True,
                    "target": "es2020",
                    "module": "commonjs",
                    "moduleResolution": "node",
                    "baseUrl": ".",
                    "paths": {"@pulumi/pulumi": [f"{NODE_MODULES.as_posix()}/@pulumi/pulumi"]},
                    "typeRoots": [f"{NODE_MODULES.as_posix()}/@types"],
                },
                "files": sorted(sources),
            }
        )
    )
    result = tsc(["-p", "."], cwd=directory)
    errors: dict[str, list[tuple[str, str]]] = {}
    for file, line, message in re.findall(
        r"^([\w.]+)\((\d+),\d+\): error (.*)$", result.stdout, re.MULTILINE
    ):
        errors.setdefault(file, []).append((line, message))
    return result, errors


def schema_typescript_examples() -> dict[str, str]:
    """The ```typescript blocks of every resource's and function's description, one file each."""
    files = {}
    for section in ("resources", "functions"):
        for token, body in sorted(SCHEMA[section].items()):
            for number, block in enumerate(re.findall(r"```typescript\n(.*?)```", body["description"], re.DOTALL)):
                files[f"example_{token.split(':')[2]}_{number}.ts"] = f"// {token}\n{block}"
    return files


def test_the_typescript_examples_in_the_schema_type_check(checked_programs):
    result, errors = checked_programs
    examples = set(schema_typescript_examples())
    assert len(examples) >= len(SCHEMA["resources"]) + len(SCHEMA["functions"])
    assert not examples & set(errors), result.stdout


def test_a_correct_program_type_checks(checked_programs):
    result, errors = checked_programs
    assert "correct.ts" not in errors, result.stdout
    assert set(errors) <= {program_file(m) for m in WRONG_PROGRAMS} | set(schema_typescript_examples()), result.stdout + result.stderr


@pytest.mark.parametrize("mistake", sorted(WRONG_PROGRAMS))
def test_a_wrong_program_fails_tsc(checked_programs, mistake):
    result, errors = checked_programs
    _, expected = WRONG_PROGRAMS[mistake]
    found = errors.get(program_file(mistake), [])
    assert found, f"tsc accepted {mistake}:\n{result.stdout}"
    assert all(line == "4" for line, _ in found), found
    assert any(expected in message for _, message in found), found


@pytest.mark.parametrize("name", resource_names())
def test_args_interfaces_have_the_schemas_inputs(name):
    """Every input property is in <Name>Args (optional exactly when the schema says so) and every
    property is an Output on the class and in <Name>State."""
    schema = resource(name)
    module = re.sub(r"^[A-Z]", lambda m: m.group(0).lower(), name)
    source = (NODE_SDK / f"{module}.ts").read_text()
    args = re.search(rf"export interface {name}Args {{(.*?)\n}}", source, re.DOTALL).group(1)
    members = dict(re.findall(r"^    (\w+)(\??): ", args, re.MULTILINE))
    assert set(members) == set(schema["inputProperties"])
    for wire, optional in members.items():
        assert (optional == "") == (wire in schema["requiredInputs"]), wire
    if schema.get("isComponent"):
        # Built by the provider through Construct: no ID, no get, no State.
        assert "extends pulumi.ComponentResource" in source and "true /*remote*/" in source
        assert f"interface {name}State" not in source
    else:
        state = re.search(rf"export interface {name}State {{(.*?)\n}}", source, re.DOTALL).group(1)
        assert set(re.findall(r"^    (\w+)\?: ", state, re.MULTILINE)) == set(schema["properties"])
    outputs = set(re.findall(r"declare public readonly (\w+): pulumi\.Output<", source))
    assert outputs == set(schema["properties"])
    assert f'__pulumiType = "pgentra:index:{name}"' in source


def test_package_json_names_the_schema_package_and_version():
    package = json.loads((NODE_SDK / "package.json").read_text())
    assert package["name"] == SCHEMA["language"]["nodejs"]["packageName"] == "@pgentra/pulumi"
    assert package["version"] == SCHEMA["version"]
    assert package["pulumi"] == {"resource": True, "name": "pgentra", "version": SCHEMA["version"],
                                 "server": SCHEMA["pluginDownloadURL"]}
    lock = json.loads((NODE_SDK / "package-lock.json").read_text())
    assert lock["packages"][""]["version"] == SCHEMA["version"], "package-lock.json is stale: run `npm install` in sdk/nodejs"


MOCK_PROGRAM = r"""
const pulumi = require("@pulumi/pulumi");
const sent = [];
pulumi.runtime.setMocks({
    newResource(args) {
        sent.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state = { ...args.inputs };
        if (args.type === "pgentra:index:FlexibleServer") {
            state.fullyQualifiedDomainName = "pg1.postgres.database.azure.com";
            state.state = "Ready";
        }
        return { id: args.name + "-id", state };
    },
    call(args) {
        sent.push({ call: args.token, args: args.inputs });
        return { token: "eyJ.token", expiresOn: "2030-01-01T00:00:00Z" };
    },
}, "project", "stack", false);

const pgentra = require(process.argv[2]);
const value = (output) => new Promise((resolve) => output.apply(resolve));

(async () => {
    const server = new pgentra.FlexibleServer("pg1", { resourceGroupName: "rg", location: "eastus",
        version: "16", skuName: "Standard_B1ms", administratorLoginPassword: "Passw0rd!x" });
    const grant = new pgentra.Grant("g", { connection: { host: server.fullyQualifiedDomainName,
        username: "admins" }, role: "app", database: "appdb", objectType: "table", privileges: ["SELECT"] });
    const explicit = new pgentra.Provider("explicit", { useMsi: true, clientSecret: "clientS3cret" });
    const token = pgentra.getAccessTokenOutput();
    const connection = await value(grant.connection);
    // A resource reference as the engine sends one: the registered module rebuilds the class.
    const rebuilt = (urn) => pulumi.runtime.deserializeProperty({
        "4dabf18193072939515e22adb298388d": "5cf8f73096256a8f31e491e813e4eb8e", urn, packageVersion: "",
    }).constructor.name;
    const report = {
        references: [rebuilt(await value(server.urn)), rebuilt(await value(explicit.urn))],
        fqdn: await value(server.fullyQualifiedDomainName),
        connection,
        passwordSecret: await server.administratorLoginPassword.isSecret,
        tokenSecret: await token.isSecret,
        token: (await value(token)).token,
        config: {
            subscriptionId: pgentra.config.subscriptionId,
            tenantId: pgentra.config.tenantId,
            environment: pgentra.config.environment,
            useMsi: pgentra.config.useMsi,
            clientSecretIsSecret: await pgentra.config.clientSecret.isSecret,
        },
    };
    await new Promise((resolve) => setTimeout(resolve, 100));
    console.log(JSON.stringify({ sent, ...report }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.fixture(scope="module")
def mocked_run(sdk_build):
    out, built = sdk_build
    assert built.returncode == 0, built.stdout + built.stderr
    script = out / "mock-program.js"
    script.write_text(MOCK_PROGRAM)
    # The compiled SDK lives outside sdk/nodejs: NODE_PATH lets it find the pinned @pulumi/pulumi.
    env = mocks_environment(NODE_PATH=str(NODE_MODULES))
    result = run(["node", str(script), str(out / "index.js")], env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def registered(run_report, type_token):
    return next(r for r in run_report["sent"] if r.get("type") == type_token)


def test_under_mocks_resources_are_sent_with_wire_names_and_defaults(mocked_run):
    inputs = registered(mocked_run, "pgentra:index:FlexibleServer")["inputs"]
    assert set(inputs) <= set(resource("FlexibleServer")["inputProperties"])
    assert inputs["resourceGroupName"] == "rg" and inputs["skuName"] == "Standard_B1ms"
    assert inputs["passwordAuth"] == "Disabled" and inputs["activeDirectoryAuth"] == "Enabled"
    assert inputs["storageSizeGb"] == 32
    grant = registered(mocked_run, "pgentra:index:Grant")["inputs"]
    assert grant["connection"] == {
        "host": "pg1.postgres.database.azure.com", "username": "admins",
        "port": 5432, "database": "postgres", "sslMode": "verify-full",
    }
    assert grant["withGrantOption"] is False
    assert mocked_run["connection"]["host"] == "pg1.postgres.database.azure.com"


def test_under_mocks_schema_secrets_stay_secret(mocked_run):
    assert mocked_run["passwordSecret"] is True
    assert mocked_run["tokenSecret"] is True and mocked_run["token"] == "eyJ.token"
    provider = registered(mocked_run, "pulumi:providers:pgentra")["inputs"]
    assert provider["useMsi"] == "true"
    assert provider["clientSecret"] != "clientS3cret"
    assert "clientS3cret" in json.dumps(provider["clientSecret"])
    calls = [r["call"] for r in mocked_run["sent"] if "call" in r]
    assert calls == ["pgentra:index:getAccessToken"]


def test_config_reads_stack_config_then_the_environment_then_the_default(mocked_run):
    assert mocked_run["config"] == {
        "subscriptionId": "sub-from-stack",  # stack config wins over ARM_SUBSCRIPTION_ID
        "tenantId": "tenant-from-env",
        "environment": "public",  # the schema's default
        "useMsi": True,
        "clientSecretIsSecret": True,
    }


def test_resource_references_are_rebuilt_as_the_sdks_classes(mocked_run):
    assert mocked_run["references"] == ["FlexibleServer", "Provider"]
