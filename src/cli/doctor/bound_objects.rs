//! The `bound-objects` check: every Entra role of the server, its object asked of Microsoft
//! Graph. A role whose object was deleted (or deleted and re-created under the same name, which
//! gives it a new object ID) can no longer sign in; one whose object was renamed no longer says
//! who it is. Run only when PGENTRA_GRAPH_ENDPOINT is set: Graph needs directory read permission,
//! and the doctor never calls it unasked.

use super::Report;
use pgentra_core::azure::graph::{names_match, GraphClient};
use pgentra_core::sql::introspect::{self, EntraPrincipal};
use pgentra_core::sql::pool::Session;
use pgentra_core::sql::quote;

pub(super) const NAME: &str = "bound-objects";

pub(super) async fn check(session: &Session, graph: &GraphClient, report: &mut Report) {
    let roles = match introspect::entra_principals(session).await {
        Ok(roles) => roles,
        Err(error) => {
            report.fail(
                NAME,
                format!("listing the Entra roles: {error}"),
                "sign in as a role that may run pgaadauth_list_principals in database postgres",
            );
            return;
        }
    };
    let mut broken = Vec::new();
    let mut fixes = Vec::new();
    for role in &roles {
        if role.object_id.is_empty() {
            continue;
        }
        match graph.directory_object(&role.object_id).await {
            Ok(Some(object)) if names_match(&object, &role.name) => {}
            Ok(Some(object)) => broken.push(format!(
                "role {:?} is bound to {} {}, which is now named {:?} (renamed)",
                role.name, role.principal_type, role.object_id, object.name
            )),
            Ok(None) => {
                // Re-created under the same name: the object that has the name now.
                let successor = match graph
                    .object_ids_named(&role.principal_type, &role.name)
                    .await
                {
                    Ok(ids) if ids.len() == 1 => ids.into_iter().next(),
                    _ => None,
                };
                broken.push(match &successor {
                    Some(id) => format!(
                        "role {:?} is bound to {} {}, which no longer exists in the directory; \
                         re-created as {id}",
                        role.name, role.principal_type, role.object_id
                    ),
                    None => format!(
                        "role {:?} is bound to {} {}, which no longer exists in the directory",
                        role.name, role.principal_type, role.object_id
                    ),
                });
                fixes.push(rebind(role, successor.as_deref()));
            }
            Err(error) => {
                report.fail(
                    NAME,
                    format!(
                        "Microsoft Graph at {} did not answer for role {:?}: {error}",
                        graph.endpoint(),
                        role.name
                    ),
                    "give the signed-in principal directory read permission (Directory.Read.All), or unset PGENTRA_GRAPH_ENDPOINT",
                );
                return;
            }
        }
    }
    if broken.is_empty() {
        report.pass(
            NAME,
            format!(
                "{} Entra role(s), each bound to an object that exists under the role's name ({})",
                roles.len(),
                graph.endpoint()
            ),
        );
        return;
    }
    let mut fix = String::from(
        "re-bind each role to its principal's current object ID, as an Entra admin in database postgres \
         (the role keeps its privileges), or set the pgentra Principal's objectId and run `pulumi up` / `terraform apply`:",
    );
    for line in &fixes {
        fix.push('\n');
        fix.push_str(line);
    }
    fix.push_str(
        "\na renamed principal: rename it back in Entra, or create a role under its new name",
    );
    report.fail(NAME, broken.join("\n"), fix);
}

/// The statement that re-binds `role` to `successor`, or to an object ID for the user to fill in.
fn rebind(role: &EntraPrincipal, successor: Option<&str>) -> String {
    let mut label = format!(
        "aadauth,oid={},type={}",
        successor.unwrap_or("<new object id>"),
        role.principal_type
    );
    if role.is_admin {
        label.push_str(",admin");
    }
    format!(
        "SECURITY LABEL FOR \"pgaadauth\" ON ROLE {} IS {};",
        quote::ident(&role.name).unwrap_or_else(|_| role.name.clone()),
        quote::literal(&label).unwrap_or_default()
    )
}
