"""Wall time of Terraform's `plan` and `apply` beside the Pulumi plugin's preview and up, against
`pgentra emulator` and the real PostgreSQL behind it, in one run, the two faces alternating per
round (which goes first alternates too). Prints the medians as one table.

    CARGO_TARGET_DIR=target cargo build --bins        # both providers and `pgentra emulator`
    .venv/bin/python benches/terraform_vs_pulumi.py   # --rounds N --grants N --parallelism N --cases ...

(.venv is what scripts/test makes: python3 -m venv .venv && .venv/bin/pip install -r
tests/requirements.txt. PostgreSQL must answer on 127.0.0.1:5432, superuser postgres, trust.)
PGENTRA_BENCH_ROUNDS, PGENTRA_BENCH_TF_GRANTS and PGENTRA_BENCH_PARALLELISM set the defaults of
--rounds (3), --grants (200) and --parallelism (10, Terraform's own default).

The cases, each round on a fresh `pgentra emulator` per face with names no other run uses:

* example: the example stack (17 resources). Terraform: examples/terraform in a workspace
  (tests/terraform/tf_chain_support.py: the real Terraform 1.0.3, the provider from the implied
  local mirror, offline), `init` (not timed), then timed `plan -out=FILE` (nothing exists yet) and
  `apply FILE` (no second plan), with -parallelism. Pulumi: examples/python through the real
  pulumi-resource-pgentra with Pulumi's mocks as the resource monitor (benches/support/
  pulumi_program_runner.py, the engine of tests/examples/py_engine_runner.py): timed `preview`
  (Check, Create with preview=true) and `up` (Check, Create), each a process of its own (Python, the
  SDK, the plugin's start included, as Terraform's own start and its provider's are); its Create
  calls run as the program's dependencies and the SDK allow (the peak in flight is reported).
  Both are destroyed afterwards (not timed).
* grants: N pgentra_grant / Grant resources (roles x 10 tables, GRANT SELECT, INSERT ON one table
  TO one role) on a server, its Entra admin (the emulated admin group, which the deployer is in), a
  firewall rule and a database made by Terraform first (not timed), with the roles (by the backend's
  superuser) and the tables (by the admin group, through the server's gateway) made by psql.
  Terraform: a generated configuration of the N Grants only, timed `plan -out=FILE` and `apply
  FILE`, with -parallelism. Pulumi: this script drives the plugin itself as benches/grants.rs does
  (a fresh plugin process per step, handshake and Configure as the engine does, then Check and
  Create for every Grant, --parallelism calls in flight): timed preview (Create with
  preview=true) and up. The same N GRANTs either way; the ACLs are checked afterwards.

Everything talks to 127.0.0.0/8 only. A missing prerequisite stops the run with the command that
provides it. This is a benchmark, not a test: the test suite does not run it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "terraform"))
sys.path.insert(0, str(REPO / "tests" / "examples"))

from tf_support import PrerequisiteMissing, TerraformWorkspace, provider_binary, terraform_binary  # noqa: E402
from tf_chain_support import (  # noqa: E402
    EmulatorProcess, ExampleWorkspace, Names, POSTGRES_RESOURCE, backend_database, pgentra_binary,
    prepare, psql_backend, psql_gateway, quote_ident, require_postgres,
)

PULUMI_RUNNER = REPO / "benches" / "support" / "pulumi_program_runner.py"
ENGINE_RUNNER = REPO / "tests" / "examples" / "py_engine_runner.py"
PYTHON_EXAMPLE = REPO / "examples" / "python"
PROJECT = "pgentra-example-python"
PLUGIN = REPO / "target" / "debug" / "pulumi-resource-pgentra"  # where the conformance harness runs it
TABLES = 10
EXAMPLE_RESOURCES = 17
CAMEL = {  # terraform.tfvars.json name -> the Python example's config key
    "server_name": "serverName", "resource_group_name": "resourceGroupName", "location": "location",
    "admin_group_name": "adminGroupName", "admin_group_object_id": "adminGroupObjectId",
    "readwrite_group_name": "readwriteGroupName", "developer_upn": "developerUpn",
    "oidc_issuer_url": "oidcIssuerUrl", "deployer_ip": "deployerIp", "identity_name": "identityName",
    "database_name": "databaseName",
}


def prerequisites() -> None:
    try:
        import pulumi  # noqa: F401
    except ImportError as error:
        raise PrerequisiteMissing(
            f"the Pulumi SDK is not importable by {sys.executable}; run this with the repo's venv:\n"
            f"    python3 -m venv {REPO}/.venv && {REPO}/.venv/bin/pip install -r {REPO}/tests/requirements.txt\n"
            f"    {REPO}/.venv/bin/python {REPO}/benches/terraform_vs_pulumi.py") from error
    provider_binary()
    pgentra_binary()
    terraform_binary()
    if not PLUGIN.is_file():
        raise PrerequisiteMissing(f"{PLUGIN} does not exist; build it first (from {REPO}):\n"
                                  "    CARGO_TARGET_DIR=target cargo build --bins")
    require_postgres()


def timed(what: str, action):
    began = time.monotonic()
    result = action()
    elapsed = time.monotonic() - began
    print(f"    {what}: {elapsed:.2f} s", flush=True)
    return elapsed, result


# --- Terraform ---------------------------------------------------------------------------------


class GeneratedWorkspace(ExampleWorkspace):
    """A Terraform workspace pointed at the emulator, with a generated configuration instead of the
    example's."""

    def __init__(self, root: Path, emulator: EmulatorProcess, config: str):
        super().__init__(root, emulator, None)
        for copied in self.workdir.glob("*.tf"):
            copied.unlink()
        self.write_config(config)


