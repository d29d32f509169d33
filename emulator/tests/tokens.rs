//! The Entra token service, the OIDC issuer, the managed-identity endpoint, and ARM's check of
//! bearer tokens.

mod support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use serde_json::{json, Value};
use sha2::Sha256;
use support::MSI;

const PG_SCOPE: &str = "https://ossrdbms-aad.database.windows.net/.default";

fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(part).unwrap()).unwrap()
}

/// Verifies an RS256 JWT against a JWKS fetched over HTTPS, independently of the emulator's code.
fn verify_with_jwks(token: &str, jwks: &Value) -> bool {
    let mut parts = token.split('.');
    let (h, c, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let header: Value = serde_json::from_slice(&B64.decode(h).unwrap()).unwrap();
    let Some(key) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
    else {
        return false;
    };
    let n = BigUint::from_bytes_be(&B64.decode(key["n"].as_str().unwrap()).unwrap());
    let e = BigUint::from_bytes_be(&B64.decode(key["e"].as_str().unwrap()).unwrap());
    let vk = VerifyingKey::<Sha256>::new(RsaPublicKey::new(n, e).unwrap());
    let sig = Signature::try_from(B64.decode(s).unwrap().as_slice()).unwrap();
    vk.verify(format!("{h}.{c}").as_bytes(), &sig).is_ok()
}

#[tokio::test]
async fn client_secret_token_carries_azure_claims_and_verifies_against_the_jwks() {
    let env = support::start().await;
    let d = env.emu.deployer();
    let r = env
        .client
        .post_form(
            &env.emu.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &d.app_id),
                ("client_secret", &d.secrets[0]),
                ("scope", PG_SCOPE),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        body["expires_in"].is_u64(),
        "expires_in is a number in v2 answers"
    );
    let token = body["access_token"].as_str().unwrap();
    let c = claims(token);
    assert_eq!(c["aud"], "https://ossrdbms-aad.database.windows.net");
    assert_eq!(
        c["iss"],
        format!("https://sts.windows.net/{}/", env.emu.tenant_id())
    );
    assert_eq!(c["oid"], d.object_id.as_str());
    assert_eq!(c["appid"], d.app_id.as_str());
    assert_eq!(c["tid"], env.emu.tenant_id());
    assert_eq!(c["ver"], "1.0");
    assert_eq!(c["idtyp"], "app");
    assert!(c["exp"].as_u64().unwrap() > c["iat"].as_u64().unwrap());

    let jwks_url = format!(
        "{}/{}/discovery/v2.0/keys",
        env.emu.authority_url(),
        env.emu.tenant_id()
    );
    let jwks = env
        .client
        .send("GET", &jwks_url, &[], None)
        .await
        .unwrap()
        .json();
    assert!(verify_with_jwks(token, &jwks));
    let mut forged = token.to_string();
    forged.replace_range(forged.len() - 6.., "AAAAAA");
    assert!(!verify_with_jwks(&forged, &jwks));

    let oidc = format!(
        "{}/{}/v2.0/.well-known/openid-configuration",
        env.emu.authority_url(),
        env.emu.tenant_id()
    );
    let conf = env
        .client
        .send("GET", &oidc, &[], None)
        .await
        .unwrap()
        .json();
    assert_eq!(conf["jwks_uri"], jwks_url);
}

#[tokio::test]
async fn wrong_secret_and_unknown_client_are_refused_like_entra() {
    let env = support::start().await;
    let d = env.emu.deployer();
    let url = env.emu.token_url();
    let r = env
        .client
        .post_form(
            &url,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &d.app_id),
                ("client_secret", "nope"),
                ("scope", PG_SCOPE),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    let e = r.json();
    assert_eq!(e["error"], "invalid_client");
    assert_eq!(e["error_codes"], json!([7000215]));
    assert!(e["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS7000215:"));
    for f in ["timestamp", "trace_id", "correlation_id"] {
        assert!(e[f].is_string(), "{f}");
    }
    let r = env
        .client
        .post_form(
            &url,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "11111111-1111-1111-1111-111111111111"),
                ("client_secret", "x"),
                ("scope", PG_SCOPE),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.json()["error_codes"], json!([700016]));
    let r = env
        .client
        .post_form(
            &url,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &d.app_id),
                ("client_secret", &d.secrets[0]),
                ("scope", "https://ossrdbms-aad.database.windows.net"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.json()["error"], "invalid_scope");
}

