//! GitHub Actions' ID token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`): a job with
//! `permissions: id-token: write` asks it, with `ACTIONS_ID_TOKEN_REQUEST_TOKEN` as the bearer,
//! for a signed OIDC token whose subject names the repository and ref. Served on the OIDC
//! issuer's listener, and signed by the issuer's key, so a federated identity credential with
//! the emulator's issuer and [`ACTIONS_SUBJECT`] trusts it.

use crate::http::{Req, Resp};
use crate::{util, Inner, RunningEmulator};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};

/// The path of the endpoint (GitHub's is longer; clients take the URL as given).
pub const ID_TOKEN_PATH: &str = "/_actions/idtoken";
/// The subject of the emulated job's ID tokens: a push to main of one repository.
pub const ACTIONS_SUBJECT: &str = "repo:pgentra/pgentra:ref:refs/heads/main";

/// The job's request token and how many ID tokens were asked for.
pub(crate) struct ActionsJob {
    request_token: String,
    requests: AtomicU64,
}

impl Default for ActionsJob {
    fn default() -> Self {
        Self {
            request_token: util::secret(40),
            requests: AtomicU64::new(0),
        }
    }
}

fn refusal(status: u16, message: &str) -> Resp {
    Resp::json(status, &json!({"message": message}))
}

/// GET `/_actions/idtoken?api-version=2.0[&audience=..]` with `Authorization: Bearer <token>`.
pub(crate) fn handle(inner: &Inner, req: &Req) -> Resp {
    let job = &inner.actions;
    job.requests.fetch_add(1, Ordering::SeqCst);
    if req.method != "GET" || req.path.trim_end_matches('/') != ID_TOKEN_PATH {
        return refusal(404, "Not Found");
    }
    let bearer = req
        .header("authorization")
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    if bearer != Some(job.request_token.as_str()) {
        return refusal(
            401,
            "Bad credentials: the request token is missing or wrong.",
        );
    }
    // Without an audience, GitHub's default: the repository owner's URL.
    let audience = req
        .query_param("audience")
        .filter(|a| !a.is_empty())
        .unwrap_or("https://github.com/pgentra");
    let now = util::now_secs();
    let token = inner.keys.sign(&json!({
        "iss": inner.urls.oidc_issuer,
        "sub": ACTIONS_SUBJECT,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": util::uuid(),
        "repository": "pgentra/pgentra",
        "repository_owner": "pgentra",
        "ref": "refs/heads/main",
        "event_name": "push",
        "runner_environment": "github-hosted",
    }));
    Resp::json(200, &json!({"count": 1, "value": token}))
}

impl RunningEmulator {
    /// The job's `ACTIONS_ID_TOKEN_REQUEST_URL`.
    pub fn actions_id_token_request_url(&self) -> String {
        format!("{}{ID_TOKEN_PATH}?api-version=2.0", self.urls.oidc_issuer)
    }

    /// The job's `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    pub fn actions_id_token_request_token(&self) -> &str {
        &self.inner.actions.request_token
    }

    /// How many ID tokens were asked for.
    pub fn actions_id_token_requests(&self) -> u64 {
        self.inner.actions.requests.load(Ordering::SeqCst)
    }
}
