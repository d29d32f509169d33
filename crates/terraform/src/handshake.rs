//! go-plugin's launch contract: the environment Terraform hands the plugin, the listener, and the
//! one handshake line on stdout (`1|6|tcp|127.0.0.1:PORT|grpc|CERT`).

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;

pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's own protocol version (the first handshake field).
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The tfplugin major version served (the second handshake field).
pub const APP_PROTOCOL_VERSION: u32 = 6;

#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error(
        "This binary is a Terraform provider plugin (pgentra/pgentra), not a program to run directly.\n\
         Terraform starts it when a configuration uses the provider: run `terraform init` and \
         `terraform plan` instead.\n({MAGIC_COOKIE_KEY} is {0})"
    )]
    NotLaunchedByPluginHost(&'static str),
    #[error(
        "Terraform offered plugin protocol versions {offered:?} (PLUGIN_PROTOCOL_VERSIONS), but this \
         provider speaks only protocol {APP_PROTOCOL_VERSION}: use Terraform 1.0 or newer, or OpenTofu"
    )]
    ProtocolVersionNotOffered { offered: String },
    #[error("{name}={value:?} is not a port number")]
    BadPort { name: &'static str, value: String },
    #[error("PLUGIN_MIN_PORT {min} is above PLUGIN_MAX_PORT {max}")]
    EmptyPortRange { min: u16, max: u16 },
    #[error("binding 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("no free port on 127.0.0.1 between {min} and {max}")]
    NoFreePort { min: u16, max: u16 },
    #[error("writing the handshake line to stdout: {0}")]
    Announce(#[source] std::io::Error),
}

/// What the plugin host told us through the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginEnvironment {
    /// PLUGIN_PROTOCOL_VERSIONS as the host sent it (it contains 6, or this would be an error).
    pub offered_versions: String,
    /// PEM of the host's client certificate: present when AutoMTLS is on.
    pub client_cert_pem: Option<String>,
    /// Inclusive port range to listen in; `None` means any port.
    pub port_range: Option<(u16, u16)>,
}

impl PluginEnvironment {
    /// Reads and checks the process environment.
    pub fn from_process_env() -> Result<Self, HandshakeError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads and checks the environment through `lookup` (a test can pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, HandshakeError> {
        match lookup(MAGIC_COOKIE_KEY) {
            None => return Err(HandshakeError::NotLaunchedByPluginHost("not set")),
            Some(cookie) if cookie != MAGIC_COOKIE_VALUE => {
                return Err(HandshakeError::NotLaunchedByPluginHost("wrong"))
            }
            Some(_) => {}
        }
        let offered = lookup("PLUGIN_PROTOCOL_VERSIONS").unwrap_or_default();
        let wanted = APP_PROTOCOL_VERSION.to_string();
        if !offered.split(',').any(|version| version.trim() == wanted) {
            return Err(HandshakeError::ProtocolVersionNotOffered { offered });
        }
        let port = |name: &'static str| -> Result<u16, HandshakeError> {
            match lookup(name).filter(|value| !value.is_empty()) {
                None => Ok(0),
                Some(value) => value
                    .parse()
                    .map_err(|_| HandshakeError::BadPort { name, value }),
            }
        };
        let (min, max) = (port("PLUGIN_MIN_PORT")?, port("PLUGIN_MAX_PORT")?);
        let port_range = match (min, max) {
            (0, 0) => None,
            (min, 0) => Some((min, u16::MAX)),
            (min, max) if min > max => return Err(HandshakeError::EmptyPortRange { min, max }),
            (min, max) => Some((min.max(1), max)),
        };
        let client_cert_pem = lookup("PLUGIN_CLIENT_CERT").filter(|pem| !pem.trim().is_empty());
        Ok(Self {
            offered_versions: offered,
            client_cert_pem,
            port_range,
        })
    }
}

/// Binds on loopback only, in the host's port range when it gave one. Bound before the handshake
/// line is printed, because the host connects as soon as it reads it.
pub async fn bind_listener(environment: &PluginEnvironment) -> Result<TcpListener, HandshakeError> {
    let Some((min, max)) = environment.port_range else {
        return TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|source| HandshakeError::Bind { port: 0, source });
    };
    for port in min..=max {
        if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            return Ok(listener);
        }
    }
    Err(HandshakeError::NoFreePort { min, max })
}

