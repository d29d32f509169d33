//! The seam between the protocol adapters and the resources: the [`Resource`] and
//! [`Function`] traits, the context an operation runs in, and the registry of every type.

use crate::config::ProviderConfig;
use crate::error::ErrorClass;
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
    #[error("not available in pgentra {version} yet: {reason}; nothing was changed", version = crate::VERSION)]
    NotAvailable { reason: &'static str },
    #[error("{0}")]
    InvalidInput(String),
    /// A provider setting the operation needs has no value; each adapter says how to set it
    /// in its own words (a stack config key, a provider block attribute).
    #[error("{what} is configured: set the provider's {setting}")]
    MissingSetting {
        /// What is missing, for the user: "no Azure subscription".
        what: &'static str,
        /// The setting's name in the description (`config::CONFIG`).
        setting: &'static str,
    },
    /// An operation that needs Azure arrived before the provider was configured.
    #[error("the pgentra provider was used before Configure")]
    NotConfigured,
    /// Create found the resource there already: taking it over silently could take someone
    /// else's server, so the user imports it instead.
    /// Each adapter tells its own import command; `token` names the type.
    #[error("{id} already exists; import it to manage it")]
    AlreadyExists { id: String, token: &'static str },
    /// Azure accepted the write, so the resource exists, but the operation then failed: the
    /// engine keeps the ID and the outputs known so far.
    #[error("{reason}")]
    InitFailed {
        id: String,
        outputs: Props,
        reason: String,
    },
    /// PostgreSQL refused, failed, or could not be reached; `id` is the SQL resource's ID.
    #[error("{id}: {source}")]
    Sql {
        id: String,
        #[source]
        source: crate::sql::session::SqlError,
    },
    /// Azure refused, failed, or could not be reached (ARM's code, message and request id inside).
    #[error(transparent)]
    Azure(#[from] crate::azure::ArmError),
}

impl Error {
    /// What the failure means to the caller; the adapters map this to their wire once.
    /// Every class but `Unknown` means that nothing changed.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::NotAvailable { .. } | Error::NotConfigured => ErrorClass::FailedPrecondition,
            Error::InvalidInput(_) | Error::MissingSetting { .. } => ErrorClass::InvalidArgument,
            Error::AlreadyExists { .. } => ErrorClass::AlreadyExists,
            // The resource exists: the adapter records it (Pulumi's ErrorResourceInitFailed,
            // Terraform's partial state) rather than reporting a clean failure.
            Error::InitFailed { .. } => ErrorClass::Unknown,
            Error::Sql { source, .. } => source.class(),
            Error::Azure(error) => error.class(),
        }
    }
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
    /// The Azure client of this configured provider (built at Configure; it sends nothing until used).
    pub azure: Option<Arc<crate::azure::Azure>>,
    /// The engine's timeout for this operation (customTimeouts), when it set one.
    pub timeout: Option<std::time::Duration>,
    /// Turns true when the caller cancels (Cancel, SIGINT, StopProvider): waits end at once.
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
    /// The caller's opaque mark of who creates this resource (see `Operation::create_mark`).
    pub create_mark: Option<String>,
}

impl Context {
    /// The Azure client of this configured provider.
    pub fn azure(&self) -> Result<&crate::azure::Azure, Error> {
        self.azure.as_deref().ok_or_else(|| {
            Error::InvalidInput("the provider has no Azure client; Configure did not run".into())
        })
    }

    /// The ARM client for this operation, bounded by the engine's timeout when it set one,
    /// and whose waits stop when the caller cancels.
    pub fn arm(&self) -> Result<crate::azure::ArmClient, Error> {
        let arm = self.azure()?.arm_within(self.timeout);
        Ok(match &self.cancel {
            Some(cancel) => arm.with_cancel(cancel.clone()),
            None => arm,
        })
    }
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

/// One resource type. Shape, defaults, per-property rules and replace rules come from
/// [`Resource::spec`]; the methods hold only what the description cannot say. An ARM-backed
/// type's CRUD delegates to its `ArmBinding` (resources/arm_resource.rs), a SQL type's to its
/// session: the seam knows neither.
#[async_trait]
pub trait Resource: Send + Sync {
    fn spec(&self) -> &'static ResourceSpec;

    /// The values the provider computes for inputs the program left to it: derived values
    /// and canonical forms, each marked in the description ([`crate::spec::Computed`]).
    /// Runs after the per-property rules, on values that passed them.
    fn fill_computed(&self, _inputs: &mut Props) {}

    /// Rules across properties, and against the previous inputs (`olds`, empty for a new
    /// resource). Runs after [`Resource::fill_computed`]; never changes a value.
    fn validate(&self, _inputs: &Props, _olds: &Props, _failures: &mut Vec<CheckFailure>) {}

    async fn create(&self, ctx: &Context, inputs: &Props) -> Result<Created, Error>;

    /// The SQL a create (`olds` = None) or an update to `news` would run, shown in previews
    /// so a reviewer sees the exact statements first. `Err` says which unknown value keeps
    /// them from being known yet. Resources that run no SQL plan none.
    fn planned_sql(&self, _olds: Option<&Props>, _news: &Props) -> Result<Vec<String>, String> {
        Ok(vec![])
    }

    /// `Ok(None)` when the resource no longer exists.
    async fn read(
        &self,
        ctx: &Context,
        id: &str,
        state: &Props,
    ) -> Result<Option<ReadOutcome>, Error>;

    async fn update(
        &self,
        ctx: &Context,
        id: &str,
        olds: &Props,
        news: &Props,
    ) -> Result<Props, Error>;

    async fn delete(&self, ctx: &Context, id: &str, olds: &Props) -> Result<(), Error>;
}

#[async_trait]
pub trait Function: Send + Sync {
    fn spec(&self) -> &'static FunctionSpec;

    async fn invoke(&self, ctx: &Context, args: &Props) -> Result<Props, Error>;
}

/// Every resource type and function pgentra serves, by token.
pub struct Registry {
    resources: BTreeMap<&'static str, Arc<dyn Resource>>,
    functions: BTreeMap<&'static str, Arc<dyn Function>>,
}

impl Registry {
    pub fn builtin() -> Self {
        let mut registry = Self {
            resources: BTreeMap::new(),
            functions: BTreeMap::new(),
        };
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
