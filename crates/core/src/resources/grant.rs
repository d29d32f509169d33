//! `pgentra:index:Grant`: privileges on database objects, or membership in roles, given to a
//! role with GRANT (or, with defaultPrivileges, ALTER DEFAULT PRIVILEGES for objects created
//! later) and taken back with REVOKE.
//!
//! A Grant owns exactly the privileges it lists: an update revokes the ones removed and grants
//! the ones added. A replacement always revokes first, since the old REVOKE would otherwise undo
//! the new GRANT. Two Grants over the same privilege on the same role and objects would share
//! an ID and each one's Delete would revoke what the other still claims, and PostgreSQL keeps
//! no record of which Grant gave what: so a create (or an update adding privileges) over what the
//! role already holds is refused, checked in the GRANT's own transaction under its locks.
//!
//! One round trip per write: locks, check and statements go as one implicit transaction (see
//! `sql::grant::write_acl`). A Read takes what it needs from scans shared with the other Reads
//! in flight (`sql::catalog_snapshot`).

use crate::props::Props;
use crate::resource::{Context, Created, Error, ReadOutcome, Resource};
use crate::resources::common::waiting_for;
use crate::resources::connection::{conn_info, connection_input, CONNECTION_PROPERTY};
use crate::resources::sql_resource::SqlOperation;
use crate::rules;
use crate::spec::{CheckFailure, Default, Property, Replacement, ResourceSpec, Type};
use crate::sql::catalog_snapshot;
use crate::sql::function_acl;
use crate::sql::grant::{
    privilege_update_sql, role_update_sql, write_acl, AclWrite, HeldCheck, ObjectType, PUBLIC,
};
use crate::sql::id::GrantId;
use crate::sql::introspect;
use crate::sql::signature::Signature;
use crate::sql::ConnInfo;
use crate::sql::SqlError;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeSet;

/// What a Grant is on: the SQL layer's builder of its statements.
pub use crate::sql::grant::GrantTarget;

pub static SPEC: ResourceSpec = ResourceSpec {
    token: "pgentra:index:Grant",
    doc: "Privileges for a role, such as `CONNECT` on a database, `USAGE` on a schema or `SELECT` \
          on every table in a schema, or membership in other roles (objectType `role`). The Grant \
          owns exactly the privileges it lists: removing one revokes it, and deleting the Grant \
          revokes them all. So a Grant over a privilege (or membership) the role already holds on \
          the same objects, from another Grant or granted outside pgentra, is refused at create \
          (and an update that adds one): two Grants over the same privilege would take it from \
          each other. Grants over different privileges on the same objects coexist. A replacement \
          revokes before it grants.",
    properties: &[
        CONNECTION_PROPERTY,
        Property::input("role", Type::String, "The role that receives the privileges, such as a Principal's name, or `PUBLIC` (in capitals) for every role (PUBLIC takes no withGrantOption and no role memberships).")
            .required()
            .replace()
            .rule(rules::grantee),
        Property::input("database", Type::String, "The database the privileges are in (for objectType `database`, the database they are on).")
            .required()
            .replace()
            .rule(rules::pg_identifier),
        Property::input("objectType", Type::String, "What the privileges are on: `database`, `schema`, `table`, `sequence`, `function`, or `role` to grant membership in the roles listed in objects.")
            .required()
            .replace()
            .one_of(OBJECT_TYPES),
        Property::input("schema", Type::String, "The schema: the one granted on for objectType `schema`, the one holding the objects for `table`, `sequence` and `function`. Not used for `database` and `role`.")
            .replace()
            .rule(rules::pg_identifier),
        Property::input("objects", Type::Array(&Type::String), "The tables, sequences or functions in schema; empty means all of them that exist now. A function by name alone is every overload of that name; with its argument types, such as `myfunc(integer, text)`, it is that overload only. For objectType `role`, the roles granted.")
            .rule(rules::pg_object_names),
        Property::input("privileges", Type::Array(&Type::String), "The privileges, in any case and order (they are kept upper-case and sorted): for `database` CREATE, CONNECT, TEMPORARY; for `schema` CREATE, USAGE; for `table` SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, MAINTAIN; for `sequence` USAGE, SELECT, UPDATE; for `function` EXECUTE; or ALL alone. Empty for `role`.")
            .required()
            .normalised(),
        Property::input("withGrantOption", Type::Boolean, "Whether the role may grant the privileges on to others (for objectType `role`: WITH ADMIN OPTION).")
            .default(Default::Bool(false)),
        Property::input("defaultPrivileges", Type::Boolean, "Grant on the tables, sequences or functions created in schema from now on (ALTER DEFAULT PRIVILEGES), for objects created by the connection's user (or by defaultPrivilegesOwner); objects must be empty.")
            .default(Default::Bool(false))
            .replace(),
        Property::input("defaultPrivilegesOwner", Type::String, "With defaultPrivileges: the role whose future objects get the privileges (ALTER DEFAULT PRIVILEGES FOR ROLE), such as the app's own role when its migrations create the tables. The connection's user must be a member of it. Unset: the connection's user.")
            .replace()
            .rule(rules::role_name),
        Property::input("revoke", Type::Boolean, "Take the listed privileges away from role instead of giving them, such as CONNECT on the database or CREATE on schema public from PUBLIC (the first hardening step). Create and update run REVOKE, a refresh finds them held again as drift, and delete leaves them revoked (it gives nothing back). Not for objectType `role`, withGrantOption or defaultPrivileges.")
            .replace(),
    ],
    replacement: Replacement::AlwaysDeleteFirst,
    autoname: None,
};

const OBJECT_TYPES: &[&str] = ObjectType::NAMES;