/// The handshake line (without newline). `server_cert_base64` is the DER of our certificate in
/// base64 without padding, or empty when serving plaintext.
pub fn handshake_line(address: SocketAddr, server_cert_base64: &str) -> String {
    format!(
        "{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|tcp|{address}|grpc|{server_cert_base64}"
    )
}

/// Prints the handshake line as the first and only stdout output, and flushes it.
pub fn announce(line: &str) -> Result<(), HandshakeError> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(HandshakeError::Announce)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn environment(pairs: &[(&str, &str)]) -> Result<PluginEnvironment, HandshakeError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        PluginEnvironment::from_lookup(|name| map.get(name).cloned())
    }

    const COOKIE: (&str, &str) = (MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE);

    #[test]
    fn missing_or_wrong_cookie_says_this_is_a_plugin() {
        let missing = environment(&[("PLUGIN_PROTOCOL_VERSIONS", "6")]).unwrap_err();
        assert!(missing
            .to_string()
            .contains("not a program to run directly"));
        assert!(missing
            .to_string()
            .contains("TF_PLUGIN_MAGIC_COOKIE is not set"));
        let wrong =
            environment(&[(MAGIC_COOKIE_KEY, "x"), ("PLUGIN_PROTOCOL_VERSIONS", "6")]).unwrap_err();
        assert!(wrong
            .to_string()
            .contains("TF_PLUGIN_MAGIC_COOKIE is wrong"));
    }

    #[test]
    fn protocol_six_must_be_offered_in_any_order() {
        for offered in ["6", "5,6", "6,5", " 5 , 6 "] {
            environment(&[COOKIE, ("PLUGIN_PROTOCOL_VERSIONS", offered)]).unwrap();
        }
        for offered in ["5", "", "4,5", "60"] {
            let error = environment(&[COOKIE, ("PLUGIN_PROTOCOL_VERSIONS", offered)]).unwrap_err();
            assert!(
                error.to_string().contains("speaks only protocol 6"),
                "{offered}: {error}"
            );
        }
    }

    #[test]
    fn zero_ports_mean_any_port_and_nonzero_ports_a_range() {
        let any = environment(&[
            COOKIE,
            ("PLUGIN_PROTOCOL_VERSIONS", "5,6"),
            ("PLUGIN_MIN_PORT", "0"),
            ("PLUGIN_MAX_PORT", "0"),
        ])
        .unwrap();
        assert_eq!(any.port_range, None);
        let range = environment(&[
            COOKIE,
            ("PLUGIN_PROTOCOL_VERSIONS", "6"),
            ("PLUGIN_MIN_PORT", "10000"),
            ("PLUGIN_MAX_PORT", "10010"),
        ])
        .unwrap();
        assert_eq!(range.port_range, Some((10000, 10010)));
    }

    #[test]
    fn client_certificate_is_taken_when_present() {
        let env = environment(&[
            COOKIE,
            ("PLUGIN_PROTOCOL_VERSIONS", "6"),
            ("PLUGIN_CLIENT_CERT", "-----BEGIN CERTIFICATE-----"),
        ])
        .unwrap();
        assert_eq!(
            env.client_cert_pem.as_deref(),
            Some("-----BEGIN CERTIFICATE-----")
        );
    }

    #[test]
    fn handshake_line_has_six_fields() {
        let address: SocketAddr = "127.0.0.1:41234".parse().unwrap();
        assert_eq!(handshake_line(address, ""), "1|6|tcp|127.0.0.1:41234|grpc|");
        assert_eq!(
            handshake_line(address, "MIIB"),
            "1|6|tcp|127.0.0.1:41234|grpc|MIIB"
        );
    }

    #[tokio::test]
    async fn listener_binds_inside_the_given_range_on_loopback() {
        let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let taken = probe.local_addr().unwrap().port();
        // The first port of the range is taken, so the next one is used.
        let environment = PluginEnvironment {
            offered_versions: "6".into(),
            client_cert_pem: None,
            port_range: Some((taken, taken.saturating_add(5))),
        };
        let listener = bind_listener(&environment).await.unwrap();
        let address = listener.local_addr().unwrap();
        assert!(address.ip().is_loopback());
        assert!(address.port() > taken && address.port() <= taken.saturating_add(5));
    }
}
