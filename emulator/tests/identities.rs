//! User-assigned identities and their federated identity credentials.

mod support;

use serde_json::json;
use support::MSI;

#[tokio::test]
async fn identity_create_answers_201_then_update_answers_200() {
    let env = support::start().await;
    env.create_rg("rg-ids").await;
    let path = format!("{}?{MSI}", env.identity_path("rg-ids", "app-identity"));
    let created = env
        .call(
            "PUT",
            &path,
            Some(json!({"location": "eastus", "tags": {"a": "1"}})),
        )
        .await;
    assert_eq!(created.status, 201);
    let body = created.json();
    let principal_id = body["properties"]["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    let client_id = body["properties"]["clientId"].as_str().unwrap().to_string();
    assert_eq!(body["properties"]["tenantId"], env.emu.tenant_id());

    let updated = env
        .call(
            "PUT",
            &path,
            Some(json!({"location": "eastus", "tags": {"a": "2"}})),
        )
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.json()["tags"]["a"], "2");
    assert_eq!(
        updated.json()["properties"]["principalId"],
        principal_id.as_str()
    );

    // The identity's service principal exists in the directory under the identity's name.
    match env.emu.directory().get(&principal_id) {
        Some(pgentra_emulator::Principal::ServicePrincipal(sp)) => {
            assert_eq!(sp.display_name, "app-identity");
            assert_eq!(sp.app_id, client_id);
        }
        other => panic!("no service principal for the identity: {other:?}"),
    }

    // Names compare case-insensitively.
    let upper = env
        .call(
            "GET",
            &format!("{}?{MSI}", env.identity_path("RG-IDS", "APP-IDENTITY")),
            None,
        )
        .await;
    assert_eq!(upper.status, 200);

    assert_eq!(env.call("DELETE", &path, None).await.status, 200);
    assert_eq!(env.call("DELETE", &path, None).await.status, 204);
    let gone = env.call("GET", &path, None).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json()["error"]["code"], "ResourceNotFound");
    assert!(env.emu.directory().get(&principal_id).is_none());
    env.assert_spec_clean();
}

#[tokio::test]
async fn identity_in_missing_resource_group_is_resource_group_not_found() {
    let env = support::start().await;
    let r = env
        .call(
            "PUT",
            &format!("{}?{MSI}", env.identity_path("nope", "x-id")),
            Some(json!({"location": "eastus"})),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "ResourceGroupNotFound");
    assert_eq!(
        r.json()["error"]["message"],
        "Resource group 'nope' could not be found."
    );
    env.assert_spec_clean();
}

fn fic(issuer: &str, subject: &str, audiences: serde_json::Value) -> serde_json::Value {
    json!({"properties": {"issuer": issuer, "subject": subject, "audiences": audiences}})
}

