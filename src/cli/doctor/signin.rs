//! The sign-in side: the token (audience, expiry), the network, TLS, the sign-in itself, and
//! inside the server pgaadauth and the role.

use super::group::{object_id_lookup, SignInRole};
use super::{Report, ServerFacts, EXPIRY_MARGIN_SECS};
use crate::cli::token::{self, TokenInfo};
use pgentra_core::azure::Azure;
use pgentra_core::sql::introspect;
use pgentra_core::sql::pool::{self, Session};
use pgentra_core::sql::quote;
use pgentra_core::sql::{ConnInfo, PasswordSource, SqlError};
use std::time::Duration;

pub(super) async fn token_check(
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

pub(super) async fn reach_check(host: &str, port: u16, report: &mut Report) -> bool {
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
pub(super) struct TokenPassword {
    pub(super) token: String,
    pub(super) who: String,
}

#[async_trait::async_trait]
impl PasswordSource for TokenPassword {
    async fn password(&self) -> Result<pgentra_core::sql::session::Password, SqlError> {
        Ok(pgentra_core::sql::session::Password(self.token.clone()))
    }
    async fn principal(&self) -> Option<String> {
        Some(self.who.clone())
    }
}

/// TLS (verify-full; when the certificate does not verify, the sign-in is not tried: the token
/// would go to an unverified server) and the sign-in; the session when it worked.
pub(super) async fn sign_in_checks(
    config: &pgentra_core::config::ProviderConfig,
    conn: &ConnInfo,
    source: &TokenPassword,
    info: &TokenInfo,
    role: &SignInRole,
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
    let attempt = pool::session(conn, source, &tls).await;
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
            // The token is a bearer credential: it never goes to a server whose certificate
            // did not verify, not even to see whether the sign-in would work.
            report.skip(
                "sign-in",
                "not checked: the token is sent only over TLS whose certificate verifies for the host",
            );
            return None;
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
            sign_in_failure(conn, info, role, &error, report);
            None
        }
    }
}

fn sign_in_failure(
    conn: &ConnInfo,
    info: &TokenInfo,
    role: &SignInRole,
    error: &SqlError,
    report: &mut Report,
) {
    let message = error.to_string();
    let user = &conn.user;
    let literal = |s: &str| quote::literal(s).unwrap_or_else(|_| format!("{s:?}"));
    if message.contains("does not exist") && error.code() == Some("28000") {
        report.fail(
            "sign-in",
            message,
            "the role is missing; see the role check",
        );
        let create = |oid: &str, kind: &str| {
            format!(
                "SELECT * FROM pgaadauth_create_principal_with_oid({}, {}, {}, false, false);",
                literal(user),
                literal(oid),
                literal(kind)
            )
        };
        let fix = match role {
            SignInRole::Group { object_id, .. } => format!(
                "as an Entra administrator, in database postgres, create the group's role:\n\
                 {}\n(or a pgentra Principal with objectId {object_id} and objectType Group); \
                 each member then signs in as {user:?} with its own token",
                create(object_id, "group")
            ),
            _ => {
                let kind = if info.caller.kind == "user" {
                    "user"
                } else {
                    "service"
                };
                let mut fix = format!(
                    "as an Entra administrator, in database postgres:\n{}\n\
                     (or a pgentra Principal with objectId {})",
                    create(&info.caller.object_id, kind),
                    info.caller.object_id
                );
                if let SignInRole::Other { .. } = role {
                    fix.push_str(&format!(
                        "\nif {user:?} is a group: SELECT * FROM pgaadauth_create_principal_with_oid({}, <its object id: {}>, 'group', false, false);",
                        literal(user),
                        object_id_lookup(user)
                    ));
                } else {
                    fix.push_str(
                        "; for a group, create the group's role and sign in with the group's name",
                    );
                }
                fix
            }
        };
        report.fail(
            "role",
            format!(
                "the server has no role {user:?} (role names must match the Entra name exactly: a user's UPN, a managed identity's or group's display name)"
            ),
            fix,
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

pub(super) async fn pgaadauth_check(session: &Session, facts: &ServerFacts, report: &mut Report) {
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

pub(super) async fn role_check(
    session: &Session,
    user: &str,
    info: &TokenInfo,
    role: &SignInRole,
    report: &mut Report,
) {
    let (label_oid, label_type) = match role {
        SignInRole::Group { object_id, .. } => (object_id.as_str(), "group"),
        _ => (info.caller.object_id.as_str(), "<user|group|service>"),
    };
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
                "bind it: SECURITY LABEL FOR \"pgaadauth\" ON ROLE {} IS {}",
                quote::ident(user).unwrap_or_else(|_| user.to_owned()),
                quote::literal(&format!("aadauth,oid={label_oid},type={label_type}"))
                    .unwrap_or_default(),
            ),
        ),
        Err(error) => report.fail(
            "role",
            format!("listing the Entra principals: {error}"),
            "sign in as a role that may run pgaadauth_list_principals in database postgres",
        ),
    }
}
