//! Azure: the clouds, the credential chain (over azure_identity), the token cache, the ARM client
//! (retries, long-running operations, ARM's errors), typed ARM resource IDs and the named write
//! locks. Everything a resource shares about Azure lives here, once.

pub mod arm;
pub mod arm_error;
pub mod cloud;
pub mod credential;
pub mod http;
pub mod ids;
pub mod locks;
pub mod token_cache;

pub use arm::{ArmClient, RetryPolicy};
pub use arm_error::{ArmError, ErrorClass};
pub use cloud::CloudEndpoints;
pub use credential::CredentialChain;
pub use locks::Locks;
pub use token_cache::TokenCache;

use crate::config::ProviderConfig;
use std::sync::Arc;

/// What the resources use to talk to Azure: one per configured provider.
#[derive(Clone)]
pub struct Azure {
    pub endpoints: CloudEndpoints,
    pub tokens: Arc<TokenCache>,
    pub arm: ArmClient,
    pub locks: Arc<Locks>,
    pub subscription_id: Option<String>,
}

impl std::fmt::Debug for Azure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Azure").field("endpoints", &self.endpoints).field("subscription_id", &self.subscription_id).finish()
    }
}

impl Azure {
    /// Builds the HTTP client (trusting `caCertFile`), the credential chain and the ARM client.
    /// Nothing is sent yet: the first token is asked for on the first call.
    pub fn from_config(config: &ProviderConfig) -> Result<Self, ArmError> {
        let endpoints = CloudEndpoints::from_config(config);
        let http = http::build_client(config.ca_cert_file.as_deref())?;
        let chain = CredentialChain::from_config(config, &endpoints, &http);
        let tokens = Arc::new(TokenCache::new(Arc::new(chain)));
        let arm = ArmClient::new(http, &endpoints.arm_endpoint, &endpoints.arm_scope, tokens.clone());
        Ok(Self { endpoints, tokens, arm, locks: Arc::new(Locks::default()), subscription_id: config.subscription_id.clone() })
    }

    /// A token for the cloud's PostgreSQL audience (the password of an Entra login).
    pub async fn postgres_token(&self) -> Result<azure_core::credentials::AccessToken, ArmError> {
        self.tokens.get(&self.endpoints.postgres_scope()).await
    }
}
