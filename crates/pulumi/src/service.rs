//! The `pulumirpc.ResourceProvider` service: decodes each request, hands typed properties to
//! the resource behind the request's type token, and encodes the answer. It knows no
//! resource's fields; everything resource-shaped comes from the registry's descriptions.

use crate::autoname;
use crate::codec::{decode, encode};
use crate::engine_log::EngineLog;
use crate::proto::pulumirpc::{self as rpc, resource_provider_server::ResourceProvider};
use crate::status::{bad_request, from_resource_error, operation};
use pgentra_core::config::{check_config, ProviderConfig};
use pgentra_core::props::{unknown, Props};
use pgentra_core::resource::{Context, Registry, Resource, Severity};
use pgentra_core::spec::{
    check_properties, diff_inputs, ChangeKind, ResourceSpec, Role, DEFAULTS_KEY,
};
use std::sync::{Arc, OnceLock, RwLock};
use tonic::{Request, Response, Status};
use tracing::Instrument;

type Reply<T> = Result<Response<T>, Status>;

/// What Configure produced: the resolved config and the Azure client built from it.
#[derive(Clone)]
struct Configured {
    config: Arc<ProviderConfig>,
    azure: Arc<pgentra_core::azure::Azure>,
}

pub struct Provider {
    registry: Arc<Registry>,
    config: RwLock<Option<Configured>>,
    engine: EngineLog,
    schema: OnceLock<String>,
}

impl Provider {
    pub fn new(registry: Arc<Registry>, engine: EngineLog) -> Self {
        Self {
            registry,
            config: RwLock::new(None),
            engine,
            schema: OnceLock::new(),
        }
    }

    fn resource(&self, type_token: &str, urn: &str) -> Result<&Arc<dyn Resource>, Status> {
        let token = if type_token.is_empty() {
            type_from_urn(urn)
        } else {
            type_token
        };
        self.registry.resource(token).ok_or_else(|| {
            Status::invalid_argument(format!("pgentra has no resource type {token:?} (urn {urn:?}); see `pulumi package get-schema pgentra`"))
        })
    }

    /// Tells the engine, for this resource, the SQL the operation would run.
    fn log_planned_sql(
        &self,
        resource: &dyn Resource,
        urn: &str,
        olds: Option<&Props>,
        news: &Props,
    ) {
        let message = match resource.planned_sql(olds, news) {
            Ok(statements) if statements.is_empty() => return,
            Ok(statements) => format!("would run:\n  {};", statements.join(";\n  ")),
            Err(waiting) => format!("the SQL it would run is shown once {waiting}"),
        };
        self.engine.send(Severity::Info, urn, &message);
    }

    fn context(&self, urn: &str, timeout_seconds: f64) -> Result<Context, Status> {
        let configured = self.config.read().expect("config lock").clone();
        let configured = configured.ok_or_else(|| {
            Status::failed_precondition("the pgentra provider was used before Configure")
        })?;
        Ok(Context {
            config: configured.config,
            log: self.engine.for_urn(urn),
            azure: Some(configured.azure),
            timeout: (timeout_seconds > 0.0)
                .then(|| std::time::Duration::from_secs_f64(timeout_seconds)),
        })
    }
}

/// `urn:pulumi:stack::project::parent$pgentra:index:Grant::name` -> `pgentra:index:Grant`.
fn type_from_urn(urn: &str) -> &str {
    let parts: Vec<&str> = urn.split("::").collect();
    let qualified = if parts.len() >= 4 {
        parts[parts.len() - 2]
    } else {
        ""
    };
    qualified.rsplit('$').next().unwrap_or(qualified)
}

fn name_from_urn(urn: &str) -> &str {
    urn.rsplit("::").next().unwrap_or_default()
}

fn decoded(op: &str, value: Option<&prost_types::Struct>) -> Result<Props, Status> {
    decode(value).map_err(|e| bad_request(op, e))
}

/// Outputs go out with every secret input still secret, and every secret property wrapped.
fn outputs(spec: &'static ResourceSpec, props: &Props) -> prost_types::Struct {
    encode(props, |name| spec.property(name).is_some_and(|p| p.secret))
}

fn failures(list: Vec<pgentra_core::spec::CheckFailure>) -> Vec<rpc::CheckFailure> {
    list.into_iter()
        .map(|f| rpc::CheckFailure {
            property: f.property,
            reason: f.reason,
        })
        .collect()
}

