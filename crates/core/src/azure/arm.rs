//! The ARM client: JSON GET/PUT/PATCH/DELETE with `api-version`, retries with backoff and jitter
//! (429, 5xx, dropped connections, and the errors Azure uses for overlapping writes), Retry-After
//! honoured, long-running operations followed exactly as ARM runs them, an overall deadline, and
//! ARM's error bodies surfaced with the request id. Tokens never reach a log line.
//!
//! The bearer token goes only to the configured ARM endpoint: every URL is either built from a
//! checked resource path ([`ArmPath`]) or taken from an answer (Azure-AsyncOperation, Location,
//! nextLink) and checked to have the endpoint's scheme, host and port; `send` refuses any other
//! before a token is attached. Durations from Azure (Retry-After) are clamped to
//! [`MAX_WAIT_FROM_AZURE`] and deadlines are computed without overflow.

use crate::azure::arm_error::{ArmError, ErrorBody};
use crate::azure::ids::{segment_problem, ArmId};
use crate::azure::TokenCache;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Error codes Azure uses when a write overlaps another on the same parent: retried as such.
pub const RACE_CODES: &[&str] = &[
    "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
    "AnotherOperationInProgress",
    "ServerIsBusy",
    "ServerBusy",
    "OperationInProgress",
    "ResourceBusy",
];

/// The longest wait a Retry-After from Azure can ask for; longer ones (or ones that do not fit a
/// number) are cut to this. The caller's deadline still bounds every wait.
pub const MAX_WAIT_FROM_AZURE: Duration = Duration::from_secs(300);

/// How far ahead "no deadline" lies: `Instant + Duration::MAX` overflows, this does not.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `now + wait`, saturating at [`FAR_FUTURE`] from now instead of overflowing.
fn instant_after(now: Instant, wait: Duration) -> Instant {
    now.checked_add(wait)
        .or_else(|| now.checked_add(FAR_FUTURE))
        .unwrap_or(now)
}

/// The longest resource path sent (ARM's IDs are far shorter).
const MAX_PATH_CHARS: usize = 4096;

/// An ARM resource path (`/subscriptions/...`) that can only name something on the endpoint it
/// is joined to: no scheme, user info, query, fragment, dot segment, empty segment, backslash,
/// control character or whitespace; each segment is percent-encoded when the URL is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmPath(String);

impl ArmPath {
    pub fn parse(path: &str) -> Result<Self, ArmError> {
        let refuse = |why: String| ArmError::InvalidPath {
            path: path.to_string(),
            why,
        };
        if path.is_empty() {
            return Err(refuse("the ID is empty".into()));
        }
        if path.chars().count() > MAX_PATH_CHARS {
            return Err(refuse(format!(
                "it is longer than {MAX_PATH_CHARS} characters"
            )));
        }
        let prefix = "/subscriptions/";
        if !path
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        {
            return Err(refuse(
                "an ARM resource ID starts with /subscriptions/".into(),
            ));
        }
        if let Some(problem) = path[1..].split('/').find_map(segment_problem) {
            return Err(refuse(format!("it contains {problem}")));
        }
        Ok(Self(path.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn segments(&self) -> impl Iterator<Item = &str> {
        self.0[1..].split('/')
    }
}

impl std::fmt::Display for ArmPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The configured ARM endpoint as a URL (see [`crate::azure::http::token_endpoint`]).
fn parse_endpoint(endpoint: &str) -> Result<Url, String> {
    crate::azure::http::token_endpoint("armEndpoint", endpoint, false)
}

/// The origin of a URL for messages (`scheme://host:port`: no path, no query).
fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// How requests are retried and operations polled.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries of one request on 429, 5xx or no answer.
    pub max_retries: u32,
    /// Retries of one request refused because another write is running on its parent.
    pub max_race_retries: u32,
    /// First backoff; doubles each retry, with jitter, up to `max_delay`.
    pub initial_delay: Duration,
    pub max_delay: Duration,
    /// Poll interval when an operation gives no Retry-After.
    pub default_poll_interval: Duration,
    /// Floor of poll intervals (and of a Retry-After of 0).
    pub min_poll_interval: Duration,
    /// Overall time for one call, operations included, unless a deadline is set.
    pub default_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 8,
            max_race_retries: 40,
            initial_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(60),
            default_poll_interval: Duration::from_secs(10),
            min_poll_interval: Duration::from_secs(1),
            default_timeout: Duration::from_secs(60 * 60),
        }
    }
}

