//! `pgentra doctor`: the seed's troubleshooting section as a command. Each check says PASS, FAIL
//! or SKIP, what it saw, and for a failure the fix; the exit code is non-zero when one fails.
//!
//! The checks run in the order a sign-in depends on them: the token (audience, expiry), the
//! server's ARM settings (Entra authentication, password authentication, an Entra
//! administrator), the network and TLS, the sign-in, then inside the server pgaadauth and the role.

use crate::azure::ids::FlexibleServerId;
use crate::azure::Azure;
use crate::cli::psql::split_host_port;
use crate::cli::token::{self, TokenInfo};
use crate::sql::introspect;
use crate::sql::pool::{self, Session};
use crate::sql::quote;
use crate::sql::{ConnInfo, PasswordSource, SqlError, SslMode};
use serde_json::Value;
use std::time::Duration;

pub const USAGE: &str = "\
pgentra doctor <server-or-host> [user] [--port N]

Checks why a Microsoft Entra sign-in to Azure Database for PostgreSQL fails (or that it works),
and says how to fix each problem. One line per check: PASS, FAIL or SKIP, then the fix.
The exit code is 1 when a check fails, 0 otherwise.

  server-or-host  one of:
                    the server's ARM ID (/subscriptions/.../flexibleServers/NAME)
                    RESOURCE_GROUP/SERVER (subscription from AZURE_SUBSCRIPTION_ID)
                    the server's host name, host:port (the ARM checks are skipped then)
  user            the PostgreSQL role to sign in as; default: the token's principal (a user's
                  UPN, a managed identity's name)
  --port N        the server's PostgreSQL port (default 5432; `pgentra emulator` prints the
                  port of each emulated server)

Checks, in order: a token for the PostgreSQL audience that has not expired (token); the server
in Azure Resource Manager (server), Microsoft Entra authentication enabled (entra-auth),
password authentication off (password-auth), an Entra administrator set (entra-admin); the host
reachable (reach); TLS with a certificate valid for the host (tls); the sign-in with the token
(sign-in); pgaadauth loaded in database postgres (pgaadauth); the role bound to the token's
principal (role). Credentials and the cloud come from the environment, as for `pgentra token`.
";

/// The ARM API version of Microsoft.DBforPostgreSQL the checks read.
const PG_API: &str = "2025-08-01";
/// PostgreSQL's port, and Azure's.
const DEFAULT_PORT: u16 = 5432;
/// Tokens closer than this to their expiry are reported as a failure: a sign-in may outlive it.
const EXPIRY_MARGIN_SECS: i64 = 60;

#[derive(Debug, PartialEq)]
pub enum Target {
    /// An ARM ID, or a resource group and server name (the subscription comes from config).
    Server {
        subscription: Option<String>,
        resource_group: String,
        name: String,
    },
    Host(String),
}

#[derive(Debug, PartialEq)]
pub struct Options {
    pub target: Target,
    pub user: Option<String>,
    pub port: Option<u16>,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut positional = Vec::new();
        let mut port = None;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--port" => {
                    let p = args.next().ok_or("--port needs a number")?;
                    port = Some(
                        p.parse::<u16>()
                            .ok()
                            .filter(|p| *p != 0)
                            .ok_or_else(|| format!("--port takes 1 to 65535, not {p:?}"))?,
                    );
                }
                flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
                _ => positional.push(arg.clone()),
            }
        }
        let (target, user) = match positional.as_slice() {
            [t] => (t, None),
            [t, u] => (t, Some(u.clone())),
            [] => return Err("expected <server-or-host>".into()),
            _ => return Err("expected <server-or-host> [user], got more".into()),
        };
        let target = if target.starts_with("/subscriptions/") {
            let id = FlexibleServerId::parse(target).map_err(|e| e.to_string())?;
            Target::Server {
                subscription: Some(id.subscription_id),
                resource_group: id.resource_group,
                name: id.name,
            }
        } else if let Some((group, name)) = target.split_once('/') {
            if group.is_empty() || name.is_empty() || name.contains('/') {
                return Err(format!(
                    "{target:?} is neither RESOURCE_GROUP/SERVER nor an ARM ID (/subscriptions/...)"
                ));
            }
            Target::Server {
                subscription: None,
                resource_group: group.into(),
                name: name.into(),
            }
        } else {
            let (host, host_port) = split_host_port(target)?;
            if port.is_some() && host_port.is_some() {
                return Err("give the port once: host:port or --port".into());
            }
            port = port.or(host_port);
            Target::Host(host)
        };
        Ok(Options { target, user, port })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