/// The old inputs of a resource: the engine's `old_inputs`, or the input properties of the
/// old state when an older engine sends none.
fn old_inputs(spec: &'static ResourceSpec, old_inputs: Props, olds: Props) -> Props {
    if !old_inputs.is_empty() {
        return old_inputs;
    }
    let mut inputs = Props::default();
    for property in spec.inputs() {
        if let Some(value) = olds.values.get(property.name) {
            inputs.set(property.name, value.clone());
        }
    }
    if let Some(defaults) = olds.values.get(DEFAULTS_KEY) {
        inputs.set(DEFAULTS_KEY, defaults.clone());
    }
    inputs.inherit_secrets(&olds);
    inputs
}

/// What a preview shows as outputs: the inputs, plus every computed output as unknown
/// (or, on update, its old value where it cannot change).
fn preview_outputs(spec: &'static ResourceSpec, inputs: &Props, olds: Option<&Props>) -> Props {
    let mut out = inputs.clone();
    out.values.remove(DEFAULTS_KEY);
    for property in spec.outputs_only() {
        let kept = match (property.role, olds) {
            (Role::Output { stable: true }, Some(olds)) => olds.get(property.name).cloned(),
            _ => None,
        };
        out.set(property.name, kept.unwrap_or_else(unknown));
    }
    out
}

#[tonic::async_trait]
impl ResourceProvider for Provider {
    async fn handshake(
        &self,
        request: Request<rpc::ProviderHandshakeRequest>,
    ) -> Reply<rpc::ProviderHandshakeResponse> {
        let request = request.into_inner();
        tracing::debug!(engine = %request.engine_address, "handshake");
        self.engine.connect(&request.engine_address);
        Ok(Response::new(rpc::ProviderHandshakeResponse {
            accept_secrets: true,
            accept_resources: true,
            accept_outputs: false,
            supports_autonaming_configuration: true,
            ..Default::default()
        }))
    }

    async fn parameterize(
        &self,
        _: Request<rpc::ParameterizeRequest>,
    ) -> Reply<rpc::ParameterizeResponse> {
        Err(Status::unimplemented(
            "pgentra is not a parameterized package",
        ))
    }

    async fn get_schema(&self, _: Request<rpc::GetSchemaRequest>) -> Reply<rpc::GetSchemaResponse> {
        let schema = self
            .schema
            .get_or_init(|| crate::schema::render(&self.registry))
            .clone();
        Ok(Response::new(rpc::GetSchemaResponse { schema }))
    }

    async fn check_config(&self, request: Request<rpc::CheckRequest>) -> Reply<rpc::CheckResponse> {
        let request = request.into_inner();
        let news = decoded("checking the provider configuration", request.news.as_ref())?;
        let (checked, problems) = check_config(&news);
        Ok(Response::new(rpc::CheckResponse {
            inputs: Some(encode(&checked, |name| name == "clientSecret")),
            failures: failures(problems),
        }))
    }

    async fn diff_config(&self, request: Request<rpc::DiffRequest>) -> Reply<rpc::DiffResponse> {
        // A config change never replaces the provider: that would replace every resource it
        // manages (servers included). Changes are reported so the preview shows them.
        let request = request.into_inner();
        let olds = decoded(
            "diffing the provider configuration",
            request.old_inputs.as_ref().or(request.olds.as_ref()),
        )?;
        let news = decoded("diffing the provider configuration", request.news.as_ref())?;
        let mut keys: Vec<String> = olds
            .values
            .keys()
            .chain(news.values.keys())
            .filter(|k| *k != "version")
            .cloned()
            .collect();
        keys.sort();
        keys.dedup();
        let changed: Vec<String> = keys
            .into_iter()
            .filter(|k| olds.get(k) != news.get(k))
            .collect();
        let detailed = changed
            .iter()
            .map(|k| {
                (
                    k.clone(),
                    rpc::PropertyDiff {
                        kind: rpc::property_diff::Kind::Update as i32,
                        input_diff: true,
                    },
                )
            })
            .collect();
        Ok(Response::new(rpc::DiffResponse {
            changes: if changed.is_empty() {
                rpc::diff_response::DiffChanges::DiffNone
            } else {
                rpc::diff_response::DiffChanges::DiffSome
            } as i32,
            diffs: changed,
            detailed_diff: detailed,
            has_detailed_diff: true,
            ..Default::default()
        }))
    }

