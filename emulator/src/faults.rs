//! Fault injection: rules that make the next N matching requests (or operations) misbehave.

use crate::http::{Resp, Service};
use crate::state::Outcome;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What a matching request or operation gets instead of the normal answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FaultKind {
    /// 429 with `Retry-After: retryAfter` (seconds).
    #[serde(rename_all = "camelCase")]
    Throttle { retry_after: u64 },
    /// 500 InternalServerError.
    ServerError,
    /// The connection closes without an answer.
    Drop,
    /// 503: the service is down (e.g. the token service).
    Unavailable,
    /// The next long-running operation on a matching resource ends Failed.
    LroFailed,
    /// The next long-running operation on a matching resource ends Canceled.
    LroCanceled,
    /// The request is served as usual, then these headers replace the answer's own (e.g. an
    /// Azure-AsyncOperation URL on another host, a huge Retry-After): a tampered answer.
    Headers {
        set: std::collections::BTreeMap<String, String>,
    },
    /// The next long-running operation on a matching resource runs `ms` milliseconds instead
    /// of the emulator's LRO duration (a slow create, or with a huge value an endless one).
    #[serde(rename_all = "camelCase")]
    LroSlow { ms: u64 },
}

/// One rule. Requests match on service (if given), method (if given) and a case-insensitive path
/// prefix; operations match on their resource id's prefix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default)]
    pub path_prefix: String,
    /// How many requests/operations still get the fault.
    pub count: u32,
    pub kind: FaultKind,
}

impl FaultRule {
    pub fn new(kind: FaultKind, path_prefix: &str, count: u32) -> Self {
        Self {
            service: None,
            method: None,
            path_prefix: path_prefix.to_string(),
            count,
            kind,
        }
    }

    pub fn on(mut self, service: Service) -> Self {
        self.service = Some(service);
        self
    }

    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    fn is_lro(&self) -> bool {
        matches!(
            self.kind,
            FaultKind::LroFailed | FaultKind::LroCanceled | FaultKind::LroSlow { .. }
        )
    }

    fn is_headers(&self) -> bool {
        matches!(self.kind, FaultKind::Headers { .. })
    }

    fn matches_request(&self, service: Service, method: &str, path: &str) -> bool {
        self.service.is_none_or(|s| s == service)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.matches_prefix(path)
    }

    fn matches_prefix(&self, path: &str) -> bool {
        path.len() >= self.path_prefix.len()
            && path.as_bytes()[..self.path_prefix.len()]
                .eq_ignore_ascii_case(self.path_prefix.as_bytes())
    }
}

#[derive(Default, Debug)]
pub struct Faults {
    rules: Vec<FaultRule>,
}

impl Faults {
    pub fn add(&mut self, rule: FaultRule) {
        if rule.count > 0 {
            self.rules.push(rule);
        }
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.rules.clone()
    }

    /// Consumes one matching request rule, returning the answer to give instead.
    pub fn take_request(&mut self, service: Service, method: &str, path: &str) -> Option<Resp> {
        let idx = self.rules.iter().position(|r| {
            !r.is_lro() && !r.is_headers() && r.matches_request(service, method, path)
        })?;
        let rule = self.consume(idx);
        Some(answer(service, &rule.kind))
    }

    /// Consumes one matching header rule, returning the headers to put on the usual answer.
    pub fn take_headers(
        &mut self,
        service: Service,
        method: &str,
        path: &str,
    ) -> Option<Vec<(String, String)>> {
        let idx = self
            .rules
            .iter()
            .position(|r| r.is_headers() && r.matches_request(service, method, path))?;
        match self.consume(idx).kind {
            FaultKind::Headers { set } => Some(set.into_iter().collect()),
            _ => None,
        }
    }

    /// Consumes one matching operation rule, returning how the operation must end.
    pub fn take_lro(&mut self, resource_id: &str) -> Option<Outcome> {
        let idx = self.rules.iter().position(|r| {
            matches!(r.kind, FaultKind::LroFailed | FaultKind::LroCanceled)
                && r.matches_prefix(resource_id)
        })?;
        match self.consume(idx).kind {
            FaultKind::LroCanceled => Some(Outcome::Canceled),
            _ => Some(Outcome::Failed),
        }
    }

    /// Consumes one matching slow-operation rule: how long the operation runs instead.
    pub fn take_lro_duration(&mut self, resource_id: &str) -> Option<std::time::Duration> {
        let idx = self.rules.iter().position(|r| {
            matches!(r.kind, FaultKind::LroSlow { .. }) && r.matches_prefix(resource_id)
        })?;
        match self.consume(idx).kind {
            FaultKind::LroSlow { ms } => Some(std::time::Duration::from_millis(ms)),
            _ => None,
        }
    }

    fn consume(&mut self, idx: usize) -> FaultRule {
        let rule = self.rules[idx].clone();
        self.rules[idx].count -= 1;
        if self.rules[idx].count == 0 {
            self.rules.remove(idx);
        }
        rule
    }
}

fn answer(service: Service, kind: &FaultKind) -> Resp {
    let (status, code, message) = match kind {
        FaultKind::Drop => return Resp::dropped(),
        FaultKind::Throttle { .. } => (
            429,
            "TooManyRequests",
            "The request is being throttled (injected fault).",
        ),
        FaultKind::ServerError => (
            500,
            "InternalServerError",
            "An internal server error occurred (injected fault).",
        ),
        _ => (
            503,
            "ServiceUnavailable",
            "The service is temporarily unavailable (injected fault).",
        ),
    };
    let resp = if service == Service::Login {
        let (error, aadsts) = match status {
            429 => ("temporarily_unavailable", 50196),
            500 => ("server_error", 50000),
            _ => ("temporarily_unavailable", 90033),
        };
        crate::entra::tokens::aad_error(status, error, aadsts, message)
    } else {
        Resp::json(
            status,
            &json!({"error": {"code": code, "message": message}}),
        )
    };
    match kind {
        FaultKind::Throttle { retry_after } => {
            resp.with_header("retry-after", retry_after.to_string())
        }
        FaultKind::Unavailable => resp.with_header("retry-after", "1"),
        _ => resp,
    }
}