#[tokio::test]
async fn federated_assertion_is_exchanged_only_when_a_credential_matches() {
    let env = support::start().await;
    env.create_rg("rg-wi").await;
    let id = env.identity_path("rg-wi", "wi-app");
    let identity = env
        .call(
            "PUT",
            &format!("{id}?{MSI}"),
            Some(json!({"location": "eastus"})),
        )
        .await
        .json();
    let client_id = identity["properties"]["clientId"]
        .as_str()
        .unwrap()
        .to_string();
    let assertion = env.emu.mint_service_account_token("apps", "api");
    let exchange = |assertion: String| {
        let client_id = client_id.clone();
        let env = &env;
        async move {
            env.client
                .post_form(
                    &env.emu.token_url(),
                    &[
                        ("grant_type", "client_credentials"),
                        ("client_id", &client_id),
                        (
                            "client_assertion_type",
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        ),
                        ("client_assertion", &assertion),
                        ("scope", PG_SCOPE),
                    ],
                )
                .await
                .unwrap()
        }
    };
    // No credential yet: AADSTS70021.
    let refused = exchange(assertion.clone()).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["error_codes"], json!([70021]));

    let fic = format!("{id}/federatedIdentityCredentials/aks?{MSI}");
    let r = env
        .call("PUT", &fic, Some(json!({"properties": {"issuer": env.emu.oidc_issuer_url(), "subject": "system:serviceaccount:apps:api", "audiences": ["api://AzureADTokenExchange"]}})))
        .await;
    assert_eq!(r.status, 201);
    let ok = exchange(assertion).await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    let c = claims(ok.json()["access_token"].as_str().unwrap());
    assert_eq!(c["oid"], identity["properties"]["principalId"]);
    assert_eq!(c["appid"], client_id.as_str());
    assert_eq!(c["xms_mirid"], identity["id"]);

    // Another service account of the same issuer does not match.
    let other = exchange(env.emu.mint_service_account_token("apps", "intruder")).await;
    assert_eq!(other.json()["error_codes"], json!([70021]));
    // A token from an unknown issuer cannot be verified.
    let foreign = env.emu.mint_oidc_token(
        json!({"iss": "https://elsewhere.example", "sub": "system:serviceaccount:apps:api",
        "aud": "api://AzureADTokenExchange", "exp": pgentra_emulator::util::now_secs() + 600}),
    );
    assert_eq!(exchange(foreign).await.status, 400);
    // The issuer publishes discovery and keys.
    let disc = env
        .client
        .send(
            "GET",
            &format!(
                "{}/.well-known/openid-configuration",
                env.emu.oidc_issuer_url()
            ),
            &[],
            None,
        )
        .await
        .unwrap()
        .json();
    assert_eq!(disc["issuer"], env.emu.oidc_issuer_url());
    let keys = env
        .client
        .send("GET", disc["jwks_uri"].as_str().unwrap(), &[], None)
        .await
        .unwrap()
        .json();
    assert!(verify_with_jwks(
        &env.emu.mint_service_account_token("a", "b"),
        &keys
    ));
}

#[tokio::test]
async fn managed_identity_endpoint_serves_tokens_for_attached_identities() {
    let env = support::start().await;
    env.create_rg("rg-msi").await;
    let id = env.identity_path("rg-msi", "msi-app");
    let identity = env
        .call(
            "PUT",
            &format!("{id}?{MSI}"),
            Some(json!({"location": "eastus"})),
        )
        .await
        .json();
    let client_id = identity["properties"]["clientId"].as_str().unwrap();
    let secret = env.emu.msi_header_secret().to_string();
    let url = format!("{}?resource=https://ossrdbms-aad.database.windows.net&api-version=2019-08-01&client_id={client_id}", env.emu.msi_endpoint());
    let r = env
        .client
        .send("GET", &url, &[("X-IDENTITY-HEADER", &secret)], None)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let b = r.json();
    assert!(b["expires_on"].is_string());
    assert_eq!(b["client_id"], client_id);
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(
        claims(b["access_token"].as_str().unwrap())["xms_mirid"],
        identity["id"]
    );
    let none = env.client.send("GET", &url, &[], None).await.unwrap();
    assert_eq!(none.status, 401);
    let by_res = format!(
        "{}?resource=https://management.azure.com/&api-version=2019-08-01&mi_res_id={}",
        env.emu.msi_endpoint(),
        identity["id"].as_str().unwrap()
    );
    assert_eq!(
        env.client
            .send("GET", &by_res, &[("X-IDENTITY-HEADER", &secret)], None)
            .await
            .unwrap()
            .status,
        200
    );
}

