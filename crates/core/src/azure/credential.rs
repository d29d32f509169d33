//! The credential chain, from the provider's config (not DefaultAzureCredential: no source is
//! guessed at). In order: client secret, workload identity (federated token file), GitHub
//! Actions OIDC, managed identity, Azure CLI. Each of the first four is tried only when its
//! settings are present (the managed identity of a VM only with `useMsi`); the Azure CLI is the
//! one source tried unasked. The first source that yields a token is kept for later scopes.
//! When every source fails, the error names each and why.

use crate::azure::actions_oidc::ActionsIdToken;
use crate::azure::imds::ImdsCredential;
use crate::azure::CloudEndpoints;
use crate::config::ProviderConfig;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind;
use azure_core::http::{AsyncRawResponse, ClientOptions, HttpClient, Request, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredential,
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// One link of the chain: a credential, or why it could not be set up.
/// A named source: a credential, or why it is not configured.
pub type NamedSource = (&'static str, Result<Arc<dyn TokenCredential>, String>);

struct Source {
    name: &'static str,
    credential: Result<Arc<dyn TokenCredential>, String>,
}

pub struct CredentialChain {
    sources: Vec<Source>,
    /// Index of the source that last worked (usize::MAX: none yet).
    chosen: AtomicUsize,
}

impl std::fmt::Debug for CredentialChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.sources.iter().map(|s| s.name))
            .finish()
    }
}

impl CredentialChain {
    /// A chain of named credentials, tried in order.
    pub fn new(sources: Vec<NamedSource>) -> Self {
        Self {
            sources: sources
                .into_iter()
                .map(|(name, credential)| Source { name, credential })
                .collect(),
            chosen: AtomicUsize::new(usize::MAX),
        }
    }

    /// The chain for a provider configuration (config values already carry the AZURE_* env).
    pub fn from_config(
        config: &ProviderConfig,
        endpoints: &CloudEndpoints,
        http: &reqwest::Client,
    ) -> Self {
        let client_options = || {
            let mut custom = CustomConfiguration::default();
            custom.authority_host = endpoints.authority_host.clone();
            ClientOptions {
                transport: Some(Transport::new(Arc::new(TokenServiceHttp(http.clone())))),
                cloud: Some(Arc::new(CloudConfiguration::Custom(custom))),
                ..Default::default()
            }
        };
        let tenant = config.tenant_id.clone().filter(|s| !s.is_empty());
        let client_id = config.client_id.clone().filter(|s| !s.is_empty());
        let missing = |what: &[(&str, bool)]| -> Option<String> {
            let names: Vec<&str> = what
                .iter()
                .filter(|(_, present)| !present)
                .map(|(n, _)| *n)
                .collect();
            (!names.is_empty()).then(|| format!("not configured: {} not set", names.join(", ")))
        };

        let secret = config.client_secret.clone().filter(|s| !s.is_empty());
        let client_secret = match missing(&[
            ("clientSecret (AZURE_CLIENT_SECRET)", secret.is_some()),
            ("tenantId (AZURE_TENANT_ID)", tenant.is_some()),
            ("clientId (AZURE_CLIENT_ID)", client_id.is_some()),
        ]) {
            Some(why) => Err(why),
            None => ClientSecretCredential::new(
                tenant.as_deref().unwrap_or_default(),
                client_id.clone().unwrap_or_default(),
                Secret::new(secret.unwrap_or_default()),
                Some(ClientSecretCredentialOptions {
                    client_options: client_options(),
                }),
            )
            .map(|c| c as Arc<dyn TokenCredential>)
            .map_err(|e| e.to_string()),
        };

        let token_file = config
            .oidc_token_file_path
            .clone()
            .filter(|s| !s.is_empty());
        let workload = match missing(&[
            (
                "oidcTokenFilePath (AZURE_FEDERATED_TOKEN_FILE)",
                token_file.is_some(),
            ),
            ("tenantId (AZURE_TENANT_ID)", tenant.is_some()),
            ("clientId (AZURE_CLIENT_ID)", client_id.is_some()),
        ]) {
            Some(why) => Err(why),
            None => WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions {
                    client_options: client_options(),
                },
                client_id: client_id.clone(),
                tenant_id: tenant.clone(),
                token_file_path: token_file.map(Into::into),
            }))
            .map(|c| c as Arc<dyn TokenCredential>)
            .map_err(|e| e.to_string()),
        };

        let request_url = config.oidc_request_url.clone().filter(|s| !s.is_empty());
        let request_token = config.oidc_request_token.clone().filter(|s| !s.is_empty());
        let github_actions = match missing(&[
            (
                "oidcRequestUrl (ACTIONS_ID_TOKEN_REQUEST_URL)",
                request_url.is_some(),
            ),
            (
                "oidcRequestToken (ACTIONS_ID_TOKEN_REQUEST_TOKEN)",
                request_token.is_some(),
            ),
            ("tenantId (AZURE_TENANT_ID)", tenant.is_some()),
            ("clientId (AZURE_CLIENT_ID)", client_id.is_some()),
        ]) {
            Some(why) => Err(why),
            None => ActionsIdToken::new(
                http.clone(),
                request_url.as_deref().unwrap_or_default(),
                request_token.unwrap_or_default(),
            )
            .and_then(|assertion| {
                ClientAssertionCredential::new(
                    tenant.clone().unwrap_or_default(),
                    client_id.clone().unwrap_or_default(),
                    assertion,
                    Some(ClientAssertionCredentialOptions {
                        client_options: client_options(),
                    }),
                )
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(|e| e.to_string())
            }),
        };

        // With a client secret the client ID is the service principal's, not an identity's.
        let identity_client_id = client_id.clone().filter(|_| config.client_secret.is_none());
        let msi_endpoint = config.msi_endpoint.clone().filter(|s| !s.is_empty());
        let app_service = std::env::var_os("IDENTITY_ENDPOINT").is_some()
            && std::env::var_os("IDENTITY_HEADER").is_some();
        let managed = match (config.use_msi, msi_endpoint, app_service) {
            // The metadata service style endpoint, only when asked for: an implicit probe of
            // 169.254.169.254 would reach out from every machine that runs a preview.
            (true, Some(endpoint), _) => {
                ImdsCredential::new(http.clone(), Some(&endpoint), identity_client_id)
                    .map(|c| Arc::new(c) as Arc<dyn TokenCredential>)
            }
            (false, Some(_), false) => Err(
                "not tried: msiEndpoint (ARM_MSI_ENDPOINT) is set but useMsi is not; set useMsi (ARM_USE_MSI=true)"
                    .to_owned(),
            ),
            // App Service and Functions set IDENTITY_ENDPOINT and IDENTITY_HEADER themselves.
            (_, _, true) => ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id: identity_client_id.map(UserAssignedId::ClientId),
                client_options: client_options(),
            }))
            .map(|c| c as Arc<dyn TokenCredential>)
            .map_err(|e| e.to_string()),
            (true, None, false) => ImdsCredential::new(http.clone(), None, identity_client_id)
                .map(|c| Arc::new(c) as Arc<dyn TokenCredential>),
            (false, None, false) => Err("not tried: set useMsi (ARM_USE_MSI=true) to sign in with the machine's managed identity, or IDENTITY_ENDPOINT for App Service style".to_owned()),
        };

        let cli = AzureCliCredential::new(Some(AzureCliCredentialOptions {
            tenant_id: tenant.clone(),
            ..Default::default()
        }))
        .map(|c| c as Arc<dyn TokenCredential>)
        .map_err(|e| e.to_string());

        Self::new(vec![
            ("client secret", client_secret),
            ("workload identity", workload),
            ("GitHub Actions OIDC", github_actions),
            ("managed identity", managed),
            ("Azure CLI", cli),
        ])
    }
}

