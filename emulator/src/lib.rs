//! pgentra-emulator: a local Azure for pgentra. HTTPS Azure Resource Manager (resource groups,
//! PostgreSQL flexible servers and their children, user-assigned identities and federated
//! credentials), an Entra token service, an App Service style managed-identity endpoint, an OIDC
//! issuer for Kubernetes-style service-account tokens, and a fault-injection admin API, all behind
//! one generated CA. Start it with [`Emulator::start`].

pub mod actions_oidc;
pub mod admin;
pub mod arm;
pub mod entra;
pub mod faults;
pub mod graph;
pub mod http;
pub mod imds;
pub mod msi_endpoint;
pub mod oidc;
pub mod pg;
mod router;
pub mod spec;
pub mod state;
pub mod tls;
pub mod util;

pub use entra::directory::{Directory, Group, Principal, ServicePrincipal, User};
pub use faults::{FaultKind, FaultRule};
pub use http::Service;
pub use state::Outcome;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The ARM audience (token resource) the emulator accepts, as Azure public cloud names it.
pub const ARM_RESOURCE: &str = "https://management.azure.com/";
/// The PostgreSQL (OSS RDBMS) token resource.
pub const POSTGRES_RESOURCE: &str = "https://ossrdbms-aad.database.windows.net";
/// The audience of workload-identity service-account tokens.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Errors while starting the emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("binding a listener: {0}")]
    Bind(#[from] std::io::Error),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    Jwt(#[from] entra::jwt::JwtError),
}

/// Why [`RunningEmulator::validate_access_token`] refused a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    #[error("the token's signature does not verify: {0}")]
    Signature(String),
    #[error("the token was issued by '{0}', not this tenant's token service")]
    Issuer(String),
    #[error("the token is for audience '{0}'")]
    Audience(String),
    #[error("the token expired at {0}")]
    Expired(u64),
}

/// How the emulator behaves.
#[derive(Clone, Debug)]
pub struct EmulatorOptions {
    /// How long each long-running operation runs before it ends.
    pub lro_duration: Duration,
    /// The `Retry-After` (seconds) given with 202 answers and running operations.
    pub retry_after_secs: u64,
    /// Lifetime of the access tokens the token service issues.
    pub token_lifetime: Duration,
    /// How long one federated-credential write holds its identity (a second write meanwhile gets 409).
    pub fic_write_window: Duration,
    pub tenant_id: String,
    pub subscription_id: String,
    /// The address all listeners bind to (port 0 = ephemeral).
    pub bind_ip: std::net::IpAddr,
    /// Fixed ports (ARM, login, MSI, OIDC); None = ephemeral.
    pub ports: Option<[u16; 4]>,
    /// Extra host names or IPs the server certificates must carry.
    pub extra_names: Vec<String>,
    /// Whether a server may ask for a PostgreSQL version other than the backend's (it is then
    /// reported as asked, though the PostgreSQL inside stays the backend's); when false such a
    /// request is refused, naming the backend's version. A server that names no version is the
    /// backend's either way.
    pub any_server_version: bool,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        Self {
            lro_duration: Duration::from_millis(100),
            retry_after_secs: 0,
            token_lifetime: Duration::from_secs(3600),
            fic_write_window: Duration::from_millis(150),
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            subscription_id: "00000000-0000-0000-0000-0000000000aa".into(),
            bind_ip: std::net::Ipv4Addr::LOCALHOST.into(),
            ports: None,
            extra_names: Vec::new(),
            any_server_version: true,
        }
    }
}

/// The URLs of the emulator's faces.
#[derive(Clone, Debug)]
pub struct Urls {
    /// ARM base URL, no trailing slash (`https://127.0.0.1:PORT`).
    pub arm: String,
    /// Authority host (`https://127.0.0.1:PORT`); tokens at `{authority}/{tenant}/oauth2/v2.0/token`.
    pub authority: String,
    /// Managed-identity endpoint (IDENTITY_ENDPOINT).
    pub msi: String,
    /// OIDC issuer of service-account tokens.
    pub oidc_issuer: String,
}

