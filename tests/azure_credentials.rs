//! The credential chain against the emulator's token service: real HTTPS, real signed tokens.

mod azure_support;

use azure_core::credentials::TokenCredential;
use azure_support::{deployer_config, env_for, start};
use pgentra::azure::{http, CloudEndpoints, CredentialChain};
use pgentra::config::ProviderConfig;
use pgentra_emulator::{Emulator, EmulatorOptions};
use serde_json::json;

#[tokio::test]
async fn a_client_secret_token_is_asked_for_once_per_scope_across_many_calls() {
    let env = start().await;
    env.create_rg("rg-cache").await;
    let mut calls = Vec::new();
    for _ in 0..20 {
        let arm = env.arm.clone();
        let path = env.rg_path("rg-cache");
        calls.push(tokio::spawn(async move {
            arm.get(&path, azure_support::RG).await
        }));
    }
    for c in calls {
        assert!(c.await.unwrap().unwrap().is_some());
    }
    let pg_scope = env.endpoints.postgres_scope();
    for _ in 0..5 {
        let token = env.tokens.get(&pg_scope).await.unwrap();
        let claims = env.emu.verify_token(token.token.secret()).unwrap();
        assert_eq!(claims["aud"], "https://ossrdbms-aad.database.windows.net");
    }
    assert_eq!(
        env.token_requests(),
        2,
        "one for ARM, one for PostgreSQL, however many calls"
    );
}

