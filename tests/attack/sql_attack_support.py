"""What the SQL attack tests share: fake TLS PostgreSQL servers on 127.0.0.1 that record what they
receive (above all a PasswordMessage), the certificates they present, `pgentra emulator` for real
tokens, and a plugin configured for it.

A fake server speaks just enough of the PostgreSQL protocol to be asked for a password: it answers
SSLRequest with 'S', completes the TLS handshake with its certificate, reads the startup message,
asks for a cleartext password (AuthenticationCleartextPassword), records the PasswordMessage and
refuses the sign-in. A client that sends a token there has handed it to whoever runs the server.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
import pytest

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"
if str(CONFORMANCE) not in sys.path:
    sys.path.insert(0, str(CONFORMANCE))

from arm_support import Emulator, RG, RG_API  # noqa: E402
from harness import BINARY, REPO_ROOT, FakeEngine, LoopbackListener, ProviderProcess, from_struct, secret, to_struct  # noqa: E402
from pulumi.runtime.proto import provider_pb2  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

PGENTRA = REPO_ROOT / "target" / "debug" / "pgentra"
SSL_REQUEST = 80877103
JWT_PREFIX = "eyJ"


# ---------------------------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(directory: Path, stem: str, cert: x509.Certificate, key) -> tuple[Path, Path]:
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Certificates:
    """A private CA (given to the plugin as caCertFile), a server certificate it signed for a name
    that is not the one dialled (127.0.0.1), and a self-signed certificate for 127.0.0.1."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="pgentra-sql-attack-")
        self.dir = Path(self._dir.name)
        now = datetime.datetime.now(datetime.timezone.utc)
        start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=1)

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = (x509.CertificateBuilder().subject_name(_name("pgentra attack test CA"))
              .issuer_name(_name("pgentra attack test CA")).public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                           data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                           crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
        self.ca, _ = _write(self.dir, "ca", ca, ca_key)

        leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf = (x509.CertificateBuilder().subject_name(_name("db.wrong-name.test")).issuer_name(ca.subject)
                .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(end)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("db.wrong-name.test")]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        self.wrong_name = _write(self.dir, "wrong-name", leaf, leaf_key)

        own_key = ec.generate_private_key(ec.SECP256R1())
        own = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(_name("127.0.0.1"))
               .public_key(own_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                              critical=False)
               .sign(own_key, hashes.SHA256()))
        self.self_signed = _write(self.dir, "self-signed", own, own_key)

    def bundle(self, *others: str | Path) -> Path:
        """One PEM file with this CA and `others` (the emulator's CA: its token service must verify)."""
        path = self.dir / f"bundle-{len(list(self.dir.iterdir()))}.pem"
        path.write_bytes(b"".join(Path(p).read_bytes() for p in (*others, self.ca)))
        return path

    def close(self):
        self._dir.cleanup()


# ---------------------------------------------------------------------------------------------
# The fake server
# ---------------------------------------------------------------------------------------------


def _recv_exactly(conn, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


class FakeTlsPostgres(LoopbackListener):
    """A loopback 'PostgreSQL server' presenting `cert`; records every byte it receives after the
    TLS handshake and every PasswordMessage."""

    def __init__(self, cert: tuple[Path, Path]):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert[0]), str(cert[1]))
        self.connections = 0
        self.handshakes = 0
        self.received = bytearray()
        self.passwords: list[bytes] = []
        self._lock = threading.Lock()
        super().__init__()

    def serve(self, conn):
        with self._lock:
            self.connections += 1
        threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket):
        conn.settimeout(10)
        try:
            first = _recv_exactly(conn, 8)
            length, code = struct.unpack("!ii", first)
            if length != 8 or code != SSL_REQUEST:
                with self._lock:
                    self.received += first
                return
            conn.sendall(b"S")
            tls = self.context.wrap_socket(conn, server_side=True)
            with self._lock:
                self.handshakes += 1
            (length,) = struct.unpack("!i", _recv_exactly(tls, 4))
            startup = _recv_exactly(tls, length - 4)
            with self._lock:
                self.received += startup
            tls.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
            kind = _recv_exactly(tls, 1)
            (length,) = struct.unpack("!i", _recv_exactly(tls, 4))
            body = _recv_exactly(tls, length - 4)
            with self._lock:
                self.received += kind + body
                if kind == b"p":
                    self.passwords.append(body.rstrip(b"\0"))
            fields = b"SFATAL\0C28P01\0Mpassword authentication failed (fake server)\0\0"
            tls.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)
            tls.close()
        except (OSError, ConnectionError, ssl.SSLError, struct.error):
            pass
        finally:
            conn.close()

    def got_a_token(self) -> bool:
        with self._lock:
            return bool(self.passwords) or JWT_PREFIX.encode() in bytes(self.received)


