//! Azure Resource Manager: authentication, api-versions and the routing of resource paths.

pub(crate) mod backend_facts;
mod children;
mod config_catalogue;
pub mod errors;
mod identities;
mod lro;
mod resource_groups;
pub(crate) mod servers;

use crate::http::{Req, Resp};
use crate::{util, Inner};
use errors::{ArmError, ArmResult};
use serde_json::Value;
use std::sync::Arc;

pub const PG_NAMESPACE: &str = "Microsoft.DBforPostgreSQL";
pub const MSI_NAMESPACE: &str = "Microsoft.ManagedIdentity";
/// Api-versions served for Microsoft.DBforPostgreSQL (the LRO URLs carry a preview one, as Azure's do).
pub const PG_API_VERSIONS: &[&str] = &["2025-08-01", "2024-08-01", "2025-06-01-preview"];
pub const MSI_API_VERSIONS: &[&str] = &["2024-11-30", "2023-01-31"];
/// The api-version written into Azure-AsyncOperation / Location URLs.
pub const PG_LRO_API_VERSION: &str = "2025-06-01-preview";

/// Audiences ARM accepts in bearer tokens.
const ARM_AUDIENCES: &[&str] = &[
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
];

/// What every ARM handler gets.
pub(crate) struct Ctx<'a> {
    pub inner: &'a Inner,
    pub req: &'a Req,
    pub sub: String,
    /// The backend's facts, for requests under a flexible server (None elsewhere).
    pub backend: Option<std::sync::Arc<backend_facts::BackendFacts>>,
}

impl Ctx<'_> {
    /// The request body as JSON (an empty body is `{}`), or 400 InvalidRequestContent.
    pub fn json_body(&self) -> ArmResult<Value> {
        if self.req.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Default::default()));
        }
        let v: Value = serde_json::from_slice(&self.req.body).map_err(|e| {
            ArmError::invalid_body(format!(
                "The request content was invalid and could not be deserialized: '{e}'."
            ))
        })?;
        if !v.is_object() {
            return Err(ArmError::invalid_body(
                "The request content must be a JSON object.",
            ));
        }
        Ok(v)
    }

    pub fn lro_delay(&self) -> std::time::Duration {
        std::time::Duration::from_millis(
            self.inner.lro_ms.load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    pub fn retry_after(&self) -> String {
        self.inner.opts.retry_after_secs.to_string()
    }

    /// The backend's facts (unknown outside a flexible server's requests).
    pub fn backend(&self) -> std::sync::Arc<backend_facts::BackendFacts> {
        self.backend.clone().unwrap_or_else(|| {
            std::sync::Arc::new(backend_facts::BackendFacts::unknown(
                crate::pg::backend::backend_addr(),
                "not read for this request".into(),
            ))
        })
    }
}

pub(crate) async fn handle(inner: Arc<Inner>, req: Req) -> Resp {
    let mut resp = match route(&inner, &req).await {
        Ok(r) => r,
        Err(e) => e.into_resp(),
    };
    // ARM reports the remaining quota: reads on GET/HEAD, writes otherwise.
    let (counter, left) = if matches!(req.method.as_str(), "GET" | "HEAD") {
        ("x-ms-ratelimit-remaining-subscription-reads", "11999")
    } else {
        ("x-ms-ratelimit-remaining-subscription-writes", "1199")
    };
    resp = resp.with_header(counter, left);
    inner.record(crate::Exchange {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.raw_query.clone(),
        request: serde_json::from_slice(&req.body).ok(),
        status: resp.status,
        retry_after: resp
            .headers
            .iter()
            .find(|(name, _)| name == "retry-after")
            .map(|(_, value)| value.clone()),
        response: resp
            .body
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok()),
    });
    resp
}

fn authenticate(inner: &Inner, req: &Req) -> ArmResult<()> {
    let Some(auth) = req.header("authorization") else {
        return Err(ArmError::unauthenticated(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ));
    };
    let Some(token) = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
    else {
        return Err(ArmError::unauthenticated(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        ));
    };
    let decoded = inner.keys.verify(token).map_err(|_| {
        ArmError::unauthenticated("InvalidAuthenticationToken", "The access token is invalid.")
    })?;
    let c = &decoded.claims;
    let iss = c.get("iss").and_then(Value::as_str).unwrap_or_default();
    if iss != crate::entra::tokens::issuer(inner) {
        return Err(ArmError::unauthenticated(
            "InvalidAuthenticationTokenTenant",
            format!("The access token is from the wrong issuer '{iss}'. It must match the tenant 'https://sts.windows.net/{}/' associated with this subscription.", inner.opts.tenant_id),
        ));
    }
    let aud = c.get("aud").and_then(Value::as_str).unwrap_or_default();
    let arm = inner.urls.arm.as_str();
    if !ARM_AUDIENCES.contains(&aud) && aud.trim_end_matches('/') != arm {
        return Err(ArmError::unauthenticated(
            "InvalidAuthenticationTokenAudience",
            format!("The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences '{}'.", ARM_AUDIENCES.join("','")),
        ));
    }
    let exp = c.get("exp").and_then(Value::as_u64).unwrap_or(0);
    let now = util::now_secs();
    if exp <= now {
        return Err(ArmError::unauthenticated(
            "ExpiredAuthenticationToken",
            format!(
                "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                util::iso(exp, 0),
                util::iso(now, 0)
            ),
        ));
    }
    Ok(())
}

