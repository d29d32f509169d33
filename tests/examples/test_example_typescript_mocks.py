"""The TypeScript example type-checks and compiles with tsc against the SDK in sdk/nodejs (the
example's own tsconfig.json: strict), then runs under @pulumi/pulumi's test mocks
(`pulumi.runtime.setMocks`, via ts_mocks_runner.js) and registers the seed's whole stack wired as
the seed needs it (seed_stack.py). A doctored copy fails: one that tsc rejects, one the check does."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

import seed_stack
from node_toolchain import SDK, node_modules
from schema_names import EXAMPLES, REPO

RUNNER = REPO / "tests" / "examples" / "ts_mocks_runner.js"
PROJECT = "pgentra-example-typescript"  # examples/typescript/Pulumi.yaml's name: the config namespace


def compile_example(index_ts, out) -> str:
    """Compiles index_ts (with the SDK's sources it imports) into `out` with tsc and the example's
    tsconfig.json; returns the compiled program's path, runnable with NODE_PATH=node_path(out)."""
    modules = node_modules()
    tsconfig = out / "tsconfig.json"
    tsconfig.write_text(json.dumps({
        "extends": str(EXAMPLES / "typescript" / "tsconfig.json"),
        "compilerOptions": {
            # rootDir "/": the output mirrors absolute paths (the example may be a doctored copy).
            "outDir": str(out / "js"), "rootDir": "/", "baseUrl": str(REPO), "skipLibCheck": True,
            # The SDK from its sources, @pulumi/pulumi and the node types from the SDK's toolchain.
            "paths": {"@pgentra/pulumi": ["sdk/nodejs/index.ts"],
                      "@pulumi/pulumi": [str((modules / "@pulumi" / "pulumi").relative_to(REPO))]},
            "typeRoots": [str(modules / "@types")], "types": ["node"],
            # The SDK reads its version from its package.json (utilities.ts imports it).
            "resolveJsonModule": True,
        },
        "files": [str(index_ts)],
    }))
    tsc = subprocess.run(["node", str(modules / "typescript" / "bin" / "tsc"), "-p", str(tsconfig), "--pretty", "false"],
                         capture_output=True, text=True, timeout=300)
    if tsc.returncode != 0:
        raise AssertionError(f"tsc rejected the example:\n{tsc.stdout}{tsc.stderr}")
    # `require("@pgentra/pulumi")` finds the compiled SDK through out/node_modules.
    package = out / "node_modules" / "@pgentra" / "pulumi"
    package.mkdir(parents=True)
    compiled_sdk = out / "js" / SDK.relative_to("/")
    (package / "index.js").write_text(f"module.exports = require({json.dumps(str(compiled_sdk))});\n")
    return str(out / "js" / index_ts.relative_to("/").with_suffix(".js"))


def run_under_mocks(program_js: str, out) -> dict:
    env = {**os.environ, "NODE_PATH": os.pathsep.join([str(out / "node_modules"), str(node_modules())])}
    done = subprocess.run(["node", str(RUNNER), program_js, PROJECT, json.dumps(seed_stack.CONFIG),
                           seed_stack.mocks_json()], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"the program failed under mocks:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)


def test_the_typescript_example_compiles_and_registers_the_seed_stack(tmp_path):
    program = compile_example(EXAMPLES / "typescript" / "index.ts", tmp_path)
    ran = run_under_mocks(program, tmp_path)
    seed_stack.assert_seed_stack(ran["resources"], ran["calls"], ran["outputs"])


def test_the_project_name_is_the_config_namespace_the_test_uses():
    assert f"name: {PROJECT}\n" in (EXAMPLES / "typescript" / "Pulumi.yaml").read_text()


def test_the_example_pins_the_toolchain_the_sdk_is_built_with():
    example = json.loads((EXAMPLES / "typescript" / "package.json").read_text())
    sdk_lock = json.loads((SDK / "package-lock.json").read_text())["packages"]
    pinned = {**example["dependencies"], **example["devDependencies"]}
    assert pinned.pop("@pgentra/pulumi") == "file:../../sdk/nodejs"
    for name, version in pinned.items():
        assert version == sdk_lock[f"node_modules/{name}"]["version"], f"{name} {version} is not the SDK's"


def doctored(tmp_path, old: str, new: str):
    text = (EXAMPLES / "typescript" / "index.ts").read_text()
    assert old in text, f"the control's anchor {old!r} is gone from the TypeScript example: update the control"
    source = tmp_path / "src"
    source.mkdir()
    (source / "index.ts").write_text(text.replace(old, new, 1))
    return source / "index.ts"


def test_a_doctored_typescript_example_with_a_wrong_property_is_rejected_by_tsc(tmp_path):
    source = doctored(tmp_path, 'passwordAuth: "Disabled"', 'passwordAuthentication: "Disabled"')
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(AssertionError, match="passwordAuthentication"):
        compile_example(source, out)


def test_a_doctored_typescript_example_that_skips_the_firewall_fails_the_check(tmp_path):
    source = doctored(tmp_path, "}, afterFirewall);\nconst readwritePrincipal", "});\nconst readwritePrincipal")
    out = tmp_path / "out"
    out.mkdir()
    ran = run_under_mocks(compile_example(source, out), out)
    with pytest.raises(AssertionError, match="firewall"):
        seed_stack.assert_seed_stack(ran["resources"], ran["calls"], ran["outputs"])