# ---------------------------------------------------------------------------------------------
# Fixtures: the emulator (real tokens), certificates, a plugin trusting the attack CA too
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator():
    if not PGENTRA.exists():
        pytest.fail(f"{PGENTRA} is missing: run `cargo build --bins` first", pytrace=False)
    emu = Emulator()
    try:
        status, _ = emu.call("PUT", f"/subscriptions/{emu.subscription}/resourcegroups/{RG}", RG_API,
                             {"location": "eastus"})
        assert status in (200, 201), status
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="module")
def certs():
    c = Certificates()
    yield c
    c.close()


@pytest.fixture
def engine():
    e = FakeEngine()
    yield e
    e.stop()


@pytest.fixture
def plugin(engine, emulator, certs):
    """A plugin configured for the emulator's deployer, trusting the emulator's CA and the attack CA."""
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run `cargo build --bins` first", pytrace=False)
    config = dict(emulator.info["providerConfig"])
    config["clientSecret"] = secret(config["clientSecret"])
    config["caCertFile"] = str(certs.bundle(emulator.info["caCertFile"]))
    p = ProviderProcess(["--logtostderr", "-v=9", engine.address], engine)
    try:
        yield p.start(config)
    finally:
        p.shutdown()


@pytest.fixture
def azure(engine, emulator):
    """A Pulumi plugin configured against the emulator (faults cleared afterwards)."""
    config = dict(emulator.info["providerConfig"])
    config["clientSecret"] = secret(config["clientSecret"])
    p = ProviderProcess(["--logtostderr", "-v=9", engine.address], engine)
    try:
        yield p.start(config)
    finally:
        p.shutdown()
        emulator.clear_faults()


@pytest.fixture
def fake_servers(certs):
    made: list[FakeTlsPostgres] = []

    def start(kind: str) -> FakeTlsPostgres:
        server = FakeTlsPostgres(certs.self_signed if kind == "self-signed" else certs.wrong_name)
        made.append(server)
        return server

    yield start
    for s in made:
        s.close()


def no_token_in(text: str, where: str) -> None:
    """No JWT anywhere in `text` (the plugin's stderr, the engine's log messages)."""
    assert JWT_PREFIX not in text, f"a token (eyJ...) appears in {where}"


def cli_env(emulator, ca_cert_file: str | Path, **extra: str) -> dict[str, str]:
    """The environment `pgentra psql` signs in with: the emulator's deployer (PG* cleared)."""
    config = emulator.info["providerConfig"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "AZURE_", "ARM_"))}
    env.update(AZURE_SUBSCRIPTION_ID=config["subscriptionId"], AZURE_TENANT_ID=config["tenantId"],
               AZURE_CLIENT_ID=config["clientId"], AZURE_CLIENT_SECRET=config["clientSecret"],
               PGENTRA_ARM_ENDPOINT=config["armEndpoint"], AZURE_AUTHORITY_HOST=config["authorityHost"],
               PGENTRA_CA_CERT_FILE=str(ca_cert_file), PGCONNECT_TIMEOUT="10")
    env.update(extra)
    return env


# ---------------------------------------------------------------------------------------------
# An emulated Entra-only server with the deployer as its Entra admin, for SQL through the gateway
# ---------------------------------------------------------------------------------------------

SERVER = "pgentra:index:FlexibleServer"
AD_ADMIN = "pgentra:index:AdAdmin"
DATABASE = "pgentra:index:Database"
PSQL = "psql"
BACKEND = "host=127.0.0.1 port=5432 user=postgres sslmode=disable"


class Hidden(str):
    """A token: its repr (what pytest shows of a failing assertion's arguments) hides it."""

    def __repr__(self) -> str:
        return "<token>"


