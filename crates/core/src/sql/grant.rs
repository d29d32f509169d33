//! GRANT and REVOKE: what each object type takes (the privilege table), the statements that
//! give and take back privileges or role memberships, and running them safely next to other
//! writers of the same ACLs. Every name goes through [`crate::sql::quote`].

use crate::sql::introspect::On;
use crate::sql::pool::{self, Session};
use crate::sql::quote::{ident, qualified, QuoteError};
use crate::sql::session::{ConnInfo, SqlError};
use std::collections::BTreeSet;
use std::time::Duration;

/// What privileges are on (or, for `Role`, membership in other roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectType {
    Database,
    Schema,
    Table,
    Sequence,
    Function,
    Role,
}

impl ObjectType {
    /// The names, as a Grant's `objectType` and a Grant ID's `on=` spell them.
    pub const NAMES: &'static [&'static str] = &[
        "database", "schema", "table", "sequence", "function", "role",
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "database" => Self::Database,
            "schema" => Self::Schema,
            "table" => Self::Table,
            "sequence" => Self::Sequence,
            "function" => Self::Function,
            "role" => Self::Role,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Database => "database",
            Self::Schema => "schema",
            Self::Table => "table",
            Self::Sequence => "sequence",
            Self::Function => "function",
            Self::Role => "role",
        }
    }

    /// The privilege table: each privilege in the order PostgreSQL documents them, with the
    /// `server_version_num` that introduced it.
    fn privilege_table(self) -> &'static [(&'static str, i32)] {
        match self {
            Self::Database => &[("CREATE", 0), ("CONNECT", 0), ("TEMPORARY", 0)],
            Self::Schema => &[("CREATE", 0), ("USAGE", 0)],
            Self::Table => &[
                ("SELECT", 0),
                ("INSERT", 0),
                ("UPDATE", 0),
                ("DELETE", 0),
                ("TRUNCATE", 0),
                ("REFERENCES", 0),
                ("TRIGGER", 0),
                ("MAINTAIN", 170000),
            ],
            Self::Sequence => &[("USAGE", 0), ("SELECT", 0), ("UPDATE", 0)],
            Self::Function => &[("EXECUTE", 0)],
            Self::Role => &[],
        }
    }

    /// What a Grant may list: every privilege some server version knows, in the documented
    /// order, then `ALL`. None for `Role` (memberships take no privileges).
    pub fn privileges(self) -> Vec<&'static str> {
        let mut known: Vec<&'static str> = self.privilege_table().iter().map(|p| p.0).collect();
        if !known.is_empty() {
            known.push("ALL");
        }
        known
    }

    /// Every privilege `ALL` stands for on this server version, sorted.
    pub fn all_privileges(self, version: i32) -> Vec<&'static str> {
        let mut all: Vec<&'static str> = self
            .privilege_table()
            .iter()
            .filter(|(_, since)| version >= *since)
            .map(|p| p.0)
            .collect();
        all.sort_unstable();
        all
    }

    /// The plural ALTER DEFAULT PRIVILEGES and `ALL ... IN SCHEMA` take.
    fn plural(self) -> &'static str {
        match self {
            Self::Sequence => "SEQUENCES",
            Self::Function => "FUNCTIONS",
            _ => "TABLES",
        }
    }
}

impl std::fmt::Display for ObjectType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a Grant is on and for whom: everything its statements are made of but the privileges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantTarget {
    pub role: String,
    pub database: String,
    pub object_type: ObjectType,
    pub schema: Option<String>,
    pub objects: Vec<String>,
    pub with_grant_option: bool,
    pub default_privileges: bool,
}

