//! Shared by the tests/azure_*.rs tests: an emulator, a provider config pointing at it, and an
//! ARM client with fast retry timings whose token requests are counted.
#![allow(dead_code)]

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use pgentra::azure::{http, ArmClient, CloudEndpoints, CredentialChain, RetryPolicy, TokenCache};
use pgentra::config::ProviderConfig;
use pgentra_emulator::{Emulator, EmulatorOptions, RunningEmulator};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub const PG: &str = "2025-08-01";
pub const MSI: &str = "2024-11-30";
pub const RG: &str = "2021-04-01";

/// Counts the token requests that reach the credential chain.
#[derive(Debug)]
pub struct Counting {
    pub inner: Arc<dyn TokenCredential>,
    pub calls: AtomicUsize,
}

#[async_trait::async_trait]
impl TokenCredential for Counting {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.get_token(scopes, options).await
    }
}

/// A credential that hands out one token, valid for an hour, without a token service.
#[derive(Debug)]
pub struct FixedToken(pub &'static str);

#[async_trait::async_trait]
impl TokenCredential for FixedToken {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let expires =
            azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1);
        Ok(AccessToken::new(self.0, expires))
    }
}

pub struct Env {
    pub emu: RunningEmulator,
    pub config: ProviderConfig,
    pub endpoints: CloudEndpoints,
    pub counting: Arc<Counting>,
    pub tokens: Arc<TokenCache>,
    pub arm: ArmClient,
}

pub fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        initial_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        default_poll_interval: Duration::from_millis(50),
        min_poll_interval: Duration::from_millis(20),
        default_timeout: Duration::from_secs(60),
        ..RetryPolicy::default()
    }
}

/// The deployer's config (client secret) against the emulator, CA file included.
pub fn deployer_config(emu: &RunningEmulator) -> ProviderConfig {
    let settings = emu.provider_config().expect("writing the CA file");
    ProviderConfig::from_settings(&settings).expect("the emulator's provider config checks")
}

pub async fn start() -> Env {
    start_with(EmulatorOptions::default()).await
}

pub async fn start_with(options: EmulatorOptions) -> Env {
    let emu = Emulator::start(options).await.expect("emulator starts");
    let config = deployer_config(&emu);
    env_for(emu, config)
}

/// A client for `config` (the chain it describes), with counted token requests.
pub fn env_for(emu: RunningEmulator, config: ProviderConfig) -> Env {
    let endpoints = CloudEndpoints::from_config(&config);
    let client = http::build_client(config.ca_cert_file.as_deref()).expect("http client");
    let chain = CredentialChain::from_config(&config, &endpoints, &client);
    let counting = Arc::new(Counting {
        inner: Arc::new(chain),
        calls: AtomicUsize::new(0),
    });
    let tokens = Arc::new(TokenCache::new(counting.clone()));
    let arm = ArmClient::with_policy(
        client,
        &endpoints.arm_endpoint,
        &endpoints.arm_scope,
        tokens.clone(),
        fast_policy(),
    );
    Env {
        emu,
        config,
        endpoints,
        counting,
        tokens,
        arm,
    }
}

impl Env {
    pub fn sub(&self) -> String {
        self.emu.subscription_id().to_string()
    }

    pub fn rg_path(&self, rg: &str) -> String {
        format!("/subscriptions/{}/resourcegroups/{rg}", self.sub())
    }

    pub fn server_path(&self, rg: &str, name: &str) -> String {
        format!("/subscriptions/{}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}", self.sub())
    }

    pub fn identity_path(&self, rg: &str, name: &str) -> String {
        format!("/subscriptions/{}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}", self.sub())
    }

    pub async fn create_rg(&self, rg: &str) {
        self.arm
            .put(&self.rg_path(rg), RG, &json!({"location": "eastus"}))
            .await
            .expect("resource group");
    }

    pub fn token_requests(&self) -> usize {
        self.counting.calls.load(Ordering::SeqCst)
    }
}

pub fn server_body() -> serde_json::Value {
    json!({
        "location": "eastus",
        "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {
            "version": "16",
            "storage": {"storageSizeGB": 32},
            "authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"},
        },
    })
}

/// A user-assigned identity in `rg` that trusts the emulated GitHub Actions job (a federated
/// credential for the emulator's issuer and the job's subject); returns its client ID.
pub async fn github_actions_identity(env: &Env, rg: &str, name: &str) -> String {
    env.create_rg(rg).await;
    let path = env.identity_path(rg, name);
    let identity = env
        .arm
        .put(&path, MSI, &json!({"location": "eastus"}))
        .await
        .expect("creating the identity");
    env.arm
        .put(
            &format!("{path}/federatedIdentityCredentials/github"),
            MSI,
            &json!({"properties": {
                "issuer": env.emu.oidc_issuer_url(),
                "subject": pgentra_emulator::actions_oidc::ACTIONS_SUBJECT,
                "audiences": ["api://AzureADTokenExchange"],
            }}),
        )
        .await
        .expect("creating the federated credential");
    identity["properties"]["clientId"]
        .as_str()
        .expect("clientId")
        .to_owned()
}
