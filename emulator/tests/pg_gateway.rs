//! The emulator's PostgreSQL token gateway against a real PostgreSQL (127.0.0.1:5432 trust, or
//! PGENTRA_PG_BACKEND): real TLS (the emulator's CA, verified for the server's FQDN), real
//! tokens, tokio-postgres as the client.

mod support;

use pgentra_emulator::{RunningEmulator, POSTGRES_RESOURCE};
use serde_json::json;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use support::{Env, MSI, PG};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

// ---- tokio-postgres over rustls (the emulator's one rustls 0.23 / ring) ----

#[derive(Clone)]
struct MakeRustls(Arc<rustls::ClientConfig>);

struct RustlsConnect(
    Arc<rustls::ClientConfig>,
    rustls::pki_types::ServerName<'static>,
);

struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> MakeTlsConnect<S> for MakeRustls {
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, Self::Error> {
        let name = rustls::pki_types::ServerName::try_from(domain.to_string())?;
        Ok(RustlsConnect(self.0.clone(), name))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> TlsConnect<S> for RustlsConnect {
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let c = tokio_rustls::TlsConnector::from(self.0);
            Ok(RustlsStream(c.connect(self.1, stream).await?))
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

// ---- helpers ----

/// Fails (never skips) when no PostgreSQL answers where the gateway relays to.
async fn require_backend(emu: &RunningEmulator) {
    let addr = emu.pg_backend();
    if tokio::net::TcpStream::connect(&addr).await.is_err() {
        panic!("no PostgreSQL at {addr}: start PostgreSQL: pg_ctlcluster 15 main start (or set PGENTRA_PG_BACKEND)");
    }
}

fn unique(base: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{base}-{}-{:06x}", std::process::id(), n & 0xff_ffff)
}

struct Server {
    host: String,
    port: u16,
}

/// An Entra-only server with `admin_upn` (a new directory user) as its Entra admin; its gateway.
async fn server_with_admin(env: &Env, rg: &str, name: &str, admin_upn: &str) -> (Server, String) {
    require_backend(&env.emu).await;
    let admin = env.emu.directory().add_user(admin_upn, "PG Admin");
    env.create_rg(rg).await;
    let s = env.create_server(rg, name).await;
    let sp = env.server_path(rg, name);
    let r = env
        .call("PUT", &format!("{sp}/administrators/{}?{PG}", admin.object_id),
            Some(json!({"properties": {"principalType": "User", "principalName": admin_upn, "tenantId": env.emu.tenant_id()}})))
        .await;
    assert_eq!(env.wait(&r).await["status"], "Succeeded");
    let fqdn = s["properties"]["fullyQualifiedDomainName"]
        .as_str()
        .unwrap()
        .to_string();
    let gw = env
        .emu
        .pg_gateway(&fqdn)
        .await
        .expect("the server's gateway");
    assert_eq!(gw.addr.ip().to_string(), fqdn);
    (
        Server {
            host: fqdn,
            port: gw.addr.port(),
        },
        admin.object_id,
    )
}

async fn connect(
    env: &Env,
    s: &Server,
    user: &str,
    password: &str,
    db: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&s.host)
        .port(s.port)
        .user(user)
        .password(password)
        .dbname(db)
        .ssl_mode(SslMode::Require);
    let (client, conn) = cfg
        .connect(MakeRustls(env.emu.client_tls_config().unwrap()))
        .await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

fn pg_token(env: &Env, object_id: &str) -> String {
    env.emu
        .issue_access_token(object_id, POSTGRES_RESOURCE)
        .unwrap()
}

/// A managed identity created through ARM; returns (name, principalId, clientId).
async fn identity(env: &Env, rg: &str, name: &str) -> (String, String, String) {
    let r = env
        .call(
            "PUT",
            &format!("{}?{MSI}", env.identity_path(rg, name)),
            Some(json!({"location": "eastus"})),
        )
        .await;
    assert!(r.status == 201 || r.status == 200, "identity: {}", r.status);
    let b = r.json();
    (
        name.to_string(),
        b["properties"]["principalId"].as_str().unwrap().to_string(),
        b["properties"]["clientId"].as_str().unwrap().to_string(),
    )
}

/// The identity's PostgreSQL token from the emulator's managed-identity endpoint.
async fn msi_token(env: &Env, client_id: &str) -> String {
    let url = format!(
        "{}?resource={POSTGRES_RESOURCE}&api-version=2019-08-01&client_id={client_id}",
        env.emu.msi_endpoint()
    );
    let secret = env.emu.msi_header_secret().to_string();
    let r = env
        .client
        .send("GET", &url, &[("X-IDENTITY-HEADER", &secret)], None)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    r.json()["access_token"].as_str().unwrap().to_string()
}

fn db_error(e: &tokio_postgres::Error) -> (String, String, String) {
    let d = e
        .as_db_error()
        .unwrap_or_else(|| panic!("a PostgreSQL error, got {e:?}"));
    (
        d.severity().to_string(),
        d.code().code().to_string(),
        d.message().to_string(),
    )
}

async fn refused(env: &Env, s: &Server, user: &str, password: &str) -> (String, String, String) {
    match connect(env, s, user, password, "postgres").await {
        Ok(_) => panic!("{user} was let in"),
        Err(e) => db_error(&e),
    }
}

/// A superuser session on the backend's own `postgres` database.
async fn backend_superuser(emu: &RunningEmulator) -> tokio_postgres::Client {
    let backend = emu.pg_backend();
    let (host, port) = backend.rsplit_once(':').unwrap();
    let (c, conn) = tokio_postgres::connect(
        &format!("host={host} port={port} user=postgres dbname=postgres"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    c
}

/// Drops this test's databases and roles from the shared backend.
async fn clean_up(env: &Env, roles: &[&str]) {
    env.emu.stop_pg_gateways().await;
    let c = backend_superuser(&env.emu).await;
    for r in roles {
        let _ = c
            .batch_execute(&format!(
                "DROP ROLE IF EXISTS \"{}\"",
                r.replace('"', "\"\"")
            ))
            .await;
    }
}

// ---- scenarios ----

#[tokio::test]
async fn entra_admin_creates_a_managed_identity_role_and_the_identity_selects_as_granted() {
    let env = support::start().await;
    let upn = format!("{}@contoso.example", unique("admin"));
    let (s, admin_oid) = server_with_admin(&env, "rg-gw1", "pg-gw1", &upn).await;
    let (mi, mi_oid, mi_client) = identity(&env, "rg-gw1", &unique("app-id")).await;

    let admin = connect(&env, &s, &upn, &pg_token(&env, &admin_oid), "postgres")
        .await
        .expect("admin signs in");
    let me = admin
        .query_one(
            "SELECT current_user::text, pg_has_role(current_user, 'azure_pg_admin', 'MEMBER')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(me.get::<_, String>(0), upn);
    assert!(me.get::<_, bool>(1), "the Entra admin is in azure_pg_admin");

    let created: String = admin
        .query_one(
            "SELECT pg_catalog.pgaadauth_create_principal($1, false, false)",
            &[&mi],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(created, format!("Created role for \"{mi}\""));
    let unknown = admin
        .query_one(
            "SELECT pgaadauth_create_principal('nobody-in-the-tenant', false, false)",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(
        db_error(&unknown).2,
        "Could not validate AAD user nobody-in-the-tenant because its name is not found in the tenant."
    );
    let listed = admin.query("SELECT rolname::text, principalType, objectId, isAdmin FROM pgaadauth_list_principals(false)", &[]).await.unwrap();
    let row = listed
        .iter()
        .find(|r| r.get::<_, String>(0) == mi)
        .expect("the identity is listed");
    assert_eq!(row.get::<_, String>(1), "service");
    assert_eq!(row.get::<_, String>(2), mi_oid);
    assert_eq!(row.get::<_, i32>(3), 0);
    let admins = admin
        .query(
            "SELECT rolname::text FROM pgaadauth_list_principals(true)",
            &[],
        )
        .await
        .unwrap();
    assert!(
        admins.iter().any(|r| r.get::<_, String>(0) == upn),
        "the admin is listed as admin"
    );

    admin
        .batch_execute(&format!(
            "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1), (2); GRANT SELECT ON orders TO \"{mi}\";"
        ))
        .await
        .unwrap();

    let app = connect(
        &env,
        &s,
        &mi,
        &msi_token(&env, &mi_client).await,
        "postgres",
    )
    .await
    .expect("the identity signs in");
    let n: i64 = app
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
    let denied = app
        .batch_execute("INSERT INTO orders VALUES (3)")
        .await
        .unwrap_err();
    assert_eq!(db_error(&denied).1, "42501", "not granted: {denied}");

    drop((admin, app));
    clean_up(&env, &[&mi, &upn]).await;
}

#[tokio::test]
async fn wrong_tokens_and_passwords_are_refused_with_postgresql_messages() {
    let env = support::start().await;
    let upn = format!("{}@contoso.example", unique("admin"));
    let (s, admin_oid) = server_with_admin(&env, "rg-gw2", "pg-gw2", &upn).await;
    let (mi, mi_oid, _) = identity(&env, "rg-gw2", &unique("app-id")).await;
    let other = env
        .emu
        .directory()
        .add_service_principal(&unique("other-app"));
    let admin = connect(&env, &s, &upn, &pg_token(&env, &admin_oid), "postgres")
        .await
        .unwrap();
    admin
        .query_one(
            "SELECT pgaadauth_create_principal($1, false, false)",
            &[&mi],
        )
        .await
        .unwrap();

    let failed = |user: &str| {
        (
            "FATAL".to_string(),
            "28P01".to_string(),
            format!("password authentication failed for user \"{user}\""),
        )
    };
    // Expired: signed by the tenant, right audience and principal, past its exp.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expired = env.emu.mint_oidc_token(json!({
        "iss": format!("https://sts.windows.net/{}/", env.emu.tenant_id()),
        "aud": POSTGRES_RESOURCE, "oid": mi_oid, "tid": env.emu.tenant_id(), "idtyp": "app",
        "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600,
    }));
    assert_eq!(refused(&env, &s, &mi, &expired).await, failed(&mi));
    // A token for ARM.
    let arm = env
        .emu
        .issue_access_token(&mi_oid, "https://management.azure.com/")
        .unwrap();
    assert_eq!(refused(&env, &s, &mi, &arm).await, failed(&mi));
    // Another principal's valid PostgreSQL token.
    assert_eq!(
        refused(&env, &s, &mi, &pg_token(&env, &other.object_id)).await,
        failed(&mi)
    );
    // A plain password while password authentication is disabled.
    assert_eq!(refused(&env, &s, &mi, "hunter2").await, failed(&mi));
    // The principal's own token, but nobody created its role.
    let stranger = env
        .emu
        .directory()
        .add_service_principal(&unique("no-role-app"));
    assert_eq!(
        refused(
            &env,
            &s,
            &stranger.display_name,
            &pg_token(&env, &stranger.object_id)
        )
        .await,
        (
            "FATAL".into(),
            "28000".into(),
            format!("role \"{}\" does not exist", stranger.display_name)
        )
    );
    // Not a database of this server.
    let e = connect(&env, &s, &upn, &pg_token(&env, &admin_oid), "nosuchdb")
        .await
        .unwrap_err();
    assert_eq!(db_error(&e).1, "3D000");

    drop(admin);
    clean_up(&env, &[&mi, &upn]).await;
}

#[tokio::test]
async fn a_plaintext_startup_is_refused_with_ssl_required() {
    let env = support::start().await;
    let upn = format!("{}@contoso.example", unique("admin"));
    let (s, _) = server_with_admin(&env, "rg-gw3", "pg-gw3", &upn).await;
    let mut tcp = tokio::net::TcpStream::connect((s.host.as_str(), s.port))
        .await
        .unwrap();
    let mut body = 196608i32.to_be_bytes().to_vec();
    body.extend_from_slice(b"user\0x\0database\0postgres\0\0");
    let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    msg.extend(body);
    tcp.write_all(&msg).await.unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await.unwrap();
    assert_eq!(answer.first(), Some(&b'E'));
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.contains("SFATAL") && text.contains("MSSL required"),
        "{text}"
    );
    clean_up(&env, &[&upn]).await;
}

#[tokio::test]
async fn a_group_member_signs_in_with_the_group_name() {
    let env = support::start().await;
    let upn = format!("{}@contoso.example", unique("admin"));
    let (s, admin_oid) = server_with_admin(&env, "rg-gw4", "pg-gw4", &upn).await;
    let dir = env.emu.directory();
    let dev = dir.add_user(&format!("{}@contoso.example", unique("dev")), "Developer");
    let group = dir.add_group(&unique("readwrite"), &[&dev.object_id]);
    let outsider = dir.add_user(
        &format!("{}@contoso.example", unique("outsider")),
        "Outsider",
    );

    let admin = connect(&env, &s, &upn, &pg_token(&env, &admin_oid), "postgres")
        .await
        .unwrap();
    let created: String = admin
        .query_one(
            "SELECT pgaadauth_create_principal($1, false, false)",
            &[&group.display_name],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        created,
        format!("Created role for \"{}\"", group.display_name)
    );

    let member = connect(
        &env,
        &s,
        &group.display_name,
        &pg_token(&env, &dev.object_id),
        "postgres",
    )
    .await
    .expect("a member signs in as the group");
    let who: String = member
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(who, group.display_name);
    assert_eq!(
        refused(
            &env,
            &s,
            &group.display_name,
            &pg_token(&env, &outsider.object_id)
        )
        .await
        .1,
        "28P01"
    );
    // By object id, as an admin: the user signs in with its UPN and is in azure_pg_admin.
    let created: String = admin
        .query_one(
            "SELECT pgaadauth_create_principal_with_oid($1, $2, 'user', true, false)",
            &[&outsider.user_principal_name, &outsider.object_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        created,
        format!("Created role for \"{}\"", outsider.user_principal_name)
    );
    let o = connect(
        &env,
        &s,
        &outsider.user_principal_name,
        &pg_token(&env, &outsider.object_id),
        "postgres",
    )
    .await
    .expect("a principal created by object id signs in");
    let is_admin: bool = o
        .query_one(
            "SELECT pg_has_role(current_user, 'azure_pg_admin', 'MEMBER')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(is_admin);
    drop((admin, member, o));
    clean_up(
        &env,
        &[&group.display_name, &outsider.user_principal_name, &upn],
    )
    .await;
}

#[tokio::test]
async fn databases_created_through_arm_are_real_and_go_with_the_server() {
    let env = support::start().await;
    let upn = format!("{}@contoso.example", unique("admin"));
    let (s, admin_oid) = server_with_admin(&env, "rg-gw5", "pg-gw5", &upn).await;
    let sp = env.server_path("rg-gw5", "pg-gw5");
    let r = env
        .call(
            "PUT",
            &format!("{sp}/databases/appdb?{PG}"),
            Some(json!({"properties": {"charset": "UTF8"}})),
        )
        .await;
    assert_eq!(env.wait(&r).await["status"], "Succeeded");
    let gw = env.emu.pg_gateway(&s.host).await.unwrap();

    let token = pg_token(&env, &admin_oid);
    let c = connect(&env, &s, &upn, &token, "appdb")
        .await
        .expect("appdb exists behind the gateway");
    let real: String = c
        .query_one("SELECT current_database()::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(real, format!("{}__appdb", gw.backend_prefix));
    // pgaadauth lives in postgres only, as on Azure.
    let e = c
        .query_one("SELECT pgaadauth_list_principals(false)", &[])
        .await
        .unwrap_err();
    assert_eq!(db_error(&e).1, "42883");

    // SQL that names the database by its Azure name reaches the backend database behind it,
    // sent as a simple query and as a prepared statement.
    c.batch_execute("COMMENT ON DATABASE appdb IS 'simple'")
        .await
        .expect("COMMENT ON DATABASE appdb through the gateway");
    let comment = "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()";
    let seen: String = c.query_one(comment, &[]).await.unwrap().get(0);
    assert_eq!(seen, "simple");
    c.execute("COMMENT ON DATABASE \"appdb\" IS 'prepared'", &[])
        .await
        .expect("a prepared statement naming \"appdb\"");
    let seen: String = c.query_one(comment, &[]).await.unwrap().get(0);
    assert_eq!(seen, "prepared");
    let e = c
        .batch_execute("GRANT CONNECT ON DATABASE otherdb TO PUBLIC")
        .await
        .unwrap_err();
    assert_eq!(
        db_error(&e).1,
        "3D000",
        "another server's databases stay out of reach"
    );
    drop(c);

    let r = env
        .call("DELETE", &format!("{sp}/databases/appdb?{PG}"), None)
        .await;
    assert_eq!(env.wait(&r).await["status"], "Succeeded");
    env.emu.pg_gateway(&s.host).await.unwrap();
    let e = connect(&env, &s, &upn, &token, "appdb").await.unwrap_err();
    assert_eq!(db_error(&e).1, "3D000");

    let r = env.call("DELETE", &format!("{sp}?{PG}"), None).await;
    assert_eq!(env.wait(&r).await["status"], "Succeeded");
    assert!(
        env.emu.pg_gateway(&s.host).await.is_none(),
        "the gateway stops with its server"
    );
    // Its real databases went with it (the address may be reused by another test's server).
    let b = backend_superuser(&env.emu).await;
    let left: i64 = b
        .query_one(
            "SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)",
            &[&format!("{}__", gw.backend_prefix)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the server's backend databases are dropped");
    clean_up(&env, &[&upn]).await;
}

#[tokio::test]
async fn password_auth_follows_the_servers_auth_config() {
    let env = support::start().await;
    require_backend(&env.emu).await;
    let login = unique("pgadmin").replace('-', "_");
    env.create_rg("rg-gw6").await;
    let path = format!("{}?{PG}", env.server_path("rg-gw6", "pg-gw6"));
    let r = env
        .call("PUT", &path, Some(json!({
            "location": "eastus",
            "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
            "properties": {"version": "16", "administratorLogin": login, "administratorLoginPassword": "S3cret!pass",
                "authConfig": {"activeDirectoryAuth": "Disabled", "passwordAuth": "Enabled"}},
        })))
        .await;
    assert_eq!(env.wait(&r).await["status"], "Succeeded");
    let fqdn = env.call("GET", &path, None).await.json()["properties"]["fullyQualifiedDomainName"]
        .as_str()
        .unwrap()
        .to_string();
    let gw = env.emu.pg_gateway(&fqdn).await.unwrap();
    let s = Server {
        host: fqdn,
        port: gw.addr.port(),
    };

    let c = connect(&env, &s, &login, "S3cret!pass", "postgres")
        .await
        .expect("the administrator login signs in");
    let who: String = c
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(who, login);
    drop(c);
    assert_eq!(refused(&env, &s, &login, "wrong").await.1, "28P01");
    // Entra is off: even a valid token for a real principal is only a wrong password.
    let sp = env.emu.directory().add_service_principal(&unique("app"));
    let (sev, code, msg) =
        refused(&env, &s, &sp.display_name, &pg_token(&env, &sp.object_id)).await;
    assert_eq!((sev.as_str(), code.as_str()), ("FATAL", "28P01"));
    assert_eq!(
        msg,
        format!(
            "password authentication failed for user \"{}\"",
            sp.display_name
        )
    );
    clean_up(&env, &[&login]).await;
}