#[async_trait::async_trait]
impl TokenCredential for CredentialChain {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let chosen = self.chosen.load(Ordering::Relaxed);
        if let Some(Source {
            credential: Ok(c), ..
        }) = self.sources.get(chosen)
        {
            return c.get_token(scopes, options).await;
        }
        let mut reasons = Vec::new();
        let mut unavailable = false;
        for (i, source) in self.sources.iter().enumerate() {
            match &source.credential {
                Err(why) => reasons.push(format!("{}: {why}", source.name)),
                Ok(c) => match c.get_token(scopes, options.clone()).await {
                    Ok(token) => {
                        tracing::debug!(source = source.name, "signed in");
                        self.chosen.store(i, Ordering::Relaxed);
                        return Ok(token);
                    }
                    Err(e) => {
                        unavailable |= is_transient(&e);
                        // azure_identity's own words drop the cause of a refused certificate.
                        let why =
                            crate::tls_failure::azure_endpoint_refused("the token service", &e)
                                .unwrap_or_else(|| one_line(&e.to_string()));
                        reasons.push(format!("{}: {why}", source.name))
                    }
                },
            }
        }
        // A source that could not reach its token service keeps the chain's error retryable.
        let kind = if unavailable {
            ErrorKind::Connection
        } else {
            ErrorKind::Credential
        };
        Err(azure_core::Error::with_message(
            kind,
            format!(
                "no credential worked; tried, in order:\n  - {}",
                reasons.join("\n  - ")
            ),
        ))
    }
}

/// The credentials' HTTP client: the provider's own, except that a refused certificate is not
/// left an I/O error, which azure_identity's retry policy would retry for over a minute and then
/// report without the cause.
#[derive(Debug)]
struct TokenServiceHttp(reqwest::Client);

#[async_trait::async_trait]
impl HttpClient for TokenServiceHttp {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        self.0.execute_request(request).await.map_err(|e| {
            // Not an I/O error any more, so not retried; the cause stays readable down the chain.
            match crate::tls_failure::certificate_error(&e) {
                Some(_) => {
                    azure_core::Error::with_error(ErrorKind::Other, e, "TLS certificate refused")
                }
                None => e,
            }
        })
    }
}

/// Whether a credential's error says the token service could not be reached or is unavailable
/// (no answer, 408, 429, 5xx) rather than that signing in was refused: looked for along the
/// error's whole chain, since azure_identity wraps the HTTP error in its own.
pub fn is_transient(error: &azure_core::Error) -> bool {
    // A refused certificate is refused again, whatever I/O error carries it.
    if crate::tls_failure::certificate_error(error).is_some() {
        return false;
    }
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(e) = e.downcast_ref::<azure_core::Error>() {
            match e.kind() {
                ErrorKind::Connection | ErrorKind::Io => return true,
                ErrorKind::HttpResponse { status, .. } => {
                    let code = u16::from(*status);
                    if code == 408 || code == 429 || (500..=599).contains(&code) {
                        return true;
                    }
                }
                _ => {}
            }
        }
        next = e.source();
    }
    false
}

fn one_line(s: &str) -> String {
    let s = s.split("\nTo troubleshoot").next().unwrap_or(s);
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
