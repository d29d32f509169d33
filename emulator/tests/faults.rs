//! Fault injection: throttling, server errors, dropped connections, failed and cancelled
//! operations, the token service down; through the admin API and the Rust handle.

mod support;

use pgentra_emulator::{FaultKind, FaultRule, Service};
use serde_json::json;
use support::{PG, RG};

#[tokio::test]
async fn throttling_answers_429_with_retry_after_then_the_request_succeeds() {
    let env = support::start().await;
    let admin = format!("{}/_emulator/faults", env.emu.arm_url());
    let rule = json!({"pathPrefix": env.rg_path("rg-429"), "count": 2, "kind": {"type": "throttle", "retryAfter": 1}});
    let r = env
        .client
        .send(
            "POST",
            &admin,
            &[],
            Some(serde_json::to_vec(&rule).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    let path = format!("{}?{RG}", env.rg_path("rg-429"));
    for _ in 0..2 {
        let t = env
            .call("PUT", &path, Some(json!({"location": "eastus"})))
            .await;
        assert_eq!(t.status, 429);
        assert_eq!(t.header("retry-after").as_deref(), Some("1"));
        assert_eq!(t.json()["error"]["code"], "TooManyRequests");
    }
    assert_eq!(
        env.call("PUT", &path, Some(json!({"location": "eastus"})))
            .await
            .status,
        201
    );
    let left = env
        .client
        .send("GET", &admin, &[], None)
        .await
        .unwrap()
        .json();
    assert_eq!(left, json!([]));
    env.assert_spec_clean();
}

#[tokio::test]
async fn server_errors_and_dropped_connections_hit_only_the_next_n_requests() {
    let env = support::start().await;
    env.create_rg("rg-500").await;
    let path = format!("{}?{RG}", env.rg_path("rg-500"));
    env.emu
        .add_fault(FaultRule::new(FaultKind::ServerError, &env.rg_path("rg-500"), 1).method("GET"));
    env.emu
        .add_fault(FaultRule::new(FaultKind::Drop, &env.rg_path("rg-500"), 1).method("GET"));
    let first = env.call("GET", &path, None).await;
    assert_eq!(first.status, 500);
    let url = format!("{}{path}", env.emu.arm_url());
    let auth = format!("Bearer {}", env.token);
    let dropped = env
        .client
        .send("GET", &url, &[("authorization", &auth)], None)
        .await;
    assert!(dropped.is_err(), "the connection closes without an answer");
    assert_eq!(env.call("GET", &path, None).await.status, 200);
    env.assert_spec_clean();
}

#[tokio::test]
async fn an_lro_can_be_made_to_fail_or_be_canceled() {
    let env = support::start().await;
    env.create_rg("rg-lro").await;
    let failing = env.server_path("rg-lro", "pg-fail");
    env.emu
        .add_fault(FaultRule::new(FaultKind::LroFailed, &failing, 1));
    let body = json!({"location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {"authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"}}});
    let r = env
        .call("PUT", &format!("{failing}?{PG}"), Some(body.clone()))
        .await;
    let done = env.wait(&r).await;
    assert_eq!(done["status"], "Failed");
    assert!(done["error"]["code"].is_string() && done["error"]["message"].is_string());
    let result = env
        .call_raw("GET", &r.header("location").unwrap(), None)
        .await;
    assert!(result.status >= 400);
    assert_eq!(
        env.call("GET", &format!("{failing}?{PG}"), None)
            .await
            .status,
        404,
        "a failed create leaves nothing"
    );

    env.create_server("rg-lro", "pg-cancel").await;
    let sp = env.server_path("rg-lro", "pg-cancel");
    env.emu
        .add_fault(FaultRule::new(FaultKind::LroCanceled, &sp, 1));
    let patch = env
        .call(
            "PATCH",
            &format!("{sp}?{PG}"),
            Some(json!({"tags": {"x": "y"}})),
        )
        .await;
    let done = env.wait(&patch).await;
    assert_eq!(done["status"], "Canceled");
    let s = env.call("GET", &format!("{sp}?{PG}"), None).await.json();
    assert_eq!(s["properties"]["state"], "Ready");
    assert!(
        s["tags"].get("x").is_none(),
        "a canceled update changes nothing"
    );
    let state = env.emu.state();
    assert!(state["operations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["status"] == "Canceled"));
    env.assert_spec_clean();
}

#[tokio::test]
async fn token_service_down_answers_503_until_it_comes_back() {
    let env = support::start().await;
    env.emu
        .add_fault(FaultRule::new(FaultKind::Unavailable, "/", 1).on(Service::Login));
    let d = env.emu.deployer();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", d.app_id.as_str()),
        ("client_secret", d.secrets[0].as_str()),
        ("scope", "https://management.azure.com/.default"),
    ];
    let down = env
        .client
        .post_form(&env.emu.token_url(), &form)
        .await
        .unwrap();
    assert_eq!(down.status, 503);
    assert!(down.json()["error_codes"].is_array());
    // ARM on another listener is unaffected.
    assert_eq!(
        env.call("GET", &format!("{}/resourcegroups?{RG}", env.sub()), None)
            .await
            .status,
        200
    );
    assert_eq!(
        env.client
            .post_form(&env.emu.token_url(), &form)
            .await
            .unwrap()
            .status,
        200
    );
}

#[tokio::test]
async fn state_dump_shows_what_exists() {
    let env = support::start().await;
    env.create_rg("rg-state").await;
    env.create_server("rg-state", "pg-state").await;
    let r = env
        .client
        .send(
            "GET",
            &format!("{}/_emulator/state", env.emu.arm_url()),
            &[],
            None,
        )
        .await
        .unwrap();
    let s = r.json();
    assert_eq!(s["resourceGroups"][0]["name"], "rg-state");
    assert_eq!(s["flexibleServers"][0]["name"], "pg-state");
    assert!(s["directory"]["servicePrincipals"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["displayName"] == "pgentra-deployer"));
    assert!(
        !r.body
            .windows(8)
            .any(|w| w == &env.emu.deployer().secrets[0].as_bytes()[..8]),
        "no secrets in the dump"
    );
}

#[tokio::test]
async fn operations_can_be_made_slow_at_run_time() {
    let env = support::start().await;
    env.create_rg("rg-slow").await;
    let r = env
        .client
        .send(
            "POST",
            &format!("{}/_emulator/settings", env.emu.arm_url()),
            &[],
            Some(br#"{"lroDurationMs": 5000}"#.to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(r.json()["lroDurationMs"], 5000);
    let body = json!({"location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {"authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"}}});
    let started = env
        .call(
            "PUT",
            &format!("{}?{PG}", env.server_path("rg-slow", "pg-slow")),
            Some(body),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let status = env
        .call_raw(
            "GET",
            &started.header("azure-asyncoperation").unwrap(),
            None,
        )
        .await
        .json();
    assert_eq!(status["status"], "InProgress");
    env.emu.set_lro_duration(std::time::Duration::ZERO);
    env.create_server("rg-slow", "pg-fast").await;
    env.assert_spec_clean();
}