#[tokio::test]
async fn arm_requires_a_valid_token_for_its_audience() {
    let env = support::start().await;
    let url = format!(
        "{}{}/resourcegroups?api-version=2021-04-01",
        env.emu.arm_url(),
        env.sub()
    );
    let r = env.client.send("GET", &url, &[], None).await.unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "AuthenticationFailed");
    let r = env
        .client
        .send(
            "GET",
            &url,
            &[("authorization", "Bearer not.a.token")],
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.json()["error"]["code"], "InvalidAuthenticationToken");
    let pg_token = env
        .emu
        .issue_access_token(
            &env.emu.deployer().object_id,
            "https://ossrdbms-aad.database.windows.net",
        )
        .unwrap();
    let r = env
        .client
        .send(
            "GET",
            &url,
            &[("authorization", &format!("Bearer {pg_token}"))],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        r.json()["error"]["code"],
        "InvalidAuthenticationTokenAudience"
    );
    let r = env
        .client
        .send(
            "GET",
            &url,
            &[("authorization", &format!("Bearer {}", env.token))],
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let env = support::start_with(pgentra_emulator::EmulatorOptions {
        token_lifetime: std::time::Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = env
        .call(
            "GET",
            &format!("{}/resourcegroups?api-version=2021-04-01", env.sub()),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "ExpiredAuthenticationToken");
}

#[tokio::test]
async fn provider_config_points_at_the_emulator() {
    let env = support::start().await;
    let dir = std::env::temp_dir().join(format!("pgentra-emu-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = env
        .emu
        .provider_config_with_ca(&dir.join("ca.pem"))
        .unwrap();
    assert_eq!(cfg["armEndpoint"], env.emu.arm_url());
    assert_eq!(cfg["authorityHost"], env.emu.authority_url());
    assert_eq!(cfg["tenantId"], env.emu.tenant_id());
    assert!(std::fs::read_to_string(&cfg["caCertFile"])
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    let r = env
        .client
        .post_form(
            &env.emu.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cfg["clientId"]),
                ("client_secret", &cfg["clientSecret"]),
                ("scope", "https://management.azure.com/.default"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn v1_endpoint_takes_a_resource_and_answers_in_v1_shape() {
    let env = support::start().await;
    let d = env.emu.deployer();
    let url = format!(
        "{}/{}/oauth2/token",
        env.emu.authority_url(),
        env.emu.tenant_id()
    );
    let r = env
        .client
        .post_form(
            &url,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &d.app_id),
                ("client_secret", &d.secrets[0]),
                ("resource", "https://management.azure.com/"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let b = r.json();
    assert!(b["expires_in"].is_string() && b["expires_on"].is_string());
    assert_eq!(b["resource"], "https://management.azure.com/");
    assert_eq!(
        claims(b["access_token"].as_str().unwrap())["aud"],
        "https://management.azure.com/"
    );
    let described = env.emu.describe();
    assert_eq!(described["tokenEndpoint"], env.emu.token_url());
}

#[tokio::test]
async fn access_tokens_can_be_validated_for_an_audience() {
    let env = support::start().await;
    let oid = env.emu.deployer().object_id;
    let t = env
        .emu
        .issue_access_token(&oid, "https://ossrdbms-aad.database.windows.net")
        .unwrap();
    let c = env
        .emu
        .validate_access_token(&t, "https://ossrdbms-aad.database.windows.net/")
        .unwrap();
    assert_eq!(c["oid"], oid.as_str());
    assert!(matches!(
        env.emu
            .validate_access_token(&t, "https://management.azure.com/"),
        Err(pgentra_emulator::TokenRejection::Audience(_))
    ));
    assert!(env.emu.validate_access_token("a.b.c", "x").is_err());
}
