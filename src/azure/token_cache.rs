//! Access tokens cached per scope and renewed before they expire: one process asks the token
//! service once per scope, however many calls and tasks need a token. Concurrent askers of one
//! scope wait for the one request in flight.

use crate::azure::ArmError;
use azure_core::credentials::{AccessToken, TokenCredential};
use azure_core::time::{Duration as TimeDuration, OffsetDateTime};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Mutex as AsyncMutex;

/// How long before expiry a token is renewed.
pub const RENEW_MARGIN: std::time::Duration = std::time::Duration::from_secs(300);

type Slot = Arc<AsyncMutex<Option<AccessToken>>>;

pub struct TokenCache {
    credential: Arc<dyn TokenCredential>,
    slots: Mutex<HashMap<String, Slot>>,
    margin: TimeDuration,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").field("credential", &self.credential).finish_non_exhaustive()
    }
}

impl TokenCache {
    pub fn new(credential: Arc<dyn TokenCredential>) -> Self {
        Self::with_margin(credential, RENEW_MARGIN)
    }

    pub fn with_margin(credential: Arc<dyn TokenCredential>, margin: std::time::Duration) -> Self {
        let margin = TimeDuration::try_from(margin).unwrap_or(TimeDuration::minutes(5));
        Self { credential, slots: Mutex::new(HashMap::new()), margin }
    }

    /// A token for `scope` valid for at least the renewal margin (or as long as the token service
    /// grants, when it grants less).
    pub async fn get(&self, scope: &str) -> Result<AccessToken, ArmError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(scope.to_string()).or_default().clone()
        };
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref() {
            if token.expires_on - self.margin > OffsetDateTime::now_utc() {
                return Ok(token.clone());
            }
        }
        tracing::debug!(scope, "requesting an access token");
        let token = self.credential.get_token(&[scope], None).await.map_err(|e| ArmError::Credential(e.to_string()))?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// Forgets the token of a scope (e.g. after ARM rejected it as expired).
    pub async fn invalidate(&self, scope: &str) {
        let slot = self.slots.lock().unwrap_or_else(|e| e.into_inner()).get(scope).cloned();
        if let Some(slot) = slot {
            *slot.lock().await = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::credentials::TokenRequestOptions;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug)]
    struct Fake {
        calls: AtomicUsize,
        lifetime: TimeDuration,
    }

    #[async_trait::async_trait]
    impl TokenCredential for Fake {
        async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(format!("token-{n}"), OffsetDateTime::now_utc() + self.lifetime))
        }
    }

    #[tokio::test]
    async fn a_token_near_its_expiry_is_renewed() {
        let fake = Arc::new(Fake { calls: AtomicUsize::new(0), lifetime: TimeDuration::minutes(4) });
        let cache = TokenCache::new(fake.clone());
        cache.get("s/.default").await.unwrap();
        cache.get("s/.default").await.unwrap();
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2, "a 4-minute token is inside the 5-minute margin");
    }

    #[tokio::test]
    async fn each_scope_has_its_own_token() {
        let fake = Arc::new(Fake { calls: AtomicUsize::new(0), lifetime: TimeDuration::hours(1) });
        let cache = TokenCache::new(fake.clone());
        for _ in 0..5 {
            cache.get("a/.default").await.unwrap();
            cache.get("b/.default").await.unwrap();
        }
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
    }
}