    async fn configure(
        &self,
        request: Request<rpc::ConfigureRequest>,
    ) -> Reply<rpc::ConfigureResponse> {
        let request = request.into_inner();
        let args = decoded("configuring pgentra", request.args.as_ref())?;
        let config = ProviderConfig::resolve(&args, |name| std::env::var(name).ok()).map_err(
            |problems| {
                let text: Vec<String> = problems
                    .iter()
                    .map(|f| format!("{}: {}", f.property, f.reason))
                    .collect();
                Status::invalid_argument(format!("configuring pgentra: {}", text.join("; ")))
            },
        )?;
        let summary = format!(
            "pgentra configured: cloud {}, subscription {}, tenant {}",
            config.cloud.name(),
            config.subscription_id.as_deref().unwrap_or("(not set)"),
            config.tenant_id.as_deref().unwrap_or("(not set)"),
        );
        let azure = pgentra_core::azure::Azure::from_config(&config)
            .map_err(|e| Status::invalid_argument(format!("configuring pgentra: {e}")))?;
        *self.config.write().expect("config lock") = Some(Configured {
            config: Arc::new(config),
            azure: Arc::new(azure),
        });
        self.engine.send(
            Severity::Debug,
            request.urn.as_deref().unwrap_or_default(),
            &summary,
        );
        Ok(Response::new(rpc::ConfigureResponse {
            accept_secrets: true,
            supports_preview: true,
            accept_resources: true,
            accept_outputs: false,
            supports_autonaming_configuration: true,
        }))
    }

    async fn invoke(&self, request: Request<rpc::InvokeRequest>) -> Reply<rpc::InvokeResponse> {
        let request = request.into_inner();
        let op = format!("calling {}", request.tok);
        let function = self.registry.function(&request.tok).ok_or_else(|| {
            Status::invalid_argument(format!("pgentra has no function {:?}", request.tok))
        })?;
        let spec = function.spec();
        let args = decoded(&op, request.args.as_ref())?;
        let mut problems = Vec::new();
        let checked = Props::new(check_properties(
            spec.inputs,
            &args.values,
            "",
            &mut problems,
        ));
        if !problems.is_empty() {
            return Ok(Response::new(rpc::InvokeResponse {
                r#return: None,
                failures: failures(problems),
            }));
        }
        let ctx = self.context("", 0.0)?;
        let result = function
            .invoke(&ctx, &checked)
            .instrument(tracing::info_span!("invoke", token = %request.tok))
            .await;
        let result = result.map_err(|e| from_resource_error(&op, &e))?;
        let secret = |name: &str| spec.outputs.iter().any(|p| p.name == name && p.secret);
        Ok(Response::new(rpc::InvokeResponse {
            r#return: Some(encode(&result, secret)),
            failures: vec![],
        }))
    }

    async fn call(&self, _: Request<rpc::CallRequest>) -> Reply<rpc::CallResponse> {
        Err(Status::unimplemented("pgentra has no resource methods"))
    }

