//! Shared by the tests/sql_*.rs files: the local PostgreSQL (127.0.0.1:5432, trust, superuser
//! postgres, TLS with a self-signed certificate), a test database, stand-ins for Azure's
//! pgaadauth functions in the cluster's `postgres` database (where Azure installs them and where
//! Principal runs them), and a Context whose sessions sign in with an empty password.
#![allow(dead_code)]

use pgentra::config::ProviderConfig;
use pgentra::props::Props;
use pgentra::resource::{Context, LogSink, Severity};
use pgentra::sql::pool::{self, Session};
use pgentra::sql::{ConnInfo, FixedPassword, SslMode};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, OnceLock};

pub const DB: &str = "pgentra_sql_test";

/// One runtime for every test of the binary: pooled sessions outlive a single test.
pub fn run<F: std::future::Future>(f: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let rt = RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap()
    });
    rt.block_on(async {
        setup().await;
        f.await
    })
}

pub fn admin(database: &str) -> ConnInfo {
    ConnInfo {
        host: "127.0.0.1".into(),
        port: 5432,
        database: database.into(),
        user: "postgres".into(),
        ssl_mode: SslMode::Require,
    }
}

pub fn connection(database: &str) -> Value {
    json!({"host": "127.0.0.1", "port": 5432, "database": database, "username": "postgres", "sslMode": "require"})
}

pub struct Logs(pub Mutex<Vec<String>>);
impl LogSink for Logs {
    fn log(&self, _: Severity, message: &str) {
        self.0.lock().unwrap().push(message.to_owned());
    }
}

pub fn ctx() -> Context {
    Context {
        config: Arc::new(ProviderConfig::default()),
        log: Arc::new(Logs(Mutex::new(vec![]))),
        azure: None,
        timeout: None,
        cancel: None,
        create_mark: None,
    }
}

pub fn props(value: Value) -> Props {
    Props::from_json(value)
}

pub async fn sql(database: &str) -> Session {
    let tls = pool::tls_for(None).unwrap();
    pool::session(&admin(database), &FixedPassword(String::new()), &tls)
        .await
        .unwrap()
}

pub async fn exec(database: &str, statement: &str) {
    sql(database).await.execute(statement).await.unwrap();
}

/// A unique name for this test run.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

const PGAADAUTH: &str = r#"
CREATE TABLE IF NOT EXISTS pgentra_test_principals (
  rolname name PRIMARY KEY, principaltype text, objectid text, ismfa int, isadmin int);
CREATE OR REPLACE FUNCTION pgaadauth_create_principal(rolename text, isadmin boolean, ismfa boolean)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE ROLE %I LOGIN', rolename);
  INSERT INTO pgentra_test_principals VALUES (rolename, 'user', '00000000-0000-0000-0000-000000000000', ismfa::int, isadmin::int)
  ON CONFLICT (rolname) DO UPDATE SET principaltype = EXCLUDED.principaltype, objectid = EXCLUDED.objectid, ismfa = EXCLUDED.ismfa, isadmin = EXCLUDED.isadmin;
  RETURN format('Created role for "%s"', rolename);
END $$;
CREATE OR REPLACE FUNCTION pgaadauth_create_principal_with_oid(rolename text, objectid text, objecttype text, isadmin boolean, ismfa boolean)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE ROLE %I LOGIN', rolename);
  INSERT INTO pgentra_test_principals VALUES (rolename, objecttype, objectid, ismfa::int, isadmin::int)
  ON CONFLICT (rolname) DO UPDATE SET principaltype = EXCLUDED.principaltype, objectid = EXCLUDED.objectid, ismfa = EXCLUDED.ismfa, isadmin = EXCLUDED.isadmin;
  RETURN format('Created role for "%s"', rolename);
END $$;
CREATE OR REPLACE FUNCTION pgaadauth_list_principals(isadminvalue boolean)
RETURNS TABLE(rolname name, principaltype text, objectid text, tenantid text, ismfa int, isadmin int)
LANGUAGE sql AS $$
  SELECT p.rolname, p.principaltype, p.objectid, 'tenant'::text, p.ismfa, p.isadmin
  FROM pgentra_test_principals p JOIN pg_roles r ON r.rolname = p.rolname
  WHERE NOT isadminvalue OR p.isadmin = 1
$$;
"#;

async fn setup() {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        if tokio::net::TcpStream::connect("127.0.0.1:5432").await.is_err() {
            panic!("PostgreSQL does not answer on 127.0.0.1:5432; start PostgreSQL: pg_ctlcluster 15 main start");
        }
        pool::set_fallback_password_source(Arc::new(FixedPassword(String::new())));
        let postgres = sql("postgres").await;
        // Other test binaries set up the same database at the same time.
        postgres.execute("SELECT pg_advisory_lock(774201)").await.unwrap();
        let exists = !postgres
            .query("SELECT 1 FROM pg_database WHERE datname = $1", &[&DB])
            .await
            .unwrap()
            .is_empty();
        if !exists {
            postgres.execute(&format!("CREATE DATABASE {DB}")).await.unwrap();
        }
        exec("postgres", PGAADAUTH).await;
        postgres.execute("SELECT pg_advisory_unlock(774201)").await.unwrap();
    })
    .await;
}
