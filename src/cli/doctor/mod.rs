//! `pgentra doctor`: the seed's troubleshooting section as a command. Each check says PASS, FAIL
//! or SKIP, what it saw, and for a failure the fix; the exit code is non-zero when one fails.
//!
//! The checks run in the order a sign-in depends on them: the token (audience, expiry), the
//! server's ARM settings (Entra authentication, password authentication, an Entra
//! administrator), the network and TLS, the sign-in, then inside the server pgaadauth and the role.

mod bound_objects;
mod group;
mod projected_token;
mod report;
mod server;
mod signin;
pub mod workload;

pub use report::{Check, Report, Status};

use crate::cli::args::{self, Misuse, Request};
use crate::cli::psql::split_host_port;
use crate::cli::token;
use pgentra_core::azure::ids::FlexibleServerId;
use pgentra_core::azure::Azure;
use pgentra_core::sql::{ConnInfo, SslMode};

pub const USAGE: &str = "\
pgentra doctor <server-or-host> [user] [-p PORT]
pgentra doctor --workload NAMESPACE/SA (--identity RG/NAME | --client-id ID)
               [--issuer URL] [--token-file PATH] [--audience AUD]

Checks why a Microsoft Entra sign-in to Azure Database for PostgreSQL fails (or that it works),
and says how to fix each problem. One line per check: PASS, FAIL or SKIP, then the fix.
The exit code is 1 when a check fails, 0 otherwise.

  server-or-host  one of:
                    the server's ARM ID (/subscriptions/.../flexibleServers/NAME)
                    RESOURCE_GROUP/SERVER (subscription from AZURE_SUBSCRIPTION_ID, else
                    `az account show`)
                    the server's host name, host:port (the ARM checks are skipped then)
  user            the PostgreSQL role to sign in as; default: the token's principal (a user's
                  UPN, a managed identity's name). Another name is taken for an Entra group the
                  principal is a member of: its object ID is looked up with `az ad group show`,
                  and the fixes name it with --type Group
  -p/--port PORT  the server's PostgreSQL port (default 5432, or give host:port; `pgentra
                  emulator` prints the port of each emulated server)

Checks, in order: a token for the PostgreSQL audience that has not expired (token); the server
in Azure Resource Manager (server), Microsoft Entra authentication enabled (entra-auth),
password authentication off (password-auth), an Entra administrator set (entra-admin); the host
reachable (reach); TLS with a certificate valid for the host (tls); the sign-in with the token
(sign-in); pgaadauth loaded in database postgres (pgaadauth); the role bound to the token's
principal (role). Credentials and the cloud come from the environment, as for `pgentra token`.
With PGENTRA_GRAPH_ENDPOINT set (such as https://graph.microsoft.com; the principal then needs
directory read permission), it also asks Microsoft Graph for the object of every Entra role and
lists the roles bound to objects that no longer exist or were renamed (bound-objects).

With --workload, the AKS workload-identity exchange of a service account instead, before the
first one fails:
  --workload NAMESPACE/SA   the pod's service account (tokens say system:serviceaccount:NS:SA)
  --identity RG/NAME        the user-assigned identity (or its ARM ID); or --client-id ID
  --issuer URL              the cluster's OIDC issuer (az aks show --query
                            oidcIssuerProfile.issuerUrl); default: the token file's iss
  --token-file PATH         a projected token to verify; default $AZURE_FEDERATED_TOKEN_FILE
  --audience AUD            the audience tokens carry (default api://AzureADTokenExchange)
Checks: the issuer's OpenID configuration, its exact issuer string (issuer); its keys (jwks);
the identity in ARM (identity); a federated credential whose issuer, subject and audience are
exactly the tokens' (credential); the token's signature, iss, sub, aud, exp and the credential
it would match (token). Each mismatch is said as Entra refuses it (AADSTS70021).
";

/// The ARM API version of Microsoft.DBforPostgreSQL the checks read.
const PG_API: &str = pgentra_core::azure::ids::POSTGRESQL_API_VERSION;
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
    /// `--workload`: the workload-identity exchange, not a server.
    Workload(workload::WorkloadOptions),
}

#[derive(Debug, PartialEq)]
pub struct Options {
    pub target: Target,
    pub user: Option<String>,
    pub port: Option<u16>,
}

/// `pgentra doctor`'s command line, as typed.
#[derive(clap::Parser)]
#[command(disable_version_flag = true, args_override_self = true)]
struct CommandLine {
    #[arg(short = 'p', long = "port", value_name = "PORT", value_parser = args::port, help = "a port")]
    port: Option<u16>,
    #[arg(
        long = "workload",
        value_name = "NAMESPACE/SA",
        help = "a service account"
    )]
    workload: Option<String>,
    #[arg(long = "identity", value_name = "RG/NAME", help = "a managed identity")]
    identity: Option<String>,
    #[arg(long = "client-id", value_name = "ID", help = "a client id")]
    client_id: Option<String>,
    #[arg(long = "issuer", value_name = "URL", help = "an issuer URL")]
    issuer: Option<String>,
    #[arg(long = "token-file", value_name = "PATH", help = "a token file")]
    token_file: Option<String>,
    #[arg(long = "audience", value_name = "AUD", help = "an audience")]
    audience: Option<String>,
    /// `<server-or-host> [user]`.
    #[arg(value_name = "ARGUMENTS")]
    positional: Vec<String>,
}

impl Options {
    /// The options, or a help request.
    pub fn request(args: &[String]) -> Result<Request<Self>, Misuse> {
        args::parse_args::<CommandLine>("doctor", args)?
            .and_then(|line| Self::from_command_line(line).map_err(Misuse::Other))
    }

    pub fn parse(args: &[String]) -> Result<Self, String> {
        Self::request(args)?.into_run()
    }

    fn from_command_line(line: CommandLine) -> Result<Self, String> {
        if let Some(workload) = line.workload.clone() {
            return Self::workload(&workload, line);
        }
        let only_with_workload = [
            ("--identity", line.identity.is_some()),
            ("--client-id", line.client_id.is_some()),
            ("--issuer", line.issuer.is_some()),
            ("--token-file", line.token_file.is_some()),
            ("--audience", line.audience.is_some()),
        ];
        if let Some((option, _)) = only_with_workload.iter().find(|(_, given)| *given) {
            return Err(format!("{option} goes with --workload NAMESPACE/SA"));
        }
        let mut port = line.port;
        let (target, user) = match line.positional.as_slice() {
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
            if let (Some(port), Some(_)) = (port, host_port) {
                return Err(format!(
                    "the port is given twice: in {target:?} and as -p/--port {port}; give it once \
                     (host:port or -p/--port)"
                ));
            }
            port = port.or(host_port);
            Target::Host(host)
        };
        Ok(Options { target, user, port })
    }

    fn workload(text: &str, line: CommandLine) -> Result<Self, String> {
        use workload::{IdentityRef, WorkloadOptions};
        if !line.positional.is_empty() || line.port.is_some() {
            return Err(
                "--workload checks an identity's federation, not a server: give no \
                 <server-or-host>, [user] or --port with it"
                    .into(),
            );
        }
        let (namespace, service_account) = WorkloadOptions::service_account(text)?;
        let identity = match (line.identity, line.client_id) {
            (Some(identity), None) => WorkloadOptions::identity(&identity)?,
            (None, Some(client_id)) => {
                pgentra_core::rules::uuid(&serde_json::json!(client_id))
                    .map_err(|why| format!("--client-id: {why}"))?;
                IdentityRef::ClientId(client_id)
            }
            (None, None) => {
                return Err(
                    "--workload needs the identity: --identity RG/NAME or --client-id ID".into(),
                )
            }
            (Some(_), Some(_)) => {
                return Err("give the identity once: --identity RG/NAME or --client-id ID".into())
            }
        };
        let options = WorkloadOptions {
            namespace,
            service_account,
            identity,
            issuer: line.issuer,
            token_file: line.token_file,
            audience: line
                .audience
                .unwrap_or_else(|| workload::TOKEN_EXCHANGE_AUDIENCE.into()),
        };
        Ok(Options {
            target: Target::Workload(options),
            user: None,
            port: None,
        })
    }
}

#[derive(Default)]
struct ServerFacts {
    /// `az ... --resource-group RG --server-name NAME` arguments, for the fixes.
    az: Option<(String, String)>,
    host: Option<String>,
    shared_preload_libraries: Option<String>,
}

pub async fn run(options: Options) -> Result<Report, String> {
    let options = match options.target {
        Target::Workload(workload) => return workload::run(workload).await,
        target => Options { target, ..options },
    };
    let config = token::config_from_env()?;
    let azure = Azure::from_config(&config).map_err(|e| e.to_string())?;
    let mut report = Report::default();

    // Who signs in comes first: the fixes of the server's checks name that principal.
    let token = signin::token_check(&azure, &mut report).await;
    let signed_in = token.as_ref().map(|(_, info)| info);
    // A [user] that is not the token's principal is most likely a group it is a member of.
    let role = group::classify(options.user.as_deref(), signed_in).await;
    let facts = match &options.target {
        Target::Server {
            subscription,
            resource_group,
            name,
        } => {
            // The configured subscription, else the Azure CLI's (`az account show`).
            let subscription = subscription
                .clone()
                .or_else(|| azure.subscription_id().map(str::to_owned))
                .ok_or(
                    "RESOURCE_GROUP/SERVER needs the subscription: export AZURE_SUBSCRIPTION_ID, \
                     choose one with `az account set --subscription ...`, or give the server's ARM ID",
                )?;
            let id = FlexibleServerId::new(&subscription, resource_group, name);
            server::arm_checks(&azure, &id, signed_in, &role, &mut report).await
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
        Target::Workload(_) => unreachable!("--workload runs its own checks, above"),
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
    if !signin::reach_check(&host, port, &mut report).await {
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
    let source = signin::TokenPassword {
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
    let session =
        signin::sign_in_checks(&config, &info_conn, &source, &info, &role, &mut report).await;
    match session {
        Some(session) => {
            signin::pgaadauth_check(&session, &facts, &mut report).await;
            signin::role_check(&session, &user, &info, &role, &mut report).await;
            if let Some(graph) = &azure.graph {
                bound_objects::check(&session, graph, &mut report).await;
            }
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
    fn workload_takes_a_service_account_and_an_identity_and_no_server() {
        let o = parse(&["--workload", "myapp/myapp-sa", "--identity", "rg/id-app"]).unwrap();
        let Target::Workload(w) = o.target else {
            panic!("not a workload check")
        };
        assert_eq!(
            (w.namespace.as_str(), w.service_account.as_str()),
            ("myapp", "myapp-sa")
        );
        assert_eq!(w.audience, "api://AzureADTokenExchange");
        assert!(parse(&["--workload", "myapp/sa"])
            .unwrap_err()
            .contains("--identity RG/NAME or --client-id"));
        assert!(parse(&["--workload", "a/b", "--client-id", "x"])
            .unwrap_err()
            .contains("--client-id"));
        assert!(
            parse(&["rg/pg1", "--workload", "a/b", "--identity", "rg/i"])
                .unwrap_err()
                .contains("not a server")
        );
        assert!(parse(&["rg/pg1", "--issuer", "https://x"])
            .unwrap_err()
            .contains("--issuer goes with --workload"));
        assert!(parse(&["--workload", "ns/Bad_SA", "--identity", "rg/i"])
            .unwrap_err()
            .contains("service account \"Bad_SA\""));
    }

    #[test]
    fn the_port_comes_once_with_p_port_or_host_port() {
        assert_eq!(parse(&["h", "-p", "6432"]).unwrap().port, Some(6432));
        assert_eq!(parse(&["--port=6432", "rg/pg1"]).unwrap().port, Some(6432));
        let twice = parse(&["h:5433", "-p", "6432"]).unwrap_err();
        assert!(
            twice.contains("in \"h:5433\" and as -p/--port 6432"),
            "{twice}"
        );
        assert!(parse(&["h", "--port", "0"])
            .unwrap_err()
            .contains("1 to 65535"));
        assert!(parse(&["h", "--fast"])
            .unwrap_err()
            .contains("unknown option \"--fast\""));
        assert_eq!(
            Options::request(&["-h".to_string()]).unwrap(),
            Request::Help
        );
    }
}
