//! What the emulated servers take from the backend PostgreSQL they run on: its version (a server
//! is the backend's major version) and its settings (the server-parameter catalogue). Read once
//! per emulator, when the first server request needs them.

use super::config_catalogue::Catalogue;
use crate::pg::backend::Backend;
use crate::Inner;
use std::sync::Arc;

pub(crate) struct BackendFacts {
    /// Where the backend listens (for messages).
    pub addr: String,
    /// The backend's (major, minor) version, or why it is unknown (the backend does not answer).
    pub version: Result<(u32, u32), String>,
    pub catalogue: Catalogue,
}

impl BackendFacts {
    /// Facts without a backend: Azure's own parameters only, the version unknown.
    pub fn unknown(addr: String, why: String) -> Self {
        Self {
            addr,
            version: Err(why),
            catalogue: Catalogue::new(&[]),
        }
    }
}

/// The backend's facts, read on first use and kept; while the backend does not answer, facts
/// saying so (asked again next time).
pub(crate) async fn load(inner: &Inner) -> Arc<BackendFacts> {
    if let Some(known) = inner
        .backend_facts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
    {
        return known;
    }
    let backend = Backend::from_env();
    let read = async {
        let version = backend.version().await?;
        let settings = backend.settings().await?;
        Ok::<_, crate::pg::backend::BackendError>((version, settings))
    };
    match read.await {
        Ok((version, settings)) => {
            let facts = Arc::new(BackendFacts {
                addr: backend.addr.clone(),
                version: Ok(version),
                catalogue: Catalogue::new(&settings),
            });
            *inner
                .backend_facts
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(facts.clone());
            facts
        }
        Err(e) => {
            tracing::warn!(error = %e, "the backend PostgreSQL does not answer: server versions and parameters unknown");
            Arc::new(BackendFacts::unknown(backend.addr, e.to_string()))
        }
    }
}
