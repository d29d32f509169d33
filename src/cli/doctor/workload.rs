//! `pgentra doctor --workload NAMESPACE/SA`: the workload-identity exchange checked before the
//! first one fails. It reads what Entra reads: the issuer's OpenID configuration and JWKS, the
//! identity's federated credentials in ARM, and (when given) the projected token; then says each
//! mismatch as Entra would refuse it (AADSTS70021, "No matching federated identity record").
//!
//! Entra compares the token's `iss` and `sub` with a credential's issuer and subject as exact
//! strings (a trailing '/' counts), and wants one of the token's audiences in the credential's.

use super::projected_token::ProjectedToken;
use super::Report;
use crate::cli::token;
use pgentra_core::azure::ids::{ManagedIdentityId, MANAGED_IDENTITY_API_VERSION};
use pgentra_core::azure::Azure;
use pgentra_core::rules;
use serde_json::{json, Value};

/// The audience AKS workload identity projects tokens for, and Entra's default.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
/// The environment variable the workload-identity webhook sets to the projected token's path.
pub const TOKEN_FILE_VARIABLE: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// The most of an OpenID document or JWKS read: both are a few kilobytes.
const MAX_DOCUMENT_BYTES: usize = 1 << 20;
/// Clock skew allowed on `nbf` (Entra allows a few minutes).
const NOT_BEFORE_SKEW_SECS: i64 = 300;

#[derive(Debug, PartialEq)]
pub enum IdentityRef {
    /// A resource group and name, or an ARM ID (with its subscription).
    Named {
        subscription: Option<String>,
        resource_group: String,
        name: String,
    },
    /// The identity's client (application) ID, looked up in the subscription.
    ClientId(String),
}

#[derive(Debug, PartialEq)]
pub struct WorkloadOptions {
    pub namespace: String,
    pub service_account: String,
    pub identity: IdentityRef,
    /// The issuer to check; default: the projected token's `iss`.
    pub issuer: Option<String>,
    /// Default: `$AZURE_FEDERATED_TOKEN_FILE` when set.
    pub token_file: Option<String>,
    pub audience: String,
}

impl WorkloadOptions {
    /// `NAMESPACE/SA`, checked by Kubernetes' naming rules.
    pub fn service_account(text: &str) -> Result<(String, String), String> {
        let Some((namespace, name)) = text.split_once('/') else {
            return Err(format!(
                "--workload {text:?}: expected NAMESPACE/SERVICE_ACCOUNT, such as myapp/myapp-sa"
            ));
        };
        rules::kubernetes_service_account(namespace, name)
            .map_err(|why| format!("--workload: {why}"))?;
        Ok((namespace.to_owned(), name.to_owned()))
    }

    /// `--identity RG/NAME` or the identity's ARM ID.
    pub fn identity(text: &str) -> Result<IdentityRef, String> {
        if text.starts_with("/subscriptions/") {
            let id = ManagedIdentityId::parse(text).map_err(|e| format!("--identity: {e}"))?;
            return Ok(IdentityRef::Named {
                subscription: Some(id.subscription_id),
                resource_group: id.resource_group,
                name: id.name,
            });
        }
        match text.split_once('/') {
            Some((group, name)) if !group.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(IdentityRef::Named {
                    subscription: None,
                    resource_group: group.into(),
                    name: name.into(),
                })
            }
            _ => Err(format!(
                "--identity {text:?}: expected RESOURCE_GROUP/IDENTITY_NAME or the identity's ARM ID"
            )),
        }
    }
}

/// One federated credential as ARM shows it.
struct Credential {
    name: String,
    issuer: String,
    subject: String,
    audiences: Vec<String>,
}

