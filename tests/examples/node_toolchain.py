"""Where the pinned node toolchain (typescript, @pulumi/pulumi) is installed for the tests."""

from __future__ import annotations

import os
from pathlib import Path

from schema_names import REPO


def node_modules() -> Path:
    """The node_modules folder holding typescript; fails saying how to install it."""
    candidates = [Path(os.environ["PGENTRA_NODE_MODULES"])] if os.environ.get("PGENTRA_NODE_MODULES") else []
    candidates.append(REPO / "node_modules")
    for folder in candidates:
        if (folder / "typescript" / "package.json").is_file():
            return folder
    import pytest

    pytest.fail("the node toolchain is not installed: run `npm ci` at the repo root (scripts/test does)",
                pytrace=False)