/// One answer: status, headers, body.
#[derive(Debug, Clone)]
pub struct ArmResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl ArmResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn request_id(&self) -> Option<String> {
        self.header("x-ms-request-id").map(str::to_string)
    }
}

struct Inner {
    http: reqwest::Client,
    endpoint: String,
    /// The endpoint parsed, or why it cannot be used (reported by every call).
    endpoint_url: Result<Url, String>,
    scope: String,
    tokens: Arc<TokenCache>,
    policy: RetryPolicy,
}

/// A cheap-to-clone handle; [`ArmClient::with_deadline`] gives a view bound to one deadline,
/// [`ArmClient::with_cancel`] one whose waits end when the caller cancels.
#[derive(Clone)]
pub struct ArmClient {
    inner: Arc<Inner>,
    deadline: Option<Instant>,
    /// Turns true when the caller gives up (the engine's Cancel, SIGINT, StopProvider): every
    /// wait (LRO polls, Ready waits, retry pauses) ends at once with [`ArmError::Cancelled`].
    cancel: Option<tokio::sync::watch::Receiver<bool>>,
    /// Overrides the policy's retries of a write refused because another runs (see
    /// [`ArmClient::without_race_retries`]).
    race_retries: Option<u32>,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("endpoint", &self.inner.endpoint)
            .field("deadline", &self.deadline)
            .finish()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Put,
    Patch,
    Delete,
    Post,
}

impl ArmClient {
    pub fn new(
        http: reqwest::Client,
        endpoint: &str,
        scope: &str,
        tokens: Arc<TokenCache>,
    ) -> Self {
        Self::with_policy(http, endpoint, scope, tokens, RetryPolicy::default())
    }

    pub fn with_policy(
        http: reqwest::Client,
        endpoint: &str,
        scope: &str,
        tokens: Arc<TokenCache>,
        policy: RetryPolicy,
    ) -> Self {
        let inner = Inner {
            http,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            endpoint_url: parse_endpoint(endpoint.trim_end_matches('/')),
            scope: scope.to_string(),
            tokens,
            policy,
        };
        Self {
            inner: Arc::new(inner),
            deadline: None,
            cancel: None,
            race_retries: None,
        }
    }

    /// The same client, every call of which must end by `deadline` (the engine's timeout).
    pub fn with_deadline(&self, deadline: Instant) -> Self {
        Self {
            deadline: Some(deadline),
            ..self.clone()
        }
    }

    /// The same client, whose waits stop as soon as `cancel` turns true.
    pub fn with_cancel(&self, cancel: tokio::sync::watch::Receiver<bool>) -> Self {
        Self {
            cancel: Some(cancel),
            ..self.clone()
        }
    }

    /// The same client, answering a write refused because another operation runs on the
    /// resource at once instead of retrying it (the caller waits in its own way).
    pub fn without_race_retries(&self) -> Self {
        Self {
            race_retries: Some(0),
            ..self.clone()
        }
    }

