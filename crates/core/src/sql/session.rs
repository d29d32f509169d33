//! A PostgreSQL session signed in with a Microsoft Entra token, over TLS.
//!
//! TLS is always on. `verify-full` (the default) checks the certificate chain against the
//! platform's roots plus `caCertFile` and the host name; `verify-ca` checks the chain only;
//! `require` encrypts without checking. The password comes from a [`PasswordSource`]: in the
//! provider, a token for the cloud's PostgreSQL audience from the credential chain (the token
//! cache renews it before it expires); in local tests, a fixed password. A token is never
//! logged: errors name the principal it belongs to, read from its claims.

use crate::error::ErrorClass;
use crate::props::Props;
use async_trait::async_trait;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

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
    #[error(transparent)]
    Quote(#[from] crate::sql::quote::QuoteError),
    /// The engine's timeout for the operation (customTimeouts) ran out.
    #[error("gave up {what} after {} s, the operation's timeout (customTimeouts); nothing was committed", after.as_secs_f64())]
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
            SqlError::Setup(_) | SqlError::Quote(_) => ErrorClass::InvalidArgument,
            SqlError::Token(_) => ErrorClass::FailedPrecondition,
            SqlError::TimedOut { .. } => ErrorClass::DeadlineExceeded,
            SqlError::Connect { code: None, .. } => ErrorClass::Unavailable,
            SqlError::Connect { .. } => ErrorClass::FailedPrecondition,
            SqlError::Statement { code, .. } => match code.as_deref() {
                // serialization failure, deadlock, "tuple concurrently updated", admin shutdown
                Some("40001" | "40P01" | "XX000" | "57P01") => ErrorClass::Unavailable,
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

/// How the server's certificate is checked (`connection.sslMode`).
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
    /// From a resource's `connection` object (defaults filled when Check did not run).
    pub fn from_props(props: &Props) -> Option<Self> {
        let conn = props.get("connection")?.as_object()?;
        let text = |name: &str| conn.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        Some(Self {
            host: text("host")?,
            port: conn
                .get("port")
                .and_then(|v| v.as_u64())
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(5432),
            database: text("database").unwrap_or_else(|| "postgres".to_owned()),
            user: text("username")?,
            ssl_mode: text("sslMode")
                .and_then(|m| SslMode::parse(&m))
                .unwrap_or(SslMode::VerifyFull),
        })
    }

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

    /// The `connection` object this describes (for outputs and import).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "username": self.user,
            "sslMode": self.ssl_mode.as_str(),
        })
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

/// The rustls configurations (ring) for each sslMode, trusting the platform's roots plus caCertFile.
#[derive(Clone)]
pub struct TlsConfigs {
    verify_full: Arc<rustls::ClientConfig>,
    verify_ca: Arc<rustls::ClientConfig>,
    require: Arc<rustls::ClientConfig>,
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
        let build = |verifier: Arc<dyn rustls::client::danger::ServerCertVerifier>| {
            rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map(|b| {
                    Arc::new(
                        b.dangerous()
                            .with_custom_certificate_verifier(verifier)
                            .with_no_client_auth(),
                    )
                })
                .map_err(|e| SqlError::Setup(format!("configuring TLS: {e}")))
        };
        Ok(Self {
            verify_full: build(verifier.clone())?,
            verify_ca: build(Arc::new(AnyName(verifier)))?,
            require: build(Arc::new(NoCheck(provider.clone())))?,
        })
    }

    fn for_mode(&self, mode: SslMode) -> Arc<rustls::ClientConfig> {
        match mode {
            SslMode::VerifyFull => self.verify_full.clone(),
            SslMode::VerifyCa => self.verify_ca.clone(),
            SslMode::Require => self.require.clone(),
        }
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

/// verify-ca: the chain must be trusted, the name may differ.
#[derive(Debug)]
struct AnyName(Arc<dyn rustls::client::danger::ServerCertVerifier>);

impl rustls::client::danger::ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError, Error};
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// require: encrypted, the certificate is not checked (handshake signatures still are).
#[derive(Debug)]
struct NoCheck(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoCheck {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// tokio-postgres' TLS hook over tokio-rustls.
#[derive(Clone)]
pub struct RustlsConnect(Arc<rustls::ClientConfig>);

impl<S> MakeTlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsHandshake;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsHandshake, io::Error> {
        let name = ServerName::try_from(domain.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(RustlsHandshake {
            config: self.0.clone(),
            name,
        })
    }
}

pub struct RustlsHandshake {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsHandshake
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let stream = tokio_rustls::TlsConnector::from(self.config)
                .connect(self.name, stream)
                .await?;
            Ok(RustlsStream(stream))
        })
    }
}

pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

// ---------------------------------------------------------------------------------------------

/// Opens one session: TLS per sslMode, the password from `source`.
pub async fn connect(
    info: &ConnInfo,
    source: &dyn PasswordSource,
    tls: &TlsConfigs,
) -> Result<tokio_postgres::Client, SqlError> {
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
        .connect_timeout(Duration::from_secs(20));
    drop(password);
    let connector = RustlsConnect(tls.for_mode(info.ssl_mode));
    match config.connect(connector).await {
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
