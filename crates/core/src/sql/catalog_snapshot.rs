//! What the Reads of many Grants share, read once for all the Reads waiting on it. A refresh
//! reads every Grant at once (the engine keeps a dozen or more Reads in flight), and the roles,
//! their memberships, the database's ACL and the ACLs of one schema's tables are the same for
//! all of them: one catalog scan per scope answers every Read that was waiting when it began,
//! instead of one scan per Grant.
//!
//! Freshness: a Read takes only a scan that began after the Read itself did, so it sees every
//! change committed before it started, as a query of its own would, this process's own writes
//! included; nothing is kept past that, so no write has anything to invalidate. Scans of one
//! scope run one at a time: the Reads arriving while one runs wait for it to end and share the
//! next.

use crate::sql::grant::ObjectType;
use crate::sql::introspect::{default_acl_kind, relkinds, On, FUNCTION_KINDS};
use crate::sql::pool::Session;
use crate::sql::session::{ConnInfo, SqlError};
use crate::sql::sign_in::SignIn;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// The server-wide part: its version, its roles and their memberships.
#[derive(Debug, Default)]
pub struct ServerSnapshot {
    /// `server_version_num`, such as 150020.
    pub version: i32,
    roles: HashSet<String>,
    /// Member -> (role it is a member of, with the admin option).
    memberships: HashMap<String, Vec<(String, bool)>>,
}

impl ServerSnapshot {
    pub fn role_exists(&self, role: &str) -> bool {
        self.roles.contains(role)
    }

    /// Which of `roles` the role is a member of (with the admin option when `admin`).
    pub fn memberships(&self, role: &str, roles: &[String], admin: bool) -> BTreeSet<String> {
        self.memberships
            .get(role)
            .into_iter()
            .flatten()
            .filter(|(of, with_admin)| roles.contains(of) && (!admin || *with_admin))
            .map(|(of, _)| of.clone())
            .collect()
    }
}

/// One object's ACL, exploded: for each role, the privileges held and whether with the grant
/// option (the owner's implicit ones included).
#[derive(Debug, Default)]
struct ObjectAcl {
    /// The name a Grant lists it by (a function's name; its overloads are objects of their own).
    name: String,
    /// relkind, prokind or defaclobjtype.
    kind: String,
    held: HashMap<String, Vec<(String, bool)>>,
}

/// The ACLs of one scope (see [`Scope`]), by object.
#[derive(Debug, Default)]
pub struct AclSnapshot {
    objects: BTreeMap<String, ObjectAcl>,
}

impl AclSnapshot {
    /// The privileges `role` holds on every one of the objects `on` names (with the grant
    /// option when `grantable`); `None` when there is no object to read (no table in the
    /// schema yet). `on` must be in the scope this snapshot was read for ([`Scope::of`]).
    pub fn privileges_held(
        &self,
        role: &str,
        on: On<'_>,
        grantable: bool,
    ) -> Option<BTreeSet<String>> {
        let held_on = |acl: &ObjectAcl| -> BTreeSet<String> {
            acl.held
                .get(role)
                .into_iter()
                .flatten()
                .filter(|(_, with_option)| !grantable || *with_option)
                .map(|(privilege, _)| privilege.clone())
                .collect()
        };
        let objects: Vec<&ObjectAcl> = match on {
            On::Database => self.objects.values().collect(),
            On::Schema(schema) => self.objects.get(schema).into_iter().collect(),
            On::Defaults {
                object_type,
                schema,
            } => {
                // Default privileges are one entry or none: none holds nothing.
                let kind = default_acl_kind(object_type);
                let entry = self
                    .objects
                    .values()
                    .find(|acl| acl.name == schema && acl.kind == kind);
                return Some(entry.map(held_on).unwrap_or_default());
            }
            On::Objects {
                object_type, names, ..
            } => {
                let kinds = if object_type == ObjectType::Function {
                    FUNCTION_KINDS
                } else {
                    relkinds(object_type)
                };
                let found: Vec<&ObjectAcl> = self
                    .objects
                    .values()
                    .filter(|acl| kinds.contains(&acl.kind.as_str()))
                    .filter(|acl| names.is_empty() || names.contains(&acl.name))
                    .collect();
                // A named table or sequence that does not exist holds nothing.
                if object_type != ObjectType::Function
                    && names
                        .iter()
                        .any(|n| !found.iter().any(|acl| &acl.name == n))
                {
                    return Some(BTreeSet::new());
                }
                found
            }
        };
        let mut sets = objects.into_iter().map(held_on);
        let first = sets.next()?;
        Some(sets.fold(first, |every, next| {
            every.intersection(&next).cloned().collect()
        }))
    }
}

