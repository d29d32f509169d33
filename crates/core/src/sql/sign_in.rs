//! What a session signs in with, given explicitly by the caller: where the password comes
//! from, the TLS connectors, and how long signing in may take. The SQL layer knows nothing of
//! the resource layer; the resources build a [`SignIn`] from their operation's context.

use crate::sql::pool::{self, Session};
use crate::sql::session::{ConnInfo, PasswordSource, SqlError, TlsConfigs};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct SignIn {
    pub password: Arc<dyn PasswordSource>,
    pub tls: TlsConfigs,
    /// The operation's timeout: signing in gives up there.
    pub timeout: Option<Duration>,
}

impl SignIn {
    /// A pooled session to `info`: an idle one, or a new one signed in with a fresh password.
    pub async fn session(&self, info: &ConnInfo) -> Result<Session, SqlError> {
        let signing_in = pool::session(info, self.password.as_ref(), &self.tls);
        match self.timeout {
            Some(after) => {
                tokio::time::timeout(after, signing_in)
                    .await
                    .unwrap_or(Err(SqlError::TimedOut {
                        what: "signing in to PostgreSQL",
                        after,
                    }))
            }
            None => signing_in.await,
        }
    }
}