impl GrantTarget {
    /// The statement that grants `privileges` (for `Role`, the memberships in objects).
    pub fn grant_sql(&self, privileges: &[String]) -> Result<String, QuoteError> {
        let role = ident(&self.role)?;
        if self.object_type == ObjectType::Role {
            let option = if self.with_grant_option {
                " WITH ADMIN OPTION"
            } else {
                ""
            };
            return Ok(format!("GRANT {} TO {role}{option}", self.roles_granted()?));
        }
        let option = if self.with_grant_option {
            " WITH GRANT OPTION"
        } else {
            ""
        };
        let privileges = privilege_list(self.object_type, privileges)?;
        if self.default_privileges {
            return Ok(format!(
                "{} GRANT {privileges} ON {} TO {role}{option}",
                self.alter_default()?,
                self.object_type.plural()
            ));
        }
        Ok(format!(
            "GRANT {privileges} ON {} TO {role}{option}",
            self.on_clause()?
        ))
    }

    /// The statement that takes `privileges` (or the memberships) back, grant option included.
    pub fn revoke_sql(&self, privileges: &[String]) -> Result<String, QuoteError> {
        self.revoke(privileges, "")
    }

    /// The statement that takes back only the grant (admin) option of `privileges` (memberships).
    pub fn revoke_grant_option_sql(&self, privileges: &[String]) -> Result<String, QuoteError> {
        if self.object_type == ObjectType::Role {
            self.revoke(privileges, "ADMIN OPTION FOR ")
        } else {
            self.revoke(privileges, "GRANT OPTION FOR ")
        }
    }

    fn revoke(&self, privileges: &[String], option_for: &str) -> Result<String, QuoteError> {
        let role = ident(&self.role)?;
        if self.object_type == ObjectType::Role {
            return Ok(format!(
                "REVOKE {option_for}{} FROM {role}",
                self.roles_granted()?
            ));
        }
        let privileges = format!(
            "{option_for}{}",
            privilege_list(self.object_type, privileges)?
        );
        if self.default_privileges {
            return Ok(format!(
                "{} REVOKE {privileges} ON {} FROM {role}",
                self.alter_default()?,
                self.object_type.plural()
            ));
        }
        Ok(format!(
            "REVOKE {privileges} ON {} FROM {role}",
            self.on_clause()?
        ))
    }

    /// Where the statements run: in the database the privileges are in or on (a database's
    /// own ACL is read there as `current_database()`, never by a name another layer may map),
    /// and for role memberships, which have no database, in the connection's.
    pub fn session_info(&self, conn: &ConnInfo) -> ConnInfo {
        match self.object_type {
            ObjectType::Role => conn.clone(),
            _ => conn.in_database(&self.database),
        }
    }

    /// The lock key: databases and memberships live in catalogs the whole server shares.
    pub fn lock_info(&self, conn: &ConnInfo) -> ConnInfo {
        match self.object_type {
            ObjectType::Database | ObjectType::Role => conn.in_database(""),
            _ => conn.in_database(&self.database),
        }
    }

    /// Where the privileges are held, for reading them back.
    pub fn on(&self) -> On<'_> {
        let schema = self.schema.as_deref().unwrap_or_default();
        match self.object_type {
            ObjectType::Database => On::Database,
            ObjectType::Schema => On::Schema(schema),
            object_type if self.default_privileges => On::Defaults {
                object_type,
                schema,
            },
            object_type => On::Objects {
                object_type,
                schema,
                names: &self.objects,
            },
        }
    }

    fn roles_granted(&self) -> Result<String, QuoteError> {
        Ok(self
            .objects
            .iter()
            .map(|r| ident(r))
            .collect::<Result<Vec<_>, _>>()?
            .join(", "))
    }

    fn schema(&self) -> Result<String, QuoteError> {
        ident(self.schema.as_deref().unwrap_or_default())
    }

    fn alter_default(&self) -> Result<String, QuoteError> {
        Ok(format!(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {}",
            self.schema()?
        ))
    }

    fn on_clause(&self) -> Result<String, QuoteError> {
        match self.object_type {
            ObjectType::Database => Ok(format!("DATABASE {}", ident(&self.database)?)),
            ObjectType::Schema => Ok(format!("SCHEMA {}", self.schema()?)),
            _ if self.objects.is_empty() => Ok(format!(
                "ALL {} IN SCHEMA {}",
                self.object_type.plural(),
                self.schema()?
            )),
            kind => {
                let schema = self.schema.as_deref().unwrap_or_default();
                let names = self
                    .objects
                    .iter()
                    .map(|o| qualified(schema, o))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(format!(
                    "{} {}",
                    kind.as_str().to_uppercase(),
                    names.join(", ")
                ))
            }
        }
    }
}

