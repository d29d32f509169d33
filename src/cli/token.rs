//! `pgentra token`: a Microsoft Entra access token for the cloud's PostgreSQL audience from the
//! provider's credential chain (what the seed gets with `az account get-access-token
//! --resource-type oss-rdbms`). Also the sign-in that `pgentra psql` and `pgentra doctor` share:
//! the provider configuration from the environment, a token, and whose token it is.

use crate::cli::args::{parse_args, Misuse, Request};
use crate::cli::stdio;
use azure_core::credentials::AccessToken;
use pgentra_core::azure::{Azure, Caller};
use pgentra_core::config::{ProviderConfig, CONFIG};
use pgentra_core::props::Props;
use serde_json::{json, Value};

pub const USAGE: &str = "\
pgentra token [--json] [--scope SCOPE]

Prints a Microsoft Entra access token for Azure Database for PostgreSQL: the password of an
Entra sign-in (PGPASSWORD). It comes from the same credential chain as the provider, configured
by the same environment variables, tried in this order:

  client secret      AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET
  workload identity  AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE
  managed identity   ARM_USE_MSI=true (or IDENTITY_ENDPOINT and IDENTITY_HEADER), AZURE_CLIENT_ID
                     to pick a user-assigned identity
  Azure CLI          az login

  ARM_ENVIRONMENT       public (default), usgovernment or china: picks the PostgreSQL audience
  AZURE_AUTHORITY_HOST  another Entra authority (the pgentra emulator's)
  PGENTRA_CA_CERT_FILE  an extra trusted CA certificate (PEM)

  --json         print {\"accessToken\", \"expiresOn\" (RFC 3339), \"expires_on\" (Unix seconds),
                 \"tokenType\", \"scope\", \"tenant\"} instead of the bare token
  --scope SCOPE  another scope (default: the cloud's PostgreSQL scope,
                 https://ossrdbms-aad.database.windows.net/.default in the public cloud);
                 a bare resource URL gets /.default appended

The token is a secret: it signs in as you for up to an hour. Example:
  PGPASSWORD=$(pgentra token) psql \"host=... dbname=postgres user=... sslmode=verify-full\"
";

pub struct Options {
    pub json: bool,
    pub scope: Option<String>,
}

/// `pgentra token`'s command line, as typed.
#[derive(clap::Parser)]
#[command(disable_version_flag = true, args_override_self = true)]
struct CommandLine {
    #[arg(long)]
    json: bool,
    #[arg(long, value_name = "SCOPE", help = "a scope")]
    scope: Option<String>,
}

impl Options {
    /// The options, or a help request.
    pub fn request(args: &[String]) -> Result<Request<Self>, Misuse> {
        parse_args::<CommandLine>("token", args)?.and_then(|line| {
            Ok(Options {
                json: line.json,
                scope: line.scope.as_deref().map(normalise_scope).transpose()?,
            })
        })
    }

    pub fn parse(args: &[String]) -> Result<Self, String> {
        Self::request(args)?.into_run()
    }
}

/// A bare resource (`https://host` or `https://host/`) becomes its `/.default` scope, as the
/// token endpoint's client-credentials grant wants.
fn normalise_scope(scope: &str) -> Result<String, String> {
    let scope = scope.trim();
    if scope.is_empty() {
        return Err("--scope must not be empty".into());
    }
    let after_scheme = scope.split_once("://").map_or(scope, |(_, rest)| rest);
    let bare = !after_scheme.trim_end_matches('/').contains('/');
    Ok(if scope.contains("://") && bare {
        format!("{}/.default", scope.trim_end_matches('/'))
    } else {
        scope.to_owned()
    })
}

pub async fn run(options: Options) -> Result<(), String> {
    let azure = azure_from_env()?;
    let scope = options
        .scope
        .unwrap_or_else(|| azure.endpoints.postgres_scope());
    let token = get_token(&azure, &scope).await?;
    if options.json {
        let tenant = Caller::from_token(token.token.secret())
            .map(|c| c.tenant_id)
            .ok();
        let line = json!({
            "accessToken": token.token.secret(),
            "expiresOn": azure_core::time::to_rfc3339(&token.expires_on),
            "expires_on": token.expires_on.unix_timestamp(),
            "tokenType": "Bearer",
            "scope": scope,
            "tenant": tenant,
        });
        stdio::println(&line.to_string());
    } else {
        stdio::println(token.token.secret());
    }
    Ok(())
}

/// The provider configuration from the environment alone (no stack config here), with each
/// problem named by the variables that set it.
pub fn config_from_env() -> Result<ProviderConfig, String> {
    ProviderConfig::resolve(&Props::default(), |name| std::env::var(name).ok()).map_err(
        |failures| {
            failures
                .iter()
                .map(|f| {
                    let vars = CONFIG
                        .iter()
                        .find(|p| p.name == f.property)
                        .map(|p| p.env.join(" or "))
                        .unwrap_or_else(|| f.property.clone());
                    format!("{vars}: {}", f.reason)
                })
                .collect::<Vec<_>>()
                .join("; ")
        },
    )
}

/// The provider's Azure client from the environment.
pub fn azure_from_env() -> Result<Azure, String> {
    let config = config_from_env()?;
    Azure::from_config(&config).map_err(|e| e.to_string())
}

/// A token for `scope`; a failure lists each credential source tried and how to set it up.
pub async fn get_token(azure: &Azure, scope: &str) -> Result<AccessToken, String> {
    azure
        .tokens
        .get(scope)
        .await
        .map_err(|e| format!("no token for {scope}: {e}\n\n{SIGN_IN_HELP}"))
}

/// How to make one source of the chain work.
pub const SIGN_IN_HELP: &str = "\
To sign in, set up any one of:
  - client secret: export AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET
  - workload identity (AKS): AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE, which
    the workload identity webhook sets in pods labelled azure.workload.identity/use=true
  - managed identity: export ARM_USE_MSI=true on an Azure VM, or IDENTITY_ENDPOINT and
    IDENTITY_HEADER (App Service); AZURE_CLIENT_ID picks a user-assigned identity
  - Azure CLI: az login (install it: https://aka.ms/InstallAzureCli)
  - the local emulator: `pgentra emulator` prints the exports that sign in to it";

/// Whose token it is, read from its claims (not verified: it came from the token service over
/// TLS and is only described here, never trusted for a decision).
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub caller: Caller,
    /// The PostgreSQL role name this principal signs in as by default: a user's UPN, or a
    /// managed identity's resource name (from `xms_mirid`); None for an app with no name claim.
    pub role_name: Option<String>,
    pub audience: String,
    /// Unix seconds.
    pub expires: i64,
}

impl TokenInfo {
    pub fn read(token: &str) -> Result<Self, String> {
        let caller = Caller::from_token(token).map_err(|e| e.to_string())?;
        let claims = claims(token)?;
        let text = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or_default();
        // A managed identity's token names its resource; the resource name is the identity's
        // display name, which is the role name Azure expects.
        let identity_name = text("xms_mirid")
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        Ok(Self {
            role_name: caller.name.clone().or(identity_name),
            audience: text("aud").to_owned(),
            expires: claims.get("exp").and_then(Value::as_i64).unwrap_or(0),
            caller,
        })
    }

    /// `name (object id …)` for messages.
    pub fn describe(&self) -> String {
        match &self.role_name {
            Some(name) => format!("{name} (object id {})", self.caller.object_id),
            None => format!(
                "app {} (object id {})",
                self.caller.client_id.as_deref().unwrap_or("?"),
                self.caller.object_id
            ),
        }
    }
}

fn claims(token: &str) -> Result<Value, String> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or("the access token is not a JWT")?;
    let bytes = azure_core::base64::decode_url_safe(payload)
        .map_err(|_| "the access token's payload is not base64url")?;
    serde_json::from_slice(&bytes).map_err(|_| "the access token's payload is not JSON".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_resource_gets_its_default_scope_and_a_scope_is_kept() {
        assert_eq!(
            normalise_scope("https://ossrdbms-aad.database.windows.net").unwrap(),
            "https://ossrdbms-aad.database.windows.net/.default"
        );
        assert_eq!(
            normalise_scope("https://management.azure.com/").unwrap(),
            "https://management.azure.com/.default"
        );
        assert_eq!(
            normalise_scope("https://graph.microsoft.com/User.Read").unwrap(),
            "https://graph.microsoft.com/User.Read"
        );
        assert!(normalise_scope(" ").is_err());
    }
}
