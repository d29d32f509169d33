//! The ARM client against the emulator: real HTTPS (the emulator's CA via caCertFile), real
//! tokens, long-running operations, retries and ARM's errors.

mod azure_support;

use azure_support::{server_body, start, start_with, PG, RG};
use pgentra::azure::{ArmError, ErrorClass};
use pgentra_emulator::{EmulatorOptions, FaultKind, FaultRule, Service};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn put_of_a_flexible_server_follows_the_operation_to_succeeded() {
    let env = start().await;
    env.create_rg("rg-put").await;
    let server = env
        .arm
        .put(&env.server_path("rg-put", "pg-put"), PG, &server_body())
        .await
        .expect("created");
    assert_eq!(server["name"], "pg-put");
    assert_eq!(
        server["properties"]["state"], "Ready",
        "the final GET shows the finished server: {server}"
    );
    assert_eq!(
        server["properties"]["authConfig"]["passwordAuth"],
        "Disabled"
    );
}

#[tokio::test]
async fn get_of_a_missing_resource_is_none() {
    let env = start().await;
    env.create_rg("rg-missing").await;
    let got = env
        .arm
        .get(&env.server_path("rg-missing", "nobody-here"), PG)
        .await
        .expect("a 404 is not an error");
    assert!(got.is_none());
}

#[tokio::test]
async fn a_429_storm_is_waited_out_honouring_retry_after() {
    let env = start().await;
    env.create_rg("rg-429").await;
    env.emu.add_fault(
        FaultRule::new(
            FaultKind::Throttle { retry_after: 1 },
            &env.rg_path("rg-429"),
            2,
        )
        .on(Service::Arm)
        .method("GET"),
    );
    let started = Instant::now();
    let rg = env
        .arm
        .get(&env.rg_path("rg-429"), RG)
        .await
        .expect("succeeds after the storm");
    assert_eq!(rg.unwrap()["name"], "rg-429");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "two Retry-After: 1 waits, took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_500_is_retried_then_succeeds() {
    let env = start().await;
    env.create_rg("rg-500").await;
    env.emu.add_fault(
        FaultRule::new(
            FaultKind::ServerError,
            &env.server_path("rg-500", "pg-500"),
            2,
        )
        .on(Service::Arm)
        .method("PUT"),
    );
    let server = env
        .arm
        .put(&env.server_path("rg-500", "pg-500"), PG, &server_body())
        .await
        .expect("succeeds after two 500s");
    assert_eq!(server["properties"]["state"], "Ready");
}

#[tokio::test]
async fn a_dropped_connection_is_retried_then_succeeds() {
    let env = start().await;
    env.create_rg("rg-drop").await;
    env.emu.add_fault(
        FaultRule::new(FaultKind::Drop, &env.rg_path("rg-drop"), 1)
            .on(Service::Arm)
            .method("GET"),
    );
    let rg = env
        .arm
        .get(&env.rg_path("rg-drop"), RG)
        .await
        .expect("succeeds after the dropped connection");
    assert!(rg.is_some());
}

#[tokio::test]
async fn too_many_500s_end_in_an_unavailable_error_with_arms_code() {
    let env = start().await;
    env.create_rg("rg-500s").await;
    env.emu.add_fault(
        FaultRule::new(FaultKind::ServerError, &env.rg_path("rg-500s"), 100)
            .on(Service::Arm)
            .method("GET"),
    );
    let err = env
        .arm
        .get(&env.rg_path("rg-500s"), RG)
        .await
        .expect_err("gives up");
    assert_eq!(err.code(), Some("InternalServerError"), "{err}");
    assert_eq!(err.class(), ErrorClass::Unavailable);
    assert!(err.request_id().is_some(), "{err}");
}

#[tokio::test]
async fn an_operation_ending_failed_carries_arms_code_message_request_id_and_the_resource_id() {
    let env = start().await;
    env.create_rg("rg-fail").await;
    let path = env.server_path("rg-fail", "pg-fail");
    env.emu
        .add_fault(FaultRule::new(FaultKind::LroFailed, &path, 1));
    let err = env
        .arm
        .put(&path, PG, &server_body())
        .await
        .expect_err("the operation fails");
    assert_eq!(err.accepted_resource_id(), Some(path.as_str()), "{err}");
    let ArmError::Accepted { cause, .. } = &err else {
        panic!("{err:?}")
    };
    let ArmError::OperationFailed {
        status,
        body,
        request_id,
        ..
    } = cause.as_ref()
    else {
        panic!("{cause:?}")
    };
    assert_eq!(status, "Failed");
    assert!(
        !body.code.is_empty() && !body.message.is_empty(),
        "{body:?}"
    );
    assert!(request_id.is_some());
    let text = err.to_string();
    assert!(
        text.contains(&body.code)
            && text.contains(&body.message)
            && text.contains("x-ms-request-id"),
        "{text}"
    );
    assert_eq!(err.class(), ErrorClass::Unknown);
}