    /// Whether the caller has cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| *c.borrow())
    }

    /// Sleeps for `wait`, or ends early with [`ArmError::Cancelled`] when the caller cancels.
    pub async fn pause_for(&self, wait: Duration, doing: &str) -> Result<(), ArmError> {
        let Some(mut cancel) = self.cancel.clone() else {
            tokio::time::sleep(wait).await;
            return Ok(());
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(()),
            _ = cancel.wait_for(|cancelled| *cancelled) => Err(ArmError::Cancelled {
                doing: doing.to_string(),
            }),
        }
    }

    /// The same client bound to `timeout` from now (a timeout too large to add saturates).
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        self.with_deadline(instant_after(Instant::now(), timeout))
    }

    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    fn deadline(&self) -> Instant {
        self.deadline
            .unwrap_or_else(|| instant_after(Instant::now(), self.inner.policy.default_timeout))
    }

    /// GET a resource: `Ok(None)` when it does not exist (404).
    pub async fn get(&self, path: &str, api_version: &str) -> Result<Option<Value>, ArmError> {
        let deadline = self.deadline();
        let url = self.url(path, api_version)?;
        let resp = self.send(Method::GET, &url, None, deadline).await?;
        match resp.status.as_u16() {
            404 => Ok(None),
            200..=299 => Ok(Some(resp.body)),
            _ => Err(api_error("GET", path, &resp)),
        }
    }

    /// PUT (create or replace) and follow the operation to its end; returns the resource as a GET
    /// then shows it. A failure after Azure accepted the write is [`ArmError::Accepted`].
    pub async fn put(
        &self,
        path: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<Value, ArmError> {
        self.write(Verb::Put, path, api_version, Some(body))
            .await
            .map(|v| v.unwrap_or(Value::Null))
    }

    /// PATCH and follow the operation to its end; returns the resource as a GET then shows it.
    pub async fn patch(
        &self,
        path: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<Value, ArmError> {
        self.write(Verb::Patch, path, api_version, Some(body))
            .await
            .map(|v| v.unwrap_or(Value::Null))
    }

    /// DELETE and follow the operation to its end. A resource already gone is success.
    pub async fn delete(&self, path: &str, api_version: &str) -> Result<(), ArmError> {
        self.write(Verb::Delete, path, api_version, None)
            .await
            .map(|_| ())
    }

    /// GET the resource a typed ID names: `Ok(None)` when it does not exist.
    pub async fn get_resource<Id: ArmId>(&self, id: &Id) -> Result<Option<Value>, ArmError> {
        self.get(&id.to_string(), Id::API_VERSION).await
    }

    /// PUT the resource a typed ID names (see [`ArmClient::put`]).
    pub async fn put_resource<Id: ArmId>(&self, id: &Id, body: &Value) -> Result<Value, ArmError> {
        self.put(&id.to_string(), Id::API_VERSION, body).await
    }

    /// PATCH the resource a typed ID names (see [`ArmClient::patch`]).
    pub async fn patch_resource<Id: ArmId>(
        &self,
        id: &Id,
        body: &Value,
    ) -> Result<Value, ArmError> {
        self.patch(&id.to_string(), Id::API_VERSION, body).await
    }

    /// DELETE the resource a typed ID names (see [`ArmClient::delete`]).
    pub async fn delete_resource<Id: ArmId>(&self, id: &Id) -> Result<(), ArmError> {
        self.delete(&id.to_string(), Id::API_VERSION).await
    }

    /// Polls the resource a typed ID names until `ready` (see [`ArmClient::wait_for`]).
    pub async fn wait_for_resource<Id: ArmId>(
        &self,
        id: &Id,
        what: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Result<Value, ArmError> {
        self.wait_for(&id.to_string(), Id::API_VERSION, what, ready)
            .await
    }

    /// POST an action (e.g. `.../restart`) and follow it to its end; returns the action's result
    /// body, if it has one. Actions are not resources: a failure is never [`ArmError::Accepted`].
    pub async fn post(
        &self,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>, ArmError> {
        self.write(Verb::Post, path, api_version, body).await
    }

    /// GET a collection, following `nextLink` (verbatim, on the ARM endpoint only) to the end; a
    /// missing parent is `None`.
    pub async fn list(
        &self,
        path: &str,
        api_version: &str,
    ) -> Result<Option<Vec<Value>>, ArmError> {
        let deadline = self.deadline();
        let mut url = self.url(path, api_version)?;
        let mut items = Vec::new();
        loop {
            let resp = self.send(Method::GET, &url, None, deadline).await?;
            match resp.status.as_u16() {
                404 if items.is_empty() => return Ok(None),
                200..=299 => {}
                _ => return Err(api_error("GET", path, &resp)),
            }
            if let Some(values) = resp.body.get("value").and_then(Value::as_array) {
                items.extend(values.iter().cloned());
            }
            match resp
                .body
                .get("nextLink")
                .and_then(Value::as_str)
                .filter(|l| !l.is_empty())
            {
                Some(next) => url = self.followed("nextLink", next)?,
                None => return Ok(Some(items)),
            }
        }
    }

    /// Polls a resource until `ready` says yes (e.g. a server's `state` is `Ready` before the next
    /// write to it: turning Entra on restarts it). A resource that is gone is an error.
    pub async fn wait_for(
        &self,
        path: &str,
        api_version: &str,
        what: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Result<Value, ArmError> {
        let deadline = self.deadline();
        let url = self.url(path, api_version)?;
        let mut wait = Duration::ZERO;
        loop {
            if !wait.is_zero() {
                self.sleep_until_poll(wait, deadline, &format!("waiting for {path} to be {what}"))
                    .await?;
            }
            let resp = self.send(Method::GET, &url, None, deadline).await?;
            if !resp.status.is_success() {
                return Err(api_error("GET", path, &resp));
            }
            if ready(&resp.body) {
                return Ok(resp.body);
            }
            wait = self.poll_delay(&resp);
        }
    }

    /// Polls a resource that does not exist yet (a create someone else started, invisible
    /// until it ends) up to `polls` times at the default poll interval: the resource once it
    /// exists, `None` when it still does not. Bounded by the deadline, ended by a cancel.
    pub async fn poll_until_exists<Id: ArmId>(
        &self,
        id: &Id,
        polls: u32,
    ) -> Result<Option<Value>, ArmError> {
        let deadline = self.deadline();
        let path = id.to_string();
        let wait = self.inner.policy.default_poll_interval;
        for _ in 0..polls {
            self.sleep_until_poll(
                wait,
                deadline,
                &format!("waiting for the create of {path} already running in Azure"),
            )
            .await?;
            if let Some(resource) = self.get_resource(id).await? {
                return Ok(Some(resource));
            }
        }
        Ok(None)
    }

    async fn write(
        &self,
        verb: Verb,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>, ArmError> {
        let deadline = self.deadline();
        let url = self.url(path, api_version)?;
        let (method, name) = match verb {
            Verb::Put => (Method::PUT, "PUT"),
            Verb::Patch => (Method::PATCH, "PATCH"),
            Verb::Delete => (Method::DELETE, "DELETE"),
            Verb::Post => (Method::POST, "POST"),
        };
        let resp = self.send(method, &url, body, deadline).await?;
        let status = resp.status.as_u16();
        let is_delete = matches!(verb, Verb::Delete);
        if is_delete && (status == 404 || status == 204) {
            return Ok(None);
        }
        if !(200..=299).contains(&status) {
            return Err(api_error(name, path, &resp));
        }
        let resource_id = path.split('?').next().unwrap_or(path).to_string();
        let followed = self.follow(&resp, &url, name, path, verb, deadline).await;
        match followed {
            Ok(v) => Ok(v),
            Err(e) if matches!(verb, Verb::Delete | Verb::Post) => Err(e),
            Err(e) => Err(ArmError::Accepted {
                resource_id,
                cause: Box::new(e),
            }),
        }
    }

    /// Follows an accepted write: Azure-AsyncOperation first, else Location, else the resource's
    /// own provisioningState; then, for PUT/PATCH, the final GET of the resource URL.
    async fn follow(
        &self,
        first: &ArmResponse,
        url: &Url,
        name: &str,
        path: &str,
        verb: Verb,
        deadline: Instant,
    ) -> Result<Option<Value>, ArmError> {
        let is_delete = verb == Verb::Delete;
        let is_post = verb == Verb::Post;
        if is_post && first.status.as_u16() != 202 {
            return Ok((!first.body.is_null()).then(|| first.body.clone()));
        }
        // Both URLs are checked before either is used: a token never goes to another host.
        let async_url = first
            .header("azure-asyncoperation")
            .map(|u| self.followed("Azure-AsyncOperation header", u))
            .transpose()?;
        let location = first
            .header("location")
            .map(|u| self.followed("Location header", u))
            .transpose()?;
        let request_id = first.request_id();
        let mut wait = self.poll_delay(first);
        if let Some(status_url) = async_url.filter(|_| !(is_post && location.is_some())) {
            loop {
                self.sleep_until_poll(
                    wait,
                    deadline,
                    &format!("waiting for {name} {path} to finish"),
                )
                .await?;
                let poll = self.send(Method::GET, &status_url, None, deadline).await?;
                if !poll.status.is_success() {
                    // A status URL that cannot be read says nothing about the operation itself.
                    return Err(api_error("GET", status_url.path(), &poll));
                }
                let status = poll
                    .body
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                match status.as_str() {
                    s if s.eq_ignore_ascii_case("Succeeded") => break,
                    s if s.eq_ignore_ascii_case("Failed") || s.eq_ignore_ascii_case("Canceled") => {
                        return Err(operation_failed(path, &status, &poll.body, request_id));
                    }
                    _ => wait = self.poll_delay(&poll),
                }
            }
        } else if let Some(mut location_url) = location {
            loop {
                self.sleep_until_poll(
                    wait,
                    deadline,
                    &format!("waiting for {name} {path} to finish"),
                )
                .await?;
                let poll = self
                    .send(Method::GET, &location_url, None, deadline)
                    .await?;
                match poll.status.as_u16() {
                    202 => {
                        if let Some(next) = poll.header("location") {
                            location_url = self.followed("Location header", next)?;
                        }
                        wait = self.poll_delay(&poll);
                    }
                    200..=299 if is_post => return Ok((!poll.body.is_null()).then_some(poll.body)),
                    200..=299 => break,
                    404 if is_delete => return Ok(None),
                    _ => {
                        let body = ErrorBody::from_json(&poll.body).unwrap_or_else(|| {
                            ErrorBody::from_text(poll.status.as_u16(), &poll.body.to_string())
                        });
                        return Err(ArmError::OperationFailed {
                            resource: path.to_string(),
                            status: "Failed".into(),
                            body: Box::new(body),
                            request_id: poll.request_id().or(request_id),
                        });
                    }
                }
            }
        } else if !is_delete && !is_terminal(&first.body) {
            // 200/201 with a provisioningState still running: poll the resource itself.
            loop {
                self.sleep_until_poll(
                    wait,
                    deadline,
                    &format!("waiting for {name} {path} to be provisioned"),
                )
                .await?;
                let poll = self.send(Method::GET, url, None, deadline).await?;
                if !poll.status.is_success() {
                    return Err(api_error("GET", path, &poll));
                }
                let state = provisioning_state(&poll.body)
                    .unwrap_or("Succeeded")
                    .to_string();
                if state.eq_ignore_ascii_case("Failed") || state.eq_ignore_ascii_case("Canceled") {
                    return Err(operation_failed(path, &state, &poll.body, request_id));
                }
                if is_terminal(&poll.body) {
                    return Ok(Some(poll.body));
                }
                wait = self.poll_delay(&poll);
            }
        } else if first.status.as_u16() != 202 || is_delete {
            // Synchronous: the answer is the result.
            return Ok((!is_delete).then(|| first.body.clone()));
        }
        if is_delete || is_post {
            return Ok(None);
        }
        // The final GET of the resource URL.
        let last = self.send(Method::GET, url, None, deadline).await?;
        if !last.status.is_success() {
            return Err(api_error("GET", path, &last));
        }
        Ok(Some(last.body))
    }

    fn poll_delay(&self, resp: &ArmResponse) -> Duration {
        let p = &self.inner.policy;
        retry_after(&resp.headers)
            .unwrap_or(p.default_poll_interval)
            .max(p.min_poll_interval)
    }

    async fn sleep_until_poll(
        &self,
        wait: Duration,
        deadline: Instant,
        doing: &str,
    ) -> Result<(), ArmError> {
        let now = Instant::now();
        if now >= deadline || deadline - now < wait {
            self.pause_for(deadline.saturating_duration_since(now), doing)
                .await?;
            return Err(ArmError::DeadlineExceeded {
                doing: doing.to_string(),
                last_error: None,
            });
        }
        self.pause_for(wait, doing).await
    }

    /// The URL of a resource path on the endpoint, with `api-version`; a path that could leave
    /// the endpoint (or is empty) is refused here, before anything is sent.
    fn url(&self, path: &str, api_version: &str) -> Result<Url, ArmError> {
        let path = ArmPath::parse(path)?;
        if api_version.is_empty()
            || !api_version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(ArmError::InvalidPath {
                path: path.to_string(),
                why: format!("api-version {api_version:?} is not one"),
            });
        }
        let mut url = self.endpoint_url()?.clone();
        url.path_segments_mut()
            .map_err(|_| ArmError::Setup("armEndpoint cannot take a path".into()))?
            .pop_if_empty()
            .extend(path.segments());
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        self.ensure_on_endpoint(&url, "request")?;
        Ok(url)
    }

    fn endpoint_url(&self) -> Result<&Url, ArmError> {
        self.inner
            .endpoint_url
            .as_ref()
            .map_err(|why| ArmError::Setup(why.clone()))
    }

    /// A URL from an answer (`what` names where it came from), if it is on the ARM endpoint.
    fn followed(&self, what: &str, raw: &str) -> Result<Url, ArmError> {
        let url = Url::parse(raw.trim()).map_err(|e| ArmError::InvalidResponse {
            method: "GET".into(),
            path: what.to_string(),
            message: format!("the {what} is not an absolute URL ({e})"),
        })?;
        self.ensure_on_endpoint(&url, what)?;
        Ok(url)
    }

    /// The one check before a token is attached: the URL has the endpoint's scheme, host and
    /// port, and no user info.
    fn ensure_on_endpoint(&self, url: &Url, what: &str) -> Result<(), ArmError> {
        let endpoint = self.endpoint_url()?;
        if url.origin() == endpoint.origin()
            && url.username().is_empty()
            && url.password().is_none()
        {
            return Ok(());
        }
        Err(ArmError::ForeignUrl {
            what: what.to_string(),
            origin: origin_of(url),
            endpoint: origin_of(endpoint),
        })
    }

    /// One request with retries. Any answer that is not retried is returned, errors included. The
    /// URL must be on the ARM endpoint (checked here, before the token is attached).
    async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        deadline: Instant,
    ) -> Result<ArmResponse, ArmError> {
        self.ensure_on_endpoint(url, "request")?;
        let p = &self.inner.policy;
        let path = url.path().to_string();
        let mut transient = 0u32;
        let mut races = 0u32;
        let mut auth_retried = false;
        loop {
            if Instant::now() >= deadline {
                return Err(ArmError::DeadlineExceeded {
                    doing: format!("calling {method} {path}"),
                    last_error: None,
                });
            }
            // Signing in counts against the same deadline: the credential's own retries
            // (a token service that is down) must not outlive the engine's timeout.
            let token =
                match tokio::time::timeout_at(deadline, self.inner.tokens.get(&self.inner.scope))
                    .await
                {
                    Ok(token) => token?,
                    // Nothing was sent to ARM yet: the token service was too slow or down, which
                    // trying again later may cure.
                    Err(_) => {
                        return Err(ArmError::CredentialUnavailable(format!(
                        "no token within the operation's deadline, so {method} {path} was not sent"
                    )))
                    }
                };
            let mut req = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, format!("Bearer {}", token.token.secret()))
                .header("accept", "application/json")
                .header(
                    reqwest::header::USER_AGENT,
                    crate::azure::http::USER_AGENT.as_str(),
                )
                .timeout(
                    deadline
                        .saturating_duration_since(Instant::now())
                        .min(Duration::from_secs(120)),
                );
            if let Some(b) = body {
                req = req
                    .header(CONTENT_TYPE, "application/json")
                    .body(b.to_string());
            }
            let (retry, delay, last) = match req.send().await {
                // The same certificate fails again: no retry, and rustls' cause kept.
                Err(e) if crate::tls_failure::certificate_error(&e).is_some() => {
                    let why = crate::tls_failure::azure_endpoint_refused("the ARM endpoint", &e);
                    return Err(ArmError::Setup(why.unwrap_or_default()));
                }
                Err(e) => {
                    transient += 1;
                    let message = error_chain(&e);
                    tracing::debug!(%method, %path, attempt = transient, error = %message, "no answer; retrying");
                    let last = ArmError::Transport {
                        method: method.to_string(),
                        path: path.clone(),
                        message,
                    };
                    (transient <= p.max_retries, None, last)
                }
                Ok(r) => {
                    let status = r.status();
                    let headers = r.headers().clone();
                    let text = match r.text().await {
                        Ok(t) => t,
                        Err(e) => {
                            transient += 1;
                            let last = ArmError::Transport {
                                method: method.to_string(),
                                path: path.clone(),
                                message: error_chain(&e),
                            };
                            self.pause(transient <= p.max_retries, None, transient, deadline, last)
                                .await?;
                            continue;
                        }
                    };
                    let body = if text.trim().is_empty() {
                        Value::Null
                    } else {
                        serde_json::from_str(&text).unwrap_or(Value::String(text))
                    };
                    let resp = ArmResponse {
                        status,
                        headers,
                        body,
                    };
                    tracing::debug!(%method, %path, status = status.as_u16(), request_id = resp.request_id().unwrap_or_default(), "ARM answered");
                    let code = ErrorBody::from_json(&resp.body)
                        .map(|b| b.code)
                        .unwrap_or_default();
                    let s = status.as_u16();
                    if s == 401 && !auth_retried && code == "ExpiredAuthenticationToken" {
                        auth_retried = true;
                        self.inner.tokens.invalidate(&self.inner.scope).await;
                        continue;
                    }
                    let is_race = (s == 409 || s == 429 || s == 400)
                        && RACE_CODES.iter().any(|c| c.eq_ignore_ascii_case(&code));
                    if is_race {
                        races += 1;
                        let last = api_error(method.as_str(), &path, &resp);
                        tracing::debug!(%method, %path, code, attempt = races, "another write is running; retrying");
                        (
                            races <= self.race_retries.unwrap_or(p.max_race_retries),
                            retry_after(&resp.headers),
                            last,
                        )
                    } else if s == 408
                        || s == 429
                        || (500..=599).contains(&s) && s != 501 && s != 505
                    {
                        transient += 1;
                        let last = api_error(method.as_str(), &path, &resp);
                        tracing::debug!(%method, %path, status = s, attempt = transient, "transient answer; retrying");
                        (transient <= p.max_retries, retry_after(&resp.headers), last)
                    } else {
                        return Ok(resp);
                    }
                }
            };
            let attempt = transient.max(races);
            self.pause(retry, delay, attempt, deadline, last).await?;
        }
    }

    /// Waits before the next try, or gives up with `last` (when out of retries or time).
    async fn pause(
        &self,
        retry: bool,
        retry_after: Option<Duration>,
        attempt: u32,
        deadline: Instant,
        last: ArmError,
    ) -> Result<(), ArmError> {
        if !retry {
            return Err(last);
        }
        let delay = retry_after.unwrap_or_else(|| backoff(&self.inner.policy, attempt));
        let now = Instant::now();
        if now.checked_add(delay).is_none_or(|t| t >= deadline) {
            return Err(ArmError::DeadlineExceeded {
                doing: "retrying".into(),
                last_error: Some(last.to_string()),
            });
        }
        self.pause_for(delay, "retrying").await
    }
}

/// Exponential backoff with jitter: a random point in [d/2, d], d = initial * 2^(attempt-1).
fn backoff(p: &RetryPolicy, attempt: u32) -> Duration {
    let exp = p
        .initial_delay
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(p.max_delay);
    let half = exp / 2;
    half + Duration::from_nanos(jitter(half.as_nanos() as u64))
}

fn jitter(bound: u64) -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    if bound == 0 {
        return 0;
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ seed;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x % bound
}

/// `Retry-After` in seconds (ARM's form) or as an HTTP-date, or `retry-after-ms` /
/// `x-ms-retry-after-ms`; at most [`MAX_WAIT_FROM_AZURE`] whatever Azure said.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    let millis = get("retry-after-ms")
        .or_else(|| get("x-ms-retry-after-ms"))
        .and_then(|v| whole_number(v).map(|ms| Duration::from_millis(ms.unwrap_or(u64::MAX))));
    let wait = millis.or_else(|| {
        let v = get("retry-after")?;
        match whole_number(v) {
            Some(secs) => Some(Duration::from_secs(secs.unwrap_or(u64::MAX))),
            None => until_http_date(v),
        }
    })?;
    Some(wait.min(MAX_WAIT_FROM_AZURE))
}

/// A string of ASCII digits: `Some(Some(n))`, or `Some(None)` when it is too large for a u64
/// (still a number of seconds, just a huge one); `None` when it is not a whole number.
fn whole_number(v: &str) -> Option<Option<u64>> {
    (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())).then(|| v.parse::<u64>().ok())
}

