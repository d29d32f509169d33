//! The OIDC issuer of Kubernetes-style service-account tokens (what an AKS cluster publishes).

use crate::http::{Req, Resp};
use crate::{util, Inner};
use serde_json::json;

/// GET `/.well-known/openid-configuration` and GET `/openid/v1/jwks`.
pub(crate) fn handle(inner: &Inner, req: &Req) -> Resp {
    let issuer = &inner.urls.oidc_issuer;
    match (req.method.as_str(), req.path.trim_end_matches('/')) {
        ("GET", "/.well-known/openid-configuration") => Resp::json(
            200,
            &json!({
                "issuer": issuer,
                "jwks_uri": format!("{issuer}/openid/v1/jwks"),
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }),
        ),
        ("GET", "/openid/v1/jwks") => Resp::json(200, &inner.keys.jwks()),
        _ => Resp::json(
            404,
            &json!({"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}),
        ),
    }
}

pub(crate) fn mint_service_account_token(
    inner: &Inner,
    namespace: &str,
    name: &str,
    audience: &str,
) -> String {
    let now = util::now_secs();
    inner.keys.sign(&json!({
        "aud": [audience],
        "exp": now + 3600,
        "iat": now,
        "nbf": now,
        "iss": inner.urls.oidc_issuer,
        "sub": format!("system:serviceaccount:{namespace}:{name}"),
        "kubernetes.io": {
            "namespace": namespace,
            "serviceaccount": {"name": name, "uid": util::uuid()},
        },
    }))
}
