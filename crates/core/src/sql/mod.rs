//! The data plane: token-authenticated PostgreSQL sessions over TLS, pooled per server,
//! database and user; SQL text built safely; ACL introspection; self-describing IDs.

pub mod id;
pub mod introspect;
pub mod pool;
pub mod quote;
pub mod session;

pub use session::{ConnInfo, FixedPassword, PasswordSource, SqlError, SslMode};

use crate::resource::Context;
use std::sync::Arc;

/// A session for a resource operation: the password from the provider's credential chain (or
/// the process's fallback when there is no Azure client), TLS trusting caCertFile.
pub(crate) async fn session_for(ctx: &Context, info: &ConnInfo) -> Result<pool::Session, SqlError> {
    let source: Arc<dyn PasswordSource> = match &ctx.azure {
        Some(azure) => Arc::new(session::AzureToken(azure.clone())),
        None => pool::fallback_password_source().ok_or_else(|| {
            SqlError::Setup(
                "no Microsoft Entra credential to sign in to PostgreSQL with: configure the provider".into(),
            )
        })?,
    };
    let tls = pool::tls_for(ctx.config.ca_cert_file.as_deref())?;
    let signing_in = pool::session(info, source.as_ref(), &tls);
    match ctx.timeout {
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
