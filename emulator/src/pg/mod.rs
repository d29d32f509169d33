//! The emulated servers' PostgreSQL face: one TLS token gateway per flexible server, in front of a
//! real PostgreSQL (the *backend*, `PGENTRA_PG_BACKEND` or 127.0.0.1:5432, superuser `postgres`
//! on trust).
//!
//! - **Where**: a server's gateway listens on its `fullyQualifiedDomainName` (its own loopback
//!   address, 127.N.1.x) at port 5432, like Azure; when that port is taken on that address (another
//!   emulator in the same machine), on an ephemeral port of the same address.
//!   [`RunningEmulator::pg_gateway`] answers the address for an FQDN. A gateway starts when its
//!   server exists (its create finished) and stops, with its sessions, when the server is deleted.
//! - **Databases**: each database of a server (the ARM `databases` children, `postgres` included;
//!   Azure's internal `azure_maintenance` and `azure_sys` left out) is a real backend database
//!   named `<prefix>__<database>`, where `<prefix>` is `<server name (at most 30 chars)>_<6 random
//!   hex>` chosen when the gateway starts (so parallel emulators never share a database). They are
//!   created/dropped as ARM creates/deletes them and all dropped with the server, owned by
//!   `azure_pg_admin`. A client names the Azure database (`dbname=postgres`); the gateway maps it,
//!   at sign-in and in SQL that names a database after `DATABASE` (`GRANT CONNECT ON DATABASE
//!   myappdb`). `current_database()` and `pg_database` still show the backend names.
//! - **Roles** are cluster-wide in PostgreSQL and are not prefixed: every emulated server (and every
//!   emulator) on one backend shares them. `azure_pg_admin` is created once per cluster; an Entra
//!   admin's role is created on its first login (LOGIN CREATEROLE CREATEDB, member of
//!   azure_pg_admin); pgaadauth roles carry their Entra binding as a role comment
//!   (`aadauth,oid=…,type=…,tenant_id=…[,mfa][,admin]`), which the gateway checks at login.
//! - **pgaadauth** (`pgaadauth_create_principal`, `_with_oid`, `pgaadauth_list_principals`) is
//!   installed in each server's `postgres` database only (elsewhere: "function … does not exist",
//!   as on Azure); it reads the directory from `pgaadauth.directory`, which the emulator refreshes.

pub mod backend;
mod gateway;
pub mod pgaadauth;
mod rewrite;
pub mod wire;

use crate::{Inner, RunningEmulator};
use backend::Backend;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The port a gateway tries first on its server's address (PostgreSQL's, as on Azure).
pub const GATEWAY_PORT: u16 = 5432;

/// How often the gateways follow the ARM state and the directory.
const RECONCILE_EVERY: Duration = Duration::from_millis(50);

/// Azure's internal databases, not materialised in the backend.
const INTERNAL_DATABASES: [&str; 2] = ["azure_maintenance", "azure_sys"];

/// A running gateway, as [`RunningEmulator::pg_gateways`] lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PgGateway {
    pub resource_group: String,
    pub server: String,
    /// The server's fullyQualifiedDomainName (an IP address on loopback).
    pub fqdn: String,
    /// Where the gateway listens: `fqdn:5432`, or an ephemeral port when 5432 was taken.
    pub addr: SocketAddr,
    /// Backend database of the server's database `d` = `{backend_prefix}__{d}`.
    pub backend_prefix: String,
}

pub(crate) struct ServerGateway {
    pub key: String,
    pub info: PgGateway,
    pub backend: Backend,
    /// Databases that exist in the backend (Azure names).
    pub databases: Mutex<BTreeSet<String>>,
    /// Hash of the directory last copied into this server's `postgres` database.
    pub directory_hash: Mutex<Option<u64>>,
    /// Whether the server's databases are materialised in the backend: from the first session
    /// (or [`RunningEmulator::pg_gateway`]) on, so ARM-only runs never touch the backend.
    pub active: std::sync::atomic::AtomicBool,
    stop: watch::Sender<bool>,
}

impl ServerGateway {
    /// The backend database for an Azure database name of this server, if it exists.
    pub fn backend_database(&self, db: &str) -> Option<String> {
        let dbs = self.databases.lock().unwrap_or_else(|e| e.into_inner());
        dbs.contains(db)
            .then(|| backend_name(&self.info.backend_prefix, db))
    }
}

