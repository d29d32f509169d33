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

/// The longest a token is kept, whatever expiry the token service claims (Entra's are about an
/// hour): a far-future expiry neither pins a token for ever nor overflows date arithmetic.
pub const MAX_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A token and when it was obtained.
type Slot = Arc<AsyncMutex<Option<(AccessToken, OffsetDateTime)>>>;

pub struct TokenCache {
    credential: Arc<dyn TokenCredential>,
    slots: Mutex<HashMap<String, Slot>>,
    margin: TimeDuration,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub fn new(credential: Arc<dyn TokenCredential>) -> Self {
        Self::with_margin(credential, RENEW_MARGIN)
    }

    pub fn with_margin(credential: Arc<dyn TokenCredential>, margin: std::time::Duration) -> Self {
        let margin = TimeDuration::try_from(margin).unwrap_or(TimeDuration::minutes(5));
        Self {
            credential,
            slots: Mutex::new(HashMap::new()),
            margin,
        }
    }

    /// A token for `scope`, renewed once it is within the renewal margin of its expiry (or past
    /// half its life, for tokens granted for less than twice the margin).
    pub async fn get(&self, scope: &str) -> Result<AccessToken, ArmError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(scope.to_string()).or_default().clone()
        };
        let mut cached = slot.lock().await;
        let now = OffsetDateTime::now_utc();
        if let Some((token, obtained)) = cached.as_ref() {
            if self.is_fresh(token, *obtained, now) {
                return Ok(token.clone());
            }
        }
        tracing::debug!(scope, "requesting an access token");
        // The credential runs as its own task so that a panic inside it (azure_identity adds
        // the token service's `expires_in` to the clock unchecked) is an error of this call,
        // not the end of the operation that asked.
        let credential = self.credential.clone();
        let asked = scope.to_string();
        let answer =
            tokio::spawn(async move { credential.get_token(&[asked.as_str()], None).await }).await;
        let token = match answer {
            Ok(Ok(token)) => token,
            Ok(Err(e)) if crate::azure::credential::is_transient(&e) => {
                return Err(ArmError::CredentialUnavailable(e.to_string()))
            }
            Ok(Err(e)) => return Err(ArmError::Credential(e.to_string())),
            Err(_) => {
                return Err(ArmError::Credential(
                    "the token service's answer could not be read (its expiry is out of range)"
                        .into(),
                ))
            }
        };
        *cached = Some((token.clone(), now));
        Ok(token)
    }

    /// A cached token is used until the renewal margin before its expiry, the margin shrinking
    /// to half the token's life for short-lived tokens; its life counts as at most
    /// [`MAX_TOKEN_LIFETIME`]. Date arithmetic is checked: an absurd expiry means "renew".
    fn is_fresh(&self, token: &AccessToken, obtained: OffsetDateTime, now: OffsetDateTime) -> bool {
        let cap = TimeDuration::try_from(MAX_TOKEN_LIFETIME).unwrap_or(TimeDuration::hours(24));
        let expires_on = obtained
            .checked_add(cap)
            .map_or(token.expires_on, |latest| token.expires_on.min(latest));
        let life = expires_on - obtained;
        if life <= TimeDuration::ZERO {
            return false;
        }
        let margin = self.margin.min(life / 2);
        expires_on
            .checked_sub(margin)
            .is_some_and(|renew_at| renew_at > now)
    }

    /// Forgets the token of a scope (e.g. after ARM rejected it as expired).
    pub async fn invalidate(&self, scope: &str) {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(scope)
            .cloned();
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
        async fn get_token(
            &self,
            _: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(
                format!("token-{n}"),
                OffsetDateTime::now_utc() + self.lifetime,
            ))
        }
    }

    #[tokio::test]
    async fn a_token_is_renewed_only_when_near_its_expiry() {
        let fake = Arc::new(Fake {
            calls: AtomicUsize::new(0),
            lifetime: TimeDuration::minutes(60),
        });
        let cache = TokenCache::with_margin(fake.clone(), std::time::Duration::from_secs(3600 - 1));
        cache.get("s/.default").await.unwrap();
        cache.get("s/.default").await.unwrap();
        assert_eq!(
            fake.calls.load(Ordering::SeqCst),
            1,
            "a fresh token is kept until half its life at least"
        );
        let fake = Arc::new(Fake {
            calls: AtomicUsize::new(0),
            lifetime: TimeDuration::seconds(0),
        });
        let cache = TokenCache::new(fake.clone());
        cache.get("s/.default").await.unwrap();
        cache.get("s/.default").await.unwrap();
        assert_eq!(
            fake.calls.load(Ordering::SeqCst),
            2,
            "an expired token is renewed"
        );
    }

    #[tokio::test]
    async fn a_short_lived_token_is_kept_for_half_its_life() {
        let fake = Arc::new(Fake {
            calls: AtomicUsize::new(0),
            lifetime: TimeDuration::minutes(4),
        });
        let cache = TokenCache::new(fake.clone());
        cache.get("s/.default").await.unwrap();
        cache.get("s/.default").await.unwrap();
        assert_eq!(
            fake.calls.load(Ordering::SeqCst),
            1,
            "a 4-minute token is not renewed on every call"
        );
    }

    #[tokio::test]
    async fn concurrent_askers_of_one_scope_share_one_request() {
        let fake = Arc::new(Fake {
            calls: AtomicUsize::new(0),
            lifetime: TimeDuration::hours(1),
        });
        let cache = Arc::new(TokenCache::new(fake.clone()));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let c = cache.clone();
                tokio::spawn(async move { c.get("s/.default").await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn each_scope_has_its_own_token() {
        let fake = Arc::new(Fake {
            calls: AtomicUsize::new(0),
            lifetime: TimeDuration::hours(1),
        });
        let cache = TokenCache::new(fake.clone());
        for _ in 0..5 {
            cache.get("a/.default").await.unwrap();
            cache.get("b/.default").await.unwrap();
        }
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
    }

    /// Answers tokens with a fixed expiry, or panics like azure_identity does on an expiry
    /// out of range.
    #[derive(Debug)]
    struct Expiring {
        calls: AtomicUsize,
        expires_on: Option<OffsetDateTime>,
    }

    #[async_trait::async_trait]
    impl TokenCredential for Expiring {
        async fn get_token(
            &self,
            _: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            match self.expires_on {
                Some(at) => Ok(AccessToken::new("t", at)),
                None => panic!("resulting value is out of range"),
            }
        }
    }

    #[tokio::test]
    async fn absurd_expiries_neither_panic_nor_pin_a_token_for_ever() {
        for (expires_on, renewed) in [
            (latest(), false),
            (earliest(), true),
            (OffsetDateTime::now_utc() - TimeDuration::hours(1), true),
        ] {
            let fake = Arc::new(Expiring {
                calls: AtomicUsize::new(0),
                expires_on: Some(expires_on),
            });
            let cache = TokenCache::new(fake.clone());
            cache.get("s/.default").await.unwrap();
            cache.get("s/.default").await.unwrap();
            assert_eq!(
                fake.calls.load(Ordering::SeqCst),
                if renewed { 2 } else { 1 },
                "{expires_on}"
            );
        }
        // A token claimed to last until the year 9999 is still kept for at most a day.
        let cache = TokenCache::new(Arc::new(Expiring {
            calls: AtomicUsize::new(0),
            expires_on: None,
        }));
        let far = latest();
        let token = AccessToken::new("t", far);
        let now = OffsetDateTime::now_utc();
        assert!(cache.is_fresh(&token, now, now + TimeDuration::hours(23)));
        assert!(!cache.is_fresh(&token, now, now + TimeDuration::hours(25)));
    }

    #[tokio::test]
    async fn a_credential_that_panics_is_an_error_of_the_call() {
        let cache = TokenCache::new(Arc::new(Expiring {
            calls: AtomicUsize::new(0),
            expires_on: None,
        }));
        let err = cache.get("s/.default").await.unwrap_err();
        assert!(matches!(err, ArmError::Credential(_)), "{err}");
        assert!(err.to_string().contains("out of range"), "{err}");
    }

    /// 9999-12-31T23:59:59Z and -9999-01-01T00:00:00Z: the ends of the date type's range.
    fn latest() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(253_402_300_799).unwrap()
    }

    fn earliest() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(-377_705_116_800).unwrap()
    }
}
