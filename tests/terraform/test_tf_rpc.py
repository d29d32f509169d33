"""terraform-provider-pgentra's tfplugin6 answers checked against Terraform core's consistency
rules (PROTOCOL.md 2.7-2.9) by an independent client: the PyPI tfplugin6.0 stubs
(tfplugin-proto-all) and msgpack, playing "Terraform core" for the cases the CLI cannot show
(plan determinism across processes, unknowns only where allowed, the prior state returned
exactly, requires_replace, attribute paths of diagnostics, StopProvider).

Run: CARGO_TARGET_DIR=target cargo build -p pgentra-terraform && python -m pytest tests/terraform
"""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
import time
from pathlib import Path

import grpc
import msgpack
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tf_support import plugin_environment, provider_binary  # noqa: E402

# Only one tfplugin6_* module may be imported per process (they share a proto package).
from tfplugin_proto import tfplugin6_0_pb2 as tfplugin6  # noqa: E402
from tfplugin_proto import tfplugin6_0_pb2_grpc as tfplugin6_grpc  # noqa: E402

RESOURCE_TYPES = {
    "pgentra_flexible_server",
    "pgentra_ad_admin",
    "pgentra_managed_identity",
    "pgentra_federated_credential",
    "pgentra_database",
    "pgentra_firewall_rule",
    "pgentra_server_parameter",
    "pgentra_principal",
    "pgentra_grant",
}
SERVER = "pgentra_flexible_server"
GRANT = "pgentra_grant"
ERROR = tfplugin6.Diagnostic.ERROR


class Unknown:
    """A msgpack unknown ("known after apply"), any extension type."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown)

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()


def pack(value) -> bytes:
    def default(obj):
        if isinstance(obj, Unknown):
            return msgpack.ExtType(0, b"\x00")
        raise TypeError(obj)

    return msgpack.packb(value, default=default, use_bin_type=True)


def unpack(data: bytes):
    return msgpack.unpackb(data, ext_hook=lambda code, payload: UNKNOWN, raw=False)


def dynamic(value) -> tfplugin6.DynamicValue:
    return tfplugin6.DynamicValue(msgpack=pack(value))


class Plugin:
    """The provider launched like go-plugin launches it, plaintext, with a tfplugin6 stub."""

    def __init__(self):
        self.process = subprocess.Popen(
            [str(provider_binary())],
            env=plugin_environment(PGENTRA_LOG="debug"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        if not selector.select(30):
            self.process.kill()
            raise AssertionError("no handshake line within 30s")
        fields = self.process.stdout.readline().decode().rstrip("\n").split("|")
        assert fields[1] == "6" and fields[5] == "", fields
        self.channel = grpc.insecure_channel(fields[3])
        self.provider = tfplugin6_grpc.ProviderStub(self.channel)
        self.schema = self.provider.GetProviderSchema(
            tfplugin6.GetProviderSchema.Request(), timeout=10
        )

    def close(self) -> str:
        """Stops the plugin (once) and returns its stderr: the provider's log."""
        if not hasattr(self, "log"):
            self.channel.close()
            if self.process.poll() is None:
                self.process.kill()
            _, stderr = self.process.communicate(timeout=10)
            self.log = stderr.decode()
        return self.log

    # --- values shaped by the schema -------------------------------------------------------

    def block(self, type_name: str):
        return self.schema.resource_schemas[type_name].block

    def object(self, type_name: str, **values):
        """A config object as Terraform sends it: every attribute and block, null when unset."""
        return full_object(self.block(type_name), values)

    def plan(self, type_name: str, prior, config):
        return self.provider.PlanResourceChange(
            tfplugin6.PlanResourceChange.Request(
                type_name=type_name,
                prior_state=dynamic(prior),
                proposed_new_state=dynamic(proposed_new(self.block(type_name), prior, config)),
                config=dynamic(config),
            ),
            timeout=10,
        )

    def validate(self, type_name: str, config):
        return self.provider.ValidateResourceConfig(
            tfplugin6.ValidateResourceConfig.Request(type_name=type_name, config=dynamic(config)),
            timeout=10,
        )