PROVIDER_HCL = """terraform {
  required_providers {
    pgentra = {
      source  = "pgentra/pgentra"
      version = "~> 0.1"
    }
  }
}

provider "pgentra" {}
"""


def hcl(value: str) -> str:
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def base_config(tfvars: dict) -> str:
    """The server, its Entra admin, the deployer's firewall rule and the database (as the example)."""
    v = {k: hcl(x) for k, x in tfvars.items() if isinstance(x, str)}
    return PROVIDER_HCL + f"""
data "pgentra_client_config" "current" {{}}

resource "pgentra_flexible_server" "server" {{
  resource_group_name   = {v['resource_group_name']}
  server_name           = {v['server_name']}
  location              = {v['location']}
  version               = "16"
  sku_name              = "Standard_D2s_v3"
  storage_size_gb       = 64
  active_directory_auth = "Enabled"
  password_auth         = "Disabled"
  tenant_id             = data.pgentra_client_config.current.tenant_id
  public_network_access = "Enabled"
}}

resource "pgentra_ad_admin" "admin" {{
  resource_group_name = {v['resource_group_name']}
  server_name         = pgentra_flexible_server.server.server_name
  object_id           = {v['admin_group_object_id']}
  principal_name      = {v['admin_group_name']}
  principal_type      = "Group"
  tenant_id           = data.pgentra_client_config.current.tenant_id
}}

resource "pgentra_firewall_rule" "deployer" {{
  resource_group_name = {v['resource_group_name']}
  server_name         = pgentra_flexible_server.server.server_name
  name                = "allow-deployer"
  start_ip_address    = {v['deployer_ip']}
  end_ip_address      = {v['deployer_ip']}
}}

resource "pgentra_database" "app" {{
  resource_group_name = {v['resource_group_name']}
  server_name         = pgentra_flexible_server.server.server_name
  name                = {v['database_name']}
}}

output "fqdn" {{
  value = pgentra_flexible_server.server.fully_qualified_domain_name
}}
"""


def grants_config(grants: list[dict], host: str, admin: str) -> str:
    out = [PROVIDER_HCL]
    for i, g in enumerate(grants):
        out.append(f"""
resource "pgentra_grant" "g{i}" {{
  sql_connection {{
    host     = {hcl(host)}
    username = {hcl(admin)}
  }}
  role        = {hcl(g['role'])}
  database    = {hcl(g['database'])}
  object_type = "table"
  schema      = "public"
  objects     = [{hcl(g['table'])}]
  privileges  = ["SELECT", "INSERT"]
}}
""")
    return "".join(out)


# --- one face of one case ----------------------------------------------------------------------


