"""The go-plugin / tfplugin6 wire of terraform-provider-pgentra, proven against the real Terraform
1.0.3 binary and against an independent gRPC client (tfplugin-proto-all's tfplugin6.0 stubs).

Run: CARGO_TARGET_DIR=target cargo build -p pgentra-terraform && python -m pytest tests/terraform
"""

from __future__ import annotations

import base64
import datetime
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

sys.path.insert(0, str(Path(__file__).parent))
import tf_support  # noqa: E402
from tf_support import TerraformWorkspace, plugin_environment, provider_binary  # noqa: E402

# Only one tfplugin6_* module may be imported per process (they share a proto package).
from tfplugin_proto import tfplugin6_0_pb2 as tfplugin6  # noqa: E402
from tfplugin_proto import tfplugin6_0_pb2_grpc as tfplugin6_grpc  # noqa: E402

PROVIDER_ONLY_CONFIG = """
terraform {
  required_providers {
    pgentra = { source = "pgentra/pgentra" }
  }
}

provider "pgentra" {}
"""

TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z")


@pytest.fixture
def workspace(tmp_path: Path) -> TerraformWorkspace:
    ws = TerraformWorkspace(tmp_path)
    ws.write_config(PROVIDER_ONLY_CONFIG)
    return ws


@pytest.fixture
def initialised(workspace: TerraformWorkspace) -> TerraformWorkspace:
    result = workspace.run("init", "-no-color")
    assert result.returncode == 0, result.describe()
    return workspace


def log_time(line: str) -> datetime.datetime:
    match = TIMESTAMP.match(line)
    assert match, f"no timestamp in {line!r}"
    return datetime.datetime.fromisoformat(match.group(1))


# --- the real Terraform ------------------------------------------------------------------------


def test_init_installs_the_provider_offline_from_the_implied_local_mirror(
    workspace: TerraformWorkspace,
):
    result = workspace.run("init", "-no-color")

    assert result.returncode == 0, result.describe()
    assert "Installed pgentra/pgentra v0.1.0" in result.stdout, result.describe()
    assert (workspace.workdir / ".terraform.lock.hcl").is_file()


def test_validate_succeeds_over_automtls_with_protocol_6(initialised: TerraformWorkspace):
    result = initialised.run("validate", "-no-color", env={"TF_LOG": "trace"})

    assert result.returncode == 0, result.describe()
    assert "Success! The configuration is valid." in result.stdout, result.describe()
    log = result.stderr
    # Terraform generated its P-521 client certificate and the plugin answered with TLS.
    assert "configuring client automatic mTLS" in log
    assert "using plugin: version=6" in log
    assert "serving tfplugin6" in log and "tls=true" in log
    assert "GRPCProvider.v6: GetProviderSchema" in log
    assert "[ERROR]" not in log, result.describe()


def test_a_resource_type_the_schema_does_not_declare_is_reported_by_terraform(
    initialised: TerraformWorkspace,
):
    initialised.write_config('resource "pgentra_nothing" "x" {}\n', name="extra.tf")

    result = initialised.run("validate", "-no-color")

    assert result.returncode == 1, result.describe()
    assert "Invalid resource type" in result.stderr, result.describe()
    assert 'The provider pgentra/pgentra does not support resource type "pgentra_nothing"' in (
        " ".join(result.stderr.split())
    ), result.describe()


def test_plugin_exits_promptly_after_shutdown_instead_of_being_killed(
    initialised: TerraformWorkspace,
):
    result = initialised.run("validate", "-no-color", env={"TF_LOG": "trace"})
    assert result.returncode == 0, result.describe()
    lines = result.stderr.splitlines()

    # Terraform logs "Close" right before it calls GRPCController.Shutdown on an instance.
    closes = [line for line in lines if "GRPCProvider.v6: Close" in line]
    exits = [line for line in lines if "plugin process exited" in line]
    assert closes and len(closes) == len(exits), result.describe()
    assert "stopped serving reason=ShutdownRequested" in result.stderr
    assert "failed to exit gracefully" not in result.stderr
    # Each instance is gone well within go-plugin's 2-second kill grace.
    for close, exited in zip(closes, exits):
        assert (log_time(exited) - log_time(close)).total_seconds() < 1.0, (close, exited)


