//! The real PostgreSQL behind the gateway: superuser (trust) sessions for the emulator's own work
//! (databases, the pgaadauth emulation, admin roles), and where client sessions are relayed to.

use super::pgaadauth;
use tokio_postgres::{Client, NoTls};

/// Where the backend PostgreSQL listens: `PGENTRA_PG_BACKEND` (`host:port`) or 127.0.0.1:5432.
pub fn backend_addr() -> String {
    std::env::var("PGENTRA_PG_BACKEND")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "127.0.0.1:5432".to_string())
}

/// How the comment of a backend database made by an emulator starts (then its process id).
pub const OWNER_MARK: &str = "pgentra-emulator pid=";

/// The superuser the emulator uses on the backend (trust authentication).
pub const SUPERUSER: &str = "postgres";

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("the backend PostgreSQL at {addr} ({what}): {source}")]
    Pg {
        addr: String,
        what: String,
        #[source]
        source: tokio_postgres::Error,
    },
}

#[derive(Clone, Debug)]
pub struct Backend {
    pub addr: String,
}

/// Quotes an identifier for the backend.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Quotes a literal for the backend (standard_conforming_strings on).
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Backend {
    pub fn from_env() -> Self {
        Self {
            addr: backend_addr(),
        }
    }

    fn err(
        &self,
        what: impl Into<String>,
    ) -> impl FnOnce(tokio_postgres::Error) -> BackendError + '_ {
        let what = what.into();
        move |source| BackendError::Pg {
            addr: self.addr.clone(),
            what,
            source,
        }
    }

    /// A superuser session on `database`.
    pub async fn superuser(&self, database: &str) -> Result<Client, BackendError> {
        let (host, port) = self.addr.rsplit_once(':').unwrap_or((&self.addr, "5432"));
        let mut cfg = tokio_postgres::Config::new();
        cfg.host(host)
            .port(port.parse().unwrap_or(5432))
            .user(SUPERUSER)
            .dbname(database)
            .application_name("pgentra-emulator")
            .connect_timeout(std::time::Duration::from_secs(5));
        let (client, conn) = cfg
            .connect(NoTls)
            .await
            .map_err(self.err(format!("connecting as {SUPERUSER} to {database}")))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    /// Creates `azure_pg_admin` once per cluster, and drops the databases left behind by
    /// emulator processes that no longer run (their comment names the process).
    pub async fn prepare_cluster(&self) -> Result<(), BackendError> {
        let c = self.superuser("postgres").await?;
        c.batch_execute(pgaadauth::CLUSTER_SQL)
            .await
            .map_err(self.err("creating azure_pg_admin"))?;
        if !std::path::Path::new("/proc/self").exists() {
            return Ok(());
        }
        let rows = c
            .query(
                "SELECT datname::text, shobj_description(oid, 'pg_database') FROM pg_database \
                 WHERE shobj_description(oid, 'pg_database') LIKE $1",
                &[&format!("{OWNER_MARK}%")],
            )
            .await
            .map_err(self.err("listing emulator databases"))?;
        for r in rows {
            let (name, comment): (String, String) = (r.get(0), r.get(1));
            let pid = comment[OWNER_MARK.len()..].split(' ').next().unwrap_or("");
            let alive = pid
                .parse::<u32>()
                .is_ok_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
            if !alive {
                tracing::info!(database = %name, "pg gateway: dropping a database left by a stopped emulator");
                let _ = self.drop_database(&name).await;
            }
        }
        Ok(())
    }

    /// Creates a real database (owned by azure_pg_admin, so Entra admins can grant on it) unless
    /// it exists; `with_pgaadauth` installs the emulated functions in it.
    pub async fn create_database(
        &self,
        name: &str,
        with_pgaadauth: bool,
        about: &str,
    ) -> Result<(), BackendError> {
        let c = self.superuser("postgres").await?;
        let exists = c
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .map_err(self.err("looking up a database"))?
            .is_some();
        if !exists {
            let sql = format!("CREATE DATABASE {} OWNER azure_pg_admin", ident(name));
            if let Err(e) = c.batch_execute(&sql).await {
                // Someone else created it meanwhile: fine.
                if e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) {
                    return Err(self.err(format!("creating database {name}"))(e));
                }
            }
            let comment = format!("{OWNER_MARK}{} {about}", std::process::id());
            c.batch_execute(&format!(
                "COMMENT ON DATABASE {} IS {}",
                ident(name),
                literal(&comment)
            ))
            .await
            .map_err(self.err(format!("commenting database {name}")))?;
        }
        if with_pgaadauth {
            let d = self.superuser(name).await?;
            d.batch_execute(pgaadauth::INSTALL_SQL)
                .await
                .map_err(self.err(format!("installing pgaadauth in {name}")))?;
        }
        Ok(())
    }

    /// Drops a real database, ending its sessions.
    pub async fn drop_database(&self, name: &str) -> Result<(), BackendError> {
        let c = self.superuser("postgres").await?;
        c.batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            ident(name)
        ))
        .await
        .map_err(self.err(format!("dropping database {name}")))
    }

    /// Replaces the directory copy in `database` (rows: object id, name, type, tenant).
    pub async fn refresh_directory(
        &self,
        database: &str,
        rows: &[(String, String, String, String)],
    ) -> Result<(), BackendError> {
        let mut c = self.superuser(database).await?;
        let t = c
            .transaction()
            .await
            .map_err(self.err("refreshing the directory"))?;
        let cols = |i: usize| -> Vec<&str> {
            rows.iter()
                .map(|r| match i {
                    0 => r.0.as_str(),
                    1 => r.1.as_str(),
                    2 => r.2.as_str(),
                    _ => r.3.as_str(),
                })
                .collect()
        };
        let (a, b, cc, d) = (cols(0), cols(1), cols(2), cols(3));
        t.execute("DELETE FROM pgaadauth.directory", &[])
            .await
            .map_err(self.err("refreshing the directory"))?;
        t.execute(
            "INSERT INTO pgaadauth.directory (object_id, name, type, tenant_id) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING",
            &[&a, &b, &cc, &d],
        )
        .await
        .map_err(self.err("refreshing the directory"))?;
        t.commit()
            .await
            .map_err(self.err("refreshing the directory"))
    }

    /// The pgaadauth label of a role: None when there is no such role, Some("") when the role
    /// exists without one.
    pub async fn role_label(&self, role: &str) -> Result<Option<String>, BackendError> {
        let c = self.superuser("postgres").await?;
        let row = c
            .query_opt(
                "SELECT coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = $1",
                &[&role],
            )
            .await
            .map_err(self.err("reading a role"))?;
        Ok(row.map(|r| {
            let d: String = r.get(0);
            if d.starts_with("aadauth,") {
                d
            } else {
                String::new()
            }
        }))
    }

    /// Makes sure an admin role exists as Azure gives it on first login: LOGIN, CREATEROLE,
    /// CREATEDB, member of azure_pg_admin; `label` (Entra admins) binds it to its principal.
    /// Whether this call created the role (then the emulator drops it when it stops).
    pub async fn ensure_admin_role(
        &self,
        role: &str,
        label: Option<&str>,
    ) -> Result<bool, BackendError> {
        let c = self.superuser("postgres").await?;
        let existed = c
            .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&role])
            .await
            .map_err(self.err(format!("reading the admin role {role}")))?
            .is_some();
        let mut sql = format!(
            "DO $$ BEGIN CREATE ROLE {r} WITH LOGIN CREATEROLE CREATEDB; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$; \
             ALTER ROLE {r} WITH LOGIN CREATEROLE CREATEDB; GRANT azure_pg_admin TO {r};",
            r = ident(role)
        );
        if let Some(l) = label {
            sql.push_str(&format!(
                " COMMENT ON ROLE {} IS {};",
                ident(role),
                literal(l)
            ));
        }
        c.batch_execute(&sql)
            .await
            .map_err(self.err(format!("creating the admin role {role}")))?;
        Ok(!existed)
    }

    /// The roles pgaadauth created through one server (recorded in its `postgres` database).
    pub async fn pgaadauth_roles(&self, postgres: &str) -> Result<Vec<String>, BackendError> {
        let c = self.superuser(postgres).await?;
        let rows = c
            .query(
                "SELECT rolname FROM pgaadauth.created_roles WHERE to_regclass('pgaadauth.created_roles') IS NOT NULL",
                &[],
            )
            .await
            .map_err(self.err("listing the roles pgaadauth created"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Drops `role` unless a session is signed in as it (another emulator on this backend may
    /// share a role name) or it still owns or holds something (PostgreSQL refuses then): false
    /// when it stays.
    pub async fn drop_role_if_unused(&self, role: &str) -> Result<bool, BackendError> {
        let c = self.superuser("postgres").await?;
        let in_use = c
            .query_opt(
                "SELECT 1 FROM pg_stat_activity WHERE usename = $1",
                &[&role],
            )
            .await
            .map_err(self.err(format!("reading the sessions of role {role}")))?
            .is_some();
        if in_use {
            return Ok(false);
        }
        Ok(
            c.batch_execute(&format!("DROP ROLE IF EXISTS {}", ident(role)))
                .await
                .is_ok(),
        )
    }
}

/// One row of the backend's `pg_settings`: what a server parameter of an emulated server is
/// made from (its type, range, enum values and whether it needs a restart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendSetting {
    pub name: String,
    /// The compiled-in default (`boot_val`).
    pub default: String,
    /// `bool`, `integer`, `real`, `enum` or `string`.
    pub vartype: String,
    pub min: String,
    pub max: String,
    pub enum_values: Vec<String>,
    /// When a change takes effect: `postmaster` (restart), `internal` (never), others at once.
    pub context: String,
    pub unit: String,
    pub description: String,
}

impl Backend {
    /// The backend's version as (major, minor), from `server_version_num` (150004 is 15.4).
    pub async fn version(&self) -> Result<(u32, u32), BackendError> {
        let c = self.superuser("postgres").await?;
        let row = c
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .await
            .map_err(self.err("reading server_version_num"))?;
        let number = u32::try_from(row.get::<_, i32>(0)).unwrap_or(0);
        Ok((number / 10_000, number % 10_000))
    }

    /// Every row of the backend's `pg_settings`, by name.
    pub async fn settings(&self) -> Result<Vec<BackendSetting>, BackendError> {
        let c = self.superuser("postgres").await?;
        let rows = c
            .query(
                "SELECT name, coalesce(boot_val, ''), vartype, coalesce(min_val, ''), \
                 coalesce(max_val, ''), coalesce(enumvals, '{}'::text[]), context, \
                 coalesce(unit, ''), coalesce(short_desc, '') FROM pg_settings ORDER BY name",
                &[],
            )
            .await
            .map_err(self.err("reading pg_settings"))?;
        Ok(rows
            .iter()
            .map(|r| BackendSetting {
                name: r.get(0),
                default: r.get(1),
                vartype: r.get(2),
                min: r.get(3),
                max: r.get(4),
                enum_values: r.get(5),
                context: r.get(6),
                unit: r.get(7),
                description: r.get(8),
            })
            .collect())
    }
}