class Deployment:
    """A fresh `pgentra emulator`, its tenant prepared (emulator_prepare.py) with unique names."""

    def __init__(self, scratch: Path, label: str):
        self.emulator = EmulatorProcess()
        self.names = Names()
        self.tfvars = prepare(self.emulator, self.names)
        self.scratch = scratch / f"{label}-{self.names.suffix}"
        self.scratch.mkdir(parents=True)

    def stop(self) -> None:
        self.emulator.stop()
        # The admin group's role stays in the one backend cluster when its server goes (as after
        # tests/terraform's runs): this run's goes too.
        psql_backend(f"DROP ROLE IF EXISTS {quote_ident(self.tfvars['admin_group_name'])}")

    def pulumi_config(self) -> dict:
        return {CAMEL[k]: v for k, v in self.tfvars.items() if k in CAMEL}

    def sdk_env(self) -> dict:
        return {**os.environ, "PYTHONPATH": str(REPO / "sdk" / "python")}


def run_python(args: list[str], env: dict, what: str) -> str:
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return done.stdout


def example_terraform(dep: Deployment, parallelism: int) -> dict:
    ws = ExampleWorkspace(dep.scratch, dep.emulator, dep.tfvars)
    ws.ok("init")
    try:
        plan, done = timed("terraform plan", lambda: ws.ok("plan", f"-parallelism={parallelism}", "-out=bench.tfplan"))
        assert f"Plan: {EXAMPLE_RESOURCES} to add, 0 to change, 0 to destroy." in done.stdout, done.describe()
        apply, done = timed("terraform apply", lambda: ws.ok("apply", f"-parallelism={parallelism}", "bench.tfplan"))
        assert f"Apply complete! Resources: {EXAMPLE_RESOURCES} added" in done.stdout, done.describe()
    finally:
        ws.ok("destroy", "-auto-approve")
    return {"plan": plan, "apply": apply}


def example_pulumi(dep: Deployment) -> dict:
    env, config = dep.sdk_env(), json.dumps(dep.pulumi_config())
    provider_config = json.dumps(dep.emulator.info["providerConfig"])
    args = [str(PYTHON_EXAMPLE), PROJECT, config, provider_config]
    preview, out = timed("pulumi preview", lambda: run_python([str(PULUMI_RUNNER), "preview", *args], env, "preview"))
    previewed = json.loads(out)
    assert previewed["error"] is None and len(previewed["made"]) == EXAMPLE_RESOURCES, previewed["error"]
    made_file = dep.scratch / "made.json"
    try:
        up, out = timed("pulumi up", lambda: run_python([str(PULUMI_RUNNER), "up", *args], env, "up"))
        made_file.write_text(out)
        ran = json.loads(out)
        assert ran["error"] is None, ran["error"]
        assert len(ran["made"]) == EXAMPLE_RESOURCES, [r["name"] for r in ran["made"]]
    finally:
        if made_file.exists():
            run_python([str(ENGINE_RUNNER), "destroy", str(made_file), provider_config], env, "destroy")
    return {"plan": preview, "apply": up, "peak": max(previewed["peakInFlight"], ran["peakInFlight"])}


