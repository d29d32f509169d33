//! Managed identity through the App Service style endpoint (IDENTITY_ENDPOINT/IDENTITY_HEADER).
//! Its own test binary: it sets process environment variables.

mod azure_support;

use azure_support::env_for;
use pgentra::config::ProviderConfig;
use pgentra_emulator::{Emulator, EmulatorOptions};

#[tokio::test]
async fn the_host_managed_identity_signs_in_through_the_identity_endpoint() {
    let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
    let deployer = azure_support::deployer_config(&emu);
    std::env::set_var("IDENTITY_ENDPOINT", emu.msi_endpoint());
    std::env::set_var("IDENTITY_HEADER", emu.msi_header_secret());
    let config = ProviderConfig {
        use_msi: true,
        tenant_id: deployer.tenant_id.clone(),
        arm_endpoint: deployer.arm_endpoint.clone(),
        authority_host: deployer.authority_host.clone(),
        ca_cert_file: deployer.ca_cert_file.clone(),
        ..Default::default()
    };
    let host = emu.host_identity();
    let env = env_for(emu, config);
    let token = env
        .tokens
        .get(&env.endpoints.arm_scope)
        .await
        .expect("managed identity sign-in");
    let claims = env.emu.verify_token(token.token.secret()).unwrap();
    assert_eq!(claims["appid"], host.app_id);
    // And ARM accepts it.
    assert!(env
        .arm
        .get(&env.rg_path("none-here"), azure_support::RG)
        .await
        .unwrap()
        .is_none());
    assert_eq!(env.token_requests(), 1);
}

#[tokio::test]
async fn use_msi_signs_in_through_an_imds_style_msi_endpoint() {
    let deployer = azure_support::start().await;
    deployer.create_rg("rg-imds").await;
    let identity = deployer
        .arm
        .put(
            &deployer.identity_path("rg-imds", "id-vm"),
            azure_support::MSI,
            &serde_json::json!({"location": "eastus"}),
        )
        .await
        .unwrap();
    let user_assigned = identity["properties"]["clientId"]
        .as_str()
        .unwrap()
        .to_owned();
    let imds = |client_id: Option<String>| ProviderConfig {
        use_msi: true,
        msi_endpoint: Some(deployer.emu.imds_endpoint()),
        client_id,
        tenant_id: deployer.config.tenant_id.clone(),
        arm_endpoint: deployer.config.arm_endpoint.clone(),
        authority_host: deployer.config.authority_host.clone(),
        ca_cert_file: deployer.config.ca_cert_file.clone(),
        ..Default::default()
    };
    let host = deployer.emu.host_identity();
    let chain = |config: ProviderConfig| {
        let endpoints = pgentra::azure::CloudEndpoints::from_config(&config);
        let client = pgentra::azure::http::build_client(config.ca_cert_file.as_deref()).unwrap();
        (
            pgentra::azure::CredentialChain::from_config(&config, &endpoints, &client),
            endpoints,
        )
    };
    use azure_core::credentials::TokenCredential;
    // The system-assigned identity, then a user-assigned one picked by its client ID.
    for (client_id, app_id) in [
        (None, host.app_id.clone()),
        (Some(user_assigned.clone()), user_assigned.clone()),
    ] {
        let (chain, endpoints) = chain(imds(client_id));
        let token = chain
            .get_token(&[endpoints.postgres_scope().as_str()], None)
            .await
            .expect("managed identity sign-in through the metadata endpoint");
        let claims = deployer.emu.verify_token(token.token.secret()).unwrap();
        assert_eq!(claims["appid"], app_id.as_str());
        assert_eq!(claims["aud"], "https://ossrdbms-aad.database.windows.net");
    }
    assert_eq!(deployer.emu.imds_requests(), 2);
}
