//! Turning errors into gRPC statuses the engine reads correctly: the code says whether
//! anything changed, the message names the operation and the resource.

use crate::proto::google_rpc;
use crate::proto::pulumirpc::ErrorResourceInitFailed;
use pgentra_core::error::ErrorClass;
use pgentra_core::resource::Error;
use prost::Message;
use tonic::{Code, Status};

/// "creating pgentra:index:FlexibleServer \"pg-1\"": the frame every error message starts with.
pub fn operation(verb: &str, token: &str, urn: &str) -> String {
    let name = urn
        .rsplit("::")
        .next()
        .filter(|n| !n.is_empty() && !urn.is_empty());
    match name {
        Some(name) => format!("{verb} {token} {name:?}"),
        None => format!("{verb} {token}"),
    }
}

/// `secret` says which properties the description marks secret: an ErrorResourceInitFailed
/// goes into the state like a Create's answer, so its properties are wrapped the same way
/// (the outputs' own marks, which carry the inputs' secrets, and the described secrets).
pub fn from_resource_error(
    operation: &str,
    error: &Error,
    secret: impl Fn(&str) -> bool,
) -> Status {
    if let Error::InitFailed {
        id,
        outputs,
        reason,
    } = error
    {
        let properties = crate::codec::encode(outputs, secret);
        return init_failed(
            operation,
            ErrorResourceInitFailed {
                id: id.clone(),
                properties: Some(properties),
                reasons: vec![reason.clone()],
                inputs: None,
                refresh_before_update: false,
            },
        );
    }
    Status::new(code(error.class()), format!("{operation}: {error}"))
}

/// The gRPC code the engine reads correctly for each class. UNKNOWN tells the engine the
/// outcome is unknown; every other class means that nothing changed, so it maps to the code
/// the engine (and a person reading it) acts on: UNAVAILABLE is worth retrying, CANCELLED
/// and DEADLINE_EXCEEDED say why it stopped, the rest are clean refusals.
pub fn code(class: ErrorClass) -> Code {
    match class {
        ErrorClass::Unavailable => Code::Unavailable,
        ErrorClass::InvalidArgument => Code::InvalidArgument,
        ErrorClass::NotFound => Code::NotFound,
        ErrorClass::AlreadyExists => Code::AlreadyExists,
        ErrorClass::FailedPrecondition => Code::FailedPrecondition,
        ErrorClass::DeadlineExceeded => Code::DeadlineExceeded,
        ErrorClass::Cancelled => Code::Cancelled,
        ErrorClass::Unknown => Code::Unknown,
    }
}

/// A failure after the resource came to exist: the engine keeps `id` and `properties` in
/// the state, so nothing is orphaned, and retries with an Update on the next run.
pub fn init_failed(operation: &str, detail: ErrorResourceInitFailed) -> Status {
    let message = format!("{operation}: {}", detail.reasons.join("; "));
    let status = google_rpc::Status {
        code: Code::Unknown as i32,
        message: message.clone(),
        details: vec![prost_types::Any {
            type_url: "type.googleapis.com/pulumirpc.ErrorResourceInitFailed".to_owned(),
            value: detail.encode_to_vec(),
        }],
    };
    Status::with_details(Code::Unknown, message, status.encode_to_vec().into())
}

pub fn bad_request(operation: &str, message: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("{operation}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_class_has_the_code_the_engine_acts_on() {
        let expected = |class: ErrorClass| match class {
            ErrorClass::Unavailable => Code::Unavailable,
            ErrorClass::InvalidArgument => Code::InvalidArgument,
            ErrorClass::NotFound => Code::NotFound,
            ErrorClass::AlreadyExists => Code::AlreadyExists,
            ErrorClass::FailedPrecondition => Code::FailedPrecondition,
            ErrorClass::DeadlineExceeded => Code::DeadlineExceeded,
            ErrorClass::Cancelled => Code::Cancelled,
            ErrorClass::Unknown => Code::Unknown,
        };
        let mut codes = std::collections::HashSet::new();
        for class in ErrorClass::ALL {
            assert_eq!(code(class), expected(class), "{class:?}");
            assert!(
                codes.insert(code(class) as i32),
                "{class:?} shares its code with another class"
            );
            // INTERNAL would tell the engine the provider itself is broken.
            assert_ne!(code(class), Code::Internal, "{class:?}");
        }
    }

    #[test]
    fn a_resource_error_becomes_a_status_with_its_class_code_and_the_operation() {
        let error = Error::InvalidInput("serverName: too long".into());
        let status = from_resource_error(
            "creating pgentra:index:FlexibleServer \"pg\"",
            &error,
            |_| false,
        );
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status
            .message()
            .starts_with("creating pgentra:index:FlexibleServer"));
    }

    #[test]
    fn init_failed_properties_keep_secret_marks_and_described_secrets_wrapped() {
        use crate::codec::{SECRET_SIG, SIG_KEY};
        use prost_types::value::Kind;
        let mut outputs = pgentra_core::props::Props::from_json(serde_json::json!({
            "serverName": "pg", "administratorLoginPassword": "Hunter2!xyz", "token": "t0k"
        }));
        outputs.mark_secret("administratorLoginPassword");
        let error = Error::InitFailed {
            id: "/x".into(),
            outputs,
            reason: "failed".into(),
        };
        let status = from_resource_error("creating", &error, |name| name == "token");
        let rpc = google_rpc::Status::decode(status.details()).expect("status details");
        let detail =
            ErrorResourceInitFailed::decode(rpc.details[0].value.as_slice()).expect("detail");
        let properties = detail.properties.expect("properties").fields;
        let is_secret = |name: &str| match &properties[name].kind {
            Some(Kind::StructValue(s)) => matches!(
                s.fields.get(SIG_KEY).and_then(|v| v.kind.as_ref()),
                Some(Kind::StringValue(sig)) if sig == SECRET_SIG
            ),
            _ => false,
        };
        assert!(is_secret("administratorLoginPassword"));
        assert!(is_secret("token"));
        assert!(!is_secret("serverName"));
    }
}
