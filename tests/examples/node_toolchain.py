"""The pinned node toolchain the tests use: the SDK's (sdk/nodejs/package-lock.json: typescript,
@pulumi/pulumi, @types/node), installed by `npm ci` in sdk/nodejs (scripts/test runs it). The
examples' tests reuse it rather than pin a second copy, so the TypeScript example is compiled and
run against the very @pulumi/pulumi the SDK is built with."""

from __future__ import annotations

import json

import pytest

from schema_names import REPO

SDK = REPO / "sdk" / "nodejs"


def node_modules():
    """sdk/nodejs/node_modules, checked to hold what the lock file pins; fails saying how to install."""
    folder = SDK / "node_modules"
    lock = json.loads((SDK / "package-lock.json").read_text())["packages"]
    for name in ("typescript", "@pulumi/pulumi", "@types/node"):
        want = lock[f"node_modules/{name}"]["version"]
        manifest = folder / name / "package.json"
        have = json.loads(manifest.read_text())["version"] if manifest.is_file() else None
        if have != want:
            pytest.fail(f"{name} {want} (sdk/nodejs/package-lock.json) is not installed in {folder} "
                        f"(found {have}): run `npm ci` in sdk/nodejs (scripts/test does)", pytrace=False)
    return folder
