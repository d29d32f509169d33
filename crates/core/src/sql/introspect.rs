//! What the server says exists: roles, Entra principals, ownership; and the one-object queries
//! of what a role holds, read from the ACLs with aclexplode (the owner's implicit privileges
//! through acldefault). Every value is a bind parameter, except in the queries that must run
//! inside another statement, whose values are literals from [`crate::sql::quote`]. What a
//! refresh of many Grants reads is in [`crate::sql::catalog_snapshot`].

use crate::sql::grant::{object_sql, ObjectType, PUBLIC};
use crate::sql::pool::Session;
use crate::sql::quote::{ident, literal, qualified, QuoteError};
use crate::sql::session::SqlError;
use std::collections::BTreeMap;

/// An Entra principal as pgaadauth_list_principals reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraPrincipal {
    pub name: String,
    pub principal_type: String,
    pub object_id: String,
    pub is_admin: bool,
    pub is_mfa: bool,
}

pub async fn role_exists(session: &Session, role: &str) -> Result<bool, SqlError> {
    Ok(!session
        .query(
            "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
            &[&role],
        )
        .await?
        .is_empty())
}

/// Whether the server has a function of that name (pgaadauth_* exist only where Entra
/// authentication is on, in the database Azure installs them in).
pub async fn has_function(session: &Session, name: &str) -> Result<bool, SqlError> {
    Ok(!session
        .query(
            "SELECT 1 FROM pg_catalog.pg_proc WHERE proname = $1",
            &[&name],
        )
        .await?
        .is_empty())
}

pub async fn entra_principal(
    session: &Session,
    role: &str,
) -> Result<Option<EntraPrincipal>, SqlError> {
    if !has_function(session, "pgaadauth_list_principals").await? {
        return Ok(None);
    }
    let rows = session
        .query(
            "SELECT rolname::text, principaltype::text, objectid::text, ismfa::int, isadmin::int \
             FROM pgaadauth_list_principals(false) WHERE rolname = $1",
            &[&role],
        )
        .await?;
    Ok(rows.first().map(entra_principal_row))
}

/// Every Entra role of the server, by name (empty where pgaadauth is not loaded).
pub async fn entra_principals(session: &Session) -> Result<Vec<EntraPrincipal>, SqlError> {
    if !has_function(session, "pgaadauth_list_principals").await? {
        return Ok(Vec::new());
    }
    let rows = session
        .query(
            "SELECT rolname::text, principaltype::text, objectid::text, ismfa::int, isadmin::int \
             FROM pgaadauth_list_principals(false) ORDER BY 1",
            &[],
        )
        .await?;
    Ok(rows.iter().map(entra_principal_row).collect())
}

fn entra_principal_row(r: &tokio_postgres::Row) -> EntraPrincipal {
    EntraPrincipal {
        name: r.get(0),
        principal_type: r.get::<_, Option<String>>(1).unwrap_or_default(),
        object_id: r.get::<_, Option<String>>(2).unwrap_or_default(),
        is_mfa: r.get::<_, Option<i32>>(3) == Some(1),
        is_admin: r.get::<_, Option<i32>>(4) == Some(1),
    }
}

/// What keeps a role from being dropped, as `pg_shdepend` records it server-wide: objects it
/// owns and objects it holds privileges on.
#[derive(Debug, Default)]
pub struct Dependents {
    /// Described in the session's own database (or server-wide, such as a database it owns).
    pub described: Vec<String>,
    /// Other databases, with how many entries each holds there: describe them in a session of
    /// that database (pg_describe_object only resolves objects of the current one).
    pub elsewhere: BTreeMap<String, usize>,
}

impl Dependents {
    pub fn is_empty(&self) -> bool {
        self.described.is_empty() && self.elsewhere.is_empty()
    }
}

