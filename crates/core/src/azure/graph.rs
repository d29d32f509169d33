//! The one question pgentra asks Microsoft Graph: what directory object has this object ID
//! (`GET {graphEndpoint}/v1.0/directoryObjects/{id}`), to tell a role bound to a deleted or
//! renamed principal. Only built when the provider configuration names `graphEndpoint`: Graph is
//! never called unasked (it needs directory read permission the deployer may not have).

use crate::azure::arm_error::{ArmError, ErrorBody};
use crate::azure::TokenCache;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// How long one Graph answer may take: a Read must not hang on the directory.
const GRAPH_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    endpoint: String,
    scope: String,
    tokens: Arc<TokenCache>,
}

/// A directory object as Graph describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryObject {
    /// pgaadauth's word for it: `user`, `group` or `service`.
    pub kind: &'static str,
    /// The name PostgreSQL knows it by: a user's UPN, else the display name.
    pub name: String,
}

impl GraphClient {
    pub fn new(
        http: reqwest::Client,
        endpoint: &str,
        scope: &str,
        tokens: Arc<TokenCache>,
    ) -> Self {
        Self {
            http,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            scope: scope.to_owned(),
            tokens,
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The object with this ID, or `None` when Graph says it does not exist
    /// (`Request_ResourceNotFound`).
    pub async fn directory_object(
        &self,
        object_id: &str,
    ) -> Result<Option<DirectoryObject>, ArmError> {
        let path = format!("/v1.0/directoryObjects/{object_id}");
        if crate::rules::uuid(&Value::String(object_id.to_owned())).is_err() {
            // Never put a non-UUID in the path: it is not an object ID, so nothing has it.
            return Ok(None);
        }
        let token = self.tokens.get(&self.scope).await?;
        let transport = |e: reqwest::Error| ArmError::Transport {
            method: "GET".into(),
            path: path.clone(),
            message: crate::azure::arm::error_chain(&e),
        };
        let resp = self
            .http
            .get(format!("{}{path}", self.endpoint))
            .bearer_auth(token.token.secret())
            .timeout(GRAPH_TIMEOUT)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status().as_u16();
        let request_id = resp
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.text().await.map_err(transport)?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let error = || ArmError::Api {
            method: "GET".into(),
            path: path.clone(),
            status,
            body: Box::new(
                ErrorBody::from_json(&body).unwrap_or_else(|| ErrorBody::from_text(status, &text)),
            ),
            request_id: request_id.clone(),
        };
        match status {
            200 => Ok(Some(described(&body).ok_or_else(error)?)),
            404 if ErrorBody::from_json(&body)
                .is_some_and(|b| b.code == "Request_ResourceNotFound") =>
            {
                Ok(None)
            }
            _ => Err(error()),
        }
    }
}

/// A Graph directory object body as kind and name; `None` for a type pgaadauth cannot bind.
fn described(body: &Value) -> Option<DirectoryObject> {
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let kind = s("@odata.type")?;
    match kind.as_str() {
        "#microsoft.graph.user" => Some(DirectoryObject {
            kind: "user",
            name: s("userPrincipalName")?,
        }),
        "#microsoft.graph.group" => Some(DirectoryObject {
            kind: "group",
            name: s("displayName")?,
        }),
        "#microsoft.graph.servicePrincipal" => Some(DirectoryObject {
            kind: "service",
            name: s("displayName")?,
        }),
        _ => None,
    }
}

/// Whether `role` is still the name of `object` as PostgreSQL matches it: a user's UPN without
/// regard to case, any other display name exactly.
pub fn names_match(object: &DirectoryObject, role: &str) -> bool {
    if object.kind == "user" {
        object.name.eq_ignore_ascii_case(role)
    } else {
        object.name == role
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn graph_bodies_become_pgaadauth_kinds_and_names() {
        let user = json!({"@odata.type": "#microsoft.graph.user", "id": "x",
                          "displayName": "Dev", "userPrincipalName": "dev@contoso.example"});
        let found = described(&user).unwrap();
        assert_eq!((found.kind, found.name.as_str()), ("user", "dev@contoso.example"));
        assert!(names_match(&found, "DEV@contoso.example"));
        let mi = json!({"@odata.type": "#microsoft.graph.servicePrincipal", "displayName": "id-app"});
        let found = described(&mi).unwrap();
        assert_eq!(found.kind, "service");
        assert!(!names_match(&found, "ID-app"), "display names match exactly");
        assert_eq!(described(&json!({"@odata.type": "#microsoft.graph.device"})), None);
    }
}