/// The checks so far, in order.
#[derive(Default)]
pub struct Report(pub Vec<Check>);

impl Report {
    fn add(&mut self, name: &'static str, status: Status, detail: impl Into<String>) {
        self.0.push(Check {
            name,
            status,
            detail: detail.into(),
            fix: None,
        });
    }
    fn pass(&mut self, name: &'static str, detail: impl Into<String>) {
        self.add(name, Status::Pass, detail);
    }
    fn skip(&mut self, name: &'static str, detail: impl Into<String>) {
        self.add(name, Status::Skip, detail);
    }
    fn fail(&mut self, name: &'static str, detail: impl Into<String>, fix: impl Into<String>) {
        self.0.push(Check {
            name,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        });
    }

    pub fn failed(&self) -> bool {
        self.0.iter().any(|c| c.status == Status::Fail)
    }

    /// One line per check, the fix indented under a failure; plain text, no colour.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.0 {
            let status = match c.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::Skip => "SKIP",
            };
            // A detail of several lines (the credential chain's sources) stays under its check.
            for (i, line) in c.detail.lines().enumerate() {
                match i {
                    0 => out.push_str(&format!("{status}  {:<14} {line}\n", c.name)),
                    _ => out.push_str(&format!("      {:<14} {line}\n", "")),
                }
            }
            if let Some(fix) = &c.fix {
                for (i, line) in fix.lines().enumerate() {
                    let lead = if i == 0 { "fix:" } else { "    " };
                    out.push_str(&format!("      {:<14} {lead} {line}\n", ""));
                }
            }
        }
        let failed = self.0.iter().filter(|c| c.status == Status::Fail).count();
        out.push_str(&match failed {
            0 => "\nAll checks passed.\n".to_string(),
            n => format!("\n{n} check(s) failed; each fix is under it.\n"),
        });
        out
    }
}

/// What the ARM checks learnt that the later checks use.
#[derive(Default)]
struct ServerFacts {
    /// `az ... --resource-group RG --server-name NAME` arguments, for the fixes.
    az: Option<(String, String)>,
    host: Option<String>,
    shared_preload_libraries: Option<String>,
}