/// What the role owns or holds privileges on: by name in the session's database, by count in
/// the others.
pub async fn dependents(session: &Session, role: &str) -> Result<Dependents, SqlError> {
    let rows = session
        .query(
            "SELECT CASE WHEN s.dbid = 0 OR s.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) \
                         THEN pg_catalog.pg_describe_object(s.classid, s.objid, s.objsubid) \
                         ELSE NULL END, \
                    d.datname::text, \
                    s.deptype = 'o' \
             FROM pg_catalog.pg_shdepend s \
             LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid \
             WHERE s.deptype IN ('o', 'a') \
               AND s.refclassid = 'pg_catalog.pg_authid'::regclass \
               AND s.refobjid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1) \
             ORDER BY 3 DESC, 2, 1",
            &[&role],
        )
        .await?;
    let mut found = Dependents::default();
    for row in rows {
        let described: Option<String> = row.get(0);
        let database: Option<String> = row.get(1);
        let owns: bool = row.get(2);
        match described {
            Some(d) if owns => found.described.push(format!("owns {d}")),
            Some(d) => found.described.push(format!("holds privileges on {d}")),
            None => {
                *found
                    .elsewhere
                    .entry(database.unwrap_or_else(|| "the server".into()))
                    .or_default() += 1
            }
        }
    }
    Ok(found)
}

/// `server_version_num`, such as 150020.
pub async fn server_version(session: &Session) -> Result<i32, SqlError> {
    let rows = session
        .query("SELECT current_setting('server_version_num')::int", &[])
        .await?;
    Ok(rows.first().map(|r| r.get(0)).unwrap_or(0))
}

/// Where privileges are held.
#[derive(Debug, Clone, Copy)]
pub enum On<'a> {
    /// The session's own database.
    Database,
    Schema(&'a str),
    /// Tables, sequences or functions in a schema: the named ones, or all that exist now.
    Objects {
        object_type: ObjectType,
        schema: &'a str,
        names: &'a [String],
    },
    /// Default privileges set in a schema for the future objects of `owner` (None: the
    /// session's user).
    Defaults {
        object_type: ObjectType,
        schema: &'a str,
        owner: Option<&'a str>,
    },
}

/// The relkinds a Grant on `object_type` covers: sequences, or the tables (views, materialized
/// views, foreign and partitioned tables too, as GRANT ON ALL TABLES has them).
pub fn relkinds(object_type: ObjectType) -> &'static [&'static str] {
    if object_type == ObjectType::Sequence {
        &["S"]
    } else {
        &["r", "p", "v", "m", "f"]
    }
}

/// The kinds of function a Grant on functions covers (not procedures).
pub const FUNCTION_KINDS: &[&str] = &["f", "a", "w"];

/// pg_default_acl's defaclobjtype for default privileges on `object_type`.
pub fn default_acl_kind(object_type: ObjectType) -> &'static str {
    match object_type {
        ObjectType::Sequence => "S",
        ObjectType::Function => "f",
        _ => "r",
    }
}

