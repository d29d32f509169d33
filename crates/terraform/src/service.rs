//! The tfplugin6 `Provider` service over the protocol-neutral core.
//!
//! Each RPC decodes its values (msgpack with unknowns, typed by the schema), calls the core
//! through [`crate::plan`], and answers in msgpack. A user error is always a diagnostic, never a
//! gRPC status; an operation's summary says what was being done ("creating
//! pgentra_flexible_server: ..."). Core calls race StopProvider: once Terraform asks the
//! provider to stop (Ctrl-C), the core cancels its waits, so work in flight answers at once on
//! its own (a create Azure accepted keeps its ID); what does not within a grace is abandoned.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use pgentra_core::config::{ProviderConfig, CONFIG};
use pgentra_core::props::{contains_unknown, unknown, Props};
use pgentra_core::provider::{Operation, Provider as Core};
use pgentra_core::resource::{Error as CoreError, Function, LogSink, Registry, Severity};
use pgentra_core::spec::{CheckFailure, Property};
use serde_json::{Map, Value};
use tokio::sync::watch;
use tonic::{Request, Response, Status};

use crate::codec::{decode_dynamic_value, decode_json, encode_dynamic_value};
use crate::cty::CtyType;
use crate::diagnostics;
use crate::plan::{self, ResourceType, UpdatePlan};
use crate::proto::tfplugin6::provider_server::Provider;
use crate::proto::tfplugin6::{
    apply_resource_change, configure_provider, get_metadata, get_provider_schema,
    get_resource_identity_schemas, import_resource_state, plan_resource_change, read_data_source,
    read_resource, stop_provider, upgrade_resource_state, validate_data_resource_config,
    validate_provider_config, validate_resource_config, Diagnostic, DynamicValue,
    ServerCapabilities,
};
use crate::schema::{self, Block, ID};
use crate::values;

/// The function served as the `pgentra_client_config` data source. `getAccessToken` is not
/// served: Terraform writes data sources into state and plan files in plain text.
pub const CLIENT_CONFIG_FUNCTION: &str = "pgentra:index:getClientConfig";

struct DataSourceType {
    name: String,
    function: Arc<dyn Function>,
    block: Block,
    ty: CtyType,
}

/// terraform-provider-pgentra: the registry's resources, served over tfplugin6.
pub struct PgentraProvider {
    core: Arc<Core>,
    resources: BTreeMap<String, Arc<ResourceType>>,
    data_sources: BTreeMap<String, Arc<DataSourceType>>,
    provider_block: Block,
    provider_type: CtyType,
    stop: watch::Sender<bool>,
}

/// How long an operation in flight has to answer after StopProvider before it is abandoned:
/// the core's waits end at once, so this covers one ARM request already on the wire (a sign-in
/// that hangs is not the core's to cancel, and Terraform expects a prompt answer).
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Why an operation produced no answer of its own.
enum Interrupted {
    Stopped,
}

impl PgentraProvider {
    pub fn new(registry: Arc<Registry>) -> Self {
        let resources = registry
            .resources()
            .map(|resource| {
                let rt = ResourceType::new(resource.clone());
                (rt.name.clone(), Arc::new(rt))
            })
            .collect();
        let data_sources = registry
            .function(CLIENT_CONFIG_FUNCTION)
            .map(|function| {
                let block = schema::function_block(function.spec());
                let source = DataSourceType {
                    name: schema::data_source_name(function.spec()),
                    function: function.clone(),
                    ty: block.cty_type(),
                    block,
                };
                (source.name.clone(), Arc::new(source))
            })
            .into_iter()
            .collect();
        let provider_block = schema::provider_block();
        Self {
            core: Arc::new(Core::new(registry)),
            resources,
            data_sources,
            provider_type: provider_block.cty_type(),
            provider_block,
            stop: watch::channel(false).0,
        }
    }

