//! `pgentra:index:Principal`: a PostgreSQL role for a Microsoft Entra user, group or service
//! principal (managed identity), created inside the server with `pgaadauth_create_principal`
//! (or `pgaadauth_create_principal_with_oid` when the object ID is given) by an Entra admin,
//! in the `postgres` database, and dropped with `DROP ROLE`.
//!
//! The server binds the role to the principal's object ID (pgaadauth's security label). A role
//! whose object was deleted and re-created has another ID than the program's: Read reports it,
//! and Update re-binds the same role in place with Azure's documented
//! `SECURITY LABEL FOR "pgaadauth" ON ROLE ... IS 'aadauth,oid=...,type=...'`, which keeps the
//! role's privileges and what it owns (a replace would have to drop them). With `graphEndpoint`
//! configured, Read also asks Microsoft Graph whether the bound object still exists under the
//! role's name. Admin and MFA flags still replace the role.

use crate::azure::graph::names_match;
use crate::props::Props;
use crate::resource::{Context, Created, Error, ReadOutcome, Resource};
use crate::resources::common::{object_id, waiting_for};
use crate::resources::connection::{conn_info, connection_input, CONNECTION_PROPERTY};
use crate::resources::sql_resource::SqlOperation;
use crate::rules;
use crate::spec::{CheckFailure, Default, Property, Replacement, ResourceSpec, Type};
use crate::sql::id::PrincipalId;
use crate::sql::pool::Session;
use crate::sql::{introspect, quote, ConnInfo, SqlError};
use async_trait::async_trait;
use serde_json::{json, Value};

pub static SPEC: ResourceSpec = ResourceSpec {
    token: "pgentra:index:Principal",
    doc: "A PostgreSQL role for a Microsoft Entra user, group or service principal (such as a \
          managed identity), which then signs in with its Entra token and no password. Members of \
          a group sign in with their own token and the group's name as user name.",
    properties: &[
        CONNECTION_PROPERTY,
        Property::input("name", Type::String, "The role name, exactly the principal's Entra name: a user's UPN (such as `developer@yourcompany.com`), a group's display name, or a managed identity's name. 1-63 bytes, not starting with `pg_`.")
            .required()
            .replace()
            .rule(rules::role_name),
        object_id("The principal's object ID in Microsoft Entra ID (for an application, its service principal's). When given, the role is bound by object ID, which works for names that are not unique in the tenant; principalType is then required. A change (such as a principal deleted and re-created under the same name) re-binds the same role in place, keeping its privileges."),
        Property::input("principalType", Type::String, "What the principal is, required with objectId: `user`, `group` or `service` (a service principal or managed identity). Changes in place with objectId.")
            .one_of(PRINCIPAL_TYPES),
        Property::input("isAdmin", Type::Boolean, "Whether the role joins `azure_pg_admin` and may create roles and databases.")
            .default(Default::Bool(false))
            .replace(),
        Property::input("isMfa", Type::Boolean, "Whether the server requires the sign-in token to carry a multi-factor authentication claim.")
            .default(Default::Bool(false))
            .replace(),
        Property::output("directoryName", Type::String, "The bound principal's name in Microsoft Entra ID as Microsoft Graph reports it (a user's UPN, else the display name), read only when the provider's graphEndpoint is set: it differs from name when the principal was renamed, and is empty when the object no longer exists."),
    ],
    // Replacing a role that keeps its name on the same server must drop the old one first.
    replacement: Replacement::DeleteFirstWhenSameId(&["connection.host", "connection.port", "name"]),
    autoname: None,
};

pub struct Principal;

/// What pgaadauth_create_principal_with_oid takes as its objectType.
const PRINCIPAL_TYPES: &[&str] = &["user", "group", "service"];