class GrantsBase:
    """The server, admin, firewall rule and database (Terraform), roles and tables (psql)."""

    def __init__(self, dep: Deployment, count: int):
        if count % TABLES:
            raise SystemExit(f"--grants must be a multiple of {TABLES} (roles x {TABLES} tables), not {count}")
        self.dep = dep
        self.ws = GeneratedWorkspace(dep.scratch / "base", dep.emulator, base_config(dep.tfvars))
        self.ws.ok("init")
        self.ws.ok("apply", "-auto-approve")
        self.host = json.loads(self.ws.ok("output", "-json").stdout)["fqdn"]["value"]
        self.admin = dep.tfvars["admin_group_name"]
        self.database = dep.tfvars["database_name"]
        self.roles = [f"bench_{dep.names.suffix}_r{i}" for i in range(count // TABLES)]
        psql_backend("".join(f"CREATE ROLE {quote_ident(r)} NOLOGIN;" for r in self.roles))
        token = dep.emulator.token(f"{POSTGRES_RESOURCE}/.default")
        tables = "".join(f"CREATE TABLE public.t{t} (id int PRIMARY KEY);" for t in range(TABLES))
        done = psql_gateway(dep.emulator, self.host, self.admin, token, self.database, tables)
        assert done.returncode == 0, f"creating the tables: {done.stderr}"
        self.grants = [{"role": r, "database": self.database, "table": f"t{t}"}
                       for r in self.roles for t in range(TABLES)]

    def granted(self) -> int:
        """How many (role, table) pairs hold SELECT and INSERT, in the backend."""
        roles = ", ".join("'" + r + "'" for r in self.roles)
        return int(psql_backend(
            "SELECT count(*) FROM (SELECT grantee, table_name FROM information_schema.role_table_grants "
            f"WHERE grantee IN ({roles}) AND privilege_type IN ('SELECT', 'INSERT') "
            "GROUP BY 1, 2 HAVING count(*) = 2) AS g", backend_database(self.database)))

    def destroy(self) -> None:
        roles = ", ".join(quote_ident(r) for r in self.roles)
        psql_backend(f"DROP OWNED BY {roles}; DROP ROLE {roles};", backend_database(self.database))
        self.ws.ok("destroy", "-auto-approve")


def grants_terraform(dep: Deployment, count: int, parallelism: int) -> dict:
    base = GrantsBase(dep, count)
    try:
        ws = GeneratedWorkspace(dep.scratch / "grants", dep.emulator,
                                grants_config(base.grants, base.host, base.admin))
        ws.ok("init")
        plan, done = timed("terraform plan", lambda: ws.ok("plan", f"-parallelism={parallelism}", "-out=bench.tfplan"))
        assert f"Plan: {count} to add, 0 to change, 0 to destroy." in done.stdout, done.describe()[-3000:]
        apply, done = timed("terraform apply", lambda: ws.ok("apply", f"-parallelism={parallelism}", "bench.tfplan",
                                                             timeout=1800))
        assert f"Apply complete! Resources: {count} added" in done.stdout, done.describe()[-3000:]
        assert base.granted() == count, f"{base.granted()} of {count} Grants in the ACLs"
    finally:
        base.destroy()
    return {"plan": plan, "apply": apply}


def grants_pulumi(dep: Deployment, count: int, parallelism: int) -> dict:
    import py_engine_runner
    from harness import from_struct
    from pulumi.runtime.proto import provider_pb2
    from harness import urn

    base = GrantsBase(dep, count)
    provider_config = dep.emulator.info["providerConfig"]
    connection = {"host": base.host, "username": base.admin}

    def step(preview: bool) -> None:
        engine, provider = py_engine_runner.start_provider(provider_config)  # a fresh plugin, as each run's

        def one(i: int) -> None:
            g = base.grants[i]
            news = {"connection": connection, "role": g["role"], "database": g["database"],
                    "objectType": "table", "schema": "public", "objects": [g["table"]],
                    "privileges": ["SELECT", "INSERT"]}
            name = f"g{i}"
            checked = provider.check("pgentra:index:Grant", name, news)
            assert not checked.failures, [(f.property, f.reason) for f in checked.failures]
            created = provider.stub.Create(provider_pb2.CreateRequest(
                urn=urn("pgentra:index:Grant", name), properties=checked.inputs, name=name,
                type="pgentra:index:Grant", timeout=120, preview=preview), timeout=150)
            assert preview or from_struct(created.properties)["role"] == g["role"]

        try:
            with ThreadPoolExecutor(max_workers=parallelism) as pool:
                list(pool.map(one, range(count)))
        finally:
            provider.shutdown()
            engine.stop()

    try:
        preview, _ = timed("pulumi preview", lambda: step(True))
        assert base.granted() == 0
        up, _ = timed("pulumi up", lambda: step(False))
        assert base.granted() == count, f"{base.granted()} of {count} Grants in the ACLs"
    finally:
        base.destroy()
    return {"plan": preview, "apply": up}


# --- the run -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("PGENTRA_BENCH_ROUNDS", 3)))
    parser.add_argument("--grants", type=int, default=int(os.environ.get("PGENTRA_BENCH_TF_GRANTS", 200)),
                        help=f"how many Grants (a multiple of {TABLES}: roles x {TABLES} tables)")
    parser.add_argument("--parallelism", type=int, default=int(os.environ.get("PGENTRA_BENCH_PARALLELISM", 10)),
                        help="terraform -parallelism (its default is 10), and the Pulumi Grants' calls in flight")
    parser.add_argument("--pulumi-in-flight", type=int, default=None,
                        help="the Pulumi Grants' Check+Create calls in flight (default: --parallelism; "
                             "the Pulumi CLI's own --parallel defaults to unbounded)")
    parser.add_argument("--cases", default="example,grants", help="example, grants or both (comma-separated)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (workspaces, state)")
    opts = parser.parse_args()
    in_flight = opts.pulumi_in_flight or opts.parallelism
    cases = [c.strip() for c in opts.cases.split(",") if c.strip()]
    if not cases or set(cases) - {"example", "grants"}:
        parser.error(f"--cases: example, grants or both, not {opts.cases!r}")
    try:
        prerequisites()
    except PrerequisiteMissing as missing:
        print(f"terraform_vs_pulumi: a prerequisite is missing:\n{missing}", file=sys.stderr)
        return 2

    scratch = Path(tempfile.mkdtemp(prefix="pgentra-tf-vs-pulumi-"))
    times: dict[tuple[str, str], dict[str, list[float]]] = {}
    peaks: list[int] = []
    started = datetime.datetime.now().astimezone()
    try:
        for rnd in range(opts.rounds):
            for case in cases:
                faces = ["terraform", "pulumi"] if rnd % 2 == 0 else ["pulumi", "terraform"]
                for face in faces:
                    print(f"round {rnd + 1}/{opts.rounds}, {case}, {face}", flush=True)
                    dep = Deployment(scratch, f"r{rnd}-{case}-{face}")
                    try:
                        if case == "example":
                            got = (example_terraform(dep, opts.parallelism) if face == "terraform"
                                   else example_pulumi(dep))
                        else:
                            got = (grants_terraform(dep, opts.grants, opts.parallelism) if face == "terraform"
                                   else grants_pulumi(dep, opts.grants, in_flight))
                    finally:
                        dep.stop()
                    if "peak" in got:
                        peaks.append(got.pop("peak"))
                    for step, seconds in got.items():
                        times.setdefault((case, step), {}).setdefault(face, []).append(seconds)
    finally:
        if opts.keep:
            print(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    labels = {("example", "plan"): ("example stack (17): plan vs preview"),
              ("example", "apply"): ("example stack (17): apply vs up"),
              ("grants", "plan"): (f"{opts.grants} Grants: plan vs preview"),
              ("grants", "apply"): (f"{opts.grants} Grants: apply vs up")}
    print()
    print(f"pgentra: Terraform 1.0.3 vs the Pulumi plugin against `pgentra emulator`, {started:%Y-%m-%d %H:%M %Z}, "
          f"{os.cpu_count()} CPUs ({platform.machine()}), debug builds")
    print(f"Terraform -parallelism={opts.parallelism}; Pulumi: the example's Create calls as the program allows "
          f"(peak in flight {max(peaks) if peaks else '-'}), the Grants {in_flight} in flight")
    header = f"| {'case':<36} | {'Terraform median':>16} | {'Pulumi median':>13} | {'ratio TF/Pulumi':>15} | rounds |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for key, label in labels.items():
        if key not in times:
            continue
        tf, pu = times[key]["terraform"], times[key]["pulumi"]
        tm, pm = statistics.median(tf), statistics.median(pu)
        print(f"| {label:<36} | {tm:>14.2f} s | {pm:>11.2f} s | {tm / pm:>14.2f}x | {len(tf):>6} |")
    print()
    for key, label in labels.items():
        if key in times:
            print(f"  {label}: Terraform {[round(x, 2) for x in times[key]['terraform']]}, "
                  f"Pulumi {[round(x, 2) for x in times[key]['pulumi']]}")
    # The same medians as rows for benches/run: a comparison of the two faces, with no target.
    for (case, step), label in labels.items():
        if (case, step) in times:
            tm, pm = (statistics.median(times[(case, step)][face]) for face in ("terraform", "pulumi"))
            row = {"name": f"terraform_vs_pulumi.{case}.{step}",
                   "what": f"{label} (debug builds; Terraform -parallelism={opts.parallelism})",
                   "measured": f"{tm / pm:.2f}x (Terraform {tm:.2f} s, Pulumi {pm:.2f} s)",
                   "target": "-", "met": None}
            print("pgentra-bench-row " + json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
