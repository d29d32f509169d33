//! What the server says exists: roles, Entra principals, ownership, and the privileges a role
//! actually holds, read from the ACLs with aclexplode (the owner's implicit privileges through
//! acldefault). Every value is a bind parameter.

use crate::sql::grant::ObjectType;
use crate::sql::pool::Session;
use crate::sql::session::SqlError;
use std::collections::{BTreeMap, BTreeSet};

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
    Ok(rows.first().map(|r| EntraPrincipal {
        name: r.get(0),
        principal_type: r.get::<_, Option<String>>(1).unwrap_or_default(),
        object_id: r.get::<_, Option<String>>(2).unwrap_or_default(),
        is_mfa: r.get::<_, Option<i32>>(3) == Some(1),
        is_admin: r.get::<_, Option<i32>>(4) == Some(1),
    }))
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
    /// Default privileges the session's user set in a schema for future objects.
    Defaults {
        object_type: ObjectType,
        schema: &'a str,
    },
}

/// The privileges `role` holds on every one of the objects (with the grant option when
/// `grantable`). `None` when there is no object to read (no table in the schema yet).
pub async fn privileges_held(
    session: &Session,
    role: &str,
    on: On<'_>,
    grantable: bool,
) -> Result<Option<BTreeSet<String>>, SqlError> {
    held(session, role, on, grantable, Combine::OnEvery).await
}

/// The privileges `role` holds on at least one of the objects (an overlap with what another
/// Grant would take back). `None` when there is no object to read.
pub async fn privileges_held_on_any(
    session: &Session,
    role: &str,
    on: On<'_>,
) -> Result<Option<BTreeSet<String>>, SqlError> {
    held(session, role, on, false, Combine::OnAny).await
}

/// How the privileges of several objects combine.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Combine {
    OnEvery,
    OnAny,
}

async fn held(
    session: &Session,
    role: &str,
    on: On<'_>,
    grantable: bool,
    combine: Combine,
) -> Result<Option<BTreeSet<String>>, SqlError> {
    const ROLE: &str = "(SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1)";
    let rows = match on {
        On::Database => {
            let sql = format!(
                "SELECT d.datname::text, a.privilege_type, a.is_grantable \
                 FROM pg_catalog.pg_database d \
                 LEFT JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a \
                   ON a.grantee = {ROLE} \
                 WHERE d.datname = current_database()"
            );
            session.query(&sql, &[&role]).await?
        }
        On::Schema(schema) => {
            let sql = format!(
                "SELECT n.nspname::text, a.privilege_type, a.is_grantable \
                 FROM pg_catalog.pg_namespace n \
                 LEFT JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a \
                   ON a.grantee = {ROLE} \
                 WHERE n.nspname = $2"
            );
            session.query(&sql, &[&role, &schema]).await?
        }
        On::Objects {
            object_type,
            schema,
            names,
        } => {
            let names: Option<Vec<String>> = (!names.is_empty()).then(|| names.to_vec());
            let sql = if object_type == ObjectType::Function {
                format!(
                    "SELECT p.oid::regprocedure::text, a.privilege_type, a.is_grantable \
                     FROM pg_catalog.pg_proc p \
                     JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
                     LEFT JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a \
                       ON a.grantee = {ROLE} \
                     WHERE n.nspname = $2 AND p.prokind IN ('f', 'a', 'w') \
                       AND ($3::text[] IS NULL OR p.proname = ANY($3))"
                )
            } else {
                let kinds = if object_type == ObjectType::Sequence {
                    "'S'"
                } else {
                    "'r', 'p', 'v', 'm', 'f'"
                };
                format!(
                    "SELECT c.relname::text, a.privilege_type, a.is_grantable \
                     FROM pg_catalog.pg_class c \
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                     LEFT JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner))) a \
                       ON a.grantee = {ROLE} \
                     WHERE n.nspname = $2 AND c.relkind IN ({kinds}) \
                       AND ($3::text[] IS NULL OR c.relname = ANY($3))"
                )
            };
            let rows = session.query(&sql, &[&role, &schema, &names]).await?;
            if let (Some(names), Combine::OnEvery) = (&names, combine) {
                // A named object that does not exist holds nothing.
                let found: BTreeSet<String> = rows.iter().map(|r| r.get(0)).collect();
                if object_type != ObjectType::Function && names.iter().any(|n| !found.contains(n)) {
                    return Ok(Some(BTreeSet::new()));
                }
            }
            rows
        }
        On::Defaults {
            object_type,
            schema,
        } => {
            let kind = match object_type {
                ObjectType::Sequence => "S",
                ObjectType::Function => "f",
                _ => "r",
            };
            let sql = format!(
                "SELECT n.nspname::text, a.privilege_type, a.is_grantable \
                 FROM pg_catalog.pg_default_acl d \
                 JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace \
                 CROSS JOIN LATERAL aclexplode(d.defaclacl) a \
                 WHERE a.grantee = {ROLE} AND n.nspname = $2 AND d.defaclobjtype::text = $3 \
                   AND d.defaclrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)"
            );
            let rows = session.query(&sql, &[&role, &schema, &kind]).await?;
            let held: BTreeSet<String> = rows
                .iter()
                .filter(|r| !grantable || r.get::<_, bool>(2))
                .map(|r| r.get(1))
                .collect();
            return Ok(Some(held));
        }
    };
    // Per object, the privileges held; then what every object has.
    let mut per_object: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in rows {
        let object: String = row.get(0);
        let entry = per_object.entry(object).or_default();
        let privilege: Option<String> = row.get(1);
        let is_grantable: Option<bool> = row.get(2);
        if let Some(p) = privilege {
            if !grantable || is_grantable == Some(true) {
                entry.insert(p);
            }
        }
    }
    let mut sets = per_object.into_values();
    let Some(first) = sets.next() else {
        return Ok(None);
    };
    Ok(Some(sets.fold(first, |acc, s| match combine {
        Combine::OnEvery => acc.intersection(&s).cloned().collect(),
        Combine::OnAny => acc.union(&s).cloned().collect(),
    })))
}

/// Which of `roles` the role is a member of (with the admin option when `admin`).
pub async fn memberships(
    session: &Session,
    role: &str,
    roles: &[String],
    admin: bool,
) -> Result<BTreeSet<String>, SqlError> {
    let rows = session
        .query(
            "SELECT r.rolname::text, m.admin_option \
             FROM pg_catalog.pg_auth_members m \
             JOIN pg_catalog.pg_roles r ON r.oid = m.roleid \
             WHERE m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1) \
               AND r.rolname = ANY($2)",
            &[&role, &roles],
        )
        .await?;
    Ok(rows
        .iter()
        .filter(|r| !admin || r.get::<_, bool>(1))
        .map(|r| r.get(0))
        .collect())
}