#[async_trait]
impl Resource for Principal {
    fn spec(&self) -> &'static ResourceSpec {
        &SPEC
    }

    fn validate(&self, news: &Props, _olds: &Props, failures: &mut Vec<CheckFailure>) {
        if news.get("objectId").is_some() && news.get("principalType").is_none() {
            failures.push(CheckFailure::new(
                "principalType",
                "a principal created by objectId needs its principalType: user, group or service",
            ));
        }
    }

    fn planned_sql(&self, olds: Option<&Props>, news: &Props) -> Result<Vec<String>, String> {
        if let Some(olds) = olds {
            // An update re-binds the role when its object changes; else it changes only how
            // pgentra signs in.
            if !rebinds(olds, news) || news.get("objectId").is_none() {
                return Ok(vec![]);
            }
            waiting_for(
                news,
                &["name", "objectId", "principalType", "isAdmin", "isMfa"],
            )?;
            return Ok(vec![rebind_sql(news).map_err(|e| e.to_string())?]);
        }
        waiting_for(
            news,
            &["name", "objectId", "principalType", "isAdmin", "isMfa"],
        )?;
        let name = news.str("name").ok_or("name is given")?;
        let flag = |key: &str| news.get(key) == Some(&Value::Bool(true));
        let text = |s: &str| quote::literal(s).map_err(|e| e.to_string());
        let call = match news.str("objectId") {
            Some(oid) => format!(
                "SELECT pgaadauth_create_principal_with_oid({}, {}, {}, {}, {})",
                text(name)?,
                text(oid)?,
                text(news.str("principalType").unwrap_or_default())?,
                flag("isAdmin"),
                flag("isMfa")
            ),
            None => format!(
                "SELECT pgaadauth_create_principal({}, {}, {})",
                text(name)?,
                flag("isAdmin"),
                flag("isMfa")
            ),
        };
        Ok(vec![call])
    }

    async fn create(&self, ctx: &Context, inputs: &Props) -> Result<Created, Error> {
        let wanted = Wanted::from_inputs(inputs)?;
        let id = wanted.id().to_string();
        let op = SqlOperation::new(ctx, id.clone());
        let fail = |e| op.fail(e);
        let session = op.session(&in_postgres(&wanted.conn)).await?;
        if introspect::role_exists(&session, &wanted.name)
            .await
            .map_err(fail)?
        {
            return Err(Error::AlreadyExists {
                id,
                token: SPEC.token,
            });
        }
        let function = if wanted.object_id.is_some() {
            "pgaadauth_create_principal_with_oid"
        } else {
            "pgaadauth_create_principal"
        };
        if !introspect::has_function(&session, function)
            .await
            .map_err(fail)?
        {
            return Err(fail(SqlError::Setup(format!(
                "the server has no {function} in its postgres database: Microsoft Entra \
                 authentication must be enabled on the server (activeDirectoryAuth)"
            ))));
        }
        ctx.log.log(
            crate::resource::Severity::Info,
            &format!("creating the Entra role {:?} with {function}", wanted.name),
        );
        match &wanted.object_id {
            Some(oid) => {
                let sql = "SELECT pgaadauth_create_principal_with_oid($1::text, $2::text, $3::text, $4::boolean, $5::boolean)";
                session
                    .query(
                        sql,
                        &[
                            &wanted.name,
                            oid,
                            &wanted.principal_type.clone().unwrap_or_default(),
                            &wanted.is_admin,
                            &wanted.is_mfa,
                        ],
                    )
                    .await
            }
            None => {
                let sql = "SELECT pgaadauth_create_principal($1::text, $2::boolean, $3::boolean)";
                session
                    .query(sql, &[&wanted.name, &wanted.is_admin, &wanted.is_mfa])
                    .await
            }
        }
        .map_err(fail)?;
        let mut outputs = inputs.clone();
        if ctx.azure().is_ok_and(|a| a.graph.is_some()) {
            let bound = introspect::entra_principal(&session, &wanted.name)
                .await
                .map_err(fail)?;
            if let Some(p) = bound {
                if let Some(found) =
                    ask_directory(ctx, &wanted.name, &p.object_id, &p.principal_type).await
                {
                    outputs.set("directoryName", Value::String(found.name));
                }
            }
        }
        Ok(Created { id, outputs })
    }

    async fn read(
        &self,
        ctx: &Context,
        id: &str,
        state: &Props,
    ) -> Result<Option<ReadOutcome>, Error> {
        let (op, PrincipalId { name, .. }, conn) =
            SqlOperation::existing::<PrincipalId>(ctx, id, state)?;
        let fail = |e| op.fail(e);
        let session = op.session(&in_postgres(&conn)).await?;
        if !introspect::role_exists(&session, &name)
            .await
            .map_err(fail)?
        {
            return Ok(None);
        }
        let mut inputs = Props::from_json(json!({
            "connection": connection_input(&conn),
            "name": name,
        }));
        for key in ["objectId", "principalType", "isAdmin", "isMfa"] {
            if let Some(v) = state.get(key) {
                inputs.set(key, v.clone());
            }
        }
        let bound = introspect::entra_principal(&session, &name)
            .await
            .map_err(fail)?;
        let mut directory_name = None;
        if let Some(p) = &bound {
            inputs.set("isAdmin", Value::Bool(p.is_admin));
            inputs.set("isMfa", Value::Bool(p.is_mfa));
            // The object id and type are reported when the program gave them, or on import.
            if state.get("objectId").is_some() || state.is_empty() {
                if !p.object_id.is_empty() {
                    inputs.set("objectId", Value::String(p.object_id.clone()));
                }
                if !p.principal_type.is_empty() {
                    inputs.set(
                        "principalType",
                        Value::String(p.principal_type.to_lowercase()),
                    );
                }
            }
            if let Some(found) = ask_directory(ctx, &name, &p.object_id, &p.principal_type).await {
                if let Some(problem) = &found.problem {
                    ctx.log.log(crate::resource::Severity::Warning, problem);
                    // A program that names the role only sees the binding now: its diff shows
                    // the object the role is bound to, and Update explains how to re-bind.
                    inputs.set("objectId", Value::String(p.object_id.clone()));
                    if !p.principal_type.is_empty() {
                        inputs.set(
                            "principalType",
                            Value::String(p.principal_type.to_lowercase()),
                        );
                    }
                }
                directory_name = Some(found.name);
            }
        }
        for key in ["isAdmin", "isMfa"] {
            if inputs.get(key).is_none() {
                inputs.set(key, Value::Bool(false));
            }
        }
        let mut outputs = state.clone();
        for (k, v) in inputs_entries(&inputs) {
            outputs.set(&k, v);
        }
        if let Some(directory_name) = directory_name {
            outputs.set("directoryName", Value::String(directory_name));
        }
        Ok(Some(ReadOutcome {
            id: id.to_owned(),
            outputs,
            inputs,
        }))
    }

    async fn update(
        &self,
        ctx: &Context,
        id: &str,
        olds: &Props,
        news: &Props,
    ) -> Result<Props, Error> {
        let mut outputs = news.clone();
        if let Some(name) = olds.get("directoryName") {
            outputs.set("directoryName", name.clone());
        }
        if !rebinds(olds, news) {
            // Only the signing-in admin or the TLS check changed: nothing to run.
            return Ok(outputs);
        }
        let wanted = Wanted::from_inputs(news)?;
        let Some(object_id) = wanted.object_id.as_deref() else {
            // The program stopped naming the object: keep the binding, unless the directory
            // says it is broken, which only an object ID can mend.
            let bound = olds.str("objectId").unwrap_or_default();
            if let Some(problem) = ask_directory(
                ctx,
                &wanted.name,
                bound,
                olds.str("principalType").unwrap_or_default(),
            )
            .await
            .and_then(|f| f.problem)
            {
                return Err(Error::InvalidInput(problem));
            }
            return Ok(outputs);
        };
        let op = SqlOperation::new(ctx, id.to_owned());
        let session = op.session(&in_postgres(&wanted.conn)).await?;
        let sql = rebind_sql(news).map_err(|e| op.fail(e))?;
        ctx.log.log(
            crate::resource::Severity::Info,
            &format!(
                "re-binding the Entra role {:?} to object {object_id}",
                wanted.name
            ),
        );
        session.execute(&sql).await.map_err(|e| op.fail(e))?;
        if let Some(found) = ask_directory(ctx, &wanted.name, object_id, "").await {
            outputs.set("directoryName", Value::String(found.name));
        }
        Ok(outputs)
    }

    async fn delete(&self, ctx: &Context, id: &str, olds: &Props) -> Result<(), Error> {
        let (op, PrincipalId { name, .. }, conn) =
            SqlOperation::existing::<PrincipalId>(ctx, id, olds)?;
        let session = op.session(&in_postgres(&conn)).await?;
        if !introspect::role_exists(&session, &name)
            .await
            .map_err(|e| op.fail(e))?
        {
            return Ok(());
        }
        let blockers = blockers(&op, &conn, &session, &name)
            .await
            .map_err(|e| op.fail(e))?;
        if !blockers.is_empty() {
            return Err(Error::InvalidInput(format!(
                "deleting {id}: the role {name:?} {}; pgentra never drops what a role owns or \
                 revokes what it did not grant: change their owner (ALTER ... OWNER TO) or drop \
                 them, revoke those privileges (or delete the Grants that gave them), then delete again",
                blockers.join(", ")
            )));
        }
        let sql = format!("DROP ROLE {}", quote::ident(&name).map_err(|e| op.fail(e))?);
        session.execute(&sql).await.map_err(|e| op.fail(e))
    }
}