def full_object(block, values: dict) -> dict:
    unexpected = set(values) - {a.name for a in block.attributes} - {
        b.type_name for b in block.block_types
    }
    assert not unexpected, f"not in the schema: {unexpected}"
    result = {a.name: values.get(a.name) for a in block.attributes}
    for nested in block.block_types:
        given = values.get(nested.type_name)
        result[nested.type_name] = None if given is None else full_object(nested.block, given)
    return result


def proposed_new(block, prior, config):
    """Terraform core's ProposedNew: computed attributes null in config take the prior value."""
    if config is None:
        return None
    result = {}
    for attribute in block.attributes:
        value = config[attribute.name]
        if attribute.computed and value is None and prior is not None:
            value = prior[attribute.name]
        result[attribute.name] = value
    for nested in block.block_types:
        value = config[nested.type_name]
        if value is not None:
            value = proposed_new(
                nested.block, None if prior is None else prior[nested.type_name], value
            )
        result[nested.type_name] = value
    return result


def attributes(block) -> dict:
    return {a.name: a for a in block.attributes}


def path_names(path) -> list:
    return [
        step.attribute_name
        if step.WhichOneof("selector") == "attribute_name"
        else step.element_key_int
        if step.WhichOneof("selector") == "element_key_int"
        else step.element_key_string
        for step in path.steps
    ]


def errors(diagnostics) -> list:
    return [d for d in diagnostics if d.severity == ERROR]


def assert_plan_valid(block, config, planned, prior=None):
    """Terraform core's AssertPlanValid for one block (PROTOCOL.md 2.7)."""
    for attribute in block.attributes:
        name = attribute.name
        wanted, got = config[name], planned[name]
        before = None if prior is None else prior[name]
        if got == wanted:
            continue
        if before is not None and wanted is not None and got == before:
            continue
        assert attribute.computed, f"{name}: planned {got!r} for a non-computed attribute set to {wanted!r}"
        if attribute.optional:
            assert wanted is None, f"{name}: optional+computed set to {wanted!r} but planned {got!r}"
    for nested in block.block_types:
        wanted, got = config[nested.type_name], planned[nested.type_name]
        assert (wanted is None) == (got is None), nested.type_name
        assert got is not UNKNOWN, f"the block {nested.type_name} itself may not be unknown"
        if wanted is not None:
            assert_plan_valid(nested.block, wanted, got)


@pytest.fixture
def plugin():
    launched = Plugin()
    yield launched
    launched.close()


def server_config(plugin: Plugin, **overrides):
    values = dict(
        resource_group_name="rg-data",
        server_name="pg-orders",
        location="westeurope",
        version="16",
        sku_name="Standard_B1ms",
        tags={"team": "data"},
    )
    values.update(overrides)
    return plugin.object(SERVER, **values)


def grant_config(plugin: Plugin, **overrides):
    values = dict(
        sql_connection={"host": "pg-orders.postgres.database.azure.com", "username": "admin@example.com"},
        role="orders-api",
        database="orders",
        object_type="database",
        privileges=["connect", "CREATE"],
    )
    values.update(overrides)
    return plugin.object(GRANT, **values)


def applied(planned: dict, **outputs) -> dict:
    """What an apply would have stored: the planned state with its unknowns filled."""
    state = dict(planned)
    for name, value in outputs.items():
        assert state[name] == UNKNOWN, name
        state[name] = value
    assert UNKNOWN not in state.values(), state
    return state


# --- GetProviderSchema ---------------------------------------------------------------------------


def test_schema_names_every_resource_the_data_source_and_no_token_source(plugin: Plugin):
    schema = plugin.schema

    assert set(schema.resource_schemas) == RESOURCE_TYPES
    assert set(schema.data_source_schemas) == {"pgentra_client_config"}
    assert list(schema.diagnostics) == []
    for name, resource in schema.resource_schemas.items():
        id_attribute = attributes(resource.block)["id"]
        assert (id_attribute.computed, id_attribute.optional, id_attribute.required) == (True, False, False), name
        assert json.loads(id_attribute.type) == "string"
        for attribute in resource.block.attributes:
            assert attribute.description, f"{name}.{attribute.name} has no description"
            assert attribute.description_kind == tfplugin6.StringKind.MARKDOWN
    client_config = attributes(schema.data_source_schemas["pgentra_client_config"].block)
    assert {"tenant_id", "subscription_id", "object_id", "name", "client_id"} <= set(client_config)
    assert all(a.computed and not a.optional for a in client_config.values())


