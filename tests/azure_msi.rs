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