/// Whether an update changes the object the role is bound to.
fn rebinds(olds: &Props, news: &Props) -> bool {
    ["objectId", "principalType"]
        .iter()
        .any(|k| olds.get(k) != news.get(k))
}

/// Azure's documented statement that binds an existing role to an Entra object: the role keeps
/// its privileges and what it owns.
fn rebind_sql(news: &Props) -> Result<String, SqlError> {
    let name = news.str("name").unwrap_or_default();
    let object_id = news.str("objectId").unwrap_or_default();
    let kind = news.str("principalType").unwrap_or_default();
    // The label is one literal, but its commas are pgaadauth's syntax: only a UUID and one of
    // the three kinds go in it, whatever Check, the state or an ID said.
    if !PRINCIPAL_TYPES.contains(&kind)
        || crate::rules::uuid(&Value::String(object_id.to_owned())).is_err()
    {
        return Err(SqlError::Setup(format!(
            "re-binding role {name:?} needs objectId to be a UUID and principalType one of: {}",
            PRINCIPAL_TYPES.join(", ")
        )));
    }
    let mut label = format!("aadauth,oid={},type={kind}", object_id.to_lowercase());
    if news.get("isMfa") == Some(&Value::Bool(true)) {
        label.push_str(",mfa");
    }
    if news.get("isAdmin") == Some(&Value::Bool(true)) {
        label.push_str(",admin");
    }
    Ok(format!(
        "SECURITY LABEL FOR \"pgaadauth\" ON ROLE {} IS {}",
        quote::ident(name)?,
        quote::literal(&label)?
    ))
}

