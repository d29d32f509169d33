//! ARM's error body `{"error":{"code","message","target"?,"details"?}}` and the codes the emulator uses.

use crate::http::Resp;
use serde_json::{json, Value};

/// An ARM error answer: HTTP status plus the error object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub target: Option<String>,
    pub details: Vec<ArmError>,
}

pub type ArmResult<T> = Result<T, ArmError>;

impl ArmError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            target: None,
            details: Vec::new(),
        }
    }

    pub fn with_target(mut self, target: &str) -> Self {
        self.target = Some(target.to_string());
        self
    }

    pub fn body(&self) -> Value {
        json!({ "error": self.object() })
    }

    /// The inner error object (also used in async-operation status bodies).
    pub fn object(&self) -> Value {
        let mut e = json!({ "code": self.code, "message": self.message });
        if let Some(t) = &self.target {
            e["target"] = json!(t);
        }
        if !self.details.is_empty() {
            e["details"] = Value::Array(self.details.iter().map(ArmError::object).collect());
        }
        e
    }

    pub fn into_resp(self) -> Resp {
        let mut r = Resp::json(self.status, &self.body());
        if self.status == 401 {
            r = r.with_header(
                "www-authenticate",
                "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\"",
            );
        }
        r
    }

    // --- the codes, in one place -------------------------------------------------------

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidRequestContent", message)
    }

    pub fn missing_api_version() -> Self {
        Self::new(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    }

    pub fn unsupported_api_version(version: &str, resource_type: &str, supported: &[&str]) -> Self {
        Self::new(
            400,
            "NoRegisteredProviderFound",
            format!(
                "No registered resource provider found for location and API version '{version}' for type '{resource_type}'. The supported api-versions are '{}'.",
                supported.join(", ")
            ),
        )
    }

    pub fn resource_group_not_found(rg: &str) -> Self {
        Self::new(
            404,
            "ResourceGroupNotFound",
            format!("Resource group '{rg}' could not be found."),
        )
    }

    /// `The Resource '{Namespace}/{type}/{name}' under resource group '{rg}' was not found.`
    pub fn resource_not_found(type_path: &str, rg: &str) -> Self {
        Self::new(
            404,
            "ResourceNotFound",
            format!("The Resource '{type_path}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"),
        )
    }

    pub fn not_found_route(path: &str) -> Self {
        Self::new(
            404,
            "InvalidResourceType",
            format!("The resource type could not be found for the request path '{path}'."),
        )
    }

    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("The requested resource does not support http method '{method}'."),
        )
    }

    pub fn server_busy(server: &str) -> Self {
        Self::new(
            409,
            "AnotherOperationInProgress",
            format!("An operation is already in progress on server '{server}'. Retry after the current operation completes."),
        )
    }

    pub fn unauthenticated(code: &str, message: impl Into<String>) -> Self {
        Self::new(401, code, message)
    }
}

impl std::fmt::Display for ArmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ArmError {}
