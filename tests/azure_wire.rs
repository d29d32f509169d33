//! What goes on the wire, seen by a bare listener: User-Agent, api-version, the bearer token, and
//! an Azure-AsyncOperation URL polled exactly as given.

mod azure_support;

use azure_support::FixedToken;
use pgentra::azure::{ArmClient, RetryPolicy, TokenCache};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves canned answers in order, recording each request head.
async fn serve(answers: Vec<String>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for answer in answers {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 16384];
            let n = sock.read(&mut buf).await.unwrap();
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).to_string());
            sock.write_all(answer.as_bytes()).await.unwrap();
            sock.shutdown().await.ok();
        }
    });
    (base, seen)
}

fn answer(status: &str, headers: &[(&str, String)], body: &str) -> String {
    let mut s = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s + "\r\n" + body
}

fn client(base: &str) -> ArmClient {
    let policy = RetryPolicy {
        min_poll_interval: Duration::from_millis(5),
        initial_delay: Duration::from_millis(5),
        ..Default::default()
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().build().unwrap();
    ArmClient::with_policy(
        http,
        base,
        "https://management.azure.com/.default",
        Arc::new(TokenCache::new(Arc::new(FixedToken("tok-123")))),
        policy,
    )
}

#[tokio::test]
async fn requests_carry_the_user_agent_the_api_version_and_the_bearer_token() {
    let (base, seen) = serve(vec![answer(
        "404 Not Found",
        &[],
        r#"{"error":{"code":"ResourceNotFound","message":"gone"}}"#,
    )])
    .await;
    let got = client(&base)
        .get("/subscriptions/s/resourceGroups/g", "2021-04-01")
        .await
        .unwrap();
    assert!(got.is_none());
    let head = seen.lock().unwrap()[0].to_ascii_lowercase();
    assert!(
        head.starts_with("get /subscriptions/s/resourcegroups/g?api-version=2021-04-01 http/1.1"),
        "{head}"
    );
    assert!(
        head.contains(&format!("user-agent: pgentra/{}", pgentra_core::VERSION)),
        "{head}"
    );
    assert!(head.contains("authorization: bearer tok-123"), "{head}");
}

#[tokio::test]
async fn the_async_operation_url_is_polled_verbatim_and_the_resource_fetched_after_success() {
    // The status URL carries another api-version than the call, as Azure's examples do.
    let (base, seen) = script(|base| {
        let status_url = format!("{base}/subscriptions/s/providers/P/locations/eastus/azureAsyncOperation/op-1?api-version=2025-06-01-preview");
        vec![
            answer("202 Accepted", &[("azure-asyncoperation", status_url.clone()), ("location", format!("{base}/elsewhere")), ("retry-after", "0".into())], ""),
            answer("200 OK", &[("retry-after", "0".into())], r#"{"status":"InProgress"}"#),
            answer("200 OK", &[], r#"{"status":"Succeeded"}"#),
            answer("200 OK", &[], r#"{"name":"x","properties":{"state":"Ready"}}"#),
        ]
    })
    .await;
    let body = client(&base)
        .put(
            "/subscriptions/s/resourceGroups/g/providers/P/t/x",
            "2025-08-01",
            &json!({"location": "eastus"}),
        )
        .await
        .unwrap();
    assert_eq!(body["properties"]["state"], "Ready");
    let lines = seen.lock().unwrap().clone();
    assert_eq!(
        lines,
        vec![
            "PUT /subscriptions/s/resourceGroups/g/providers/P/t/x?api-version=2025-08-01 HTTP/1.1",
            "GET /subscriptions/s/providers/P/locations/eastus/azureAsyncOperation/op-1?api-version=2025-06-01-preview HTTP/1.1",
            "GET /subscriptions/s/providers/P/locations/eastus/azureAsyncOperation/op-1?api-version=2025-06-01-preview HTTP/1.1",
            "GET /subscriptions/s/resourceGroups/g/providers/P/t/x?api-version=2025-08-01 HTTP/1.1",
        ]
    );
}

/// Serves canned answers (built from the listener's own base URL) and records request lines.
async fn script(build: impl FnOnce(&str) -> Vec<String>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let answers = build(&base);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for a in answers {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 16384];
            let n = sock.read(&mut buf).await.unwrap();
            log.lock().unwrap().push(
                String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            );
            sock.write_all(a.as_bytes()).await.unwrap();
            sock.shutdown().await.ok();
        }
    });
    (base, seen)
}

#[tokio::test]
async fn a_list_follows_next_link_to_the_end() {
    let (base, seen) = script(|base| {
        vec![
            answer("200 OK", &[], &format!(r#"{{"value":[{{"name":"a"}}],"nextLink":"{base}/page2?$skiptoken=x&api-version=2024-11-30"}}"#)),
            answer("200 OK", &[], r#"{"value":[{"name":"b"}]}"#),
        ]
    })
    .await;
    let items = client(&base)
        .list("/subscriptions/s/things", "2024-11-30")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        items
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(
        seen.lock().unwrap()[1],
        "GET /page2?$skiptoken=x&api-version=2024-11-30 HTTP/1.1"
    );
}

#[tokio::test]
async fn a_post_action_follows_its_location_to_the_result() {
    let (base, seen) = script(|base| {
        vec![
            answer(
                "202 Accepted",
                &[
                    (
                        "location",
                        format!("{base}/operationResults/op-9?api-version=2025-06-01-preview"),
                    ),
                    ("retry-after", "0".into()),
                ],
                "",
            ),
            answer("202 Accepted", &[("retry-after", "0".into())], ""),
            answer("204 No Content", &[], ""),
        ]
    })
    .await;
    let result = client(&base)
        .post("/subscriptions/s/x/restart", "2025-08-01", None)
        .await
        .unwrap();
    assert!(result.is_none());
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_put_answered_with_a_running_provisioning_state_polls_the_resource() {
    let (base, seen) = script(|_| {
        vec![
            answer(
                "201 Created",
                &[("retry-after", "0".into())],
                r#"{"name":"x","properties":{"provisioningState":"Accepted"}}"#,
            ),
            answer(
                "200 OK",
                &[("retry-after", "0".into())],
                r#"{"name":"x","properties":{"provisioningState":"Updating"}}"#,
            ),
            answer(
                "200 OK",
                &[],
                r#"{"name":"x","properties":{"provisioningState":"Succeeded"}}"#,
            ),
        ]
    })
    .await;
    let body = client(&base)
        .put("/subscriptions/s/x", "1", &json!({}))
        .await
        .unwrap();
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_retry_after_of_throttling_is_waited_before_the_next_try() {
    let (base, _seen) = script(|_| {
        vec![
            answer(
                "429 Too Many Requests",
                &[("retry-after", "1".into())],
                r#"{"error":{"code":"TooManyRequests","message":"slow down"}}"#,
            ),
            answer("200 OK", &[], r#"{"name":"x"}"#),
        ]
    })
    .await;
    let started = std::time::Instant::now();
    let got = client(&base).get("/subscriptions/s/x", "1").await.unwrap();
    assert_eq!(got.unwrap()["name"], "x");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}
