//! The one HTTP client for ARM and Entra: reqwest over rustls with the ring provider, trusting the
//! platform's roots plus `caCertFile` (the emulator's CA, a corporate proxy's). azure_identity's
//! credentials use it too, through azure_core's transport option.

use crate::azure::ArmError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::sync::Arc;
use std::time::Duration;

/// User-Agent of every request, with the version a release stamped (`crate::VERSION`).
pub static USER_AGENT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("pgentra/{}", crate::VERSION));

/// Builds the client. Redirects are not followed (ARM does not use them; a redirect would carry
/// the bearer token elsewhere).
pub fn build_client(ca_cert_file: Option<&str>) -> Result<reqwest::Client, ArmError> {
    let extra = match ca_cert_file.filter(|p| !p.is_empty()) {
        Some(path) => read_ca_file(path)?,
        None => Vec::new(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
            .map_err(|e| ArmError::Setup(format!("loading the trusted CA certificates: {e}")))?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ArmError::Setup(format!("configuring TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(USER_AGENT.as_str())
        .connect_timeout(Duration::from_secs(20))
        .read_timeout(Duration::from_secs(90))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ArmError::Setup(format!("building the HTTP client: {e}")))
}

fn read_ca_file(path: &str) -> Result<Vec<CertificateDer<'static>>, ArmError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ArmError::Setup(format!("reading caCertFile {path}: {e}")))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| ArmError::Setup(format!("caCertFile {path} is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(ArmError::Setup(format!(
            "caCertFile {path} holds no CERTIFICATE block"
        )));
    }
    Ok(certs)
}