/// The backend database name of `db` under `prefix` (hashed when it would exceed 63 bytes).
pub fn backend_name(prefix: &str, db: &str) -> String {
    let n = format!("{prefix}__{db}");
    if n.len() <= 63 {
        n
    } else {
        format!("{prefix}__{:016x}", hash(db))
    }
}

fn hash(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// Every gateway of one emulator.
#[derive(Default)]
pub(crate) struct Gateways {
    servers: Mutex<BTreeMap<String, Arc<ServerGateway>>>,
    /// Serialises reconciliations (and remembers whether the cluster is prepared).
    reconcile: tokio::sync::Mutex<bool>,
    /// Serialises admin-role creation (concurrent first logins).
    pub admin_lock: tokio::sync::Mutex<()>,
    /// Roles this emulator made in the backend (admins on first login, pgaadauth principals of
    /// servers since stopped): dropped when it stops.
    made_roles: Mutex<BTreeSet<String>>,
}

impl Gateways {
    /// Remembers `role` as this emulator's when it `created` it.
    pub(crate) fn made_role(&self, role: &str, created: bool) {
        if created {
            let mut made = self.made_roles.lock().unwrap_or_else(|e| e.into_inner());
            made.insert(role.to_owned());
        }
    }

    pub(crate) fn list(&self) -> Vec<Arc<ServerGateway>> {
        self.servers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

/// Follows the ARM state until the emulator shuts down, then drops this emulator's databases.
pub(crate) async fn run(inner: Arc<Inner>, mut shutdown: watch::Receiver<bool>) {
    loop {
        reconcile(&inner).await;
        tokio::select! {
            _ = tokio::time::sleep(RECONCILE_EVERY) => {}
            _ = shutdown.changed() => break,
        }
    }
    let all: Vec<_> = {
        let mut s = inner.pg.servers.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *s).into_values().collect()
    };
    for gw in all {
        stop(&inner.pg, &gw).await;
    }
    drop_made_roles(&inner.pg, &Backend::from_env()).await;
}

/// Drops the roles this emulator made, once its databases are gone (a role that still owns or
/// holds something elsewhere, or that a session uses, stays).
async fn drop_made_roles(pg: &Gateways, backend: &Backend) {
    let made: Vec<String> = {
        let mut m = pg.made_roles.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *m).into_iter().collect()
    };
    for role in made {
        match backend.drop_role_if_unused(&role).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(role = %role, "pg gateway: a role it made is still in use, kept")
            }
            Err(e) => {
                tracing::warn!(role = %role, error = %e, "pg gateway: dropping a role it made")
            }
        }
    }
}

struct Wanted {
    rg: String,
    name: String,
    fqdn: String,
    databases: BTreeSet<String>,
}