#[tokio::test]
async fn when_no_source_works_the_error_names_each_source_and_why() {
    let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
    let deployer = deployer_config(&emu);
    // Nothing to sign in with: no secret, no token file, no managed identity; `az` is not logged
    // in to the emulator (or not installed).
    let config = ProviderConfig {
        tenant_id: deployer.tenant_id.clone(),
        authority_host: deployer.authority_host.clone(),
        ca_cert_file: deployer.ca_cert_file.clone(),
        ..Default::default()
    };
    let endpoints = CloudEndpoints::from_config(&config);
    let chain = CredentialChain::from_config(
        &config,
        &endpoints,
        &http::build_client(config.ca_cert_file.as_deref()).unwrap(),
    );
    let err = chain
        .get_token(&[endpoints.arm_scope.as_str()], None)
        .await
        .expect_err("nothing works")
        .to_string();
    println!("{err}");
    for source in [
        "client secret: not configured",
        "workload identity: not configured",
        "managed identity:",
        "Azure CLI:",
    ] {
        assert!(err.contains(source), "{source:?} missing from: {err}");
    }
    assert!(err.contains("clientSecret (AZURE_CLIENT_SECRET)"), "{err}");
    assert!(
        err.contains("oidcTokenFilePath (AZURE_FEDERATED_TOKEN_FILE)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_wrong_client_secret_reports_the_token_services_answer() {
    let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
    let mut config = deployer_config(&emu);
    config.client_secret = Some("not-the-secret".into());
    let env = env_for(emu, config);
    let err = env
        .tokens
        .get(&env.endpoints.arm_scope)
        .await
        .expect_err("refused")
        .to_string();
    println!("{err}");
    assert!(
        err.contains("client secret:") && err.contains("AADSTS"),
        "{err}"
    );
    assert!(
        !err.contains("not-the-secret"),
        "the secret must never appear in an error: {err}"
    );
}

#[tokio::test]
async fn workload_identity_signs_in_with_the_federated_token_file() {
    let deployer = start().await;
    deployer.create_rg("rg-wi").await;
    let identity_path = deployer.identity_path("rg-wi", "app-id");
    let identity = deployer
        .arm
        .put(
            &identity_path,
            azure_support::MSI,
            &json!({"location": "eastus"}),
        )
        .await
        .unwrap();
    let client_id = identity["properties"]["clientId"]
        .as_str()
        .unwrap()
        .to_string();
    let subject = "system:serviceaccount:apps:api";
    deployer
        .arm
        .put(
            &format!("{identity_path}/federatedIdentityCredentials/aks"),
            azure_support::MSI,
            &json!({"properties": {"issuer": deployer.emu.oidc_issuer_url(), "subject": subject, "audiences": ["api://AzureADTokenExchange"]}}),
        )
        .await
        .unwrap();
    let token_file = std::env::temp_dir().join(format!("pgentra-wi-{}.jwt", std::process::id()));
    std::fs::write(
        &token_file,
        deployer.emu.mint_service_account_token("apps", "api"),
    )
    .unwrap();

    let config = ProviderConfig {
        tenant_id: deployer.config.tenant_id.clone(),
        client_id: Some(client_id.clone()),
        oidc_token_file_path: Some(token_file.display().to_string()),
        authority_host: deployer.config.authority_host.clone(),
        arm_endpoint: deployer.config.arm_endpoint.clone(),
        ca_cert_file: deployer.config.ca_cert_file.clone(),
        ..Default::default()
    };
    let emu = deployer.emu;
    let workload = env_for(emu, config);
    let token = workload
        .tokens
        .get(&workload.endpoints.postgres_scope())
        .await
        .expect("federated sign-in");
    let claims = workload.emu.verify_token(token.token.secret()).unwrap();
    assert_eq!(claims["appid"], client_id.as_str());
    assert_eq!(claims["aud"], "https://ossrdbms-aad.database.windows.net");
    std::fs::remove_file(token_file).ok();
}

#[tokio::test]
async fn a_token_service_briefly_down_is_retried_until_it_answers() {
    let env = start().await;
    env.emu.add_fault(
        pgentra_emulator::FaultRule::new(pgentra_emulator::FaultKind::Unavailable, "/", 2)
            .on(pgentra_emulator::Service::Login),
    );
    let token = env
        .tokens
        .get(&env.endpoints.arm_scope)
        .await
        .expect("signed in after the outage");
    assert!(env.emu.verify_token(token.token.secret()).is_some());
    assert_eq!(
        env.token_requests(),
        1,
        "the retries happen below the cache"
    );
}

#[tokio::test]
async fn the_caller_is_read_from_the_arm_token() {
    let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
    let azure = pgentra::azure::Azure::from_config(&deployer_config(&emu)).unwrap();
    let caller = azure.caller().await.unwrap();
    let deployer = emu.deployer();
    assert_eq!(caller.tenant_id, emu.tenant_id());
    assert_eq!(caller.object_id, deployer.object_id);
    assert_eq!(caller.client_id.as_deref(), Some(deployer.app_id.as_str()));
    assert_eq!(caller.kind, "app");
}

#[tokio::test]
async fn github_actions_oidc_exchanges_a_fresh_id_token_at_each_sign_in() {
    let deployer = start().await;
    let client_id =
        azure_support::github_actions_identity(&deployer, "rg-actions", "id-actions").await;
    let config = ProviderConfig {
        tenant_id: deployer.config.tenant_id.clone(),
        client_id: Some(client_id.clone()),
        oidc_request_url: Some(deployer.emu.actions_id_token_request_url()),
        oidc_request_token: Some(deployer.emu.actions_id_token_request_token().to_owned()),
        authority_host: deployer.config.authority_host.clone(),
        arm_endpoint: deployer.config.arm_endpoint.clone(),
        ca_cert_file: deployer.config.ca_cert_file.clone(),
        ..Default::default()
    };
    let emu = deployer.emu;
    let actions = env_for(emu, config);
    assert_eq!(
        actions.emu.actions_id_token_requests(),
        0,
        "nothing asked before a sign-in"
    );
    let token = actions
        .tokens
        .get(&actions.endpoints.postgres_scope())
        .await
        .expect("federated sign-in with the job's ID token");
    let claims = actions.emu.verify_token(token.token.secret()).unwrap();
    assert_eq!(claims["appid"], client_id.as_str());
    assert_eq!(claims["aud"], "https://ossrdbms-aad.database.windows.net");
    assert_eq!(actions.emu.actions_id_token_requests(), 1);
    // Another audience is another sign-in, with a new ID token (they expire within minutes).
    let arm = actions
        .tokens
        .get(&actions.endpoints.arm_scope)
        .await
        .unwrap();
    assert!(actions.emu.verify_token(arm.token.secret()).is_some());
    assert_eq!(actions.emu.actions_id_token_requests(), 2);
}

#[tokio::test]
async fn a_wrong_actions_request_token_names_the_source_without_echoing_it() {
    let deployer = start().await;
    let client_id =
        azure_support::github_actions_identity(&deployer, "rg-actions-bad", "id-actions").await;
    let wrong = "not-the-request-token-0123456789";
    let config = ProviderConfig {
        tenant_id: deployer.config.tenant_id.clone(),
        client_id: Some(client_id),
        oidc_request_url: Some(deployer.emu.actions_id_token_request_url()),
        oidc_request_token: Some(wrong.into()),
        authority_host: deployer.config.authority_host.clone(),
        ca_cert_file: deployer.config.ca_cert_file.clone(),
        ..Default::default()
    };
    let actions = env_for(deployer.emu, config);
    let err = actions
        .tokens
        .get(&actions.endpoints.arm_scope)
        .await
        .expect_err("refused")
        .to_string();
    println!("{err}");
    assert!(err.contains("GitHub Actions OIDC:"), "{err}");
    assert!(err.contains("answered 401"), "{err}");
    assert!(err.contains("id-token: write"), "{err}");
    assert!(
        !err.contains(wrong),
        "the request token is never printed: {err}"
    );
}

#[tokio::test]
async fn an_msi_endpoint_without_use_msi_is_never_asked() {
    let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
    let deployer = deployer_config(&emu);
    let config = ProviderConfig {
        tenant_id: deployer.tenant_id.clone(),
        msi_endpoint: Some(emu.imds_endpoint()),
        authority_host: deployer.authority_host.clone(),
        ca_cert_file: deployer.ca_cert_file.clone(),
        ..Default::default()
    };
    let endpoints = CloudEndpoints::from_config(&config);
    let chain = CredentialChain::from_config(
        &config,
        &endpoints,
        &http::build_client(config.ca_cert_file.as_deref()).unwrap(),
    );
    let err = chain
        .get_token(&[endpoints.arm_scope.as_str()], None)
        .await
        .expect_err("no source is configured")
        .to_string();
    assert!(
        err.contains(
            "managed identity: not tried: msiEndpoint (ARM_MSI_ENDPOINT) is set but useMsi is not"
        ),
        "{err}"
    );
    assert!(err.contains("GitHub Actions OIDC: not configured"), "{err}");
    assert_eq!(emu.imds_requests(), 0, "the endpoint was not dialled");
}
