//! The Entra v2 token endpoint (client credentials with a secret or a federated assertion),
//! its discovery documents, and how access tokens are built.

use crate::entra::directory::{Principal, ServicePrincipal};
use crate::http::{Req, Resp};
use crate::{util, Inner};
use base64::Engine;
use serde_json::{json, Value};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An Entra error body: `{error, error_description, error_codes, timestamp, trace_id, correlation_id}`.
pub fn aad_error(status: u16, error: &str, code: u32, message: &str) -> Resp {
    let trace = util::uuid();
    let corr = util::uuid();
    let ts = util::now_iso();
    let description =
        format!("AADSTS{code}: {message} Trace ID: {trace} Correlation ID: {corr} Timestamp: {ts}");
    Resp::json(
        status,
        &json!({
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": ts,
            "trace_id": trace,
            "correlation_id": corr,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

/// The issuer of access tokens (v1 form).
pub(crate) fn issuer(inner: &Inner) -> String {
    format!("https://sts.windows.net/{}/", inner.opts.tenant_id)
}

/// Builds and signs an access token for a principal; returns it with its lifetime in seconds.
/// `appidacr`: "1" client secret, "2" certificate/assertion/managed identity.
pub(crate) fn issue_for_principal(
    inner: &Inner,
    p: &Principal,
    resource: &str,
    appidacr: Option<&str>,
) -> (String, u64) {
    let now = util::now_secs();
    let life = inner
        .token_lifetime_s
        .load(std::sync::atomic::Ordering::Relaxed)
        .max(1);
    *inner
        .tokens_issued
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(resource.to_owned())
        .or_default() += 1;
    let tid = &inner.opts.tenant_id;
    let mut claims = json!({
        "aud": resource,
        "iss": issuer(inner),
        "iat": now,
        "nbf": now,
        "exp": now + life,
        "idp": issuer(inner),
        "oid": p.object_id(),
        "sub": p.object_id(),
        "tid": tid,
        "uti": util::secret(22),
        "ver": "1.0",
    });
    match p {
        Principal::ServicePrincipal(sp) => {
            claims["appid"] = json!(sp.app_id);
            claims["appidacr"] = json!(appidacr.unwrap_or("1"));
            claims["idtyp"] = json!("app");
            if let Some(mirid) = &sp.managed_identity_resource_id {
                claims["xms_mirid"] = json!(mirid);
            }
        }
        Principal::User(u) => {
            claims["idtyp"] = json!("user");
            claims["upn"] = json!(u.user_principal_name);
            claims["unique_name"] = json!(u.user_principal_name);
            claims["name"] = json!(u.display_name);
            claims["scp"] = json!("user_impersonation");
            claims["appid"] = json!("04b07795-8ddb-461a-bbee-02f9e1bf7b46");
            claims["appidacr"] = json!("0");
        }
        Principal::Group(_) => {}
    }
    (inner.keys.sign(&claims), life)
}

/// Serves `/{tenant}/oauth2/v2.0/token`, `/{tenant}/discovery/v2.0/keys`,
/// `/{tenant}/v2.0/.well-known/openid-configuration` and `/common/discovery/instance`.
pub(crate) fn handle(inner: &Inner, req: &Req) -> Resp {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let tid = inner.opts.tenant_id.as_str();
    let authority = &inner.urls.authority;
    let tenant_ok = |t: &str| t.eq_ignore_ascii_case(tid) || t == "organizations";
    match (req.method.as_str(), segs.as_slice()) {
        ("POST", [t, "oauth2", "v2.0", "token"]) if tenant_ok(t) => token(inner, req, false),
        ("POST", [t, "oauth2", "token"]) if tenant_ok(t) => token(inner, req, true),
        ("POST", [t, "oauth2", "v2.0", "token"]) | ("POST", [t, "oauth2", "token"]) => aad_error(
            400,
            "invalid_request",
            90002,
            &format!("Tenant '{t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
        ),
        ("GET", [t, "discovery", "v2.0", "keys"]) | ("GET", [t, "discovery", "keys"]) if tenant_ok(t) || *t == "common" => {
            Resp::json(200, &inner.keys.jwks())
        }
        ("GET", [t, "v2.0", ".well-known", "openid-configuration"]) if tenant_ok(t) || *t == "common" => Resp::json(
            200,
            &json!({
                "issuer": format!("{authority}/{tid}/v2.0"),
                "token_endpoint": format!("{authority}/{tid}/oauth2/v2.0/token"),
                "authorization_endpoint": format!("{authority}/{tid}/oauth2/v2.0/authorize"),
                "jwks_uri": format!("{authority}/{tid}/discovery/v2.0/keys"),
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "tenant_region_scope": "NA",
                "cloud_instance_name": "microsoftonline.com",
            }),
        ),
        ("GET", ["common", "discovery", "instance"]) => Resp::json(
            200,
            &json!({
                "tenant_discovery_endpoint": format!("{authority}/{tid}/v2.0/.well-known/openid-configuration"),
                "api-version": "1.1",
                "metadata": [],
            }),
        ),
        _ => aad_error(404, "invalid_request", 900561, "The endpoint only accepts POST requests to the token path."),
    }
}

/// The v2 endpoint takes `scope=<resource>/.default`; the v1 endpoint (`v1 == true`) takes
/// `resource=<resource>` and answers with string numbers and the resource, as v1 does.
fn token(inner: &Inner, req: &Req, v1: bool) -> Resp {
    let form = util::parse_form(&String::from_utf8_lossy(&req.body));
    let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let basic = basic_auth(req);
    let missing = |p: &str| {
        aad_error(
            400,
            "invalid_request",
            900144,
            &format!("The request body must contain the following parameter: '{p}'."),
        )
    };
    let grant = match get("grant_type") {
        Some(g) => g,
        None => return missing("grant_type"),
    };
    if grant != "client_credentials" {
        return aad_error(
            400,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant}'."),
        );
    }
    let client_id = match get("client_id")
        .map(str::to_string)
        .or_else(|| basic.as_ref().map(|b| b.0.clone()))
    {
        Some(c) => c,
        None => return missing("client_id"),
    };
    let v1_scope;
    let scope = match (v1, get("scope"), get("resource")) {
        (false, Some(s), _) => s,
        (true, _, Some(r)) => {
            v1_scope = format!("{r}/.default");
            v1_scope.as_str()
        }
        (false, None, _) => return missing("scope"),
        (true, _, None) => return missing("resource"),
    };
    let Some(resource) = scope
        .strip_suffix("/.default")
        .filter(|r| !r.is_empty() && !r.contains(' '))
    else {
        return aad_error(
            400,
            "invalid_scope",
            1002012,
            &format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
        );
    };
    let secret = get("client_secret")
        .map(str::to_string)
        .or_else(|| basic.map(|b| b.1));
    let principal = if let Some(secret) = secret {
        match by_secret(inner, &client_id, &secret) {
            Ok(sp) => sp,
            Err(r) => return r,
        }
    } else if let Some(assertion) = get("client_assertion") {
        if get("client_assertion_type") != Some(JWT_BEARER) {
            return aad_error(
                400,
                "invalid_request",
                50027,
                "The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
            );
        }
        match crate::entra::federation::by_assertion(inner, &client_id, assertion) {
            Ok(sp) => sp,
            Err(r) => return r,
        }
    } else {
        return aad_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
    };
    let acr = if form.contains_key("client_assertion") {
        "2"
    } else {
        "1"
    };
    let (token, life) = issue_for_principal(
        inner,
        &Principal::ServicePrincipal(principal),
        resource,
        Some(acr),
    );
    let body = if v1 {
        let now = util::now_secs();
        json!({"token_type": "Bearer", "expires_in": life.to_string(), "ext_expires_in": life.to_string(),
               "expires_on": (now + life).to_string(), "not_before": now.to_string(), "resource": resource,
               "access_token": token})
    } else {
        json!({"token_type": "Bearer", "expires_in": life, "ext_expires_in": life, "access_token": token})
    };
    Resp::json(200, &body).with_header("cache-control", "no-store, no-cache")
}

fn basic_auth(req: &Req) -> Option<(String, String)> {
    let v = req.header("authorization")?.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((util::form_decode(u), util::form_decode(p)))
}

fn by_secret(inner: &Inner, client_id: &str, secret: &str) -> Result<ServicePrincipal, Resp> {
    let sp = inner
        .directory
        .service_principal_by_app_id(client_id)
        .ok_or_else(|| unknown_app(inner, client_id))?;
    if !sp.secrets.iter().any(|s| s == secret) {
        return Err(aad_error(
            401,
            "invalid_client",
            7000215,
            &format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."),
        ));
    }
    Ok(sp)
}

pub(crate) fn unknown_app(inner: &Inner, client_id: &str) -> Resp {
    aad_error(
        400,
        "unauthorized_client",
        700016,
        &format!(
            "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
            inner.opts.tenant_id
        ),
    )
}

/// The `aud` claim as a list (it may be a string or an array).
pub(crate) fn audiences(claims: &Value) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}
