"""The examples' stack config, which their READMEs document once for all three: every example reads
the same keys with the same defaults, and `examples/emulator_prepare.py`, run against a real
`pgentra emulator`, prepares the emulated tenant and prints a value for every key a user must set."""

from __future__ import annotations

import ast
import json
import re
import shlex
import ssl
import subprocess
import sys
import urllib.request

import yaml

from emulator_env import clean_env, emulator_env
from schema_names import EXAMPLES

PREPARE = EXAMPLES / "emulator_prepare.py"


def yaml_config() -> dict[str, str | None]:
    """key -> default (None: required) of the YAML example."""
    doc = yaml.safe_load((EXAMPLES / "yaml" / "Pulumi.yaml").read_text())
    return {key: spec.get("default") for key, spec in doc["config"].items()}


def python_config() -> dict[str, str | None]:
    """`config.require("k")` and `config.get("k") or "default"` of the Python example."""
    tree = ast.parse((EXAMPLES / "python" / "__main__.py").read_text())
    found: dict[str, str | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2:
            call, default = node.values
            if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "get" \
                    and isinstance(default, ast.Constant):
                found[call.args[0].value] = default.value
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "require" \
                and getattr(node.func.value, "id", "") == "config":
            found[node.args[0].value] = None
    return found


def typescript_config() -> dict[str, str | None]:
    """`config.require("k")` and `config.get("k") ?? "default"` of the TypeScript example."""
    text = (EXAMPLES / "typescript" / "index.ts").read_text()
    found: dict[str, str | None] = {k: d for k, d in re.findall(r'config\.get\("(\w+)"\) \?\? "([^"]*)"', text)}
    found.update({k: None for k in re.findall(r'config\.require\("(\w+)"\)', text)})
    assert len(re.findall(r"config\.(?:get|require)\w*\(", text)) == len(found), "a config read the test cannot parse"
    return found


def test_all_three_examples_read_the_same_config_with_the_same_defaults():
    expected = yaml_config()
    assert {k for k, d in expected.items() if d is None} == {
        "serverName", "adminGroupObjectId", "developerUpn", "oidcIssuerUrl", "deployerIp"}
    assert python_config() == expected
    assert typescript_config() == expected


def test_the_readmes_document_every_config_key():
    readme = (EXAMPLES / "README.md").read_text()
    for key in yaml_config():
        assert f"`{key}`" in readme, f"examples/README.md does not document the config key {key!r}"


# ---------------------------------------------------------------------------------------------
# emulator_prepare.py against a real `pgentra emulator`


def prepare(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PREPARE), *args], env=env, capture_output=True, text=True,
                          timeout=60)


def config_lines(stdout: str) -> dict[str, str]:
    settings = {}
    for line in stdout.splitlines():
        words = shlex.split(line)
        assert words[:3] == ["pulumi", "config", "set"] and len(words) == 5, f"not a config line: {line!r}"
        settings[words[3]] = words[4]
    return settings


def state(info: dict) -> dict:
    tls = ssl.create_default_context(cafile=info["caCertFile"])
    with urllib.request.urlopen(f"{info['adminApi']}/state", context=tls, timeout=10) as resp:
        return json.load(resp)


def test_prepare_makes_the_tenant_the_example_needs_and_prints_every_required_key(emulator):
    done = prepare(emulator_env(emulator), "--oidc-issuer", emulator["oidcIssuer"])
    assert done.returncode == 0, done.stderr
    settings = config_lines(done.stdout)
    declared = yaml_config()
    assert set(settings) <= set(declared), f"keys the examples do not read: {set(settings) - set(declared)}"
    assert {k for k, d in declared.items() if d is None} <= set(settings)
    assert settings["oidcIssuerUrl"] == emulator["oidcIssuer"] and settings["deployerIp"] == "127.0.0.1"
    assert "clientSecret" not in done.stdout + done.stderr and emulator["clientSecret"] not in done.stdout + done.stderr

    now = state(emulator)
    assert settings["resourceGroupName"] in [g["name"] for g in now["resourceGroups"]]
    directory = now["directory"]
    deployer = next(sp["objectId"] for sp in directory["servicePrincipals"] if sp["appId"] == emulator["clientId"])
    admins = next(g for g in directory["groups"] if g["displayName"] == settings["adminGroupName"])
    assert admins["objectId"] == settings["adminGroupObjectId"]
    assert deployer in admins["members"], "the deployer is not a member of the admin group it signs in as"
    assert settings["readwriteGroupName"] in [g["displayName"] for g in directory["groups"]]
    assert settings["developerUpn"] in [u["userPrincipalName"] for u in directory["users"]]

    # Again: the same answer, and no second group of the same name (roles are created by name).
    again = prepare(emulator_env(emulator), "--oidc-issuer", emulator["oidcIssuer"])
    assert again.returncode == 0, again.stderr
    assert config_lines(again.stdout) == settings
    names = [g["displayName"] for g in state(emulator)["directory"]["groups"]]
    assert len(names) == len(set(names)), names


def test_prepare_without_the_emulator_environment_says_what_to_paste():
    done = prepare(clean_env(), "--oidc-issuer", "https://127.0.0.1:1")
    assert done.returncode == 1 and done.stdout == ""
    assert "PGENTRA_ARM_ENDPOINT" in done.stderr and "export` lines `pgentra emulator` prints" in done.stderr


def test_prepare_refuses_an_endpoint_that_is_not_a_local_emulator(emulator):
    env = {**emulator_env(emulator), "PGENTRA_ARM_ENDPOINT": "https://management.azure.com"}
    done = prepare(env, "--oidc-issuer", emulator["oidcIssuer"])
    assert done.returncode == 1 and done.stdout == ""
    assert "not a local emulator" in done.stderr