/// One query of what `role` holds on `on`, as rows (object, privilege, grantable), with every
/// value a literal: for a check that runs inside another statement (a DO block cannot take
/// parameters), and for comparing with psql, which runs the same text. Objects are found by
/// OID (`to_regclass` and friends on quoted names), which plans in a fraction of the time of
/// joins by name: this runs in every Grant's write.
pub fn privilege_rows_sql(role: &str, on: On<'_>) -> Result<String, QuoteError> {
    let columns = "a.privilege_type AS privilege, a.is_grantable AS grantable";
    // PUBLIC is grantee 0 in an ACL (it has no role row).
    let grantee = if role == PUBLIC {
        "a.grantee = 0".to_owned()
    } else {
        format!(
            "a.grantee = pg_catalog.to_regrole({})",
            literal(&ident(role)?)?
        )
    };
    let namespace = |schema: &str| -> Result<String, QuoteError> {
        Ok(format!(
            "pg_catalog.to_regnamespace({})",
            literal(&ident(schema)?)?
        ))
    };
    Ok(match on {
        On::Database => format!(
            "SELECT d.datname::text AS object, {columns} \
             FROM pg_catalog.pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a \
             WHERE d.datname = current_database() AND {grantee}"
        ),
        On::Schema(schema) => format!(
            "SELECT n.nspname::text AS object, {columns} \
             FROM pg_catalog.pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a \
             WHERE n.oid = {} AND {grantee}",
            namespace(schema)?
        ),
        On::Objects {
            object_type: ObjectType::Function,
            schema,
            names,
        } => format!(
            "SELECT p.oid::regprocedure::text AS object, {columns} \
             FROM pg_catalog.pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a \
             WHERE p.pronamespace = {} AND p.prokind IN ({}){} AND {grantee}",
            namespace(schema)?,
            literals(FUNCTION_KINDS)?,
            function_filter(schema, names)?
        ),
        On::Objects {
            object_type,
            schema,
            names,
        } => {
            let which = if names.is_empty() {
                format!("c.relnamespace = {}", namespace(schema)?)
            } else {
                let oids = names
                    .iter()
                    .map(|name| Ok(format!("pg_catalog.to_regclass({})", literal(&qualified(schema, name)?)?)))
                    .collect::<Result<Vec<_>, QuoteError>>()?;
                format!("c.oid IN ({})", oids.join(", "))
            };
            format!(
                "SELECT c.relname::text AS object, {columns} \
                 FROM pg_catalog.pg_class c, aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner))) a \
                 WHERE {which} AND c.relkind IN ({}) AND {grantee}",
                literals(relkinds(object_type))?
            )
        }
        On::Defaults {
            object_type,
            schema,
            owner,
        } => format!(
            "SELECT n.nspname::text AS object, {columns} \
             FROM pg_catalog.pg_default_acl d \
             JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a \
             WHERE d.defaclnamespace = {} AND d.defaclobjtype = {} \
               AND d.defaclrole = pg_catalog.to_regrole({}) AND {grantee}",
            namespace(schema)?,
            literal(default_acl_kind(object_type))?,
            match owner {
                Some(owner) => literal(&ident(owner)?)?,
                None => "pg_catalog.quote_ident(current_user)".to_owned(),
            }
        ),
    })
}

/// One query of which of `roles` the role is a member of, as rows (object, privilege,
/// grantable) with the role granted as both object and privilege and the admin option as
/// grantable; every value a literal.
pub fn membership_rows_sql(role: &str, roles: &[String]) -> Result<String, QuoteError> {
    let oids = roles
        .iter()
        .map(|r| Ok(format!("pg_catalog.to_regrole({})", literal(&ident(r)?)?)))
        .collect::<Result<Vec<_>, QuoteError>>()?;
    Ok(format!(
        "SELECT pg_catalog.pg_get_userbyid(m.roleid)::text AS object, \
                pg_catalog.pg_get_userbyid(m.roleid)::text AS privilege, m.admin_option AS grantable \
         FROM pg_catalog.pg_auth_members m \
         WHERE m.member = pg_catalog.to_regrole({}) AND m.roleid IN ({})",
        literal(&ident(role)?)?,
        // No role listed (a state Check never saw): a list that matches nothing.
        if oids.is_empty() { "NULL".to_owned() } else { oids.join(", ") }
    ))
}

/// ` AND ...` keeping the functions named: every overload of a plain name, the one overload
/// of a signature (found by `to_regprocedure`); nothing for none (all of them).
fn function_filter(schema: &str, names: &[String]) -> Result<String, QuoteError> {
    if names.is_empty() {
        return Ok(String::new());
    }
    let (signatures, plain): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|name| name.contains('('));
    let mut any = Vec::new();
    if !plain.is_empty() {
        any.push(format!("p.proname IN ({})", literals(&plain)?));
    }
    if !signatures.is_empty() {
        let oids = signatures
            .iter()
            .map(|s| {
                let sql = object_sql(ObjectType::Function, schema, s)?;
                Ok(format!("pg_catalog.to_regprocedure({})", literal(&sql)?))
            })
            .collect::<Result<Vec<_>, QuoteError>>()?;
        any.push(format!("p.oid IN ({})", oids.join(", ")));
    }
    Ok(format!(" AND ({})", any.join(" OR ")))
}

fn literals(values: &[impl AsRef<str>]) -> Result<String, QuoteError> {
    Ok(values
        .iter()
        .map(|v| literal(v.as_ref()))
        .collect::<Result<Vec<_>, _>>()?
        .join(", "))
}