impl Credential {
    fn from_arm(body: &Value) -> Self {
        let text = |k: &str| {
            body["properties"][k]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        Self {
            name: body["name"].as_str().unwrap_or_default().to_owned(),
            issuer: text("issuer"),
            subject: text("subject"),
            audiences: body["properties"]["audiences"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// What Entra would find different from a token with `iss`, `sub` and `aud`; empty when it
    /// matches.
    fn mismatches(&self, iss: &str, sub: &str, aud: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        if self.issuer != iss {
            let slash = if self.issuer.trim_end_matches('/') == iss.trim_end_matches('/') {
                " (they differ only in the trailing '/', and Entra compares exactly)"
            } else {
                ""
            };
            out.push(format!(
                "issuer {:?} is not the token's {iss:?}{slash}",
                self.issuer
            ));
        }
        if self.subject != sub {
            out.push(format!(
                "subject {:?} is not the token's {sub:?}",
                self.subject
            ));
        }
        if !self.audiences.iter().any(|a| aud.contains(a)) {
            out.push(format!(
                "audiences {:?} hold none of the token's {aud:?}",
                self.audiences
            ));
        }
        out
    }
}

/// The identity as found in ARM.
struct Identity {
    id: ManagedIdentityId,
    client_id: String,
}

pub async fn run(options: WorkloadOptions) -> Result<Report, String> {
    let config = token::config_from_env()?;
    let azure = Azure::from_config(&config).map_err(|e| e.to_string())?;
    let http = pgentra_core::azure::http::build_client(config.ca_cert_file.as_deref())
        .map_err(|e| e.to_string())?;
    let mut report = Report::default();
    let subject = rules::service_account_subject(&options.namespace, &options.service_account);

    let token_file = options.token_file.clone().or_else(|| {
        std::env::var(TOKEN_FILE_VARIABLE)
            .ok()
            .filter(|p| !p.is_empty())
    });
    let projected = match &token_file {
        None => None,
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| format!("reading {path}: {e}"))
            .and_then(|text| ProjectedToken::parse(&text).map_err(|e| format!("{path}: {e}")))
        {
            Ok(token) => Some(token),
            Err(why) => {
                report.fail(
                    "token",
                    why,
                    format!(
                        "give the file the cluster projects for the pod (the {TOKEN_FILE_VARIABLE} \
                         the workload-identity webhook sets), or leave --token-file out"
                    ),
                );
                None
            }
        },
    };
    let issuer = match (&options.issuer, &projected) {
        (Some(issuer), _) => issuer.clone(),
        (None, Some(token)) if !token.claim("iss").is_empty() => token.claim("iss").to_owned(),
        _ => {
            return Err(
                "give --issuer URL, the cluster's OIDC issuer (`az aks show \
                        --resource-group RG --name CLUSTER --query oidcIssuerProfile.issuerUrl \
                        --output tsv`), or a --token-file to take it from"
                    .into(),
            )
        }
    };

    let published = issuer_checks(&http, &issuer, &mut report).await;
    let identity = identity_check(&azure, &options.identity, &mut report).await;
    // Entra compares with what the cluster's tokens carry: the issuer the cluster publishes.
    let expected_iss = published
        .as_ref()
        .and_then(|(doc, _)| doc["issuer"].as_str().filter(|i| !i.is_empty()))
        .map(str::to_owned)
        .unwrap_or_else(|| issuer.clone());
    let expected_aud = vec![options.audience.clone()];
    let credentials = match &identity {
        Some(identity) => {
            credential_check(
                &azure,
                identity,
                &expected_iss,
                &subject,
                &expected_aud,
                &options,
                &mut report,
            )
            .await
        }
        None => {
            report.skip("credential", "not checked: the identity was not found");
            None
        }
    };
    if let Some(token) = projected {
        let jwks = published.as_ref().map(|(_, jwks)| jwks);
        token_check(
            &token,
            jwks,
            &expected_iss,
            &subject,
            &options.audience,
            credentials.as_deref(),
            &mut report,
        );
    } else if token_file.is_none() {
        report.skip(
            "token",
            format!("not checked: no --token-file, and {TOKEN_FILE_VARIABLE} is not set"),
        );
    }
    Ok(report)
}

/// GET an https URL's JSON document (bounded).
async fn fetch_json(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    if !url.starts_with("https://") {
        return Err(format!(
            "{url} is not an https:// URL; Entra fetches only over https"
        ));
    }
    let response = http
        .get(url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            format!("GET {url}: {text}")
        })?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: reading the answer: {e}"))?;
    if !status.is_success() {
        return Err(format!("GET {url} answered {status}"));
    }
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "GET {url}: the answer is over {MAX_DOCUMENT_BYTES} bytes"
        ));
    }
    serde_json::from_slice(&body).map_err(|_| format!("GET {url}: the answer is not JSON"))
}

