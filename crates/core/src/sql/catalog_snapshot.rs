//! What the Reads of many Grants share, read once for all the Reads waiting on it. A refresh
//! reads every Grant at once (the engine keeps a dozen or more Reads in flight), and they read
//! the same catalogs: the roles and their memberships, the database's ACL, the ACLs of one
//! schema's tables. One scan per scope (a [`Wave`]) answers every Read waiting for it, for the
//! roles those Reads ask about, in one round trip instead of one per Grant. A Read of named
//! tables or sequences asks for exactly those (role, object) pairs, found by OID, so a wave's
//! work grows with what its Reads name, not with the size of the schema.
//!
//! Freshness: a Read joins only a wave whose scan has not begun, so it sees every change
//! committed before it started, as a query of its own would, this process's own writes
//! included; nothing is kept after the wave, so no write has anything to invalidate. Waves of
//! one scope run one at a time: the Reads arriving while one scans form the next.

use crate::sql::grant::ObjectType;
use crate::sql::introspect::{default_acl_kind, relkinds, On, FUNCTION_KINDS};
use crate::sql::pool::Session;
use crate::sql::quote::qualified;
use crate::sql::session::{ConnInfo, SqlError};
use crate::sql::sign_in::SignIn;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use tokio_postgres::types::Type;

/// The server-wide part: its version, and of the roles asked about, which exist and their
/// memberships.
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

/// The ACLs of one scope (see [`Scope`]), by object, for the roles asked about (every object of
/// the scope is there, holding nothing for a role that holds nothing on it).
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
                ..
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
    /// The default privileges for one owner's future objects (None: the session's user), in
    /// every schema.
    Defaults(Option<String>),
}

impl Scope {
    /// The scope holding what `on` reads.
    pub fn of(on: On<'_>) -> Self {
        match on {
            On::Database => Self::Database,
            On::Schema(_) => Self::Schemas,
            On::Defaults { owner, .. } => Self::Defaults(owner.map(str::to_owned)),
            On::Objects {
                object_type: ObjectType::Function,
                schema,
                ..
            } => Self::Functions(schema.to_owned()),
            On::Objects { schema, .. } => Self::Relations(schema.to_owned()),
        }
    }

    /// The scan: rows of (object, name, kind, grantee, privilege, grantable) for the grantees
    /// in `$1`; an object where none of them holds anything comes once with NULLs, so it still
    /// counts as there.
    fn query(&self) -> String {
        // What each grantee of the roles asked about holds on one object's ACL.
        let held = |acl: &str| {
            format!(
                // PUBLIC is grantee 0 (no role row), reported as PUBLIC; a role that is really
                // named PUBLIC is never a Grant's role, so it is left out.
                "LEFT JOIN LATERAL (SELECT coalesce(r.rolname::text, 'PUBLIC'), a.privilege_type, a.is_grantable \
                   FROM aclexplode({acl}) a LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee \
                   WHERE CASE WHEN a.grantee = 0 THEN 'PUBLIC' = ANY($1) \
                              ELSE r.rolname = ANY($1) AND r.rolname <> 'PUBLIC' END) x ON true"
            )
        };
        match self {
            Self::Database => format!(
                "SELECT d.datname::text, d.datname::text, 'd', x.* FROM pg_catalog.pg_database d {} \
                 WHERE d.datname = current_database()",
                held("coalesce(d.datacl, acldefault('d', d.datdba))")
            ),
            Self::Schemas => format!(
                "SELECT n.nspname::text, n.nspname::text, 'n', x.* FROM pg_catalog.pg_namespace n {}",
                held("coalesce(n.nspacl, acldefault('n', n.nspowner))")
            ),
            Self::Relations(_) => format!(
                "SELECT c.relname::text, c.relname::text, c.relkind::text, x.* \
                 FROM pg_catalog.pg_class c {} \
                 WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $2) \
                   AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')",
                held("coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner))")
            ),
            Self::Functions(_) => format!(
                "SELECT p.oid::regprocedure::text, p.proname::text, p.prokind::text, x.* \
                 FROM pg_catalog.pg_proc p {} \
                 WHERE p.pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $2)",
                held("coalesce(p.proacl, acldefault('f', p.proowner))")
            ),
            Self::Defaults(_) => format!(
                "SELECT n.nspname::text || '.' || d.defaclobjtype::text, n.nspname::text, d.defaclobjtype::text, x.* \
                 FROM pg_catalog.pg_default_acl d \
                 JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace {} \
                 WHERE d.defaclrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = coalesce($2, current_user::text))",
                held("d.defaclacl")
            ),
        }
    }