CHAIN_SLICE_CONFIG = PROVIDER_ONLY_CONFIG + """
resource "pgentra_flexible_server" "db" {
  resource_group_name = "rg-data"
  server_name         = "pg-orders"
  location            = "westeurope"
  version             = "16"
  sku_name            = "Standard_B1ms"
  tags                = { team = "data" }
}

resource "pgentra_grant" "connect" {
  sql_connection {
    host     = pgentra_flexible_server.db.fully_qualified_domain_name
    username = "admin@example.com"
  }
  role        = "orders-api"
  database    = "postgres"
  object_type = "database"
  privileges  = ["CONNECT"]
}
"""


def validate_with(workspace: TerraformWorkspace, config: str):
    workspace.write_config(config)
    initialised = workspace.run("init", "-no-color")
    assert initialised.returncode == 0, initialised.describe()
    return workspace.run("validate", "-no-color")


def test_validate_accepts_a_server_and_a_grant_with_its_sql_connection_block(
    workspace: TerraformWorkspace,
):
    result = validate_with(workspace, CHAIN_SLICE_CONFIG)

    assert result.returncode == 0, result.describe()
    assert "Success! The configuration is valid." in result.stdout, result.describe()


def test_validate_names_an_attribute_of_the_wrong_type(workspace: TerraformWorkspace):
    config = CHAIN_SLICE_CONFIG.replace('"Standard_B1ms"', '"Standard_B1ms"\n  storage_size_gb = "lots"')

    result = validate_with(workspace, config)

    assert result.returncode == 1, result.describe()
    text = " ".join(result.stderr.split())
    assert "storage_size_gb" in text, result.describe()
    assert "a number is required" in text, result.describe()


def test_validate_names_an_attribute_with_a_value_outside_its_enum(workspace: TerraformWorkspace):
    config = CHAIN_SLICE_CONFIG.replace('object_type = "database"', 'object_type = "galaxy"')

    result = validate_with(workspace, config)

    assert result.returncode == 1, result.describe()
    text = " ".join(result.stderr.split())
    assert "Invalid value for object_type" in text, result.describe()
    assert 'object_type = "galaxy"' in text, "Terraform points at the attribute in main.tf"
    assert '"galaxy" is not allowed' in text, result.describe()


def test_validate_names_a_member_of_the_sql_connection_block(workspace: TerraformWorkspace):
    config = CHAIN_SLICE_CONFIG.replace(
        'username = "admin@example.com"', 'username = "admin@example.com"\n    ssl_mode = "sometimes"'
    )

    result = validate_with(workspace, config)

    assert result.returncode == 1, result.describe()
    text = " ".join(result.stderr.split())
    assert "Invalid value for sql_connection.ssl_mode" in text, result.describe()
    assert 'ssl_mode = "sometimes"' in text, result.describe()


# --- the binary on its own ---------------------------------------------------------------------


def run_plugin_briefly(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(provider_binary())], env=env, capture_output=True, text=True, timeout=30
    )


def test_running_the_binary_directly_says_it_is_a_plugin_and_exits_1():
    result = run_plugin_briefly(plugin_environment(TF_PLUGIN_MAGIC_COOKIE=None))

    assert result.returncode == 1
    assert result.stdout == ""
    assert "Terraform provider plugin" in result.stderr
    assert "not a program to run directly" in result.stderr
    assert "terraform init" in result.stderr


def test_a_wrong_magic_cookie_is_refused_like_a_missing_one():
    result = run_plugin_briefly(plugin_environment(TF_PLUGIN_MAGIC_COOKIE="0123"))

    assert result.returncode == 1
    assert result.stdout == ""
    assert "TF_PLUGIN_MAGIC_COOKIE is wrong" in result.stderr