/// What a Grant on `object_type` may list, from the SQL layer's privilege table.
fn privileges_of(object_type: &str) -> Vec<&'static str> {
    ObjectType::parse(object_type)
        .map(ObjectType::privileges)
        .unwrap_or_default()
}

pub struct Grant;

#[async_trait]
impl Resource for Grant {
    fn spec(&self) -> &'static ResourceSpec {
        &SPEC
    }

    fn fill_computed(&self, inputs: &mut Props) {
        normalise_privileges(inputs);
    }

    fn validate(&self, news: &Props, _olds: &Props, failures: &mut Vec<CheckFailure>) {
        if news.is_unknown("objectType") {
            return;
        }
        let Some(object_type) = news.str("objectType").map(str::to_owned) else {
            return;
        };
        check_privileges(news, &object_type, failures);
        check_targets(news, &object_type, failures);
    }

    fn planned_sql(&self, olds: Option<&Props>, news: &Props) -> Result<Vec<String>, String> {
        waiting_for(news, &SQL_INPUTS)?;
        let new = GrantTarget::from_inputs(news).ok_or("role, database and objectType")?;
        let planned = match olds.and_then(|olds| Some((olds, GrantTarget::from_inputs(olds)?))) {
            None => new.apply_sql(&privileges(news)).map(|sql| vec![sql]),
            Some((_, old)) if new.object_type == ObjectType::Role => role_update_sql(&old, &new),
            Some(_) if new.revoke => new.revoke_sql(&privileges(news)).map(|sql| vec![sql]),
            // `ALL` expands to what the newest server version has; the update itself asks
            // the server.
            Some((olds, old)) => {
                privilege_update_sql(&old, &privileges(olds), &new, &privileges(news), i32::MAX)
            }
        };
        planned.map_err(|e| e.to_string())
    }

    async fn create(&self, ctx: &Context, inputs: &Props) -> Result<Created, Error> {
        let id = wanted(inputs)?;
        let op = SqlOperation::new(ctx, id.to_string());
        let target = &id.target;
        let wanted_privileges = privileges(inputs);
        let sql = target
            .apply_sql(&wanted_privileges)
            .map_err(|e| op.fail(e))?;
        let session = op.session(&target.session_info(&id.conn)).await?;
        let check = HeldCheck {
            target,
            privileges: &wanted_privileges,
        };
        // A revoking Grant takes nothing over: REVOKE of what is not held changes nothing.
        let check = (!target.revoke).then_some(&check);
        let written = write_acl(&session, &target.acl_locks(), check, &sql, op.timeout())
            .await
            .map_err(|e| op.fail(e))?;
        if let AclWrite::AlreadyHeld(held) = written {
            return Err(op.fail(already_granted(target, &held, &id.to_string())));
        }
        Ok(Created {
            id: id.to_string(),
            outputs: inputs.clone(),
        })
    }

    async fn read(
        &self,
        ctx: &Context,
        id: &str,
        state: &Props,
    ) -> Result<Option<ReadOutcome>, Error> {
        let (op, parsed, conn) = SqlOperation::existing::<GrantId>(ctx, id, state)?;
        // The ID says what the Grant is on; the state adds the privileges it claims.
        let target = target_of(state)?.unwrap_or(parsed.target);
        let fail = |e| op.fail(e);
        let info = target.session_info(&conn);
        let sign_in = op.sign_in()?;
        // Both scans at once: a Read waits for one round trip, not two.
        let on_objects = target.object_type != ObjectType::Role;
        let (server, acls) = tokio::join!(
            catalog_snapshot::server(&sign_in, &info, &target.role),
            async {
                if on_objects {
                    Some(catalog_snapshot::acls(&sign_in, &info, target.on(), &target.role).await)
                } else {
                    None
                }
            }
        );
        let server = match server {
            // The database the objects were in is gone, and the Grant with it.
            Err(e) if e.code() == Some(DATABASE_GONE) => return Ok(None),
            other => other.map_err(fail)?,
        };
        if !target.is_public() && !server.role_exists(&target.role) {
            return Ok(None);
        }
        let mut inputs = target_inputs(&target, &conn);
        if target.object_type == ObjectType::Role {
            let held = server.memberships(&target.role, &target.objects, target.with_grant_option);
            let objects: Vec<Value> = target
                .objects
                .iter()
                .filter(|o| held.contains(*o))
                .map(|o| Value::String(o.clone()))
                .collect();
            if objects.is_empty() {
                return Ok(None);
            }
            inputs.set("objects", Value::Array(objects));
            inputs.set("privileges", Value::Array(vec![]));
        } else {
            let all = target.object_type.all_privileges(server.version);
            let claimed = privileges(state);
            let claims_all = claimed.is_empty() || claimed.iter().any(|p| p == "ALL");
            let acls = acls
                .expect("the ACL scan runs for every Grant on objects")
                .map_err(fail)?;
            let held = if target.object_type == ObjectType::Function
                && !target.default_privileges
                && target.objects.iter().any(|o| o.contains('('))
            {
                // Overloads by signature: the schema scan knows functions by name only.
                let session = op.session(&info).await?;
                let schema = target.schema.as_deref().unwrap_or_default();
                let held = function_acl::privileges_held(
                    &session,
                    &target.role,
                    schema,
                    &target.objects,
                    target.with_grant_option,
                )
                .await
                .map_err(fail)?;
                Some(held)
            } else {
                acls.privileges_held(&target.role, target.on(), target.with_grant_option)
            };
            let reported: Vec<String> = match held {
                // Nothing to read privileges on (no table in the schema yet): as claimed.
                None => claimed.clone(),
                // A revoking Grant holds what is still revoked.
                Some(held) if target.revoke => {
                    let wanted: BTreeSet<String> = if claims_all {
                        all.iter().map(|p| p.to_string()).collect()
                    } else {
                        claimed.iter().cloned().collect()
                    };
                    let revoked: BTreeSet<String> = wanted.difference(&held).cloned().collect();
                    if revoked.is_empty() && claimed.is_empty() {
                        return Ok(None);
                    }
                    if claims_all && revoked.len() == all.len() {
                        vec!["ALL".to_owned()]
                    } else {
                        revoked.into_iter().collect()
                    }
                }
                Some(held) => {
                    let wanted: BTreeSet<String> = if claims_all {
                        all.iter().map(|p| p.to_string()).collect()
                    } else {
                        claimed.iter().cloned().collect()
                    };
                    // Nothing held any more (revoked outside, or a new table in an "all
                    // tables" Grant) is drift the next `up` restores, not a deleted Grant;
                    // an import (no state) of a grant that holds nothing finds nothing.
                    let have: BTreeSet<String> = held.intersection(&wanted).cloned().collect();
                    if have.is_empty() && claimed.is_empty() {
                        return Ok(None);
                    }
                    if claims_all && !have.is_empty() && all.iter().all(|p| have.contains(*p)) {
                        vec!["ALL".to_owned()]
                    } else {
                        have.into_iter().collect()
                    }
                }
            };
            inputs.set(
                "privileges",
                Value::Array(reported.into_iter().map(Value::String).collect()),
            );
        }
        let mut outputs = state.clone();
        for (k, v) in &inputs.values {
            outputs.set(k, v.clone());
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
        let old = wanted(olds)?.target;
        let GrantId { conn, target: new } = wanted(news)?;
        let op = SqlOperation::new(ctx, id);
        let fail = |e| op.fail(e);
        let session = op.session(&new.session_info(&conn)).await?;
        // What ALL stands for depends on the server's version; nothing else does.
        let lists_all = privileges(olds)
            .iter()
            .chain(&privileges(news))
            .any(|p| p == "ALL");
        let version = if lists_all {
            introspect::server_version(&session).await.map_err(fail)?
        } else {
            i32::MAX
        };
        let statements = if new.object_type == ObjectType::Role {
            role_update_sql(&old, &new)
        } else if new.revoke {
            // Revoking again is harmless; what left the list stays revoked, as at delete.
            new.revoke_sql(&privileges(news)).map(|sql| vec![sql])
        } else {
            privilege_update_sql(&old, &privileges(olds), &new, &privileges(news), version)
        }
        .map_err(|e| op.fail(e))?;
        if !statements.is_empty() {
            // What this update adds must not be held already (as at create).
            let added = (!new.revoke)
                .then(|| added(&old, olds, &new, news, version))
                .flatten();
            let check = added
                .as_ref()
                .map(|(target, privileges)| HeldCheck { target, privileges });
            let mut locks = old.acl_locks();
            locks.extend(new.acl_locks());
            let written = write_acl(
                &session,
                &locks,
                check.as_ref(),
                &statements.join(";\n"),
                op.timeout(),
            )
            .await
            .map_err(fail)?;
            if let (AclWrite::AlreadyHeld(held), Some((target, _))) = (written, &added) {
                return Err(op.fail(already_granted(target, &held, id)));
            }
        }
        Ok(news.clone())
    }

    async fn delete(&self, ctx: &Context, id: &str, olds: &Props) -> Result<(), Error> {
        let (op, parsed, conn) = SqlOperation::existing::<GrantId>(ctx, id, olds)?;
        let target = target_of(olds)?.unwrap_or(parsed.target);
        let fail = |e| op.fail(e);
        let held = privileges(olds);
        if held.is_empty() && target.object_type != ObjectType::Role {
            return Ok(()); // it holds nothing now (a refresh found it all revoked): nothing to take back
        }
        let Some(sql) = target.undo_sql(&held).map_err(|e| op.fail(e))? else {
            return Ok(()); // a revoking Grant leaves the privileges revoked
        };
        let session = match op.try_session(&target.session_info(&conn)).await {
            Err(e) if e.code() == Some(DATABASE_GONE) => return Ok(()),
            other => other.map_err(fail)?,
        };
        match write_acl(&session, &target.acl_locks(), None, &sql, op.timeout()).await {
            Ok(_) => Ok(()),
            // What it was on is gone already (the role, object, schema, function): nothing to
            // take back.
            Err(e)
                if matches!(
                    e.code(),
                    Some("42P01" | "3F000" | "42883" | "3D000" | "42704")
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(fail(e)),
        }
    }
}

/// The refusal of a Grant over privileges (or memberships) the role already holds on the same
/// objects: held by another Grant, deleting either would revoke what the other still claims;
/// granted outside pgentra, deleting this Grant would revoke what it never gave.
fn already_granted(target: &GrantTarget, held: &[String], id: &str) -> SqlError {
    let what = if target.object_type == ObjectType::Role {
        format!("is already a member of {}", held.join(", "))
    } else {
        format!(
            "already holds {} on {}",
            held.join(", "),
            describe_on(target)
        )
    };
    SqlError::AlreadyGranted(format!(
        "the role {:?} {what} (from another Grant, or granted outside pgentra). {OVERLAP_RULE} \
         List each privilege in one Grant only; to manage what is held now, import it with the \
         ID {id}",
        target.role
    ))
}

/// What an update gives that the Grant did not hold before: the roles added to a membership
/// Grant, or the privileges added on the same objects (None when nothing is added; when the
/// objects change, the objects named anew with every privilege).
fn added(
    old: &GrantTarget,
    olds: &Props,
    new: &GrantTarget,
    news: &Props,
    version: i32,
) -> Option<(GrantTarget, Vec<String>)> {
    // The objects (or, for a membership, the roles) the old Grant did not name.
    let named_anew = GrantTarget {
        objects: new
            .objects
            .iter()
            .filter(|o| !old.objects.contains(o))
            .cloned()
            .collect(),
        ..new.clone()
    };
    if new.object_type == ObjectType::Role {
        return (!named_anew.objects.is_empty()).then_some((named_anew, vec![]));
    }
    let expand = |privileges: Vec<String>| -> BTreeSet<String> {
        if privileges.iter().any(|p| p == "ALL") {
            let all = new.object_type.all_privileges(version);
            all.into_iter().map(str::to_owned).collect()
        } else {
            privileges.into_iter().collect()
        }
    };
    let wanted = expand(privileges(news));
    if old.objects != new.objects {
        // The objects named anew, with every privilege. (From named objects to all of the
        // schema's, the Grant's own privileges cannot be told from another's: not checked.)
        return (!named_anew.objects.is_empty())
            .then(|| (named_anew, wanted.into_iter().collect()));
    }
    let before = expand(privileges(olds));
    let more: Vec<String> = wanted.difference(&before).cloned().collect();
    (!more.is_empty()).then(|| (new.clone(), more))
}

/// Why overlapping Grants are refused (also in the Grant's description and ARCHITECTURE.md).
const OVERLAP_RULE: &str = "A Grant owns exactly the privileges it lists and deleting it \
    revokes them, so two Grants over the same privilege on the same objects would take it from \
    each other.";

/// What a Grant is on, for messages.
fn describe_on(target: &GrantTarget) -> String {
    let schema = target.schema.as_deref().unwrap_or_default();
    let plural = match target.object_type {
        ObjectType::Sequence => "sequences",
        ObjectType::Function => "functions",
        _ => "tables",
    };
    match target.object_type {
        ObjectType::Database => format!("database {:?}", target.database),
        ObjectType::Schema => format!("schema {schema:?} in database {:?}", target.database),
        _ if target.default_privileges => {
            format!("the {plural} created from now on in schema {schema:?} (default privileges)")
        }
        _ if target.objects.is_empty() => format!(
            "{plural} in schema {schema:?} in database {:?}",
            target.database
        ),
        _ => format!(
            "{} in schema {schema:?} in database {:?}",
            target.objects.join(", "),
            target.database
        ),
    }
}

/// The inputs the statements are made of (the connection only says where they run).
const SQL_INPUTS: [&str; 9] = [
    "role",
    "database",
    "objectType",
    "schema",
    "objects",
    "privileges",
    "withGrantOption",
    "defaultPrivilegesOwner",
    "revoke",
];

/// SQLSTATE invalid_catalog_name: signing in to a database that does not exist.
const DATABASE_GONE: &str = "3D000";

fn privileges(props: &Props) -> Vec<String> {
    props
        .get("privileges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// What `props` (inputs or a state, from the wire: Check may not have run) say the Grant is on;
/// None when they do not say (an import has no state). An objectType that is not one of the
/// SQL layer's closed set is refused by name, never passed over for the ID's.
fn target_of(props: &Props) -> Result<Option<GrantTarget>, Error> {
    if let Some(object_type) = props.str("objectType") {
        if ObjectType::parse(object_type).is_none() {
            return Err(Error::InvalidInput(format!(
                "objectType {:?} is not one of: {}",
                short(object_type),
                ObjectType::NAMES.join(", ")
            )));
        }
    }
    Ok(GrantTarget::from_inputs(props))
}

/// A refused value as a message quotes it: at most 40 characters.
fn short(value: &str) -> String {
    match value.char_indices().nth(40) {
        Some((end, _)) => format!("{}...", &value[..end]),
        None => value.to_owned(),
    }
}

/// The Grant its checked inputs describe, as its ID says it.
fn wanted(inputs: &Props) -> Result<GrantId, Error> {
    let conn = conn_info(inputs).ok_or_else(|| {
        Error::InvalidInput("a Grant needs connection.host and connection.username".into())
    })?;
    let target = target_of(inputs)?
        .ok_or_else(|| Error::InvalidInput("a Grant needs role, database and objectType".into()))?;
    Ok(GrantId { conn, target })
}

/// Upper case, `TEMP` as `TEMPORARY`, `ALL PRIVILEGES` as `ALL`, each once, sorted: the same
/// privileges always read the same, so a diff never shows a reordering.
fn normalise_privileges(news: &mut Props) {
    if news.is_unknown("privileges") {
        return;
    }
    let Some(items) = news.get("privileges").and_then(Value::as_array) else {
        return;
    };
    let mut privileges: Vec<String> = items
        .iter()
        .filter_map(Value::as_str)
        .map(|p| {
            match p
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_uppercase()
                .as_str()
            {
                "TEMP" => "TEMPORARY".to_owned(),
                "ALL PRIVILEGES" => "ALL".to_owned(),
                other => other.to_owned(),
            }
        })
        .collect();
    privileges.sort();
    privileges.dedup();
    news.set(
        "privileges",
        privileges.into_iter().map(Value::String).collect(),
    );
}

fn check_privileges(news: &Props, object_type: &str, failures: &mut Vec<CheckFailure>) {
    if news.is_unknown("privileges") {
        return;
    }
    let privileges: Vec<&str> = news
        .get("privileges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let allowed = privileges_of(object_type);
    let mut refuse = |reason: String| failures.push(CheckFailure::new("privileges", reason));
    if object_type == "role" {
        if !privileges.is_empty() {
            refuse("a role grant takes no privileges: list the roles to grant in objects and leave privileges empty".into());
        }
        return;
    }
    let listed = allowed.join(", ");
    if privileges.is_empty() {
        refuse(format!(
            "give at least one privilege; a {object_type} takes {listed}"
        ));
    }
    for bad in privileges.iter().filter(|p| !allowed.contains(*p)) {
        refuse(format!(
            "{bad} is not a privilege on a {object_type}; use {listed}"
        ));
    }
    if privileges.contains(&"ALL") && privileges.len() > 1 {
        refuse(
            "ALL already holds every privilege; give ALL alone or list the privileges without it"
                .into(),
        );
    }
}

/// Which of schema, objects and defaultPrivileges each object type takes.
fn check_targets(news: &Props, object_type: &str, failures: &mut Vec<CheckFailure>) {
    // `None` when not known yet: those rules wait until it is.
    let has_schema = (!news.is_unknown("schema")).then(|| news.get("schema").is_some());
    let objects = match news.get("objects") {
        None => Some(0),
        Some(Value::Array(items)) => Some(items.len()),
        Some(_) => None,
    };
    let mut refuse =
        |property: &str, reason: String| failures.push(CheckFailure::new(property, reason));
    match object_type {
        "table" | "sequence" | "function" | "schema" if has_schema == Some(false) => {
            refuse(
                "schema",
                format!(
                    "a {object_type} grant needs the schema it is in; set schema, such as public"
                ),
            );
        }
        "database" | "role" if has_schema == Some(true) => {
            refuse(
                "schema",
                format!("a {object_type} grant is not in a schema; remove schema"),
            );
        }
        _ => {}
    }
    match (object_type, objects) {
        ("database", Some(n)) if n > 0 => refuse(
            "objects",
            "a database grant is on the database named in database; leave objects empty".into(),
        ),
        ("schema", Some(n)) if n > 0 => refuse(
            "objects",
            "a schema grant is on the schema named in schema; leave objects empty".into(),
        ),
        ("role", Some(0)) => refuse(
            "objects",
            "a role grant needs the roles to grant in objects, such as myapp-db-readwrite".into(),
        ),
        _ => {}
    }
    let is_true = |name: &str| news.get(name) == Some(&Value::Bool(true));
    if news.get("defaultPrivilegesOwner").is_some()
        && !news.is_unknown("defaultPrivileges")
        && !is_true("defaultPrivileges")
    {
        refuse("defaultPrivilegesOwner", "defaultPrivilegesOwner says whose future objects default privileges are for; set defaultPrivileges to true or remove defaultPrivilegesOwner".into());
    }
    if is_true("revoke") {
        if object_type == "role" {
            refuse("revoke", "revoke takes privileges away from role; for a role membership, delete the Grant that gave it".into());
        }
        if is_true("withGrantOption") {
            refuse("revoke", "a revoking Grant takes the privileges away with their grant option; set withGrantOption to false".into());
        }
        if is_true("defaultPrivileges") {
            refuse(
                "revoke",
                "revoking default privileges is not supported yet; set defaultPrivileges to false"
                    .into(),
            );
        }
    }
    if news.str("role") == Some(PUBLIC) {
        if object_type == "role" {
            refuse(
                "role",
                "PUBLIC cannot be made a member of roles: every role already has what PUBLIC holds"
                    .into(),
            );
        }
        if is_true("withGrantOption") {
            refuse("withGrantOption", "PostgreSQL gives the grant option to roles only, not to PUBLIC; set withGrantOption to false".into());
        }
    }
    check_object_names(news, object_type, &mut refuse);
    if news.get("defaultPrivileges") == Some(&Value::Bool(true)) {
        if !matches!(object_type, "table" | "sequence" | "function") {
            refuse("defaultPrivileges", format!("default privileges exist for tables, sequences and functions, not for a {object_type}; set defaultPrivileges to false"));
        } else if objects.is_some_and(|n| n > 0) {
            refuse("defaultPrivileges", "default privileges apply to objects created later, so objects must be empty; use another Grant for the existing objects".into());
        }
    }
}

/// Functions may carry their argument types (parsed strictly); every other object is a name of
/// 1-63 bytes.
fn check_object_names(news: &Props, object_type: &str, refuse: &mut impl FnMut(&str, String)) {
    if news.is_unknown("objects") {
        return;
    }
    let names = news
        .get("objects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    for name in names {
        if object_type == "function" {
            if let Err(why) = Signature::parse(name) {
                refuse("objects", why);
            }
        } else if let Err(why) = rules::pg_identifier(&Value::String(name.to_owned())) {
            refuse("objects", why);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Between a Grant's inputs and the SQL layer's GrantTarget (which knows no inputs).

impl GrantTarget {
    /// What a Grant is on, read from its checked inputs.
    pub fn from_inputs(inputs: &Props) -> Option<Self> {
        let text = |name: &str| inputs.str(name).map(str::to_owned);
        let list = |name: &str| -> Vec<String> {
            inputs
                .get(name)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        Some(Self {
            role: text("role")?,
            database: text("database")?,
            object_type: ObjectType::parse(inputs.str("objectType")?)?,
            schema: text("schema"),
            objects: list("objects"),
            with_grant_option: inputs.get("withGrantOption") == Some(&Value::Bool(true)),
            default_privileges: inputs.get("defaultPrivileges") == Some(&Value::Bool(true)),
            default_privileges_owner: text("defaultPrivilegesOwner"),
            revoke: inputs.get("revoke") == Some(&Value::Bool(true)),
        })
    }
}

/// The inputs describing `target` on `conn` (privileges added by the caller).
fn target_inputs(target: &GrantTarget, conn: &ConnInfo) -> Props {
    let mut inputs = Props::from_json(serde_json::json!({
        "connection": connection_input(conn),
        "role": target.role,
        "database": target.database,
        "objectType": target.object_type.as_str(),
        "withGrantOption": target.with_grant_option,
        "defaultPrivileges": target.default_privileges,
    }));
    if let Some(schema) = &target.schema {
        inputs.set("schema", Value::String(schema.clone()));
    }
    if let Some(owner) = &target.default_privileges_owner {
        inputs.set("defaultPrivilegesOwner", Value::String(owner.clone()));
    }
    if target.revoke {
        inputs.set("revoke", Value::Bool(true));
    }
    if !target.objects.is_empty() {
        inputs.set(
            "objects",
            target.objects.iter().cloned().map(Value::String).collect(),
        );
    }
    inputs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::props::unknown;
    use crate::resources::testing::{accepted, check, diff, refusal, refused, with};
    use crate::sql::id::SqlResourceId;
    use serde_json::json;

    /// The seed's `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public`.
    fn tables() -> Value {
        json!({
            "connection": {"host": "pg-myapp-prod.postgres.database.azure.com", "username": "PG Admins Group"},
            "role": "app-myapp-prod",
            "database": "myappdb",
            "objectType": "table",
            "schema": "public",
            "privileges": ["SELECT", "INSERT", "UPDATE", "DELETE"],
        })
    }

    #[test]
    fn the_seed_grants_pass() {
        accepted(&Grant, &tables());
        accepted(&Grant, &with(&tables(), json!({"defaultPrivileges": true})));
        accepted(
            &Grant,
            &with(
                &tables(),
                json!({"objectType": "database", "schema": null, "privileges": ["CONNECT"]}),
            ),
        );
        accepted(
            &Grant,
            &with(
                &tables(),
                json!({"objectType": "schema", "privileges": ["USAGE"]}),
            ),
        );
        let membership = json!({"role": "developer@yourcompany.com", "objectType": "role", "schema": null, "objects": ["myapp-db-readwrite"], "privileges": []});
        accepted(&Grant, &with(&tables(), membership));
    }

    #[test]
    fn privileges_are_upper_cased_deduplicated_and_sorted() {
        let checked = accepted(
            &Grant,
            &with(
                &tables(),
                json!({"privileges": ["select", "insert", "select"]}),
            ),
        );
        assert_eq!(
            checked.get("privileges"),
            Some(&json!(["INSERT", "SELECT"]))
        );
        let database =
            json!({"objectType": "database", "schema": null, "privileges": ["temp", "Connect"]});
        assert_eq!(
            accepted(&Grant, &with(&tables(), database)).get("privileges"),
            Some(&json!(["CONNECT", "TEMPORARY"]))
        );
    }

    #[test]
    fn an_unknown_privilege_names_what_the_object_type_allows() {
        let reason = refused(
            &Grant,
            &with(&tables(), json!({"privileges": ["SELECT", "FLY"]})),
            "privileges",
        );
        assert!(
            reason.contains("FLY")
                && reason.contains(
                    "SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, MAINTAIN"
                ),
            "{reason}"
        );
        let on_schema = json!({"objectType": "schema", "privileges": ["SELECT"]});
        assert!(
            refused(&Grant, &with(&tables(), on_schema), "privileges").contains("CREATE, USAGE")
        );
    }

    #[test]
    fn all_together_with_other_privileges_is_refused() {
        assert!(refused(
            &Grant,
            &with(
                &tables(),
                json!({"privileges": ["all privileges", "select"]})
            ),
            "privileges"
        )
        .contains("ALL alone"));
    }

    #[test]
    fn each_object_type_takes_only_its_targets() {
        refused(&Grant, &with(&tables(), json!({"schema": null})), "schema");
        refused(
            &Grant,
            &with(
                &tables(),
                json!({"objectType": "database", "privileges": ["CONNECT"]}),
            ),
            "schema",
        );
        let database_objects = json!({"objectType": "database", "schema": null, "objects": ["x"], "privileges": ["CONNECT"]});
        refused(&Grant, &with(&tables(), database_objects), "objects");
        refused(
            &Grant,
            &with(
                &tables(),
                json!({"objectType": "schema", "objects": ["x"], "privileges": ["USAGE"]}),
            ),
            "objects",
        );
        let no_roles = json!({"objectType": "role", "schema": null, "privileges": []});
        let (_, failures) = check(&Grant, &with(&tables(), no_roles), &json!({}));
        refusal(&failures, "objects");
        let role_privileges = json!({"objectType": "role", "schema": null, "objects": ["readers"], "privileges": ["SELECT"]});
        refused(&Grant, &with(&tables(), role_privileges), "privileges");
        refused(
            &Grant,
            &with(&tables(), json!({"privileges": []})),
            "privileges",
        );
    }

    #[test]
    fn default_privileges_only_for_future_tables_sequences_and_functions() {
        refused(
            &Grant,
            &with(
                &tables(),
                json!({"defaultPrivileges": true, "objects": ["orders"]}),
            ),
            "defaultPrivileges",
        );
        let on_schema =
            json!({"objectType": "schema", "privileges": ["USAGE"], "defaultPrivileges": true});
        refused(&Grant, &with(&tables(), on_schema), "defaultPrivileges");
    }

    #[test]
    fn identifiers_and_roles_are_checked() {
        refused(&Grant, &with(&tables(), json!({"role": "public"})), "role");
        refused(
            &Grant,
            &with(&tables(), json!({"objects": ["orders", ""]})),
            "objects",
        );
        refused(
            &Grant,
            &with(&tables(), json!({"database": "x".repeat(64)})),
            "database",
        );
        refused(
            &Grant,
            &with(&tables(), json!({"objectType": "view"})),
            "objectType",
        );
    }

    #[test]
    fn unknown_values_wait_for_their_rules() {
        let pending = with(
            &tables(),
            json!({"schema": unknown(), "privileges": ["fly", unknown()]}),
        );
        let (checked, failures) = check(&Grant, &pending, &json!({}));
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(checked.get("privileges"), Some(&json!(["fly", unknown()])));
    }

    #[test]
    fn a_role_change_replaces_revoking_first() {
        let outcome = diff(
            &Grant,
            &tables(),
            &with(&tables(), json!({"role": "myapp-db-readwrite"})),
        );
        assert_eq!(outcome.replaced_properties(), ["role"]);
        assert!(outcome.delete_before_replace);
    }

    #[test]
    fn reordered_privileges_are_no_change_and_new_ones_update_in_place() {
        let reordered = with(
            &tables(),
            json!({"privileges": ["delete", "UPDATE", "insert", "select"]}),
        );
        assert!(diff(&Grant, &tables(), &reordered).changes.is_empty());
        let more = diff(
            &Grant,
            &tables(),
            &with(
                &tables(),
                json!({"privileges": ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"]}),
            ),
        );
        assert_eq!(more.changed_properties(), ["privileges"]);
        assert!(!more.replaces());
    }

    fn sql(grant: Value) -> String {
        let inputs = accepted(&Grant, &grant);
        let target = GrantTarget::from_inputs(&inputs).expect("a checked grant has its target");
        let privileges: Vec<String> = inputs
            .get("privileges")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect();
        target.grant_sql(&privileges).unwrap()
    }

    fn app(changes: Value) -> Value {
        let base = json!({
            "connection": {"host": "pg-myapp-prod.postgres.database.azure.com", "username": "PG Admins Group"},
            "role": "app-myapp-prod", "database": "myappdb",
        });
        with(&base, changes)
    }

    #[test]
    fn the_seed_grants_become_the_seed_statements() {
        assert_eq!(
            sql(app(
                json!({"objectType": "database", "privileges": ["CONNECT"]})
            )),
            r#"GRANT CONNECT ON DATABASE "myappdb" TO "app-myapp-prod""#
        );
        assert_eq!(
            sql(app(
                json!({"objectType": "schema", "schema": "public", "privileges": ["USAGE"]})
            )),
            r#"GRANT USAGE ON SCHEMA "public" TO "app-myapp-prod""#
        );
        let dml = json!(["select", "insert", "update", "delete"]);
        assert_eq!(
            sql(app(
                json!({"objectType": "table", "schema": "public", "privileges": dml})
            )),
            r#"GRANT DELETE, INSERT, SELECT, UPDATE ON ALL TABLES IN SCHEMA "public" TO "app-myapp-prod""#
        );
        assert_eq!(
            sql(app(
                json!({"objectType": "table", "schema": "public", "privileges": dml, "defaultPrivileges": true})
            )),
            r#"ALTER DEFAULT PRIVILEGES IN SCHEMA "public" GRANT DELETE, INSERT, SELECT, UPDATE ON TABLES TO "app-myapp-prod""#
        );
        let membership = with(
            &app(
                json!({"objectType": "role", "objects": ["myapp-db-readwrite"], "privileges": []}),
            ),
            json!({"role": "developer@yourcompany.com"}),
        );
        assert_eq!(
            sql(membership),
            r#"GRANT "myapp-db-readwrite" TO "developer@yourcompany.com""#
        );
    }

    #[test]
    fn named_objects_are_schema_qualified_and_quoted_whatever_their_characters() {
        let grant = app(
            json!({"objectType": "sequence", "schema": "sales", "objects": ["order_id_seq", "odd\"name"], "privileges": ["usage"], "withGrantOption": true}),
        );
        assert_eq!(
            sql(grant),
            r#"GRANT USAGE ON SEQUENCE "sales"."order_id_seq", "sales"."odd""name" TO "app-myapp-prod" WITH GRANT OPTION"#
        );
    }

    #[test]
    fn revoking_takes_back_exactly_the_listed_privileges() {
        let inputs = accepted(
            &Grant,
            &app(json!({"objectType": "function", "schema": "api", "privileges": ["ALL"]})),
        );
        let target = GrantTarget::from_inputs(&inputs).unwrap();
        assert_eq!(
            target.revoke_sql(&["ALL".to_owned()]).unwrap(),
            r#"REVOKE ALL PRIVILEGES ON ALL FUNCTIONS IN SCHEMA "api" FROM "app-myapp-prod""#
        );
        assert_eq!(
            target.revoke_sql(&["EXECUTE".to_owned()]).unwrap(),
            r#"REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA "api" FROM "app-myapp-prod""#
        );
    }

    #[test]
    fn an_update_revokes_what_was_removed_and_grants_what_stays() {
        let old = GrantTarget::from_inputs(&accepted(
            &Grant,
            &app(json!({"objectType": "table", "schema": "public", "privileges": ["ALL"], "withGrantOption": true})),
        ))
        .unwrap();
        let new = GrantTarget {
            with_grant_option: false,
            ..old.clone()
        };
        let statements =
            privilege_update_sql(&old, &["ALL".into()], &new, &["SELECT".into()], 150000).unwrap();
        assert_eq!(
            statements,
            [
                r#"REVOKE DELETE, INSERT, REFERENCES, TRIGGER, TRUNCATE, UPDATE ON ALL TABLES IN SCHEMA "public" FROM "app-myapp-prod""#,
                r#"REVOKE GRANT OPTION FOR SELECT ON ALL TABLES IN SCHEMA "public" FROM "app-myapp-prod""#,
                r#"GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "app-myapp-prod""#,
            ]
        );
        let pg17 =
            privilege_update_sql(&old, &["ALL".into()], &old, &["SELECT".into()], 170000).unwrap();
        assert!(pg17[0].contains("MAINTAIN"), "{pg17:?}");
    }

    #[test]
    fn public_is_the_keyword_only_when_written_public_and_a_role_named_public_never_reaches_sql() {
        let database =
            json!({"objectType": "database", "privileges": ["CONNECT"], "role": "PUBLIC"});
        assert_eq!(
            sql(app(database.clone())),
            r#"GRANT CONNECT ON DATABASE "myappdb" TO PUBLIC"#
        );
        for spelling in ["public", "Public"] {
            let why = refused(
                &Grant,
                &app(with(&database, json!({"role": spelling}))),
                "role",
            );
            assert!(why.contains("write PUBLIC in capitals"), "{why}");
        }
        refused(
            &Grant,
            &app(with(&database, json!({"withGrantOption": true}))),
            "withGrantOption",
        );
        let membership = json!({"role": "PUBLIC", "objectType": "role", "objects": ["readers"], "privileges": []});
        refused(&Grant, &app(membership), "role");
        // A state or an ID can carry anything: PostgreSQL reads even "public" as PUBLIC.
        let tampered = GrantTarget {
            role: "public".into(),
            ..GrantTarget::from_inputs(&accepted(&Grant, &app(database))).unwrap()
        };
        for built in [
            tampered.grant_sql(&["CONNECT".into()]),
            tampered.revoke_sql(&["CONNECT".into()]),
        ] {
            assert_eq!(built, Err(crate::sql::quote::QuoteError::PublicAsRoleName));
        }
    }

    #[test]
    fn a_revoking_grant_revokes_on_create_and_gives_nothing_back_on_delete() {
        let hardening = app(
            json!({"role": "PUBLIC", "objectType": "schema", "schema": "public", "privileges": ["create"], "revoke": true}),
        );
        let inputs = accepted(&Grant, &hardening);
        assert_eq!(
            Grant.planned_sql(None, &inputs).unwrap(),
            [r#"REVOKE CREATE ON SCHEMA "public" FROM PUBLIC"#]
        );
        let target = GrantTarget::from_inputs(&inputs).unwrap();
        assert_eq!(target.undo_sql(&["CREATE".into()]), Ok(None));
        refused(
            &Grant,
            &with(&hardening, json!({"withGrantOption": true})),
            "revoke",
        );
        let defaults =
            json!({"objectType": "table", "privileges": ["SELECT"], "defaultPrivileges": true});
        refused(&Grant, &with(&hardening, defaults), "revoke");
        let membership = json!({"role": "app", "objectType": "role", "schema": null, "objects": ["readers"], "privileges": []});
        refused(&Grant, &with(&hardening, membership), "revoke");
        assert_eq!(
            diff(
                &Grant,
                &hardening,
                &with(&hardening, json!({"revoke": false}))
            )
            .replaced_properties(),
            ["revoke"]
        );
    }

    #[test]
    fn default_privileges_for_another_owner_say_for_role() {
        let grant = app(
            json!({"objectType": "table", "schema": "public", "privileges": ["SELECT"], "defaultPrivileges": true, "defaultPrivilegesOwner": "app-migrations"}),
        );
        assert_eq!(
            sql(grant.clone()),
            r#"ALTER DEFAULT PRIVILEGES FOR ROLE "app-migrations" IN SCHEMA "public" GRANT SELECT ON TABLES TO "app-myapp-prod""#
        );
        let why = refused(
            &Grant,
            &with(&grant, json!({"defaultPrivileges": false})),
            "defaultPrivilegesOwner",
        );
        assert!(why.contains("defaultPrivileges to true"), "{why}");
        refused(
            &Grant,
            &with(&grant, json!({"defaultPrivileges": null})),
            "defaultPrivilegesOwner",
        );
        refused(
            &Grant,
            &with(&grant, json!({"defaultPrivilegesOwner": "pg_monitor"})),
            "defaultPrivilegesOwner",
        );
        assert_eq!(
            diff(
                &Grant,
                &grant,
                &with(&grant, json!({"defaultPrivilegesOwner": "other"}))
            )
            .replaced_properties(),
            ["defaultPrivilegesOwner"]
        );
        let id = wanted(&accepted(&Grant, &grant)).unwrap().to_string();
        assert!(
            id.ends_with("&defaults=true&defaultsFor=app-migrations"),
            "{id}"
        );
    }

    #[test]
    fn a_function_with_argument_types_is_that_overload_and_a_bad_signature_names_objects() {
        let grant = app(
            json!({"objectType": "function", "schema": "api", "objects": ["myfunc(integer, text)", "other"], "privileges": ["EXECUTE"]}),
        );
        assert_eq!(
            sql(grant.clone()),
            r#"GRANT EXECUTE ON FUNCTION "api"."myfunc"(integer, "text"), "api"."other" TO "app-myapp-prod""#
        );
        let why = refused(
            &Grant,
            &with(&grant, json!({"objects": ["myfunc(a integer)"]})),
            "objects",
        );
        assert!(why.contains("myfunc(integer, text)"), "{why}");
        let long = format!("f({})", vec!["integer"; 20].join(", "));
        accepted(&Grant, &with(&grant, json!({"objects": [long]})));
        // Only a function's name may run past 63 bytes with its argument types.
        let table = json!({"objectType": "table", "objects": [format!("t({})", "x".repeat(70))], "privileges": ["SELECT"]});
        refused(&Grant, &with(&grant, table), "objects");
    }

    #[test]
    fn a_grant_id_round_trips_awkward_names() {
        let inputs = accepted(
            &Grant,
            &with(
                &app(
                    json!({"objectType": "table", "schema": "my schema", "objects": ["a,b", "it's"], "privileges": ["SELECT"]}),
                ),
                json!({"role": "dev@corp.com \"x\""}),
            ),
        );
        let GrantId { conn, target } = wanted(&inputs).unwrap();
        let id = GrantId {
            conn: conn.clone(),
            target: target.clone(),
        }
        .to_string();
        let GrantId {
            conn: conn2,
            target: target2,
        } = GrantId::parse(&id).unwrap();
        assert_eq!((conn2, target2), (conn, target));
    }
}