pub async fn run(options: Options) -> Result<Report, String> {
    let config = token::config_from_env()?;
    let azure = Azure::from_config(&config).map_err(|e| e.to_string())?;
    let mut report = Report::default();

    // Who signs in comes first: the fixes of the server's checks name that principal.
    let token = token_check(&azure, &mut report).await;
    let signed_in = token.as_ref().map(|(_, info)| info);
    let facts = match &options.target {
        Target::Server {
            subscription,
            resource_group,
            name,
        } => {
            let subscription = subscription
                .clone()
                .or_else(|| config.subscription_id.clone())
                .ok_or(
                    "RESOURCE_GROUP/SERVER needs the subscription: export AZURE_SUBSCRIPTION_ID, \
                     or give the server's ARM ID",
                )?;
            let id = FlexibleServerId::new(&subscription, resource_group, name);
            arm_checks(&azure, &id, signed_in, &mut report).await
        }
        Target::Host(host) => {
            for name in ["server", "entra-auth", "password-auth", "entra-admin"] {
                report.skip(
                    name,
                    "not checked: a host name was given (give the ARM ID or RESOURCE_GROUP/SERVER to check the server's settings)",
                );
            }
            ServerFacts {
                host: Some(host.clone()),
                ..Default::default()
            }
        }
    };

    let user = options
        .user
        .clone()
        .or_else(|| token.as_ref().and_then(|(_, info)| info.role_name.clone()));

    let Some(host) = facts.host.clone() else {
        for name in ["reach", "tls", "sign-in", "pgaadauth", "role"] {
            report.skip(name, "not checked: the server's host is unknown");
        }
        return Ok(report);
    };
    let port = options.port.unwrap_or(DEFAULT_PORT);
    if !reach_check(&host, port, &mut report).await {
        for name in ["tls", "sign-in", "pgaadauth", "role"] {
            report.skip(name, format!("not checked: {host}:{port} does not answer"));
        }
        return Ok(report);
    }
    let (Some((token, info)), Some(user)) = (token, user) else {
        report.skip("tls", "not checked: no token to sign in with");
        let why = "not checked: no token, or no user name (give [user]: the role to sign in as)";
        for name in ["sign-in", "pgaadauth", "role"] {
            report.skip(name, why);
        }
        return Ok(report);
    };
    let source = TokenPassword {
        token: token.token.secret().to_owned(),
        who: info.describe(),
    };
    let info_conn = ConnInfo {
        host: host.clone(),
        port,
        database: "postgres".into(),
        user: user.clone(),
        ssl_mode: SslMode::VerifyFull,
    };
    let session = sign_in_checks(&config, &info_conn, &source, &info, &mut report).await;
    match session {
        Some(session) => {
            pgaadauth_check(&session, &facts, &mut report).await;
            role_check(&session, &user, &info, &mut report).await;
        }
        None => {
            // A missing role is the sign-in's diagnosis: keep it last, where the role is checked.
            let role = report
                .0
                .iter()
                .position(|c| c.name == "role")
                .map(|i| report.0.remove(i));
            report.skip("pgaadauth", "not checked: the sign-in failed");
            match role {
                Some(role) => report.0.push(role),
                None => report.skip("role", "not checked: the sign-in failed"),
            }
        }
    }
    Ok(report)
}

// ---- ARM ----