def test_schema_flags_follow_the_description(plugin: Plugin):
    server = attributes(plugin.block(SERVER))

    def flags(attribute):
        return (attribute.required, attribute.optional, attribute.computed)

    assert flags(server["resource_group_name"]) == (True, False, False)
    assert flags(server["server_name"]) == (True, False, False), "auto-named in Pulumi, required here"
    assert flags(server["storage_size_gb"]) == (False, True, True)
    assert flags(server["sku_tier"]) == (False, True, True)
    # Left out, it keeps what Azure has (import plans empty); a secret is never read back.
    assert flags(server["public_network_access"]) == (False, True, True)
    assert flags(server["administrator_login_password"]) == (False, True, False)
    assert flags(server["fully_qualified_domain_name"]) == (False, False, True)
    assert server["administrator_login_password"].sensitive
    assert json.loads(server["storage_size_gb"].type) == "number"
    assert json.loads(server["tags"].type) == ["map", "string"]
    provider = attributes(plugin.schema.provider.block)
    assert provider["client_secret"].sensitive
    assert {"subscription_id", "tenant_id", "client_id", "oidc_token_file_path", "use_msi",
            "environment", "arm_endpoint", "authority_host", "ca_cert_file", "msi_endpoint",
            "oidc_request_url", "oidc_request_token"} <= set(provider)
    assert provider["oidc_request_token"].sensitive
    secrets = {"client_secret", "oidc_request_token"}
    assert not any(a.sensitive for n, a in provider.items() if n not in secrets)


def test_sql_resources_take_a_single_sql_connection_block(plugin: Plugin):
    for type_name in ("pgentra_grant", "pgentra_principal"):
        block = plugin.block(type_name)
        assert "connection" not in attributes(block)
        (nested,) = [b for b in block.block_types if b.type_name == "sql_connection"]
        assert nested.nesting == tfplugin6.Schema.NestedBlock.SINGLE
        assert (nested.min_items, nested.max_items) == (1, 1)
        members = attributes(nested.block)
        assert members["host"].required and members["username"].required
        for defaulted in ("port", "database", "ssl_mode"):
            assert members[defaulted].optional and members[defaulted].computed, defaulted


# --- PlanResourceChange ---------------------------------------------------------------------------


def test_a_create_plan_is_byte_identical_across_calls_and_processes(plugin: Plugin):
    config = server_config(plugin)
    first = plugin.plan(SERVER, None, config)
    second = plugin.plan(SERVER, None, config)
    other = Plugin()
    try:
        third = other.plan(SERVER, None, config)
    finally:
        other.close()

    assert list(first.diagnostics) == []
    assert first.planned_state.msgpack == second.planned_state.msgpack == third.planned_state.msgpack


def test_a_create_plan_fills_defaults_only_on_optional_computed_and_leaves_outputs_unknown(
    plugin: Plugin,
):
    config = server_config(plugin, storage_size_gb=64)
    response = plugin.plan(SERVER, None, config)
    planned = unpack(response.planned_state.msgpack)
    block = plugin.block(SERVER)

    assert list(response.diagnostics) == []
    assert_plan_valid(block, config, planned)
    assert planned["storage_size_gb"] == 64
    assert planned["sku_tier"] == "Burstable"
    assert planned["active_directory_auth"] == "Enabled"
    assert planned["password_auth"] == "Disabled"
    assert planned["public_network_access"] is None
    for name in ("id", "fully_qualified_domain_name", "state"):
        assert planned[name] == UNKNOWN, name
    for name, attribute in attributes(block).items():
        if planned[name] == UNKNOWN:
            assert attribute.computed, f"{name} planned unknown but not computed"


def test_unknown_config_values_stay_unknown_and_what_derives_from_them_too(plugin: Plugin):
    config = server_config(plugin, server_name=UNKNOWN, sku_name=UNKNOWN)
    response = plugin.plan(SERVER, None, config)
    planned = unpack(response.planned_state.msgpack)

    assert list(response.diagnostics) == []
    assert planned["server_name"] == UNKNOWN
    assert planned["sku_tier"] == UNKNOWN
    assert planned["storage_size_gb"] == 32
    assert_plan_valid(plugin.block(SERVER), config, planned)


