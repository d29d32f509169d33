//! A TLS handshake that refused the peer's certificate, found among an error's causes: a
//! permanent failure (the same certificate fails again), told in rustls' words, wherever TLS is
//! spoken (PostgreSQL, ARM, the token service), so that none of them retries it as a network blip.

/// The certificate failure in `error`'s causes, if the TLS handshake refused the certificate.
pub fn certificate_error(
    error: &(dyn std::error::Error + 'static),
) -> Option<rustls::CertificateError> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(c) = cause {
        if let Some(rustls::Error::InvalidCertificate(e)) = c.downcast_ref::<rustls::Error>() {
            return Some(e.clone());
        }
        // An I/O error's `source` skips the error it wraps, and connectors wrap the TLS error
        // in one or two of them (hyper-util: Other around InvalidData around rustls'): unwrap.
        let mut wrapped = c
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
        while let Some(inner) = wrapped {
            if let Some(rustls::Error::InvalidCertificate(e)) =
                inner.downcast_ref::<rustls::Error>()
            {
                return Some(e.clone());
            }
            wrapped = inner
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref);
        }
        cause = c.source();
    }
    None
}

/// rustls' words for the failure (its Display shows some kinds only by their variant name).
pub fn certificate_cause(error: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match error {
        E::UnknownIssuer => "unknown issuer: the certificate does not chain to a trusted CA".into(),
        E::NotValidForName => "certificate not valid for the host name".into(),
        E::BadSignature => "bad signature".into(),
        E::BadEncoding => "bad encoding".into(),
        E::Expired => "certificate expired".into(),
        E::NotValidYet => "certificate not valid yet".into(),
        E::Revoked => "certificate revoked".into(),
        other => other.to_string(),
    }
}

/// The message for an Azure endpoint (ARM, the token service) whose certificate was refused:
/// what rustls said and what to change. `None` when `error` holds no refused certificate.
pub fn azure_endpoint_refused(
    which: &str,
    error: &(dyn std::error::Error + 'static),
) -> Option<String> {
    let refused = certificate_error(error)?;
    Some(format!(
        "{which}'s TLS certificate was refused ({}); nothing was sent. Its certificate must \
         chain to a CA this machine trusts: for a private CA (the pgentra emulator, a \
         TLS-inspecting proxy) give the CA's certificate as the provider's caCertFile",
        certificate_cause(&refused)
    ))
}