    async fn check(&self, request: Request<rpc::CheckRequest>) -> Reply<rpc::CheckResponse> {
        let request = request.into_inner();
        let resource = self.resource(&request.r#type, &request.urn)?;
        let spec = resource.spec();
        let op = operation("checking", spec.token, &request.urn);
        let _span = tracing::debug_span!("check", urn = %request.urn).entered();
        let olds = decoded(&op, request.olds.as_ref())?;
        let mut news = decoded(&op, request.news.as_ref())?;
        let mut problems = Vec::new();
        if let Some(rule) = spec.autoname {
            let name = if request.name.is_empty() {
                name_from_urn(&request.urn)
            } else {
                &request.name
            };
            autoname::fill(
                rule,
                &mut news,
                &olds,
                name,
                &request.random_seed,
                request.autonaming.as_ref(),
                &mut problems,
            );
        }
        let mut checked = Props::new(check_properties(
            spec.properties,
            &news.values,
            "",
            &mut problems,
        ));
        if let Some(defaults) = news.values.get(DEFAULTS_KEY) {
            checked.set(DEFAULTS_KEY, defaults.clone());
        }
        checked.inherit_secrets(&news);
        if problems.is_empty() {
            resource.check(&mut checked, &olds, &mut problems);
        }
        Ok(Response::new(rpc::CheckResponse {
            inputs: Some(outputs(spec, &checked)),
            failures: failures(problems),
        }))
    }

    async fn diff(&self, request: Request<rpc::DiffRequest>) -> Reply<rpc::DiffResponse> {
        use rpc::property_diff::Kind;
        let request = request.into_inner();
        let resource = self.resource(&request.r#type, &request.urn)?;
        let spec = resource.spec();
        let op = operation("diffing", spec.token, &request.urn);
        let _span = tracing::debug_span!("diff", urn = %request.urn).entered();
        let olds = old_inputs(
            spec,
            decoded(&op, request.old_inputs.as_ref())?,
            decoded(&op, request.olds.as_ref())?,
        );
        let news = decoded(&op, request.news.as_ref())?;
        let mut outcome = diff_inputs(spec, &olds, &news);
        outcome.changes.retain(|c| {
            !request
                .ignore_changes
                .iter()
                .any(|ignored| c.path == *ignored || c.path.starts_with(&format!("{ignored}.")))
        });
        let detailed = outcome
            .changes
            .iter()
            .map(|c| {
                let kind = match (c.kind, c.replace) {
                    (ChangeKind::Add, false) => Kind::Add,
                    (ChangeKind::Add, true) => Kind::AddReplace,
                    (ChangeKind::Delete, false) => Kind::Delete,
                    (ChangeKind::Delete, true) => Kind::DeleteReplace,
                    (ChangeKind::Update, false) => Kind::Update,
                    (ChangeKind::Update, true) => Kind::UpdateReplace,
                };
                (
                    c.path.clone(),
                    rpc::PropertyDiff {
                        kind: kind as i32,
                        input_diff: true,
                    },
                )
            })
            .collect();
        let changes = if outcome.changes.is_empty() {
            rpc::diff_response::DiffChanges::DiffNone
        } else {
            rpc::diff_response::DiffChanges::DiffSome
        };
        Ok(Response::new(rpc::DiffResponse {
            replaces: outcome.replaced_properties(),
            stables: vec![],
            delete_before_replace: outcome.delete_before_replace,
            changes: changes as i32,
            diffs: outcome.changed_properties(),
            detailed_diff: detailed,
            has_detailed_diff: true,
        }))
    }

    async fn create(&self, request: Request<rpc::CreateRequest>) -> Reply<rpc::CreateResponse> {
        let request = request.into_inner();
        let resource = self.resource(&request.r#type, &request.urn)?;
        let spec = resource.spec();
        let op = operation("creating", spec.token, &request.urn);
        let inputs = decoded(&op, request.properties.as_ref())?;
        if request.preview {
            self.log_planned_sql(resource.as_ref(), &request.urn, None, &inputs);
            let preview = preview_outputs(spec, &inputs, None);
            return Ok(Response::new(rpc::CreateResponse {
                id: String::new(),
                properties: Some(outputs(spec, &preview)),
                refresh_before_update: false,
            }));
        }
        let ctx = self.context(&request.urn, request.timeout)?;
        let created = resource
            .create(&ctx, &inputs)
            .instrument(tracing::info_span!("create", urn = %request.urn))
            .await
            .map_err(|e| from_resource_error(&op, &e))?;
        let mut props = created.outputs;
        props.inherit_secrets(&inputs);
        Ok(Response::new(rpc::CreateResponse {
            id: created.id,
            properties: Some(outputs(spec, &props)),
            refresh_before_update: false,
        }))
    }

    async fn read(&self, request: Request<rpc::ReadRequest>) -> Reply<rpc::ReadResponse> {
        let request = request.into_inner();
        let resource = self.resource(&request.r#type, &request.urn)?;
        let spec = resource.spec();
        let op = operation("reading", spec.token, &request.urn);
        let state = decoded(&op, request.properties.as_ref())?;
        let ctx = self.context(&request.urn, request.timeout)?;
        let found = resource
            .read(&ctx, &request.id, &state)
            .instrument(tracing::info_span!("read", urn = %request.urn))
            .await
            .map_err(|e| from_resource_error(&op, &e))?;
        let Some(found) = found else {
            return Ok(Response::new(rpc::ReadResponse::default()));
        };
        let (mut props, mut inputs) = (found.outputs, found.inputs);
        // A refresh keeps the program's inputs as the program wrote them: a property it never
        // set, read back from Azure, would otherwise show as removed on the next `up` (and
        // replace the resource when it forces replacement). An import (no old inputs) gets all.
        let old_inputs = decoded(&op, request.inputs.as_ref())?;
        if !old_inputs.is_empty() {
            inputs
                .values
                .retain(|name, _| old_inputs.get(name).is_some());
        }
        props.inherit_secrets(&state);
        inputs.inherit_secrets(&state);
        Ok(Response::new(rpc::ReadResponse {
            id: found.id,
            properties: Some(outputs(spec, &props)),
            inputs: Some(outputs(spec, &inputs)),
            refresh_before_update: false,
        }))
    }

    type ListStream = tokio_stream::Empty<Result<rpc::ListResponse, Status>>;

    async fn list(&self, _: Request<rpc::ListRequest>) -> Reply<Self::ListStream> {
        Err(Status::unimplemented("pgentra does not list resources"))
    }

    async fn update(&self, request: Request<rpc::UpdateRequest>) -> Reply<rpc::UpdateResponse> {
        let request = request.into_inner();
        let resource = self.resource(&request.r#type, &request.urn)?;
        let spec = resource.spec();
        let op = operation("updating", spec.token, &request.urn);
        let olds = decoded(&op, request.olds.as_ref())?;
        let news = decoded(&op, request.news.as_ref())?;
        if request.preview {
            self.log_planned_sql(resource.as_ref(), &request.urn, Some(&olds), &news);
            let preview = preview_outputs(spec, &news, Some(&olds));
            return Ok(Response::new(rpc::UpdateResponse {
                properties: Some(outputs(spec, &preview)),
                refresh_before_update: false,
            }));
        }
        let ctx = self.context(&request.urn, request.timeout)?;
        let mut props = resource
            .update(&ctx, &request.id, &olds, &news)
            .instrument(tracing::info_span!("update", urn = %request.urn))
            .await
            .map_err(|e| from_resource_error(&op, &e))?;
        props.inherit_secrets(&news);
        Ok(Response::new(rpc::UpdateResponse {
            properties: Some(outputs(spec, &props)),
            refresh_before_update: false,
        }))
    }

    async fn delete(&self, request: Request<rpc::DeleteRequest>) -> Reply<()> {
        let request = request.into_inner();
        let resource = self.resource(&request.r#type, &request.urn)?;
        let spec = resource.spec();
        let op = operation("deleting", spec.token, &request.urn);
        let olds = decoded(&op, request.properties.as_ref())?;
        let ctx = self.context(&request.urn, request.timeout)?;
        resource
            .delete(&ctx, &request.id, &olds)
            .instrument(tracing::info_span!("delete", urn = %request.urn))
            .await
            .map_err(|e| from_resource_error(&op, &e))?;
        Ok(Response::new(()))
    }

    async fn construct(&self, _: Request<rpc::ConstructRequest>) -> Reply<rpc::ConstructResponse> {
        Err(Status::unimplemented("pgentra has no component resources"))
    }

    /// The engine cancels at the end of every run and on Ctrl-C, then sends SIGINT. Operations
    /// in flight are bounded by their own deadlines (the engine's timeouts), so there is nothing
    /// to stop here yet.
    async fn cancel(&self, _: Request<()>) -> Reply<()> {
        tracing::debug!("cancel requested");
        Ok(Response::new(()))
    }

    async fn get_plugin_info(&self, _: Request<()>) -> Reply<crate::proto::pulumirpc::PluginInfo> {
        Ok(Response::new(crate::proto::pulumirpc::PluginInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }))
    }

    async fn attach(&self, request: Request<crate::proto::pulumirpc::PluginAttach>) -> Reply<()> {
        self.engine.connect(&request.into_inner().address);
        Ok(Response::new(()))
    }

    async fn get_mapping(
        &self,
        _: Request<rpc::GetMappingRequest>,
    ) -> Reply<rpc::GetMappingResponse> {
        Ok(Response::new(rpc::GetMappingResponse::default()))
    }

    async fn get_mappings(
        &self,
        _: Request<rpc::GetMappingsRequest>,
    ) -> Reply<rpc::GetMappingsResponse> {
        Ok(Response::new(rpc::GetMappingsResponse::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_token_comes_from_the_urn_also_under_a_parent() {
        assert_eq!(
            type_from_urn("urn:pulumi:dev::app::pgentra:index:Grant::g1"),
            "pgentra:index:Grant"
        );
        assert_eq!(
            type_from_urn("urn:pulumi:dev::app::my:comp:Db$pgentra:index:Grant::g1"),
            "pgentra:index:Grant"
        );
        assert_eq!(
            name_from_urn("urn:pulumi:dev::app::pgentra:index:Grant::g1"),
            "g1"
        );
    }
}
