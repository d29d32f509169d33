//! `pgentra doctor --workload`, the real binary against the emulator: its OIDC issuer plays the
//! AKS cluster (OpenID configuration, JWKS, service-account tokens it signs), its ARM holds the
//! identity and federated credentials, and its token service is the Entra that judges the
//! exchange. Each verdict of the doctor is checked against that exchange (`pgentra token`
//! signing in with the projected token), so the doctor says what Entra does.

mod azure_support;
mod cli_support;

use azure_support::{start, Env, MSI};
use cli_support::{deployer_env, identity, pgentra, unique, Run};
use serde_json::json;

const AUDIENCE: &str = "api://AzureADTokenExchange";

/// The report's line for a check and the lines under it.
fn entry(report: &str, check: &str) -> String {
    let mut lines = report.lines().skip_while(|l| {
        l.get(6..)
            .is_none_or(|rest| rest.split_whitespace().next() != Some(check))
    });
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no {check} line in:\n{report}"));
    let mut text = first.to_string();
    for l in lines.take_while(|l| l.starts_with("      ")) {
        text.push('\n');
        text.push_str(l);
    }
    text
}

async fn credential(env: &Env, rg: &str, id: &str, name: &str, issuer: &str, subject: &str) {
    env.arm
        .put(
            &format!(
                "{}/federatedIdentityCredentials/{name}",
                env.identity_path(rg, id)
            ),
            MSI,
            &json!({"properties": {"issuer": issuer, "subject": subject, "audiences": [AUDIENCE]}}),
        )
        .await
        .expect("creating a federated credential");
}

/// A projected token file, as the kubelet writes it for the pod; removed when dropped.
struct TokenFile(std::path::PathBuf);

