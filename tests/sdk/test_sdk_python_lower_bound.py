"""The `pulumi` lower bound that sdk/python/pyproject.toml declares is one the SDK works with: that
exact release, installed from PyPI into a throwaway venv, imports the SDK and runs a program under
its mocks (objects as dicts, enum members, get() with state). The venv is kept under
target/sdk-pulumi-lower-bound/<version>, so only a changed bound installs again."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from sdk_support import PYTHON_SDK, REPO_ROOT, mocks_environment, run

PROGRAM = r"""
import json
import pulumi

sent = []

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        sent.append({"name": args.name, "id": args.resource_id, "inputs": args.inputs})
        return [args.name + "-id", dict(args.inputs)]

    def call(self, args):
        return {}

pulumi.runtime.set_mocks(Mocks(), preview=False)
import pulumi_pgentra as pgentra

@pulumi.runtime.test
def program():
    grant = pgentra.Grant("grant", connection={"host": "pg.example.com", "username": "admins",
                  "ssl_mode": pgentra.SslMode.VERIFY_FULL}, role="app", database="appdb",
                  object_type=pgentra.ObjectType.TABLE, schema="public", privileges=["SELECT"])
    found = pgentra.Principal.get("found", "principal-id", name="id-app")
    import importlib.metadata
    version = importlib.metadata.version("pulumi")
    # Printed once both are registered: the mocks see each registration on its own schedule.
    both = pulumi.Output.all(grant.urn, found.urn)
    return both.apply(lambda _: print(json.dumps({"version": version, "sent": sent})))

program()
"""


def declared_lower_bound() -> str:
    pyproject = (PYTHON_SDK / "pyproject.toml").read_text()
    match = re.search(r'"pulumi>=([0-9.]+)', pyproject)
    assert match, f"no `pulumi>=` requirement in {PYTHON_SDK / 'pyproject.toml'}"
    return match.group(1)


def venv_with_pulumi(version: str):
    """A venv holding exactly pulumi==version (and its dependencies), made once per version."""
    venv = REPO_ROOT / "target" / "sdk-pulumi-lower-bound" / version
    python = venv / "bin" / "python"
    check = [str(python), "-c", f"import importlib.metadata as m; assert m.version('pulumi') == {version!r}"]
    if python.exists() and run(check).returncode == 0:
        return python
    made = run([sys.executable, "-m", "venv", "--clear", str(venv)])
    assert made.returncode == 0, made.stdout + made.stderr
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"pulumi=={version}"]
    installed = run(install, timeout=900)
    if installed.returncode != 0:
        pytest.fail(
            f"installing the declared lower bound pulumi=={version} from PyPI failed (is PyPI reachable?); "
            f"the command was: {' '.join(install)}\n{installed.stderr[-2000:]}",
            pytrace=False,
        )
    assert run(check).returncode == 0
    return python


def test_the_declared_pulumi_lower_bound_imports_and_runs_the_sdk():
    version = declared_lower_bound()
    python = venv_with_pulumi(version)
    env = mocks_environment(PYTHONPATH=str(PYTHON_SDK))
    result = run([str(python), "-c", PROGRAM], env=env, timeout=120)
    assert result.returncode == 0, f"pulumi=={version} cannot run the SDK:\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["version"] == version
    by_name = {r["name"]: r for r in report["sent"]}
    assert by_name["grant"]["inputs"]["connection"] == {
        "host": "pg.example.com", "username": "admins", "sslMode": "verify-full",
    }
    assert by_name["grant"]["inputs"]["objectType"] == "table"
    assert by_name["found"]["id"] == "principal-id"
    assert by_name["found"]["inputs"] == {"name": "id-app"}
