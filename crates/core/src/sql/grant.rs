//! GRANT and REVOKE: what each object type takes (the privilege table), the statements that
//! give and take back privileges or role memberships, and running them safely next to other
//! writers of the same ACLs. Every name goes through [`crate::sql::quote`].

use crate::sql::introspect::{self, On};
use crate::sql::pool::Session;
use crate::sql::quote::{ident, literal, qualified, QuoteError};
use crate::sql::session::{ConnInfo, SqlError};
use crate::sql::signature::{function_name, Signature};
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

/// The grantee that stands for every role, present and future: PostgreSQL's PUBLIC. A Grant's
/// `role` is exactly this text to mean it; no role of that name can be a Grant's role.
pub const PUBLIC: &str = "PUBLIC";

/// What a Grant is on and for whom: everything its statements are made of but the privileges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantTarget {
    /// The grantee: a role's name, or [`PUBLIC`].
    pub role: String,
    pub database: String,
    pub object_type: ObjectType,
    pub schema: Option<String>,
    /// Tables, sequences or functions by name (a function may carry its argument types, as
    /// [`Signature`] reads them), or the roles granted for `Role`.
    pub objects: Vec<String>,
    pub with_grant_option: bool,
    pub default_privileges: bool,
    /// Whose future objects default privileges are for (FOR ROLE); None: the session's user.
    pub default_privileges_owner: Option<String>,
    /// The Grant takes its privileges away instead of giving them (see [`Self::apply_sql`]).
    pub revoke: bool,
}

impl GrantTarget {
    pub fn is_public(&self) -> bool {
        self.role == PUBLIC
    }

    /// The grantee as SQL: the keyword PUBLIC for [`PUBLIC`], else the quoted role. A role
    /// named `public` is refused: PostgreSQL would read even `"public"` as PUBLIC.
    fn grantee(&self) -> Result<String, QuoteError> {
        if self.is_public() {
            return Ok(PUBLIC.to_owned());
        }
        if self.role == "public" {
            return Err(QuoteError::PublicAsRoleName);
        }
        ident(&self.role)
    }

    /// What a create runs: the GRANT, or for a revoking Grant the REVOKE.
    pub fn apply_sql(&self, privileges: &[String]) -> Result<String, QuoteError> {
        if self.revoke {
            self.revoke_sql(privileges)
        } else {
            self.grant_sql(privileges)
        }
    }

    /// What a delete runs: the REVOKE; nothing for a revoking Grant, which leaves the
    /// privileges revoked (it never knew whether they were held before it).
    pub fn undo_sql(&self, privileges: &[String]) -> Result<Option<String>, QuoteError> {
        if self.revoke {
            Ok(None)
        } else {
            self.revoke_sql(privileges).map(Some)
        }
    }

