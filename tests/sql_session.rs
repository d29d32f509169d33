//! Sessions: verify-full TLS with caCertFile (no other sslMode signs in), the password asked once per new session (so a
//! renewed token is used), the pool bound, and sign-in errors that name the user and the
//! token's principal but never the password.

mod sql_support;

use async_trait::async_trait;
use pgentra::sql::pool;
use pgentra::sql::session::{connect, Password, TlsConfigs};
use pgentra::sql::{ConnInfo, PasswordSource, SqlError, SslMode};
use sql_support::*;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting {
    calls: AtomicUsize,
    password: String,
}

#[async_trait]
impl PasswordSource for Counting {
    async fn password(&self) -> Result<Password, SqlError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(Password(self.password.clone()))
    }
    async fn principal(&self) -> Option<String> {
        Some("developer@yourcompany.com (object id 11111111-2222-3333-4444-555555555555)".into())
    }
}

fn counting(password: &str) -> Counting {
    Counting {
        calls: AtomicUsize::new(0),
        password: password.into(),
    }
}

#[test]
fn each_new_session_asks_for_a_fresh_password_and_an_idle_one_is_reused() {
    run(async {
        // A key no other test of this binary uses.
        let info = admin("template1");
        let source = counting("");
        let tls = pool::tls_for(Some(SNAKEOIL)).unwrap();
        {
            let a = pool::session(&info, &source, &tls).await.unwrap();
            let b = pool::session(&info, &source, &tls).await.unwrap();
            a.execute("SELECT 1").await.unwrap();
            b.execute("SELECT 1").await.unwrap();
        }
        assert_eq!(
            source.calls.load(Ordering::SeqCst),
            2,
            "two sessions at once, two sign-ins"
        );
        let again = pool::session(&info, &source, &tls).await.unwrap();
        again.execute("SELECT 1").await.unwrap();
        assert_eq!(
            source.calls.load(Ordering::SeqCst),
            2,
            "an idle session is reused"
        );
        drop(again);
        // The bound: more sessions than slots wait rather than open.
        let held: Vec<_> = futures_all(&info, &source, &tls, pool::MAX_SESSIONS_PER_KEY).await;
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            pool::session(&info, &source, &tls),
        )
        .await;
        assert!(waiting.is_err(), "a fifth session waits for a free slot");
        drop(held);
        assert_eq!(pool::idle_count(&info), pool::MAX_SESSIONS_PER_KEY);
    });
}

async fn futures_all(
    info: &ConnInfo,
    source: &Counting,
    tls: &TlsConfigs,
    n: usize,
) -> Vec<pool::Session> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(pool::session(info, source, tls).await.unwrap());
    }
    out
}

#[test]
fn a_missing_role_names_the_user_name_and_the_tokens_principal_but_not_the_password() {
    run(async {
        let info = ConnInfo {
            user: "PG Admins Grup".into(),
            ..admin(DB)
        };
        let source = counting("eyJ0eXAiOiJKV1Qi.secret-token-value");
        let err = connect(&info, &source, &TlsConfigs::new(Some(SNAKEOIL)).unwrap())
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("\"PG Admins Grup\""), "{err}");
        assert!(err.contains("developer@yourcompany.com"), "{err}");
        assert!(!err.contains("secret-token-value"), "{err}");
    });
}

#[test]
fn verify_full_passes_with_the_servers_ca_in_ca_cert_file_and_the_name_it_carries() {
    run(async {
        let tls = TlsConfigs::new(Some(SNAKEOIL)).unwrap();
        let source = counting("");
        let named = ConnInfo {
            host: "localhost".into(),
            ssl_mode: SslMode::VerifyFull,
            ..admin(DB)
        };
        let full = connect(&named, &source, &tls).await;
        let by_ip = ConnInfo {
            host: "127.0.0.1".into(),
            ssl_mode: SslMode::VerifyFull,
            ..admin(DB)
        };
        let wrong_name = connect(&by_ip, &source, &tls).await;
        full.expect("the certificate names localhost and caCertFile holds it");
        let err = wrong_name
            .expect_err("127.0.0.1 is not in the certificate")
            .to_string();
        assert!(err.contains("certificate not valid for name"), "{err}");
        assert!(err.contains("connection.host"), "the fix: {err}");
    });
}

/// A state or an import ID written before may carry sslMode require or verify-ca: the session
/// refuses them before it asks for the password, naming the mode and why.
#[test]
fn modes_that_skip_a_certificate_check_never_ask_for_the_password() {
    run(async {
        let tls = TlsConfigs::new(Some(SNAKEOIL)).unwrap();
        for mode in [SslMode::Require, SslMode::VerifyCa] {
            let source = counting("eyJ0eXAiOiJKV1Qi.secret-token-value");
            let err = connect(
                &ConnInfo {
                    ssl_mode: mode,
                    ..admin(DB)
                },
                &source,
                &tls,
            )
            .await
            .expect_err("refused");
            assert!(matches!(err, SqlError::UnverifiedTls { .. }), "{err}");
            let text = err.to_string();
            assert!(
                text.contains(mode.as_str()) && text.contains("verify-full"),
                "{text}"
            );
            assert_eq!(
                source.calls.load(Ordering::SeqCst),
                0,
                "no password was asked for"
            );
        }
    });
}

#[test]
fn a_ca_cert_file_that_is_not_pem_is_a_setup_error_naming_it() {
    let err = TlsConfigs::new(Some("/etc/hostname"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("/etc/hostname"), "{err}");
}
