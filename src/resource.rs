//! The seam between the protocol adapters and the resources: the [`Resource`] and
//! [`Function`] traits, the context an operation runs in, and the registry of every type.

use crate::config::ProviderConfig;
use crate::props::Props;
use crate::spec::{CheckFailure, FunctionSpec, ResourceSpec};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Errors of the resource layer. The adapter adds the resource and the operation
/// ("creating pgentra:index:FlexibleServer pg-1: ...") when it turns one into a status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operation exists in the protocol but this build cannot perform it yet.
    #[error("not available in pgentra {version} yet: {reason}; nothing was changed", version = env!("CARGO_PKG_VERSION"))]
    NotAvailable { reason: &'static str },
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0} was cancelled")]
    Cancelled(&'static str),
    /// Azure refused, failed, or could not be reached (ARM's code, message and request id inside).
    #[error(transparent)]
    Azure(#[from] crate::azure::ArmError),
}

/// Where the resource layer reports progress to the user (the engine's log, or stderr).
pub trait LogSink: Send + Sync {
    fn log(&self, severity: Severity, message: &str);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Debug,
    Info,
    Warning,
    Error,
}

/// What every operation gets: the configured provider and a way to tell the user things.
#[derive(Clone)]
pub struct Context {
    pub config: Arc<ProviderConfig>,
    pub log: Arc<dyn LogSink>,
}

pub struct Created {
    pub id: String,
    pub outputs: Props,
}

pub struct ReadOutcome {
    pub id: String,
    pub outputs: Props,
    /// The inputs a Check would return for what exists (what import writes into the program).
    pub inputs: Props,
}

const CONTROL_PLANE_PENDING: &str =
    "this resource is managed through Azure Resource Manager, which this build does not call yet";

/// One resource type. Shape, defaults, per-property rules and replace rules come from
/// [`Resource::spec`]; the methods hold only what the description cannot say.
#[async_trait]
pub trait Resource: Send + Sync {
    fn spec(&self) -> &'static ResourceSpec;

    /// Rules across properties, and against the previous inputs (`olds`, empty for a new
    /// resource). Runs after the per-property rules, on values that passed them; may normalise.
    fn check(&self, _news: &mut Props, _olds: &Props, _failures: &mut Vec<CheckFailure>) {}

    async fn create(&self, _ctx: &Context, _inputs: &Props) -> Result<Created, Error> {
        Err(Error::NotAvailable { reason: CONTROL_PLANE_PENDING })
    }

    /// `Ok(None)` when the resource no longer exists.
    async fn read(&self, _ctx: &Context, _id: &str, _state: &Props) -> Result<Option<ReadOutcome>, Error> {
        Err(Error::NotAvailable { reason: CONTROL_PLANE_PENDING })
    }

    async fn update(&self, _ctx: &Context, _id: &str, _olds: &Props, _news: &Props) -> Result<Props, Error> {
        Err(Error::NotAvailable { reason: CONTROL_PLANE_PENDING })
    }

    async fn delete(&self, _ctx: &Context, _id: &str, _olds: &Props) -> Result<(), Error> {
        Err(Error::NotAvailable { reason: CONTROL_PLANE_PENDING })
    }
}

#[async_trait]
pub trait Function: Send + Sync {
    fn spec(&self) -> &'static FunctionSpec;

    async fn invoke(&self, _ctx: &Context, _args: &Props) -> Result<Props, Error> {
        Err(Error::NotAvailable { reason: "functions need the Azure credential chain, which this build does not have yet" })
    }
}

/// Every resource type and function pgentra serves, by token.
pub struct Registry {
    resources: BTreeMap<&'static str, Arc<dyn Resource>>,
    functions: BTreeMap<&'static str, Arc<dyn Function>>,
}

impl Registry {
    pub fn builtin() -> Self {
        let mut registry = Self { resources: BTreeMap::new(), functions: BTreeMap::new() };
        for resource in crate::resources::all() {
            registry.resources.insert(resource.spec().token, resource);
        }
        for function in crate::resources::functions() {
            registry.functions.insert(function.spec().token, function);
        }
        registry
    }

    pub fn resource(&self, token: &str) -> Option<&Arc<dyn Resource>> {
        self.resources.get(token)
    }

    pub fn function(&self, token: &str) -> Option<&Arc<dyn Function>> {
        self.functions.get(token)
    }

    pub fn resources(&self) -> impl Iterator<Item = &Arc<dyn Resource>> {
        self.resources.values()
    }

    pub fn functions(&self) -> impl Iterator<Item = &Arc<dyn Function>> {
        self.functions.values()
    }
}
