//! Turning errors into gRPC statuses the engine reads correctly: the code says whether
//! anything changed, the message names the operation and the resource.

use crate::proto::google_rpc;
use crate::proto::pulumirpc::ErrorResourceInitFailed;
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

pub fn from_resource_error(operation: &str, error: &Error) -> Status {
    // INTERNAL/UNKNOWN would tell the engine the outcome is unknown; these errors all mean
    // that nothing changed, so they carry codes the engine records as a clean failure.
    let code = match error {
        Error::NotAvailable { .. } => Code::FailedPrecondition,
        Error::InvalidInput(_) => Code::InvalidArgument,
        Error::AlreadyExists { .. } => Code::AlreadyExists,
        Error::Sql { source, .. } => sql_code(source),
        Error::InitFailed {
            id,
            outputs,
            reason,
        } => {
            let properties = crate::codec::encode(outputs, |_| false);
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
        Error::Azure(e) => match e.class() {
            pgentra_core::azure::ErrorClass::Unavailable => Code::Unavailable,
            pgentra_core::azure::ErrorClass::InvalidArgument => Code::InvalidArgument,
            pgentra_core::azure::ErrorClass::NotFound => Code::NotFound,
            pgentra_core::azure::ErrorClass::FailedPrecondition => Code::FailedPrecondition,
            // Accepted then lost, or timed out: the outcome is unknown (the engine records that).
            pgentra_core::azure::ErrorClass::Unknown => Code::Unknown,
        },
    };
    Status::new(code, format!("{operation}: {error}"))
}

/// PostgreSQL's failures by what a retry could change: the network and lock conflicts may pass,
/// sign-in and permission problems need the user, malformed input never passes.
fn sql_code(error: &pgentra_core::sql::session::SqlError) -> Code {
    use pgentra_core::sql::session::SqlError;
    match error {
        SqlError::Setup(_) | SqlError::Quote(_) => Code::InvalidArgument,
        SqlError::Token(_) => Code::FailedPrecondition,
        SqlError::TimedOut { .. } => Code::DeadlineExceeded,
        SqlError::Connect { code: None, .. } => Code::Unavailable,
        SqlError::Connect { .. } => Code::FailedPrecondition,
        SqlError::Statement { code, .. } => match code.as_deref() {
            // serialization failure, deadlock, "tuple concurrently updated", admin shutdown
            Some("40001" | "40P01" | "XX000" | "57P01") => Code::Unavailable,
            // statement_timeout: the operation's own deadline
            Some("57014") => Code::DeadlineExceeded,
            _ => Code::FailedPrecondition,
        },
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
