//! The point of the stack, shown through the emulated server's gateway with the project's own
//! session code (tokio-postgres over rustls, verify-full against the emulator's CA): the admin
//! migrates the app's table; the app signs in with a token from its managed identity and reads
//! and writes it; a password is refused. Tokens are used, never printed: what is shown of a
//! token is whose it is and when it expires.

use super::render;
use pgentra_core::azure::{Azure, Caller};
use pgentra_core::sql::quote;
use pgentra_core::sql::session::{
    self, AzureToken, ConnInfo, FixedPassword, PasswordSource, SslMode, TlsConfigs,
};
use std::sync::Arc;

/// Where the server's PostgreSQL is and how to reach it.
pub struct Server {
    pub host: String,
    pub port: u16,
    pub tls: TlsConfigs,
}

impl Server {
    fn info(&self, user: &str, database: &str) -> ConnInfo {
        ConnInfo {
            host: self.host.clone(),
            port: self.port,
            database: database.to_owned(),
            user: user.to_owned(),
            ssl_mode: SslMode::VerifyFull,
        }
    }

    async fn connect(
        &self,
        user: &str,
        database: &str,
        password: &dyn PasswordSource,
    ) -> Result<tokio_postgres::Client, session::SqlError> {
        session::connect(&self.info(user, database), password, &self.tls).await
    }

    /// A session as the Entra admin (the deployer's token, signing in as the admin group).
    pub async fn as_admin(
        &self,
        azure: &Arc<Azure>,
        admin: &str,
        database: &str,
    ) -> Result<tokio_postgres::Client, String> {
        self.connect(admin, database, &AzureToken(azure.clone()))
            .await
            .map_err(|e| format!("signing in as the Entra admin {admin:?}: {e}"))
    }
}

/// Runs one statement, naming it when it fails.
async fn run(client: &tokio_postgres::Client, sql: &str) -> Result<(), String> {
    client
        .batch_execute(sql)
        .await
        .map_err(|e| session::SqlError::statement(sql, e).to_string())
}

/// The app's migration, as the admin: its table (the Grants' default privileges cover it).
pub async fn create_app_table(admin: &tokio_postgres::Client) -> Result<String, String> {
    let sql = "CREATE TABLE public.orders (id integer PRIMARY KEY, item text NOT NULL)";
    run(admin, sql).await?;
    Ok(sql.to_owned())
}

/// Drift made directly in PostgreSQL: someone takes DELETE on the app's table away.
pub async fn revoke_delete(
    admin: &tokio_postgres::Client,
    app_role: &str,
) -> Result<String, String> {
    let role = quote::ident(app_role).map_err(|e| e.to_string())?;
    let sql = format!("REVOKE DELETE ON public.orders FROM {role}");
    run(admin, &sql).await?;
    Ok(sql)
}

/// A token for PostgreSQL from the managed-identity endpoint, as the app's pod would get it.
pub struct IdentityEndpoint {
    pub url: String,
    pub header: String,
    pub http: reqwest::Client,
}

impl IdentityEndpoint {
    pub async fn postgres_token(&self, client_id: &str) -> Result<String, String> {
        let mut url = reqwest::Url::parse(&self.url)
            .map_err(|e| format!("the managed-identity endpoint {:?}: {e}", self.url))?;
        url.query_pairs_mut()
            .append_pair("resource", pgentra_emulator::POSTGRES_RESOURCE)
            .append_pair("api-version", "2019-08-01")
            .append_pair("client_id", client_id);
        let response = self
            .http
            .get(url)
            .header("X-IDENTITY-HEADER", &self.header)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "asking the managed-identity endpoint {} for a token: {e}",
                    self.url
                )
            })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("reading the managed-identity endpoint's answer: {e}"))?;
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        match json.get("access_token").and_then(|t| t.as_str()) {
            Some(token) if status.is_success() => Ok(token.to_owned()),
            _ => Err(format!(
                "the managed-identity endpoint answered {status}: {}",
                json.get("error_description")
                    .and_then(|d| d.as_str())
                    .unwrap_or("no token")
            )),
        }
    }
}

/// The app's side: token, sign-in, reads and writes; then a password that must be refused.
pub async fn app_reads_and_writes(
    server: &Server,
    endpoint: &IdentityEndpoint,
    app_role: &str,
    app_client_id: &str,
    database: &str,
) -> Result<(), String> {
    let token = endpoint.postgres_token(app_client_id).await?;
    let caller = Caller::from_token(&token).map_err(|e| e.to_string())?;
    render::detail(format!(
        "token: from the managed-identity endpoint for client id {app_client_id}: principal {}, audience PostgreSQL (the token itself is not shown)",
        caller.object_id
    ));
    let app = server
        .connect(app_role, database, &FixedPassword(token))
        .await
        .map_err(|e| format!("the app could not sign in with its token: {e}"))?;
    let row = app
        .query_one(
            "SELECT current_user::text, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
            &[],
        )
        .await
        .ok();
    render::detail(format!(
        "signed in: {}@{}:{}/{database}, TLS verify-full against the emulator's CA, no password{}",
        app_role,
        server.host,
        server.port,
        row.map(|r| format!(" (current_user = {})", r.get::<_, String>(0)))
            .unwrap_or_default()
    ));
    for sql in [
        "INSERT INTO public.orders VALUES (1, 'widget'), (2, 'gadget')",
        "UPDATE public.orders SET item = 'widget, blue' WHERE id = 1",
        "DELETE FROM public.orders WHERE id = 2",
    ] {
        run(&app, sql).await?;
        render::detail(format!("write: {sql}"));
    }
    let rows = app
        .query("SELECT id, item FROM public.orders ORDER BY id", &[])
        .await
        .map_err(|e| {
            session::SqlError::statement("SELECT id, item FROM public.orders", e).to_string()
        })?;
    let read: Vec<String> = rows
        .iter()
        .map(|r| format!("({}, {:?})", r.get::<_, i32>(0), r.get::<_, String>(1)))
        .collect();
    if read != ["(1, \"widget, blue\")"] {
        return Err(format!("the app read back {read:?}, not the row it wrote"));
    }
    render::detail(format!(
        "read:  SELECT id, item FROM public.orders -> {}",
        read.join(", ")
    ));
    render::say("        PROOF: the app read back the row it wrote, signed in with its managed identity's token");
    Ok(())
}

/// A password sign-in as the app's role: the server must refuse it; its error is shown.
pub async fn password_is_refused(
    server: &Server,
    app_role: &str,
    database: &str,
) -> Result<(), String> {
    render::detail(format!(
        "sign in as {app_role} with a password instead of a token ..."
    ));
    match server
        .connect(app_role, database, &FixedPassword("Passw0rd!".to_owned()))
        .await
    {
        Ok(_) => {
            Err("a password sign-in was accepted: password authentication is not off".to_owned())
        }
        Err(e) => {
            let message = match &e {
                // The server's own words come first; what follows is pgentra's advice.
                session::SqlError::Connect { message, code, .. } => format!(
                    "{} (SQLSTATE {})",
                    message.split(": signing in as").next().unwrap_or(message),
                    code.as_deref().unwrap_or("none")
                ),
                other => other.to_string(),
            };
            render::detail(format!("server: {message}"));
            render::say("        PROOF: password sign-in refused");
            Ok(())
        }
    }
}
