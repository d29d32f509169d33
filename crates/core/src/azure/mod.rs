//! Azure: the clouds, the credential chain (over azure_identity), the token cache, the ARM client
//! (retries, long-running operations, ARM's errors), typed ARM resource IDs and the named write
//! locks. Everything a resource shares about Azure lives here, once.

pub mod actions_oidc;
pub mod arm;
pub mod arm_error;
pub mod az_cli;
pub mod cloud;
pub mod credential;
pub mod graph;
pub mod http;
pub mod ids;
pub mod imds;
pub mod locks;
pub mod token_cache;

pub use crate::error::ErrorClass;
pub use arm::{ArmClient, RetryPolicy};
pub use arm_error::ArmError;
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
    /// Microsoft Graph, only when the configuration names `graphEndpoint`.
    pub graph: Option<graph::GraphClient>,
    /// The configured subscription, or else (asked on first need) the Azure CLI's.
    subscription: Arc<std::sync::OnceLock<Option<String>>>,
}

impl std::fmt::Debug for Azure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Azure")
            .field("endpoints", &self.endpoints)
            .field("subscription", &self.subscription.get())
            .finish()
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
        let graph = config
            .graph_endpoint
            .as_deref()
            .filter(|e| !e.is_empty())
            .map(|e| {
                graph::GraphClient::new(http.clone(), e, endpoints.graph_scope(), tokens.clone())
            })
            .transpose()
            .map_err(ArmError::Setup)?;
        let arm = ArmClient::new(
            http,
            &endpoints.arm_endpoint,
            &endpoints.arm_scope,
            tokens.clone(),
        );
        Ok(Self {
            endpoints,
            tokens,
            arm,
            locks: Arc::new(Locks::default()),
            graph,
            subscription: Arc::new(match config.subscription_id.clone() {
                Some(id) => std::sync::OnceLock::from(Some(id)),
                None => std::sync::OnceLock::new(),
            }),
        })
    }

    /// The subscription for ARM resources: the configured one, else `az account show`'s, run
    /// once, when first needed (a configuration that never needs one never runs az).
    pub fn subscription_id(&self) -> Option<&str> {
        self.subscription
            .get_or_init(subscription_from_az)
            .as_deref()
    }

    /// The ARM client for one operation: the engine's timeout, when it set one, bounds every
    /// retry and poll of it.
    pub fn arm_within(&self, timeout: Option<std::time::Duration>) -> ArmClient {
        match timeout {
            Some(timeout) => self.arm.with_timeout(timeout),
            None => self.arm.clone(),
        }
    }

    /// A token for the cloud's PostgreSQL audience (the password of an Entra login).
    pub async fn postgres_token(&self) -> Result<azure_core::credentials::AccessToken, ArmError> {
        self.tokens.get(&self.endpoints.postgres_scope()).await
    }

    /// Who is signed in (for `getClientConfig`), read from the claims of the ARM token.
    pub async fn caller(&self) -> Result<Caller, ArmError> {
        let token = self.tokens.get(&self.endpoints.arm_scope).await?;
        Caller::from_token(token.token.secret())
    }
}

/// The Azure CLI's default subscription when the configuration names none (as azurerm does).
fn subscription_from_az() -> Option<String> {
    match az_cli::default_subscription() {
        Ok(id) => {
            tracing::debug!(subscription = %id, "subscription from `az account show`");
            Some(id)
        }
        Err(why) => {
            tracing::debug!(%why, "no subscription from the Azure CLI");
            None
        }
    }
}

/// The signed-in principal, from an access token's claims (not verified: the token came from
/// the token service over TLS and is only read here, never trusted for access decisions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub object_id: String,
    /// The application (client) ID, for service principals and managed identities.
    pub client_id: Option<String>,
    /// UPN for users, else the display name when the token carries one.
    pub name: Option<String>,
    /// `user` or `app` (Entra's `idtyp`, inferred from the claims when absent).
    pub kind: String,
}

impl Caller {
    pub fn from_token(token: &str) -> Result<Self, ArmError> {
        let bad =
            |why: &str| ArmError::Credential(format!("the access token cannot be read: {why}"));
        let payload = token.split('.').nth(1).ok_or_else(|| bad("not a JWT"))?;
        let bytes = azure_core::base64::decode_url_safe(payload)
            .map_err(|_| bad("payload is not base64url"))?;
        let claims: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| bad("payload is not JSON"))?;
        let s = |k: &str| {
            claims
                .get(k)
                .and_then(serde_json::Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let name = s("upn")
            .or_else(|| s("preferred_username"))
            .or_else(|| s("unique_name"))
            .or_else(|| s("name"));
        let kind = s("idtyp").unwrap_or_else(|| {
            if s("scp").is_some() {
                "user".into()
            } else {
                "app".into()
            }
        });
        Ok(Self {
            tenant_id: s("tid").ok_or_else(|| bad("no tid claim"))?,
            object_id: s("oid").ok_or_else(|| bad("no oid claim"))?,
            client_id: s("appid").or_else(|| s("azp")),
            name,
            kind,
        })
    }
}
