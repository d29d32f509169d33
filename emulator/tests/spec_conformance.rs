//! Every ARM response body of a tour over all routes validates against the official specs,
//! and the validator itself notices a body that breaks them.

mod support;

use serde_json::json;
use support::{MSI, PG};

#[tokio::test]
async fn every_arm_response_of_a_full_tour_matches_the_official_specs() {
    let env = support::start().await;
    env.create_rg("rg-tour").await;
    let id = env.identity_path("rg-tour", "tour-id");
    env.call(
        "PUT",
        &format!("{id}?{MSI}"),
        Some(json!({"location": "eastus", "tags": {"k": "v"}})),
    )
    .await;
    env.call(
        "PATCH",
        &format!("{id}?{MSI}"),
        Some(json!({"tags": {"k": "w"}})),
    )
    .await;
    env.call("GET", &format!("{id}?{MSI}"), None).await;
    env.call(
        "GET",
        &format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?{MSI}",
            env.rg_path("rg-tour")
        ),
        None,
    )
    .await;
    env.call(
        "GET",
        &format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?{MSI}",
            env.sub()
        ),
        None,
    )
    .await;
    let fic = format!("{id}/federatedIdentityCredentials/tour-fic?{MSI}");
    env.call("PUT", &fic, Some(json!({"properties": {"issuer": env.emu.oidc_issuer_url(), "subject": "system:serviceaccount:a:b", "audiences": ["api://AzureADTokenExchange"]}}))).await;
    env.call("GET", &fic, None).await;
    env.call(
        "GET",
        &format!("{id}/federatedIdentityCredentials?{MSI}"),
        None,
    )
    .await;
    env.call(
        "PUT",
        &fic,
        Some(
            json!({"properties": {"issuer": "https://x", "subject": "s", "audiences": ["a", "b"]}}),
        ),
    )
    .await;

    let server = env.create_server("rg-tour", "pg-tour").await;
    assert_eq!(server["properties"]["state"], "Ready");
    let sp = env.server_path("rg-tour", "pg-tour");
    let oid = pgentra_emulator::util::uuid();
    for (path, body) in [
        (
            format!("{sp}/administrators/{oid}?{PG}"),
            json!({"properties": {"principalType": "User", "principalName": "alice@contoso.example"}}),
        ),
        (
            format!("{sp}/databases/tourdb?{PG}"),
            json!({"properties": {"charset": "UTF8", "collation": "en_US.utf8"}}),
        ),
        (
            format!("{sp}/firewallRules/tour-fw?{PG}"),
            json!({"properties": {"startIpAddress": "127.0.0.1", "endIpAddress": "127.0.0.2"}}),
        ),
        (
            format!("{sp}/configurations/work_mem?{PG}"),
            json!({"properties": {"value": "8192", "source": "user-override"}}),
        ),
    ] {
        let r = env.call("PUT", &path, Some(body)).await;
        env.wait(&r).await;
        env.call_raw("GET", &r.header("location").unwrap(), None)
            .await;
        env.call("GET", &path, None).await;
    }
    for list in [
        "administrators",
        "databases",
        "firewallRules",
        "configurations",
    ] {
        env.call("GET", &format!("{sp}/{list}?{PG}"), None).await;
    }
    let patch = env.call("PATCH", &format!("{sp}?{PG}"), Some(json!({"sku": {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"}, "properties": {"version": "17"}}))).await;
    env.wait(&patch).await;
    env.call("GET", &format!("{sp}?{PG}"), None).await;
    env.call(
        "GET",
        &format!(
            "{}/providers/Microsoft.DBforPostgreSQL/flexibleServers?{PG}",
            env.rg_path("rg-tour")
        ),
        None,
    )
    .await;
    env.call(
        "GET",
        &format!(
            "{}/providers/Microsoft.DBforPostgreSQL/flexibleServers?{PG}",
            env.sub()
        ),
        None,
    )
    .await;
    // Errors too: 404s, 400s, 409s.
    env.call(
        "GET",
        &format!("{}?{PG}", env.server_path("rg-tour", "nope")),
        None,
    )
    .await;
    env.call(
        "PATCH",
        &format!("{sp}?{PG}"),
        Some(json!({"properties": {"storage": {"storageSizeGB": 32}}})),
    )
    .await;
    let del = env.call("DELETE", &format!("{sp}?{PG}"), None).await;
    env.call("DELETE", &format!("{sp}?{PG}"), None).await;
    env.wait(&del).await;

    let checked = env.assert_spec_clean();
    assert!(
        checked >= 40,
        "only {checked} responses were checked against the specs"
    );
    let recorded = env.check_recorded_exchanges();
    assert!(
        recorded > checked,
        "requests are checked too ({recorded} bodies)"
    );
}

#[test]
fn the_validator_notices_bodies_that_break_the_spec() {
    let mut specs = pgentra_emulator::spec::Specs::load_default().expect("official specs");
    let (file, r) = specs
        .response_schema("GET", "/subscriptions/s/resourceGroups/r/providers/Microsoft.DBforPostgreSQL/flexibleServers/x", 200)
        .expect("server GET is in the spec");
    let bad = json!({"location": "eastus", "sku": {"name": "B1"}, "properties": {"state": "Sleeping", "storage": {"storageSizeGB": "big"}}});
    let errs = specs.validate_ref(&file, &r, &bad);
    let text = errs.join("\n");
    assert!(text.contains("'tier' is missing"), "{text}");
    assert!(text.contains("Sleeping"), "{text}");
    assert!(text.contains("expected integer"), "{text}");
    let (file, r) = specs
        .response_schema("PUT", "/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i/federatedIdentityCredentials/f", 201)
        .expect("FIC PUT is in the spec");
    let errs = specs.validate_ref(&file, &r, &json!({"properties": {"issuer": "https://x"}}));
    assert!(
        errs.iter().any(|e| e.contains("'subject' is missing")),
        "{errs:?}"
    );
    assert!(!specs
        .validate_common("ErrorResponse", &json!({"error": {"code": 5}}))
        .is_empty());
    let put = "/subscriptions/s/resourceGroups/r/providers/Microsoft.DBforPostgreSQL/flexibleServers/x/firewallRules/f";
    let errs = specs
        .check_request(
            "PUT",
            put,
            &json!({"properties": {"startIpAddress": "1.2.3.4"}}),
        )
        .expect("covered");
    assert!(
        errs.iter().any(|e| e.contains("'endIpAddress' is missing")),
        "{errs:?}"
    );
}
