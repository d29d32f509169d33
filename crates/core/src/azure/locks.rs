//! Named in-process write locks: Azure refuses overlapping writes to one server (admins,
//! configurations, auth changes) and to the federated credentials of one identity, so every
//! resource that writes there takes the lock named for it first. Everything else runs in parallel.
//! Beside each server's lock: when this process last saw that server Ready, so the writes of its
//! children right after the server's own write need not ask again.

use crate::azure::ids::{FlexibleServerId, ManagedIdentityId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// How long a server this process saw Ready counts as Ready for its children's writes: long
/// enough for the writes of one deployment that follow the server's own, short enough that a
/// stop or restart made elsewhere is waited for again. Within it, a server busy after all still
/// answers 409, which the ARM client retries, and a stopped one answers Azure's own error.
pub const SEEN_READY_FOR: Duration = Duration::from_secs(60);

#[derive(Default, Debug)]
pub struct Locks {
    named: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
    /// Server (lowercased ID) -> when this process last saw it Ready.
    seen_ready: Mutex<HashMap<String, Instant>>,
}

/// Held while writing; the lock is released when dropped.
pub type LockGuard = OwnedMutexGuard<()>;

impl Locks {
    /// Waits for the lock of that name (names compare case-insensitively, as ARM IDs do).
    /// Private: every lock is named by a typed ID, through the methods below.
    async fn lock(&self, name: &str) -> LockGuard {
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

    /// Records what this process just saw of the server's state (its own write's answer, or a
    /// wait that ended Ready).
    pub fn saw_server(&self, server: &FlexibleServerId, ready: bool) {
        let key = server.to_string().to_ascii_lowercase();
        let mut seen = self.seen_ready.lock().unwrap_or_else(|e| e.into_inner());
        if ready {
            seen.insert(key, Instant::now());
        } else {
            seen.remove(&key);
        }
    }

    /// Whether this process saw the server Ready within [`SEEN_READY_FOR`].
    pub fn seen_ready(&self, server: &FlexibleServerId) -> bool {
        let key = server.to_string().to_ascii_lowercase();
        let seen = self.seen_ready.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(&key)
            .is_some_and(|at| at.elapsed() < SEEN_READY_FOR)
    }

    /// The lock of one user-assigned identity (its federated credentials).
    pub async fn lock_identity(&self, identity: &ManagedIdentityId) -> LockGuard {
        self.lock(&format!("identity:{identity}")).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_seen_ready_stays_so_until_seen_otherwise() {
        let locks = Locks::default();
        let server = FlexibleServerId::new("sub", "RG", "pg");
        let same_any_case = FlexibleServerId::new("sub", "rg", "PG");
        assert!(
            !locks.seen_ready(&server),
            "never seen: the write asks first"
        );
        locks.saw_server(&server, true);
        assert!(locks.seen_ready(&same_any_case));
        locks.saw_server(&same_any_case, false);
        assert!(
            !locks.seen_ready(&server),
            "seen updating: the next write waits again"
        );
    }

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