def test_a_grant_plan_keeps_the_users_privileges_and_fills_the_connection_defaults(plugin: Plugin):
    config = grant_config(plugin)
    response = plugin.plan(GRANT, None, config)
    planned = unpack(response.planned_state.msgpack)

    assert list(response.diagnostics) == []
    assert_plan_valid(plugin.block(GRANT), config, planned)
    assert planned["privileges"] == ["connect", "CREATE"]
    assert planned["sql_connection"] == {
        "host": "pg-orders.postgres.database.azure.com",
        "port": 5432,
        "database": "postgres",
        "username": "admin@example.com",
        "ssl_mode": "verify-full",
    }


def test_a_principal_and_grant_plan_before_the_server_exists(plugin: Plugin):
    config = grant_config(
        plugin, sql_connection={"host": UNKNOWN, "username": "admin@example.com"}
    )
    response = plugin.plan(GRANT, None, config)
    planned = unpack(response.planned_state.msgpack)

    assert list(response.diagnostics) == []
    assert planned["sql_connection"]["host"] == UNKNOWN
    assert_plan_valid(plugin.block(GRANT), config, planned)


def test_a_plan_with_nothing_to_change_returns_the_prior_state_exactly(plugin: Plugin):
    config = server_config(plugin)
    planned = unpack(plugin.plan(SERVER, None, config).planned_state.msgpack)
    prior = applied(
        planned,
        id="/subscriptions/0000/resourceGroups/rg-data/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-orders",
        fully_qualified_domain_name="pg-orders.postgres.database.azure.com",
        state="Ready",
    )
    prior_bytes = pack(prior)
    response = plugin.provider.PlanResourceChange(
        tfplugin6.PlanResourceChange.Request(
            type_name=SERVER,
            prior_state=tfplugin6.DynamicValue(msgpack=prior_bytes),
            proposed_new_state=dynamic(proposed_new(plugin.block(SERVER), prior, config)),
            config=dynamic(config),
        ),
        timeout=10,
    )

    assert list(response.diagnostics) == []
    assert response.planned_state.msgpack == prior_bytes
    assert list(response.requires_replace) == []


def test_reordered_privileges_are_no_change(plugin: Plugin):
    planned = unpack(plugin.plan(GRANT, None, grant_config(plugin)).planned_state.msgpack)
    prior = applied(planned, id="pgentra-sql-grant-id")
    config = grant_config(plugin, privileges=["create", "CONNECT"])

    response = plugin.plan(GRANT, prior, config)

    assert unpack(response.planned_state.msgpack) == prior


def test_a_location_change_requires_replacement_and_a_tag_change_does_not(plugin: Plugin):
    config = server_config(plugin)
    planned = unpack(plugin.plan(SERVER, None, config).planned_state.msgpack)
    prior = applied(planned, id="/subscriptions/0000/x", fully_qualified_domain_name="h", state="Ready")

    moved = server_config(plugin, location="northeurope")
    replace = plugin.plan(SERVER, prior, moved)
    moved_plan = unpack(replace.planned_state.msgpack)
    assert [path_names(p) for p in replace.requires_replace] == [["location"]]
    assert moved_plan["location"] == "northeurope"
    assert_plan_valid(plugin.block(SERVER), moved, moved_plan, prior)

    tagged = server_config(plugin, tags={"team": "data", "tier": "gold"})
    update = plugin.plan(SERVER, prior, tagged)
    update_plan = unpack(update.planned_state.msgpack)
    assert list(update.requires_replace) == []
    assert update_plan["id"] == prior["id"]
    assert update_plan["fully_qualified_domain_name"] == "h", "stable outputs are kept"
    assert update_plan["state"] == UNKNOWN, "volatile outputs may change"
    assert_plan_valid(plugin.block(SERVER), tagged, update_plan, prior)


def test_a_destroy_plan_is_null(plugin: Plugin):
    planned = unpack(plugin.plan(SERVER, None, server_config(plugin)).planned_state.msgpack)
    prior = applied(planned, id="/x", fully_qualified_domain_name="h", state="Ready")

    response = plugin.plan(SERVER, prior, None)

    assert unpack(response.planned_state.msgpack) is None


