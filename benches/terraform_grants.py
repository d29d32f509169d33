"""The grants bench's numbers through Terraform: 1,000 mixed Grants created by the real Terraform
1.0.3 with terraform-provider-pgentra against `pgentra emulator`, against the same GRANT statements
sent by psql in one session through the emulator's PostgreSQL gateway; then the refresh of those
Grants against one psql session running the equivalent catalog query per Grant. In one run, the
two contestants alternating per round (which goes first alternates too); medians over rounds and
their ratios.

    .venv/bin/python benches/terraform_grants.py     # --grants N --rounds N --roles N --parallelism N

(.venv as scripts/test makes it: python3 -m venv .venv && .venv/bin/pip install -r
tests/requirements.txt. PostgreSQL must answer on 127.0.0.1:5432, superuser postgres, trust; psql
installed.) The script builds the release terraform-provider-pgentra and pgentra (the emulator)
first, as `cargo bench` builds what it runs. PGENTRA_BENCH_GRANTS and PGENTRA_BENCH_ROUNDS set the
defaults of --grants (1000) and --rounds (3), as for `cargo bench --bench grants`.

What is timed, each round, each contestant on roles of its own (made by the backend's superuser,
not timed) in one database of one emulated server (made by Terraform first, with its schema `app`
and 20 tables made by psql as the server's Entra admin group, not timed):

* Terraform, in a workspace of its own (tests/terraform/tf_support.py: offline, the provider from
  the implied local mirror), `init` not timed, all with -parallelism (16, as the grants bench's
  Create calls in flight):
  - `plan` of the N new Grants (no SQL: Terraform's and the provider's per-resource work);
  - create: `apply -auto-approve` (its own plan included, as a user runs it);
  - refresh: `plan -refresh-only` (one ReadResource per Grant; it must find no drift);
  - `plan -refresh=false` with the N Grants in state (no SQL: Terraform's own work again).
* psql, one process and one session each, signing in with the admin group's token as the provider
  does: create: the N GRANT statements the provider runs (crates/core/src/sql/grant.rs builds the
  same text); refresh: per Grant, the one catalog query the provider reads it with
  (crates/core/src/sql/introspect.rs: aclexplode over the ACL of the Grant's objects, or
  pg_auth_members for a membership), the values inlined.

Both contestants must leave the same privileges (counted in the catalogs) before their roles go.
The mix is benches/grants.rs `mixed_grants`: per role the database (CONNECT, TEMPORARY), the
schema (USAGE), all tables (TRUNCATE), default privileges on tables (DELETE, REFERENCES), a
membership in one of the 5 group roles (the groups get TRIGGER on t0 instead), then the named
tables (SELECT, INSERT, UPDATE) and their sequences (USAGE, SELECT) one by one.

Prints the medians and one `pgentra-bench-row` line per result (benches/run collects them).
Everything talks to 127.0.0.0/8 only. A missing prerequisite stops the run with the command that
provides it. This is a benchmark, not a test: the test suite does not run it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "terraform"))
sys.path.insert(0, str(REPO / "benches"))

import tf_chain_support  # noqa: E402
import tf_support  # noqa: E402
from tf_chain_support import (  # noqa: E402
    POSTGRES_RESOURCE, backend_database, psql_backend, quote_ident, quote_literal, require_postgres,
)
from tf_support import Completed, PrerequisiteMissing, terraform_binary  # noqa: E402
from terraform_vs_pulumi import PROVIDER_HCL, Deployment, GeneratedWorkspace, base_config, hcl  # noqa: E402

ROLES = 50
GROUPS = 5  # of the roles, how many are groups the others become members of
TABLES = 20
SCHEMA = "app"
CREATE_TARGET = 1.0  # at or under
REFRESH_TARGET = 1.5  # under


# --- the release binaries ----------------------------------------------------------------------


def release_binaries() -> None:
    """Builds the release provider and emulator (a no-op when up to date) and points the test
    support at them: the tests run debug builds, a bench measures what users run."""
    target = tf_support.target_dir()
    command = ["cargo", "build", "--release", "--locked", "-p", "pgentra-terraform", "--bin",
               "terraform-provider-pgentra", "-p", "pgentra", "--bin", "pgentra"]
    print(f"$ CARGO_TARGET_DIR={target} {' '.join(command)}", flush=True)
    try:
        done = subprocess.run(command, cwd=REPO, env={**os.environ, "CARGO_TARGET_DIR": str(target)})
    except FileNotFoundError as error:
        raise PrerequisiteMissing("cargo is not installed: https://rustup.rs") from error
    if done.returncode != 0:
        raise PrerequisiteMissing(f"the release build failed (exit {done.returncode}): {' '.join(command)}")
    provider = target / "release" / tf_support.PROVIDER_BINARY_NAME
    emulator = target / "release" / "pgentra"
    tf_support.provider_binary = lambda: provider
    tf_chain_support.pgentra_binary = lambda: emulator


# --- the Grants --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    role: str
    object_type: str
    privileges: tuple[str, ...]
    objects: tuple[str, ...] = ()
    schema: str | None = None
    default_privileges: bool = False


def mixed_grants(count: int, roles: list[str]) -> list[Grant]:
    """benches/grants.rs `mixed_grants`: no two overlap (a Grant over what the role already holds
    on the same objects is refused), so each role gets each kind once, then its own tables and
    sequences one by one."""
    per_role = 5 + 2 * TABLES
    if count > len(roles) * per_role:
        raise SystemExit(f"at most {len(roles) * per_role} distinct Grants over {len(roles)} roles "
                         f"and {TABLES} tables, not {count}")
    grants = []
    for i in range(count):
        r, slot = i % len(roles), i // len(roles)
        role = roles[r]
        if slot == 0:
            grant = Grant(role, "database", ("CONNECT", "TEMPORARY"))
        elif slot == 1:
            grant = Grant(role, "schema", ("USAGE",), schema=SCHEMA)
        elif slot == 2:
            grant = Grant(role, "table", ("TRUNCATE",), schema=SCHEMA)
        elif slot == 3:
            grant = Grant(role, "table", ("DELETE", "REFERENCES"), schema=SCHEMA, default_privileges=True)
        elif slot == 4 and r >= GROUPS:
            # Memberships go from the groups (the first roles) to the others: never a cycle.
            grant = Grant(role, "role", (), objects=(roles[r % GROUPS],))
        elif slot == 4:
            grant = Grant(role, "table", ("TRIGGER",), objects=("t0",), schema=SCHEMA)
        elif slot % 2 == 1:
            grant = Grant(role, "table", ("SELECT", "INSERT", "UPDATE"), objects=(f"t{(slot - 5) // 2}",),
                          schema=SCHEMA)
        else:
            grant = Grant(role, "sequence", ("USAGE", "SELECT"), objects=(f"t{(slot - 5) // 2}_id_seq",),
                          schema=SCHEMA)
        grants.append(grant)
    return grants


def acl_entries(grant: Grant) -> int:
    """How many catalog entries (privileges, memberships) the Grant leaves."""
    if grant.object_type == "role":
        return len(grant.objects)
    if grant.object_type in ("database", "schema") or grant.default_privileges:
        return len(grant.privileges)
    return len(grant.privileges) * (len(grant.objects) or TABLES)  # no objects: all tables


def grant_sql(grant: Grant, database: str) -> str:
    """The statement the provider runs for the Grant (GrantTarget::grant_sql)."""
    role = quote_ident(grant.role)
    if grant.object_type == "role":
        return f"GRANT {', '.join(quote_ident(o) for o in grant.objects)} TO {role}"
    privileges = ", ".join(grant.privileges)
    schema = quote_ident(grant.schema or "")
    if grant.default_privileges:
        return f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {privileges} ON TABLES TO {role}"
    if grant.object_type == "database":
        on = f"DATABASE {quote_ident(database)}"
    elif grant.object_type == "schema":
        on = f"SCHEMA {schema}"
    elif not grant.objects:
        on = f"ALL TABLES IN SCHEMA {schema}"
    else:
        on = f"{grant.object_type.upper()} " + ", ".join(f"{schema}.{quote_ident(o)}" for o in grant.objects)
    return f"GRANT {privileges} ON {on} TO {role}"


def read_sql(grant: Grant) -> str:
    """The catalog query the provider reads the Grant back with (introspect.rs `held` and
    `memberships`), its bind parameters inlined as literals."""
    role = f"(SELECT oid FROM pg_catalog.pg_roles WHERE rolname = {quote_literal(grant.role)})"
    schema = quote_literal(grant.schema or "")
    if grant.object_type == "role":
        objects = ", ".join(quote_literal(o) for o in grant.objects)
        return ("SELECT r.rolname::text, m.admin_option FROM pg_catalog.pg_auth_members m "
                "JOIN pg_catalog.pg_roles r ON r.oid = m.roleid "
                f"WHERE m.member = {role} AND r.rolname = ANY(ARRAY[{objects}]::text[])")
    if grant.object_type == "database":
        return ("SELECT d.datname::text, a.privilege_type, a.is_grantable FROM pg_catalog.pg_database d "
                "LEFT JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a "
                f"ON a.grantee = {role} WHERE d.datname = current_database()")
    if grant.object_type == "schema":
        return ("SELECT n.nspname::text, a.privilege_type, a.is_grantable FROM pg_catalog.pg_namespace n "
                "LEFT JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a "
                f"ON a.grantee = {role} WHERE n.nspname = {schema}")
    if grant.default_privileges:
        return ("SELECT n.nspname::text, a.privilege_type, a.is_grantable FROM pg_catalog.pg_default_acl d "
                "JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace "
                "CROSS JOIN LATERAL aclexplode(d.defaclacl) a "
                f"WHERE a.grantee = {role} AND n.nspname = {schema} AND d.defaclobjtype::text = 'r' "
                "AND d.defaclrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)")
    kinds = "'S'" if grant.object_type == "sequence" else "'r', 'p', 'v', 'm', 'f'"
    names = ("ARRAY[" + ", ".join(quote_literal(o) for o in grant.objects) + "]::text[]"
             if grant.objects else "NULL::text[]")
    return ("SELECT c.relname::text, a.privilege_type, a.is_grantable FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' "
            "THEN 's' ELSE 'r' END::\"char\", c.relowner))) a "
            f"ON a.grantee = {role} WHERE n.nspname = {schema} AND c.relkind IN ({kinds}) "
            f"AND ({names} IS NULL OR c.relname = ANY({names}))")


def grant_hcl(index: int, grant: Grant, connection: str, database: str) -> str:
    lines = [f'resource "pgentra_grant" "g{index}" {{', connection,
             f"  role        = {hcl(grant.role)}",
             f"  database    = {hcl(database)}",
             f"  object_type = {hcl(grant.object_type)}"]
    if grant.schema is not None:
        lines.append(f"  schema      = {hcl(grant.schema)}")
    if grant.objects:
        lines.append(f"  objects     = [{', '.join(hcl(o) for o in grant.objects)}]")
    lines.append(f"  privileges  = [{', '.join(hcl(p) for p in grant.privileges)}]")
    if grant.default_privileges:
        lines.append("  default_privileges = true")
    lines.append("}\n")
    return "\n".join(lines)


# --- the server both contestants grant on ------------------------------------------------------


class Bench:
    """One emulator, its server, Entra admin, firewall rule and database (Terraform), the schema
    and tables (psql as the admin group), and the ways in: the gateway and the backend."""

    def __init__(self, scratch: Path):
        self.dep = Deployment(scratch, "bench")
        self.base: GeneratedWorkspace | None = None
        try:
            self.set_up()
        except BaseException:
            self.close()
            raise

    def set_up(self) -> None:
        tfvars = self.dep.tfvars
        self.base = GeneratedWorkspace(self.dep.scratch / "base", self.dep.emulator, base_config(tfvars))
        self.base.ok("init")
        self.base.ok("apply", "-auto-approve")
        self.host = json.loads(self.base.ok("output", "-json").stdout)["fqdn"]["value"]
        server = next(s for s in self.dep.emulator.state()["flexibleServers"]
                      if s["name"] == tfvars["server_name"])
        self.port = int(server["pgGateway"]["port"])
        self.admin = tfvars["admin_group_name"]
        self.database = tfvars["database_name"]
        self.token = self.dep.emulator.token(f"{POSTGRES_RESOURCE}/.default")
        tables = "".join(f"CREATE TABLE {SCHEMA}.t{t} (id serial PRIMARY KEY);\n" for t in range(TABLES))
        self.psql(f"CREATE SCHEMA {SCHEMA};\n{tables}")
        # The emulator makes the backend database when a session first asks for it.
        self.backend_database = backend_database(self.database)

    def psql(self, sql: str) -> str:
        """`sql` in one psql session through the gateway, as the admin group (each statement its
        own transaction, as the provider's are); its output (unaligned, tuples only)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGPASSWORD=self.token, PGCONNECT_TIMEOUT="10", PGOPTIONS="-c client_min_messages=warning")
        conninfo = (f"host={self.host} port={self.port} dbname={self.database} sslmode=verify-full "
                    f"sslrootcert={self.dep.emulator.info['caCertFile']} user='{self.admin}'")
        done = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-f", "-"],
                              input=sql, env=env, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"psql through the gateway failed (exit {done.returncode}): {done.stderr[-2000:]}")
        return done.stdout

    def connection_hcl(self) -> str:
        return (f"  sql_connection {{\n    host     = {hcl(self.host)}\n    port     = {self.port}\n"
                f"    username = {hcl(self.admin)}\n  }}")

    def make_roles(self, roles: list[str]) -> None:
        psql_backend("".join(f"CREATE ROLE {quote_ident(r)} NOLOGIN;" for r in roles))

    def acl_entries_of(self, roles: list[str]) -> int:
        """The privileges and memberships the roles hold, from the backend's catalogs."""
        names = "ARRAY[" + ", ".join(quote_literal(r) for r in roles) + "]"
        grantee = f"a.grantee IN (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ANY({names}))"
        return int(psql_backend(
            f"SELECT (SELECT count(*) FROM pg_catalog.pg_class c, aclexplode(c.relacl) a WHERE {grantee})"
            f" + (SELECT count(*) FROM pg_catalog.pg_namespace n, aclexplode(n.nspacl) a WHERE {grantee})"
            f" + (SELECT count(*) FROM pg_catalog.pg_database d, aclexplode(d.datacl) a WHERE {grantee})"
            f" + (SELECT count(*) FROM pg_catalog.pg_default_acl d, aclexplode(d.defaclacl) a WHERE {grantee})"
            " + (SELECT count(*) FROM pg_catalog.pg_auth_members m WHERE m.member IN "
            f"(SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ANY({names})))",
            self.backend_database))

    def drop_roles(self, roles: list[str]) -> None:
        """The roles and everything granted to them go, so every run starts from the same ACLs."""
        listed = ", ".join(quote_ident(r) for r in roles)
        psql_backend(f"DROP OWNED BY {listed}; DROP ROLE {listed};", self.backend_database)

    def close(self) -> None:
        try:
            if self.base is not None:
                self.base.ok("destroy", "-auto-approve")
        finally:
            self.dep.stop()