impl TokenFile {
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TokenFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn token_file(token: &str) -> TokenFile {
    let path = std::env::temp_dir().join(unique("pgentra-sa-token"));
    std::fs::write(&path, token).expect("writing the token file");
    TokenFile(path)
}

/// The exchange itself: `pgentra token` signing in as the identity with the projected token.
async fn exchange(env: &Env, client_id: &str, token_path: &str) -> Run {
    let c = &env.config;
    let get = |v: &Option<String>| v.clone().unwrap_or_default();
    let vars: Vec<(String, String)> = [
        ("AZURE_TENANT_ID", get(&c.tenant_id)),
        ("AZURE_CLIENT_ID", client_id.to_string()),
        ("AZURE_FEDERATED_TOKEN_FILE", token_path.to_string()),
        ("AZURE_AUTHORITY_HOST", get(&c.authority_host)),
        ("PGENTRA_CA_CERT_FILE", get(&c.ca_cert_file)),
        ("PGENTRA_ARM_ENDPOINT", get(&c.arm_endpoint)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    pgentra(&["token"], &vars).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_subject_and_a_trailing_slash_issuer_are_found_and_explained() {
    let env = start().await;
    let rg = unique("rg-wl");
    let id = unique("id-wl");
    env.create_rg(&rg).await;
    let (_, client_id) = identity(&env, &rg, &id).await;
    let issuer = env.emu.oidc_issuer_url().to_string(); // published without a trailing '/'
    credential(
        &env,
        &rg,
        &id,
        "fc-other-sa",
        &issuer,
        "system:serviceaccount:myapp:other-sa",
    )
    .await;
    credential(
        &env,
        &rg,
        &id,
        "fc-slash",
        &format!("{issuer}/"),
        "system:serviceaccount:myapp:myapp-sa",
    )
    .await;
    let file = token_file(&env.emu.mint_service_account_token("myapp", "myapp-sa"));

    // The user gives the issuer with a trailing '/', as written in the broken credential.
    let slashed = format!("{issuer}/");
    let run = pgentra(
        &[
            "doctor",
            "--workload",
            "myapp/myapp-sa",
            "--identity",
            &format!("{rg}/{id}"),
            "--issuer",
            &slashed,
            "--token-file",
            file.path(),
        ],
        &deployer_env(&env),
    )
    .await;
    println!("{}", run.stdout);
    run.expect_code(1);
    let report = &run.stdout;
    let issuer_line = entry(report, "issuer");
    assert!(
        issuer_line.starts_with("FAIL")
            && issuer_line.contains(&format!("publishes itself as {issuer:?}"))
            && issuer_line.contains("only in the trailing '/'"),
        "{issuer_line}"
    );
    assert!(entry(report, "jwks").starts_with("PASS"), "{report}");
    assert!(entry(report, "identity").contains(&client_id), "{report}");
    let credential_line = entry(report, "credential");
    for said in [
        "FAIL",
        "AADSTS70021",
        "fc-other-sa: subject \"system:serviceaccount:myapp:other-sa\" is not the token's \"system:serviceaccount:myapp:myapp-sa\"",
        "fc-slash: issuer",
        "(they differ only in the trailing '/', and Entra compares exactly)",
        // The credential for this subject is the one to fix, with the issuer as published.
        &format!("az identity federated-credential update --name fc-slash --identity-name {id} --resource-group {rg} --issuer {issuer} --subject system:serviceaccount:myapp:myapp-sa --audiences {AUDIENCE}"),
    ] {
        assert!(credential_line.contains(said), "{said:?} in:\n{credential_line}");
    }
    let token_line = entry(report, "token");
    assert!(
        token_line.starts_with("FAIL")
            && token_line.contains("signature verifies with the issuer's key")
            && token_line.contains("matches no federated credential"),
        "{token_line}"
    );

    // Entra (the emulator's token service) refuses this exchange the way the doctor said.
    let refused = exchange(&env, &client_id, file.path()).await;
    refused.expect_code(1);
    assert!(refused.stderr.contains("AADSTS70021"), "{}", refused.stderr);

    // The doctor's fix, applied, makes both the doctor and the exchange pass.
    credential(
        &env,
        &rg,
        &id,
        "fc-slash",
        &issuer,
        "system:serviceaccount:myapp:myapp-sa",
    )
    .await;
    let fixed = pgentra(
        &[
            "doctor",
            "--workload",
            "myapp/myapp-sa",
            "--identity",
            &format!("{rg}/{id}"),
            "--token-file",
            file.path(),
        ],
        &deployer_env(&env),
    )
    .await;
    fixed.expect_code(0);
    assert!(
        entry(&fixed.stdout, "credential").contains("fc-slash matches"),
        "{}",
        fixed.stdout
    );
    exchange(&env, &client_id, file.path()).await.expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_matching_credential_passes_by_client_id_with_the_token_from_the_environment() {
    let env = start().await;
    let rg = unique("rg-wl");
    let id = unique("id-wl");
    env.create_rg(&rg).await;
    let (_, client_id) = identity(&env, &rg, &id).await;
    let issuer = env.emu.oidc_issuer_url().to_string();
    credential(
        &env,
        &rg,
        &id,
        "fc-api",
        &issuer,
        "system:serviceaccount:shop:api",
    )
    .await;
    let file = token_file(&env.emu.mint_service_account_token("shop", "api"));
    let mut vars = deployer_env(&env);
    vars.push(("AZURE_FEDERATED_TOKEN_FILE".into(), file.path().into()));

    // No --issuer: the token's iss is the issuer checked.
    let run = pgentra(
        &[
            "doctor",
            "--workload",
            "shop/api",
            "--client-id",
            &client_id,
        ],
        &vars,
    )
    .await;
    println!("{}", run.stdout);
    run.expect_code(0);
    for check in ["issuer", "jwks", "identity", "credential", "token"] {
        assert!(
            entry(&run.stdout, check).starts_with("PASS"),
            "{check}:\n{}",
            run.stdout
        );
    }
    assert!(
        entry(&run.stdout, "token").contains("Entra would match credential fc-api"),
        "{}",
        run.stdout
    );
    exchange(&env, &client_id, file.path()).await.expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_altered_after_signing_or_for_another_pod_is_refused() {
    let env = start().await;
    let rg = unique("rg-wl");
    let id = unique("id-wl");
    env.create_rg(&rg).await;
    let (_, client_id) = identity(&env, &rg, &id).await;
    let issuer = env.emu.oidc_issuer_url().to_string();
    credential(
        &env,
        &rg,
        &id,
        "fc-api",
        &issuer,
        "system:serviceaccount:shop:api",
    )
    .await;

    // The payload swapped for one that names the right service account; the signature kept.
    let genuine = env.emu.mint_service_account_token("shop", "worker");
    let parts: Vec<&str> = genuine.split('.').collect();
    let mut claims = cli_support::claims(&genuine);
    claims["sub"] = json!("system:serviceaccount:shop:api");
    let payload = azure_core::base64::encode_url_safe(claims.to_string());
    let forged = token_file(&format!("{}.{payload}.{}", parts[0], parts[2]));
    let run = pgentra(
        &[
            "doctor",
            "--workload",
            "shop/api",
            "--identity",
            &format!("{rg}/{id}"),
            "--token-file",
            forged.path(),
        ],
        &deployer_env(&env),
    )
    .await;
    run.expect_code(1);
    let token_line = entry(&run.stdout, "token");
    assert!(
        token_line.contains("signature does not verify"),
        "{token_line}"
    );
    // The credential itself is right: only the token is at fault.
    assert!(
        entry(&run.stdout, "credential").starts_with("PASS"),
        "{}",
        run.stdout
    );

    // A genuine token of another service account: the pod runs as the wrong one.
    let other = token_file(&genuine);
    let run = pgentra(
        &[
            "doctor",
            "--workload",
            "shop/api",
            "--identity",
            &format!("{rg}/{id}"),
            "--token-file",
            other.path(),
        ],
        &deployer_env(&env),
    )
    .await;
    run.expect_code(1);
    let token_line = entry(&run.stdout, "token");
    assert!(
        token_line.contains("its sub \"system:serviceaccount:shop:worker\" is not \"system:serviceaccount:shop:api\""),
        "{token_line}"
    );
    exchange(&env, &client_id, other.path())
        .await
        .expect_code(1);
}