async fn arm_checks(
    azure: &Azure,
    id: &FlexibleServerId,
    signed_in: Option<&TokenInfo>,
    report: &mut Report,
) -> ServerFacts {
    let path = id.to_string();
    let skip_rest = |report: &mut Report, why: &str| {
        for name in ["entra-auth", "password-auth", "entra-admin"] {
            report.skip(name, format!("not checked: {why}"));
        }
    };
    let server = match azure.arm.get(&path, PG_API).await {
        Ok(Some(server)) => server,
        Ok(None) => {
            report.fail(
                "server",
                format!(
                    "no flexible server {} in resource group {} of subscription {}",
                    id.name, id.resource_group, id.subscription_id
                ),
                format!(
                    "check the names: az postgres flexible-server list --subscription {} --output table",
                    id.subscription_id
                ),
            );
            skip_rest(report, "the server was not found");
            return ServerFacts::default();
        }
        Err(error) => {
            report.fail(
                "server",
                format!("reading {path} from Azure Resource Manager: {error}"),
                format!("sign in as a principal that may read the server (Reader on it or its resource group)\n{}", token::SIGN_IN_HELP),
            );
            skip_rest(report, "the server could not be read");
            return ServerFacts::default();
        }
    };
    let text = |path: &[&str]| -> String {
        let mut v = &server;
        for p in path {
            v = v.get(p).unwrap_or(&Value::Null);
        }
        v.as_str().unwrap_or_default().to_owned()
    };
    let az_args = format!("--resource-group {} --name {}", id.resource_group, id.name);
    let state = text(&["properties", "state"]);
    report.pass(
        "server",
        format!(
            "{} found (state {})",
            id.name,
            if state.is_empty() { "unknown" } else { &state }
        ),
    );

    let entra = text(&["properties", "authConfig", "activeDirectoryAuth"]);
    if entra == "Enabled" {
        report.pass("entra-auth", "Microsoft Entra authentication is enabled");
    } else {
        report.fail(
            "entra-auth",
            format!(
                "Microsoft Entra authentication is {} (authConfig.activeDirectoryAuth)",
                if entra.is_empty() { "not set" } else { &entra }
            ),
            format!(
                "az postgres flexible-server update {az_args} --active-directory-auth Enabled\n\
                 (or activeDirectoryAuth: Enabled on the pgentra FlexibleServer); the server restarts"
            ),
        );
    }

    let password = text(&["properties", "authConfig", "passwordAuth"]);
    if password == "Disabled" {
        report.pass(
            "password-auth",
            "password authentication is disabled: only Entra tokens sign in",
        );
    } else {
        report.fail(
            "password-auth",
            format!(
                "password authentication is {}: a leaked password still opens the server",
                if password.is_empty() { "not set" } else { &password }
            ),
            format!(
                "once the Entra administrator signs in: az postgres flexible-server update {az_args} --password-auth Disabled\n\
                 (or passwordAuth: Disabled on the pgentra FlexibleServer)"
            ),
        );
    }

    match azure
        .arm
        .list(&format!("{path}/administrators"), PG_API)
        .await
    {
        Ok(Some(admins)) if !admins.is_empty() => {
            let names: Vec<String> = admins
                .iter()
                .map(|a| {
                    let p = &a["properties"];
                    format!(
                        "{} ({}, object id {})",
                        p["principalName"].as_str().unwrap_or("?"),
                        p["principalType"].as_str().unwrap_or("?"),
                        p["objectId"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            let yours = signed_in.is_some_and(|me| {
                admins.iter().any(|a| {
                    a["properties"]["objectId"]
                        .as_str()
                        .is_some_and(|oid| oid.eq_ignore_ascii_case(&me.caller.object_id))
                })
            });
            report.pass(
                "entra-admin",
                format!(
                    "administrators: {}{}",
                    names.join(", "),
                    if yours {
                        " (the token's principal is one)"
                    } else {
                        ""
                    }
                ),
            );
        }
        Ok(_) => {
            // Name the signed-in principal as the admin to add, when it is known.
            let (display, oid, kind) = match signed_in {
                Some(me) => (
                    me.role_name
                        .clone()
                        .unwrap_or_else(|| "<its display name>".into()),
                    me.caller.object_id.clone(),
                    if me.caller.kind == "user" {
                        "User"
                    } else {
                        "ServicePrincipal"
                    }
                    .to_owned(),
                ),
                None => (
                    "<user UPN, group or service principal name>".into(),
                    "<its object id>".into(),
                    "<User|Group|ServicePrincipal>".into(),
                ),
            };
            report.fail(
                "entra-admin",
                "the server has no Microsoft Entra administrator: nobody can sign in with Entra to create roles",
                format!(
                    "az postgres flexible-server ad-admin create --resource-group {} --server-name {} \\\n  \
                     --display-name {display} --object-id {oid} --type {kind}\n\
                     (or a pgentra AdAdmin; an Entra group as the admin lets its members in)",
                    id.resource_group, id.name
                ),
            );
        }
        Err(error) => report.fail(
            "entra-admin",
            format!("listing the administrators: {error}"),
            "sign in as a principal that may read the server (Reader on it or its resource group)",
        ),
    }

    let shared_preload_libraries = azure
        .arm
        .get(
            &format!("{path}/configurations/shared_preload_libraries"),
            PG_API,
        )
        .await
        .ok()
        .flatten()
        .map(|c| {
            let value = c["properties"]["value"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if c["properties"]["isConfigPendingRestart"] == Value::Bool(true) {
                format!("{value} (changed, waiting for a restart)")
            } else {
                value
            }
        });
    let host = text(&["properties", "fullyQualifiedDomainName"]);
    ServerFacts {
        az: Some((id.resource_group.clone(), id.name.clone())),
        host: (!host.is_empty()).then_some(host),
        shared_preload_libraries,
    }
}

// ---- token ----

async fn token_check(
    azure: &Azure,
    report: &mut Report,
) -> Option<(azure_core::credentials::AccessToken, TokenInfo)> {
    let scope = azure.endpoints.postgres_scope();
    let token = match token::get_token(azure, &scope).await {
        Ok(token) => token,
        Err(error) => {
            let (detail, fix) = error.split_once("\n\n").unwrap_or((&error, ""));
            report.fail("token", detail.to_owned(), fix.to_owned());
            return None;
        }
    };
    let info = match TokenInfo::read(token.token.secret()) {
        Ok(info) => info,
        Err(error) => {
            report.fail(
                "token",
                error,
                "the token service answered something that is not an Entra access token; check AZURE_AUTHORITY_HOST",
            );
            return None;
        }
    };
    let wanted = azure.endpoints.postgres_audience.trim_end_matches('/');
    let now = azure_core::time::OffsetDateTime::now_utc().unix_timestamp();
    if info.audience.trim_end_matches('/') != wanted {
        report.fail(
            "token",
            format!(
                "the token of {} is for audience {}, not PostgreSQL's {wanted}",
                info.describe(),
                info.audience
            ),
            "set ARM_ENVIRONMENT to the server's cloud (public, usgovernment, china)",
        );
    } else if info.expires <= now + EXPIRY_MARGIN_SECS {
        report.fail(
            "token",
            format!(
                "the token of {} expires at {} (Unix time; now {now})",
                info.describe(),
                info.expires
            ),
            "sign in again (az login) and check the machine's clock",
        );
    } else {
        report.pass(
            "token",
            format!(
                "a token of {} for {wanted}, valid for {} more minutes",
                info.describe(),
                (info.expires - now) / 60
            ),
        );
    }
    Some((token, info))
}

// ---- network, TLS, sign-in ----

async fn reach_check(host: &str, port: u16, report: &mut Report) -> bool {
    let dial = tokio::net::TcpStream::connect((host, port));
    match tokio::time::timeout(Duration::from_secs(10), dial).await {
        Ok(Ok(_)) => {
            report.pass("reach", format!("{host}:{port} answers"));
            true
        }
        outcome => {
            let why = match outcome {
                Ok(Err(e)) => e.to_string(),
                _ => "no answer within 10 s".into(),
            };
            report.fail(
                "reach",
                format!("{host}:{port} cannot be reached: {why}"),
                "allow your address through the server's firewall: az postgres flexible-server firewall-rule create \
                 --resource-group RG --name SERVER --rule-name me --start-ip-address YOUR_IP --end-ip-address YOUR_IP\n\
                 (or a pgentra FirewallRule), check publicNetworkAccess and the port (--port)",
            );
            false
        }
    }
}

/// The token as the password, described by its principal in errors.
struct TokenPassword {
    token: String,
    who: String,
}

#[async_trait::async_trait]
impl PasswordSource for TokenPassword {
    async fn password(&self) -> Result<crate::sql::session::Password, SqlError> {
        Ok(crate::sql::session::Password(self.token.clone()))
    }
    async fn principal(&self) -> Option<String> {
        Some(self.who.clone())
    }
}

/// TLS (verify-full, then require to go on when the certificate does not verify) and the
/// sign-in; the session when it worked.
async fn sign_in_checks(
    config: &crate::config::ProviderConfig,
    conn: &ConnInfo,
    source: &TokenPassword,
    info: &TokenInfo,
    report: &mut Report,
) -> Option<Session> {
    let tls = match pool::tls_for(config.ca_cert_file.as_deref()) {
        Ok(tls) => tls,
        Err(error) => {
            report.fail(
                "tls",
                error.to_string(),
                "fix PGENTRA_CA_CERT_FILE: a readable PEM file with the CA certificate",
            );
            report.skip("sign-in", "not checked: no TLS configuration");
            return None;
        }
    };
    let host = &conn.host;
    let mut attempt = pool::session(conn, source, &tls).await;
    match &attempt {
        // A server that answered the sign-in spoke over the verified TLS session first.
        Ok(_) | Err(SqlError::Connect { code: Some(_), .. }) => report.pass(
            "tls",
            format!("encrypted, and the certificate is valid for {host} (verify-full)"),
        ),
        Err(error) => {
            report.fail(
                "tls",
                format!("no verified TLS session with {host}: {error}"),
                "Azure's certificates chain to DigiCert Global Root G2, which the system's roots \
                 carry (update ca-certificates); behind a TLS-inspecting proxy, or with the \
                 pgentra emulator, point PGENTRA_CA_CERT_FILE at its CA certificate (PEM)",
            );
            let unverified = ConnInfo {
                ssl_mode: SslMode::Require,
                ..conn.clone()
            };
            attempt = pool::session(&unverified, source, &tls).await;
        }
    }
    match attempt {
        Ok(session) => {
            report.pass(
                "sign-in",
                format!(
                    "signed in to {host}:{}/postgres as {:?} with the token of {}",
                    conn.port,
                    conn.user,
                    info.describe()
                ),
            );
            Some(session)
        }
        Err(error) => {
            sign_in_failure(conn, info, &error, report);
            None
        }
    }
}

fn sign_in_failure(conn: &ConnInfo, info: &TokenInfo, error: &SqlError, report: &mut Report) {
    let message = error.to_string();
    let user = &conn.user;
    let literal = |s: &str| quote::literal(s).unwrap_or_else(|_| format!("{s:?}"));
    if message.contains("does not exist") && error.code() == Some("28000") {
        report.fail(
            "sign-in",
            message,
            "the role is missing; see the role check",
        );
        let kind = if info.caller.kind == "user" {
            "user"
        } else {
            "service"
        };
        report.fail(
            "role",
            format!(
                "the server has no role {user:?} (role names must match the Entra name exactly: a user's UPN, a managed identity's or group's display name)"
            ),
            format!(
                "as an Entra administrator, in database postgres:\n\
                 SELECT * FROM pgaadauth_create_principal_with_oid({}, {}, {}, false, false);\n\
                 (or a pgentra Principal with objectId {}); for a group, create the group's role and sign in with the group's name",
                literal(user),
                literal(&info.caller.object_id),
                literal(kind),
                info.caller.object_id
            ),
        );
        return;
    }
    let fix = if matches!(error.code(), Some("28000" | "28P01")) {
        format!(
            "the server refused the token of {} for role {user:?}: sign in with the role of the token's principal \
             ({}), or a group it is a member of; a role made for another object id (a recreated identity) must be \
             dropped and created again with pgaadauth_create_principal_with_oid; and Entra authentication must be on",
            info.describe(),
            info.role_name.as_deref().unwrap_or("give it as [user]")
        )
    } else {
        "see the message; the server's log (az postgres flexible-server server-logs) has more"
            .into()
    };
    report.fail("sign-in", message, fix);
}

// ---- inside the server ----

async fn pgaadauth_check(session: &Session, facts: &ServerFacts, report: &mut Report) {
    let preload = facts
        .shared_preload_libraries
        .as_deref()
        .map(|v| format!("; shared_preload_libraries = {v:?}"))
        .unwrap_or_default();
    match introspect::has_function(session, "pgaadauth_list_principals").await {
        Ok(true) => report.pass(
            "pgaadauth",
            format!("pgaadauth is loaded: its functions answer in database postgres{preload}"),
        ),
        Ok(false) => {
            let (rg, name) = facts
                .az
                .clone()
                .unwrap_or_else(|| ("RG".into(), "SERVER".into()));
            report.fail(
                "pgaadauth",
                format!("pgaadauth is not loaded: pgaadauth_list_principals does not exist in database postgres{preload}"),
                format!(
                    "add pgaadauth to shared_preload_libraries and restart the server:\n\
                     az postgres flexible-server parameter set --resource-group {rg} --server-name {name} --name shared_preload_libraries --value \"<current value>,pgaadauth\"\n\
                     az postgres flexible-server restart --resource-group {rg} --name {name}\n\
                     (turning Microsoft Entra authentication on loads it too)"
                ),
            );
        }
        Err(error) => report.fail(
            "pgaadauth",
            format!("cannot tell: {error}"),
            "sign in as a role that may read pg_catalog",
        ),
    }
}

async fn role_check(session: &Session, user: &str, info: &TokenInfo, report: &mut Report) {
    match introspect::entra_principal(session, user).await {
        Ok(Some(p)) if p.object_id.eq_ignore_ascii_case(&info.caller.object_id) => report.pass(
            "role",
            format!(
                "role {user:?} is bound to the token's principal (object id {}, {}{})",
                p.object_id,
                p.principal_type,
                if p.is_admin { ", admin" } else { "" }
            ),
        ),
        Ok(Some(p)) if p.principal_type == "group" => report.pass(
            "role",
            format!(
                "role {user:?} is the group {} and the server accepted the token of {} as a member",
                p.object_id,
                info.describe()
            ),
        ),
        Ok(Some(p)) => report.fail(
            "role",
            format!(
                "role {user:?} is bound to object id {}, not to the token's principal {}",
                p.object_id,
                info.describe()
            ),
            "sign in with the token's own role name, or drop the role and create it again for this object id with pgaadauth_create_principal_with_oid",
        ),
        Ok(None) => report.fail(
            "role",
            format!("role {user:?} is not a Microsoft Entra role (pgaadauth_list_principals does not list it)"),
            format!(
                "bind it: SECURITY LABEL FOR \"pgaadauth\" ON ROLE {} IS 'aadauth,oid={},type=<user|group|service>'",
                quote::ident(user).unwrap_or_else(|_| user.to_owned()),
                info.caller.object_id
            ),
        ),
        Err(error) => report.fail(
            "role",
            format!("listing the Entra principals: {error}"),
            "sign in as a role that may run pgaadauth_list_principals in database postgres",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<Options, String> {
        Options::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn the_target_is_an_arm_id_a_group_and_name_or_a_host() {
        let id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg1";
        assert_eq!(
            parse(&[id]).unwrap().target,
            Target::Server {
                subscription: Some("00000000-0000-0000-0000-000000000001".into()),
                resource_group: "rg".into(),
                name: "pg1".into()
            }
        );
        let o = parse(&["rg/pg1", "dev@example.com"]).unwrap();
        assert_eq!(o.user.as_deref(), Some("dev@example.com"));
        assert!(matches!(
            o.target,
            Target::Server {
                subscription: None,
                ..
            }
        ));
        let o = parse(&["pg1.postgres.database.azure.com:6432"]).unwrap();
        assert_eq!(
            o.target,
            Target::Host("pg1.postgres.database.azure.com".into())
        );
        assert_eq!(o.port, Some(6432));
        assert!(parse(&["a/b/c"])
            .unwrap_err()
            .contains("RESOURCE_GROUP/SERVER"));
        assert!(parse(&["h", "--port", "x"]).unwrap_err().contains("--port"));
        assert!(parse(&[]).unwrap_err().contains("<server-or-host>"));
    }

    #[test]
    fn a_failure_prints_its_fix_under_it_and_is_counted() {
        let mut report = Report::default();
        report.pass("entra-auth", "enabled");
        report.fail("password-auth", "enabled", "disable it\nsecond line");
        report.skip("tls", "not checked");
        let text = report.render();
        assert!(report.failed());
        assert!(text.contains("PASS  entra-auth"), "{text}");
        assert!(text.contains("FAIL  password-auth"), "{text}");
        assert!(text.contains("fix: disable it\n"), "{text}");
        assert!(text.contains("     second line\n"), "{text}");
        assert!(text.contains("1 check(s) failed"), "{text}");
    }
}