/// One pass: start gateways of new servers, stop those of deleted ones, create/drop databases,
/// refresh the directory copies.
pub(crate) async fn reconcile(inner: &Arc<Inner>) {
    let mut cluster_ready = inner.pg.reconcile.lock().await;
    let wanted: BTreeMap<String, Wanted> = {
        let mut w = inner.world();
        w.tick(Instant::now());
        w.servers
            .iter()
            .filter_map(|(k, s)| {
                let fqdn = s
                    .props
                    .get("fullyQualifiedDomainName")?
                    .as_str()?
                    .to_string();
                fqdn.parse::<IpAddr>().ok()?;
                let databases = s
                    .databases
                    .keys()
                    .filter(|d| !INTERNAL_DATABASES.contains(&d.as_str()))
                    .cloned()
                    .chain(["postgres".to_string()])
                    .collect();
                Some((
                    k.clone(),
                    Wanted {
                        rg: s.rg.clone(),
                        name: s.name.clone(),
                        fqdn,
                        databases,
                    },
                ))
            })
            .collect()
    };
    let backend = Backend::from_env();
    // Deleted servers (or servers whose address changed).
    let gone: Vec<Arc<ServerGateway>> = {
        let mut s = inner.pg.servers.lock().unwrap_or_else(|e| e.into_inner());
        let keys: Vec<String> = s
            .iter()
            .filter(|(k, g)| wanted.get(*k).is_none_or(|w| w.fqdn != g.info.fqdn))
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter().filter_map(|k| s.remove(k)).collect()
    };
    for gw in gone {
        stop(&inner.pg, &gw).await;
    }
    // New servers.
    for (key, w) in &wanted {
        let exists = inner
            .pg
            .servers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(key);
        if exists {
            continue;
        }
        match start(inner, key, w, backend.clone()).await {
            Ok(gw) => {
                inner
                    .pg
                    .servers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key.clone(), gw);
            }
            Err(e) => tracing::warn!(server = %w.name, error = %e, "pg gateway: cannot listen"),
        }
    }
    // The backend is touched only once a gateway is in use (ARM-only runs never need it).
    let any_active = inner
        .pg
        .list()
        .iter()
        .any(|g| g.active.load(std::sync::atomic::Ordering::SeqCst));
    if !any_active {
        return;
    }
    if !*cluster_ready {
        match backend.prepare_cluster().await {
            Ok(()) => *cluster_ready = true,
            Err(e) => {
                tracing::warn!(error = %e, "pg gateway: backend not ready");
                return;
            }
        }
    }
    // Databases and the directory.
    for gw in inner.pg.list() {
        let Some(w) = wanted.get(&gw.key) else {
            continue;
        };
        if !gw.active.load(std::sync::atomic::Ordering::SeqCst) {
            continue;
        }
        let have = gw
            .databases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for db in w.databases.difference(&have) {
            let real = backend_name(&gw.info.backend_prefix, db);
            let about = format!("server={}/{} database={db}", w.rg, w.name);
            match gw
                .backend
                .create_database(&real, db == "postgres", &about)
                .await
            {
                Ok(()) => {
                    gw.databases
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(db.clone());
                }
                Err(e) => {
                    tracing::warn!(database = %real, error = %e, "pg gateway: creating a database")
                }
            }
        }
        for db in have.difference(&w.databases) {
            let real = backend_name(&gw.info.backend_prefix, db);
            gw.databases
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(db);
            if let Err(e) = gw.backend.drop_database(&real).await {
                tracing::warn!(database = %real, error = %e, "pg gateway: dropping a database");
            }
        }
        if let Err(e) = refresh_directory(inner, &gw).await {
            tracing::warn!(error = %e, "pg gateway: refreshing the directory copy");
        }
    }
}

/// [`reconcile`] behind a named future type, for the gateway's sessions (which reconcile starts).
pub(crate) fn reconcile_boxed(
    inner: Arc<Inner>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(async move { reconcile(&inner).await })
}

/// Copies the directory into the server's `postgres` database when it changed since last time.
pub(crate) async fn refresh_directory(
    inner: &Inner,
    gw: &ServerGateway,
) -> Result<(), backend::BackendError> {
    let Some(db) = gw.backend_database("postgres") else {
        return Ok(());
    };
    let snap = inner.directory.snapshot();
    let h = hash(&snap.to_string());
    if *gw.directory_hash.lock().unwrap_or_else(|e| e.into_inner()) == Some(h) {
        return Ok(());
    }
    let tenant = inner.opts.tenant_id.clone();
    let mut rows = Vec::new();
    for (list, name_field, kind) in [
        ("users", "userPrincipalName", "user"),
        ("groups", "displayName", "group"),
        ("servicePrincipals", "displayName", "service"),
    ] {
        for o in snap
            .get(list)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            let (Some(oid), Some(name)) = (
                o.get("objectId").and_then(|v| v.as_str()),
                o.get(name_field).and_then(|v| v.as_str()),
            ) else {
                continue;
            };
            rows.push((
                oid.to_ascii_lowercase(),
                name.to_string(),
                kind.to_string(),
                tenant.clone(),
            ));
        }
    }
    gw.backend.refresh_directory(&db, &rows).await?;
    *gw.directory_hash.lock().unwrap_or_else(|e| e.into_inner()) = Some(h);
    Ok(())
}