class EntraServer:
    """What the tests need of the server: the `connection` input, the admin's name, psql through
    the gateway as the admin, and psql on the backend as its superuser (to see what SQL did)."""

    def __init__(self, emulator, fqdn: str, port: int, admin: str, token: str, backend_db: str):
        self.emulator, self.fqdn, self.port, self.admin, self.token = emulator, fqdn, port, admin, token
        self.backend_db = backend_db  # the backend's name of the server's `myappdb`

    def connection(self, database: str = "postgres") -> dict:
        return {"host": self.fqdn, "port": self.port, "database": database, "username": self.admin,
                "sslMode": "verify-full"}

    def as_admin(self, database: str, sql: str) -> str:
        """psql through the gateway, signed in as the Entra admin with a token."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGPASSWORD"] = self.token
        conninfo = (f"host={self.fqdn} port={self.port} dbname={database} sslmode=verify-full "
                    f"sslrootcert={self.emulator.info['caCertFile']} user='{self.admin}'")
        done = subprocess.run([PSQL, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql],
                              env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"psql as the admin in {database}: {sql!r}: {done.stderr.strip()}"
        return done.stdout.strip()

    def backend(self, sql: str, database: str | None = None) -> str:
        """psql on the backend PostgreSQL as its superuser (the server's myappdb by default)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        done = subprocess.run([PSQL, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                               f"{BACKEND} dbname={database or self.backend_db}", "-c", sql],
                              env=env, capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            pytest.fail(f"psql on the backend (127.0.0.1:5432 as postgres): {sql!r}: {done.stderr.strip()}\n"
                        "start PostgreSQL: pg_ctlcluster 15 main start", pytrace=False)
        return done.stdout.strip()


@pytest.fixture(scope="module")
def entra_server(emulator):
    """A passwordless server (Entra auth only) with the deployer as Entra admin and a database
    `myappdb`, made through a plugin of the fixture's own; deleted after the module."""
    if subprocess.run(["which", PSQL], capture_output=True).returncode != 0:
        pytest.fail("psql is not installed (apt-get install -y postgresql-client)", pytrace=False)
    from arm_support import check, create, delete, server_inputs
    from harness import unwrap

    engine = FakeEngine()
    config = dict(emulator.info["providerConfig"])
    config["clientSecret"] = secret(config["clientSecret"])
    p = ProviderProcess(["--logtostderr", "-v=9", engine.address], engine).start(config)
    made: list[tuple[str, str, str, dict]] = []

    def up(token: str, name: str, news: dict) -> dict:
        created = create(p, token, name, check(p, token, name, news))
        made.append((token, name, created.id, from_struct(created.properties)))
        return made[-1][3]

    try:
        me = _deployer(p, emulator)
        name = f"pg-attack-{os.getpid() % 100000}"
        fqdn = up(SERVER, "pg", server_inputs(name))["fullyQualifiedDomainName"]
        up(AD_ADMIN, "admin", {"resourceGroupName": RG, "serverName": name, "objectId": me["objectId"],
                               "principalName": me["name"], "principalType": "ServicePrincipal"})
        up(DATABASE, "db", {"resourceGroupName": RG, "serverName": name, "name": "myappdb"})
        port, prefix = _gateway(emulator, fqdn)
        resp = p.stub.Invoke(provider_pb2.InvokeRequest(tok="pgentra:index:getAccessToken", args=to_struct({})),
                             timeout=30)
        token = Hidden(unwrap(from_struct(getattr(resp, "return"))["token"]))
        server = EntraServer(emulator, fqdn, port, me["name"], token, f"{prefix}__myappdb")
        server.as_admin("myappdb", "SELECT 1")  # the admin's role exists from here on
        yield server
    finally:
        for token, name, id, state in reversed(made):
            try:
                delete(p, token, name, id, state)
            except grpc.RpcError:
                pass
        p.shutdown()
        engine.stop()


def _deployer(p, emulator) -> dict:
    resp = p.stub.Invoke(provider_pb2.InvokeRequest(tok="pgentra:index:getClientConfig", args=to_struct({})),
                         timeout=30)
    me = from_struct(getattr(resp, "return"))
    if not me.get("name"):
        sps = emulator.state()["directory"]["servicePrincipals"]
        me["name"] = next(sp["displayName"] for sp in sps if sp["appId"] == me["clientId"])
    return me


def _gateway(emulator, fqdn: str) -> tuple[int, str]:
    """The gateway's port and backend database prefix for `fqdn`."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for server in emulator.state()["flexibleServers"]:
            gateway = server.get("pgGateway")
            if gateway and gateway["host"] == fqdn:
                return gateway["port"], gateway["backendPrefix"]
        time.sleep(0.05)
    pytest.fail(f"the emulator reports no PostgreSQL gateway for {fqdn}", pytrace=False)


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"
