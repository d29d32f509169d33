//! The ARM client under attack and faults, against the emulator (real TLS, real signed tokens)
//! and fake hosts on loopback that record every connection they get: the bearer token goes only
//! to the configured ARM endpoint; Retry-After values and token expiries of any size neither
//! panic nor hang; malformed IDs fail at once as bad input; a token service that is down is a
//! retryable error; tokens that expire every few seconds are renewed.

mod azure_support;

use azure_support::{server_body, start, start_with, Env, PG, RG};
use pgentra::azure::{ArmClient, ArmError, ErrorClass, TokenCache};
use pgentra_emulator::{EmulatorOptions, FaultKind, FaultRule, Service};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A host that must never be contacted: it records every connection and the bytes it got, and
/// answers like ARM would (so a client that does follow it carries on and is seen doing so).
struct FakeHost {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeHost {
    async fn start() -> Self {
        Self::on("127.0.0.1").await
    }

    async fn on(ip: &str) -> Self {
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16384];
                    let n = tokio::time::timeout(Duration::from_secs(2), sock.read(&mut buf))
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .unwrap_or(0);
                    log.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf[..n]).to_string());
                    let body = r#"{"status":"Succeeded","value":[]}"#;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    sock.write_all(answer.as_bytes()).await.ok();
                    sock.shutdown().await.ok();
                });
            }
        });
        Self { port, seen }
    }

    fn assert_never_contacted(&self, case: &str) {
        let seen = self.seen.lock().unwrap();
        assert!(
            seen.is_empty(),
            "{case}: the fake host got {} connection(s); first request: {:?}",
            seen.len(),
            seen.first().map(|r| r.lines().next().unwrap_or_default())
        );
    }
}

/// An ARM client for the emulator bound to a short deadline (no case may take long).
fn bounded(env: &Env, secs: u64) -> ArmClient {
    env.arm.with_timeout(Duration::from_secs(secs))
}

fn replace_headers(env: &Env, path: &str, method: &str, headers: &[(&str, String)]) {
    let set: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    env.emu.add_fault(
        FaultRule::new(FaultKind::Headers { set }, path, 1)
            .on(Service::Arm)
            .method(method),
    );
}

#[tokio::test]
async fn long_running_operation_urls_off_the_arm_endpoint_are_refused_and_never_contacted() {
    let env = start().await;
    env.create_rg("rg-lro-elsewhere").await;
    let fake = FakeHost::start().await;
    let arm_port = env.emu.arm_url().rsplit(':').next().unwrap().to_string();
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "Azure-AsyncOperation over plain http to another port",
            vec![(
                "azure-asyncoperation",
                format!(
                    "http://127.0.0.1:{}/subscriptions/s/op?api-version=1",
                    fake.port
                ),
            )],
        ),
        (
            "Azure-AsyncOperation over https to another port",
            vec![(
                "azure-asyncoperation",
                format!(
                    "https://127.0.0.1:{}/subscriptions/s/op?api-version=1",
                    fake.port
                ),
            )],
        ),
        (
            "Location over plain http to another port",
            vec![(
                "location",
                format!("http://127.0.0.1:{}/subscriptions/s/result", fake.port),
            )],
        ),
        (
            "Azure-AsyncOperation over plain http on the ARM host and port",
            vec![(
                "azure-asyncoperation",
                format!("http://127.0.0.1:{arm_port}/subscriptions/s/op?api-version=1"),
            )],
        ),
        (
            "Azure-AsyncOperation with user info naming another host",
            vec![(
                "azure-asyncoperation",
                format!(
                    "https://127.0.0.1:{arm_port}@127.0.0.1:{}/subscriptions/s/op",
                    fake.port
                ),
            )],
        ),
    ];
    for (n, (case, headers)) in cases.into_iter().enumerate() {
        let path = env.server_path("rg-lro-elsewhere", &format!("pg-lro-{n}"));
        let header = headers[0].0;
        replace_headers(&env, &path, "PUT", &headers);
        let err = bounded(&env, 20)
            .put(&path, PG, &server_body())
            .await
            .expect_err(case);
        fake.assert_never_contacted(case);
        // Azure accepted the write: the error keeps the resource's ID (nothing is orphaned)
        // and says which header pointed where.
        assert_eq!(
            err.accepted_resource_id(),
            Some(path.as_str()),
            "{case}: {err}"
        );
        let text = err.to_string();
        let named = if header == "location" {
            "Location header"
        } else {
            "Azure-AsyncOperation header"
        };
        assert!(text.contains(named), "{case}: {text}");
        assert!(text.contains("refusing to follow"), "{case}: {text}");
        assert!(text.contains("127.0.0.1"), "{case}: {text}");
    }
}