/// What one ACL scan reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The session's own database.
    Database,
    /// Every schema of the database.
    Schemas,
    /// The tables, views and sequences of one schema.
    Relations(String),
    /// The functions of one schema.
    Functions(String),
    /// The default privileges the session's user set, in every schema.
    Defaults,
}

impl Scope {
    /// The scope holding what `on` reads.
    pub fn of(on: On<'_>) -> Self {
        match on {
            On::Database => Self::Database,
            On::Schema(_) => Self::Schemas,
            On::Defaults { .. } => Self::Defaults,
            On::Objects {
                object_type: ObjectType::Function,
                schema,
                ..
            } => Self::Functions(schema.to_owned()),
            On::Objects { schema, .. } => Self::Relations(schema.to_owned()),
        }
    }

    /// The scan: rows of (object, name, kind, grantee, privilege, grantable); an object with
    /// no privilege for anyone comes once with NULLs, so it still counts as there.
    fn query(&self) -> &'static str {
        match self {
            Self::Database => {
                "SELECT d.datname::text, d.datname::text, 'd', r.rolname::text, a.privilege_type, a.is_grantable \
                 FROM pg_catalog.pg_database d \
                 LEFT JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a ON true \
                 LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee \
                 WHERE d.datname = current_database()"
            }
            Self::Schemas => {
                "SELECT n.nspname::text, n.nspname::text, 'n', r.rolname::text, a.privilege_type, a.is_grantable \
                 FROM pg_catalog.pg_namespace n \
                 LEFT JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a ON true \
                 LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee"
            }
            Self::Relations(_) => {
                "SELECT c.relname::text, c.relname::text, c.relkind::text, r.rolname::text, a.privilege_type, a.is_grantable \
                 FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 LEFT JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner))) a ON true \
                 LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee \
                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')"
            }
            Self::Functions(_) => {
                "SELECT p.oid::regprocedure::text, p.proname::text, p.prokind::text, r.rolname::text, a.privilege_type, a.is_grantable \
                 FROM pg_catalog.pg_proc p \
                 JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
                 LEFT JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a ON true \
                 LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee \
                 WHERE n.nspname = $1"
            }
            Self::Defaults => {
                "SELECT n.nspname::text || '.' || d.defaclobjtype::text, n.nspname::text, d.defaclobjtype::text, \
                        r.rolname::text, a.privilege_type, a.is_grantable \
                 FROM pg_catalog.pg_default_acl d \
                 JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace \
                 LEFT JOIN LATERAL aclexplode(d.defaclacl) a ON true \
                 LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee \
                 WHERE d.defaclrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)"
            }
        }
    }

    async fn scan(&self, session: &Session) -> Result<AclSnapshot, SqlError> {
        let rows = match self {
            Self::Relations(schema) | Self::Functions(schema) => {
                session.query(self.query(), &[schema]).await?
            }
            _ => session.query(self.query(), &[]).await?,
        };
        let mut snapshot = AclSnapshot::default();
        for row in rows {
            let acl = snapshot
                .objects
                .entry(row.get(0))
                .or_insert_with(|| ObjectAcl {
                    name: row.get(1),
                    kind: row.get(2),
                    held: HashMap::new(),
                });
            // PUBLIC (grantee 0) has no role row: a Grant's role is never PUBLIC.
            let (Some(grantee), Some(privilege)) = (
                row.get::<_, Option<String>>(3),
                row.get::<_, Option<String>>(4),
            ) else {
                continue;
            };
            let grantable = row.get::<_, Option<bool>>(5).unwrap_or(false);
            acl.held
                .entry(grantee)
                .or_default()
                .push((privilege, grantable));
        }
        Ok(snapshot)
    }
}