/// What Microsoft Graph says of the object a role is bound to.
struct DirectoryAnswer {
    /// Its name now, empty when it no longer exists.
    name: String,
    /// Why the binding is broken, for the user; `None` when the object exists under the role's name.
    problem: Option<String>,
}

/// Asks Graph about `object_id` when the provider has a `graphEndpoint`; `None` when it has
/// none, or when Graph cannot answer (a warning: refresh goes on without it).
async fn ask_directory(
    ctx: &Context,
    role: &str,
    object_id: &str,
    kind: &str,
) -> Option<DirectoryAnswer> {
    let graph = ctx.azure().ok()?.graph.as_ref()?;
    if object_id.is_empty() {
        return None;
    }
    match graph.directory_object(object_id).await {
        Ok(None) => {
            let kind = kind.to_lowercase();
            // Re-created under the same name: the object that has it now is the fix.
            let successor = match graph.object_ids_named(&kind, role).await {
                Ok(ids) if ids.len() == 1 && !kind.is_empty() => ids.into_iter().next(),
                _ => None,
            };
            let fix = match successor {
                Some(id) => format!(
                    "a {kind} named {role:?} now has the object ID {id} (re-created): set the \
                     Principal's objectId to {id} (principalType {kind}), and the update \
                     re-binds the role in place"
                ),
                None => "set the Principal's objectId (and principalType) to the principal's \
                         current object ID, and the update re-binds the role in place"
                    .to_owned(),
            };
            Some(DirectoryAnswer {
                name: String::new(),
                problem: Some(format!(
                    "the role {role:?} is bound to the Entra object {object_id}, which no longer \
                     exists in the directory, so nobody can sign in as it; {fix}"
                )),
            })
        }
        Ok(Some(object)) => Some(DirectoryAnswer {
            problem: (!names_match(&object, role)).then(|| {
                format!(
                    "the role {role:?} is bound to the Entra object {object_id}, which is now \
                     named {:?} (renamed): rename it back in Microsoft Entra ID, or make a \
                     Principal under its new name",
                    object.name
                )
            }),
            name: object.name,
        }),
        Err(e) => {
            ctx.log.log(
                crate::resource::Severity::Warning,
                &format!(
                    "Microsoft Graph at {} could not say whether the Entra object {object_id} of \
                     the role {role:?} still exists: {e}",
                    graph.endpoint()
                ),
            );
            None
        }
    }
}