/// The time from now until an HTTP-date (zero when it is past).
fn until_http_date(v: &str) -> Option<Duration> {
    let at = azure_core::time::parse_rfc7231(v).ok()?;
    let left = at - azure_core::time::OffsetDateTime::now_utc();
    Some(Duration::try_from(left).unwrap_or(Duration::ZERO))
}

fn provisioning_state(body: &Value) -> Option<&str> {
    body.pointer("/properties/provisioningState")
        .and_then(Value::as_str)
}

/// A resource without provisioningState counts as Succeeded.
fn is_terminal(body: &Value) -> bool {
    match provisioning_state(body) {
        None => true,
        Some(s) => ["Succeeded", "Failed", "Canceled"]
            .iter()
            .any(|t| t.eq_ignore_ascii_case(s)),
    }
}

fn api_error(method: &str, path: &str, resp: &ArmResponse) -> ArmError {
    let status = resp.status.as_u16();
    let body = ErrorBody::from_json(&resp.body).unwrap_or_else(|| match &resp.body {
        Value::String(s) => ErrorBody::from_text(status, s),
        Value::Null => ErrorBody::from_text(status, resp.status.canonical_reason().unwrap_or("")),
        other => ErrorBody::from_text(status, &other.to_string()),
    });
    ArmError::Api {
        method: method.to_string(),
        path: path.to_string(),
        status,
        body: Box::new(body),
        request_id: resp.request_id(),
    }
}