/// The server's version, roles and memberships, as a scan that began after `since` read them.
pub async fn server(
    sign_in: &SignIn,
    info: &ConnInfo,
    since: Instant,
) -> Result<Arc<ServerSnapshot>, SqlError> {
    static SCANS: OnceLock<Scans<ConnInfo, ServerSnapshot>> = OnceLock::new();
    let scans = SCANS.get_or_init(Scans::default);
    scans
        .newer_than(info.clone(), since, || async {
            let session = sign_in.session(info).await?;
            read_server(&session).await
        })
        .await
}

/// The ACLs of `scope`, as a scan that began after `since` read them.
pub async fn acls(
    sign_in: &SignIn,
    info: &ConnInfo,
    scope: Scope,
    since: Instant,
) -> Result<Arc<AclSnapshot>, SqlError> {
    static SCANS: OnceLock<Scans<(ConnInfo, Scope), AclSnapshot>> = OnceLock::new();
    let scans = SCANS.get_or_init(Scans::default);
    let key = (info.clone(), scope.clone());
    scans
        .newer_than(key, since, || async {
            let session = sign_in.session(info).await?;
            scope.scan(&session).await
        })
        .await
}

async fn read_server(session: &Session) -> Result<ServerSnapshot, SqlError> {
    // Three queries sent together on one session: one round trip.
    let (version, roles, memberships) = tokio::try_join!(
        session.query("SELECT current_setting('server_version_num')::int", &[]),
        session.query("SELECT rolname::text FROM pg_catalog.pg_roles", &[]),
        session.query(
            "SELECT member.rolname::text, r.rolname::text, m.admin_option \
             FROM pg_catalog.pg_auth_members m \
             JOIN pg_catalog.pg_roles r ON r.oid = m.roleid \
             JOIN pg_catalog.pg_roles member ON member.oid = m.member",
            &[],
        ),
    )?;
    let mut snapshot = ServerSnapshot {
        version: version.first().map(|r| r.get(0)).unwrap_or(0),
        roles: roles.iter().map(|r| r.get(0)).collect(),
        memberships: HashMap::new(),
    };
    for row in memberships {
        snapshot
            .memberships
            .entry(row.get(0))
            .or_default()
            .push((row.get(1), row.get(2)));
    }
    Ok(snapshot)
}

/// The newest scan of each key, and one lock per key that its scans take in turn.
struct Scans<K, V> {
    #[allow(clippy::type_complexity)]
    keys: Mutex<HashMap<K, Arc<tokio::sync::Mutex<Option<(Instant, Arc<V>)>>>>>,
}

impl<K, V> Default for Scans<K, V> {
    fn default() -> Self {
        Self {
            keys: Mutex::default(),
        }
    }
}

