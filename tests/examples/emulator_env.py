"""The environment `pgentra emulator`'s `export` lines make, for the scripts the tests run."""

from __future__ import annotations

import importlib.util
import os

from schema_names import EXAMPLES

_spec = importlib.util.spec_from_file_location("emulator_prepare", EXAMPLES / "emulator_prepare.py")
emulator_prepare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(emulator_prepare)

# provider config key -> environment variable, as the emulator prints them
PROVIDER_ENV: dict[str, str] = emulator_prepare.ENVIRONMENT


def clean_env() -> dict:
    """This process's environment without anything that would point a script elsewhere."""
    return {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV.values()}


def emulator_env(info: dict) -> dict:
    """clean_env() plus the emulator's `export` lines, from its `--json` description."""
    return {**clean_env(), **{var: info["providerConfig"][key] for key, var in PROVIDER_ENV.items()}}
