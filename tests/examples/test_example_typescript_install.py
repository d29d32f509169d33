"""The TypeScript example installed as its README says (build the SDK in sdk/nodejs, then `npm ci`
in examples/typescript) loads ONE @pulumi/pulumi: the SDK's `require("@pulumi/pulumi")` and the
program's find the same copy. Two copies split the Pulumi runtime's module-global state (the
program's stack and the SDK's resources would talk to different runtimes). The SDK would bring its
own copy if it were linked (npm's default for `file:` folders) rather than installed as a package:
sdk/nodejs/node_modules has one, to build with.

The steps run on copies of sdk/nodejs and examples/typescript (the repository's tree is left as
it is), with the SDK's installed toolchain (scripts/test's `npm ci` in sdk/nodejs) and npm offline:
the example's lock file pins the same packages as the SDK's, so npm's cache has them all.
"""

from __future__ import annotations

import json
import shutil
import subprocess

from node_toolchain import SDK, node_modules
from schema_names import EXAMPLES

EXAMPLE = EXAMPLES / "typescript"


def npm(args: list[str], cwd, timeout: int = 600) -> str:
    done = subprocess.run(["npm", *args, "--no-audit", "--no-fund"], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"`npm {' '.join(args)}` in {cwd} failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    return done.stdout


def test_the_example_locks_the_packages_the_sdk_installs():
    """What makes the offline install below possible: nothing beyond the SDK's own packages."""
    sdk = {k: v["version"] for k, v in json.loads((SDK / "package-lock.json").read_text())["packages"].items()
           if k.startswith("node_modules/")}
    example = {k: v.get("version") for k, v in json.loads((EXAMPLE / "package-lock.json").read_text())["packages"].items()
               if k.startswith("node_modules/") and k != "node_modules/@pgentra/pulumi"}
    assert example == sdk


def test_the_example_installed_as_its_readme_says_resolves_one_pulumi(tmp_path):
    modules = node_modules()
    sdk = tmp_path / "sdk" / "nodejs"
    shutil.copytree(SDK, sdk, ignore=shutil.ignore_patterns("node_modules", "bin"))
    (sdk / "node_modules").symlink_to(modules, target_is_directory=True)  # what `npm ci` there installs
    example = tmp_path / "examples" / "typescript"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("node_modules"))

    npm(["run", "build"], cwd=sdk)
    npm(["ci", "--offline"], cwd=example)

    copies = npm(["ls", "@pulumi/pulumi", "--all", "--parseable"], cwd=example).split()
    assert copies == [str(example / "node_modules" / "@pulumi" / "pulumi")], copies
    resolved = subprocess.run(
        ["node", "-e", """
            const path = require("path");
            const sdk = path.dirname(require.resolve("@pgentra/pulumi"));
            console.log(JSON.stringify([require.resolve("@pulumi/pulumi"),
                                        require.resolve("@pulumi/pulumi", { paths: [sdk] })]));
        """], cwd=example, capture_output=True, text=True, timeout=60)
    assert resolved.returncode == 0, resolved.stderr
    program, from_sdk = json.loads(resolved.stdout)
    assert program == from_sdk, f"the SDK loads {from_sdk}, the program {program}"