pub(crate) struct Inner {
    pub opts: EmulatorOptions,
    pub keys: entra::jwt::KeyPair,
    pub ca: tls::CertificateAuthority,
    pub directory: Directory,
    pub world: Mutex<state::World>,
    pub faults: Mutex<faults::Faults>,
    pub urls: Urls,
    pub msi_header: String,
    pub deployer: ServicePrincipal,
    pub host_identity: ServicePrincipal,
    pub exchanges: Mutex<Vec<Exchange>>,
    /// The LRO duration in force (milliseconds); starts as `opts.lro_duration`, settable at run time.
    pub lro_ms: std::sync::atomic::AtomicU64,
    /// The lifetime of tokens issued from now on (seconds); starts as `opts.token_lifetime`.
    pub token_lifetime_s: std::sync::atomic::AtomicU64,
    /// Access tokens issued so far, by audience (resource), as `/_emulator/state` reports them.
    pub tokens_issued: Mutex<std::collections::BTreeMap<String, u64>>,
    /// The PostgreSQL token gateways, one per server (see [`pg`]).
    pub(crate) pg: pg::Gateways,
    /// The backend PostgreSQL's version and settings, once read (see `arm::backend_facts`).
    pub(crate) backend_facts: Mutex<Option<Arc<arm::backend_facts::BackendFacts>>>,
    pub(crate) imds_requests: imds::ImdsRequests,
    pub(crate) actions: actions_oidc::ActionsJob,
}

/// One ARM request and its answer, as recorded for checking against the specs.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exchange {
    pub method: String,
    /// The request path (no query).
    pub path: String,
    pub query: String,
    /// The request body, when it was JSON.
    pub request: Option<serde_json::Value>,
    pub status: u16,
    /// The response's `Retry-After` header, when it had one (how long the client is asked to
    /// wait before polling: what an ARM traffic count judges the polls by).
    pub retry_after: Option<String>,
    /// The response body, when it was JSON.
    pub response: Option<serde_json::Value>,
}

/// How many ARM exchanges are kept (the oldest are dropped first).
const MAX_EXCHANGES: usize = 20_000;

impl Inner {
    pub fn record(&self, e: Exchange) {
        let mut x = self.exchanges.lock().unwrap_or_else(|e| e.into_inner());
        if x.len() >= MAX_EXCHANGES {
            x.remove(0);
        }
        x.push(e);
    }

    pub fn world(&self) -> std::sync::MutexGuard<'_, state::World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn faults(&self) -> std::sync::MutexGuard<'_, faults::Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Entry point.
pub struct Emulator;

impl Emulator {
    /// Generates the CA and signing key, binds the listeners and starts serving on the current runtime.
    pub async fn start(opts: EmulatorOptions) -> Result<RunningEmulator, EmulatorError> {
        let ca = tls::CertificateAuthority::generate()?;
        let keys = tokio::task::spawn_blocking(entra::jwt::KeyPair::generate)
            .await
            .map_err(|e| entra::jwt::JwtError::KeyGen(e.to_string()))??;
        let mut names = opts.extra_names.clone();
        names.push(opts.bind_ip.to_string());
        let tls = ca.server_config(&names)?;
        let ports = opts.ports.unwrap_or([0; 4]);
        let mut listeners = Vec::new();
        for p in ports {
            listeners.push(TcpListener::bind(SocketAddr::new(opts.bind_ip, p)).await?);
        }
        let base = |l: &TcpListener| -> Result<String, std::io::Error> {
            let a = l.local_addr()?;
            Ok(match a {
                SocketAddr::V4(v4) => format!("https://{}:{}", v4.ip(), v4.port()),
                SocketAddr::V6(v6) => format!("https://[{}]:{}", v6.ip(), v6.port()),
            })
        };
        let urls = Urls {
            arm: base(&listeners[0])?,
            authority: base(&listeners[1])?,
            msi: format!("{}/msi/token", base(&listeners[2])?),
            oidc_issuer: base(&listeners[3])?,
        };
        let directory = Directory::default();
        let deployer = directory.add_service_principal("pgentra-deployer");
        let host_identity = directory.add_service_principal("pgentra-emulator-host");
        let inner = Arc::new(Inner {
            keys,
            ca,
            directory: directory.clone(),
            world: Mutex::new(state::World {
                loopback_block: util::loopback_block(),
                ..state::World::default()
            }),
            faults: Mutex::new(faults::Faults::default()),
            urls: urls.clone(),
            msi_header: util::secret(32),
            deployer,
            host_identity,
            exchanges: Mutex::new(Vec::new()),
            lro_ms: std::sync::atomic::AtomicU64::new(opts.lro_duration.as_millis() as u64),
            token_lifetime_s: std::sync::atomic::AtomicU64::new(opts.token_lifetime.as_secs()),
            tokens_issued: Mutex::default(),
            pg: Default::default(),
            backend_facts: Mutex::default(),
            imds_requests: Default::default(),
            actions: Default::default(),
            opts,
        });
        let (tx, rx) = watch::channel(false);
        let services = [Service::Arm, Service::Login, Service::Msi, Service::Oidc];
        for (listener, service) in listeners.into_iter().zip(services) {
            let handler = Arc::new(router::Router(inner.clone()));
            tokio::spawn(http::serve(
                listener,
                tls.clone(),
                service,
                handler,
                rx.clone(),
            ));
        }
        tokio::spawn(pg::run(inner.clone(), rx.clone()));
        tracing::info!(arm = %urls.arm, authority = %urls.authority, "emulator started");
        Ok(RunningEmulator {
            inner,
            urls,
            shutdown: tx,
        })
    }
}

/// A started emulator; dropping it stops the listeners.
pub struct RunningEmulator {
    inner: Arc<Inner>,
    urls: Urls,
    shutdown: watch::Sender<bool>,
}

impl RunningEmulator {
    pub fn urls(&self) -> &Urls {
        &self.urls
    }