def test_a_bad_value_fails_the_plan_as_a_diagnostic_on_its_attribute(plugin: Plugin):
    response = plugin.plan(SERVER, None, server_config(plugin, sku_tier="Cheap"))

    (diagnostic,) = errors(response.diagnostics)
    assert path_names(diagnostic.attribute) == ["sku_tier"]
    assert "Burstable" in diagnostic.detail


# --- Validate -------------------------------------------------------------------------------------


def test_validate_points_at_an_unknown_sku_tier(plugin: Plugin):
    response = plugin.validate(SERVER, server_config(plugin, sku_tier="Cheap"))

    (diagnostic,) = errors(response.diagnostics)
    assert path_names(diagnostic.attribute) == ["sku_tier"]
    assert "sku_tier" in diagnostic.summary
    assert '"Cheap" is not allowed' in diagnostic.detail


def test_validate_points_at_a_bad_privilege(plugin: Plugin):
    response = plugin.validate(GRANT, grant_config(plugin, privileges=["CONNECT", "FLY"]))

    found = errors(response.diagnostics)
    assert found, "a bad privilege must be refused"
    assert path_names(found[0].attribute)[0] == "privileges"
    assert "FLY" in found[0].detail


def test_validate_points_inside_the_sql_connection_block(plugin: Plugin):
    config = grant_config(
        plugin,
        sql_connection={"host": "h", "username": "u", "ssl_mode": "sometimes"},
    )

    (diagnostic,) = errors(plugin.validate(GRANT, config).diagnostics)

    assert path_names(diagnostic.attribute) == ["sql_connection", "ssl_mode"]


def test_validate_tolerates_unknown_values(plugin: Plugin):
    config = grant_config(
        plugin,
        role=UNKNOWN,
        privileges=UNKNOWN,
        sql_connection={"host": UNKNOWN, "username": UNKNOWN},
    )

    assert list(plugin.validate(GRANT, config).diagnostics) == []


def test_validate_provider_config_points_at_the_setting(plugin: Plugin):
    provider_block = plugin.schema.provider.block
    config = full_object(provider_block, {"environment": "mars", "client_secret": UNKNOWN})

    response = plugin.provider.ValidateProviderConfig(
        tfplugin6.ValidateProviderConfig.Request(config=dynamic(config)), timeout=10
    )

    (diagnostic,) = errors(response.diagnostics)
    assert path_names(diagnostic.attribute) == ["environment"]


# --- Configure, upgrade, import, stop -------------------------------------------------------------


def test_configure_tolerates_settings_not_known_yet(plugin: Plugin):
    config = full_object(
        plugin.schema.provider.block,
        {"subscription_id": UNKNOWN, "tenant_id": "11111111-1111-1111-1111-111111111111"},
    )

    response = plugin.provider.ConfigureProvider(
        tfplugin6.ConfigureProvider.Request(terraform_version="1.0.3", config=dynamic(config)),
        timeout=10,
    )

    assert list(response.diagnostics) == []


def test_upgrade_reads_stored_json_leniently_into_the_current_shape(plugin: Plugin):
    stored = {"id": "/x", "resource_group_name": "rg", "retired_attribute": 1}

    response = plugin.provider.UpgradeResourceState(
        tfplugin6.UpgradeResourceState.Request(
            type_name=SERVER, version=0, raw_state=tfplugin6.RawState(json=json.dumps(stored).encode())
        ),
        timeout=10,
    )

    assert list(response.diagnostics) == []
    upgraded = unpack(response.upgraded_state.msgpack)
    assert set(upgraded) == set(attributes(plugin.block(SERVER)))
    assert upgraded["id"] == "/x" and upgraded["resource_group_name"] == "rg"
    assert upgraded["location"] is None


def test_import_of_a_malformed_id_is_a_diagnostic_not_an_rpc_failure(plugin: Plugin):
    plugin.provider.ConfigureProvider(
        tfplugin6.ConfigureProvider.Request(
            terraform_version="1.0.3",
            config=dynamic(full_object(plugin.schema.provider.block, {})),
        ),
        timeout=10,
    )

    response = plugin.provider.ImportResourceState(
        tfplugin6.ImportResourceState.Request(type_name=SERVER, id="not-an-arm-id"), timeout=30
    )

    assert list(response.imported_resources) == []
    (diagnostic,) = errors(response.diagnostics)
    assert "pgentra_flexible_server" in diagnostic.summary


