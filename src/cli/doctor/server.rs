//! The server's settings in Azure Resource Manager: Entra authentication, password
//! authentication, the Entra administrators, and what the later checks need (host, parameters).

use super::group::{object_id_lookup, shell_word, SignInRole};
use super::{Report, ServerFacts, PG_API};
use crate::cli::token::{self, TokenInfo};
use pgentra_core::azure::ids::FlexibleServerId;
use pgentra_core::azure::Azure;
use serde_json::Value;

pub(super) async fn arm_checks(
    azure: &Azure,
    id: &FlexibleServerId,
    signed_in: Option<&TokenInfo>,
    role: &SignInRole,
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
        Ok(_) => report.fail(
            "entra-admin",
            "the server has no Microsoft Entra administrator: nobody can sign in with Entra to create roles",
            admin_fix(id, signed_in, role),
        ),
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

/// The az command that makes an administrator: the group when the sign-in is a group's, else
/// the token's principal.
fn admin_fix(id: &FlexibleServerId, signed_in: Option<&TokenInfo>, role: &SignInRole) -> String {
    let command = |display: &str, object_id: &str, kind: &str| {
        format!(
            "az postgres flexible-server microsoft-entra-admin create --resource-group {} --server-name {} \\\n  \
             --display-name {display} --object-id {object_id} --type {kind}",
            shell_word(&id.resource_group),
            shell_word(&id.name)
        )
    };
    let mut fix = match (role, signed_in) {
        (SignInRole::Group { name, object_id }, _) => format!(
            "{}\n(or a pgentra AdAdmin with principalType Group; the group as the admin lets each member in)",
            command(&shell_word(name), object_id, "Group")
        ),
        (_, Some(me)) => format!(
            "{}\n(or a pgentra AdAdmin; an Entra group as the admin lets its members in)",
            command(
                &me.role_name
                    .as_deref()
                    .map_or_else(|| "<its display name>".to_owned(), shell_word),
                &me.caller.object_id,
                if me.caller.kind == "user" {
                    "User"
                } else {
                    "ServicePrincipal"
                },
            )
        ),
        (_, None) => format!(
            "{}\n(or a pgentra AdAdmin; an Entra group as the admin lets its members in)",
            command(
                "<user UPN, group or service principal name>",
                "<its object id>",
                "<User|Group|ServicePrincipal>",
            )
        ),
    };
    if let SignInRole::Other { name } = role {
        fix.push_str(&format!(
            "\nif {name:?} is a group: {}",
            command(&shell_word(name), &object_id_lookup(name), "Group")
        ));
    }
    fix
}
