"""The attack suite reuses the conformance harness (tests/conformance: the fake engine, the
provider processes, `pgentra emulator`) by import, and runs every provider with PGENTRA_LOG=trace
so that a test can assert that not even the most verbose log holds a token."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

CONFORMANCE = Path(__file__).resolve().parent.parent / "conformance"
if str(CONFORMANCE) not in sys.path:
    sys.path.insert(0, str(CONFORMANCE))

_spec = importlib.util.spec_from_file_location("conformance_conftest", CONFORMANCE / "conftest.py")
_conformance = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conformance)

# The harness's fixtures, found by pytest under these names.
engine = _conformance.engine
spawn = _conformance.spawn


@pytest.fixture(autouse=True)
def trace_logs(monkeypatch):
    """Providers started by a test log at trace level (to their stderr)."""
    monkeypatch.setenv("PGENTRA_LOG", "trace")