def test_an_unknown_resource_type_is_a_diagnostic(plugin: Plugin):
    response = plugin.validate("pgentra_nothing", {})

    (diagnostic,) = errors(response.diagnostics)
    assert "pgentra_nothing" in diagnostic.summary


def test_stop_provider_answers_promptly(plugin: Plugin):
    started = time.monotonic()
    response = plugin.provider.StopProvider(tfplugin6.StopProvider.Request(), timeout=10)

    assert response.Error == ""
    assert time.monotonic() - started < 1.0


def test_stop_provider_abandons_an_operation_in_flight_and_answers_it_with_a_diagnostic(
    plugin: Plugin,
):
    import socket

    # A TLS endpoint that accepts and never answers: signing in hangs until stopped.
    black_hole = socket.socket()
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(16)
    endpoint = f"https://127.0.0.1:{black_hole.getsockname()[1]}"
    try:
        configured = plugin.provider.ConfigureProvider(
            tfplugin6.ConfigureProvider.Request(
                terraform_version="1.0.3",
                config=dynamic(full_object(plugin.schema.provider.block, {
                    "subscription_id": "00000000-0000-0000-0000-0000000000aa",
                    "tenant_id": "11111111-1111-1111-1111-111111111111",
                    "client_id": "22222222-2222-2222-2222-222222222222",
                    "client_secret": "not-a-real-secret",
                    "arm_endpoint": endpoint,
                    "authority_host": endpoint,
                })),
            ),
            timeout=10,
        )
        assert list(configured.diagnostics) == []
        block = plugin.schema.data_source_schemas["pgentra_client_config"].block
        reading = plugin.provider.ReadDataSource.future(
            tfplugin6.ReadDataSource.Request(
                type_name="pgentra_client_config", config=dynamic(full_object(block, {}))
            ),
            timeout=60,
        )
        time.sleep(1.0)
        assert not reading.done(), "the sign-in should still be hanging"

        started = time.monotonic()
        assert plugin.provider.StopProvider(tfplugin6.StopProvider.Request(), timeout=10).Error == ""
        response = reading.result(timeout=5)
        elapsed = time.monotonic() - started
    finally:
        black_hole.close()

    assert elapsed < 2.0, elapsed
    (diagnostic,) = errors(response.diagnostics)
    assert "reading pgentra_client_config" in diagnostic.summary
    assert "stop" in diagnostic.summary
    assert "not-a-real-secret" not in plugin.close()


def test_an_operation_before_configure_is_a_diagnostic_naming_what_was_being_done(plugin: Plugin):
    planned = unpack(plugin.plan(SERVER, None, server_config(plugin)).planned_state.msgpack)
    response = plugin.provider.ApplyResourceChange(
        tfplugin6.ApplyResourceChange.Request(
            type_name=SERVER,
            prior_state=dynamic(None),
            planned_state=dynamic(planned),
            config=dynamic(server_config(plugin)),
        ),
        timeout=10,
    )

    (diagnostic,) = errors(response.diagnostics)
    assert diagnostic.summary.startswith("creating pgentra_flexible_server: ")
    assert "Configure" in diagnostic.summary
    assert not response.new_state.msgpack or unpack(response.new_state.msgpack) is None


# --- against the emulator: apply, read, import, delete ---------------------------------------------

IDENTITY = "pgentra_managed_identity"


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@pytest.fixture(scope="module")
def emulator():
    from tf_chain_support import EmulatorProcess  # the chain tests' emulator process

    provider_binary()  # fails with the build command when missing
    running = EmulatorProcess()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def configured(plugin: Plugin, emulator):
    settings = {snake(k): v for k, v in emulator.info["providerConfig"].items()}
    response = plugin.provider.ConfigureProvider(
        tfplugin6.ConfigureProvider.Request(
            terraform_version="1.0.3",
            config=dynamic(full_object(plugin.schema.provider.block, settings)),
        ),
        timeout=10,
    )
    assert list(response.diagnostics) == []
    return plugin


def emulator_resource_group(emulator, name: str) -> str:
    sub = emulator.info["subscriptionId"]
    status, body = emulator.arm(
        "PUT", f"/subscriptions/{sub}/resourcegroups/{name}", "2021-04-01", {"location": "eastus"}
    )
    assert status in (200, 201), (status, body)
    return name


