"""scripts/release builds every artifact of one version, stamped from one place, and each installs
the way its own tool installs it:

- the plugin tarball unpacked into a PULUMI_HOME plugins folder (what `pulumi plugin install
  resource pgentra VERSION --file ...` does), the plugin started from there and asked over gRPC,
  as the engine asks it;
- the Terraform zip installed by the real Terraform 1.0.3 (`terraform init`) from the release's
  filesystem mirror, its lock file hash checked against the zip and SHA256SUMS;
- the wheel installed into a throw-away venv; the npm tarball's package.json and compiled SDK.

The release is built with the dev profile (the packaging is the same; a release-profile build of
the whole workspace would double the test command's build time) and a version that is not the
workspace's, so every artifact shows the stamp rather than Cargo.toml's version.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.protobuf import empty_pb2

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "conformance"))  # the engine harness
sys.path.insert(0, str(REPO / "tests" / "terraform"))  # the real Terraform 1.0.3
from harness import RPC_TIMEOUT, FakeEngine, ProviderProcess  # noqa: E402
from pulumi.runtime.proto import provider_pb2  # noqa: E402
from tf_support import terraform_binary  # noqa: E402

SCRIPT = REPO / "scripts" / "release"
STAMPED = "7.6.5"
DEFAULT_DOWNLOAD_URL = "github://api.github.com/pgentra/pgentra"
OS = platform.system().lower()
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
TF_FOLDER = Path("terraform/registry.terraform.io/pgentra/pgentra")


@dataclass
class Release:
    out: Path
    listed: list[str]

    def file(self, relative: str | Path) -> Path:
        path = self.out / relative
        assert path.is_file(), f"{relative} was not built; the release printed {self.listed}"
        return path


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Release:
    workspace_version = re.search(r'\[workspace\.package\]\nversion = "([^"]+)"',
                                  (REPO / "Cargo.toml").read_text()).group(1)
    assert workspace_version != STAMPED, "pick a STAMPED version other than Cargo.toml's"
    out = tmp_path_factory.mktemp("release")
    done = subprocess.run([sys.executable, str(SCRIPT), STAMPED, str(out), "--profile", "dev"],
                          cwd=REPO, capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, f"scripts/release failed:\n{done.stdout}\n{done.stderr[-6000:]}"
    return Release(out, done.stdout.split())


def test_the_release_prints_every_artifact_it_wrote(release):
    assert sorted(release.listed) == sorted([
        f"pulumi-resource-pgentra-v{STAMPED}-{OS}-{ARCH}.tar.gz",
        str(TF_FOLDER / f"terraform-provider-pgentra_{STAMPED}_{OS}_{ARCH}.zip"),
        str(TF_FOLDER / f"terraform-provider-pgentra_{STAMPED}_manifest.json"),
        str(TF_FOLDER / f"terraform-provider-pgentra_{STAMPED}_SHA256SUMS"),
        f"pulumi_pgentra-{STAMPED}-py3-none-any.whl",
        f"pgentra-pulumi-{STAMPED}.tgz",
    ])
    written = sorted(str(p.relative_to(release.out)) for p in release.out.rglob("*") if p.is_file())
    assert written == sorted(release.listed)


def test_a_bad_version_is_refused_naming_the_format(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "v1.2", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "VERSION must be MAJOR.MINOR.PATCH" in done.stderr and "'v1.2'" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []


# ---- Pulumi ----------------------------------------------------------------------------------


def test_the_plugin_installs_into_pulumi_home_and_reports_the_version(release, tmp_path):
    tarball = release.file(f"pulumi-resource-pgentra-v{STAMPED}-{OS}-{ARCH}.tar.gz")
    with tarfile.open(tarball) as tar:
        members = {m.name: m for m in tar.getmembers()}
        # Flat: `pulumi plugin install --file` unpacks it as the plugin's folder.
        assert set(members) == {"pulumi-resource-pgentra", "LICENSE", "README.md"}
        assert all(m.isfile() for m in members.values())
        assert members["pulumi-resource-pgentra"].mode & 0o111
        plugin_dir = tmp_path / "pulumi-home" / "plugins" / f"resource-pgentra-v{STAMPED}"
        plugin_dir.mkdir(parents=True)
        tar.extractall(plugin_dir, filter="tar")
    binary = plugin_dir / "pulumi-resource-pgentra"
    assert os.access(binary, os.X_OK)

    engine = FakeEngine()
    plugin = ProviderProcess([engine.address], engine, binary=binary)
    try:
        plugin.handshake()
        info = plugin.stub.GetPluginInfo(empty_pb2.Empty(), timeout=RPC_TIMEOUT)
        assert info.version == STAMPED
        schema = json.loads(plugin.stub.GetSchema(provider_pb2.GetSchemaRequest(version=0),
                                                  timeout=RPC_TIMEOUT).schema)
        assert schema["version"] == STAMPED
        assert schema["pluginDownloadURL"] == DEFAULT_DOWNLOAD_URL
    finally:
        plugin.shutdown()
        engine.stop()


# ---- Terraform -------------------------------------------------------------------------------


def h1_of_zip(path: Path) -> str:
    """Terraform's "h1:" package hash (Go's dirhash.Hash1) of a zip's files, computed here
    independently of Terraform: sha256 of the sorted "<sha256 hex>  <name>\\n" lines."""
    with zipfile.ZipFile(path) as zf:
        lines = "".join(f"{hashlib.sha256(zf.read(name)).hexdigest()}  {name}\n"
                        for name in sorted(zf.namelist()))
    return "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()


def test_the_sha256sums_and_manifest_are_the_registrys(release):
    folder = release.out / TF_FOLDER
    sums = release.file(TF_FOLDER / f"terraform-provider-pgentra_{STAMPED}_SHA256SUMS").read_text()
    listed = dict(reversed(line.split("  ")) for line in sums.splitlines())
    assert set(listed) == {f"terraform-provider-pgentra_{STAMPED}_{OS}_{ARCH}.zip",
                           f"terraform-provider-pgentra_{STAMPED}_manifest.json"}
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    manifest = json.loads((folder / f"terraform-provider-pgentra_{STAMPED}_manifest.json").read_text())
    assert manifest == {"version": 1, "metadata": {"protocol_versions": ["6.0"]}}


def test_terraform_init_installs_the_zip_from_the_filesystem_mirror(release, tmp_path):
    archive = release.file(TF_FOLDER / f"terraform-provider-pgentra_{STAMPED}_{OS}_{ARCH}.zip")
    sums = release.file(TF_FOLDER / f"terraform-provider-pgentra_{STAMPED}_SHA256SUMS").read_text()
    zip_sha256 = next(line.split("  ")[0] for line in sums.splitlines() if line.endswith(".zip"))
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    cli_config = tmp_path / "mirror.tfrc"
    # Only the mirror: an explicit provider_installation block leaves no direct (network) install.
    cli_config.write_text(
        'provider_installation {\n'
        f'  filesystem_mirror {{\n    path = {json.dumps(str(release.out / "terraform"))}\n  }}\n'
        '}\n')
    (work / "main.tf").write_text(
        'terraform {\n  required_providers {\n'
        f'    pgentra = {{ source = "pgentra/pgentra", version = "{STAMPED}" }}\n'
        '  }\n}\n')
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CHECKPOINT_DISABLE": "1",
           "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "TF_CLI_CONFIG_FILE": str(cli_config)}
    terraform = str(terraform_binary())

    init = subprocess.run([terraform, "init", "-input=false", "-no-color"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, f"terraform init failed:\n{init.stdout}\n{init.stderr}"
    assert f"Installed pgentra/pgentra v{STAMPED}" in init.stdout, init.stdout
    installed = (work / ".terraform/providers/registry.terraform.io/pgentra/pgentra" / STAMPED
                 / f"{OS}_{ARCH}" / f"terraform-provider-pgentra_v{STAMPED}")
    assert os.access(installed, os.X_OK), f"{installed} is missing or not executable"

    lock = (work / ".terraform.lock.hcl").read_text()
    [block] = re.findall(r'provider "registry.terraform.io/pgentra/pgentra" \{(.*?)\n\}', lock, re.DOTALL)
    assert f'version     = "{STAMPED}"' in block, lock
    hashes = set(re.findall(r'"((?:h1|zh):[^"]+)"', block))
    assert h1_of_zip(archive) in hashes, f"the lock's hashes {hashes} miss the zip's {h1_of_zip(archive)}"
    assert hashes <= {h1_of_zip(archive), f"zh:{zip_sha256}"}, hashes

    # The installed provider starts and answers (Terraform launches it for its schema).
    schema = subprocess.run([terraform, "providers", "schema", "-json"], cwd=work, env=env,
                            capture_output=True, text=True, timeout=120)
    assert schema.returncode == 0, schema.stderr
    provider = json.loads(schema.stdout)["provider_schemas"]["registry.terraform.io/pgentra/pgentra"]
    assert "pgentra_flexible_server" in provider["resource_schemas"]


# ---- the SDKs --------------------------------------------------------------------------------


def test_the_wheel_installs_into_a_fresh_venv_and_reports_the_version(release, tmp_path):
    wheel = release.file(f"pulumi_pgentra-{STAMPED}-py3-none-any.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    pip = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index",
                          "--disable-pip-version-check", str(wheel)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    # The SDK's dependencies (pulumi, semver) come from the test venv; the SDK itself only from
    # the fresh venv, where the wheel put it.
    deps = subprocess.run([sys.executable, "-c", "import pulumi, os; print(os.path.dirname(os.path.dirname(pulumi.__file__)))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ran = subprocess.run([str(python), "-c", PYTHON_PROBE], env={**os.environ, "PYTHONPATH": deps},
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout)
    assert Path(seen["file"]).is_relative_to(venv), seen["file"]
    assert seen["metadata"] == STAMPED
    assert_engine_told_version_and_url(seen["engine"])
    with zipfile.ZipFile(wheel) as zf:
        plugin = json.loads(zf.read("pulumi_pgentra/pulumi-plugin.json"))
        assert plugin == {"resource": True, "name": "pgentra", "version": STAMPED, "server": DEFAULT_DOWNLOAD_URL}
        assert any(name.endswith("LICENSE") for name in zf.namelist()), zf.namelist()


def test_the_npm_tarball_has_the_version_and_the_compiled_sdk(release, tmp_path):
    tgz = release.file(f"pgentra-pulumi-{STAMPED}.tgz")
    with tarfile.open(tgz) as tar:
        names = set(tar.getnames())
        package = json.load(tar.extractfile("package/package.json"))
        tar.extractall(tmp_path, filter="data")
    assert package["name"] == "@pgentra/pulumi"
    assert package["version"] == STAMPED
    assert package["pulumi"] == {"resource": True, "name": "pgentra", "version": STAMPED, "server": DEFAULT_DOWNLOAD_URL}
    assert "@pulumi/pulumi" in package["peerDependencies"] and "dependencies" not in package
    assert {"package/bin/index.js", "package/bin/index.d.ts", "package/LICENSE"} <= names
    assert not any(name.endswith(".ts") and not name.endswith(".d.ts") for name in names), "TypeScript sources shipped"
    # The compiled SDK reads its version from its package.json at run time.
    node_path = str(REPO / "sdk" / "nodejs" / "node_modules")
    ran = subprocess.run(["node", "-e", NODE_PROBE, str(tmp_path / "package")],
                         env={**os.environ, "NODE_PATH": node_path}, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert_engine_told_version_and_url(json.loads(ran.stdout))


def assert_engine_told_version_and_url(requests: list[dict]) -> None:
    """Every registration and invoke names the plugin version and where to download it, so an
    engine without that plugin fetches exactly the released one."""
    ours = [r for r in requests if r["token"].startswith("pgentra:")]  # not the stack's own
    assert sorted(r["token"] for r in ours) == ["pgentra:index:ManagedIdentity", "pgentra:index:getClientConfig"]
    for request in ours:
        assert (request["version"], request["url"]) == (STAMPED, DEFAULT_DOWNLOAD_URL), request


# Programs under Pulumi's mocks that record what the engine's resource monitor receives: one
# resource and one invoke of the installed SDK.
PYTHON_PROBE = """
import importlib.metadata, json
import pulumi
from pulumi.runtime import mocks

