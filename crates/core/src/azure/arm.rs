//! The ARM client: JSON GET/PUT/PATCH/DELETE with `api-version`, retries with backoff and jitter
//! (429, 5xx, dropped connections, and the errors Azure uses for overlapping writes), Retry-After
//! honoured, long-running operations followed exactly as ARM runs them, an overall deadline, and
//! ARM's error bodies surfaced with the request id. Tokens never reach a log line.

use crate::azure::arm_error::{ArmError, ErrorBody};
use crate::azure::ids::ArmId;
use crate::azure::TokenCache;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
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

    pub fn with_timeout(&self, timeout: Duration) -> Self {
        self.with_deadline(Instant::now() + timeout)
    }

    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    fn deadline(&self) -> Instant {
        self.deadline
            .unwrap_or_else(|| Instant::now() + self.inner.policy.default_timeout)
    }

    /// GET a resource: `Ok(None)` when it does not exist (404).
    pub async fn get(&self, path: &str, api_version: &str) -> Result<Option<Value>, ArmError> {
        let deadline = self.deadline();
        let url = self.url(path, api_version);
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

    /// GET a collection, following `nextLink` (verbatim) to the end; a missing parent is `None`.
    pub async fn list(
        &self,
        path: &str,
        api_version: &str,
    ) -> Result<Option<Vec<Value>>, ArmError> {
        let deadline = self.deadline();
        let mut url = self.url(path, api_version);
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
                Some(next) => url = next.to_string(),
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
        let url = self.url(path, api_version);
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
        let url = self.url(path, api_version);
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
        url: &str,
        name: &str,
        path: &str,
        verb: Verb,
        deadline: Instant,
    ) -> Result<Option<Value>, ArmError> {
        let is_delete = verb == Verb::Delete;
        let is_post = verb == Verb::Post;
        let async_url = first.header("azure-asyncoperation").map(str::to_string);
        let location = first.header("location").map(str::to_string);
        if is_post && first.status.as_u16() != 202 {
            return Ok((!first.body.is_null()).then(|| first.body.clone()));
        }
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
                    return Err(api_error("GET", &status_url, &poll));
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
                            location_url = next.to_string();
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

    fn url(&self, path: &str, api_version: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!(
            "{}{}{sep}api-version={api_version}",
            self.inner.endpoint, path
        )
    }

    /// One request with retries. Any answer that is not retried is returned, errors included; a URL
    /// from Azure (absolute) is used verbatim.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        deadline: Instant,
    ) -> Result<ArmResponse, ArmError> {
        let p = &self.inner.policy;
        let path = display_path(url, &self.inner.endpoint);
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
                    Err(_) => {
                        return Err(ArmError::DeadlineExceeded {
                            doing: format!("signing in to call {method} {path}"),
                            last_error: None,
                        })
                    }
                };
            let mut req = self
                .inner
                .http
                .request(method.clone(), url)
                .header(AUTHORIZATION, format!("Bearer {}", token.token.secret()))
                .header("accept", "application/json")
                .header(reqwest::header::USER_AGENT, crate::azure::http::USER_AGENT)
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
        if now + delay >= deadline {
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

/// `Retry-After` in seconds (ARM's form), or `retry-after-ms` / `x-ms-retry-after-ms`.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = get("retry-after-ms")
        .or_else(|| get("x-ms-retry-after-ms"))
        .and_then(|v| v.parse::<u64>().ok())
    {
        return Some(Duration::from_millis(ms));
    }
    get("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
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

/// The path of a URL for messages (no host, no query: nothing secret, short).
fn display_path(url: &str, endpoint: &str) -> String {
    let rest = url.strip_prefix(endpoint).unwrap_or_else(|| {
        url.split_once("://")
            .map(|(_, r)| r.find('/').map(|i| &r[i..]).unwrap_or(r))
            .unwrap_or(url)
    });
    rest.split('?').next().unwrap_or(rest).to_string()
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
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

    #[test]
    fn paths_in_messages_drop_host_and_query() {
        assert_eq!(
            display_path("https://h:1/subscriptions/s?api-version=1", "https://h:1"),
            "/subscriptions/s"
        );
        assert_eq!(
            display_path("https://other/x/y?api-version=1", "https://h:1"),
            "/x/y"
        );
    }
}