/// The privilege list of a GRANT or REVOKE, each checked against the object type's table here,
/// where the SQL is built: privileges are keywords and cannot be quoted.
fn privilege_list(object_type: ObjectType, privileges: &[String]) -> Result<String, QuoteError> {
    let known = object_type.privileges();
    if let Some(unknown) = privileges.iter().find(|p| !known.contains(&p.as_str())) {
        return Err(QuoteError::NotAPrivilege {
            privilege: unknown.clone(),
            object_type: object_type.as_str(),
        });
    }
    Ok(if privileges.iter().any(|p| p == "ALL") {
        "ALL PRIVILEGES".to_owned()
    } else {
        privileges.join(", ")
    })
}

/// The statements that move memberships from `old` to `new`.
pub fn role_update_sql(old: &GrantTarget, new: &GrantTarget) -> Result<Vec<String>, QuoteError> {
    let mut statements = Vec::new();
    let removed: Vec<String> = old
        .objects
        .iter()
        .filter(|o| !new.objects.contains(o))
        .cloned()
        .collect();
    if !removed.is_empty() {
        let gone = GrantTarget {
            objects: removed,
            ..old.clone()
        };
        statements.push(gone.revoke_sql(&[])?);
    }
    if old.with_grant_option && !new.with_grant_option {
        let kept: Vec<String> = new
            .objects
            .iter()
            .filter(|o| old.objects.contains(o))
            .cloned()
            .collect();
        if !kept.is_empty() {
            let kept = GrantTarget {
                objects: kept,
                ..new.clone()
            };
            statements.push(kept.revoke_grant_option_sql(&[])?);
        }
    }
    statements.push(new.grant_sql(&[])?);
    Ok(statements)
}

/// The statements that move privileges from (`old`, `old_privileges`) to (`new`,
/// `new_privileges`) on a server of `version` (what `ALL` expands to).
pub fn privilege_update_sql(
    old: &GrantTarget,
    old_privileges: &[String],
    new: &GrantTarget,
    new_privileges: &[String],
    version: i32,
) -> Result<Vec<String>, QuoteError> {
    let mut statements = Vec::new();
    if old.objects != new.objects {
        // Other objects: take everything back from the old ones, then give on the new ones.
        statements.push(old.revoke_sql(old_privileges)?);
    } else {
        let expand = |privileges: &[String]| -> BTreeSet<String> {
            if privileges.iter().any(|p| p == "ALL") {
                old.object_type
                    .all_privileges(version)
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            } else {
                privileges.iter().cloned().collect()
            }
        };
        let kept = expand(new_privileges);
        let removed: Vec<String> = expand(old_privileges).difference(&kept).cloned().collect();
        if !removed.is_empty() {
            statements.push(old.revoke_sql(&removed)?);
        }
        if old.with_grant_option && !new.with_grant_option {
            statements.push(new.revoke_grant_option_sql(new_privileges)?);
        }
    }
    statements.push(new.grant_sql(new_privileges)?);
    Ok(statements)
}

/// The advisory lock every pgentra process takes around its GRANT/REVOKE statements.
const ACL_LOCK: i64 = 0x0070_6765_6e74_7261; // "pgentra" in ASCII

/// Runs GRANT/REVOKE statements under the in-process lock of `lock` (see
/// [`GrantTarget::lock_info`]) and, across processes, a transaction-scoped advisory lock, all
/// in one implicit transaction (one simple query); retries once when PostgreSQL still reports
/// "tuple concurrently updated" (a writer that is not pgentra changed the same ACL). With the
/// operation's `timeout`, waiting for either lock and the statements themselves stop there
/// (statement_timeout: the server rolls back).
pub async fn write_acl(
    session: &Session,
    lock: &ConnInfo,
    statements: &str,
    timeout: Option<Duration>,
) -> Result<(), SqlError> {
    let _held = acl_lock(lock, timeout).await?;
    write_acl_locked(session, statements, timeout).await
}

