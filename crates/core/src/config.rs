//! Provider configuration: its description (for CheckConfig and the schema) and the typed
//! [`ProviderConfig`] that Configure resolves from the checked values and the environment.

use crate::props::{contains_unknown, Props};
use crate::rules;
use crate::spec::{check_properties, CheckFailure, Default, Property, Type};
use serde_json::{Map, Value};

const ENVIRONMENTS: &[&str] = &["public", "usgovernment", "china"];

pub static CONFIG: &[Property] = &[
    Property::input("subscriptionId", Type::String, "The Azure subscription that ARM resources are created in.")
        .rule(rules::uuid)
        .env(&["AZURE_SUBSCRIPTION_ID", "ARM_SUBSCRIPTION_ID"]),
    Property::input("tenantId", Type::String, "The Microsoft Entra tenant to sign in to.")
        .rule(rules::uuid)
        .env(&["AZURE_TENANT_ID", "ARM_TENANT_ID"]),
    Property::input("clientId", Type::String, "The application (client) ID of the service principal or managed identity to sign in as.")
        .env(&["AZURE_CLIENT_ID", "ARM_CLIENT_ID"]),
    Property::input("clientSecret", Type::String, "A client secret for `clientId`. Prefer workload identity or a managed identity, which need none.")
        .secret()
        .env(&["AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET"]),
    Property::input("oidcTokenFilePath", Type::String, "A file holding a federated (workload identity) token, re-read on every sign-in because it is rotated.")
        .max_bytes(PATH_MAX_BYTES)
        .env(&["AZURE_FEDERATED_TOKEN_FILE", "ARM_OIDC_TOKEN_FILE_PATH"]),
    Property::input("useMsi", Type::Boolean, "Sign in with the managed identity of the machine running the deployment.")
        .env(&["ARM_USE_MSI"]),
    Property::input("environment", Type::String, "The Azure cloud: `public`, `usgovernment` or `china`.")
        .one_of(ENVIRONMENTS)
        .default(Default::Str("public"))
        .env(&["ARM_ENVIRONMENT"]),
    Property::input("armEndpoint", Type::String, "Overrides the cloud's Azure Resource Manager endpoint (sovereign clouds, the pgentra emulator).")
        .rule(rules::https_url)
        .env(&["PGENTRA_ARM_ENDPOINT"]),
    Property::input("authorityHost", Type::String, "Overrides the cloud's Microsoft Entra authority host.")
        .rule(rules::https_url)
        .env(&["AZURE_AUTHORITY_HOST"]),
    Property::input("caCertFile", Type::String, "A PEM file with an extra CA certificate trusted for ARM, Entra and PostgreSQL TLS.")
        .max_bytes(PATH_MAX_BYTES)
        .env(&["PGENTRA_CA_CERT_FILE"]),
    Property::input("msiEndpoint", Type::String, "The managed identity endpoint (Azure Instance Metadata Service style) that `useMsi` signs in through; default `http://169.254.169.254/metadata/identity/oauth2/token`, the VM's. Used only when `useMsi` is set.")
        .rule(rules::http_url)
        .env(&["ARM_MSI_ENDPOINT"]),
    Property::input("oidcRequestUrl", Type::String, "The GitHub Actions ID token request URL (`ACTIONS_ID_TOKEN_REQUEST_URL`, set in jobs with `permissions: id-token: write`): with `oidcRequestToken`, `tenantId` and `clientId`, each sign-in fetches a fresh ID token for audience `api://AzureADTokenExchange` and exchanges it for an Entra token (a federated credential).")
        .rule(rules::https_url)
        .env(&["ARM_OIDC_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_URL"]),
    Property::input("oidcRequestToken", Type::String, "The bearer token for `oidcRequestUrl` (`ACTIONS_ID_TOKEN_REQUEST_TOKEN` in GitHub Actions).")
        .secret()
        .env(&["ARM_OIDC_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"]),
    Property::input("graphEndpoint", Type::String, "The Microsoft Graph endpoint to ask about the Entra objects that roles are bound to, such as `https://graph.microsoft.com` (the sign-in then needs directory read permission, e.g. `Directory.Read.All`). When set, a Principal's refresh reports a role whose object was deleted or renamed, and `pgentra doctor` lists such roles; when unset, Graph is never called.")
        .rule(rules::https_url)
        .env(&["PGENTRA_GRAPH_ENDPOINT"]),
];

/// The longest file path accepted (Linux's PATH_MAX).
const PATH_MAX_BYTES: usize = 4096;

/// The largest caCertFile read: a bundle of every public root CA is about 250 KiB.
pub const MAX_CA_CERT_FILE_BYTES: u64 = 1024 * 1024;