    /// ARM base URL without trailing slash.
    pub fn arm_url(&self) -> &str {
        &self.urls.arm
    }

    /// Authority host URL without trailing slash.
    pub fn authority_url(&self) -> &str {
        &self.urls.authority
    }

    /// The full token endpoint of the emulated tenant.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.urls.authority, self.inner.opts.tenant_id
        )
    }

    /// IDENTITY_ENDPOINT for the App Service style managed-identity protocol.
    pub fn msi_endpoint(&self) -> &str {
        &self.urls.msi
    }

    /// IDENTITY_HEADER: the value the `X-IDENTITY-HEADER` request header must carry.
    pub fn msi_header_secret(&self) -> &str {
        &self.inner.msi_header
    }

    pub fn oidc_issuer_url(&self) -> &str {
        &self.urls.oidc_issuer
    }

    pub fn tenant_id(&self) -> &str {
        &self.inner.opts.tenant_id
    }

    pub fn subscription_id(&self) -> &str {
        &self.inner.opts.subscription_id
    }

    pub fn options(&self) -> &EmulatorOptions {
        &self.inner.opts
    }

    /// The CA certificate (PEM) every emulator certificate chains to.
    pub fn ca_pem(&self) -> String {
        self.inner.ca.pem()
    }

    /// Writes the CA certificate (PEM) to `path`, for `caCertFile`.
    pub fn write_ca_pem(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.ca_pem())
    }

    /// A rustls client configuration trusting only the emulator's CA.
    pub fn client_tls_config(&self) -> Result<Arc<rustls::ClientConfig>, tls::TlsError> {
        self.inner.ca.client_config()
    }

    /// Issues a certificate signed by the emulator's CA (e.g. for a PostgreSQL gateway listener).
    pub fn issue_certificate(&self, names: &[String]) -> Result<tls::IssuedCert, tls::TlsError> {
        self.inner.ca.issue(names)
    }

    /// The directory: add users, groups (with members) and service principals.
    pub fn directory(&self) -> Directory {
        self.inner.directory.clone()
    }

    /// The pre-registered service principal the provider deploys as (it has one client secret).
    pub fn deployer(&self) -> ServicePrincipal {
        self.inner.deployer.clone()
    }

    /// The system-assigned identity the managed-identity endpoint serves when no identity is named.
    pub fn host_identity(&self) -> ServicePrincipal {
        self.inner.host_identity.clone()
    }

    /// The pgentra provider configuration for the deployer, with the CA written to `ca_cert_file`.
    pub fn provider_config_with_ca(
        &self,
        ca_cert_file: &Path,
    ) -> std::io::Result<BTreeMap<String, String>> {
        self.write_ca_pem(ca_cert_file)?;
        let d = &self.inner.deployer;
        Ok(BTreeMap::from([
            (
                "subscriptionId".to_string(),
                self.subscription_id().to_string(),
            ),
            ("tenantId".to_string(), self.tenant_id().to_string()),
            ("clientId".to_string(), d.app_id.clone()),
            (
                "clientSecret".to_string(),
                d.secrets.first().cloned().unwrap_or_default(),
            ),
            ("armEndpoint".to_string(), self.urls.arm.clone()),
            ("authorityHost".to_string(), self.urls.authority.clone()),
            ("caCertFile".to_string(), ca_cert_file.display().to_string()),
        ]))
    }

    /// The pgentra provider configuration for the deployer; the CA goes to a file in the temp dir.
    pub fn provider_config(&self) -> std::io::Result<BTreeMap<String, String>> {
        let port = self.urls.arm.rsplit(':').next().unwrap_or("0").to_string();
        let path = std::env::temp_dir().join(format!("pgentra-emulator-ca-{port}.pem"));
        self.provider_config_with_ca(&path)
    }

    /// Mints a Kubernetes service-account token `system:serviceaccount:{namespace}:{name}` for
    /// the workload-identity audience, signed by the emulator's OIDC issuer.
    pub fn mint_service_account_token(&self, namespace: &str, name: &str) -> String {
        oidc::mint_service_account_token(&self.inner, namespace, name, TOKEN_EXCHANGE_AUDIENCE)
    }

    /// Mints a token from the OIDC issuer with arbitrary claims (iss is filled in when absent).
    pub fn mint_oidc_token(&self, mut claims: serde_json::Value) -> String {
        if claims.get("iss").is_none() {
            claims["iss"] = serde_json::json!(self.urls.oidc_issuer);
        }
        self.inner.keys.sign(&claims)
    }

    /// Issues an access token directly (as the token service would) for a directory object.
    pub fn issue_access_token(&self, object_id: &str, resource: &str) -> Option<String> {
        let p = self.inner.directory.get(object_id)?;
        Some(entra::tokens::issue_for_principal(&self.inner, &p, resource, None).0)
    }

    /// Checks an access token as a resource server would: the emulator's signature, the issuer of
    /// this tenant, the audience (trailing '/' ignored) and the expiry. Returns the claims.
    pub fn validate_access_token(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<serde_json::Value, TokenRejection> {
        let d = self
            .inner
            .keys
            .verify(token)
            .map_err(|e| TokenRejection::Signature(e.to_string()))?;
        let c = d.claims;
        let iss = c
            .get("iss")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        if iss != entra::tokens::issuer(&self.inner) {
            return Err(TokenRejection::Issuer(iss.to_string()));
        }
        let aud = c
            .get("aud")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        if aud.trim_end_matches('/') != audience.trim_end_matches('/') {
            return Err(TokenRejection::Audience(aud.to_string()));
        }
        let exp = c
            .get("exp")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if exp <= util::now_secs() {
            return Err(TokenRejection::Expired(exp));
        }
        Ok(c)
    }

    /// The flexible servers that exist, as ARM's GET returns them (state, FQDN, authConfig, ...).
    pub fn servers(&self) -> Vec<serde_json::Value> {
        self.inner
            .world()
            .servers
            .values()
            .map(arm::servers::server_body)
            .collect()
    }

    /// The Entra administrators of a server (ARM bodies), if the server exists.
    pub fn server_administrators(
        &self,
        resource_group: &str,
        name: &str,
    ) -> Option<Vec<serde_json::Value>> {
        let w = self.inner.world();
        w.servers
            .get(&state::key(resource_group, name))
            .map(|s| s.admins.values().cloned().collect())
    }

    /// Verifies an emulator-issued token's signature and returns its claims (no audience/expiry check).
    pub fn verify_token(&self, token: &str) -> Option<serde_json::Value> {
        self.inner.keys.verify(token).ok().map(|d| d.claims)
    }

    /// The JWKS of the token service (and the OIDC issuer).
    pub fn jwks(&self) -> serde_json::Value {
        self.inner.keys.jwks()
    }

    /// Every ARM request (with a valid token or not) and its answer so far, oldest first.
    pub fn arm_exchanges(&self) -> Vec<Exchange> {
        self.inner
            .exchanges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Checks every recorded ARM request body and response body against the official specs;
    /// returns (how many bodies were checked, the problems found).
    pub fn check_arm_exchanges(&self, specs: &mut spec::Specs) -> (usize, Vec<String>) {
        admin::check_exchanges(&self.arm_exchanges(), specs)
    }

    /// Changes how long operations started from now on run (e.g. long, to test a client's timeout).
    pub fn set_lro_duration(&self, d: Duration) {
        self.inner
            .lro_ms
            .store(d.as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Adds a fault rule directly (same as POST /_emulator/faults).
    pub fn add_fault(&self, rule: FaultRule) {
        self.inner.faults().add(rule);
    }

    pub fn clear_faults(&self) {
        self.inner.faults().clear();
    }

    /// The same JSON as GET /_emulator/state.
    pub fn state(&self) -> serde_json::Value {
        admin::state_json(&self.inner)
    }

    /// Everything a client needs to use this emulator, as JSON (for `pgentra emulator` to print):
    /// URLs, tenant and subscription, the deployer's credentials, the MSI endpoint and header.
    pub fn describe(&self) -> serde_json::Value {
        let d = &self.inner.deployer;
        serde_json::json!({
            "armEndpoint": self.urls.arm,
            "authorityHost": self.urls.authority,
            "tokenEndpoint": self.token_url(),
            "oidcIssuer": self.urls.oidc_issuer,
            "identityEndpoint": self.urls.msi,
            "identityHeader": self.inner.msi_header,
            "tenantId": self.tenant_id(),
            "subscriptionId": self.subscription_id(),
            "clientId": d.app_id,
            "clientSecret": d.secrets.first(),
            "adminApi": format!("{}/_emulator", self.urls.arm),
        })
    }

    /// Stops accepting connections.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}
