"""Finding 7e of issue 11: `pgentra emulator` leaves nothing behind when it stops (SIGINT, SIGTERM):
not its CA file, not its servers' databases, not the roles it made in the backend PostgreSQL (the
Entra admin's role made on first sign-in, the principals pgaadauth created). Servers made at start
by `--server` (issue 13) included.

Through the real `pgentra emulator` process and the real plugin; the backend is read as its
superuser (127.0.0.1:5432, postgres).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
from pathlib import Path

import pytest

from sql_attack_support import (  # noqa: F401
    BACKEND,
    PGENTRA,
    PSQL,
    _deployer,
    _gateway,
    engine,
)
from arm_support import RG, RG_API, Emulator, check, create, server_inputs  # noqa: E402
from harness import ProviderProcess, secret  # noqa: E402


def backend(sql: str, database: str = "postgres") -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    done = subprocess.run([PSQL, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", f"{BACKEND} dbname={database}",
                           "-c", sql], env=env, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.fail(f"psql on the backend: {sql!r}: {done.stderr.strip()}\nstart PostgreSQL: pg_ctlcluster 15 main start",
                    pytrace=False)
    return done.stdout.strip()


def role_exists(name: str) -> bool:
    return backend(f"SELECT count(*) FROM pg_roles WHERE rolname = '{name}'") == "1"


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_emulator_removes_its_ca_file_databases_and_roles_when_it_stops(engine, stop_signal):
    if not PGENTRA.exists():
        pytest.fail(f"{PGENTRA} is missing: run `cargo build --bins` first", pytrace=False)
    emu = Emulator()
    ca_file = Path(emu.info["caCertFile"])
    p = None
    try:
        assert ca_file.is_file(), "the emulator wrote its CA file"
        status, _ = emu.call("PUT", f"/subscriptions/{emu.subscription}/resourcegroups/{RG}", RG_API,
                             {"location": "eastus"})
        assert status in (200, 201), status
        config = dict(emu.info["providerConfig"])
        config["clientSecret"] = secret(config["clientSecret"])
        p = ProviderProcess(["--logtostderr", "-v=9", engine.address], engine).start(config)
        me = _deployer(p, emu)
        # The Entra admin is a group of this run (the deployer a member): its role is new.
        group_name = f"pg-admins-cleanup-{secrets.token_hex(3)}"
        group = emu.admin("directory/groups", {"displayName": group_name, "members": [me["objectId"]]})
        name = f"pg-cleanup-{secrets.token_hex(3)}"
        fqdn = create(p, "pgentra:index:FlexibleServer", "pg",
                      check(p, "pgentra:index:FlexibleServer", "pg", server_inputs(name))).properties
        fqdn = fqdn.fields["fullyQualifiedDomainName"].string_value
        admin = {"resourceGroupName": RG, "serverName": name, "objectId": group["objectId"],
                 "principalName": group_name, "principalType": "Group"}
        create(p, "pgentra:index:AdAdmin", "admin", check(p, "pgentra:index:AdAdmin", "admin", admin))
        port, prefix = _gateway(emu, fqdn)
        principal = f"app-cleanup-{secrets.token_hex(3)}"
        news = {"connection": {"host": fqdn, "port": port, "username": group_name}, "name": principal,
                "objectId": "0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a69", "principalType": "service"}
        create(p, "pgentra:index:Principal", "app", check(p, "pgentra:index:Principal", "app", news))
        assert role_exists(principal) and role_exists(group_name)
        databases = f"SELECT count(*) FROM pg_database WHERE datname LIKE '{prefix}\\_\\_%'"
        assert backend(databases) != "0"
        p.shutdown()  # the plugin's pooled sessions end: nothing signed in as the emulator's roles
        p = None

        emu.proc.send_signal(stop_signal)
        code = emu.proc.wait(timeout=30)
        assert code == 0, f"pgentra emulator exited with {code}: {emu.proc.stderr.read()}"
    finally:
        if p is not None:
            p.shutdown()
        if emu.proc.poll() is None:
            emu.stop()
    left = []
    if ca_file.exists():
        left.append(f"the CA file {ca_file}")
    if backend(databases) != "0":
        left.append("the servers' databases")
    if role_exists(principal):
        left.append(f"the role {principal} pgaadauth made")
    if role_exists(group_name):
        left.append(f"the admin role {group_name} made on first sign-in")
    assert not left, "pgentra emulator left behind: " + "; ".join(left)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_servers_made_by_the_server_flag_are_removed_when_it_stops(stop_signal, tmp_path):
    if not PGENTRA.exists():
        pytest.fail(f"{PGENTRA} is missing: run `cargo build --bins` first", pytrace=False)
    suffix = secrets.token_hex(3)
    admin, servers = f"pg-admins-ready-{suffix}", [f"rg-ready/pg-ready-{suffix}", f"rg-ready/pg-also-{suffix}"]
    ca_file = tmp_path / "ca.pem"
    args = [str(PGENTRA), "emulator", "--json", "--lro-ms", "50", "--ca-file", str(ca_file), "--admin", admin]
    for server in servers:
        args += ["--server", server]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line, f"pgentra emulator printed nothing: {proc.stderr.read()}"
        printed = json.loads(line)
        config = printed["providerConfig"]
        env = {"PATH": os.environ["PATH"], "AZURE_TENANT_ID": config["tenantId"], "AZURE_CLIENT_ID": config["clientId"],
               "AZURE_CLIENT_SECRET": config["clientSecret"], "AZURE_AUTHORITY_HOST": config["authorityHost"],
               "PGENTRA_CA_CERT_FILE": config["caCertFile"]}
        prefixes = []
        for server in printed["servers"]:
            # The admin signs in (its role is made then), as the printed command does.
            done = subprocess.run([str(PGENTRA), *server["psql"], "--", "-tA", "-c", "SELECT current_user"],
                                  env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0 and done.stdout.strip() == admin, done.stderr
            state = backend("SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') "
                            f"LIKE '%server={server['resourceGroup']}/{server['name']} database=myappdb'")
            assert state, f"the database myappdb of {server['name']} is in the backend"
            prefixes.append(state.split("__")[0])
        assert ca_file.is_file() and role_exists(admin)

        proc.send_signal(stop_signal)
        code = proc.wait(timeout=30)
        assert code == 0, f"pgentra emulator exited with {code}: {proc.stderr.read()}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    left = []
    if ca_file.exists():
        left.append(f"the CA file {ca_file}")
    for prefix in prefixes:
        if backend(f"SELECT count(*) FROM pg_database WHERE datname LIKE '{prefix}\\_\\_%'") != "0":
            left.append(f"the databases {prefix}__*")
    if role_exists(admin):
        left.append(f"the admin role {admin} made on first sign-in")
    assert not left, "pgentra emulator left behind: " + "; ".join(left)