    fn resource_type(&self, name: &str) -> Result<Arc<ResourceType>, Diagnostic> {
        self.resources.get(name).cloned().ok_or_else(|| {
            diagnostics::error(
                format!("pgentra has no resource type {name:?}"),
                format!(
                    "The resource types are: {}.",
                    self.resources
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }

    /// What a core operation gets: a log that names the RPC and the resource type.
    fn operation(&self, rpc: &'static str, type_name: &str) -> Operation {
        Operation {
            log: Arc::new(TracingLog {
                rpc,
                type_name: type_name.to_owned(),
            }),
            timeout: None,
            // Terraform tells a provider nothing of the workspace or the resource's address:
            // the mark says "created by pgentra's Terraform provider as this type", so an
            // interrupted create is adopted by the next Terraform create of the same resource.
            create_mark: Some(pgentra_core::provider::create_mark("terraform", type_name)),
        }
    }

    /// Runs a core call unless or until Terraform asks the provider to stop.
    async fn unless_stopped<T>(&self, work: impl Future<Output = T>) -> Result<T, Interrupted> {
        let mut stop = self.stop.subscribe();
        if *stop.borrow() {
            return Err(Interrupted::Stopped);
        }
        tokio::pin!(work);
        tokio::select! {
            result = &mut work => return Ok(result),
            _ = stop.wait_for(|stopped| *stopped) => {}
        }
        drop(stop);
        // The core's waits end at once on the cancel, and its own answer (a create Azure
        // accepted, with its ID) beats none; a call stuck elsewhere is abandoned.
        tokio::time::timeout(STOP_GRACE, work)
            .await
            .map_err(|_| Interrupted::Stopped)
    }
}

/// Core log lines go to stderr through tracing (Terraform shows them under TF_LOG). The core
/// never puts secrets or tokens in a message.
struct TracingLog {
    rpc: &'static str,
    type_name: String,
}

impl LogSink for TracingLog {
    fn log(&self, severity: Severity, message: &str) {
        let (rpc, resource) = (self.rpc, self.type_name.as_str());
        match severity {
            Severity::Debug => tracing::debug!(rpc, resource, "{message}"),
            Severity::Info => tracing::info!(rpc, resource, "{message}"),
            Severity::Warning => tracing::warn!(rpc, resource, "{message}"),
            Severity::Error => tracing::error!(rpc, resource, "{message}"),
        }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn decode(
    value: Option<&DynamicValue>,
    ty: &CtyType,
    what: &str,
) -> Result<Option<Map<String, Value>>, Diagnostic> {
    let Some(value) = value else {
        return Ok(None);
    };
    match decode_dynamic_value(value, ty, &unknown()) {
        Ok(Value::Object(object)) => Ok(Some(object)),
        Ok(Value::Null) => Ok(None),
        Ok(_) => Err(diagnostics::error(
            format!("decoding the {what}: not an object"),
            "Terraform sent a value that does not match the provider's schema.",
        )),
        Err(error) => {
            let summary = format!("decoding the {what}: {error}");
            let detail = "Terraform sent a value that does not match the provider's schema.";
            // Point at the attribute when the path is one Terraform can underline.
            Err(error
                .attribute_path()
                .and_then(|path| diagnostics::error_at(&path, summary.clone(), detail).ok())
                .unwrap_or_else(|| diagnostics::error(summary, detail)))
        }
    }
}

fn encode(value: Option<&Map<String, Value>>, ty: &CtyType) -> Result<DynamicValue, Diagnostic> {
    let value = value
        .map(|m| Value::Object(m.clone()))
        .unwrap_or(Value::Null);
    encode_dynamic_value(&value, ty, &unknown()).map_err(|error| {
        diagnostics::error(
            format!("encoding a value for Terraform: {error}"),
            "This is a bug in terraform-provider-pgentra.",
        )
    })
}

/// Check failures as diagnostics on their Terraform attribute paths.
fn failure_diagnostics(
    properties: &'static [Property],
    what: &str,
    failures: &[CheckFailure],
) -> Vec<Diagnostic> {
    failures
        .iter()
        .map(|failure| {
            let path = values::tf_path(properties, &failure.property);
            let summary = format!("Invalid value for {path}");
            let reason = values::tf_words(properties, &failure.reason);
            let detail = format!("{what}: {path}: {reason}");
            diagnostics::error_at(&path, summary.clone(), detail.clone())
                .unwrap_or_else(|_| diagnostics::error(summary, detail))
        })
        .collect()
}

/// A core error as a diagnostic saying what was being done.
fn error_diagnostic(doing: &str, type_name: &str, error: &CoreError) -> Diagnostic {
    match error {
        CoreError::AlreadyExists { id, .. } => diagnostics::error(
            format!(
                "{doing} {type_name}: {id} already exists; import it with `terraform import {type_name}.<name> {id}`"
            ),
            "pgentra never takes over an existing resource silently: Azure's create-or-update \
             would otherwise adopt someone else's. Import it to manage it here.",
        ),
        CoreError::InitFailed { id, reason, .. } => diagnostics::error(
            format!("{doing} {type_name}: {reason}"),
            format!(
                "Azure accepted the request, so {id} exists; it is kept in the state as tainted \
                 and the next apply replaces it."
            ),
        ),
        CoreError::MissingSetting { what, setting } => {
            let property = pgentra_core::config::CONFIG.iter().find(|p| p.name == *setting);
            let attribute = property.map(|p| p.tf_name()).unwrap_or_else(|| (*setting).to_owned());
            let arm_env = property
                .and_then(|p| p.env.iter().find(|var| var.starts_with("ARM_")))
                .map(|var| format!(", or the environment variable {var}"))
                .unwrap_or_default();
            diagnostics::error(
                format!("{doing} {type_name}: {what} is configured"),
                format!("Set {attribute} in the provider \"pgentra\" block{arm_env}."),
            )
        }
        other => diagnostics::error(
            format!("{doing} {type_name}: {other}"),
            diagnostics::class_detail(other.class()),
        ),
    }
}

fn stopped_diagnostic(doing: &str, type_name: &str) -> Diagnostic {
    diagnostics::error(
        format!("{doing} {type_name}: stopped because Terraform asked the provider to stop"),
        "The operation was abandoned midway; the next plan reads what exists.",
    )
}

#[tonic::async_trait]
impl Provider for PgentraProvider {
    async fn get_metadata(
        &self,
        _request: Request<get_metadata::Request>,
    ) -> Reply<get_metadata::Response> {
        Ok(Response::new(get_metadata::Response {
            server_capabilities: Some(ServerCapabilities::default()),
            diagnostics: Vec::new(),
            data_sources: self
                .data_sources
                .keys()
                .map(|name| get_metadata::DataSourceMetadata {
                    type_name: name.clone(),
                })
                .collect(),
            resources: self
                .resources
                .keys()
                .map(|name| get_metadata::ResourceMetadata {
                    type_name: name.clone(),
                })
                .collect(),
        }))
    }

    async fn get_provider_schema(
        &self,
        _request: Request<get_provider_schema::Request>,
    ) -> Reply<get_provider_schema::Response> {
        Ok(Response::new(get_provider_schema::Response {
            provider: Some(self.provider_block.to_schema()),
            resource_schemas: self
                .resources
                .iter()
                .map(|(name, rt)| (name.clone(), rt.block.to_schema()))
                .collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(name, source)| (name.clone(), source.block.to_schema()))
                .collect(),
            diagnostics: Vec::new(),
            provider_meta: None,
            server_capabilities: Some(ServerCapabilities::default()),
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _request: Request<get_resource_identity_schemas::Request>,
    ) -> Reply<get_resource_identity_schemas::Response> {
        Ok(Response::new(
            get_resource_identity_schemas::Response::default(),
        ))
    }

    async fn validate_provider_config(
        &self,
        request: Request<validate_provider_config::Request>,
    ) -> Reply<validate_provider_config::Response> {
        let request = request.into_inner();
        let diagnostics = match decode(
            request.config.as_ref(),
            &self.provider_type,
            "provider configuration",
        ) {
            Err(diagnostic) => vec![diagnostic],
            Ok(config) => {
                let props = values::to_props(CONFIG, &config.unwrap_or_default());
                let (_, failures) = pgentra_core::config::check_config(&props);
                failure_diagnostics(CONFIG, "provider \"pgentra\"", &failures)
            }
        };
        Ok(Response::new(validate_provider_config::Response {
            diagnostics,
        }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<validate_resource_config::Request>,
    ) -> Reply<validate_resource_config::Response> {
        let request = request.into_inner();
        let diagnostics = (|| {
            let rt = self
                .resource_type(&request.type_name)
                .map_err(|d| vec![d])?;
            let config = decode(request.config.as_ref(), &rt.ty, "configuration")
                .map_err(|d| vec![d])?
                .unwrap_or_default();
            let failures = self
                .core
                .validate(rt.resource.as_ref(), &rt.props_of(&config));
            Ok::<_, Vec<Diagnostic>>(failure_diagnostics(rt.properties(), &rt.name, &failures))
        })()
        .unwrap_or_else(|diagnostics| diagnostics);
        Ok(Response::new(validate_resource_config::Response {
            diagnostics,
        }))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<validate_data_resource_config::Request>,
    ) -> Reply<validate_data_resource_config::Response> {
        let request = request.into_inner();
        let diagnostics = match self.data_sources.get(&request.type_name) {
            None => vec![diagnostics::error(
                format!("pgentra has no data source {:?}", request.type_name),
                "The data source is pgentra_client_config.",
            )],
            Some(source) => match decode(request.config.as_ref(), &source.ty, "configuration") {
                Err(diagnostic) => vec![diagnostic],
                Ok(_) => Vec::new(),
            },
        };
        Ok(Response::new(validate_data_resource_config::Response {
            diagnostics,
        }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<upgrade_resource_state::Request>,
    ) -> Reply<upgrade_resource_state::Response> {
        let request = request.into_inner();
        let result = (|| {
            let rt = self.resource_type(&request.type_name)?;
            let raw = request
                .raw_state
                .as_ref()
                .map(|r| r.json.as_slice())
                .unwrap_or_default();
            if raw.is_empty() {
                return encode(None, &rt.ty);
            }
            let fail = |error: String| {
                diagnostics::error(
                    format!("reading the stored state of a {}: {error}", rt.name),
                    "The state file holds a value this provider version cannot read.",
                )
            };
            let stored: Value = serde_json::from_slice(raw).map_err(|e| fail(e.to_string()))?;
            let lenient = plan::drop_unknown_attributes(stored, &rt.ty);
            let bytes = serde_json::to_vec(&lenient).map_err(|e| fail(e.to_string()))?;
            let value = decode_json(&bytes, &rt.ty).map_err(|e| fail(e.to_string()))?;
            encode(value.as_object(), &rt.ty)
        })();
        Ok(Response::new(match result {
            Ok(upgraded) => upgrade_resource_state::Response {
                upgraded_state: Some(upgraded),
                diagnostics: Vec::new(),
            },
            Err(diagnostic) => upgrade_resource_state::Response {
                upgraded_state: None,
                diagnostics: vec![diagnostic],
            },
        }))
    }

    async fn configure_provider(
        &self,
        request: Request<configure_provider::Request>,
    ) -> Reply<configure_provider::Response> {
        let request = request.into_inner();
        let config = match decode(
            request.config.as_ref(),
            &self.provider_type,
            "provider configuration",
        ) {
            Ok(config) => config.unwrap_or_default(),
            Err(diagnostic) => {
                return Ok(Response::new(configure_provider::Response {
                    diagnostics: vec![diagnostic],
                }))
            }
        };
        let mut props = values::to_props(CONFIG, &config);
        // During plan a setting may come from a resource not created yet: configure without
        // it (plans need no Azure); apply and import always pass a known configuration.
        let unknown_settings: Vec<String> = props
            .values
            .iter()
            .filter(|(_, v)| contains_unknown(v))
            .map(|(k, _)| k.clone())
            .collect();
        for name in &unknown_settings {
            props.values.remove(name);
            tracing::debug!(setting = %name, "provider setting not known yet; configuring without it");
        }
        let diagnostics = match ProviderConfig::resolve(&props, |name| std::env::var(name).ok()) {
            Err(failures) => failure_diagnostics(CONFIG, "provider \"pgentra\"", &failures),
            Ok(resolved) => match self.core.configure(resolved) {
                Ok(summary) => {
                    tracing::debug!(terraform_version = %request.terraform_version, "{summary}");
                    Vec::new()
                }
                Err(error) => vec![diagnostics::error(
                    format!("configuring the pgentra provider: {error}"),
                    "Check the provider block and the AZURE_* / ARM_* environment variables.",
                )],
            },
        };
        Ok(Response::new(configure_provider::Response { diagnostics }))
    }

    async fn read_resource(
        &self,
        request: Request<read_resource::Request>,
    ) -> Reply<read_resource::Response> {
        let request = request.into_inner();
        let private = request.private.clone();
        let fail = |diagnostics: Vec<Diagnostic>| read_resource::Response {
            new_state: request.current_state.clone(),
            diagnostics,
            private: private.clone(),
            deferred: None,
        };
        let rt = match self.resource_type(&request.type_name) {
            Ok(rt) => rt,
            Err(d) => return Ok(Response::new(fail(vec![d]))),
        };
        let state = match decode(request.current_state.as_ref(), &rt.ty, "stored state") {
            Ok(Some(state)) => state,
            Ok(None) => return Ok(Response::new(fail(Vec::new()))),
            Err(d) => return Ok(Response::new(fail(vec![d]))),
        };
        let id = state
            .get(ID)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let op = self.operation("ReadResource", &rt.name);
        let old_inputs = rt.inputs_of(&state);
        let props = rt.props_of(&state);
        let read = self
            .unless_stopped(
                self.core
                    .read(rt.resource.as_ref(), &id, &props, &old_inputs, &op),
            )
            .await;
        let doing = format!("reading {id} as");
        let response = match read {
            Err(Interrupted::Stopped) => fail(vec![stopped_diagnostic(&doing, &rt.name)]),
            Ok(Err(error)) => fail(vec![error_diagnostic("reading", &rt.name, &error)]),
            Ok(Ok(None)) => {
                tracing::info!(resource = %rt.name, %id, "gone; Terraform drops it from the state");
                read_resource::Response {
                    new_state: encode(None, &rt.ty).ok(),
                    diagnostics: Vec::new(),
                    private: private.clone(),
                    deferred: None,
                }
            }
            Ok(Ok(Some(found))) => {
                let refreshed = plan::refreshed(&self.core, &rt, &state, &found);
                match encode(Some(&refreshed), &rt.ty) {
                    Ok(new_state) => read_resource::Response {
                        new_state: Some(new_state),
                        diagnostics: Vec::new(),
                        private: private.clone(),
                        deferred: None,
                    },
                    Err(d) => fail(vec![d]),
                }
            }
        };
        Ok(Response::new(response))
    }

    async fn plan_resource_change(
        &self,
        request: Request<plan_resource_change::Request>,
    ) -> Reply<plan_resource_change::Response> {
        let request = request.into_inner();
        let fail = |diagnostics: Vec<Diagnostic>| plan_resource_change::Response {
            diagnostics,
            ..Default::default()
        };
        let rt = match self.resource_type(&request.type_name) {
            Ok(rt) => rt,
            Err(d) => return Ok(Response::new(fail(vec![d]))),
        };
        let decoded =
            decode(request.prior_state.as_ref(), &rt.ty, "prior state").and_then(|prior| {
                Ok((
                    prior,
                    decode(request.config.as_ref(), &rt.ty, "configuration")?,
                ))
            });
        let (prior, config) = match decoded {
            Ok(values) => values,
            Err(d) => return Ok(Response::new(fail(vec![d]))),
        };
        let private = request.prior_private.clone();
        let response = match (prior, config) {
            // Destroy: the planned state is null.
            (_, None) => plan_resource_change::Response {
                planned_state: encode(None, &rt.ty).ok(),
                planned_private: private,
                ..Default::default()
            },
            (None, Some(config)) => match plan::plan_create(&self.core, &rt, &config) {
                Err(failures) => fail(failure_diagnostics(
                    rt.properties(),
                    &format!("planning {}", rt.name),
                    &failures,
                )),
                Ok(planned) => {
                    self.preview_log(&rt, None, &config);
                    match encode(Some(&planned), &rt.ty) {
                        Ok(planned) => plan_resource_change::Response {
                            planned_state: Some(planned),
                            planned_private: private,
                            ..Default::default()
                        },
                        Err(d) => fail(vec![d]),
                    }
                }
            },
            (Some(prior), Some(config)) => {
                match plan::plan_update(&self.core, &rt, &prior, &config) {
                    Err(failures) => fail(failure_diagnostics(
                        rt.properties(),
                        &format!("planning {}", rt.name),
                        &failures,
                    )),
                    Ok(UpdatePlan::NoChange) => plan_resource_change::Response {
                        // Exactly the prior state: Terraform sent msgpack, echo its bytes.
                        planned_state: match request.prior_state {
                            Some(prior_state) if !prior_state.msgpack.is_empty() => {
                                Some(prior_state)
                            }
                            _ => encode(Some(&prior), &rt.ty).ok(),
                        },
                        planned_private: private,
                        ..Default::default()
                    },
                    Ok(UpdatePlan::Change {
                        planned,
                        requires_replace,
                    }) => {
                        self.preview_log(&rt, Some(&prior), &config);
                        let paths = requires_replace
                            .iter()
                            .filter_map(|path| diagnostics::attribute_path(path).ok())
                            .collect();
                        match encode(Some(&planned), &rt.ty) {
                            Ok(planned) => plan_resource_change::Response {
                                planned_state: Some(planned),
                                requires_replace: paths,
                                planned_private: private,
                                ..Default::default()
                            },
                            Err(d) => fail(vec![d]),
                        }
                    }
                }
            }
        };
        Ok(Response::new(response))
    }

    async fn apply_resource_change(
        &self,
        request: Request<apply_resource_change::Request>,
    ) -> Reply<apply_resource_change::Response> {
        let request = request.into_inner();
        let private = request.planned_private.clone();
        let keep = |state: Option<DynamicValue>, diagnostics: Vec<Diagnostic>| {
            apply_resource_change::Response {
                new_state: state,
                private: private.clone(),
                diagnostics,
            }
        };
        let rt = match self.resource_type(&request.type_name) {
            Ok(rt) => rt,
            Err(d) => return Ok(Response::new(keep(request.prior_state.clone(), vec![d]))),
        };
        let decoded = (|| {
            Ok::<_, Diagnostic>((
                decode(request.prior_state.as_ref(), &rt.ty, "prior state")?,
                decode(request.planned_state.as_ref(), &rt.ty, "planned state")?,
                decode(request.config.as_ref(), &rt.ty, "configuration")?,
            ))
        })();
        let (prior, planned, _config) = match decoded {
            Ok(values) => values,
            Err(d) => return Ok(Response::new(keep(request.prior_state.clone(), vec![d]))),
        };
        let op = self.operation("ApplyResourceChange", &rt.name);
        let resource = rt.resource.as_ref();
        let response = match (prior, planned) {
            (None, None) => keep(encode(None, &rt.ty).ok(), Vec::new()),
            // Delete.
            (Some(prior), None) => {
                let id = prior
                    .get(ID)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let olds = rt.checked_olds(&self.core, &prior);
                match self
                    .unless_stopped(self.core.delete(resource, &id, &olds, &op))
                    .await
                {
                    Ok(Ok(())) => keep(encode(None, &rt.ty).ok(), Vec::new()),
                    Ok(Err(error)) => keep(
                        request.prior_state.clone(),
                        vec![error_diagnostic("deleting", &rt.name, &error)],
                    ),
                    Err(Interrupted::Stopped) => keep(
                        request.prior_state.clone(),
                        vec![stopped_diagnostic("deleting", &rt.name)],
                    ),
                }
            }
            // Create.
            (None, Some(planned)) => {
                // The planned inputs: the configuration with what the plan filled in.
                let checked = self
                    .core
                    .check(resource, &rt.inputs_of(&planned), &Props::default());
                if !checked.failures.is_empty() {
                    let diagnostics = failure_diagnostics(
                        rt.properties(),
                        &format!("creating {}", rt.name),
                        &checked.failures,
                    );
                    return Ok(Response::new(keep(None, diagnostics)));
                }
                match self
                    .unless_stopped(self.core.create(resource, &checked.inputs, &op))
                    .await
                {
                    Ok(Ok(created)) => {
                        let mut actual = plan::returned(&rt, &created.outputs);
                        actual.insert(ID.to_owned(), Value::String(created.id.clone()));
                        self.settled(&rt, &planned, &actual, Vec::new(), &keep)
                    }
                    Ok(Err(error @ CoreError::InitFailed { .. })) => {
                        let CoreError::InitFailed { id, outputs, .. } = &error else {
                            unreachable!()
                        };
                        let mut actual = plan::returned(&rt, outputs);
                        actual.insert(ID.to_owned(), Value::String(id.clone()));
                        let diagnostic = error_diagnostic("creating", &rt.name, &error);
                        self.settled(&rt, &planned, &actual, vec![diagnostic], &keep)
                    }
                    Ok(Err(error)) => {
                        keep(None, vec![error_diagnostic("creating", &rt.name, &error)])
                    }
                    Err(Interrupted::Stopped) => {
                        keep(None, vec![stopped_diagnostic("creating", &rt.name)])
                    }
                }
            }
            // Update.
            (Some(prior), Some(planned)) => {
                let id = prior
                    .get(ID)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let olds = rt.checked_olds(&self.core, &prior);
                // The planned inputs: attributes left out of the configuration keep their value.
                let checked = self.core.check(resource, &rt.inputs_of(&planned), &olds);
                if !checked.failures.is_empty() {
                    let diagnostics = failure_diagnostics(
                        rt.properties(),
                        &format!("updating {}", rt.name),
                        &checked.failures,
                    );
                    return Ok(Response::new(keep(
                        request.prior_state.clone(),
                        diagnostics,
                    )));
                }
                match self
                    .unless_stopped(self.core.update(resource, &id, &olds, &checked.inputs, &op))
                    .await
                {
                    Ok(Ok(outputs)) => {
                        let mut actual = prior.clone();
                        actual.extend(
                            plan::returned(&rt, &outputs)
                                .into_iter()
                                .filter(|(_, v)| !v.is_null()),
                        );
                        self.settled(&rt, &planned, &actual, Vec::new(), &keep)
                    }
                    Ok(Err(error)) => keep(
                        request.prior_state.clone(),
                        vec![error_diagnostic("updating", &rt.name, &error)],
                    ),
                    Err(Interrupted::Stopped) => keep(
                        request.prior_state.clone(),
                        vec![stopped_diagnostic("updating", &rt.name)],
                    ),
                }
            }
        };
        Ok(Response::new(response))
    }

    async fn import_resource_state(
        &self,
        request: Request<import_resource_state::Request>,
    ) -> Reply<import_resource_state::Response> {
        let request = request.into_inner();
        let fail = |diagnostics: Vec<Diagnostic>| import_resource_state::Response {
            diagnostics,
            ..Default::default()
        };
        let rt = match self.resource_type(&request.type_name) {
            Ok(rt) => rt,
            Err(d) => return Ok(Response::new(fail(vec![d]))),
        };
        let op = self.operation("ImportResourceState", &rt.name);
        let nothing = Props::default();
        let read = self
            .unless_stopped(self.core.read(
                rt.resource.as_ref(),
                &request.id,
                &nothing,
                &nothing,
                &op,
            ))
            .await;
        let doing = format!("importing {} as", request.id);
        let response = match read {
            Err(Interrupted::Stopped) => fail(vec![stopped_diagnostic(&doing, &rt.name)]),
            Ok(Err(error)) => fail(vec![error_diagnostic(&doing, &rt.name, &error)]),
            Ok(Ok(None)) => fail(vec![diagnostics::error(
                format!("{doing} {}: {} does not exist", rt.name, request.id),
                "Import takes the ID of an existing resource: the ARM resource ID, or the SQL ID that `terraform state show` prints for a Principal or Grant.",
            )]),
            Ok(Ok(Some(found))) => {
                let state = plan::refreshed(&self.core, &rt, &Map::new(), &found);
                match encode(Some(&state), &rt.ty) {
                    Ok(state) => import_resource_state::Response {
                        imported_resources: vec![import_resource_state::ImportedResource {
                            type_name: rt.name.clone(),
                            state: Some(state),
                            private: Vec::new(),
                        }],
                        ..Default::default()
                    },
                    Err(d) => fail(vec![d]),
                }
            }
        };
        Ok(Response::new(response))
    }

    async fn read_data_source(
        &self,
        request: Request<read_data_source::Request>,
    ) -> Reply<read_data_source::Response> {
        let request = request.into_inner();
        let fail = |diagnostics: Vec<Diagnostic>| read_data_source::Response {
            diagnostics,
            ..Default::default()
        };
        let Some(source) = self.data_sources.get(&request.type_name).cloned() else {
            return Ok(Response::new(fail(vec![diagnostics::error(
                format!("pgentra has no data source {:?}", request.type_name),
                "The data source is pgentra_client_config.",
            )])));
        };
        let spec = source.function.spec();
        let config = match decode(request.config.as_ref(), &source.ty, "configuration") {
            Ok(config) => config.unwrap_or_default(),
            Err(d) => return Ok(Response::new(fail(vec![d]))),
        };
        let args = values::to_props(spec.inputs, &config);
        let op = self.operation("ReadDataSource", &source.name);
        let doing = "reading";
        let response = match self
            .unless_stopped(self.core.invoke(source.function.as_ref(), &args, &op))
            .await
        {
            Err(Interrupted::Stopped) => fail(vec![stopped_diagnostic(doing, &source.name)]),
            Ok(Err(error)) => fail(vec![error_diagnostic(doing, &source.name, &error)]),
            Ok(Ok(Err(failures))) => {
                fail(failure_diagnostics(spec.inputs, &source.name, &failures))
            }
            Ok(Ok(Ok(result))) => {
                let mut state = values::to_object(spec.inputs, &args.values, |_| true);
                state.extend(values::to_object(spec.outputs, &result.values, |_| true));
                match encode(Some(&state), &source.ty) {
                    Ok(state) => read_data_source::Response {
                        state: Some(state),
                        ..Default::default()
                    },
                    Err(d) => fail(vec![d]),
                }
            }
        };
        Ok(Response::new(response))
    }

    async fn stop_provider(
        &self,
        _request: Request<stop_provider::Request>,
    ) -> Reply<stop_provider::Response> {
        tracing::info!("StopProvider: abandoning operations in flight");
        self.core.cancellation().cancel();
        self.stop.send_replace(true);
        Ok(Response::new(stop_provider::Response::default()))
    }
}

impl PgentraProvider {
    /// Tells the user (under TF_LOG) the SQL a change would run, as Pulumi's preview does.
    fn preview_log(
        &self,
        rt: &ResourceType,
        prior: Option<&Map<String, Value>>,
        config: &Map<String, Value>,
    ) {
        let resource = rt.resource.as_ref();
        let olds = prior.map(|prior| rt.checked_olds(&self.core, prior));
        let news = self.core.check(
            resource,
            &rt.props_of(config),
            olds.as_ref().unwrap_or(&Props::default()),
        );
        let log = TracingLog {
            rpc: "PlanResourceChange",
            type_name: rt.name.clone(),
        };
        let _ = self
            .core
            .preview(resource, olds.as_ref(), &news.inputs, &log);
    }

    /// The apply answer: planned values kept, unknowns filled from `actual`.
    fn settled(
        &self,
        rt: &ResourceType,
        planned: &Map<String, Value>,
        actual: &Map<String, Value>,
        mut diagnostics: Vec<Diagnostic>,
        keep: &dyn Fn(Option<DynamicValue>, Vec<Diagnostic>) -> apply_resource_change::Response,
    ) -> apply_resource_change::Response {
        let (state, left) = plan::settle(&rt.block, planned, actual);
        if !left.is_empty() {
            tracing::warn!(resource = %rt.name, paths = ?left, "values Azure did not return are null");
        }
        match encode(Some(&state), &rt.ty) {
            Ok(state) => keep(Some(state), diagnostics),
            Err(d) => {
                diagnostics.push(d);
                keep(None, diagnostics)
            }
        }
    }
}