fn inputs_entries(props: &Props) -> Vec<(String, Value)> {
    [
        "connection",
        "name",
        "objectId",
        "principalType",
        "isAdmin",
        "isMfa",
    ]
    .iter()
    .filter_map(|k| props.get(k).map(|v| (k.to_string(), v.clone())))
    .collect()
}

/// Everything that keeps `role` from being dropped, described by name in each database where
/// a session can open, else counted.
async fn blockers(
    op: &SqlOperation<'_>,
    conn: &ConnInfo,
    postgres: &Session,
    role: &str,
) -> Result<Vec<String>, SqlError> {
    let found = introspect::dependents(postgres, role).await?;
    let mut described = found.described;
    for (database, count) in found.elsewhere {
        let there = match op.try_session(&conn.in_database(&database)).await {
            Ok(session) => introspect::dependents(&session, role).await.ok(),
            Err(_) => None,
        };
        match there {
            Some(there) if !there.described.is_empty() => described.extend(
                there
                    .described
                    .into_iter()
                    .map(|d| format!("{d} in database {database}")),
            ),
            _ => described.push(format!(
                "has {count} object(s) or privileges in database {database}"
            )),
        }
    }
    Ok(described)
}

/// Where a Principal's SQL runs, whatever database the connection names: Azure installs the
/// pgaadauth functions in `postgres` only, and roles are the whole server's.
fn in_postgres(conn: &ConnInfo) -> ConnInfo {
    conn.in_database("postgres")
}

/// A Principal's checked inputs.
struct Wanted {
    conn: ConnInfo,
    name: String,
    object_id: Option<String>,
    principal_type: Option<String>,
    is_admin: bool,
    is_mfa: bool,
}

impl Wanted {
    fn from_inputs(inputs: &Props) -> Result<Self, Error> {
        let conn = conn_info(inputs).ok_or_else(|| {
            Error::InvalidInput("a Principal needs connection.host and connection.username".into())
        })?;
        let name = inputs
            .str("name")
            .ok_or_else(|| Error::InvalidInput("a Principal needs a name".into()))?
            .to_owned();
        // Sent as a bind parameter, but checked here too: Create may come without a Check, and
        // only these three kinds exist.
        let principal_type = inputs.str("principalType").map(str::to_owned);
        if let Some(kind) = principal_type.as_deref() {
            if !PRINCIPAL_TYPES.contains(&kind) {
                return Err(Error::InvalidInput(format!(
                    "principalType {:?} is not one of: {}",
                    kind.chars().take(40).collect::<String>(),
                    PRINCIPAL_TYPES.join(", ")
                )));
            }
        }
        Ok(Self {
            conn,
            name,
            object_id: inputs.str("objectId").map(str::to_owned),
            principal_type,
            is_admin: inputs.get("isAdmin") == Some(&Value::Bool(true)),
            is_mfa: inputs.get("isMfa") == Some(&Value::Bool(true)),
        })
    }