/// The issuer's OpenID configuration (`issuer` check) and its keys (`jwks` check).
async fn issuer_checks(
    http: &reqwest::Client,
    issuer: &str,
    report: &mut Report,
) -> Option<(Value, Value)> {
    if let Err(why) = rules::issuer(&json!(issuer)) {
        report.fail(
            "issuer",
            why,
            "give the URL exactly as the cluster publishes it: az aks show --resource-group RG \
             --name CLUSTER --query oidcIssuerProfile.issuerUrl --output tsv",
        );
        report.skip(
            "jwks",
            "not checked: the issuer is not an https URL Entra can fetch",
        );
        return None;
    }
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let doc = match fetch_json(http, &url).await {
        Ok(doc) => doc,
        Err(why) => {
            report.fail(
                "issuer",
                format!(
                    "{why}\nEntra fetches this too, and refuses the exchange when it cannot \
                     (AADSTS50166: Request to External OIDC endpoint failed)"
                ),
                "enable the cluster's OIDC issuer (az aks update --resource-group RG --name \
                 CLUSTER --enable-oidc-issuer) and give its URL exactly (az aks show ... --query \
                 oidcIssuerProfile.issuerUrl --output tsv)",
            );
            report.skip("jwks", "not checked: no OpenID configuration");
            return None;
        }
    };
    let published = doc["issuer"].as_str().unwrap_or_default().to_owned();
    if published == issuer {
        report.pass(
            "issuer",
            format!("{issuer} publishes its OpenID configuration, with this exact issuer"),
        );
    } else if published.is_empty() {
        report.fail(
            "issuer",
            format!("{url} names no issuer"),
            "this is not an OpenID issuer; give the cluster's (az aks show ... --query oidcIssuerProfile.issuerUrl)",
        );
    } else {
        let slash = if published.trim_end_matches('/') == issuer.trim_end_matches('/') {
            "; they differ only in the trailing '/'"
        } else {
            ""
        };
        report.fail(
            "issuer",
            format!(
                "the issuer publishes itself as {published:?}, not {issuer:?}{slash}. Its tokens \
                 carry {published:?} and Entra compares the string exactly"
            ),
            format!("use {published:?}, character for character, in the federated credential"),
        );
    }
    let jwks_uri = doc["jwks_uri"].as_str().unwrap_or_default();
    let jwks = match fetch_json(http, jwks_uri).await {
        Ok(jwks) => jwks,
        Err(why) => {
            let why = if jwks_uri.is_empty() {
                "the OpenID configuration has no jwks_uri".to_owned()
            } else {
                why
            };
            report.fail(
                "jwks",
                format!("{why}; Entra cannot verify the cluster's tokens without its keys"),
                "check the cluster's OIDC issuer (az aks show ... --query oidcIssuerProfile)",
            );
            return None;
        }
    };
    let rsa = jwks["keys"]
        .as_array()
        .map(|keys| keys.iter().filter(|k| k["kty"] == "RSA").count())
        .unwrap_or(0);
    if rsa == 0 {
        report.fail(
            "jwks",
            format!("{jwks_uri} holds no RSA key; service-account tokens are signed with RS256"),
            "check the cluster's OIDC issuer (az aks show ... --query oidcIssuerProfile)",
        );
        return None;
    }
    report.pass("jwks", format!("{jwks_uri} holds {rsa} RSA signing key(s)"));
    Some((doc, jwks))
}

/// The managed identity, by resource group and name or by client ID (`identity` check).
async fn identity_check(
    azure: &Azure,
    wanted: &IdentityRef,
    report: &mut Report,
) -> Option<Identity> {
    let subscription = match wanted {
        IdentityRef::Named {
            subscription: Some(s),
            ..
        } => Some(s.clone()),
        _ => azure.subscription_id().map(str::to_owned),
    };
    let Some(subscription) = subscription else {
        report.fail(
            "identity",
            "the subscription is unknown",
            "export AZURE_SUBSCRIPTION_ID, choose one with `az account set --subscription ...`, \
             or give the identity's ARM ID",
        );
        return None;
    };
    let found = match wanted {
        IdentityRef::Named {
            resource_group,
            name,
            ..
        } => {
            let id = ManagedIdentityId::new(&subscription, resource_group, name);
            azure
                .arm
                .get(&id.to_string(), MANAGED_IDENTITY_API_VERSION)
                .await
                .map(|body| body.map(|b| (id, b)))
        }
        IdentityRef::ClientId(client_id) => {
            let path = format!(
                "/subscriptions/{subscription}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
            );
            azure
                .arm
                .list(&path, MANAGED_IDENTITY_API_VERSION)
                .await
                .map(|items| {
                    items.unwrap_or_default().into_iter().find_map(|b| {
                        let same = b["properties"]["clientId"]
                            .as_str()
                            .is_some_and(|c| c.eq_ignore_ascii_case(client_id));
                        let id = ManagedIdentityId::parse(b["id"].as_str()?).ok()?;
                        same.then_some((id, b))
                    })
                })
        }
    };
    let described = match wanted {
        IdentityRef::Named {
            resource_group,
            name,
            ..
        } => format!("{name} in resource group {resource_group}"),
        IdentityRef::ClientId(client_id) => format!("client id {client_id}"),
    };
    match found {
        Ok(Some((id, body))) => {
            let client_id = body["properties"]["clientId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            report.pass(
                "identity",
                format!(
                    "user-assigned identity {} in {} (client id {client_id})",
                    id.name, id.resource_group
                ),
            );
            Some(Identity { id, client_id })
        }
        Ok(None) => {
            report.fail(
                "identity",
                format!("no user-assigned identity with {described} in subscription {subscription}"),
                format!(
                    "check the name: az identity list --subscription {subscription} --query \
                     \"[].{{name:name, resourceGroup:resourceGroup, clientId:clientId}}\" --output table"
                ),
            );
            None
        }
        Err(error) => {
            report.fail(
                "identity",
                format!("reading the identity ({described}) from Azure Resource Manager: {error}"),
                format!(
                    "sign in as a principal that may read it (Reader on its resource group)\n{}",
                    token::SIGN_IN_HELP
                ),
            );
            None
        }
    }
}