def test_a_host_offering_only_protocol_5_is_told_why_the_plugin_refuses():
    result = run_plugin_briefly(plugin_environment(PLUGIN_PROTOCOL_VERSIONS="5"))

    assert result.returncode != 0
    assert result.stdout == ""
    assert 'offered plugin protocol versions "5"' in result.stderr
    assert "speaks only protocol 6" in result.stderr


# --- an independent gRPC client through AutoMTLS -----------------------------------------------


def go_plugin_style_client_certificate() -> tuple[bytes, bytes]:
    """ECDSA P-521, CN localhost, O HashiCorp, IsCA: the recipe of go-plugin's AutoMTLS client."""
    key = ec.generate_private_key(ec.SECP521R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp"),
        ]
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(days=365 * 30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA512())
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate_pem, key_pem


class LaunchedPlugin:
    """The provider launched the way go-plugin launches it, up to the handshake line."""

    def __init__(self, env: dict[str, str]):
        self.process = subprocess.Popen(
            [str(provider_binary())],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.handshake = self._read_handshake_line(timeout=30).decode().rstrip("\n")
        self.fields = self.handshake.split("|")

    def _read_handshake_line(self, timeout: float) -> bytes:
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            self.process.kill()
            raise AssertionError(f"no handshake line within {timeout}s")
        return self.process.stdout.readline()

    @property
    def address(self) -> str:
        return self.fields[3]

    def server_certificate_pem(self) -> bytes:
        encoded = self.fields[5]
        der = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
        return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)

    def wait_for_exit(self, timeout: float) -> tuple[int, bytes, bytes]:
        stdout, stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode, stdout, stderr

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


@pytest.fixture
def client_certificate() -> tuple[bytes, bytes]:
    return go_plugin_style_client_certificate()


@pytest.fixture
def mtls_plugin(client_certificate):
    certificate_pem, _ = client_certificate
    plugin = LaunchedPlugin(plugin_environment(PLUGIN_CLIENT_CERT=certificate_pem.decode()))
    yield plugin
    plugin.stop()


def mtls_channel(plugin: LaunchedPlugin, client_certificate) -> grpc.Channel:
    certificate_pem, key_pem = client_certificate
    credentials = grpc.ssl_channel_credentials(
        root_certificates=plugin.server_certificate_pem(),
        private_key=key_pem,
        certificate_chain=certificate_pem,
    )
    # go-plugin's client verifies the server as "localhost".
    return grpc.secure_channel(
        plugin.address, credentials, options=[("grpc.ssl_target_name_override", "localhost")]
    )


def shutdown(channel: grpc.Channel) -> None:
    # plugin.GRPCController/Shutdown takes and returns an empty message.
    call = channel.unary_unary(
        "/plugin.GRPCController/Shutdown",
        request_serializer=lambda _: b"",
        response_deserializer=lambda data: data,
    )
    assert call(None, timeout=10) == b""


def test_handshake_line_announces_protocol_6_over_tls_on_loopback(mtls_plugin: LaunchedPlugin):
    core, app, network, address, protocol, certificate = mtls_plugin.fields

    assert (core, app, network, protocol) == ("1", "6", "tcp", "grpc")
    assert re.fullmatch(r"127\.0\.0\.1:\d+", address)
    assert len(certificate) > 50 and "=" not in certificate
    server_certificate = x509.load_pem_x509_certificate(mtls_plugin.server_certificate_pem())
    san = server_certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == ["localhost"]
    usages = server_certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usages


def test_independent_client_holding_a_p521_certificate_reads_the_schema_then_shuts_the_plugin_down(
    mtls_plugin: LaunchedPlugin, client_certificate
):
    with mtls_channel(mtls_plugin, client_certificate) as channel:
        provider = tfplugin6_grpc.ProviderStub(channel)
        schema = provider.GetProviderSchema(tfplugin6.GetProviderSchema.Request(), timeout=10)
        assert schema.HasField("provider") and schema.provider.HasField("block")
        assert "pgentra_flexible_server" in schema.resource_schemas
        assert list(schema.diagnostics) == []

        validated = provider.ValidateProviderConfig(
            tfplugin6.ValidateProviderConfig.Request(), timeout=10
        )
        assert list(validated.diagnostics) == []
        assert provider.StopProvider(tfplugin6.StopProvider.Request(), timeout=10).Error == ""

        started = time.monotonic()
        shutdown(channel)
    returncode, stdout, stderr = mtls_plugin.wait_for_exit(timeout=5)

    assert returncode == 0, stderr.decode()
    assert time.monotonic() - started < 1.5
    assert stdout == b"", "nothing but the handshake line may ever reach stdout"