#[tokio::test]
async fn federated_credentials_are_validated_as_azure_documents() {
    let env = support::start_with(pgentra_emulator::EmulatorOptions {
        fic_write_window: std::time::Duration::from_millis(10),
        ..Default::default()
    })
    .await;
    env.create_rg("rg-fic").await;
    let id = env.identity_path("rg-fic", "wl-app");
    env.call(
        "PUT",
        &format!("{id}?{MSI}"),
        Some(json!({"location": "eastus"})),
    )
    .await;
    let p = |n: &str| format!("{id}/federatedIdentityCredentials/{n}?{MSI}");
    let iss = "https://oidc.example/issuer";
    let aud = json!(["api://AzureADTokenExchange"]);

    let ok = env
        .call(
            "PUT",
            &p("aks-app"),
            Some(fic(iss, "system:serviceaccount:ns:app", aud.clone())),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", String::from_utf8_lossy(&ok.body));
    let again = env
        .call(
            "PUT",
            &p("aks-app"),
            Some(fic(iss, "system:serviceaccount:ns:app", aud.clone())),
        )
        .await;
    assert_eq!(again.status, 200);

    let two_aud = env
        .call("PUT", &p("two"), Some(fic(iss, "s2", json!(["a", "b"]))))
        .await;
    assert_eq!(two_aud.status, 400);
    assert!(two_aud.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("exactly one audience"));

    let dup = env
        .call(
            "PUT",
            &p("dup"),
            Some(fic(iss, "system:serviceaccount:ns:app", aud.clone())),
        )
        .await;
    assert_eq!(dup.status, 400);
    assert_eq!(
        dup.json()["error"]["message"],
        "Issuer and subject combination already exists for this Managed Identity."
    );

    let bad_name = env
        .call("PUT", &p("-x"), Some(fic(iss, "s3", aud.clone())))
        .await;
    assert_eq!(bad_name.status, 400);
    assert_eq!(
        bad_name.json()["error"]["message"],
        "Federated Identity Credential name '-x' is invalid."
    );

    let empty = env
        .call("PUT", &p("empty"), Some(json!({"properties": {}})))
        .await;
    assert_eq!(empty.status, 400);

    let no_parent = env
        .call(
            "PUT",
            &format!(
                "{}/federatedIdentityCredentials/x1y?{MSI}",
                env.identity_path("rg-fic", "ghost")
            ),
            Some(fic(iss, "s", aud.clone())),
        )
        .await;
    assert_eq!(no_parent.status, 404);

    for i in 1..20 {
        let r = env
            .call(
                "PUT",
                &p(&format!("fic{i:02}")),
                Some(fic(iss, &format!("sub-{i}"), aud.clone())),
            )
            .await;
        assert_eq!(r.status, 201, "fic {i}");
    }
    let over = env
        .call("PUT", &p("fic21"), Some(fic(iss, "sub-21", aud.clone())))
        .await;
    assert_eq!(over.status, 400, "the 21st credential is refused");

    let list = env
        .call(
            "GET",
            &format!("{id}/federatedIdentityCredentials?{MSI}"),
            None,
        )
        .await;
    assert_eq!(list.json()["value"].as_array().unwrap().len(), 20);
    // Paged with $top: follow nextLink verbatim until it ends.
    let mut seen = 0;
    let mut next = Some(format!(
        "{}{id}/federatedIdentityCredentials?{MSI}&$top=8",
        env.emu.arm_url()
    ));
    while let Some(url) = next {
        let page = env.call_raw("GET", &url, None).await.json();
        seen += page["value"].as_array().unwrap().len();
        next = page["nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(seen, 20);
    assert_eq!(env.call("DELETE", &p("aks-app"), None).await.status, 200);
    assert_eq!(env.call("DELETE", &p("aks-app"), None).await.status, 204);
    env.assert_spec_clean();
}

#[tokio::test]
async fn concurrent_federated_credential_writes_on_one_identity_conflict() {
    let env = support::start_with(pgentra_emulator::EmulatorOptions {
        fic_write_window: std::time::Duration::from_millis(600),
        ..Default::default()
    })
    .await;
    env.create_rg("rg-conc").await;
    let id = env.identity_path("rg-conc", "wl-app");
    env.call(
        "PUT",
        &format!("{id}?{MSI}"),
        Some(json!({"location": "eastus"})),
    )
    .await;
    let other = env.identity_path("rg-conc", "wl-app2");
    env.call(
        "PUT",
        &format!("{other}?{MSI}"),
        Some(json!({"location": "eastus"})),
    )
    .await;
    let aud = json!(["api://AzureADTokenExchange"]);
    let iss = "https://oidc.example/i";
    let first = format!("{id}/federatedIdentityCredentials/one?{MSI}");
    let (a, b, c) = tokio::join!(
        env.call("PUT", &first, Some(fic(iss, "s1", aud.clone()))),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            env.call(
                "PUT",
                &format!("{id}/federatedIdentityCredentials/two?{MSI}"),
                Some(fic(iss, "s2", aud.clone())),
            )
            .await
        },
        async {
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            env.call(
                "PUT",
                &format!("{other}/federatedIdentityCredentials/three?{MSI}"),
                Some(fic(iss, "s3", aud.clone())),
            )
            .await
        },
    );
    assert_eq!(a.status, 201);
    assert_eq!(b.status, 409);
    assert_eq!(
        b.json()["error"]["code"],
        "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"
    );
    assert_eq!(c.status, 201, "another identity is not blocked");
    // Once the first write is done, the retry succeeds.
    let retry = env
        .call(
            "PUT",
            &format!("{id}/federatedIdentityCredentials/two?{MSI}"),
            Some(fic(iss, "s2", aud)),
        )
        .await;
    assert_eq!(retry.status, 201);
    env.assert_spec_clean();
}