/// Why `path` cannot be `property`'s file, looking only at its metadata: a FIFO or a device
/// would block the read (Configure would hang), a directory or an oversized file is a mistake.
pub fn file_problem(property: &str, path: &str, max_bytes: u64) -> Option<String> {
    let shown = crate::spec::shown(path);
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) => return Some(format!("{property}: cannot read {shown}: {e}")),
    };
    if !metadata.is_file() {
        return Some(format!(
            "{property}: {shown} is not a regular file (a FIFO, socket, device or directory); give the path of a PEM file"
        ));
    }
    (metadata.len() > max_bytes).then(|| {
        format!(
            "{property}: {shown} is {} bytes; a CA certificate file is at most {max_bytes} bytes",
            metadata.len()
        )
    })
}

/// Reads a CA certificate file after [`file_problem`] found nothing wrong, never more than
/// [`MAX_CA_CERT_FILE_BYTES`] (the file may grow between the look and the read).
pub fn read_ca_cert_file(path: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    if let Some(problem) = file_problem("caCertFile", path, MAX_CA_CERT_FILE_BYTES) {
        return Err(problem);
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| {
            file.take(MAX_CA_CERT_FILE_BYTES + 1)
                .read_to_end(&mut bytes)
        })
        .map_err(|e| format!("caCertFile: reading {}: {e}", crate::spec::shown(path)))?;
    if bytes.len() as u64 > MAX_CA_CERT_FILE_BYTES {
        return Err(format!(
            "caCertFile: {} grew past {MAX_CA_CERT_FILE_BYTES} bytes",
            crate::spec::shown(path)
        ));
    }
    Ok(bytes)
}

/// Validates provider config values (typed: adapters whose config arrives as text convert it
/// first, see [`typed_from_text`]) and fills the defaults.
pub fn check_config(news: &Props) -> (Props, Vec<CheckFailure>) {
    let mut failures = Vec::new();
    let mut checked = Props::new(check_properties(CONFIG, &news.values, "", &mut failures));
    checked.inherit_secrets(news);
    (checked, failures)
}

/// A setting given as text (an environment-style `key=value`) as the value its property's
/// type wants: `"true"` for a boolean is `true`. Text that does not convert stays text, so
/// the check names what is wrong with it.
pub fn typed_from_text(name: &str, value: &Value) -> Value {
    let ty = CONFIG.iter().find(|p| p.name == name).map(|p| p.ty);
    match (ty, value) {
        (Some(Type::Boolean), Value::String(s)) if !contains_unknown(value) => match s.trim() {
            "true" | "True" | "TRUE" | "1" => Value::Bool(true),
            "false" | "False" | "FALSE" | "0" | "" => Value::Bool(false),
            _ => value.clone(),
        },
        _ => value.clone(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cloud {
    #[default]
    Public,
    UsGovernment,
    China,
}

impl Cloud {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "public" => Some(Self::Public),
            "usgovernment" => Some(Self::UsGovernment),
            "china" => Some(Self::China),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::UsGovernment => "usgovernment",
            Self::China => "china",
        }
    }
}

/// The resolved configuration: config values first, then the environment variables of each.
#[derive(Clone, Default)]
pub struct ProviderConfig {
    pub subscription_id: Option<String>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub oidc_token_file_path: Option<String>,
    pub use_msi: bool,
    pub cloud: Cloud,
    pub arm_endpoint: Option<String>,
    pub authority_host: Option<String>,
    pub ca_cert_file: Option<String>,
    pub msi_endpoint: Option<String>,
    pub oidc_request_url: Option<String>,
    pub oidc_request_token: Option<String>,
    pub graph_endpoint: Option<String>,
}

impl std::fmt::Debug for ProviderConfig {
    // Hand-written so that the client secret can never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("subscription_id", &self.subscription_id)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("oidc_token_file_path", &self.oidc_token_file_path)
            .field("use_msi", &self.use_msi)
            .field("cloud", &self.cloud)
            .field("arm_endpoint", &self.arm_endpoint)
            .field("authority_host", &self.authority_host)
            .field("ca_cert_file", &self.ca_cert_file)
            .field("msi_endpoint", &self.msi_endpoint)
            .field("oidc_request_url", &self.oidc_request_url)
            .field(
                "oidc_request_token",
                &self.oidc_request_token.as_ref().map(|_| "<redacted>"),
            )
            .field("graph_endpoint", &self.graph_endpoint)
            .finish()
    }
}

impl ProviderConfig {
    /// A config from plain `key -> value` settings, such as the ones `pgentra emulator` prints,
    /// converted to their types and checked, without the environment's fallbacks.
    pub fn from_settings(
        settings: &std::collections::BTreeMap<String, String>,
    ) -> Result<Self, Vec<CheckFailure>> {
        let args: Map<String, Value> = settings
            .iter()
            .map(|(k, v)| (k.clone(), typed_from_text(k, &Value::String(v.clone()))))
            .collect();
        Self::resolve(&Props::new(args), |_| None)
    }