#[tokio::test]
async fn a_deadline_passing_during_an_operation_returns_the_accepted_id() {
    let env = start_with(EmulatorOptions {
        lro_duration: Duration::from_secs(5),
        ..Default::default()
    })
    .await;
    env.create_rg("rg-slow").await;
    let path = env.server_path("rg-slow", "pg-slow");
    let started = Instant::now();
    let err = env
        .arm
        .with_timeout(Duration::from_millis(600))
        .put(&path, PG, &server_body())
        .await
        .expect_err("times out");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the deadline is honoured: {:?}",
        started.elapsed()
    );
    assert_eq!(err.accepted_resource_id(), Some(path.as_str()), "{err}");
    let ArmError::Accepted { cause, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(cause.as_ref(), ArmError::DeadlineExceeded { .. }),
        "{cause:?}"
    );
}

#[tokio::test]
async fn delete_follows_the_operation_and_a_second_delete_is_a_no_op() {
    let env = start().await;
    env.create_rg("rg-del").await;
    let path = env.server_path("rg-del", "pg-del");
    env.arm
        .put(&path, PG, &server_body())
        .await
        .expect("created");
    env.arm.delete(&path, PG).await.expect("deleted");
    assert!(env.arm.get(&path, PG).await.unwrap().is_none());
    env.arm
        .delete(&path, PG)
        .await
        .expect("deleting what is gone succeeds");
}

#[tokio::test]
async fn a_bad_request_surfaces_arms_error_and_is_invalid_argument() {
    let env = start().await;
    env.create_rg("rg-bad").await;
    let err = env
        .arm
        .put(
            &env.server_path("rg-bad", "pg-bad"),
            PG,
            &json!({"location": "eastus"}),
        )
        .await
        .expect_err("refused");
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(
        err.accepted_resource_id().is_none(),
        "refused up front: nothing was accepted"
    );
    assert_eq!(err.class(), ErrorClass::InvalidArgument);
    assert!(err.to_string().contains("PUT /subscriptions/"), "{err}");
}

#[tokio::test]
async fn concurrent_federated_credentials_on_one_identity_are_retried_until_all_exist() {
    let env = start().await;
    env.create_rg("rg-fic").await;
    let identity = env.identity_path("rg-fic", "id-fic");
    env.arm
        .put(
            &identity,
            azure_support::MSI,
            &json!({"location": "eastus"}),
        )
        .await
        .expect("identity");
    let mut tasks = Vec::new();
    for i in 0..4 {
        let arm = env.arm.clone();
        let path = format!("{identity}/federatedIdentityCredentials/fic-{i}");
        let issuer = env.emu.oidc_issuer_url().to_string();
        tasks.push(tokio::spawn(async move {
            let body = json!({"properties": {"issuer": issuer, "subject": format!("system:serviceaccount:ns:sa{i}"), "audiences": ["api://AzureADTokenExchange"]}});
            arm.put(&path, azure_support::MSI, &body).await
        }));
    }
    for t in tasks {
        t.await
            .unwrap()
            .expect("each write ends in success after the race errors");
    }
    let list = env
        .arm
        .list(
            &format!("{identity}/federatedIdentityCredentials"),
            azure_support::MSI,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list.len(), 4, "{list:?}");
    let races = env
        .emu
        .arm_exchanges()
        .iter()
        .filter(|x| x.method == "PUT" && x.status == 409)
        .count();
    assert!(
        races > 0,
        "the writes did overlap (the emulator refused some with 409)"
    );
}

#[tokio::test]
async fn the_arm_token_is_the_deployers_for_the_arm_audience() {
    let env = start().await;
    env.create_rg("rg-ua").await;
    let token = env.tokens.get(&env.endpoints.arm_scope).await.unwrap();
    let claims = env
        .emu
        .verify_token(token.token.secret())
        .expect("an emulator-signed token");
    assert_eq!(claims["appid"], env.emu.deployer().app_id);
    assert!(
        claims["aud"]
            .as_str()
            .unwrap()
            .starts_with("https://management.azure.com"),
        "{claims}"
    );
}

