"""Issue 11, 7b for Terraform: StopProvider (Terraform's Ctrl-C) stops a server create's wait for
its long-running operation promptly, and the answer keeps the server's ID in the new state (with
an error diagnostic), so Terraform records the server instead of orphaning it. The emulator's
create never ends here (a 10-minute operation).

Run: cargo build --bins && .venv/bin/python -m pytest tests/attack/test_life_stop.py -q
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

TERRAFORM_TESTS = Path(__file__).resolve().parents[1] / "terraform"
if str(TERRAFORM_TESTS) not in sys.path:
    sys.path.insert(0, str(TERRAFORM_TESTS))

from test_tf_rpc import (  # noqa: E402,F401 (fixtures are found by name in the module)
    SERVER,
    configured,
    emulator,
    emulator_resource_group,
    errors,
    plugin,
    server_config,
    unpack,
    dynamic,
)
from tfplugin_proto import tfplugin6_0_pb2 as tfplugin6  # noqa: E402

PROMPTLY = 15.0  # generous: the wait it replaces is the whole 10-minute operation
JWT_START = "eyJ"


def test_stop_provider_stops_a_server_creates_wait_and_keeps_its_id(configured, emulator):
    rg = emulator_resource_group(emulator, "rg-life-stop")
    name = "pg-life-stopped"
    sub = emulator.info["subscriptionId"]
    server_id = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}"
    emulator.add_faults([{"pathPrefix": server_id, "count": 1, "kind": {"type": "lroSlow", "ms": 600_000}}])
    config = server_config(configured, resource_group_name=rg, server_name=name, location="eastus")
    planned = unpack(configured.plan(SERVER, None, config).planned_state.msgpack)
    applying = configured.provider.ApplyResourceChange.future(
        tfplugin6.ApplyResourceChange.Request(type_name=SERVER, prior_state=dynamic(None),
                                              planned_state=dynamic(planned), config=dynamic(config)),
        timeout=300,
    )
    emulator.wait_until(f"the create of {name} running",
                        lambda: f"{rg}/{name}".lower() in emulator.state()["busyServers"])
    time.sleep(1.0)  # the provider is now in its poll wait
    assert not applying.done(), "the create should still be waiting for the operation"

    assert configured.provider.StopProvider(tfplugin6.StopProvider.Request(), timeout=10).Error == ""
    response = applying.result(timeout=PROMPTLY)

    state = unpack(response.new_state.msgpack) if response.new_state.msgpack else None
    assert state is not None and state["id"].lower() == server_id.lower(), \
        f"the accepted server's ID must reach Terraform's state: {state!r} {list(response.diagnostics)}"
    (diagnostic,) = errors(response.diagnostics)
    assert "creating pgentra_flexible_server" in diagnostic.summary, diagnostic.summary
    assert "cancel" in (diagnostic.summary + diagnostic.detail).lower(), (diagnostic.summary, diagnostic.detail)
    log = configured.close()
    assert JWT_START not in log, "a token reached the provider's log"
    assert emulator.info["providerConfig"]["clientSecret"] not in log
