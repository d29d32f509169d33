//! go-plugin AutoMTLS, server side: a throw-away self-signed certificate for this process, whose
//! DER goes into handshake field 6, and the rustls configuration serving it with ALPN h2.
//!
//! Mutual authentication is reduced to server authentication, on purpose. The host's client
//! certificate (`PLUGIN_CLIENT_CERT`) is ECDSA P-521, whose signatures rustls' ring provider cannot
//! verify; if the server asks for a client certificate anyway, Go's TLS (Terraform) answers with
//! none, and BoringSSL (grpcio) aborts with NO_COMMON_SIGNATURE_ALGORITHMS. So no certificate is
//! requested: the PEM is only checked to be a certificate, and its presence switches TLS on.
//! Real client authentication needs a P-521 verifier (aws-lc-rs or the p521 crate).

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("generating the plugin's server certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("PLUGIN_CLIENT_CERT holds no PEM certificate: {0}")]
    ClientCertificatePem(String),
    #[error("building the TLS server configuration: {0}")]
    ServerConfig(#[source] rustls::Error),
}

/// This process's AutoMTLS identity and the TLS server configuration that uses it.
pub struct AutoMtls {
    certificate: CertificateDer<'static>,
    server_config: Arc<ServerConfig>,
}

impl AutoMtls {
    /// Generates the server certificate; `client_cert_pem` is the host's PEM from
    /// `PLUGIN_CLIENT_CERT` (checked, not used for client authentication: see the module docs).
    pub fn new(client_cert_pem: &str) -> Result<Self, TlsError> {
        CertificateDer::from_pem_slice(client_cert_pem.as_bytes())
            .map_err(|error| TlsError::ClientCertificatePem(error.to_string()))?;
        let (certificate, private_key) = generate_server_certificate()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::ServerConfig)?
            .with_no_client_auth()
            .with_single_cert(vec![certificate.clone()], private_key)
            .map_err(TlsError::ServerConfig)?;
        // grpc-go refuses a TLS connection whose ALPN did not select h2.
        server_config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Self {
            certificate,
            server_config: Arc::new(server_config),
        })
    }

    /// Handshake field 6: the certificate's DER, base64 standard alphabet, no padding.
    pub fn certificate_base64(&self) -> String {
        STANDARD_NO_PAD.encode(self.certificate.as_ref())
    }

    pub fn certificate_der(&self) -> &CertificateDer<'static> {
        &self.certificate
    }

    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server_config.clone()
    }
}

/// go-plugin's recipe (self-signed, CA, SAN localhost, server and client auth), on P-256 so both
/// rustls and Go can use it.
fn generate_server_certificate(
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), TlsError> {
    let key_pair = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "pgentra");
    // The client trusts this certificate as its own root: make it a CA that may sign.
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyAgreement,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let certificate = params.self_signed(&key_pair)?;
    let private_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pair.serialize_der()));
    Ok((certificate.der().clone(), private_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_certificate_pem() -> String {
        let key_pair = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.self_signed(&key_pair).unwrap().pem()
    }

    #[test]
    fn certificate_field_is_unpadded_standard_base64_of_the_der() {
        let mtls = AutoMtls::new(&client_certificate_pem()).unwrap();
        let field = mtls.certificate_base64();
        assert!(!field.ends_with('='));
        assert!(
            field.len() > 50,
            "go-plugin ignores a field 6 of 50 characters or fewer"
        );
        let der = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(&field)
            .unwrap();
        assert_eq!(der, mtls.certificate_der().as_ref());
    }

    #[test]
    fn server_offers_h2_only() {
        let mtls = AutoMtls::new(&client_certificate_pem()).unwrap();
        assert_eq!(mtls.server_config().alpn_protocols, vec![b"h2".to_vec()]);
    }

    #[test]
    fn garbage_client_certificate_is_refused_with_the_variable_name() {
        let error = AutoMtls::new("not a certificate").err().unwrap();
        assert!(
            error.to_string().starts_with("PLUGIN_CLIENT_CERT"),
            "{error}"
        );
    }
}
