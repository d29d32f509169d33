//! Sessions pooled per (host, port, database, user, sslMode) across every resource of the
//! process, bounded, so a thousand Grants never open a thousand connections (Burstable servers
//! have few slots). A new session asks its [`PasswordSource`] for a password each time, so a
//! token near expiry is renewed (by the token cache) before the session opens; a session open
//! already stays valid, since PostgreSQL checks the token only at sign-in.

use crate::sql::session::{self, ConnInfo, PasswordSource, SqlError, TlsConfigs};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Sessions open at once per key.
pub const MAX_SESSIONS_PER_KEY: usize = 4;
/// An idle session older than this is closed rather than reused.
const MAX_IDLE_AGE: Duration = Duration::from_secs(300);

struct Idle {
    client: tokio_postgres::Client,
    since: Instant,
}

struct KeyPool {
    slots: Arc<Semaphore>,
    idle: Mutex<Vec<Idle>>,
}

fn pools() -> &'static Mutex<HashMap<ConnInfo, Arc<KeyPool>>> {
    static POOLS: OnceLock<Mutex<HashMap<ConnInfo, Arc<KeyPool>>>> = OnceLock::new();
    POOLS.get_or_init(Default::default)
}

fn tls_cache() -> &'static Mutex<HashMap<Option<String>, TlsConfigs>> {
    static TLS: OnceLock<Mutex<HashMap<Option<String>, TlsConfigs>>> = OnceLock::new();
    TLS.get_or_init(Default::default)
}

/// The TLS configurations for a caCertFile (built once per file per process).
pub fn tls_for(ca_cert_file: Option<&str>) -> Result<TlsConfigs, SqlError> {
    let key = ca_cert_file.filter(|p| !p.is_empty()).map(str::to_owned);
    if let Some(found) = tls_cache().lock().unwrap().get(&key) {
        return Ok(found.clone());
    }
    let built = TlsConfigs::new(key.as_deref())?;
    tls_cache().lock().unwrap().insert(key, built.clone());
    Ok(built)
}

/// A pooled session; returned to the pool when dropped (unless it broke).
pub struct Session {
    client: Option<tokio_postgres::Client>,
    pool: Arc<KeyPool>,
    _slot: OwnedSemaphorePermit,
}

impl Session {
    pub fn client(&self) -> &tokio_postgres::Client {
        self.client
            .as_ref()
            .expect("a session holds its client until dropped")
    }

    /// Runs `sql` (no parameters) and wraps a failure with the statement.
    pub async fn execute(&self, sql: &str) -> Result<(), SqlError> {
        self.client()
            .batch_execute(sql)
            .await
            .map_err(|e| SqlError::statement(sql, e))
    }

    /// Runs `sql` with parameters of the given types in one round trip (no statement prepared
    /// and closed first, as [`Session::query`] does).
    pub async fn query_typed(
        &self,
        sql: &str,
        params: &[(
            &(dyn tokio_postgres::types::ToSql + Sync),
            tokio_postgres::types::Type,
        )],
    ) -> Result<Vec<tokio_postgres::Row>, SqlError> {
        self.client()
            .query_typed(sql, params)
            .await
            .map_err(|e| SqlError::statement(sql, e))
    }

    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, SqlError> {
        self.client()
            .query(sql, params)
            .await
            .map_err(|e| SqlError::statement(sql, e))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if !client.is_closed() {
                self.pool.idle.lock().unwrap().push(Idle {
                    client,
                    since: Instant::now(),
                });
            }
        }
    }
}

/// A session to `info`: an idle one when there is one, else a new one signed in with a fresh
/// password from `source`. Waits while the key's sessions are all in use.
pub async fn session(
    info: &ConnInfo,
    source: &dyn PasswordSource,
    tls: &TlsConfigs,
) -> Result<Session, SqlError> {
    let pool = pools()
        .lock()
        .unwrap()
        .entry(info.clone())
        .or_insert_with(|| {
            Arc::new(KeyPool {
                slots: Arc::new(Semaphore::new(MAX_SESSIONS_PER_KEY)),
                idle: Mutex::new(Vec::new()),
            })
        })
        .clone();
    let slot = pool
        .slots
        .clone()
        .acquire_owned()
        .await
        .expect("the pool's semaphore is never closed");
    let reusable = {
        let mut idle = pool.idle.lock().unwrap();
        idle.retain(|i| !i.client.is_closed() && i.since.elapsed() < MAX_IDLE_AGE);
        idle.pop()
    };
    let client = match reusable {
        Some(idle) => idle.client,
        None => session::connect(info, source, tls).await?,
    };
    Ok(Session {
        client: Some(client),
        pool,
        _slot: slot,
    })
}

/// Sessions open or idle for `info` (for tests: the bound holds).
pub fn idle_count(info: &ConnInfo) -> usize {
    pools()
        .lock()
        .unwrap()
        .get(info)
        .map(|p| p.idle.lock().unwrap().len())
        .unwrap_or(0)
}

/// The password source used when the caller has no Azure client (a provider that was never
/// configured: tests against a local PostgreSQL with trust authentication). Production always
/// has an Azure client and never reads this.
pub fn set_fallback_password_source(source: Arc<dyn PasswordSource>) {
    *fallback().lock().unwrap() = Some(source);
}

pub(crate) fn fallback_password_source() -> Option<Arc<dyn PasswordSource>> {
    fallback().lock().unwrap().clone()
}

fn fallback() -> &'static Mutex<Option<Arc<dyn PasswordSource>>> {
    static FALLBACK: OnceLock<Mutex<Option<Arc<dyn PasswordSource>>>> = OnceLock::new();
    FALLBACK.get_or_init(Default::default)
}