/// The in-process lock of [`write_acl`], for a caller that must read the ACLs and write them
/// with nothing changing them in between (a Grant checking that no other Grant holds what it
/// would take). Waiting for it stops at `timeout`.
pub async fn acl_lock(
    lock: &ConnInfo,
    timeout: Option<Duration>,
) -> Result<tokio::sync::OwnedMutexGuard<()>, SqlError> {
    let lock = pool::write_lock(lock);
    match timeout {
        Some(after) => tokio::time::timeout(after, lock.lock_owned())
            .await
            .map_err(|_| SqlError::TimedOut {
                what: "waiting for another Grant on the same objects",
                after,
            }),
        None => Ok(lock.lock_owned().await),
    }
}

/// [`write_acl`] for a caller that holds [`acl_lock`] already.
pub async fn write_acl_locked(
    session: &Session,
    statements: &str,
    timeout: Option<Duration>,
) -> Result<(), SqlError> {
    let limit = timeout
        .map(|t| format!("SET LOCAL statement_timeout = {};\n", t.as_millis().max(1)))
        .unwrap_or_default();
    let sql = format!("{limit}SELECT pg_advisory_xact_lock({ACL_LOCK});\n{statements}");
    let sql = sql.as_str();
    match session.execute(sql).await {
        Err(e)
            if e.code() == Some("XX000")
                && e.to_string().contains("tuple concurrently updated") =>
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
            session.execute(sql).await
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Check refuses these first, but a state or an ID can carry anything: the builder itself
    /// keeps a privilege that is not a keyword of the object type out of the SQL.
    #[test]
    fn a_privilege_from_tampered_data_never_reaches_sql() {
        let target = GrantTarget {
            role: "app".into(),
            database: "appdb".into(),
            object_type: ObjectType::Table,
            schema: Some("public".into()),
            objects: vec![],
            with_grant_option: false,
            default_privileges: false,
        };
        let injected =
            vec!["SELECT ON ALL TABLES IN SCHEMA public TO app; DROP TABLE t; --".to_owned()];
        for sql in [target.grant_sql(&injected), target.revoke_sql(&injected)] {
            assert!(
                matches!(
                    sql,
                    Err(QuoteError::NotAPrivilege {
                        object_type: "table",
                        ..
                    })
                ),
                "{sql:?}"
            );
        }
        assert!(
            target.grant_sql(&["CONNECT".to_owned()]).is_err(),
            "CONNECT is not a table privilege"
        );
        assert!(target
            .grant_sql(&["SELECT".to_owned(), "INSERT".to_owned()])
            .is_ok());
    }

    #[test]
    fn object_types_round_trip_their_names() {
        for name in ObjectType::NAMES {
            assert_eq!(ObjectType::parse(name).unwrap().as_str(), *name);
        }
        assert_eq!(ObjectType::parse("view"), None);
    }

    #[test]
    fn all_expands_per_server_version_and_maintain_arrives_with_17() {
        assert_eq!(
            ObjectType::Table.all_privileges(160000),
            [
                "DELETE",
                "INSERT",
                "REFERENCES",
                "SELECT",
                "TRIGGER",
                "TRUNCATE",
                "UPDATE"
            ]
        );
        assert!(ObjectType::Table
            .all_privileges(170000)
            .contains(&"MAINTAIN"));
        assert_eq!(
            ObjectType::Database.all_privileges(150000),
            ["CONNECT", "CREATE", "TEMPORARY"]
        );
        assert!(ObjectType::Role.all_privileges(i32::MAX).is_empty());
    }

    #[test]
    fn a_grant_may_list_every_known_privilege_then_all() {
        assert_eq!(
            ObjectType::Sequence.privileges(),
            ["USAGE", "SELECT", "UPDATE", "ALL"]
        );
        assert!(ObjectType::Role.privileges().is_empty());
    }
}