seen = []
def recording(method, rpc):
    def record(self, request):
        token = request.type if rpc == "RegisterResource" else request.tok
        seen.append({"token": token, "version": request.version, "url": request.pluginDownloadURL})
        return method(self, request)
    return record
mocks.MockMonitor.RegisterResource = recording(mocks.MockMonitor.RegisterResource, "RegisterResource")
mocks.MockMonitor.Invoke = recording(mocks.MockMonitor.Invoke, "Invoke")

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return [args.name + "-id", dict(args.inputs)]
    def call(self, args):
        return {"tenantId": "t", "subscriptionId": "s", "objectId": "o", "name": "n", "clientId": ""}

pulumi.runtime.set_mocks(Mocks(), preview=False)
import pulumi_pgentra as pgentra

@pulumi.runtime.test
def program():
    identity = pgentra.ManagedIdentity("id", resource_group_name="rg", location="eastus")
    return pulumi.Output.all(identity.id, pgentra.get_client_config_output().tenant_id)

program()
print(json.dumps({"file": pgentra.__file__, "metadata": importlib.metadata.version("pulumi_pgentra"),
                  "engine": seen}))
"""

NODE_PROBE = """
const pulumi = require("@pulumi/pulumi");
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
const seen = [];
for (const [method, token] of [["registerResource", (r) => r.getType()], ["invoke", (r) => r.getTok()]]) {
    const original = MockMonitor.prototype[method];
    MockMonitor.prototype[method] = function (request, callback) {
        seen.push({ token: token(request), version: request.getVersion(), url: request.getPlugindownloadurl() });
        return original.call(this, request, callback);
    };
}
pulumi.runtime.setMocks({
    newResource: (args) => ({ id: args.name + "-id", state: args.inputs }),
    call: () => ({ tenantId: "t", subscriptionId: "s", objectId: "o", name: "n", clientId: "" }),
}, "project", "stack", false);
const pgentra = require(process.argv[1]);
const identity = new pgentra.ManagedIdentity("id", { resourceGroupName: "rg", location: "eastus" });
pulumi.all([identity.id, pgentra.getClientConfigOutput().tenantId]).apply(() => {
    setImmediate(() => console.log(JSON.stringify(seen)));
});
"""