    fn id(&self) -> PrincipalId {
        PrincipalId {
            conn: self.conn.clone(),
            name: self.name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{accepted, diff, refused, with};
    use serde_json::{json, Value};

    fn principal(name: &str) -> Value {
        json!({
            "connection": {"host": "pg-myapp-prod.postgres.database.azure.com", "username": "PG Admins Group"},
            "name": name,
        })
    }

    #[test]
    fn the_seed_principals_pass() {
        for name in [
            "app-myapp-prod",
            "myapp-db-readwrite",
            "developer@yourcompany.com",
            "id-myapp-prod",
        ] {
            let checked = accepted(&Principal, &principal(name));
            assert_eq!(checked.get("isAdmin"), Some(&json!(false)));
        }
    }

    #[test]
    fn reserved_and_overlong_role_names_are_refused() {
        for name in ["pg_app", "PUBLIC", "session_user", &"x".repeat(64)] {
            refused(&Principal, &principal(name), "name");
        }
    }

    #[test]
    fn an_object_id_needs_a_principal_type() {
        let by_oid = with(
            &principal("id-myapp-prod"),
            json!({"objectId": "0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a69"}),
        );
        assert!(refused(&Principal, &by_oid, "principalType").contains("service"));
        accepted(
            &Principal,
            &with(&by_oid, json!({"principalType": "service"})),
        );
        refused(
            &Principal,
            &with(&by_oid, json!({"objectId": "id-myapp-prod"})),
            "objectId",
        );
    }

    #[test]
    fn another_object_id_re_binds_the_same_role_in_place() {
        let olds = with(
            &principal("id-myapp-prod"),
            json!({"objectId": "0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a69", "principalType": "service"}),
        );
        let news = with(
            &olds,
            json!({"objectId": "7d1e8c1a-2b3c-4d5e-8f90-123456789abc"}),
        );
        let outcome = diff(&Principal, &olds, &news);
        assert_eq!(outcome.changes.len(), 1);
        assert_eq!(outcome.changes[0].path, "objectId");
        assert!(
            !outcome.replaces(),
            "re-binding keeps the role and its privileges"
        );
        let news = accepted(&Principal, &news);
        let planned = Principal
            .planned_sql(Some(&accepted(&Principal, &olds)), &news)
            .unwrap();
        assert_eq!(
            planned,
            ["SECURITY LABEL FOR \"pgaadauth\" ON ROLE \"id-myapp-prod\" IS 'aadauth,oid=7d1e8c1a-2b3c-4d5e-8f90-123456789abc,type=service'"]
        );
    }

    #[test]
    fn making_a_role_admin_drops_and_recreates_it() {
        let outcome = diff(
            &Principal,
            &principal("developer@yourcompany.com"),
            &with(
                &principal("developer@yourcompany.com"),
                json!({"isAdmin": true}),
            ),
        );
        assert_eq!(outcome.replaced_properties(), ["isAdmin"]);
        assert!(outcome.delete_before_replace);
    }

    #[test]
    fn signing_in_as_another_admin_is_in_place_and_another_host_replaces() {
        let olds = principal("app-myapp-prod");
        let admin = with(
            &olds,
            json!({"connection": {"host": "pg-myapp-prod.postgres.database.azure.com", "username": "admin@yourcompany.com"}}),
        );
        let outcome = diff(&Principal, &olds, &admin);
        assert_eq!(outcome.changes.len(), 1);
        assert_eq!(outcome.changes[0].path, "connection.username");
        assert!(!outcome.replaces());
        let moved = with(
            &olds,
            json!({"connection": {"host": "pg-myapp-dr.postgres.database.azure.com", "username": "PG Admins Group"}}),
        );
        let outcome = diff(&Principal, &olds, &moved);
        assert_eq!(outcome.replaced_properties(), ["connection"]);
        assert!(!outcome.delete_before_replace);
    }

    #[test]
    fn another_admin_and_a_replacing_change_together_still_drop_the_old_role_first() {
        let olds = principal("app-myapp-prod");
        let news = with(
            &olds,
            json!({"isMfa": true, "connection": {"host": "pg-myapp-prod.postgres.database.azure.com", "username": "admin@yourcompany.com"}}),
        );
        let outcome = diff(&Principal, &olds, &news);
        assert_eq!(outcome.replaced_properties(), ["isMfa"]);
        assert!(
            outcome.delete_before_replace,
            "the same role on the same server cannot exist twice"
        );
    }

    #[test]
    fn a_rebind_label_takes_only_a_uuid_and_a_known_kind() {
        let news = |oid: &str, kind: &str| {
            Props::from_json(json!({"name": "id-app", "objectId": oid, "principalType": kind}))
        };
        let oid = "7d1e8c1a-2b3c-4d5e-8f90-123456789abc";
        assert!(rebind_sql(&news(oid, "service")).is_ok());
        assert!(rebind_sql(&news(oid, "service,admin")).is_err());
        assert!(rebind_sql(&news("x,admin", "user")).is_err());
    }
}
