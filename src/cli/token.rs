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
pgentra token [--resource-type oss-rdbms|arm|ms-graph | --resource URL | --scope SCOPE]
              [--tenant TENANT] [-o json|tsv]

Prints a Microsoft Entra access token, by default for Azure Database for PostgreSQL: the
password of an Entra sign-in (PGPASSWORD). Its options are az account get-access-token's. The
token comes from the same credential chain as the provider, configured by the same environment
variables; these sources are tried, in this order, each only when its settings are present
(the Azure CLI is the one tried unasked):

  client secret        AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET
  workload identity    AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE
  GitHub Actions OIDC  AZURE_TENANT_ID, AZURE_CLIENT_ID, ACTIONS_ID_TOKEN_REQUEST_URL and
                       ACTIONS_ID_TOKEN_REQUEST_TOKEN (set in jobs with id-token: write)
  managed identity     IDENTITY_ENDPOINT and IDENTITY_HEADER (App Service, set by Azure), or
                       ARM_USE_MSI=true for a VM's (ARM_MSI_ENDPOINT: another endpoint);
                       AZURE_CLIENT_ID picks a user-assigned identity
  Azure CLI            az login (the az on PATH)

  AZURE_SUBSCRIPTION_ID  the subscription reported; default: `az account show`'s
  ARM_ENVIRONMENT        public (default), usgovernment or china: picks the audiences
  AZURE_AUTHORITY_HOST   another Entra authority (the pgentra emulator's)
  PGENTRA_CA_CERT_FILE   an extra trusted CA certificate (PEM)

  --resource-type TYPE   oss-rdbms (default: PostgreSQL), arm (Azure Resource Manager) or
                         ms-graph (Microsoft Graph), in the configured cloud
  --resource URL         a resource, such as https://management.azure.com/
  --scope SCOPE          a scope; a bare resource URL gets /.default appended
  --tenant TENANT        the tenant to sign in to (default: AZURE_TENANT_ID)
  -o/--output FORMAT     json: az's keys, {\"accessToken\", \"expiresOn\" (RFC 3339),
                         \"expires_on\" (Unix seconds), \"subscription\", \"tenant\",
                         \"tokenType\"}; tsv: their values, tab-separated, in that order.
                         Without it: the bare token
  --json                 the same as -o json

The token is a secret: it signs in as you for up to an hour. Example:
  PGPASSWORD=$(pgentra token) psql \"host=... dbname=postgres user=... sslmode=verify-full\"
";

/// What the token is for.
#[derive(Debug, Clone, PartialEq)]
pub enum Audience {
    /// `--resource-type`: a well-known resource of the configured cloud.
    ResourceType(ResourceType),
    /// `--resource` or `--scope`, as a scope.
    Scope(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResourceType {
    OssRdbms,
    Arm,
    MsGraph,
}

fn resource_type(text: &str) -> Result<ResourceType, String> {
    match text {
        "oss-rdbms" => Ok(ResourceType::OssRdbms),
        "arm" => Ok(ResourceType::Arm),
        "ms-graph" => Ok(ResourceType::MsGraph),
        _ => Err(format!("takes oss-rdbms, arm or ms-graph, not {text:?}")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Output {
    /// The bare token, for PGPASSWORD.
    Token,
    Json,
    Tsv,
}

fn output(text: &str) -> Result<Output, String> {
    match text {
        "json" => Ok(Output::Json),
        "tsv" => Ok(Output::Tsv),
        _ => Err(format!("takes json or tsv, not {text:?}")),
    }
}

/// A tenant ID or a verified domain name (Entra takes either in the token URL).
fn tenant(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 253
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "takes a tenant ID or domain name (letters, digits, '-' and '.'), not {text:?}"
        ))
    }
}

#[derive(Debug, PartialEq)]
pub struct Options {
    pub audience: Audience,
    pub tenant: Option<String>,
    pub output: Output,
}

/// `pgentra token`'s command line, as typed.
#[derive(clap::Parser)]
#[command(disable_version_flag = true, args_override_self = true)]
struct CommandLine {
    #[arg(long)]
    json: bool,
    #[arg(short = 'o', long = "output", value_name = "FORMAT", value_parser = output, help = "a format (json or tsv)")]
    output: Option<Output>,
    #[arg(long, value_name = "SCOPE", help = "a scope")]
    scope: Option<String>,
    #[arg(long, value_name = "URL", help = "a resource URL")]
    resource: Option<String>,
    #[arg(long = "resource-type", value_name = "TYPE", value_parser = resource_type, help = "a resource type (oss-rdbms, arm or ms-graph)")]
    resource_type: Option<ResourceType>,
    #[arg(long, value_name = "TENANT", value_parser = tenant, help = "a tenant ID")]
    tenant: Option<String>,
}

impl Options {
    /// The options, or a help request.
    pub fn request(args: &[String]) -> Result<Request<Self>, Misuse> {
        parse_args::<CommandLine>("token", args)?.and_then(|line| {
            let audience = match (line.resource_type, line.resource, line.scope) {
                (None, None, None) => Audience::ResourceType(ResourceType::OssRdbms),
                (Some(kind), None, None) => Audience::ResourceType(kind),
                (None, Some(resource), None) => {
                    Audience::Scope(normalise_scope("--resource", &resource)?)
                }
                (None, None, Some(scope)) => Audience::Scope(normalise_scope("--scope", &scope)?),
                _ => {
                    return Err(
                        "give one of --resource-type, --resource and --scope, not several".into(),
                    )
                }
            };
            let output = match (line.json, line.output) {
                (true, Some(Output::Tsv)) => {
                    return Err("--json and -o tsv disagree; give one".into())
                }
                (true, _) => Output::Json,
                (false, output) => output.unwrap_or(Output::Token),
            };
            Ok(Options {
                audience,
                tenant: line.tenant,
                output,
            })
        })
    }

    pub fn parse(args: &[String]) -> Result<Self, String> {
        Self::request(args)?.into_run()
    }
}

/// A bare resource (`https://host` or `https://host/`) becomes its `/.default` scope, as the
/// token endpoint's client-credentials grant wants.
fn normalise_scope(option: &str, scope: &str) -> Result<String, String> {
    let scope = scope.trim();
    if scope.is_empty() {
        return Err(format!("{option} must not be empty"));
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
    let mut config = config_from_env()?;
    if let Some(tenant) = options.tenant {
        config.tenant_id = Some(tenant);
    }
    let azure = Azure::from_config(&config).map_err(|e| e.to_string())?;
    let scope = match options.audience {
        Audience::ResourceType(ResourceType::OssRdbms) => azure.endpoints.postgres_scope(),
        Audience::ResourceType(ResourceType::Arm) => azure.endpoints.arm_scope.clone(),
        Audience::ResourceType(ResourceType::MsGraph) => azure.endpoints.graph_scope().to_owned(),
        Audience::Scope(scope) => scope,
    };
    let token = get_token(&azure, &scope).await?;
    if options.output == Output::Token {
        stdio::println(token.token.secret());
        return Ok(());
    }
    let tenant = Caller::from_token(token.token.secret())
        .map(|c| c.tenant_id)
        .ok()
        .or(config.tenant_id);
    // az's keys, in az's order (its tsv prints the values in this order).
    let fields = [
        ("accessToken", json!(token.token.secret())),
        (
            "expiresOn",
            json!(azure_core::time::to_rfc3339(&token.expires_on)),
        ),
        ("expires_on", json!(token.expires_on.unix_timestamp())),
        ("subscription", json!(azure.subscription_id())),
        ("tenant", json!(tenant)),
        ("tokenType", json!("Bearer")),
    ];
    let line = match options.output {
        Output::Tsv => fields
            .iter()
            .map(|(_, value)| match value {
                Value::String(text) => text.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\t"),
        _ => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect(),
        )
        .to_string(),
    };
    stdio::println(&line);
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
  - GitHub Actions OIDC: `permissions: id-token: write` in the job (GitHub then sets
    ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN), AZURE_TENANT_ID and
    AZURE_CLIENT_ID, and a federated credential on that app for the repository's subject
  - managed identity: export ARM_USE_MSI=true on an Azure VM (ARM_MSI_ENDPOINT for another
    endpoint), or IDENTITY_ENDPOINT and IDENTITY_HEADER (App Service); AZURE_CLIENT_ID picks a
    user-assigned identity
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
        let scope = |s: &str| normalise_scope("--scope", s);
        assert_eq!(
            scope("https://ossrdbms-aad.database.windows.net").unwrap(),
            "https://ossrdbms-aad.database.windows.net/.default"
        );
        assert_eq!(
            scope("https://management.azure.com/").unwrap(),
            "https://management.azure.com/.default"
        );
        assert_eq!(
            scope("https://graph.microsoft.com/User.Read").unwrap(),
            "https://graph.microsoft.com/User.Read"
        );
        assert!(scope(" ")
            .unwrap_err()
            .contains("--scope must not be empty"));
    }

    fn parse(list: &[&str]) -> Result<Options, String> {
        Options::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn az_options_name_the_audience_tenant_and_format() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.audience, Audience::ResourceType(ResourceType::OssRdbms));
        assert_eq!(o.output, Output::Token);
        let o = parse(&[
            "--resource-type",
            "arm",
            "-o",
            "tsv",
            "--tenant",
            "contoso.onmicrosoft.com",
        ])
        .unwrap();
        assert_eq!(o.audience, Audience::ResourceType(ResourceType::Arm));
        assert_eq!(o.output, Output::Tsv);
        assert_eq!(o.tenant.as_deref(), Some("contoso.onmicrosoft.com"));
        let o = parse(&["--resource=https://management.azure.com/", "--output=json"]).unwrap();
        assert_eq!(
            o.audience,
            Audience::Scope("https://management.azure.com/.default".into())
        );
        assert_eq!(o.output, Output::Json);
        assert_eq!(parse(&["--json"]).unwrap().output, Output::Json);
        assert_eq!(
            parse(&["--resource-type", "ms-graph"]).unwrap().audience,
            Audience::ResourceType(ResourceType::MsGraph)
        );

        let error = |list: &[&str]| parse(list).unwrap_err();
        assert_eq!(
            error(&["--resource-type", "sql"]),
            "--resource-type takes oss-rdbms, arm or ms-graph, not \"sql\""
        );
        assert_eq!(
            error(&["-o", "yaml"]),
            "-o/--output takes json or tsv, not \"yaml\""
        );
        assert!(error(&["--resource-type", "arm", "--scope", "x"]).contains("give one of"));
        assert!(error(&["--tenant", "a/b"]).contains("--tenant takes a tenant ID"));
        assert!(error(&["--json", "-o", "tsv"]).contains("disagree"));
    }
}