def apply(plugin: Plugin, type_name: str, prior, planned, config):
    return plugin.provider.ApplyResourceChange(
        tfplugin6.ApplyResourceChange.Request(
            type_name=type_name,
            prior_state=dynamic(prior),
            planned_state=dynamic(planned),
            config=dynamic(config),
        ),
        timeout=120,
    )


def read(plugin: Plugin, type_name: str, state, private: bytes = b""):
    return plugin.provider.ReadResource(
        tfplugin6.ReadResource.Request(
            type_name=type_name, current_state=dynamic(state), private=private
        ),
        timeout=60,
    )


def assert_apply_compatible(planned: dict, new: dict) -> None:
    """Terraform core's AssertObjectCompatible: known planned values unchanged, no unknowns."""
    for name, value in planned.items():
        assert new[name] != UNKNOWN, f"{name} is still unknown after apply"
        if value != UNKNOWN:
            assert new[name] == value, f"{name}: planned {value!r}, but now {new[name]!r}"


def test_an_identity_is_created_read_planned_empty_imported_and_deleted(configured: Plugin, emulator):
    import uuid

    suffix = uuid.uuid4().hex[:6]
    rg = emulator_resource_group(emulator, f"rg-tf-rpc-{suffix}")
    config = configured.object(
        IDENTITY, resource_group_name=rg, name=f"id-rpc-{suffix}", location="eastus", tags={"env": "test"}
    )
    planned = unpack(configured.plan(IDENTITY, None, config).planned_state.msgpack)

    created = apply(configured, IDENTITY, None, planned, config)
    assert errors(created.diagnostics) == [], created.diagnostics
    state = unpack(created.new_state.msgpack)
    assert_apply_compatible(planned, state)
    assert state["id"].endswith(f"/userAssignedIdentities/id-rpc-{suffix}")
    assert state["principal_id"] and state["client_id"]

    refreshed = read(configured, IDENTITY, state, private=created.private)
    assert errors(refreshed.diagnostics) == []
    assert unpack(refreshed.new_state.msgpack) == state
    assert refreshed.private == created.private
    again = configured.plan(IDENTITY, state, config)
    assert again.planned_state.msgpack == pack(state), "a refreshed resource plans no change"

    imported = configured.provider.ImportResourceState(
        tfplugin6.ImportResourceState.Request(type_name=IDENTITY, id=state["id"]), timeout=60
    )
    assert errors(imported.diagnostics) == []
    (resource,) = imported.imported_resources
    assert resource.type_name == IDENTITY
    assert unpack(resource.state.msgpack) == state

    deleted = apply(configured, IDENTITY, state, None, None)
    assert errors(deleted.diagnostics) == []
    assert unpack(deleted.new_state.msgpack) is None
    gone = read(configured, IDENTITY, state)
    assert errors(gone.diagnostics) == []
    assert unpack(gone.new_state.msgpack) is None


def test_creating_what_exists_says_how_to_import_it_in_terraform_words(configured: Plugin, emulator):
    import uuid

    suffix = uuid.uuid4().hex[:6]
    rg = emulator_resource_group(emulator, f"rg-tf-rpc-{suffix}")
    name = f"id-taken-{suffix}"
    sub = emulator.info["subscriptionId"]
    identity_id = (
        f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/"
        f"userAssignedIdentities/{name}"
    )
    status, body = emulator.arm("PUT", identity_id, "2024-11-30", {"location": "eastus"})
    assert status in (200, 201), (status, body)
    config = configured.object(IDENTITY, resource_group_name=rg, name=name, location="eastus")
    planned = unpack(configured.plan(IDENTITY, None, config).planned_state.msgpack)

    response = apply(configured, IDENTITY, None, planned, config)

    (diagnostic,) = errors(response.diagnostics)
    assert diagnostic.summary.startswith("creating pgentra_managed_identity: "), diagnostic.summary
    assert "already exists; import it with `terraform import pgentra_managed_identity.<name> " in (
        diagnostic.summary
    ), diagnostic.summary
    assert "pulumi" not in diagnostic.summary.lower()
    assert not response.new_state.msgpack or unpack(response.new_state.msgpack) is None
