//! The lifecycle every SQL resource shares, beside the ARM one (arm_resource.rs): the opening
//! of each operation written once. An operation knows its resource's ID, signs in as the
//! provider's context says (the credential chain's token, TLS trusting caCertFile, the
//! operation's timeout), and wraps every SQL failure with that ID.

use crate::props::Props;
use crate::resource::{Context, Error};
use crate::resources::connection::conn_info;
use crate::sql::id::SqlResourceId;
use crate::sql::pool::{self, Session};
use crate::sql::session::AzureToken;
use crate::sql::session::UNVERIFIED_TLS;
use crate::sql::{ConnInfo, PasswordSource, SignIn, SqlError, SslMode};
use std::sync::Arc;
use std::time::Duration;

/// One operation (create, read, update, delete) on the SQL resource `id`.
pub struct SqlOperation<'a> {
    ctx: &'a Context,
    id: String,
}

impl<'a> SqlOperation<'a> {
    /// `id` in its text form, as errors name it (for an existing resource, the ID as given).
    pub fn new(ctx: &'a Context, id: impl Into<String>) -> Self {
        Self { ctx, id: id.into() }
    }

    /// The operation on an existing resource: its typed ID, parsed from `id`, and the
    /// connection to reach it, the state's (the program may since sign in as another admin),
    /// else on import (no state) the ID's.
    pub fn existing<Id: SqlResourceId>(
        ctx: &'a Context,
        id: &str,
        state: &Props,
    ) -> Result<(Self, Id, ConnInfo), Error> {
        let parsed = Id::parse(id).map_err(|e| Error::InvalidInput(e.to_string()))?;
        let conn = match conn_info(state) {
            Some(conn) => conn,
            None => {
                let conn = parsed.conn().clone();
                // An import: say which part of the ID to change (the session would refuse it
                // anyway, before any password is sent).
                if conn.ssl_mode != SslMode::VerifyFull {
                    return Err(Error::InvalidInput(format!(
                        "the ID {} asks for sslmode={}: {UNVERIFIED_TLS}. Import it with the same ID \
                         without the sslmode part",
                        short_id(id),
                        conn.ssl_mode.as_str()
                    )));
                }
                conn
            }
        };
        Ok((Self::new(ctx, id), parsed, conn))
    }

    /// The operation's timeout, when the engine set one.
    pub fn timeout(&self) -> Option<Duration> {
        self.ctx.timeout
    }

    /// A failure of the SQL layer, as this resource's error.
    pub fn fail(&self, source: impl Into<SqlError>) -> Error {
        Error::Sql {
            id: self.id.clone(),
            source: source.into(),
        }
    }

    /// A session to `info`, the SQL layer's error kept for callers that read its SQLSTATE
    /// first (a database that is gone).
    pub async fn try_session(&self, info: &ConnInfo) -> Result<Session, SqlError> {
        sign_in(self.ctx)?.session(info).await
    }

    /// How this operation signs in, for a caller that opens sessions only when it needs them.
    pub fn sign_in(&self) -> Result<SignIn, Error> {
        sign_in(self.ctx).map_err(|e| self.fail(e))
    }

    /// A session to `info`.
    pub async fn session(&self, info: &ConnInfo) -> Result<Session, Error> {
        self.try_session(info).await.map_err(|e| self.fail(e))
    }
}

/// An ID as a message quotes it: at most 200 characters.
fn short_id(id: &str) -> String {
    match id.char_indices().nth(200) {
        Some((end, _)) => format!("{:?}...", &id[..end]),
        None => format!("{id:?}"),
    }
}

/// How an operation in `ctx` signs in: a token from the provider's credential chain (or the
/// process's fallback source when there is no Azure client), TLS trusting caCertFile, and the
/// operation's timeout.
pub fn sign_in(ctx: &Context) -> Result<SignIn, SqlError> {
    let password: Arc<dyn PasswordSource> = match &ctx.azure {
        Some(azure) => Arc::new(AzureToken(azure.clone())),
        None => pool::fallback_password_source().ok_or_else(|| {
            SqlError::Setup(
                "no Microsoft Entra credential to sign in to PostgreSQL with: configure the provider".into(),
            )
        })?,
    };
    Ok(SignIn {
        password,
        tls: pool::tls_for(ctx.config.ca_cert_file.as_deref())?,
        timeout: ctx.timeout,
    })
}
