//! The Azure Instance Metadata Service's managed-identity token endpoint, as a VM sees it at
//! `http://169.254.169.254/metadata/identity/oauth2/token`: served here on the managed-identity
//! listener (loopback, TLS) so a client pointed at it with `msiEndpoint` signs in as the host's
//! system-assigned identity or a user-assigned one, and nothing dials the link-local address.

use crate::entra::directory::Principal;
use crate::http::{Req, Resp};
use crate::{Inner, RunningEmulator};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};

/// The path of the token endpoint, as on a VM.
pub const TOKEN_PATH: &str = "/metadata/identity/oauth2/token";

/// Requests that reached the endpoint (whatever their answer), so tests can show that a
/// client did not ask.
#[derive(Default)]
pub(crate) struct ImdsRequests(AtomicU64);

fn error(status: u16, error: &str, description: &str) -> Resp {
    Resp::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// GET `/metadata/identity/oauth2/token?api-version=..&resource=..[&client_id|object_id|msi_res_id]`
/// with `Metadata: true`.
pub(crate) fn handle(inner: &Inner, req: &Req) -> Resp {
    inner.imds_requests.0.fetch_add(1, Ordering::SeqCst);
    if req.method != "GET" || req.path.trim_end_matches('/') != TOKEN_PATH {
        return error(404, "not_found", "Unknown path.");
    }
    // The service refuses requests that passed through a proxy, and those without the header
    // (which a browser tricked into the request could not set).
    if req.header("x-forwarded-for").is_some() {
        return error(
            400,
            "invalid_request",
            "Request must not contain X-Forwarded-For.",
        );
    }
    if req.header("metadata") != Some("true") {
        return error(
            400,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    if req.query_param("api-version").is_none_or(str::is_empty) {
        return error(
            400,
            "invalid_request",
            "Required api-version parameter not specified",
        );
    }
    let Some(resource) = req.query_param("resource").filter(|r| !r.is_empty()) else {
        return error(
            400,
            "invalid_request",
            "Required audience parameter not specified",
        );
    };
    let user_assigned = |sp: &crate::ServicePrincipal| sp.managed_identity_resource_id.is_some();
    let sp = if let Some(id) = req.query_param("client_id") {
        inner
            .directory
            .service_principal_by_app_id(id)
            .filter(user_assigned)
    } else if let Some(id) = req.query_param("object_id") {
        match inner.directory.get(id) {
            Some(Principal::ServicePrincipal(sp)) if user_assigned(&sp) => Some(sp),
            _ => None,
        }
    } else if let Some(res) = req.query_param("msi_res_id") {
        let world = inner.world();
        let app = world
            .identities
            .values()
            .find(|i| i.id.eq_ignore_ascii_case(res))
            .map(|i| i.client_id.clone());
        drop(world);
        app.and_then(|a| inner.directory.service_principal_by_app_id(&a))
    } else {
        Some(inner.host_identity.clone())
    };
    let Some(sp) = sp else {
        return error(
            400,
            "invalid_request",
            "Identity not found: no managed identity of this VM matches the requested identity.",
        );
    };
    let (token, expires_in) = crate::entra::tokens::issue_for_principal(
        inner,
        &Principal::ServicePrincipal(sp.clone()),
        resource,
        Some("2"),
    );
    let now = crate::util::now_secs();
    // Every number is a string, as the service sends them.
    Resp::json(
        200,
        &json!({
            "access_token": token,
            "client_id": sp.app_id,
            "expires_in": expires_in.to_string(),
            "expires_on": (now + expires_in).to_string(),
            "ext_expires_in": expires_in.to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
    )
}

impl RunningEmulator {
    /// The metadata-service style token endpoint (a client's `msiEndpoint`).
    pub fn imds_endpoint(&self) -> String {
        let base = self.urls.msi.trim_end_matches("/msi/token");
        format!("{base}{TOKEN_PATH}")
    }

    /// How many requests the metadata-service style endpoint has had.
    pub fn imds_requests(&self) -> u64 {
        self.inner.imds_requests.0.load(Ordering::SeqCst)
    }
}