/// The identity's federated credentials against what the cluster's tokens carry
/// (`credential` check); returns them for the token check.
async fn credential_check(
    azure: &Azure,
    identity: &Identity,
    iss: &str,
    sub: &str,
    aud: &[String],
    options: &WorkloadOptions,
    report: &mut Report,
) -> Option<Vec<Credential>> {
    let path = format!("{}/federatedIdentityCredentials", identity.id);
    let credentials: Vec<Credential> =
        match azure.arm.list(&path, MANAGED_IDENTITY_API_VERSION).await {
            Ok(items) => items
                .unwrap_or_default()
                .iter()
                .map(Credential::from_arm)
                .collect(),
            Err(error) => {
                report.fail(
                "credential",
                format!("listing the identity's federated credentials: {error}"),
                "sign in as a principal that may read the identity (Reader on its resource group)",
            );
                return None;
            }
        };
    if let Some(good) = credentials
        .iter()
        .find(|c| c.mismatches(iss, sub, aud).is_empty())
    {
        report.pass(
            "credential",
            format!(
                "{} matches {sub} from {iss} for audience {} (client id {} for the pod's \
                 azure.workload.identity/client-id annotation)",
                good.name, aud[0], identity.client_id
            ),
        );
        return Some(credentials);
    }
    let mut detail = format!(
        "no federated credential of {} matches the cluster's tokens for {sub}; Entra answers \
         AADSTS70021: No matching federated identity record found for presented assertion. \
         Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{}'.",
        identity.id.name,
        aud.join(",")
    );
    if credentials.is_empty() {
        detail.push_str("\nthe identity has no federated credential at all");
    }
    for c in &credentials {
        for why in c.mismatches(iss, sub, aud) {
            detail.push_str(&format!("\n{}: {why}", c.name));
        }
    }
    // A credential already for this subject or issuer is most likely the one meant: fix it.
    let near = credentials
        .iter()
        .find(|c| c.subject == sub)
        .or_else(|| credentials.iter().find(|c| c.issuer == iss));
    let (verb, name) = match near {
        Some(c) => ("update", c.name.clone()),
        None => ("create", credential_name(options)),
    };
    let fix = format!(
        "az identity federated-credential {verb} --name {name} --identity-name {} \
         --resource-group {} --issuer {iss} --subject {sub} --audiences {}",
        identity.id.name, identity.id.resource_group, aud[0]
    );
    report.fail("credential", detail, fix);
    Some(credentials)
}

/// A credential name for a service account (3-120 letters, digits, '-', '_').
fn credential_name(options: &WorkloadOptions) -> String {
    let name = format!("fc-{}-{}", options.namespace, options.service_account).replace('.', "-");
    name.chars().take(120).collect()
}

