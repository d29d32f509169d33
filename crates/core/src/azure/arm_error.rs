//! ARM's errors, as the user sees them: the HTTP status, ARM's `code`, `message`, `target` and
//! `details`, and the `x-ms-request-id` to quote to Azure support. An operation Azure accepted
//! that then failed or timed out is its own outcome ([`ArmError::Accepted`]): the resource layer
//! returns the resource's ID with it (ErrorResourceInitFailed) so nothing is orphaned.

use crate::error::ErrorClass;
use serde_json::Value;
use std::fmt;

/// ARM's error body (`{"error": {code, message, target, details, additionalInfo}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    pub target: Option<String>,
    pub details: Vec<ErrorBody>,
}

impl ErrorBody {
    /// Reads `{"error": {...}}`, or a bare `{code, message}` as some RPs send; None when neither.
    pub fn from_json(value: &Value) -> Option<Self> {
        let e = value
            .get("error")
            .filter(|e| e.is_object())
            .unwrap_or(value);
        let code = e.get("code").and_then(Value::as_str)?;
        Some(Self::from_object(e, code))
    }

    fn from_object(e: &Value, code: &str) -> Self {
        let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
        Self {
            code: code.to_string(),
            message: s("message").unwrap_or_default(),
            target: s("target").filter(|t| !t.is_empty()),
            details: e
                .get("details")
                .and_then(Value::as_array)
                .map(|d| {
                    d.iter()
                        .filter_map(|x| {
                            x.get("code")
                                .and_then(Value::as_str)
                                .map(|c| Self::from_object(x, c))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// An error body for an answer that had none (or not ARM's shape).
    pub fn from_text(status: u16, text: &str) -> Self {
        let mut message: String = text.trim().chars().take(500).collect();
        if message.is_empty() {
            message = "(no error body)".into();
        }
        Self {
            code: format!("HttpStatus{status}"),
            message,
            target: None,
            details: Vec::new(),
        }
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(t) = &self.target {
            write!(f, " (target {t})")?;
        }
        for d in &self.details {
            write!(f, "; {d}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong calling Azure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ArmError {
    /// ARM answered with an error status.
    #[error("{method} {path}: HTTP {status} {body}{}", request_id_suffix(.request_id))]
    Api {
        method: String,
        path: String,
        status: u16,
        body: Box<ErrorBody>,
        request_id: Option<String>,
    },
    /// A long-running operation ended Failed or Canceled.
    #[error("the operation on {resource} ended {status}: {body}{}", request_id_suffix(.request_id))]
    OperationFailed {
        resource: String,
        status: String,
        body: Box<ErrorBody>,
        request_id: Option<String>,
    },
    /// Azure accepted a write (the resource exists under `resource_id`, or may) and then the
    /// operation failed, was cancelled, or could not be followed to its end.
    #[error("Azure accepted the write of {resource_id} but it did not complete: {cause}")]
    Accepted {
        resource_id: String,
        cause: Box<ArmError>,
    },
    /// The overall deadline (the engine's timeout) passed.
    #[error("timed out {doing}{}", last_error_suffix(.last_error))]
    DeadlineExceeded {
        doing: String,
        last_error: Option<String>,
    },
    /// No answer: connection refused, reset or dropped, TLS failure, read timeout.
    #[error("{method} {path}: no answer from Azure: {message}")]
    Transport {
        method: String,
        path: String,
        message: String,
    },
    /// No token could be had.
    #[error("signing in to Microsoft Entra ID: {0}")]
    Credential(String),
    /// No token could be had because the token service (or identity endpoint) did not answer or
    /// answered that it is unavailable: trying again later may work.
    #[error("signing in to Microsoft Entra ID: the token service is unavailable: {0}")]
    CredentialUnavailable(String),
    /// The HTTP client could not be built (e.g. an unreadable `caCertFile`).
    #[error("{0}")]
    Setup(String),
    /// A resource path that cannot be sent to ARM as it is (empty, not under `/subscriptions/`,
    /// or with a segment the URL parser would not keep as one): refused before anything is sent.
    #[error("{} is not an ARM resource ID that can be sent to Azure: {why}", crate::azure::ids::shown(.path))]
    InvalidPath { path: String, why: String },
    /// A URL that would take the bearer token somewhere other than the configured ARM endpoint
    /// (an Azure-AsyncOperation, Location or nextLink from an answer): nothing was sent to it.
    #[error("refusing to follow the {what} URL to {origin}: the ARM bearer token is only sent to the configured ARM endpoint {endpoint} (same https scheme, host and port); nothing was sent there")]
    ForeignUrl {
        what: String,
        origin: String,
        endpoint: String,
    },
    /// Azure answered something this client cannot read.
    #[error("{method} {path}: unexpected answer: {message}")]
    InvalidResponse {
        method: String,
        path: String,
        message: String,
    },
    /// The caller cancelled (the engine's Cancel, SIGINT, Terraform's StopProvider) while this
    /// client was waiting; an operation Azure accepted goes on there.
    #[error("cancelled while {doing}: the provider was asked to stop")]
    Cancelled { doing: String },
}

fn request_id_suffix(id: &Option<String>) -> String {
    id.as_deref()
        .map(|id| format!(" (x-ms-request-id: {id})"))
        .unwrap_or_default()
}

fn last_error_suffix(e: &Option<String>) -> String {
    e.as_deref()
        .map(|e| format!("; last error: {e}"))
        .unwrap_or_default()
}

impl ArmError {
    /// ARM's error code, when Azure gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { body, .. } | Self::OperationFailed { body, .. } => Some(&body.code),
            Self::Accepted { cause, .. } => cause.code(),
            _ => None,
        }
    }

    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The `x-ms-request-id` of the answer (or of the accepted request of a failed operation).
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api { request_id, .. } | Self::OperationFailed { request_id, .. } => {
                request_id.as_deref()
            }
            Self::Accepted { cause, .. } => cause.request_id(),
            _ => None,
        }
    }

    /// For a write Azure accepted but that did not complete: the resource's ID.
    pub fn accepted_resource_id(&self) -> Option<&str> {
        match self {
            Self::Accepted { resource_id, .. } => Some(resource_id),
            _ => None,
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Api { status, .. } => match status {
                408 | 429 | 500..=599 => ErrorClass::Unavailable,
                400 | 422 => ErrorClass::InvalidArgument,
                404 => ErrorClass::NotFound,
                _ => ErrorClass::FailedPrecondition,
            },
            // A write whose answer never came may or may not have reached Azure.
            Self::Transport { method, .. } if method != "GET" => ErrorClass::Unknown,
            Self::Transport { .. } | Self::CredentialUnavailable(_) => ErrorClass::Unavailable,
            Self::InvalidPath { .. } => ErrorClass::InvalidArgument,
            Self::OperationFailed { .. }
            | Self::Credential(_)
            | Self::Setup(_)
            | Self::ForeignUrl { .. } => ErrorClass::FailedPrecondition,
            // The caller stopped waiting; what Azure accepted goes on there.
            Self::Cancelled { .. } => ErrorClass::Cancelled,
            Self::Accepted { .. }
            | Self::DeadlineExceeded { .. }
            | Self::InvalidResponse { .. } => ErrorClass::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arm_error_body_with_target_and_details_reads_whole() {
        let body = ErrorBody::from_json(&json!({"error": {"code": "InvalidParameter", "message": "Bad sku.", "target": "sku.name",
            "details": [{"code": "SkuNotAvailable", "message": "Not here."}]}}))
        .unwrap();
        assert_eq!(
            body.to_string(),
            "InvalidParameter: Bad sku. (target sku.name); SkuNotAvailable: Not here."
        );
        let e = ArmError::Api {
            method: "PUT".into(),
            path: "/x".into(),
            status: 400,
            body: Box::new(body),
            request_id: Some("rid-1".into()),
        };
        assert!(e.to_string().ends_with("(x-ms-request-id: rid-1)"), "{e}");
        assert_eq!(e.class(), ErrorClass::InvalidArgument);
    }

    #[test]
    fn a_lost_answer_to_a_write_is_an_unknown_outcome_but_to_a_read_is_unavailable() {
        let lost = |method: &str| ArmError::Transport {
            method: method.into(),
            path: "/x".into(),
            message: "connection closed".into(),
        };
        assert_eq!(lost("PUT").class(), ErrorClass::Unknown);
        assert_eq!(lost("GET").class(), ErrorClass::Unavailable);
    }
}