#[tokio::test]
async fn a_next_link_off_the_arm_endpoint_is_refused_and_never_contacted() {
    // ARM here is a fake on loopback that answers a list page whose nextLink leaves it.
    let other = FakeHost::start().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let page = format!(
        r#"{{"value":[{{"name":"a"}}],"nextLink":"http://127.0.0.1:{}/subscriptions/s/things?page=2"}}"#,
        other.port
    );
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 16384];
        let _ = sock.read(&mut buf).await.unwrap();
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
            page.len()
        );
        sock.write_all(answer.as_bytes()).await.unwrap();
        sock.shutdown().await.ok();
    });
    let err = fake_arm_client(&base)
        .list("/subscriptions/s/things", "2024-11-30")
        .await
        .expect_err("a nextLink to another host");
    other.assert_never_contacted("nextLink to another port");
    assert!(matches!(err, ArmError::ForeignUrl { .. }), "{err}");
    assert!(err.to_string().contains("nextLink"), "{err}");
}

#[tokio::test]
async fn a_crafted_path_cannot_move_the_request_to_another_host_or_port() {
    let fake = FakeHost::start().await;
    let other_host = FakeHost::on("127.0.0.2").await;
    // Endpoint + path was string concatenation: the path could finish the endpoint's authority.
    let cases = [
        (
            "http://127.0.0.1".to_string(),
            format!(":{}/subscriptions/s/resourceGroups/g", fake.port),
            &fake,
        ),
        (
            "http://127.0.0".to_string(),
            format!(".2:{}/subscriptions/s/resourceGroups/g", other_host.port),
            &other_host,
        ),
    ];
    for (endpoint, path, host) in cases {
        let err = fake_arm_client(&endpoint)
            .get(&path, RG)
            .await
            .expect_err(&path);
        host.assert_never_contacted(&path);
        assert!(matches!(err, ArmError::InvalidPath { .. }), "{path}: {err}");
        assert_eq!(err.class(), ErrorClass::InvalidArgument, "{err}");
    }
}

#[tokio::test]
async fn malformed_ids_fail_at_once_as_bad_input_and_an_empty_delete_is_an_error() {
    let env = start().await;
    let sub = env.sub();
    let before = env.emu.servers().len();
    for path in [
        String::new(),
        format!("/subscriptions/{sub}/resourceGroups/rg x/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg"),
        format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg?api-version=2017-12-01"),
        format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/.."),
        format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg#x"),
        format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg\u{7}"),
    ] {
        let started = std::time::Instant::now();
        for err in [
            env.arm.get(&path, PG).await.expect_err(&path),
            env.arm.delete(&path, PG).await.expect_err(&path),
            env.arm.put(&path, PG, &server_body()).await.expect_err(&path),
        ] {
            assert!(matches!(err, ArmError::InvalidPath { .. }), "{path:?}: {err}");
            assert_eq!(err.class(), ErrorClass::InvalidArgument, "{path:?}: {err}");
        }
        // Generous: "at once" means no retries as for a network failure (those take minutes).
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path:?} took {:?}",
            started.elapsed()
        );
    }
    assert_eq!(env.emu.servers().len(), before, "nothing was created");
    assert_eq!(env.token_requests(), 0, "no token was even asked for");
}

