//! The managed identity of a VM (or any host with an Instance Metadata Service style endpoint):
//! `GET {endpoint}?api-version=2018-02-01&resource=...` with `Metadata: true`. Only built when
//! `useMsi` is set, so the link-local address is never dialled unasked; the endpoint is
//! `msiEndpoint` when given (a proxy, the pgentra emulator), else the VM's.

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind;
use azure_core::time::OffsetDateTime;
use serde_json::Value;
use std::time::Duration;

/// The VM's metadata service, reachable only from inside the VM.
pub const IMDS_TOKEN_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
const API_VERSION: &str = "2018-02-01";
/// The metadata service answers locally in milliseconds; off Azure the address does not answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub struct ImdsCredential {
    http: reqwest::Client,
    endpoint: reqwest::Url,
    /// A user-assigned identity's client ID; None for the system-assigned identity.
    client_id: Option<String>,
}

impl std::fmt::Debug for ImdsCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImdsCredential")
            .field("endpoint", &self.endpoint.as_str())
            .field("client_id", &self.client_id)
            .finish()
    }
}

impl ImdsCredential {
    /// `endpoint` is `msiEndpoint` when set; None means the VM's metadata service.
    pub fn new(
        http: reqwest::Client,
        endpoint: Option<&str>,
        client_id: Option<String>,
    ) -> Result<Self, String> {
        let text = endpoint.unwrap_or(IMDS_TOKEN_ENDPOINT);
        let endpoint = reqwest::Url::parse(text)
            .map_err(|e| format!("msiEndpoint {text:?} is not a URL: {e}"))?;
        Ok(Self {
            http,
            endpoint,
            client_id,
        })
    }

    /// The endpoint asked for tokens.
    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str()
    }
}

fn failure(kind: ErrorKind, message: String) -> azure_core::Error {
    azure_core::Error::with_message(kind, message)
}

#[async_trait::async_trait]
impl TokenCredential for ImdsCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let [scope] = scopes else {
            return Err(failure(
                ErrorKind::Credential,
                "a managed identity token is for exactly one scope".into(),
            ));
        };
        // The metadata service takes the resource, not a scope.
        let resource = scope.strip_suffix("/.default").unwrap_or(scope);
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION)
            .append_pair("resource", resource);
        if let Some(client_id) = &self.client_id {
            url.query_pairs_mut().append_pair("client_id", client_id);
        }
        let endpoint = self.endpoint.as_str();
        let response = self
            .http
            .get(url)
            .header("Metadata", "true")
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| {
                failure(
                    ErrorKind::Connection,
                    format!("the managed identity endpoint {endpoint} did not answer: {e}"),
                )
            })?;
        let status = response.status().as_u16();
        // A body that is not JSON reads as null: the status then says what went wrong.
        let body: Value = response
            .bytes()
            .await
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or(Value::Null);
        if status != 200 {
            let said = body["error_description"]
                .as_str()
                .or(body["error"].as_str())
                .unwrap_or("no error description");
            return Err(azure_core::Error::with_message(
                ErrorKind::HttpResponse {
                    status: status.into(),
                    error_code: body["error"].as_str().map(str::to_owned),
                    raw_response: None,
                },
                format!("the managed identity endpoint {endpoint} answered {status}: {said}"),
            ));
        }
        let token = body["access_token"].as_str().filter(|t| !t.is_empty());
        // `expires_on` is Unix seconds, as a string (sometimes a number).
        let expires_on = match &body["expires_on"] {
            Value::String(text) => text.parse::<i64>().ok(),
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok());
        match (token, expires_on) {
            (Some(token), Some(expires_on)) => Ok(AccessToken::new(token.to_owned(), expires_on)),
            _ => Err(failure(
                ErrorKind::Credential,
                format!(
                    "the managed identity endpoint {endpoint} answered without access_token and expires_on"
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vms_metadata_service_is_the_default_and_msi_endpoint_replaces_it() {
        let http = reqwest::Client::new();
        let vm = ImdsCredential::new(http.clone(), None, None).unwrap();
        assert_eq!(vm.endpoint(), IMDS_TOKEN_ENDPOINT);
        let other = ImdsCredential::new(
            http.clone(),
            Some("https://127.0.0.1:8443/metadata/identity/oauth2/token"),
            None,
        )
        .unwrap();
        assert_eq!(
            other.endpoint(),
            "https://127.0.0.1:8443/metadata/identity/oauth2/token"
        );
        assert!(ImdsCredential::new(http, Some("not a url"), None)
            .unwrap_err()
            .contains("msiEndpoint"));
    }
}
