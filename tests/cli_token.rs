//! `pgentra token`: the real binary signs in to the in-process emulator through the provider's
//! credential chain and prints a token for the PostgreSQL audience, raw or as JSON.

mod azure_support;
mod cli_support;

use azure_support::start;
use cli_support::{claims, deployer_env, pgentra};
use pgentra_emulator::{ARM_RESOURCE, POSTGRES_RESOURCE};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn the_raw_token_is_a_signed_postgres_token_of_the_signed_in_principal() {
    let env = start().await;
    let run = pgentra(&["token"], &deployer_env(&env)).await;
    run.expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line, the token: {:?}", run.stdout);
    let claims = env
        .emu
        .validate_access_token(lines[0], POSTGRES_RESOURCE)
        .expect("a valid token for the PostgreSQL audience");
    assert_eq!(claims["appid"], env.emu.deployer().app_id);
    assert_eq!(claims["tid"], env.emu.tenant_id());
}

#[tokio::test(flavor = "multi_thread")]
async fn json_gives_the_token_and_when_it_expires() {
    let env = start().await;
    let run = pgentra(&["token", "--json"], &deployer_env(&env)).await;
    run.expect_code(0);
    let out: Value = serde_json::from_str(run.stdout.trim()).expect("one JSON line");
    let token = out["accessToken"].as_str().expect("accessToken");
    env.emu
        .validate_access_token(token, POSTGRES_RESOURCE)
        .expect("a valid token for the PostgreSQL audience");
    let exp = claims(token)["exp"].as_i64().unwrap();
    assert_eq!(out["expires_on"].as_i64(), Some(exp));
    let expires_on = azure_core::time::parse_rfc3339(out["expiresOn"].as_str().unwrap())
        .expect("expiresOn is RFC 3339");
    assert_eq!(expires_on.unix_timestamp(), exp);
    let left = exp - azure_core::time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((3000..=3600).contains(&left), "about an hour left: {left}s");
    assert_eq!(out["tokenType"], "Bearer");
    assert_eq!(out["tenant"], env.emu.tenant_id());
    assert_eq!(
        out["scope"],
        "https://ossrdbms-aad.database.windows.net/.default"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_scope_is_asked_for_when_given() {
    let env = start().await;
    let run = pgentra(
        &["token", "--scope", "https://management.azure.com/"],
        &deployer_env(&env),
    )
    .await;
    run.expect_code(0);
    env.emu
        .validate_access_token(run.stdout.trim(), ARM_RESOURCE)
        .expect("a token for ARM");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_credentials_each_source_is_named_with_how_to_set_it_up() {
    let run = pgentra(&["token"], &[]).await;
    run.expect_code(1);
    assert!(run.stdout.is_empty(), "no token printed: {}", run.stdout);
    for source in [
        "client secret: not configured",
        "workload identity: not configured",
        "managed identity: not tried",
        "Azure CLI:",
        "export AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
        "ARM_USE_MSI=true",
        "az login",
        "`pgentra emulator` prints the exports",
    ] {
        assert!(
            run.stderr.contains(source),
            "{source:?} in:\n{}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_client_secret_is_reported_without_echoing_it() {
    let env = start().await;
    let mut vars = deployer_env(&env);
    let wrong = "not-the-secret-0123456789";
    for (k, v) in vars.iter_mut() {
        if k == "AZURE_CLIENT_SECRET" {
            *v = wrong.into();
        }
    }
    let run = pgentra(&["token", "--json"], &vars).await;
    run.expect_code(1);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains("client secret:"),
        "the failing source is named:\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains(wrong), "the secret is not printed");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_arguments_name_the_argument_and_show_the_usage() {
    let run = pgentra(&["token", "--scope"], &[]).await;
    run.expect_code(2);
    assert!(
        run.stderr.contains("--scope needs a scope"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("pgentra token [--json]"),
        "{}",
        run.stderr
    );
    let help = pgentra(&["token", "--help"], &[]).await;
    help.expect_code(0);
    for topic in [
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
        "ARM_USE_MSI",
        "--json",
        "--scope",
        "ARM_ENVIRONMENT",
    ] {
        assert!(help.stdout.contains(topic), "{topic} in --help");
    }
}