    /// The scan of what `asks` want: every object of the scope for the roles asking for all of
    /// it, and the named relations, by OID, for the (role, relation) pairs that name one; both
    /// queries go out together on one session (one round trip).
    async fn scan(&self, session: &Session, asks: &Asks) -> Result<AclSnapshot, SqlError> {
        let (whole, named) = asks.split();
        let whole_rows = async {
            if whole.is_empty() {
                return Ok(vec![]);
            }
            let query = self.query();
            match self {
                Self::Relations(schema) | Self::Functions(schema) => {
                    session
                        .query_typed(&query, &[(&whole, Type::TEXT_ARRAY), (schema, Type::TEXT)])
                        .await
                }
                Self::Defaults(owner) => {
                    session
                        .query_typed(&query, &[(&whole, Type::TEXT_ARRAY), (owner, Type::TEXT)])
                        .await
                }
                _ => {
                    session
                        .query_typed(&query, &[(&whole, Type::TEXT_ARRAY)])
                        .await
                }
            }
        };
        let named_rows = async {
            if named.0.is_empty() {
                return Ok(vec![]);
            }
            session
                .query_typed(
                    NAMED_RELATIONS,
                    &[(&named.0, Type::TEXT_ARRAY), (&named.1, Type::TEXT_ARRAY)],
                )
                .await
        };
        let (whole_rows, named_rows) = tokio::try_join!(whole_rows, named_rows)?;
        let mut snapshot = AclSnapshot::default();
        for row in whole_rows.into_iter().chain(named_rows) {
            let acl = snapshot
                .objects
                .entry(row.get(0))
                .or_insert_with(|| ObjectAcl {
                    name: row.get(1),
                    kind: row.get(2),
                    held: HashMap::new(),
                });
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

/// What the (role, relation) pairs of `$1` and `$2` hold, the relations found by OID from their
/// quoted qualified names (an index lookup each, however big the schema): rows shaped like
/// [`Scope::query`]'s, one with NULLs where the role holds nothing, none for a relation that
/// does not exist. The role's OID is found once per pair, not once per ACL entry; `PUBLIC` is
/// grantee 0 (a role really named so is never a Grant's role).
const NAMED_RELATIONS: &str = "SELECT c.relname::text, c.relname::text, c.relkind::text, ask.role, x.* \
     FROM unnest($1::text[], $2::text[]) AS ask(role, object) \
     JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(ask.object) \
     LEFT JOIN pg_catalog.pg_roles r ON r.rolname = ask.role AND ask.role <> 'PUBLIC' \
     LEFT JOIN LATERAL (SELECT a.privilege_type, a.is_grantable \
       FROM aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner))) a \
       WHERE a.grantee = CASE WHEN ask.role = 'PUBLIC' THEN 0::oid ELSE r.oid END) x ON true \
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')";

/// What the Reads of one ACL wave ask for: a role and, for named tables or sequences, one of
/// them (its quoted qualified name); no object means everything of the scope.
#[derive(Debug, Default)]
pub struct Asks(BTreeSet<(String, Option<String>)>);

impl Asks {
    /// What a Read of `role` on `on` asks for.
    fn add(&mut self, role: &str, on: On<'_>) -> Result<(), SqlError> {
        match on {
            On::Objects {
                object_type,
                schema,
                names,
            } if object_type != ObjectType::Function && !names.is_empty() => {
                for name in names {
                    self.0
                        .insert((role.to_owned(), Some(qualified(schema, name)?)));
                }
            }
            _ => {
                self.0.insert((role.to_owned(), None));
            }
        }
        Ok(())
    }

    /// The roles asking for the whole scope, and the (roles, objects) of the named pairs.
    fn split(&self) -> (Vec<String>, (Vec<String>, Vec<String>)) {
        let mut whole = vec![];
        let mut named = (vec![], vec![]);
        for (role, object) in &self.0 {
            match object {
                None => whole.push(role.clone()),
                Some(object) => {
                    named.0.push(role.clone());
                    named.1.push(object.clone());
                }
            }
        }
        (whole, named)
    }
}

/// The server's version, and whether `role` exists and its memberships, from a scan that
/// began after this call.
pub async fn server(
    sign_in: &SignIn,
    info: &ConnInfo,
    role: &str,
) -> Result<Arc<ServerSnapshot>, SqlError> {
    static SCANS: OnceLock<Scans<ConnInfo, BTreeSet<String>, ServerSnapshot>> = OnceLock::new();
    let scans = SCANS.get_or_init(Scans::default);
    let ask = |roles: &mut BTreeSet<String>| {
        roles.insert(role.to_owned());
        Ok(())
    };
    scans
        .join(info.clone(), ask, |roles| async move {
            let session = sign_in.session(info).await?;
            let roles: Vec<String> = roles.into_iter().collect();
            read_server(&session, &roles).await
        })
        .await
}

/// What `role` holds on `on` can be read from the snapshot this returns (its scope's, from a
/// scan that began after this call).
pub async fn acls(
    sign_in: &SignIn,
    info: &ConnInfo,
    on: On<'_>,
    role: &str,
) -> Result<Arc<AclSnapshot>, SqlError> {
    static SCANS: OnceLock<Scans<(ConnInfo, Scope), Asks, AclSnapshot>> = OnceLock::new();
    let scans = SCANS.get_or_init(Scans::default);
    let scope = Scope::of(on);
    let key = (info.clone(), scope.clone());
    scans
        .join(
            key,
            |asks: &mut Asks| asks.add(role, on),
            |asks| async move {
                let session = sign_in.session(info).await?;
                scope.scan(&session, &asks).await
            },
        )
        .await
}

async fn read_server(session: &Session, roles: &[String]) -> Result<ServerSnapshot, SqlError> {
    // Three queries sent together on one session: one round trip.
    let roles: [(&(dyn tokio_postgres::types::ToSql + Sync), Type); 1] =
        [(&roles, Type::TEXT_ARRAY)];
    let (version, found, memberships) = tokio::try_join!(
        session.query_typed("SELECT current_setting('server_version_num')::int", &[]),
        session.query_typed(
            "SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY($1)",
            &roles
        ),
        session.query_typed(
            "SELECT member.rolname::text, r.rolname::text, m.admin_option \
             FROM pg_catalog.pg_auth_members m \
             JOIN pg_catalog.pg_roles r ON r.oid = m.roleid \
             JOIN pg_catalog.pg_roles member ON member.oid = m.member \
             WHERE member.rolname = ANY($1)",
            &roles,
        ),
    )?;
    let mut snapshot = ServerSnapshot {
        version: version.first().map(|r| r.get(0)).unwrap_or(0),
        roles: found.iter().map(|r| r.get(0)).collect(),
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

/// One scan and the Reads sharing it: what they ask for (`A`), gathered until the scan
/// begins, and its outcome.
struct Wave<A, V> {
    asks: Mutex<A>,
    outcome: tokio::sync::OnceCell<Arc<V>>,
}

/// The scans of one key: the wave still gathering Reads, and the turn its scans take.
struct KeyScans<A, V> {
    gathering: Mutex<Option<Arc<Wave<A, V>>>>,
    turn: tokio::sync::Mutex<()>,
}

struct Scans<K, A, V> {
    keys: Mutex<HashMap<K, Arc<KeyScans<A, V>>>>,
}

impl<K, A, V> Default for Scans<K, A, V> {
    fn default() -> Self {
        Self {
            keys: Mutex::default(),
        }
    }
}

impl<K: std::hash::Hash + Eq, A: Default, V> Scans<K, A, V> {
    /// Joins the wave of `key` still gathering (or starts one), adding what this Read asks for
    /// by `ask`, and returns its outcome: the first of its Reads to get the key's turn scans,
    /// by `scan` with everything gathered; the others take that result. A failed scan is tried
    /// again by the next Read.
    async fn join<Q, F, Fut>(&self, key: K, ask: Q, scan: F) -> Result<Arc<V>, SqlError>
    where
        Q: FnOnce(&mut A) -> Result<(), SqlError>,
        F: FnOnce(A) -> Fut,
        Fut: std::future::Future<Output = Result<V, SqlError>>,
    {
        let scans = self
            .keys
            .lock()
            .unwrap()
            .entry(key)
            .or_insert_with(|| {
                Arc::new(KeyScans {
                    gathering: Mutex::new(None),
                    turn: tokio::sync::Mutex::new(()),
                })
            })
            .clone();
        let wave = {
            let mut gathering = scans.gathering.lock().unwrap();
            let wave = gathering.get_or_insert_with(|| {
                Arc::new(Wave {
                    asks: Mutex::default(),
                    outcome: tokio::sync::OnceCell::new(),
                })
            });
            ask(&mut wave.asks.lock().unwrap())?;
            wave.clone()
        };
        wave.outcome
            .get_or_try_init(|| async {
                let _turn = scans.turn.lock().await;
                {
                    // From here on the wave takes no one: later Reads form the next.
                    let mut gathering = scans.gathering.lock().unwrap();
                    if gathering.as_ref().is_some_and(|w| Arc::ptr_eq(w, &wave)) {
                        *gathering = None;
                    }
                }
                let asks = std::mem::take(&mut *wave.asks.lock().unwrap());
                scan(asks).await.map(Arc::new)
            })
            .await
            .cloned()
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
            owner: None,
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

    fn asking(role: &str) -> impl FnOnce(&mut BTreeSet<String>) -> Result<(), SqlError> + '_ {
        move |roles| {
            roles.insert(role.to_owned());
            Ok(())
        }
    }

    async fn scanned_roles(roles: BTreeSet<String>) -> Result<Vec<String>, SqlError> {
        Ok(roles.into_iter().collect())
    }

    #[test]
    fn named_tables_are_asked_for_by_pair_and_the_rest_by_role() {
        let mut asks = Asks::default();
        let orders = ["orders".to_owned(), "Line Items".to_owned()];
        asks.add("app", on(ObjectType::Table, &orders)).unwrap();
        asks.add("auditor", on(ObjectType::Table, &[])).unwrap();
        // Functions are found by name within their schema's scan, never by pair.
        asks.add("runner", on(ObjectType::Function, &orders))
            .unwrap();
        let (whole, (roles, objects)) = asks.split();
        assert_eq!(whole, ["auditor", "runner"]);
        assert_eq!(roles, ["app", "app"]);
        assert_eq!(
            objects,
            [r#""public"."Line Items""#, r#""public"."orders""#],
            "quoted, so to_regclass finds exactly that relation"
        );
        let bad = ["nul\0name".to_owned()];
        assert!(
            asks.add("app", on(ObjectType::Table, &bad)).is_err(),
            "a name that cannot be quoted never reaches the server"
        );
    }

    #[tokio::test]
    async fn a_read_never_takes_a_scan_that_began_before_it() {
        let scans: Scans<&str, BTreeSet<String>, Vec<String>> = Scans::default();
        let first = scans
            .join("public", asking("a"), scanned_roles)
            .await
            .unwrap();
        assert_eq!(*first, ["a"]);
        // That wave is over: the next Read scans anew.
        let second = scans
            .join("public", asking("b"), scanned_roles)
            .await
            .unwrap();
        assert_eq!(*second, ["b"]);
    }

    #[tokio::test]
    async fn reads_arriving_during_a_scan_share_the_next_one_for_all_their_roles() {
        let scans: Arc<Scans<&str, BTreeSet<String>, Vec<String>>> = Arc::new(Scans::default());
        let (release, hold) = tokio::sync::oneshot::channel::<()>();
        let running = {
            let scans = scans.clone();
            tokio::spawn(async move {
                scans
                    .join("public", asking("first"), |roles| async move {
                        hold.await.ok();
                        scanned_roles(roles).await
                    })
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let scanned = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let waiting: Vec<_> = (0..8)
            .map(|i| {
                let (scans, scanned) = (scans.clone(), scanned.clone());
                tokio::spawn(async move {
                    let role = format!("r{i}");
                    scans
                        .join("public", asking(&role), |roles| async move {
                            scanned.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            scanned_roles(roles).await
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        release.send(()).unwrap();
        assert_eq!(*running.await.unwrap().unwrap(), ["first"]);
        let all: Vec<String> = (0..8).map(|i| format!("r{i}")).collect();
        for read in waiting {
            assert_eq!(
                *read.await.unwrap(),
                all,
                "one scan for every waiting Read's role"
            );
        }
        assert_eq!(scanned.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