async fn start(
    inner: &Arc<Inner>,
    key: &str,
    w: &Wanted,
    backend: Backend,
) -> Result<Arc<ServerGateway>, Box<dyn std::error::Error + Send + Sync>> {
    let ip: IpAddr = w.fqdn.parse()?;
    let listener = match TcpListener::bind(SocketAddr::new(ip, GATEWAY_PORT)).await {
        Ok(l) => l,
        Err(_) => TcpListener::bind(SocketAddr::new(ip, 0)).await?,
    };
    let addr = listener.local_addr()?;
    let issued = inner.ca.issue(std::slice::from_ref(&w.fqdn))?;
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(issued.key_pkcs8.into());
    let tls = rustls::ServerConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(issued.chain, key_der)?;
    let short: String = w.name.chars().take(30).collect();
    let prefix = format!(
        "{}_{}",
        short.to_ascii_lowercase(),
        &crate::util::secret(12).to_ascii_lowercase()[..6]
    );
    let prefix: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let (stop, stop_rx) = watch::channel(false);
    let gw = Arc::new(ServerGateway {
        key: key.to_string(),
        info: PgGateway {
            resource_group: w.rg.clone(),
            server: w.name.clone(),
            fqdn: w.fqdn.clone(),
            addr,
            backend_prefix: prefix,
        },
        backend,
        databases: Mutex::new(BTreeSet::new()),
        directory_hash: Mutex::new(None),
        active: std::sync::atomic::AtomicBool::new(false),
        stop,
    });
    tracing::info!(server = %w.name, %addr, "pg gateway listening");
    tokio::spawn(gateway::serve(
        inner.clone(),
        gw.clone(),
        listener,
        tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
        stop_rx,
    ));
    Ok(gw)
}

/// Stops a gateway (listener and sessions) and drops its backend databases, remembering the
/// roles pgaadauth created through it (dropped when the emulator stops: another server of this
/// emulator may use the same role name meanwhile).
async fn stop(pg: &Gateways, gw: &ServerGateway) {
    let _ = gw.stop.send(true);
    if let Some(postgres) = gw.backend_database("postgres") {
        match gw.backend.pgaadauth_roles(&postgres).await {
            Ok(roles) => roles.iter().for_each(|r| pg.made_role(r, true)),
            Err(e) => tracing::warn!(error = %e, "pg gateway: listing the roles pgaadauth created"),
        }
    }
    let dbs: Vec<String> =
        std::mem::take(&mut *gw.databases.lock().unwrap_or_else(|e| e.into_inner()))
            .into_iter()
            .collect();
    for db in dbs {
        let real = backend_name(&gw.info.backend_prefix, &db);
        if let Err(e) = gw.backend.drop_database(&real).await {
            tracing::warn!(database = %real, error = %e, "pg gateway: dropping a database");
        }
    }
}

impl RunningEmulator {
    /// The gateway of the server whose fullyQualifiedDomainName is `fqdn` (after bringing the
    /// gateways up to date with ARM): connect there with TLS, verifying the certificate for `fqdn`.
    pub async fn pg_gateway(&self, fqdn: &str) -> Option<PgGateway> {
        reconcile(&self.inner).await;
        let gw = self
            .inner
            .pg
            .list()
            .into_iter()
            .find(|g| g.info.fqdn.eq_ignore_ascii_case(fqdn))?;
        if !gw.active.swap(true, std::sync::atomic::Ordering::SeqCst) {
            reconcile(&self.inner).await;
        }
        self.pg_gateways()
            .into_iter()
            .find(|g| g.fqdn.eq_ignore_ascii_case(fqdn))
    }

    /// Stops every gateway now and drops this emulator's backend databases (tests call it at
    /// their end: a runtime that ends with the test may not run the shutdown's clean-up; what is
    /// left is dropped by the next emulator that starts once this process has exited).
    pub async fn stop_pg_gateways(&self) {
        let all: Vec<_> = {
            let mut s = self
                .inner
                .pg
                .servers
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            std::mem::take(&mut *s).into_values().collect()
        };
        for gw in all {
            stop(&self.inner.pg, &gw).await;
        }
    }

    /// What the emulator leaves in the backend, removed before it stops: every gateway stopped,
    /// its databases dropped, then the roles it made (admins on first login, pgaadauth
    /// principals) dropped unless a session uses them or they still own or hold something.
    pub async fn clean_up_backend(&self) {
        self.stop_pg_gateways().await;
        drop_made_roles(&self.inner.pg, &Backend::from_env()).await;
    }

    /// Every running gateway (as of the last reconciliation, at most ~50 ms old).
    pub fn pg_gateways(&self) -> Vec<PgGateway> {
        self.inner
            .pg
            .list()
            .iter()
            .map(|g| g.info.clone())
            .collect()
    }

    /// The backend address the gateways relay to (`PGENTRA_PG_BACKEND` or 127.0.0.1:5432).
    pub fn pg_backend(&self) -> String {
        backend::backend_addr()
    }
}
