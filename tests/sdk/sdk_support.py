"""Paths and runners shared by the SDK tests: the committed SDKs, the schema they come from, and
the pinned toolchains (mypy in .venv, tsc in sdk/nodejs/node_modules)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO_ROOT / "schema.json").read_text())
PYTHON_SDK = REPO_ROOT / "sdk" / "python"
NODE_SDK = REPO_ROOT / "sdk" / "nodejs"
NODE_MODULES = NODE_SDK / "node_modules"
TSC = NODE_MODULES / "typescript" / "bin" / "tsc"


def snake_case(name: str) -> str:
    """The Python SDK's naming: `storageSizeGb` is `storage_size_gb`."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])", r"_\1\2", name).lower()


def resource(name: str) -> dict:
    return SCHEMA["resources"][f"pgentra:index:{name}"]


def resource_names() -> list[str]:
    return sorted(token.split(":")[2] for token in SCHEMA["resources"])


# Stack config as the engine hands it to a program, and environment fallbacks for the others.
CONFIG_ENVIRONMENT = {
    "PULUMI_CONFIG": json.dumps({"pgentra:subscriptionId": "sub-from-stack", "pgentra:useMsi": "true"}),
    "ARM_SUBSCRIPTION_ID": "sub-from-env",
    "AZURE_TENANT_ID": "tenant-from-env",
    "AZURE_CLIENT_SECRET": "secret-from-env",
}


def mocks_environment(**extra: str) -> dict:
    """The environment of a program run under mocks: this machine's, without its Azure settings,
    plus CONFIG_ENVIRONMENT."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "ARM_"))}
    env.update(CONFIG_ENVIRONMENT, **extra)
    return env


def run(args: list[str], cwd: Path = REPO_ROOT, env: dict | None = None, timeout: int = 300):
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def mypy(args: list[str], cache: Path, extra_env: dict | None = None):
    """`mypy --strict` from the test venv, with the SDK's own configuration."""
    env = dict(os.environ)
    env.update(extra_env or {})
    return run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(PYTHON_SDK / "pyproject.toml"),
            "--cache-dir",
            str(cache),
            "--no-color-output",
            "--show-error-codes",
            *args,
        ],
        env=env,
    )


def require_node_toolchain() -> None:
    """The pinned tsc and @pulumi/pulumi are installed by scripts/test (`npm ci` in sdk/nodejs)."""
    missing = [p for p in (TSC, NODE_MODULES / "@pulumi" / "pulumi") if not p.exists()]
    if missing:
        pytest.fail(
            f"{missing[0].relative_to(REPO_ROOT)} is missing: run `scripts/test`, or "
            "`cd sdk/nodejs && npm ci` (node and npm come with `apt-get install -y nodejs npm`)",
            pytrace=False,
        )