#[tokio::test]
async fn waiting_for_a_server_returns_once_it_is_ready() {
    let env = start().await;
    env.create_rg("rg-ready").await;
    let path = env.server_path("rg-ready", "pg-ready");
    env.arm.put(&path, PG, &server_body()).await.unwrap();
    let server = env
        .arm
        .wait_for(&path, PG, "Ready", |s| s["properties"]["state"] == "Ready")
        .await
        .unwrap();
    assert_eq!(server["name"], "pg-ready");
    let gone = env
        .arm
        .wait_for(&env.server_path("rg-ready", "nobody"), PG, "Ready", |_| {
            true
        })
        .await
        .expect_err("missing");
    assert_eq!(gone.class(), ErrorClass::NotFound);
}

#[tokio::test]
async fn the_provider_config_alone_reaches_arm_and_the_postgres_audience() {
    let emu = pgentra_emulator::Emulator::start(EmulatorOptions::default())
        .await
        .unwrap();
    let config = azure_support::deployer_config(&emu);
    let azure = pgentra::azure::Azure::from_config(&config).expect("client from config");
    assert_eq!(azure.endpoints.arm_endpoint, emu.arm_url());
    let rg = format!(
        "/subscriptions/{}/resourcegroups/rg-config",
        emu.subscription_id()
    );
    azure
        .arm
        .put(&rg, RG, &json!({"location": "eastus"}))
        .await
        .expect("through the emulator's CA");
    let token = azure.postgres_token().await.unwrap();
    assert_eq!(
        emu.verify_token(token.token.secret()).unwrap()["aud"],
        "https://ossrdbms-aad.database.windows.net"
    );
}

#[tokio::test]
async fn an_unreadable_ca_cert_file_is_a_setup_error_naming_it() {
    let config = pgentra::config::ProviderConfig {
        ca_cert_file: Some("/nonexistent/ca.pem".into()),
        ..Default::default()
    };
    let err = pgentra::azure::Azure::from_config(&config).expect_err("refused");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}

#[tokio::test]
async fn an_operation_ending_canceled_says_so_and_keeps_the_resource_id() {
    let env = start().await;
    env.create_rg("rg-cancel").await;
    let path = env.server_path("rg-cancel", "pg-cancel");
    env.emu
        .add_fault(FaultRule::new(FaultKind::LroCanceled, &path, 1));
    let err = env
        .arm
        .put(&path, PG, &server_body())
        .await
        .expect_err("cancelled");
    assert_eq!(err.accepted_resource_id(), Some(path.as_str()));
    let ArmError::Accepted { cause, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(cause.as_ref(), ArmError::OperationFailed { status, .. } if status == "Canceled"),
        "{cause:?}"
    );
}

#[tokio::test]
async fn a_patch_follows_its_operation_and_returns_the_updated_resource() {
    let env = start().await;
    env.create_rg("rg-patch").await;
    let path = env.server_path("rg-patch", "pg-patch");
    env.arm.put(&path, PG, &server_body()).await.unwrap();
    let patched = env
        .arm
        .patch(&path, PG, &json!({"tags": {"team": "data"}}))
        .await
        .expect("patched");
    assert_eq!(patched["tags"]["team"], "data", "{patched}");
}

#[tokio::test]
async fn the_clients_requests_and_the_answers_it_reads_match_the_official_specs() {
    let Ok(mut specs) = pgentra_emulator::spec::Specs::load_default() else {
        eprintln!("skipped: the official Azure specs are not available here");
        return;
    };
    let env = start().await;
    env.create_rg("rg-spec").await;
    let path = env.server_path("rg-spec", "pg-spec");
    env.arm.put(&path, PG, &server_body()).await.unwrap();
    env.arm
        .patch(&path, PG, &json!({"tags": {"a": "b"}}))
        .await
        .unwrap();
    let identity = env.identity_path("rg-spec", "id-spec");
    env.arm
        .put(
            &identity,
            azure_support::MSI,
            &json!({"location": "eastus"}),
        )
        .await
        .unwrap();
    env.arm.delete(&path, PG).await.unwrap();
    let (checked, problems) = env.emu.check_arm_exchanges(&mut specs);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 4, "bodies checked: {checked}");
}