    /// Resolves checked config values against the environment (`env` is `std::env::var` in
    /// the plugin; tests pass their own).
    pub fn resolve(
        args: &Props,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<CheckFailure>> {
        let (checked, failures) = check_config(args);
        if !failures.is_empty() {
            return Err(failures);
        }
        let lookup = |name: &str| -> Option<String> {
            let property = CONFIG.iter().find(|p| p.name == name)?;
            match checked.get(name) {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(Value::Bool(b)) => Some(b.to_string()),
                _ => property
                    .env
                    .iter()
                    .find_map(|var| env(var).filter(|v| !v.is_empty())),
            }
        };
        let environment = lookup("environment").unwrap_or_else(|| "public".into());
        let cloud = Cloud::parse(&environment).ok_or_else(|| {
            vec![CheckFailure::new(
                "environment",
                format!(
                    "{} is not allowed; use one of: {}",
                    crate::spec::shown(&environment),
                    ENVIRONMENTS.join(", ")
                ),
            )]
        })?;
        // Configure reads caCertFile at once: a FIFO there would block it for ever.
        if let Some(path) = lookup("caCertFile") {
            if let Some(problem) = file_problem("caCertFile", &path, MAX_CA_CERT_FILE_BYTES) {
                let reason = problem.trim_start_matches("caCertFile: ").to_owned();
                return Err(vec![CheckFailure::new("caCertFile", reason)]);
            }
        }
        Ok(Self {
            subscription_id: lookup("subscriptionId"),
            tenant_id: lookup("tenantId"),
            client_id: lookup("clientId"),
            client_secret: lookup("clientSecret"),
            oidc_token_file_path: lookup("oidcTokenFilePath"),
            use_msi: lookup("useMsi")
                .is_some_and(|v| matches!(v.as_str(), "true" | "1" | "True" | "TRUE")),
            cloud,
            arm_endpoint: lookup("armEndpoint"),
            authority_host: lookup("authorityHost"),
            ca_cert_file: lookup("caCertFile"),
            msi_endpoint: lookup("msiEndpoint"),
            oidc_request_url: lookup("oidcRequestUrl"),
            oidc_request_token: lookup("oidcRequestToken"),
            graph_endpoint: lookup("graphEndpoint"),
        })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_fifo_or_directory_as_ca_cert_file_is_refused_at_once_naming_the_property() {
        let dir = std::env::temp_dir().join(format!("pgentra-cafile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("ca.pem");
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        for path in [fifo.to_str().unwrap(), dir.to_str().unwrap()] {
            let args = props(json!({ "caCertFile": path }));
            let problems = ProviderConfig::resolve(&args, |_| None).expect_err(path);
            assert_eq!(problems[0].property, "caCertFile");
            assert!(
                problems[0].reason.contains("not a regular file"),
                "{}",
                problems[0].reason
            );
            assert!(read_ca_cert_file(path).is_err());
        }
        let big = dir.join("big.pem");
        std::fs::write(&big, vec![b'A'; MAX_CA_CERT_FILE_BYTES as usize + 1]).unwrap();
        let problems = ProviderConfig::resolve(
            &props(json!({ "caCertFile": big.to_str().unwrap() })),
            |_| None,
        )
        .expect_err("oversized");
        assert!(
            problems[0].reason.contains("at most"),
            "{}",
            problems[0].reason
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    use super::*;
    use serde_json::json;

    fn props(value: Value) -> Props {
        Props::from_json(value)
    }

    #[test]
    fn text_settings_become_booleans() {
        let typed = typed_from_text("useMsi", &json!("true"));
        let (checked, failures) = check_config(&props(json!({ "useMsi": typed })));
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(checked.get("useMsi"), Some(&json!(true)));
        assert_eq!(checked.get("environment"), Some(&json!("public")));
    }

    #[test]
    fn an_unknown_cloud_names_the_clouds() {
        let (_, failures) = check_config(&props(json!({"environment": "mars"})));
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].property, "environment");
        assert!(failures[0].reason.contains("public, usgovernment, china"));
    }

    #[test]
    fn config_wins_over_environment_and_environment_fills_gaps() {
        let env = |name: &str| match name {
            "AZURE_TENANT_ID" => Some("11111111-1111-1111-1111-111111111111".to_owned()),
            "AZURE_CLIENT_SECRET" => Some("from-env".to_owned()),
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some("actions-bearer".to_owned()),
            _ => None,
        };
        let config = ProviderConfig::resolve(
            &props(json!({"tenantId": "22222222-2222-2222-2222-222222222222"})),
            env,
        )
        .unwrap();
        assert_eq!(
            config.tenant_id.as_deref(),
            Some("22222222-2222-2222-2222-222222222222")
        );
        assert_eq!(config.client_secret.as_deref(), Some("from-env"));
        assert!(
            !format!("{config:?}").contains("from-env"),
            "Debug must not show the secret"
        );
        assert_eq!(config.oidc_request_token.as_deref(), Some("actions-bearer"));
        assert!(!format!("{config:?}").contains("actions-bearer"));
    }
}
