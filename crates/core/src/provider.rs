//! The configured provider and the steps every protocol runs the same way: check (validate,
//! then the provider-computed values), diff with replace rules, planned outputs for previews,
//! keeping the program's inputs on read, and carrying secret marks from inputs to outputs.
//!
//! An adapter decodes its wire into [`Props`], calls one of these, and encodes the answer; it
//! never re-implements a step, so Pulumi and Terraform plan, diff and fail alike.

use crate::azure::Azure;
use crate::config::ProviderConfig;
use crate::props::{unknown, Props};
use crate::resource::{
    Context, Created, Error, Function, LogSink, ReadOutcome, Registry, Resource, Severity,
};
use crate::spec::{check_properties, diff_inputs, CheckFailure, DiffOutcome, ResourceSpec, Role};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// What an operation needs besides its values: where to tell the user things, and the
/// caller's deadline for it (when the caller set one).
#[derive(Clone)]
pub struct Operation {
    pub log: Arc<dyn LogSink>,
    pub timeout: Option<Duration>,
    /// An opaque mark of who creates the resource (the adapter's choice, e.g. a hash of
    /// Pulumi's URN): a create writes it on the resource (a tag, where Azure has tags), so a
    /// create that was interrupted is recognised by the next one with the same mark and adopted
    /// with a warning, while one without it is refused ("import it").
    pub create_mark: Option<String>,
}

