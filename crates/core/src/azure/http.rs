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

/// A configured endpoint that a bearer token may be sent to: https, or http on a loopback IP
/// literal (local fakes such as the emulator), naming a host, without user info or fragment,
/// and without a query unless `query_allowed` (GitHub's ID-token URL carries its api-version).
/// `setting` names the configuration it came from, for the message.
pub fn token_endpoint(
    setting: &str,
    value: &str,
    query_allowed: bool,
) -> Result<reqwest::Url, String> {
    let bad = |why: &str| {
        format!(
            "{setting} {} cannot be used: {why}",
            crate::azure::ids::shown(value)
        )
    };
    let url = reqwest::Url::parse(value).map_err(|e| bad(&format!("not a URL ({e})")))?;
    let loopback = url
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|h| h.parse::<std::net::IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad("it must be an https URL")),
    }
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it must name a host, without user info"));
    }
    if url.fragment().is_some() || (url.query().is_some() && !query_allowed) {
        return Err(bad("it must not have a query or fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod token_endpoint_tests {
    use super::token_endpoint;

    #[test]
    fn a_token_goes_to_https_or_loopback_http_only_and_a_query_only_where_allowed() {
        let actions = "https://pipelines.actions.githubusercontent.com/abc/idtoken?api-version=2.0";
        assert_eq!(
            token_endpoint("oidcRequestUrl", actions, true)
                .unwrap()
                .query(),
            Some("api-version=2.0")
        );
        assert!(token_endpoint("graphEndpoint", actions, false).is_err());
        assert!(token_endpoint("graphEndpoint", "http://127.0.0.1:8443", false).is_ok());
        for bad in [
            "http://graph.example.com",
            "https://graph.microsoft.com@attacker.example",
            "https://graph.microsoft.com/#x",
            "ftp://graph.microsoft.com",
        ] {
            let why = token_endpoint("graphEndpoint", bad, true).unwrap_err();
            assert!(why.starts_with("graphEndpoint "), "{why}");
        }
    }
}
