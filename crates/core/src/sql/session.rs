//! A PostgreSQL session signed in with a Microsoft Entra token, over TLS.
//!
//! TLS is always on and always `verify-full`: the certificate chain is checked against the
//! platform's roots plus `caCertFile`, and the certificate must name the host dialled. The
//! password is the deployer's Microsoft Entra token, a bearer credential: whoever receives it is
//! the server's Entra administrator until it expires (about an hour). So [`connect`], the one
//! place a password is sent, refuses every other sslMode (`require`, `verify-ca`, as a state or
//! an import ID written before may still carry) before it asks for the password, whatever Check
//! did; and a certificate that does not verify is a permanent failure naming rustls' cause.
//!
//! The password comes from a [`PasswordSource`]: in the provider, a token for the cloud's
//! PostgreSQL audience from the credential chain (the token cache renews it before it expires);
//! in local tests, a fixed password. A token is never logged: errors name the principal it
//! belongs to, read from its claims.

use crate::error::ErrorClass;
use async_trait::async_trait;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Errors of the SQL layer.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("{0}")]
    Setup(String),
    #[error("getting a Microsoft Entra token for PostgreSQL: {0}")]
    Token(String),
    #[error("signing in to {target}: {message}")]
    Connect {
        target: String,
        message: String,
        code: Option<String>,
    },
    #[error("{statement}: {message}")]
    Statement {
        statement: String,
        message: String,
        code: Option<String>,
    },
    /// An sslMode that does not check the certificate's name: the token is never sent there.
    #[error("signing in to {target}: connection.sslMode is {mode:?}; {UNVERIFIED_TLS}")]
    UnverifiedTls { target: String, mode: &'static str },
    /// The server's certificate did not verify: no password was sent, and trying again
    /// changes nothing until the certificate, the host name or caCertFile does.
    #[error("signing in to {target}: the server's TLS certificate was refused ({cause}); no token was sent. {fix}")]
    Certificate {
        target: String,
        cause: String,
        fix: String,
    },
    /// A new Grant over privileges the role already holds (see resources/grant.rs).
    #[error("{0}")]
    AlreadyGranted(String),
    #[error(transparent)]
    Quote(#[from] crate::sql::quote::QuoteError),
    /// The operation's timeout, as the caller's engine set it, ran out.
    #[error("gave up {what} after {} s, the operation's timeout; nothing was committed", after.as_secs_f64())]
    TimedOut {
        what: &'static str,
        after: std::time::Duration,
    },
}

impl SqlError {
    /// PostgreSQL's failures by what a retry could change: the network and lock conflicts may
    /// pass, sign-in and permission problems need the user, malformed input never passes.
    pub fn class(&self) -> ErrorClass {
        match self {
            SqlError::Setup(_) | SqlError::Quote(_) | SqlError::UnverifiedTls { .. } => {
                ErrorClass::InvalidArgument
            }
            SqlError::Certificate { .. } => ErrorClass::FailedPrecondition,
            SqlError::AlreadyGranted(_) => ErrorClass::AlreadyExists,
            SqlError::Token(_) => ErrorClass::FailedPrecondition,
            SqlError::TimedOut { .. } => ErrorClass::DeadlineExceeded,
            SqlError::Connect { code: None, .. } => ErrorClass::Unavailable,
            SqlError::Connect { .. } => ErrorClass::FailedPrecondition,
            SqlError::Statement { code, .. } => match code.as_deref() {
                // No SQLSTATE: the server never answered the statement (the connection closed
                // or broke mid-statement): network trouble, which a retry may get past. Each
                // write is one implicit transaction, so it committed whole or not at all; a
                // retried GRANT/REVOKE is idempotent.
                None => ErrorClass::Unavailable,
                // serialization failure, deadlock, "tuple concurrently updated", admin shutdown,
                // crash shutdown, cannot connect now
                Some("40001" | "40P01" | "XX000" | "57P01" | "57P02" | "57P03") => {
                    ErrorClass::Unavailable
                }
                // statement_timeout: the operation's own deadline
                Some("57014") => ErrorClass::DeadlineExceeded,
                _ => ErrorClass::FailedPrecondition,
            },
        }
    }

    /// SQLSTATE of a failed statement.
    pub fn code(&self) -> Option<&str> {
        match self {
            SqlError::Statement { code, .. } | SqlError::Connect { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Wraps a statement's failure with the statement (SQL text: names only, never a secret).
    pub fn statement(statement: &str, error: tokio_postgres::Error) -> Self {
        let code = error.code().map(|c| c.code().to_owned());
        let message = match error.as_db_error() {
            Some(db) => match db.detail() {
                Some(detail) => format!("{} ({})", db.message(), detail.replace('\n', "; ")),
                None => db.message().to_owned(),
            },
            None => error.to_string(),
        };
        SqlError::Statement {
            statement: statement.to_owned(),
            message,
            code,
        }
    }
}

/// Why only verify-full signs in: the refusal's text, shared by Check and the SQL layer.
pub const UNVERIFIED_TLS: &str = "pgentra signs in only with sslMode verify-full, since the \
    password it sends is the deployer's Microsoft Entra token, a bearer credential: whoever \
    receives it is the server's Entra administrator until it expires (about an hour), and \
    without the host name check any server that answers would receive it. Use verify-full (the \
    default), with the provider's caCertFile for a server whose certificate comes from a \
    private CA";

/// How the server's certificate is checked (`connection.sslMode`). Only `VerifyFull` signs in;
/// the others are still read from states and IDs written before, to be refused by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SslMode {
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "require" => Some(Self::Require),
            "verify-ca" => Some(Self::VerifyCa),
            "verify-full" => Some(Self::VerifyFull),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// Where a session goes and as whom (a resource's `connection`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnInfo {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub ssl_mode: SslMode,
}

impl ConnInfo {
    /// The same server and user, another database.
    pub fn in_database(&self, database: &str) -> Self {
        Self {
            database: database.to_owned(),
            ..self.clone()
        }
    }

    /// `user@host:port/database` for messages.
    pub fn describe(&self) -> String {
        format!(
            "{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }
}

/// A password with a redacted Debug.
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// What a session signs in with. Called once per new session, so a source that caches
/// tokens renews them as they near expiry.
#[async_trait]
pub trait PasswordSource: Send + Sync {
    async fn password(&self) -> Result<Password, SqlError>;

    /// Who the password signs in as (from the token's claims), for the "role does not exist"
    /// trap. Never the token itself.
    async fn principal(&self) -> Option<String> {
        None
    }
}

/// The provider's credential chain: a token for the cloud's PostgreSQL audience.
pub struct AzureToken(pub Arc<crate::azure::Azure>);

#[async_trait]
impl PasswordSource for AzureToken {
    async fn password(&self) -> Result<Password, SqlError> {
        let token = self
            .0
            .postgres_token()
            .await
            .map_err(|e| SqlError::Token(e.to_string()))?;
        Ok(Password(token.token.secret().to_owned()))
    }

    async fn principal(&self) -> Option<String> {
        let token = self.0.postgres_token().await.ok()?;
        let caller = crate::azure::Caller::from_token(token.token.secret()).ok()?;
        Some(match caller.name {
            Some(name) => format!(
                "{name} (object id {}, tenant {})",
                caller.object_id, caller.tenant_id
            ),
            None => format!(
                "object id {} (tenant {}, {})",
                caller.object_id, caller.tenant_id, caller.kind
            ),
        })
    }
}

/// A fixed password (local PostgreSQL with trust authentication in tests: empty).
pub struct FixedPassword(pub String);

#[async_trait]
impl PasswordSource for FixedPassword {
    async fn password(&self) -> Result<Password, SqlError> {
        Ok(Password(self.0.clone()))
    }
}

// ---------------------------------------------------------------------------------------------
// TLS

/// The TLS connector: a rustls (ring) configuration trusting the platform's roots plus
/// caCertFile and checking the host name (verify-full), plugged into tokio-postgres by
/// `tokio-postgres-rustls` (a well-kept crate for exactly this glue). There is no connector that
/// skips a check: a token is never sent over one.
#[derive(Clone)]
pub struct TlsConfigs {
    verify_full: MakeRustlsConnect,
}

impl TlsConfigs {
    pub fn new(ca_cert_file: Option<&str>) -> Result<Self, SqlError> {
        let extra = match ca_cert_file.filter(|p| !p.is_empty()) {
            Some(path) => read_ca_file(path)?,
            None => Vec::new(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> = Arc::new(
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
                .map_err(|e| {
                    SqlError::Setup(format!("loading the trusted CA certificates: {e}"))
                })?,
        );
        let verify_full = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| {
                MakeRustlsConnect::new(
                    b.dangerous()
                        .with_custom_certificate_verifier(verifier)
                        .with_no_client_auth(),
                )
            })
            .map_err(|e| SqlError::Setup(format!("configuring TLS: {e}")))?;
        Ok(Self { verify_full })
    }
}

fn read_ca_file(path: &str) -> Result<Vec<CertificateDer<'static>>, SqlError> {
    let bytes = std::fs::read(path)
        .map_err(|e| SqlError::Setup(format!("reading caCertFile {path}: {e}")))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| SqlError::Setup(format!("caCertFile {path} is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(SqlError::Setup(format!(
            "caCertFile {path} holds no CERTIFICATE block"
        )));
    }
    Ok(certs)
}

/// What to change for each kind of certificate failure.
fn certificate_fix(info: &ConnInfo, error: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match error {
        E::NotValidForName | E::NotValidForNameContext { .. } => format!(
            "connection.host must be a name the certificate carries (Azure: the server's \
             fullyQualifiedDomainName, not an IP address or an alias), not {:?}",
            info.host
        ),
        E::UnknownIssuer | E::BadSignature | E::BadEncoding => "the certificate does not chain to \
            a trusted CA: Azure's chain to DigiCert Global Root G2 (update the system's \
            ca-certificates); for a private CA (the pgentra emulator, a TLS-inspecting proxy) \
            give its certificate in the provider's caCertFile"
            .to_owned(),
        E::Expired | E::ExpiredContext { .. } | E::NotValidYet | E::NotValidYetContext { .. } => {
            "the certificate is outside its validity period: check the server's certificate \
             and this machine's clock"
                .to_owned()
        }
        _ => "the server must present a certificate that a trusted CA (the system's roots, \
              or the provider's caCertFile) issued for connection.host"
            .to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------

/// Opens one session: TLS per sslMode, the password from `source`.
pub async fn connect(
    info: &ConnInfo,
    source: &dyn PasswordSource,
    tls: &TlsConfigs,
) -> Result<tokio_postgres::Client, SqlError> {
    // The one place a password leaves the process: only where the certificate names the host.
    if info.ssl_mode != SslMode::VerifyFull {
        return Err(SqlError::UnverifiedTls {
            target: info.describe(),
            mode: info.ssl_mode.as_str(),
        });
    }
    let password = source.password().await?;
    let mut config = tokio_postgres::Config::new();
    config
        .host(&info.host)
        .port(info.port)
        .dbname(&info.database)
        .user(&info.user)
        .password(password.0.as_bytes())
        .ssl_mode(tokio_postgres::config::SslMode::Require)
        .application_name("pgentra")
        .connect_timeout(Duration::from_secs(20))
        // As before the glue came from tokio-postgres-rustls (which offers tls-server-end-point
        // channel binding): SCRAM without channel binding. Turning it on belongs to the TLS
        // hardening, not to this change of glue.
        .channel_binding(tokio_postgres::config::ChannelBinding::Disable);
    drop(password);
    match config.connect(tls.verify_full.clone()).await {
        Ok((client, connection)) => {
            tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok(client)
        }
        Err(error) => Err(sign_in_error(info, source, error).await),
    }
}

/// Sign-in failures say which name was used and, for a missing role or a refused token, whose
/// token it was.
async fn sign_in_error(
    info: &ConnInfo,
    source: &dyn PasswordSource,
    error: tokio_postgres::Error,
) -> SqlError {
    if let Some(refused) = crate::tls_failure::certificate_error(&error) {
        return SqlError::Certificate {
            target: info.describe(),
            cause: crate::tls_failure::certificate_cause(&refused),
            fix: certificate_fix(info, &refused),
        };
    }
    let code = error.code().map(|c| c.code().to_owned());
    let message = match error.as_db_error() {
        // The DETAIL often holds the reason (Azure: "password authentication is disabled").
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({})", db.message(), detail.replace('\n', "; ")),
            None => db.message().to_owned(),
        },
        None => {
            let mut text = error.to_string();
            let mut cause = std::error::Error::source(&error);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            text
        }
    };
    let auth = matches!(code.as_deref(), Some("28000" | "28P01"));
    let message = if auth {
        let whose = match source.principal().await {
            Some(p) => format!("the token belongs to {p}"),
            None => "the signing-in principal is unknown".to_owned(),
        };
        if message.contains("does not exist") {
            format!(
                "{message}: the server has no role named {:?} (connection.username); {whose}. \
                 Sign in with the exact name of the server's Microsoft Entra administrator \
                 (a user's UPN, or the group's or service principal's display name)",
                info.user
            )
        } else {
            format!(
                "{message}: signing in as {:?}; {whose}. The user name must be the token's \
                 principal, or a group it belongs to, with a role on the server",
                info.user
            )
        }
    } else {
        message
    };
    SqlError::Connect {
        target: info.describe(),
        message,
        code,
    }
}