impl<K: std::hash::Hash + Eq, V> Scans<K, V> {
    /// The newest scan of `key` if it began at or after `since`, else a new one by `scan`
    /// (after the one running now, if any, ends).
    async fn newer_than<F, Fut>(&self, key: K, since: Instant, scan: F) -> Result<Arc<V>, SqlError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V, SqlError>>,
    {
        let slot = self.keys.lock().unwrap().entry(key).or_default().clone();
        let mut newest = slot.lock().await;
        if let Some((began, snapshot)) = newest.as_ref() {
            if *began >= since {
                return Ok(snapshot.clone());
            }
        }
        let began = Instant::now();
        let snapshot = Arc::new(scan().await?);
        *newest = Some((began, snapshot.clone()));
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(name: &str, kind: &str, held: &[(&str, &str, bool)]) -> ObjectAcl {
        let mut acl = ObjectAcl {
            name: name.into(),
            kind: kind.into(),
            held: HashMap::new(),
        };
        for (role, privilege, grantable) in held {
            acl.held
                .entry(role.to_string())
                .or_default()
                .push((privilege.to_string(), *grantable));
        }
        acl
    }

    fn tables() -> AclSnapshot {
        let mut snapshot = AclSnapshot::default();
        for (name, kind, held) in [
            (
                "orders",
                "r",
                vec![("app", "SELECT", true), ("app", "INSERT", false)],
            ),
            ("lines", "r", vec![("app", "SELECT", false)]),
            ("orders_id_seq", "S", vec![("app", "USAGE", false)]),
        ] {
            snapshot.objects.insert(name.into(), acl(name, kind, &held));
        }
        snapshot
    }

    fn on<'a>(object_type: ObjectType, names: &'a [String]) -> On<'a> {
        On::Objects {
            object_type,
            schema: "public",
            names,
        }
    }

    #[test]
    fn all_tables_hold_what_every_table_holds_and_sequences_are_apart() {
        let snapshot = tables();
        let every = snapshot.privileges_held("app", on(ObjectType::Table, &[]), false);
        assert_eq!(every, Some(BTreeSet::from(["SELECT".to_owned()])));
        let sequences = snapshot.privileges_held("app", on(ObjectType::Sequence, &[]), false);
        assert_eq!(sequences, Some(BTreeSet::from(["USAGE".to_owned()])));
        assert_eq!(
            snapshot.privileges_held("other", on(ObjectType::Table, &[]), false),
            Some(BTreeSet::new())
        );
    }

    #[test]
    fn named_objects_the_grant_option_and_missing_objects() {
        let snapshot = tables();
        let orders = ["orders".to_owned()];
        assert_eq!(
            snapshot.privileges_held("app", on(ObjectType::Table, &orders), true),
            Some(BTreeSet::from(["SELECT".to_owned()]))
        );
        let gone = ["orders".to_owned(), "dropped".to_owned()];
        assert_eq!(
            snapshot.privileges_held("app", on(ObjectType::Table, &gone), false),
            Some(BTreeSet::new())
        );
        let empty = AclSnapshot::default();
        assert_eq!(
            empty.privileges_held("app", on(ObjectType::Table, &[]), false),
            None,
            "no table in the schema yet: nothing to read"
        );
    }

    #[test]
    fn default_privileges_are_one_entry_per_schema_and_kind_or_none() {
        let mut snapshot = AclSnapshot::default();
        snapshot.objects.insert(
            "public.r".into(),
            acl("public", "r", &[("app", "SELECT", false)]),
        );
        let defaults = |object_type| On::Defaults {
            object_type,
            schema: "public",
        };
        assert_eq!(
            snapshot.privileges_held("app", defaults(ObjectType::Table), false),
            Some(BTreeSet::from(["SELECT".to_owned()]))
        );
        assert_eq!(
            snapshot.privileges_held("app", defaults(ObjectType::Sequence), false),
            Some(BTreeSet::new())
        );
    }

    #[tokio::test]
    async fn a_read_shares_only_a_scan_that_began_after_it() {
        let scans: Scans<&str, u32> = Scans::default();
        let key = || "public";
        let before = Instant::now();
        let first = scans
            .newer_than(key(), before, || async { Ok(1) })
            .await
            .unwrap();
        // Began after `before`: shared.
        let shared = scans
            .newer_than(key(), before, || async { Ok(2) })
            .await
            .unwrap();
        assert_eq!((*first, *shared), (1, 1));
        // A read that started after that scan began gets a scan of its own.
        let later = Instant::now();
        let fresh = scans
            .newer_than(key(), later, || async { Ok(3) })
            .await
            .unwrap();
        assert_eq!(*fresh, 3);
    }

    #[tokio::test]
    async fn reads_arriving_during_a_scan_share_the_next_one() {
        let scans: Arc<Scans<&str, u32>> = Arc::new(Scans::default());
        let key = || "public";
        let (release, hold) = tokio::sync::oneshot::channel::<()>();
        let running = {
            let scans = scans.clone();
            tokio::spawn(async move {
                scans
                    .newer_than(key(), Instant::now(), || async {
                        hold.await.ok();
                        Ok(1)
                    })
                    .await
            })
        };
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let counted = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let waiting: Vec<_> = (0..8)
            .map(|_| {
                let (scans, counted) = (scans.clone(), counted.clone());
                let since = Instant::now();
                tokio::spawn(async move {
                    scans
                        .newer_than(key(), since, || async move {
                            Ok(10 + counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        release.send(()).unwrap();
        assert_eq!(*running.await.unwrap().unwrap(), 1);
        for read in waiting {
            assert_eq!(
                *read.await.unwrap(),
                10,
                "one scan for all the waiting reads"
            );
        }
        assert_eq!(counted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