#[tokio::test]
async fn a_huge_retry_after_on_throttling_ends_in_a_clear_timeout_not_a_panic() {
    let env = start().await;
    env.create_rg("rg-retry-after").await;
    let path = env.rg_path("rg-retry-after");
    for retry_after in [u64::MAX, 10_000_000_000_000_000_000u64 / 2] {
        env.emu.add_fault(
            FaultRule::new(FaultKind::Throttle { retry_after }, &path, 1)
                .on(Service::Arm)
                .method("GET"),
        );
        // In its own task: a panic must show up as a failed join, not kill the test silently.
        let arm = bounded(&env, 3);
        let p = path.clone();
        let outcome = tokio::spawn(async move { arm.get(&p, RG).await }).await;
        let err = outcome
            .unwrap_or_else(|panic| panic!("Retry-After {retry_after} panicked the call: {panic}"))
            .expect_err("throttled past the deadline");
        assert!(
            matches!(err, ArmError::DeadlineExceeded { .. }),
            "Retry-After {retry_after}: {err}"
        );
        assert!(err.to_string().contains("429"), "{err}");
        env.emu.clear_faults();
    }
}

#[tokio::test]
async fn a_huge_or_malformed_retry_after_on_an_operation_does_not_panic_or_hang_past_the_deadline()
{
    let env = start().await;
    env.create_rg("rg-poll-after").await;
    for (n, value) in [
        "18446744073709551615",
        "1e19",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ]
    .into_iter()
    .enumerate()
    {
        let path = env.server_path("rg-poll-after", &format!("pg-poll-{n}"));
        replace_headers(&env, &path, "PUT", &[("retry-after", value.to_string())]);
        let arm = bounded(&env, 4);
        let p = path.clone();
        let started = std::time::Instant::now();
        let outcome = tokio::spawn(async move { arm.put(&p, PG, &server_body()).await }).await;
        let result = outcome
            .unwrap_or_else(|panic| panic!("Retry-After {value} panicked the call: {panic}"));
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "Retry-After {value}: the 4 s deadline was ignored ({:?})",
            started.elapsed()
        );
        if let Err(err) = result {
            // Waiting that long runs into the deadline: the write was accepted, its ID kept.
            assert_eq!(
                err.accepted_resource_id(),
                Some(path.as_str()),
                "{value}: {err}"
            );
        }
    }
}

#[tokio::test]
async fn a_token_service_claiming_an_expiry_out_of_range_is_an_error_not_a_panic() {
    let env = start_with(EmulatorOptions {
        token_lifetime: Duration::from_secs(1 << 62),
        ..Default::default()
    })
    .await;
    let arm = bounded(&env, 20);
    let path = env.rg_path("rg-any");
    let outcome = tokio::spawn(async move { arm.get(&path, RG).await }).await;
    let err = outcome
        .unwrap_or_else(|panic| panic!("the token's expiry panicked the call: {panic}"))
        .expect_err("no usable token");
    assert!(matches!(err, ArmError::Credential(_)), "{err}");
    assert!(err.to_string().contains("out of range"), "{err}");
}

