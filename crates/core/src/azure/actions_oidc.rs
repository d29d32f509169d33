//! GitHub Actions OIDC: the job's ID token, asked for at each sign-in from
//! `ACTIONS_ID_TOKEN_REQUEST_URL` with `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, is the client assertion
//! that Entra exchanges for an access token (a federated identity credential on the app or
//! identity trusts the repository's subject). Nothing is written to a file: the ID token lives
//! only for the exchange.

use azure_core::credentials::Secret;
use azure_core::error::ErrorKind;
use azure_core::http::ClientMethodOptions;
use azure_identity::ClientAssertion;
use serde_json::Value;
use std::time::Duration;

/// The audience Entra wants on a federated assertion.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub struct ActionsIdToken {
    http: reqwest::Client,
    url: reqwest::Url,
    bearer: Secret,
}

impl std::fmt::Debug for ActionsIdToken {
    // The request URL's query and the bearer token stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionsIdToken")
            .field("host", &self.url.host_str())
            .finish_non_exhaustive()
    }
}

impl ActionsIdToken {
    pub fn new(http: reqwest::Client, url: &str, bearer: String) -> Result<Self, String> {
        // The request token goes only to an https (or loopback) URL, its query kept.
        let url = crate::azure::http::token_endpoint(
            "oidcRequestUrl (ACTIONS_ID_TOKEN_REQUEST_URL)",
            url,
            true,
        )?;
        Ok(Self {
            http,
            url,
            bearer: Secret::new(bearer),
        })
    }

    /// Where the ID token comes from, for messages: scheme, host and path, no query.
    fn shown(&self) -> String {
        format!(
            "{}://{}{}",
            self.url.scheme(),
            self.url.host_str().unwrap_or_default(),
            self.url.path()
        )
    }
}

#[async_trait::async_trait]
impl ClientAssertion for ActionsIdToken {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        let mut url = self.url.clone();
        url.query_pairs_mut()
            .append_pair("audience", TOKEN_EXCHANGE_AUDIENCE);
        let shown = self.shown();
        let response = self
            .http
            .get(url)
            .bearer_auth(self.bearer.secret())
            .header("Accept", "application/json")
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| {
                azure_core::Error::with_message(
                    ErrorKind::Connection,
                    format!("the GitHub Actions ID token endpoint {shown} did not answer: {e}"),
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
            let said = body["message"].as_str().unwrap_or("no message");
            return Err(azure_core::Error::with_message(
                ErrorKind::HttpResponse {
                    status: status.into(),
                    error_code: None,
                    raw_response: None,
                },
                format!(
                    "the GitHub Actions ID token endpoint {shown} answered {status}: {said} \
                     (the job needs `permissions: id-token: write`)"
                ),
            ));
        }
        body["value"]
            .as_str()
            .filter(|token| !token.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                azure_core::Error::with_message(
                    ErrorKind::Credential,
                    format!(
                        "the GitHub Actions ID token endpoint {shown} answered without a value"
                    ),
                )
            })
    }
}