def test_rpcs_the_provider_does_not_serve_answer_unimplemented(mtls_plugin, client_certificate):
    with mtls_channel(mtls_plugin, client_certificate) as channel:
        # GetFunctions (6.5): pgentra has no provider functions.
        call = channel.unary_unary(
            "/tfplugin6.Provider/GetFunctions",
            request_serializer=lambda _: b"",
            response_deserializer=lambda data: data,
        )
        with pytest.raises(grpc.RpcError) as raised:
            call(None, timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_health_service_reports_plugin_serving(mtls_plugin, client_certificate):
    with mtls_channel(mtls_plugin, client_certificate) as channel:
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=lambda service: b"\x0a" + bytes([len(service)]) + service,
            response_deserializer=lambda data: data,
        )
        # HealthCheckResponse{status: SERVING (1)}
        assert check(b"plugin", timeout=10) == b"\x08\x01"


def test_client_without_the_plugins_certificate_cannot_connect(mtls_plugin):
    stranger = x509.load_pem_x509_certificate(go_plugin_style_client_certificate()[0])
    credentials = grpc.ssl_channel_credentials(
        root_certificates=stranger.public_bytes(serialization.Encoding.PEM)
    )
    with grpc.secure_channel(
        mtls_plugin.address, credentials, options=[("grpc.ssl_target_name_override", "localhost")]
    ) as channel:
        provider = tfplugin6_grpc.ProviderStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            provider.GetProviderSchema(tfplugin6.GetProviderSchema.Request(), timeout=5)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE


def test_without_plugin_client_cert_the_plugin_serves_plaintext():
    plugin = LaunchedPlugin(plugin_environment())
    try:
        assert plugin.fields[5] == ""
        with grpc.insecure_channel(plugin.address) as channel:
            provider = tfplugin6_grpc.ProviderStub(channel)
            schema = provider.GetProviderSchema(tfplugin6.GetProviderSchema.Request(), timeout=10)
            assert schema.HasField("provider")
            shutdown(channel)
        returncode, _, _ = plugin.wait_for_exit(timeout=5)
        assert returncode == 0
    finally:
        plugin.stop()


def test_sigint_is_ignored_and_sigterm_stops_the_plugin():
    plugin = LaunchedPlugin(plugin_environment())
    try:
        plugin.process.send_signal(signal.SIGINT)
        with grpc.insecure_channel(plugin.address) as channel:
            provider = tfplugin6_grpc.ProviderStub(channel)
            # Still serving after Ctrl-C reached the process group.
            provider.GetProviderSchema(tfplugin6.GetProviderSchema.Request(), timeout=10)
        assert plugin.process.poll() is None

        plugin.process.send_signal(signal.SIGTERM)
        returncode, _, _ = plugin.wait_for_exit(timeout=5)
        assert returncode == 0
    finally:
        plugin.stop()


def test_plugin_listens_inside_the_port_range_the_host_gives():
    plugin = LaunchedPlugin(plugin_environment(PLUGIN_MIN_PORT="10000", PLUGIN_MAX_PORT="25000"))
    try:
        port = int(plugin.address.rsplit(":", 1)[1])
        assert 10000 <= port <= 25000
    finally:
        plugin.stop()


def test_missing_provider_binary_fails_with_the_build_command(monkeypatch, tmp_path):
    monkeypatch.setenv("PGENTRA_TARGET_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(tf_support.PrerequisiteMissing) as raised:
        provider_binary()
    assert "cargo build -p pgentra-terraform" in str(raised.value)
