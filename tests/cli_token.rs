//! `pgentra token`: the real binary signs in to the in-process emulator through the provider's
//! credential chain and prints a token for the PostgreSQL audience, raw or as JSON.

mod azure_support;
mod cli_support;

use azure_support::start;
use cli_support::{claims, deployer_env, pgentra, FakeAz};
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
async fn json_has_azs_keys_and_tsv_their_values_in_azs_order() {
    let env = start().await;
    let run = pgentra(&["token", "-o", "json"], &deployer_env(&env)).await;
    run.expect_code(0);
    let out: Value = serde_json::from_str(run.stdout.trim()).expect("one JSON line");
    let keys: Vec<&str> = out
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "accessToken",
            "expiresOn",
            "expires_on",
            "subscription",
            "tenant",
            "tokenType"
        ]
    );
    let token = out["accessToken"].as_str().expect("accessToken");
    env.emu
        .validate_access_token(token, POSTGRES_RESOURCE)
        .expect("a valid token for the PostgreSQL audience");
    let exp = claims(token)["exp"].as_i64().unwrap();
    // The token service answers `expires_in` seconds, counted by the client from when the
    // answer arrived: within a second of the token's own exp, not always on it.
    let expires_on_s = out["expires_on"].as_i64().expect("expires_on");
    assert!(
        (expires_on_s - exp).abs() <= 1,
        "expires_on {expires_on_s}, exp {exp}"
    );
    let expires_on = azure_core::time::parse_rfc3339(out["expiresOn"].as_str().unwrap())
        .expect("expiresOn is RFC 3339");
    assert_eq!(
        expires_on.unix_timestamp(),
        expires_on_s,
        "one moment, two spellings"
    );
    let left = exp - azure_core::time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((3000..=3600).contains(&left), "about an hour left: {left}s");
    assert_eq!(out["tokenType"], "Bearer");
    assert_eq!(out["tenant"], env.emu.tenant_id());
    assert_eq!(out["subscription"], env.emu.subscription_id());
    // --json is -o json.
    let run = pgentra(&["token", "--json"], &deployer_env(&env)).await;
    run.expect_code(0);
    assert!(serde_json::from_str::<Value>(run.stdout.trim()).unwrap()["accessToken"].is_string());

    let run = pgentra(
        &["token", "--output=tsv", "--resource-type", "arm"],
        &deployer_env(&env),
    )
    .await;
    run.expect_code(0);
    let values: Vec<&str> = run.stdout.trim_end_matches('\n').split('\t').collect();
    assert_eq!(values.len(), 6, "{:?}", run.stdout);
    env.emu
        .validate_access_token(values[0], ARM_RESOURCE)
        .expect("--resource-type arm: a token for ARM");
    assert_eq!(values[2], claims(values[0])["exp"].to_string());
    assert_eq!(
        &values[3..],
        [env.emu.subscription_id(), env.emu.tenant_id(), "Bearer"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_subscription_az_account_shows_it() {
    let env = start().await;
    let az = FakeAz::new(
        "11111111-2222-3333-4444-555555555555",
        env.emu.tenant_id(),
        &[],
    );
    let mut vars: Vec<(String, String)> = deployer_env(&env)
        .into_iter()
        .filter(|(k, _)| k != "AZURE_SUBSCRIPTION_ID")
        .collect();
    vars.push(("PATH".into(), az.path()));
    let run = pgentra(&["token", "-o", "json"], &vars).await;
    run.expect_code(0);
    let out: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(out["subscription"], "11111111-2222-3333-4444-555555555555");
    assert_eq!(az.calls(), ["account show --output json"]);
    // A configured subscription wins, and az is not asked.
    let mut vars = deployer_env(&env);
    vars.push(("PATH".into(), az.path()));
    let run = pgentra(&["token", "-o", "json"], &vars).await;
    run.expect_code(0);
    let out: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(out["subscription"], env.emu.subscription_id());
    assert_eq!(az.calls().len(), 1, "{:?}", az.calls());
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_resource_and_resource_type_pick_what_the_token_is_for() {
    let env = start().await;
    // A wrong tenant in the environment: --tenant wins.
    let vars: Vec<(String, String)> = deployer_env(&env)
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            "AZURE_TENANT_ID" => (k, "99999999-9999-9999-9999-999999999999".to_owned()),
            _ => (k, v),
        })
        .collect();
    let run = pgentra(&["token"], &vars).await;
    run.expect_code(1);
    assert!(
        run.stderr.contains("99999999-9999-9999-9999-999999999999"),
        "{}",
        run.stderr
    );
    let run = pgentra(
        &[
            "token",
            "--tenant",
            env.emu.tenant_id(),
            "--resource",
            "https://management.azure.com/",
        ],
        &vars,
    )
    .await;
    run.expect_code(0);
    env.emu
        .validate_access_token(run.stdout.trim(), ARM_RESOURCE)
        .expect("--resource: a token for ARM from the tenant given");
    let run = pgentra(
        &["token", "--resource-type", "oss-rdbms"],
        &deployer_env(&env),
    )
    .await;
    run.expect_code(0);
    env.emu
        .validate_access_token(run.stdout.trim(), POSTGRES_RESOURCE)
        .expect("--resource-type oss-rdbms");
    let run = pgentra(
        &["token", "--resource-type", "ms-graph"],
        &deployer_env(&env),
    )
    .await;
    run.expect_code(0);
    assert_eq!(
        claims(run.stdout.trim())["aud"],
        "https://graph.microsoft.com"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn in_a_github_actions_job_the_id_token_is_exchanged_and_never_written() {
    let env = start().await;
    let client_id = azure_support::github_actions_identity(&env, "rg-cli-actions", "id-ci").await;
    let home = std::env::temp_dir().join(cli_support::unique("pgentra-actions-home"));
    std::fs::create_dir_all(&home).unwrap();
    let c = &env.config;
    let vars: Vec<(String, String)> = [
        ("AZURE_TENANT_ID", c.tenant_id.clone().unwrap()),
        ("AZURE_CLIENT_ID", client_id.clone()),
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            env.emu.actions_id_token_request_url(),
        ),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            env.emu.actions_id_token_request_token().to_owned(),
        ),
        ("AZURE_AUTHORITY_HOST", c.authority_host.clone().unwrap()),
        ("PGENTRA_CA_CERT_FILE", c.ca_cert_file.clone().unwrap()),
        ("HOME", home.display().to_string()),
        ("TMPDIR", home.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let run = pgentra(&["token"], &vars).await;
    run.expect_code(0);
    let claims = env
        .emu
        .validate_access_token(run.stdout.trim(), POSTGRES_RESOURCE)
        .expect("a PostgreSQL token for the identity the job's federated credential trusts");
    assert_eq!(claims["appid"], client_id.as_str());
    assert_eq!(env.emu.actions_id_token_requests(), 1);
    let left: Vec<_> = std::fs::read_dir(&home).unwrap().collect();
    assert!(
        left.is_empty(),
        "nothing written to HOME or TMPDIR: {left:?}"
    );
    std::fs::remove_dir_all(&home).ok();
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
        "GitHub Actions OIDC: not configured",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
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
        run.stderr.contains("pgentra token [--resource-type"),
        "{}",
        run.stderr
    );
    let help = pgentra(&["token", "--help"], &[]).await;
    help.expect_code(0);
    for topic in [
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
        "ARM_USE_MSI",
        "ARM_MSI_ENDPOINT",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "--json",
        "--scope",
        "--resource",
        "--resource-type",
        "--tenant",
        "-o/--output",
        "ARM_ENVIRONMENT",
    ] {
        assert!(help.stdout.contains(topic), "{topic} in --help");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_printed_into_a_closed_pipe_is_not_a_panic() {
    use cli_support::{pgentra_with_streams, readerless_pipe};
    use std::process::Stdio;
    let env = start().await;
    // `pgentra token | head -c1` after head has gone, for each output format.
    for args in [
        &["token"][..],
        &["token", "-o", "json"],
        &["token", "-o", "tsv"],
    ] {
        let code =
            pgentra_with_streams(args, &deployer_env(&env), readerless_pipe(), Stdio::piped())
                .await;
        assert_eq!(code, Some(0), "{args:?} >closed-pipe");
    }
    // A failure whose message cannot be written: a closed pipe, and `2>&-`.
    let code = pgentra_with_streams(&["token"], &[], Stdio::null(), readerless_pipe()).await;
    assert_eq!(code, Some(1), "token 2>closed-pipe");
    let real = tokio::task::spawn_blocking(|| {
        std::process::Command::new("sh")
            .args([
                "-c",
                "\"$0\" token 2>&-; echo \"exit $?\"",
                env!("CARGO_BIN_EXE_pgentra"),
            ])
            .env_clear()
            .env("PATH", cli_support::SYSTEM_PATH)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&real.stdout).trim(), "exit 1");
}
