//! Named in-process write locks: Azure refuses overlapping writes to one server (admins,
//! configurations, auth changes) and to the federated credentials of one identity, so every
//! resource that writes there takes the lock named for it first. Everything else runs in parallel.

use crate::azure::ids::{FlexibleServerId, ManagedIdentityId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Default, Debug)]
pub struct Locks {
    named: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

/// Held while writing; the lock is released when dropped.
pub type LockGuard = OwnedMutexGuard<()>;

impl Locks {
    /// Waits for the lock of that name (names compare case-insensitively, as ARM IDs do).
    pub async fn lock(&self, name: &str) -> LockGuard {
        let mutex = {
            let mut named = self.named.lock().unwrap_or_else(|e| e.into_inner());
            named.entry(name.to_ascii_lowercase()).or_default().clone()
        };
        mutex.lock_owned().await
    }

    /// The lock of one flexible server (its admins, configurations, auth settings).
    pub async fn lock_server(&self, server: &FlexibleServerId) -> LockGuard {
        self.lock(&format!("server:{server}")).await
    }

    /// The lock of one user-assigned identity (its federated credentials).
    pub async fn lock_identity(&self, identity: &ManagedIdentityId) -> LockGuard {
        self.lock(&format!("identity:{identity}")).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_name_serialises_and_other_names_run_in_parallel() {
        let locks = Arc::new(Locks::default());
        let held = locks
            .lock("server:/subscriptions/s/resourceGroups/RG/x")
            .await;
        let same = {
            let locks = locks.clone();
            tokio::spawn(async move {
                locks
                    .lock("server:/subscriptions/s/resourcegroups/rg/X")
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!same.is_finished(), "the same name (any case) must wait");
        let other =
            tokio::time::timeout(Duration::from_millis(100), locks.lock("server:other")).await;
        assert!(other.is_ok(), "another name must not wait");
        drop(held);
        tokio::time::timeout(Duration::from_secs(1), same)
            .await
            .expect("released")
            .unwrap();
    }
}
