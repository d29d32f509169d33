//! Microsoft Entra ID, as far as pgentra needs it: a directory, a token service, RS256 JWTs.

pub mod directory;
pub(crate) mod federation;
pub mod jwt;
pub mod tokens;
