//! The App Service / Functions managed-identity endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER).

use crate::entra::directory::Principal;
use crate::http::{Req, Resp};
use crate::Inner;
use serde_json::json;

fn error(status: u16, error: &str, description: &str) -> Resp {
    Resp::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// GET `/msi/token?resource=..&api-version=2019-08-01[&client_id|principal_id|object_id|mi_res_id]`.
pub(crate) fn handle(inner: &Inner, req: &Req) -> Resp {
    if req.method != "GET" || req.path.trim_end_matches('/') != "/msi/token" {
        return error(
            404,
            "not_found",
            "Unknown path; the identity endpoint is /msi/token.",
        );
    }
    if req.header("x-identity-header") != Some(inner.msi_header.as_str()) {
        return error(
            401,
            "unauthorized",
            "The X-IDENTITY-HEADER header is missing or wrong.",
        );
    }
    if req.query_param("api-version") != Some("2019-08-01") {
        return error(400, "invalid_request", "api-version must be 2019-08-01.");
    }
    let Some(resource) = req.query_param("resource").filter(|r| !r.is_empty()) else {
        return error(
            400,
            "invalid_resource",
            "The resource parameter is required.",
        );
    };
    let sp = if let Some(id) = req.query_param("client_id") {
        inner
            .directory
            .service_principal_by_app_id(id)
            .filter(|s| s.managed_identity_resource_id.is_some())
    } else if let Some(id) = req
        .query_param("principal_id")
        .or(req.query_param("object_id"))
    {
        match inner.directory.get(id) {
            Some(Principal::ServicePrincipal(s)) if s.managed_identity_resource_id.is_some() => {
                Some(s)
            }
            _ => None,
        }
    } else if let Some(res) = req.query_param("mi_res_id") {
        let w = inner.world();
        let app = w
            .identities
            .values()
            .find(|i| i.id.eq_ignore_ascii_case(res))
            .map(|i| i.client_id.clone());
        drop(w);
        app.and_then(|a| inner.directory.service_principal_by_app_id(&a))
    } else {
        Some(inner.host_identity.clone())
    };
    let Some(sp) = sp else {
        return error(
            400,
            "invalid_request",
            "No managed identity matches the requested identity.",
        );
    };
    let (token, expires_in) = crate::entra::tokens::issue_for_principal(
        inner,
        &Principal::ServicePrincipal(sp.clone()),
        resource,
        Some("2"),
    );
    let now = crate::util::now_secs();
    Resp::json(
        200,
        &json!({
            "access_token": token,
            "expires_on": (now + expires_in).to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": sp.app_id,
        }),
    )
}
