"""Issue 11: 50 providers at once against one subscription with throttling on, all converging.
Fifty plugin processes (one per stack, as fifty engines would start them) each create a managed
identity of their own and a firewall rule of their own on one shared server, while the emulator
answers 429 (Retry-After: 1 s) to a stream of those writes and the server refuses writes that
overlap. Every create succeeds, and the emulator then holds exactly what the fifty states know.

Run: cargo build --bins && .venv/bin/python -m pytest tests/attack/test_life_many.py -q
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from life_support import (  # noqa: F401 (fixtures are found by name in the module)
    RG,
    SERVER,
    arm_conformance,
    assert_no_token_anywhere,
    check,
    create,
    emulator,
    engine,
    server_inputs,
    spawn,
)
from harness import secret  # noqa: E402 (life_support puts harness on the path)

PROVIDERS = 50
IDENTITY = "pgentra:index:ManagedIdentity"
FIREWALL_RULE = "pgentra:index:FirewallRule"
MSI_API = "2024-11-30"
PG_API = "2025-08-01"


def test_fifty_providers_at_once_under_throttling_all_converge(spawn, engine, emulator):
    config = dict(emulator.info["providerConfig"])
    config["clientSecret"] = secret(config["clientSecret"])
    server = "pg-life-many"
    owner = spawn().start(config)
    create(owner, SERVER, "pg", check(owner, SERVER, "pg", server_inputs(server)))
    emulator.ready_server(server)

    providers = [spawn().start(config) for _ in range(PROVIDERS)]
    identities_prefix = (f"/subscriptions/{emulator.subscription}/resourceGroups/{RG}"
                         "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-life-many")
    rules_prefix = f"{emulator.path('server', server)}/firewallRules/"
    for prefix in (identities_prefix, rules_prefix):
        emulator.admin("faults", {"pathPrefix": prefix, "method": "PUT", "count": PROVIDERS,
                                  "kind": {"type": "throttle", "retryAfter": 1}})

    def converge(i: int) -> tuple[str, str]:
        p = providers[i]
        identity = create(p, IDENTITY, "id", check(p, IDENTITY, "id", {
            "resourceGroupName": RG, "name": f"id-life-many-{i:02}", "location": "eastus"}))
        rule = create(p, FIREWALL_RULE, "office", check(p, FIREWALL_RULE, "office", {
            "resourceGroupName": RG, "serverName": server, "name": f"office-{i:02}",
            "startIpAddress": f"10.0.{i}.1", "endIpAddress": f"10.0.{i}.9"}))
        return identity.id, rule.id

    with ThreadPoolExecutor(max_workers=PROVIDERS) as pool:
        states = list(pool.map(converge, range(PROVIDERS)))  # each raises if its create failed

    assert emulator.faults() == [], "the throttling was used up by the creates"
    status, listed = emulator.call("GET", identities_prefix.rsplit("/", 1)[0], MSI_API)
    assert status == 200, listed
    held_identities = {i["id"].lower() for i in listed["value"] if i["name"].startswith("id-life-many")}
    assert held_identities == {identity.lower() for identity, _ in states}
    status, listed = emulator.call("GET", rules_prefix.rstrip("/"), PG_API)
    assert status == 200, listed
    assert {r["id"].lower() for r in listed["value"]} == {rule.lower() for _, rule in states}
    for p in [owner, *providers]:
        assert_no_token_anywhere(p, engine)