/// The projected token: signature, iss/sub/aud/exp, and which credential it would match.
fn token_check(
    token: &ProjectedToken,
    jwks: Option<&Value>,
    iss: &str,
    sub: &str,
    audience: &str,
    credentials: Option<&[Credential]>,
    report: &mut Report,
) {
    let now = azure_core::time::OffsetDateTime::now_utc().unix_timestamp();
    let mut problems = Vec::new();
    let kid = match jwks.map(|jwks| token.verify(jwks)) {
        Some(Ok(kid)) => Some(kid),
        Some(Err(why)) => {
            problems.push(format!(
                "{why}; Entra refuses an assertion it cannot verify"
            ));
            None
        }
        None => None,
    };
    let (t_iss, t_sub, t_aud) = (token.claim("iss"), token.claim("sub"), token.audiences());
    if t_iss != iss {
        problems.push(format!("its iss {t_iss:?} is not the issuer {iss:?}"));
    }
    if t_sub != sub {
        problems.push(format!(
            "its sub {t_sub:?} is not {sub:?}: the pod runs as another service account \
             (spec.serviceAccountName)"
        ));
    }
    if !t_aud.iter().any(|a| a == audience) {
        problems.push(format!("its aud {t_aud:?} lacks {audience:?}"));
    }
    match token.number("exp") {
        Some(exp) if exp > now => {}
        Some(exp) => problems.push(format!(
            "it expired {} s ago; Entra answers AADSTS700024 (not within its valid time range): \
             the kubelet renews the file, so read it anew before each exchange",
            now - exp
        )),
        None => problems.push("it has no exp".into()),
    }
    if token
        .number("nbf")
        .is_some_and(|nbf| nbf > now + NOT_BEFORE_SKEW_SECS)
    {
        problems.push("its nbf is in the future: check the clocks".into());
    }
    let matched = credentials.and_then(|list| {
        list.iter()
            .find(|c| c.mismatches(t_iss, t_sub, &t_aud).is_empty())
            .map(|c| c.name.clone())
    });
    let verified = match &kid {
        Some(kid) => format!("signature verifies with the issuer's key {kid}"),
        None => "signature not checked (no JWKS)".to_owned(),
    };
    if problems.is_empty() {
        match (matched, credentials) {
            (Some(name), _) => report.pass(
                "token",
                format!(
                    "{verified}; iss, sub {t_sub} and aud as expected, valid {} more minutes; \
                     Entra would match credential {name}",
                    (token.number("exp").unwrap_or(now) - now) / 60
                ),
            ),
            (None, Some(_)) => report.fail(
                "token",
                format!("{verified}, but it matches no federated credential (AADSTS70021)"),
                "add the credential the credential check names",
            ),
            (None, None) => report.pass(
                "token",
                format!("{verified}; iss, sub {t_sub} and aud as expected (credentials not read)"),
            ),
        }
    } else {
        let mut detail = verified;
        for p in problems {
            detail.push('\n');
            detail.push_str(&p);
        }
        if let Some(name) = matched {
            detail.push_str(&format!("\nits claims match credential {name}"));
        }
        report.fail(
            "token",
            detail,
            "check the pod: label azure.workload.identity/use: \"true\", serviceAccountName, and \
             the service account's azure.workload.identity/client-id annotation",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(issuer: &str, subject: &str) -> Credential {
        Credential {
            name: "fc".into(),
            issuer: issuer.into(),
            subject: subject.into(),
            audiences: vec![TOKEN_EXCHANGE_AUDIENCE.into()],
        }
    }

    #[test]
    fn a_trailing_slash_and_another_subject_are_each_named() {
        let aud = vec![TOKEN_EXCHANGE_AUDIENCE.to_string()];
        let c = credential(
            "https://issuer.example/t/c",
            "system:serviceaccount:ns:other",
        );
        let why = c.mismatches(
            "https://issuer.example/t/c/",
            "system:serviceaccount:ns:sa",
            &aud,
        );
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(why[0].contains("only in the trailing '/'"), "{why:?}");
        assert!(
            why[1].contains("subject \"system:serviceaccount:ns:other\""),
            "{why:?}"
        );
        let same = credential("https://issuer.example/t/c/", "system:serviceaccount:ns:sa");
        assert!(same
            .mismatches(
                "https://issuer.example/t/c/",
                "system:serviceaccount:ns:sa",
                &aud
            )
            .is_empty());
        assert!(same.mismatches(
            "https://issuer.example/t/c/",
            "system:serviceaccount:ns:sa",
            &["api://other".to_string()]
        )[0]
        .contains("audiences"));
    }

    #[test]
    fn the_service_account_and_identity_are_checked_when_parsed() {
        assert_eq!(
            WorkloadOptions::service_account("myapp/myapp-sa").unwrap(),
            ("myapp".into(), "myapp-sa".into())
        );
        assert!(WorkloadOptions::service_account("myapp")
            .unwrap_err()
            .contains("NAMESPACE/SERVICE_ACCOUNT"));
        assert!(WorkloadOptions::service_account("MyApp/sa")
            .unwrap_err()
            .contains("namespace"));
        assert!(WorkloadOptions::identity("rg/id").is_ok());
        assert!(WorkloadOptions::identity("rg")
            .unwrap_err()
            .contains("RESOURCE_GROUP/IDENTITY_NAME"));
    }
}