fn operation_failed(
    path: &str,
    status: &str,
    body: &Value,
    request_id: Option<String>,
) -> ArmError {
    let body = ErrorBody::from_json(body).unwrap_or_else(|| ErrorBody {
        code: status.to_string(),
        message: format!("the operation ended {status} without an error body"),
        ..Default::default()
    });
    ArmError::OperationFailed {
        resource: path.to_string(),
        status: status.to_string(),
        body: Box::new(body),
        request_id,
    }
}

pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_stays_under_the_cap() {
        let p = RetryPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..Default::default()
        };
        let first = backoff(&p, 1);
        assert!(
            first >= Duration::from_millis(50) && first <= Duration::from_millis(100),
            "{first:?}"
        );
        let late = backoff(&p, 12);
        assert!(
            late >= Duration::from_millis(500) && late <= Duration::from_secs(1),
            "{late:?}"
        );
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn every_retry_after_from_azure_is_clamped_and_none_panics() {
        let cap = Some(MAX_WAIT_FROM_AZURE);
        for (name, value, want) in [
            ("retry-after", "18446744073709551615", cap),
            ("retry-after", "99999999999999999999999999", cap),
            ("retry-after", "1e19", None),
            ("retry-after", "-1", None),
            ("retry-after", "", None),
            ("retry-after", "7", Some(Duration::from_secs(7))),
            ("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT", cap),
            (
                "retry-after",
                "Sun, 06 Nov 1994 08:49:37 GMT",
                Some(Duration::ZERO),
            ),
            ("retry-after-ms", "18446744073709551615", cap),
            ("retry-after-ms", "184467440737095516150", cap),
            ("x-ms-retry-after-ms", "18446744073709551615", cap),
            (
                "x-ms-retry-after-ms",
                "250",
                Some(Duration::from_millis(250)),
            ),
        ] {
            assert_eq!(
                retry_after(&headers(&[(name, value)])),
                want,
                "{name}: {value}"
            );
        }
    }

    #[test]
    fn deadlines_from_huge_timeouts_saturate_instead_of_overflowing() {
        let now = Instant::now();
        assert!(instant_after(now, Duration::MAX) > now + Duration::from_secs(3600 * 24 * 365));
        assert_eq!(
            instant_after(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
    }

    #[tokio::test]
    async fn a_client_bound_to_an_endless_timeout_does_not_panic() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tokens = Arc::new(TokenCache::new(Arc::new(
            crate::azure::CredentialChain::new(Vec::new()),
        )));
        let client = ArmClient::new(
            reqwest::Client::new(),
            "https://127.0.0.1:9",
            "https://management.azure.com/.default",
            tokens,
        );
        let bound = client.with_timeout(Duration::MAX);
        assert!(bound.deadline() > Instant::now() + Duration::from_secs(3600));
        let policy = RetryPolicy {
            default_timeout: Duration::MAX,
            ..Default::default()
        };
        let unbounded = ArmClient::with_policy(
            reqwest::Client::new(),
            "https://127.0.0.1:9",
            "s",
            client.inner.tokens.clone(),
            policy,
        );
        assert!(unbounded.deadline() > Instant::now());
    }

    #[test]
    fn resource_paths_that_could_leave_the_endpoint_are_refused() {
        let ok = "/subscriptions/s/resourceGroups/rg/providers/P/t/name-1";
        assert_eq!(ArmPath::parse(ok).unwrap().as_str(), ok);
        for bad in [
            "",
            "subscriptions/s",
            ":8443/subscriptions/s",
            ".evil.example/subscriptions/s",
            "@127.0.0.2/subscriptions/s",
            "//127.0.0.2/subscriptions/s",
            "https://127.0.0.2/subscriptions/s",
            "/subscriptions/s/../../x",
            "/subscriptions/s/./x",
            "/subscriptions//s",
            "/subscriptions/s/",
            "/subscriptions/s?x=1",
            "/subscriptions/s#x",
            "/subscriptions/a@b",
            "/subscriptions/a\\..\\b",
            "/subscriptions/a%2e%2e",
            "/subscriptions/a b",
            "/subscriptions/a\tb",
            "/subscriptions/a\nb",
            "/subscriptions/a\u{0}b",
            "/_emulator/state",
        ] {
            let err = ArmPath::parse(bad).expect_err(bad);
            assert!(
                matches!(err, ArmError::InvalidPath { .. }),
                "{bad:?}: {err}"
            );
            assert_eq!(err.class(), crate::error::ErrorClass::InvalidArgument);
        }
        let long = format!("/subscriptions/{}", "a".repeat(10_000));
        let message = ArmPath::parse(&long).unwrap_err().to_string();
        assert!(
            message.len() < 600,
            "the refusal repeats the whole path: {}",
            message.len()
        );
    }

    #[test]
    fn only_https_endpoints_or_loopback_http_are_used() {
        for good in [
            "https://management.azure.com",
            "https://127.0.0.1:8443",
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
        ] {
            assert!(parse_endpoint(good).is_ok(), "{good}");
        }
        for bad in [
            "http://management.azure.com",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "https://user:pw@management.azure.com",
            "https://management.azure.com?x=1",
            "management.azure.com",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }
}
