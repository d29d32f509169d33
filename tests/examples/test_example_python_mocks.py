"""The Python example runs under Pulumi's test mocks (`pulumi.runtime.set_mocks`, pulumi from
tests/requirements.txt) with the SDK committed in sdk/python, and registers the seed's whole stack
wired as the seed needs it (seed_stack.py says what that is). A doctored copy fails the check."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import seed_stack
from schema_names import EXAMPLES, REPO

RUNNER = REPO / "tests" / "examples" / "py_mocks_runner.py"
PROJECT = "pgentra-example-python"  # examples/python/Pulumi.yaml's name: the config keys' namespace
SDK = REPO / "sdk" / "python"


def run_under_mocks(program_dir) -> dict:
    if not (SDK / "pulumi_pgentra" / "__init__.py").is_file():
        pytest.fail(f"the Python SDK is missing from {SDK}: run `cargo run --bin pgentra -- gen-sdk python`",
                    pytrace=False)
    env = {**os.environ, "PYTHONPATH": str(SDK)}
    done = subprocess.run([sys.executable, str(RUNNER), str(program_dir), PROJECT, json.dumps(seed_stack.CONFIG)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"the program failed under mocks:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)


def test_the_python_example_registers_the_seed_stack():
    ran = run_under_mocks(EXAMPLES / "python")
    seed_stack.assert_seed_stack(ran["resources"], ran["calls"], ran["outputs"])


def test_the_project_name_is_the_config_namespace_the_test_uses():
    assert f"name: {PROJECT}\n" in (EXAMPLES / "python" / "Pulumi.yaml").read_text()


DOCTORED = [
    ('password_auth="Disabled"', 'password_auth="Enabled"', "passwordAuth"),
    ("    opts=after_firewall,\n)\nreadwrite_principal", "\n)\nreadwrite_principal", "firewall"),
]


@pytest.mark.parametrize("old,new,says", DOCTORED, ids=[d[2] for d in DOCTORED])
def test_a_doctored_python_example_fails_the_check(tmp_path, old, new, says):
    text = (EXAMPLES / "python" / "__main__.py").read_text()
    assert old in text, f"the control's anchor {old!r} is gone from the Python example: update the control"
    (tmp_path / "__main__.py").write_text(text.replace(old, new, 1))
    ran = run_under_mocks(tmp_path)
    with pytest.raises(AssertionError, match=says):
        seed_stack.assert_seed_stack(ran["resources"], ran["calls"], ran["outputs"])


def mypy(program, tmp_path) -> subprocess.CompletedProcess:
    """mypy --strict over the program against the SDK, with the SDK's own mypy settings."""
    env = {**os.environ, "MYPYPATH": str(SDK)}
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--config-file", str(SDK / "pyproject.toml"),
                           "--cache-dir", str(tmp_path / "mypy-cache"), str(program)],
                          env=env, capture_output=True, text=True, timeout=300)


def test_the_python_example_type_checks_against_the_sdk(tmp_path):
    done = mypy(EXAMPLES / "python" / "__main__.py", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_doctored_python_example_with_a_wrong_argument_fails_the_type_check(tmp_path):
    text = (EXAMPLES / "python" / "__main__.py").read_text()
    (tmp_path / "__main__.py").write_text(text.replace("password_auth=", "password_authentication=", 1))
    done = mypy(tmp_path / "__main__.py", tmp_path)
    assert done.returncode == 1 and 'Unexpected keyword argument "password_authentication"' in done.stdout, \
        done.stdout + done.stderr
