//! Workload-identity federation: an external OIDC token exchanged for an Entra token when a
//! federated identity credential on a user-assigned identity matches it.

use crate::entra::directory::ServicePrincipal;
use crate::entra::tokens::{aad_error, audiences, unknown_app};
use crate::http::Resp;
use crate::{util, Inner};
use serde_json::Value;

/// Validates a client assertion for `client_id`; returns the identity's service principal.
pub(crate) fn by_assertion(
    inner: &Inner,
    client_id: &str,
    assertion: &str,
) -> Result<ServicePrincipal, Resp> {
    let invalid = |msg: &str| aad_error(400, "invalid_client", 50027, msg);
    let decoded = crate::entra::jwt::decode(assertion)
        .map_err(|_| invalid("JWT token is invalid or malformed."))?;
    let claims = &decoded.claims;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let aud = audiences(claims);
    let sp = inner
        .directory
        .service_principal_by_app_id(client_id)
        .ok_or_else(|| unknown_app(inner, client_id))?;
    // The only OIDC issuer reachable offline is the emulator's own; its JWKS verifies the signature.
    if iss.trim_end_matches('/') != inner.urls.oidc_issuer.trim_end_matches('/') {
        return Err(aad_error(
            400,
            "invalid_request",
            50166,
            &format!("Request to External OIDC endpoint failed. Could not fetch the signing keys of issuer '{iss}'."),
        ));
    }
    if inner.keys.verify(assertion).is_err() {
        return Err(aad_error(
            400,
            "invalid_client",
            700212,
            "No matching federated identity record found for presented assertion audience; the assertion's signature does not verify against the issuer's keys.",
        ));
    }
    let now = util::now_secs();
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    let nbf = claims.get("nbf").and_then(Value::as_u64).unwrap_or(0);
    if exp <= now || nbf > now + 300 {
        return Err(aad_error(
            400,
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    let world = inner.world();
    let identity = world
        .identities
        .values()
        .find(|i| i.client_id.eq_ignore_ascii_case(client_id));
    let matched = identity.is_some_and(|i| {
        i.fics.iter().any(|f| {
            f.issuer == iss && f.subject == sub && f.audiences.iter().any(|a| aud.contains(a))
        })
    });
    drop(world);
    if !matched {
        return Err(aad_error(
            400,
            "invalid_request",
            70021,
            &format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{}'.",
                aud.join(",")
            ),
        ));
    }
    Ok(sp)
}
