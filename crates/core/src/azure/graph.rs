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
    ) -> Result<Self, String> {
        // The Graph token goes only where an ARM token may: checked once, here.
        let endpoint = endpoint.trim_end_matches('/');
        crate::azure::http::token_endpoint("graphEndpoint", endpoint, false)?;
        Ok(Self {
            http,
            endpoint: endpoint.to_owned(),
            scope: scope.to_owned(),
            tokens,
        })
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
        if crate::rules::uuid(&Value::String(object_id.to_owned())).is_err() {
            // Never put a non-UUID in the path: it is not an object ID, so nothing has it.
            return Ok(None);
        }
        let path = format!("/v1.0/directoryObjects/{object_id}");
        match self.get(&path, None).await? {
            Answer::Found(body) => Ok(Some(described(&body))),
            Answer::NotFound => Ok(None),
        }
    }

    /// The object IDs of the objects of pgaadauth's `kind` (`user`, `group`, `service`) that
    /// PostgreSQL would know by `name` (a user's UPN, else the display name).
    pub async fn object_ids_named(&self, kind: &str, name: &str) -> Result<Vec<String>, ArmError> {
        let (collection, property) = match kind {
            "user" => ("users", "userPrincipalName"),
            "group" => ("groups", "displayName"),
            _ => ("servicePrincipals", "displayName"),
        };
        let filter = format!("{property} eq '{}'", name.replace('\'', "''"));
        let path = format!("/v1.0/{collection}");
        let body = match self.get(&path, Some(&filter)).await? {
            Answer::Found(body) => body,
            Answer::NotFound => return Ok(Vec::new()),
        };
        Ok(body["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["id"].as_str().map(str::to_owned))
            .collect())
    }

    async fn get(&self, path: &str, filter: Option<&str>) -> Result<Answer, ArmError> {
        let token = self.tokens.get(&self.scope).await?;
        let transport = |e: reqwest::Error| ArmError::Transport {
            method: "GET".into(),
            path: path.to_owned(),
            message: crate::azure::arm::error_chain(&e),
        };
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.endpoint)).map_err(|e| {
            ArmError::Transport {
                method: "GET".into(),
                path: path.to_owned(),
                message: format!("graphEndpoint {:?} is not a URL: {e}", self.endpoint),
            }
        })?;
        if let Some(filter) = filter {
            url.query_pairs_mut().append_pair("$filter", filter);
        }
        let resp = self
            .http
            .get(url)
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
        let error_body = ErrorBody::from_json(&body);
        match status {
            200 => Ok(Answer::Found(body)),
            404 if error_body
                .as_ref()
                .is_some_and(|b| b.code == "Request_ResourceNotFound") =>
            {
                Ok(Answer::NotFound)
            }
            _ => Err(ArmError::Api {
                method: "GET".into(),
                path: path.to_owned(),
                status,
                body: Box::new(error_body.unwrap_or_else(|| ErrorBody::from_text(status, &text))),
                request_id,
            }),
        }
    }
}

enum Answer {
    Found(Value),
    NotFound,
}

/// A Graph directory object body as kind and name; a type pgaadauth cannot bind (a device)
/// is kind `other`.
fn described(body: &Value) -> DirectoryObject {
    let s = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match body.get("@odata.type").and_then(Value::as_str) {
        Some("#microsoft.graph.user") => DirectoryObject {
            kind: "user",
            name: s("userPrincipalName"),
        },
        Some("#microsoft.graph.group") => DirectoryObject {
            kind: "group",
            name: s("displayName"),
        },
        Some("#microsoft.graph.servicePrincipal") => DirectoryObject {
            kind: "service",
            name: s("displayName"),
        },
        _ => DirectoryObject {
            kind: "other",
            name: s("displayName"),
        },
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
        let found = described(&user);
        assert_eq!(
            (found.kind, found.name.as_str()),
            ("user", "dev@contoso.example")
        );
        assert!(names_match(&found, "DEV@contoso.example"));
        let mi =
            json!({"@odata.type": "#microsoft.graph.servicePrincipal", "displayName": "id-app"});
        let found = described(&mi);
        assert_eq!(found.kind, "service");
        assert!(
            !names_match(&found, "ID-app"),
            "display names match exactly"
        );
        assert_eq!(
            described(&json!({"@odata.type": "#microsoft.graph.device"})).kind,
            "other"
        );
    }
}
