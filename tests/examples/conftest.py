"""Fixtures of the example tests: a real `pgentra emulator` (the binary scripts/test builds)."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from schema_names import REPO

PGENTRA = REPO / "target" / "debug" / "pgentra"


@pytest.fixture(scope="module")
def emulator():
    """`pgentra emulator --json` in a process of its own; its JSON line (provider config, endpoints)."""
    if not PGENTRA.exists():
        pytest.fail(f"{PGENTRA.relative_to(REPO)} is missing: run scripts/test (or `cargo build --bins`) first",
                    pytrace=False)
    # --any-version: the examples ask for PostgreSQL 16 whatever the backend is.
    proc = subprocess.Popen([str(PGENTRA), "emulator", "--json", "--lro-ms", "50", "--any-version"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"pgentra emulator printed nothing: {proc.stderr.read()}", pytrace=False)
        yield json.loads(line)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