/// A create mark from what identifies the resource to the caller (`who` names the tool, e.g.
/// `pulumi`; `identity` is e.g. Pulumi's URN): `<who>-<32 hex digits of its SHA-256>`. Hashed
/// so that the tag holds no stack or project name and stays short whatever the identity.
pub fn create_mark(who: &str, identity: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(identity.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{who}-{hex}")
}

/// The provider-wide cancellation: once the caller cancels (Pulumi's Cancel or SIGINT,
/// Terraform's StopProvider), every operation's waits end at once and new operations are
/// refused. Cheap to clone; the adapter keeps one for its signal handler.
#[derive(Clone)]
pub struct Cancellation {
    sender: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for Cancellation {
    fn default() -> Self {
        Self {
            sender: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }
}

impl Cancellation {
    pub fn cancel(&self) {
        self.sender.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.sender.borrow()
    }

    fn receiver(&self) -> tokio::sync::watch::Receiver<bool> {
        self.sender.subscribe()
    }
}

/// The longest deadline a caller can set: 30 days. A deadline is `Instant::now() + timeout`,
/// which panics past the platform's clock range (an engine timeout of 1e19 seconds or `inf`
/// would kill the RPC mid-create), and no operation of pgentra's outlives a month.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30 * 24 * 60 * 60);

impl Operation {
    /// An operation bounded by `timeout` (clamped to [`MAX_TIMEOUT`]), or unbounded by the
    /// caller when `None`.
    pub fn new(log: Arc<dyn LogSink>, timeout: Option<Duration>) -> Self {
        Self {
            log,
            timeout: timeout.map(clamp_timeout),
            create_mark: None,
        }
    }

    /// An operation whose caller gave its timeout as seconds in a double (Pulumi's engine):
    /// zero, negative or NaN means no timeout; anything past [`MAX_TIMEOUT`], infinity
    /// included, is [`MAX_TIMEOUT`]. Never panics, whatever the number.
    pub fn with_timeout_seconds(log: Arc<dyn LogSink>, seconds: f64) -> Self {
        Self::new(log, timeout_from_seconds(seconds))
    }
}

/// A write that failed after the resource came to exist carries its outputs to the state:
/// they keep the inputs' secret marks like a successful write's outputs do.
fn with_secret_marks(error: Error, inputs: &Props) -> Error {
    match error {
        Error::InitFailed {
            id,
            mut outputs,
            reason,
        } => {
            outputs.inherit_secrets(inputs);
            outputs.provider_chosen.clear();
            Error::InitFailed {
                id,
                outputs,
                reason,
            }
        }
        other => other,
    }
}

/// Seconds as a double -> a timeout: `None` for zero, negative or NaN, clamped to [`MAX_TIMEOUT`].
pub fn timeout_from_seconds(seconds: f64) -> Option<Duration> {
    if seconds.is_nan() || seconds <= 0.0 {
        return None;
    }
    if seconds >= MAX_TIMEOUT.as_secs_f64() {
        return Some(MAX_TIMEOUT);
    }
    // In range and finite, so this cannot fail; the fallback only keeps it panic-free.
    Some(Duration::try_from_secs_f64(seconds).unwrap_or(MAX_TIMEOUT))
}

fn clamp_timeout(timeout: Duration) -> Duration {
    timeout.min(MAX_TIMEOUT)
}

/// The result of checking a resource's inputs: the values the operations get, and what is
/// wrong with them (empty when they pass).
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub inputs: Props,
    pub failures: Vec<CheckFailure>,
}

/// What Configure produced: the resolved config and the Azure client built from it.
#[derive(Clone)]
struct Configured {
    config: Arc<ProviderConfig>,
    azure: Arc<Azure>,
}

/// One configured pgentra provider: the registry of types, and once configured, its Azure
/// client. Each adapter holds one and forwards every resource operation to it.
pub struct Provider {
    registry: Arc<Registry>,
    configured: RwLock<Option<Configured>>,
    cancellation: Cancellation,
}

impl Provider {
    pub fn new(registry: Arc<Registry>) -> Self {
        Self {
            registry,
            configured: RwLock::new(None),
            cancellation: Cancellation::default(),
        }
    }

    /// The handle that cancels every operation of this provider (see [`Cancellation`]).
    pub fn cancellation(&self) -> Cancellation {
        self.cancellation.clone()
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Builds the Azure client of `config` (nothing is sent yet) and keeps both for the
    /// operations that follow. Returns a one-line summary for the caller's debug log.
    pub fn configure(&self, config: ProviderConfig) -> Result<String, Error> {
        let summary = format!(
            "pgentra configured: cloud {}, subscription {}, tenant {}",
            config.cloud.name(),
            config.subscription_id.as_deref().unwrap_or("(not set)"),
            config.tenant_id.as_deref().unwrap_or("(not set)"),
        );
        let azure = Azure::from_config(&config)?;
        *self.configured.write().expect("config lock") = Some(Configured {
            config: Arc::new(config),
            azure: Arc::new(azure),
        });
        Ok(summary)
    }

    pub fn is_configured(&self) -> bool {
        self.configured.read().expect("config lock").is_some()
    }

    fn context(&self, op: &Operation) -> Result<Context, Error> {
        let configured = self.configured.read().expect("config lock").clone();
        let configured = configured.ok_or(Error::NotConfigured)?;
        if self.cancellation.is_cancelled() {
            return Err(Error::Azure(crate::azure::ArmError::Cancelled {
                doing: "starting".into(),
            }));
        }
        Ok(Context {
            config: configured.config,
            log: op.log.clone(),
            azure: Some(configured.azure),
            // Clamped again: an Operation built field by field skipped `Operation::new`.
            timeout: op.timeout.map(clamp_timeout),
            cancel: Some(self.cancellation.receiver()),
            create_mark: op.create_mark.clone(),
        })
    }

    /// Check: the per-property rules (types, allowed values, rules, defaults), then, when
    /// those pass, the provider-computed values and the rules across properties.
    pub fn check(&self, resource: &dyn Resource, news: &Props, olds: &Props) -> Checked {
        check(resource, news, olds)
    }

    /// What Check would refuse, without filling anything in: for callers that must not see
    /// provider-computed values at validation time (Terraform's ValidateResourceConfig).
    pub fn validate(&self, resource: &dyn Resource, config: &Props) -> Vec<CheckFailure> {
        check(resource, config, &Props::default()).failures
    }

    /// The changes from the old inputs to the new checked ones, with replacements.
    pub fn diff(&self, resource: &dyn Resource, olds: &Props, news: &Props) -> DiffOutcome {
        diff_inputs(resource.spec(), olds, news)
    }

    /// What a preview of a create (`olds` None) or an update shows as outputs, after telling
    /// the user the SQL the operation would run (or which unknown value keeps it unknown).
    pub fn preview(
        &self,
        resource: &dyn Resource,
        olds: Option<&Props>,
        news: &Props,
        log: &dyn LogSink,
    ) -> Props {
        let message = match resource.planned_sql(olds, news) {
            Ok(statements) if statements.is_empty() => None,
            Ok(statements) => Some(format!("would run:\n  {};", statements.join(";\n  "))),
            Err(waiting) => Some(format!("the SQL it would run is shown once {waiting}")),
        };
        if let Some(message) = message {
            log.log(Severity::Info, &message);
        }
        planned_outputs(resource.spec(), news, olds)
    }

    pub async fn create(
        &self,
        resource: &dyn Resource,
        inputs: &Props,
        op: &Operation,
    ) -> Result<Created, Error> {
        let ctx = self.context(op)?;
        let mut created = resource
            .create(&ctx, inputs)
            .await
            .map_err(|e| with_secret_marks(e, inputs))?;
        created.outputs.inherit_secrets(inputs);
        created.outputs.provider_chosen.clear();
        Ok(created)
    }

    /// Refresh (`old_inputs` are the program's) or import (`old_inputs` empty): `None` when
    /// the resource is gone.
    pub async fn read(
        &self,
        resource: &dyn Resource,
        id: &str,
        state: &Props,
        old_inputs: &Props,
        op: &Operation,
    ) -> Result<Option<ReadOutcome>, Error> {
        let ctx = self.context(op)?;
        let Some(mut found) = resource.read(&ctx, id, state).await? else {
            return Ok(None);
        };
        retain_program_inputs(&mut found.inputs, old_inputs);
        found.outputs.inherit_secrets(state);
        found.inputs.inherit_secrets(state);
        Ok(Some(found))
    }

    pub async fn update(
        &self,
        resource: &dyn Resource,
        id: &str,
        olds: &Props,
        news: &Props,
        op: &Operation,
    ) -> Result<Props, Error> {
        let ctx = self.context(op)?;
        let mut outputs = resource
            .update(&ctx, id, olds, news)
            .await
            .map_err(|e| with_secret_marks(e, news))?;
        outputs.inherit_secrets(news);
        outputs.provider_chosen.clear();
        Ok(outputs)
    }

    pub async fn delete(
        &self,
        resource: &dyn Resource,
        id: &str,
        olds: &Props,
        op: &Operation,
    ) -> Result<(), Error> {
        let ctx = self.context(op)?;
        resource.delete(&ctx, id, olds).await
    }

    /// A function call: its arguments checked like a resource's inputs first.
    pub async fn invoke(
        &self,
        function: &dyn Function,
        args: &Props,
        op: &Operation,
    ) -> Result<Result<Props, Vec<CheckFailure>>, Error> {
        let spec = function.spec();
        let mut failures = Vec::new();
        let checked = Props::new(check_properties(
            spec.inputs,
            &args.values,
            "",
            &mut failures,
        ));
        if !failures.is_empty() {
            return Ok(Err(failures));
        }
        let ctx = self.context(op)?;
        let mut result = function.invoke(&ctx, &checked).await?;
        for output in spec.outputs.iter().filter(|p| p.secret) {
            result.mark_secret(output.name);
        }
        Ok(Ok(result))
    }
}

/// See [`Provider::check`]; free so that unit tests can check without a provider.
pub fn check(resource: &dyn Resource, news: &Props, olds: &Props) -> Checked {
    let spec = resource.spec();
    let mut failures = Vec::new();
    let mut inputs = Props::new(check_properties(
        spec.properties,
        &news.values,
        "",
        &mut failures,
    ));
    inputs.secrets = news
        .secrets
        .iter()
        .filter(|n| inputs.values.contains_key(*n))
        .cloned()
        .collect();
    inputs.provider_chosen = news.provider_chosen.clone();
    if failures.is_empty() {
        resource.fill_computed(&mut inputs);
        resource.validate(&inputs, olds, &mut failures);
    }
    // A resource's own rules quote what they refuse: bound every echo whatever its source.
    for failure in &mut failures {
        let top = failure
            .property
            .split(['.', '['])
            .next()
            .unwrap_or_default();
        let value = news
            .values
            .get(top)
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        failure.reason = crate::spec::bounded_reason(std::mem::take(&mut failure.reason), &value);
    }
    Checked { inputs, failures }
}

/// The old inputs of a resource: the caller's record of them when it has one, else the input
/// properties of the old state (a state written before inputs were recorded apart).
pub fn old_inputs(spec: &ResourceSpec, recorded: Props, state: &Props) -> Props {
    if !recorded.is_empty() {
        return recorded;
    }
    let mut inputs = Props::default();
    for property in spec.inputs() {
        if let Some(value) = state.values.get(property.name) {
            inputs.set(property.name, value.clone());
        }
    }
    inputs.provider_chosen = state.provider_chosen.clone();
    inputs.inherit_secrets(state);
    inputs
}

/// What a preview shows as outputs: the inputs, plus every computed output as unknown (or, on
/// update, its old value where it cannot change).
pub fn planned_outputs(spec: &ResourceSpec, inputs: &Props, olds: Option<&Props>) -> Props {
    let mut out = inputs.clone();
    out.provider_chosen.clear();
    for property in spec.outputs_only() {
        let kept = match (property.role, olds) {
            (Role::Output { stable: true }, Some(olds)) => olds.get(property.name).cloned(),
            _ => None,
        };
        out.set(property.name, kept.unwrap_or_else(unknown));
    }
    out
}

/// A refresh keeps the program's inputs as the program wrote them: a property it never set,
/// read back from Azure, would otherwise show as removed on the next update (and replace the
/// resource when it forces replacement). An import (no old inputs) keeps all.
pub fn retain_program_inputs(found: &mut Props, old_inputs: &Props) {
    if !old_inputs.is_empty() {
        found
            .values
            .retain(|name, _| old_inputs.get(name).is_some());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_mark_is_stable_per_identity_short_and_names_no_stack() {
        let urn = "urn:pulumi:prod::payments::pgentra:index:FlexibleServer::db";
        let mark = create_mark("pulumi", urn);
        assert_eq!(
            mark,
            create_mark("pulumi", urn),
            "the next run recognises it"
        );
        assert_ne!(
            mark,
            create_mark("pulumi", &urn.replace("prod", "dev")),
            "another stack's create is not this one's"
        );
        assert!(mark.starts_with("pulumi-") && mark.len() == 39, "{mark}");
        assert!(!mark.contains("payments") && !mark.contains("prod"));
    }

    #[test]
    fn a_cancellation_is_seen_by_every_receiver_and_stays() {
        let cancellation = Cancellation::default();
        let receiver = cancellation.receiver();
        assert!(!*receiver.borrow());
        cancellation.clone().cancel();
        assert!(*receiver.borrow() && cancellation.is_cancelled());
        assert!(
            *cancellation.receiver().borrow(),
            "later operations see it too"
        );
    }
}

#[cfg(test)]
mod timeout_tests {
    use super::*;

    struct Silent;
    impl LogSink for Silent {
        fn log(&self, _: Severity, _: &str) {}
    }

    #[test]
    fn engine_timeouts_of_any_double_never_panic_and_clamp_to_the_documented_maximum() {
        let cases = [
            (f64::INFINITY, Some(MAX_TIMEOUT)),
            (1e19, Some(MAX_TIMEOUT)),
            (f64::MAX, Some(MAX_TIMEOUT)),
            (f64::NAN, None),
            (-f64::NAN, None),
            (f64::NEG_INFINITY, None),
            (-5.0, None),
            (0.0, None),
            (-0.0, None),
            (2.5, Some(Duration::from_millis(2500))),
            (f64::MIN_POSITIVE, Some(Duration::ZERO)),
        ];
        for (seconds, expected) in cases {
            let op = Operation::with_timeout_seconds(Arc::new(Silent), seconds);
            assert_eq!(op.timeout, expected, "{seconds}");
            if let Some(timeout) = op.timeout {
                // The deadline arithmetic every operation does must not overflow.
                let _ = std::time::Instant::now() + timeout;
            }
        }
    }

    #[test]
    fn an_operation_built_with_a_huge_duration_is_clamped_too() {
        let op = Operation::new(Arc::new(Silent), Some(Duration::MAX));
        assert_eq!(op.timeout, Some(MAX_TIMEOUT));
    }
}