    /// The statement that grants `privileges` (for `Role`, the memberships in objects).
    pub fn grant_sql(&self, privileges: &[String]) -> Result<String, QuoteError> {
        let role = self.grantee()?;
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
        let role = self.grantee()?;
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

    /// Where the privileges are held, for reading them back.
    pub fn on(&self) -> On<'_> {
        let schema = self.schema.as_deref().unwrap_or_default();
        match self.object_type {
            ObjectType::Database => On::Database,
            ObjectType::Schema => On::Schema(schema),
            object_type if self.default_privileges => On::Defaults {
                object_type,
                schema,
                owner: self.default_privileges_owner.as_deref(),
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
        let for_role = match &self.default_privileges_owner {
            Some(owner) => format!(" FOR ROLE {}", ident(owner)?),
            None => String::new(),
        };
        Ok(format!(
            "ALTER DEFAULT PRIVILEGES{for_role} IN SCHEMA {}",
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
                    .map(|o| object_sql(kind, schema, o))
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

/// One named object, schema-qualified and quoted; a function with its argument types when the
/// name carries them (a signature that does not parse never reaches SQL).
pub fn object_sql(
    object_type: ObjectType,
    schema: &str,
    object: &str,
) -> Result<String, QuoteError> {
    if object_type == ObjectType::Function {
        if let Ok(Some(signature)) = Signature::parse(object) {
            return signature.sql(schema);
        }
        if object.contains('(') {
            return Err(QuoteError::NotASignature(object.to_owned()));
        }
    }
    qualified(schema, object)
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

/// An advisory lock a write of ACLs takes first, in the write's own transaction: exclusive on
/// what the statements update (the catalog row of one object, one schema's default ACL, one
/// role's memberships), shared on the whole a named object belongs to (its schema's tables,
/// sequences or functions), so that `GRANT ... ON ALL TABLES IN SCHEMA` and a GRANT on one of
/// those tables wait for each other, while Grants on different objects run side by side. Two
/// statements updating one catalog row at once would fail with "tuple concurrently updated".
///
/// Keys are hashes of names, not OIDs, so taking them reads no catalog (the write's first
/// catalog read then happens under the lock, seeing every change committed before it). A
/// collision only makes two writes wait for each other. Advisory locks belong to one database;
/// every write runs in the database its ACLs are in (memberships: the connection's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AclLock {
    key: i64,
    shared: bool,
}

impl AclLock {
    fn exclusive(parts: &[&str]) -> Self {
        Self {
            key: lock_key(parts),
            shared: false,
        }
    }

    fn shared(parts: &[&str]) -> Self {
        Self {
            key: lock_key(parts),
            shared: true,
        }
    }
}

/// FNV-1a (64 bits) of the parts, each ended by a NUL (which no name holds): stable across
/// processes and pgentra versions, as keys shared by every writer must be.
fn lock_key(parts: &[&str]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in "pgentra".bytes().chain([0]).chain(
        parts
            .iter()
            .flat_map(|part| part.bytes().chain(std::iter::once(0))),
    ) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash as i64
}

impl GrantTarget {
    /// The locks a write of this target's ACLs takes (see [`AclLock`]).
    pub fn acl_locks(&self) -> Vec<AclLock> {
        let schema = self.schema.as_deref().unwrap_or_default();
        match self.object_type {
            ObjectType::Database => vec![AclLock::exclusive(&["database", &self.database])],
            ObjectType::Schema => vec![AclLock::exclusive(&["schema", schema])],
            // A membership is a row of its own, but PostgreSQL refuses cycles by reading the
            // others: both roles of each membership are locked, so A-in-B and B-in-A never
            // pass that check side by side.
            ObjectType::Role => std::iter::once(&self.role)
                .chain(&self.objects)
                .map(|role| AclLock::exclusive(&["memberships", role]))
                .collect(),
            // One key for every owner's default ACL of the schema and kind: the session's user
            // (no owner named) may be the owner another Grant names, and both update one row.
            kind if self.default_privileges => {
                vec![AclLock::exclusive(&["default acl", schema, kind.as_str()])]
            }
            kind => {
                let all = ["all in schema", schema, kind.plural()];
                if self.objects.is_empty() {
                    return vec![AclLock::exclusive(&all)];
                }
                // Tables and sequences share pg_class (GRANT ON TABLE takes a sequence too).
                let catalog = if kind == ObjectType::Function {
                    "function"
                } else {
                    "relation"
                };
                std::iter::once(AclLock::shared(&all))
                    .chain(
                        self.objects
                            .iter()
                            // A function by name: every overload shares its lock, so two
                            // spellings of one signature (int4, integer) never pass each other.
                            .map(|object| {
                                let name = if kind == ObjectType::Function {
                                    function_name(object)
                                } else {
                                    object
                                };
                                AclLock::exclusive(&[catalog, schema, name])
                            }),
                    )
                    .collect()
            }
        }
    }
}

/// The statement taking `locks` in one order every writer shares (ascending key, exclusive
/// winning over shared for one key), so two writes never wait for each other in a cycle.
pub fn lock_statement(locks: &[AclLock]) -> Option<String> {
    let mut locks = locks.to_vec();
    locks.sort();
    // Sorted by (key, shared): an exclusive entry comes first and a shared one of its key goes.
    locks.dedup_by_key(|lock| lock.key);
    let calls: Vec<String> = locks
        .iter()
        .map(|lock| {
            let function = if lock.shared {
                "pg_advisory_xact_lock_shared"
            } else {
                "pg_advisory_xact_lock"
            };
            format!("pg_catalog.{function}({})", lock.key)
        })
        .collect();
    (!calls.is_empty()).then(|| format!("SELECT {}", calls.join(", ")))
}

/// What a write must not take over: privileges (or memberships) the role already holds on the
/// target's objects. The check runs in the write's transaction, after its locks, so two
/// overlapping Grants created at the same instant by any two processes cannot both pass it.
pub struct HeldCheck<'a> {
    pub target: &'a GrantTarget,
    /// The privileges the write gives (`ALL`: any the role holds is taken over); empty for
    /// memberships (the roles in the target's objects).
    pub privileges: &'a [String],
}

/// SQLSTATE the check raises: a code of pgentra's own, which nothing else raises.
const ALREADY_HELD: &str = "PGH01";

impl HeldCheck<'_> {
    /// A DO block that raises [`ALREADY_HELD`] with what is held in its DETAIL. Every value in
    /// it is a literal from [`crate::sql::quote`], and the block itself is quoted as one.
    fn statement(&self) -> Result<String, QuoteError> {
        let target = self.target;
        let rows = if target.object_type == ObjectType::Role {
            introspect::membership_rows_sql(&target.role, &target.objects)?
        } else {
            introspect::privilege_rows_sql(&target.role, target.on())?
        };
        let only_wanted = if target.object_type == ObjectType::Role
            || self.privileges.iter().any(|p| p == "ALL")
        {
            String::new()
        } else {
            // Checked against the object type's table, as every privilege reaching SQL is.
            privilege_list(target.object_type, self.privileges)?;
            let wanted = self
                .privileges
                .iter()
                .map(|p| literal(p))
                .collect::<Result<Vec<_>, _>>()?;
            format!(" WHERE held.privilege = ANY (ARRAY[{}])", wanted.join(", "))
        };
        let body = format!(
            "DECLARE found text; BEGIN              SELECT string_agg(DISTINCT held.privilege, ', ' ORDER BY held.privilege) INTO found              FROM ({rows}) held{only_wanted};              IF found IS NOT NULL THEN              RAISE EXCEPTION 'the role already holds what this Grant would take'              USING ERRCODE = '{ALREADY_HELD}', DETAIL = found;              END IF; END"
        );
        Ok(format!("DO {}", literal(&body)?))
    }

    /// What the DETAIL says is held, kept to what the check asked about (so nothing but
    /// privilege keywords or the target's own role names reaches a message).
    fn held_of(&self, detail: &str) -> Vec<String> {
        let asked: Vec<&str> = if self.target.object_type == ObjectType::Role {
            self.target.objects.iter().map(String::as_str).collect()
        } else {
            self.target.object_type.privileges()
        };
        let held: Vec<String> = detail
            .split(", ")
            .filter(|item| asked.contains(item))
            .map(str::to_owned)
            .collect();
        if held.is_empty() {
            vec!["some of them".to_owned()]
        } else {
            held
        }
    }
}

/// How a write of ACLs ended.
#[derive(Debug, PartialEq, Eq)]
pub enum AclWrite {
    Written,
    /// The [`HeldCheck`] found these held: nothing was written.
    AlreadyHeld(Vec<String>),
}

/// Runs GRANT/REVOKE `statements` in one implicit transaction (one simple query, one round
/// trip): the operation's `timeout` as statement_timeout (the server rolls back when it runs
/// out, lock waits included), the `locks`, the `check` when given, then the statements.
/// Retries once when PostgreSQL still reports "tuple concurrently updated" (a writer that is
/// not pgentra changed the same ACL).
pub async fn write_acl(
    session: &Session,
    locks: &[AclLock],
    check: Option<&HeldCheck<'_>>,
    statements: &str,
    timeout: Option<Duration>,
) -> Result<AclWrite, SqlError> {
    let mut sql = String::new();
    if let Some(limit) = timeout {
        sql += &format!(
            "SET LOCAL statement_timeout = {};\n",
            limit.as_millis().clamp(1, i32::MAX as u128)
        );
    }
    if let Some(lock) = lock_statement(locks) {
        sql += &lock;
        sql += ";\n";
    }
    if let Some(check) = check {
        sql += &check.statement()?;
        sql += ";\n";
    }
    sql += statements;
    let mut retried = false;
    loop {
        let error = match session.client().batch_execute(&sql).await {
            Ok(()) => return Ok(AclWrite::Written),
            Err(error) => error,
        };
        let db = error.as_db_error();
        if let (Some(check), Some(db)) = (check, db) {
            if db.code().code() == ALREADY_HELD {
                return Ok(AclWrite::AlreadyHeld(
                    check.held_of(db.detail().unwrap_or_default()),
                ));
            }
        }
        let concurrent = db.is_some_and(|db| {
            db.code().code() == "XX000" && db.message().contains("tuple concurrently updated")
        });
        if concurrent && !retried {
            retried = true;
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        // The statements as the user wrote them: the locks and the check are pgentra's own.
        return Err(SqlError::statement(statements, error));
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
            default_privileges_owner: None,
            revoke: false,
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

    /// The keys are shared by every pgentra process, of any version, and by the tests that
    /// play one (tests/conformance/harness.py `acl_lock_key`): they must never change.
    #[test]
    fn lock_keys_are_stable() {
        assert_eq!(lock_key(&["schema", "public"]), 4044806345148704512);
        assert_eq!(lock_key(&["database", "myappdb"]), -5923557304784845994);
    }

    #[test]
    fn a_named_table_shares_its_schema_key_with_all_tables_and_locks_itself_alone() {
        let target = |objects: &[&str]| GrantTarget {
            role: "app".into(),
            database: "appdb".into(),
            object_type: ObjectType::Table,
            schema: Some("public".into()),
            objects: objects.iter().map(|o| o.to_string()).collect(),
            with_grant_option: false,
            default_privileges: false,
            default_privileges_owner: None,
            revoke: false,
        };
        let all = target(&[]).acl_locks();
        let orders = target(&["orders"]).acl_locks();
        let items = target(&["items"]).acl_locks();
        assert_eq!(all.len(), 1);
        assert!(!all[0].shared);
        assert!(orders.iter().any(|l| l.shared && l.key == all[0].key));
        let own = |locks: &[AclLock]| locks.iter().find(|l| !l.shared).unwrap().key;
        assert_ne!(own(&orders), own(&items));
        let sql = lock_statement(&[orders, all.clone()].concat()).unwrap();
        assert!(
            !sql.contains("lock_shared"),
            "exclusive wins over shared for one key: {sql}"
        );
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