# --- the contestants ---------------------------------------------------------------------------


class ProviderCpu:
    """The CPU seconds the provider processes under a running `terraform` use, sampled from /proc
    every half second (a provider that exits between two samples loses at most that interval):
    with the exact CPU time of the whole tree (getrusage of the reaped children), the rest is
    Terraform's own."""

    INTERVAL = 0.5
    TICKS = os.sysconf("SC_CLK_TCK")

    def __init__(self, root: int):
        self.root = root
        self.seen: dict[int, float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()

    def watch(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.INTERVAL)

    def sample(self) -> None:
        stats: dict[int, tuple[str, int, float]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                text = Path("/proc", entry.name, "stat").read_text()
            except OSError:
                continue
            name, fields = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
            # After the name: state, ppid, ... utime and stime are the 12th and 13th.
            stats[int(entry.name)] = (name, int(fields[1]), (int(fields[11]) + int(fields[12])) / self.TICKS)
        tree, grew = {self.root}, True
        while grew:
            below = {pid for pid, (_, parent, _) in stats.items() if parent in tree} - tree
            tree |= below
            grew = bool(below)
        for pid in tree - {self.root}:
            name, _, cpu = stats[pid]
            if name.startswith("terraform-provi"):  # the kernel keeps 15 characters of the name
                self.seen[pid] = cpu

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        return sum(self.seen.values())


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def seconds(action) -> float:
    began = time.monotonic()
    action()
    return time.monotonic() - began


def run_terraform(bench: Bench, grants: list[Grant], workdir: Path, parallelism: int) -> dict[str, float]:
    connection = bench.connection_hcl()
    config = PROVIDER_HCL + "\n" + "\n".join(grant_hcl(i, g, connection, bench.database)
                                              for i, g in enumerate(grants))
    ws = GeneratedWorkspace(workdir, bench.dep.emulator, config)
    ws.ok("init")
    count, flag = len(grants), f"-parallelism={parallelism}"
    out: dict[str, float] = {}

    def step(name: str, args: list[str], expect: str) -> None:
        # As ws.ok runs it, but started here, so the provider's CPU time can be told apart.
        command = [str(ws.terraform), *args, flag, "-no-color"]
        cpu_before = children_cpu()
        began = time.monotonic()
        process = subprocess.Popen(command, cwd=ws.workdir, env=ws.environment(ws.extra_env),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        provider = ProviderCpu(process.pid)
        stdout, stderr = process.communicate(timeout=3600)
        out[name] = time.monotonic() - began
        out[f"{name}.cpu.provider"] = provider.stop()
        out[f"{name}.cpu.terraform"] = children_cpu() - cpu_before - out[f"{name}.cpu.provider"]
        done = Completed(["terraform", *args, flag], process.returncode, stdout, stderr)
        assert done.returncode == 0 and expect in done.stdout, f"{expect!r} not in:\n{done.describe()[-3000:]}"
        print(f"    terraform {' '.join(args)}: {out[name]:.2f} s (CPU: Terraform "
              f"{out[f'{name}.cpu.terraform']:.1f} s, provider {out[f'{name}.cpu.provider']:.1f} s)", flush=True)

    step("plan_new", ["plan"], f"Plan: {count} to add, 0 to change, 0 to destroy.")
    step("create", ["apply", "-auto-approve"], f"Apply complete! Resources: {count} added")
    step("refresh", ["plan", "-refresh-only"], "No changes.")
    step("plan_no_changes", ["plan", "-refresh=false"], "No changes.")
    return out


def run_psql(bench: Bench, grants: list[Grant]) -> dict[str, float]:
    statements = "".join(f"{grant_sql(g, bench.database)};\n" for g in grants)
    create = seconds(lambda: bench.psql(statements))
    print(f"    psql, {len(grants)} GRANT statements: {create:.2f} s", flush=True)
    queries = "".join(f"{read_sql(g)};\n" for g in grants)
    read: list[str] = []
    refresh = seconds(lambda: read.append(bench.psql(queries)))
    print(f"    psql, {len(grants)} catalog queries: {refresh:.2f} s", flush=True)
    assert read[0].strip(), "the catalog queries returned nothing"
    return {"create": create, "refresh": refresh}


# --- the run -----------------------------------------------------------------------------------


def row(name: str, what: str, measured: str, target: str, met: bool | None) -> None:
    print("pgentra-bench-row " + json.dumps(
        {"name": name, "what": what, "measured": measured, "target": target, "met": met}), flush=True)


def duration(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"


def report(opts, times: dict[str, dict[str, list[float]]], tf: dict[str, float], pq: dict[str, float]) -> None:
    """The medians, then the rows."""
    n = opts.grants
    print()
    print(f"{n} mixed Grants ({opts.roles} roles x {TABLES} tables), Terraform 1.0.3 -parallelism={opts.parallelism} "
          f"vs psql (one session), through the emulator's gateway, medians of {opts.rounds} round(s):")
    for step, label in [("plan_new", "terraform plan (all new, no SQL)"), ("create", "terraform apply"),
                        ("refresh", "terraform plan -refresh-only"),
                        ("plan_no_changes", "terraform plan -refresh=false (no SQL)")]:
        print(f"  {label:<40} {duration(tf[step]):>9} ({tf[step] * 1000 / n:.2f} ms/Grant; CPU: Terraform "
              f"{tf[step + '.cpu.terraform']:.1f} s, provider {tf[step + '.cpu.provider']:.1f} s), "
              f"runs {[round(x, 2) for x in times['terraform'][step]]}")
    for step, label in [("create", "psql GRANT statements"), ("refresh", "psql catalog queries")]:
        print(f"  {label:<40} {duration(pq[step]):>9} ({pq[step] * 1000 / n:.2f} ms/Grant), "
              f"runs {[round(x, 2) for x in times['psql'][step]]}")
    create_ratio, refresh_ratio = tf["create"] / pq["create"], tf["refresh"] / pq["refresh"]
    print(f"  create ratio terraform/psql: {create_ratio:.2f}x (target <= {CREATE_TARGET}x); "
          f"refresh ratio: {refresh_ratio:.2f}x (target < {REFRESH_TARGET}x)")
    print("  Terraform's own per-resource work (graph, plan, state) is inside both Terraform numbers: the two "
          "plans without SQL and the CPU time Terraform itself spends show its size.")

    grants = f"{n:,} mixed Grants"

    def cpu(step: str) -> str:
        return (f"CPU: Terraform {tf[step + '.cpu.terraform']:.1f} s, "
                f"provider {tf[step + '.cpu.provider']:.1f} s")

    row("terraform.grants.create",
        f"{grants} created by terraform apply (-parallelism={opts.parallelism}; Terraform's own per-resource "
        "work included) vs the same GRANTs by psql in one session",
        f"{create_ratio:.2f}x (terraform {duration(tf['create'])}, psql {duration(pq['create'])}; {cpu('create')})",
        f"<= {CREATE_TARGET}x", create_ratio <= CREATE_TARGET)
    row("terraform.grants.refresh",
        f"refresh of {grants} by terraform plan -refresh-only (Terraform's own per-resource work included) "
        "vs one psql session, one catalog query per Grant",
        f"{refresh_ratio:.2f}x (terraform {duration(tf['refresh'])}, psql {duration(pq['refresh'])}; "
        f"{cpu('refresh')})",
        f"< {REFRESH_TARGET}x", refresh_ratio < REFRESH_TARGET)
    row("terraform.grants.plan_new",
        f"Terraform's own work: terraform plan of {grants} to add (no SQL)",
        f"{duration(tf['plan_new'])} ({tf['plan_new'] / pq['create']:.2f}x psql's create; {cpu('plan_new')})",
        "-", None)
    row("terraform.grants.plan_no_changes",
        f"Terraform's own work: terraform plan -refresh=false of {grants} in state (no SQL)",
        f"{duration(tf['plan_no_changes'])} ({tf['plan_no_changes'] / pq['refresh']:.2f}x psql's refresh; "
        f"{cpu('plan_no_changes')})", "-", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grants", type=int, default=int(os.environ.get("PGENTRA_BENCH_GRANTS", 1000)))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("PGENTRA_BENCH_ROUNDS", 3)))
    parser.add_argument("--roles", type=int, default=ROLES,
                        help=f"roles per contestant and round ({ROLES}, as the grants bench); more than {GROUPS}")
    parser.add_argument("--parallelism", type=int, default=16, help="terraform -parallelism (16)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (workspaces, state)")
    opts = parser.parse_args()
    if opts.rounds < 1 or opts.grants < 1 or opts.roles <= GROUPS:
        parser.error(f"--rounds and --grants at least 1, --roles more than {GROUPS}")
    try:
        release_binaries()
        terraform_binary()
        require_postgres()
    except PrerequisiteMissing as missing:
        print(f"terraform_grants: a prerequisite is missing:\n{missing}", file=sys.stderr)
        return 2

    scratch = Path(tempfile.mkdtemp(prefix="pgentra-tf-grants-"))
    times: dict[str, dict[str, list[float]]] = {"terraform": {}, "psql": {}}
    bench = Bench(scratch)
    try:
        for rnd in range(opts.rounds):
            order = ["terraform", "psql"] if rnd % 2 == 0 else ["psql", "terraform"]
            for contestant in order:
                print(f"round {rnd + 1}/{opts.rounds}: {contestant}", flush=True)
                roles = [f"tfb_{bench.dep.names.suffix}_r{rnd}{contestant[0]}_{i}" for i in range(opts.roles)]
                grants = mixed_grants(opts.grants, roles)
                bench.make_roles(roles)
                try:
                    got = (run_terraform(bench, grants, scratch / f"r{rnd}", opts.parallelism)
                           if contestant == "terraform" else run_psql(bench, grants))
                    held, expected = bench.acl_entries_of(roles), sum(acl_entries(g) for g in grants)
                    assert held == expected, f"{contestant} left {held} privileges and memberships, not {expected}"
                finally:
                    bench.drop_roles(roles)
                for step, took in got.items():
                    times[contestant].setdefault(step, []).append(took)
    finally:
        bench.close()
        if opts.keep:
            print(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    tf = {step: statistics.median(v) for step, v in times["terraform"].items()}
    pq = {step: statistics.median(v) for step, v in times["psql"].items()}
    report(opts, times, tf, pq)
    return 0


if __name__ == "__main__":
    sys.exit(main())