#[tokio::test]
async fn tokens_that_expire_every_few_seconds_are_renewed_and_calls_keep_working() {
    let env = start_with(EmulatorOptions {
        token_lifetime: Duration::from_secs(2),
        ..Default::default()
    })
    .await;
    env.create_rg("rg-short-tokens").await;
    let path = env.rg_path("rg-short-tokens");
    let until = std::time::Instant::now() + Duration::from_secs(7);
    let mut calls = 0;
    while std::time::Instant::now() < until {
        let got = env
            .arm
            .get(&path, RG)
            .await
            .expect("a call with a renewed token");
        assert!(got.is_some());
        calls += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(calls > 10, "{calls}");
    assert!(
        env.token_requests() >= 3,
        "two-second tokens over seven seconds were renewed only {} time(s)",
        env.token_requests()
    );
}

#[tokio::test]
async fn a_token_service_that_is_down_is_a_retryable_error() {
    for (case, kind) in [
        ("503", FaultKind::Unavailable),
        ("dropped", FaultKind::Drop),
    ] {
        let env = start().await;
        env.emu
            .add_fault(FaultRule::new(kind, "", 10_000).on(Service::Login));
        let err = bounded(&env, 5)
            .get(&env.rg_path("rg-any"), RG)
            .await
            .expect_err(case);
        assert!(
            matches!(err, ArmError::CredentialUnavailable(_)),
            "{case}: {err}"
        );
        assert_eq!(err.class(), ErrorClass::Unavailable, "{case}: {err}");
        assert!(err.to_string().contains("signing in"), "{case}: {err}");
        assert!(!err.to_string().contains("eyJ"), "{case}: {err}");
    }
}

/// A client for a fake ARM endpoint (plain http on loopback) with a fixed token.
fn fake_arm_client(endpoint: &str) -> ArmClient {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    fixed_token_arm_client(endpoint, http)
}

/// A client with a fixed token (no token service) over `http`.
fn fixed_token_arm_client(endpoint: &str, http: reqwest::Client) -> ArmClient {
    ArmClient::with_policy(
        http,
        endpoint,
        "https://management.azure.com/.default",
        Arc::new(TokenCache::new(Arc::new(azure_support::FixedToken(
            "eyJ-fake-bearer",
        )))),
        azure_support::fast_policy(),
    )
    .with_timeout(Duration::from_secs(10))
}

#[tokio::test]
async fn a_redirect_from_arm_is_not_followed_to_another_host() {
    let other = FakeHost::start().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let to = format!(
        "http://127.0.0.1:{}/subscriptions/s/resourceGroups/g",
        other.port
    );
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 16384];
        let _ = sock.read(&mut buf).await.unwrap();
        let answer = format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        sock.write_all(answer.as_bytes()).await.unwrap();
        sock.shutdown().await.ok();
    });
    let err = fake_arm_client(&base)
        .get("/subscriptions/s/resourceGroups/g", RG)
        .await
        .expect_err("a redirect is an error, not a hop");
    other.assert_never_contacted("307 to another port");
    assert_eq!(err.status(), Some(307), "{err}");
}

#[tokio::test]
async fn the_client_secret_goes_only_to_an_https_authority() {
    // The credential chain posts the client secret to `authorityHost`; a plain-http authority
    // (a typo, or a tampered config) is refused by azure_identity before anything is sent.
    let env = start().await;
    let fake = FakeHost::start().await;
    let mut config = env.config.clone();
    config.authority_host = Some(format!("http://127.0.0.1:{}", fake.port));
    let env = azure_support::env_for(env.emu, config);
    let err = bounded(&env, 10)
        .get(&env.rg_path("rg-any"), RG)
        .await
        .expect_err("no token from an http authority");
    fake.assert_never_contacted("http authority");
    assert!(err.to_string().contains("HTTPS"), "{err}");
}

/// A wrong caCertFile (another emulator's CA) is a permanent failure, told at once with rustls'
/// cause and the fix, both by the token service and by ARM: before, the token service's own
/// retry policy retried the handshake for over a minute and then lost the cause.
#[tokio::test]
async fn a_certificate_that_does_not_verify_fails_at_once_with_the_cause_token_service_and_arm() {
    let env = start().await;
    let other = start().await;
    let mut config = env.config.clone();
    config.ca_cert_file = other.config.ca_cert_file.clone();
    let env = azure_support::env_for(env.emu, config);
    let path = env.rg_path("rg-any");
    refused_at_once(&env.arm, &path, "the token service").await;

    let http = pgentra::azure::http::build_client(env.config.ca_cert_file.as_deref()).unwrap();
    let arm = fixed_token_arm_client(&env.endpoints.arm_endpoint, http);
    refused_at_once(&arm, &path, "the ARM endpoint").await;
}

/// `arm`'s GET of `path` fails within seconds (against a two-minute deadline), as a refusal that
/// names `which` endpoint's certificate, rustls' cause and the caCertFile fix.
async fn refused_at_once(arm: &ArmClient, path: &str, which: &str) {
    let started = std::time::Instant::now();
    let err = arm
        .with_timeout(Duration::from_secs(120))
        .get(path, RG)
        .await
        .expect_err(which);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{which}: a refused certificate was retried for {:?}: {err:?}",
        started.elapsed()
    );
    let text = err.to_string();
    assert_eq!(err.class(), ErrorClass::FailedPrecondition, "{text}");
    let refused = format!("{which}'s TLS certificate was refused (bad signature");
    assert!(
        text.contains(&refused) && text.contains("caCertFile"),
        "{text}"
    );
}
