//! The seed's whole `az` section against the emulator over raw ARM: a server with Entra on and
//! passwords off, an admin group, an app identity with a federated credential for AKS, then the
//! workload signs in with its service-account token and gets a PostgreSQL token.

mod support;

use serde_json::json;
use support::{MSI, PG};

#[tokio::test]
async fn seed_chain_runs_end_to_end() {
    let env = support::start().await;
    let dir = env.emu.directory();
    let dev = dir.add_user("dev@contoso.example", "Developer");
    let admins = dir.add_group("pg-admins", &[&dev.object_id]);

    env.create_rg("rg-seed").await;
    let server = env.create_server("rg-seed", "pg-seed").await;
    assert_eq!(
        server["properties"]["authConfig"]["passwordAuth"],
        "Disabled"
    );
    let sp = env.server_path("rg-seed", "pg-seed");

    let admin = env
        .call("PUT", &format!("{sp}/administrators/{}?{PG}", admins.object_id),
            Some(json!({"properties": {"principalType": "Group", "principalName": "pg-admins", "tenantId": env.emu.tenant_id()}})))
        .await;
    assert_eq!(env.wait(&admin).await["status"], "Succeeded");

    let id = env.identity_path("rg-seed", "app-id");
    let identity = env
        .call(
            "PUT",
            &format!("{id}?{MSI}"),
            Some(json!({"location": "eastus"})),
        )
        .await
        .json();
    let fic = env
        .call("PUT", &format!("{id}/federatedIdentityCredentials/aks-app?{MSI}"),
            Some(json!({"properties": {"issuer": env.emu.oidc_issuer_url(), "subject": "system:serviceaccount:shop:api",
                "audiences": ["api://AzureADTokenExchange"]}})))
        .await;
    assert_eq!(fic.status, 201);

    // The pod: AZURE_CLIENT_ID + AZURE_FEDERATED_TOKEN_FILE -> a PostgreSQL token as the identity.
    let sa_token = env.emu.mint_service_account_token("shop", "api");
    let client_id = identity["properties"]["clientId"].as_str().unwrap();
    let r = env
        .client
        .post_form(
            &env.emu.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &sa_token),
                (
                    "scope",
                    "https://ossrdbms-aad.database.windows.net/.default",
                ),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let token = r.json()["access_token"].as_str().unwrap().to_string();
    let claims = env
        .emu
        .validate_access_token(&token, "https://ossrdbms-aad.database.windows.net")
        .unwrap();
    assert_eq!(claims["oid"], identity["properties"]["principalId"]);
    // The role name PostgreSQL expects for this principal is the identity's name.
    let p = dir.get(claims["oid"].as_str().unwrap()).unwrap();
    assert_eq!(p.login_name(), "app-id");
    // The developer logs in as the admin group, by membership.
    assert!(dir.is_member(&admins.object_id, &dev.object_id));
    assert_eq!(
        env.emu
            .server_administrators("rg-seed", "pg-seed")
            .unwrap()
            .len(),
        1
    );
    let state = env.emu.state();
    assert_eq!(
        state["userAssignedIdentities"][0]["federatedIdentityCredentials"][0]["subject"],
        "system:serviceaccount:shop:api"
    );
    env.assert_spec_clean();
    env.check_recorded_exchanges();
}
