//! The data plane: token-authenticated PostgreSQL sessions over TLS, pooled per server,
//! database and user; SQL text built safely; GRANT/REVOKE and the privilege table; ACL
//! introspection; the SQL resources' self-describing IDs.
//!
//! Nothing here knows the resource layer: a caller says how to sign in with a [`SignIn`].

pub mod catalog_snapshot;
pub mod function_acl;
pub mod grant;
pub mod id;
pub mod introspect;
pub mod pool;
pub mod quote;
pub mod session;
pub mod sign_in;
pub mod signature;

pub use session::{ConnInfo, FixedPassword, PasswordSource, SqlError, SslMode};
pub use sign_in::SignIn;