fn check_api_version(req: &Req, supported: &[&str], resource_type: &str) -> ArmResult<()> {
    let v = req
        .query_param("api-version")
        .ok_or_else(ArmError::missing_api_version)?;
    if supported.is_empty() || supported.iter().any(|s| s.eq_ignore_ascii_case(v)) {
        Ok(())
    } else {
        Err(ArmError::unsupported_api_version(
            v,
            resource_type,
            supported,
        ))
    }
}

async fn route(inner: &Inner, req: &Req) -> ArmResult<Resp> {
    authenticate(inner, req)?;
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let lc: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lc.iter().map(String::as_str).collect();
    if l.first() != Some(&"subscriptions") || segs.len() < 2 {
        return Err(ArmError::not_found_route(&req.path));
    }
    let sub = segs[1];
    if !sub.eq_ignore_ascii_case(&inner.opts.subscription_id) {
        return Err(ArmError::new(
            404,
            "SubscriptionNotFound",
            format!("The subscription '{sub}' could not be found."),
        ));
    }
    let pg = PG_NAMESPACE.to_ascii_lowercase();
    let msi = MSI_NAMESPACE.to_ascii_lowercase();
    // A server's version and parameters come from the backend PostgreSQL.
    let under_a_server = matches!(&l[2..], ["resourcegroups", _, "providers", ns, "flexibleservers", _, ..] if *ns == pg);
    let ctx = Ctx {
        inner,
        req,
        sub: inner.opts.subscription_id.clone(),
        backend: if under_a_server {
            Some(backend_facts::load(inner).await)
        } else {
            None
        },
    };
    match &l[2..] {
        ["resourcegroups"] => {
            check_api_version(req, &[], "resourceGroups")?;
            resource_groups::list(&ctx)
        }
        ["resourcegroups", _] => {
            check_api_version(req, &[], "resourceGroups")?;
            resource_groups::handle(&ctx, segs[3])
        }
        ["resourcegroups", _, "providers", ns, "userassignedidentities", ..] if *ns == msi => {
            check_api_version(req, MSI_API_VERSIONS, "userAssignedIdentities")?;
            identities::handle(&ctx, segs[3], &segs[7..]).await
        }
        ["resourcegroups", _, "providers", ns, "flexibleservers", ..] if *ns == pg => {
            check_api_version(req, PG_API_VERSIONS, "flexibleServers")?;
            servers::handle(&ctx, segs[3], &segs[7..])
        }
        ["providers", ns, "locations", _, kind, _] if *ns == pg => {
            check_api_version(req, PG_API_VERSIONS, "locations/operations")?;
            lro::status(&ctx, kind, segs[7])
        }
        ["providers", ns, "flexibleservers"] if *ns == pg => {
            check_api_version(req, PG_API_VERSIONS, "flexibleServers")?;
            servers::list(&ctx, None)
        }
        ["providers", ns, "userassignedidentities"] if *ns == msi => {
            check_api_version(req, MSI_API_VERSIONS, "userAssignedIdentities")?;
            identities::list(&ctx, None)
        }
        _ => Err(ArmError::not_found_route(&req.path)),
    }
}

/// `{"value": [...]}` list body.
pub(crate) fn list_body(items: Vec<Value>) -> Resp {
    Resp::json(200, &serde_json::json!({ "value": items }))
}

/// Ensures the resource group exists; returns its name as created.
pub(crate) fn require_rg(w: &crate::state::World, rg: &str) -> ArmResult<String> {
    w.resource_groups
        .get(&rg.to_ascii_lowercase())
        .map(|g| g.name.clone())
        .ok_or_else(|| ArmError::resource_group_not_found(rg))
}

/// Whether `s` is a GUID in its 8-4-4-4-12 form.
pub(crate) fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Normalises a location the way ARM echoes it in URLs (`East US` -> `eastus`).
pub(crate) fn normalize_location(l: &str) -> String {
    l.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Copies `tags` from a body, checking it is an object of strings.
pub(crate) fn tags_of(body: &Value) -> ArmResult<Option<Value>> {
    match body.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) if m.values().all(Value::is_string) => {
            Ok(Some(Value::Object(m.clone())))
        }
        Some(_) => Err(ArmError::invalid_body(
            "The 'tags' property must be an object whose values are strings.",
        )),
    }
}
