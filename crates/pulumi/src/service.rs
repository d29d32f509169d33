//! The `pulumirpc.ResourceProvider` service: decodes each request, hands it to the core's
//! [`pgentra_core::provider::Provider`] for the resource behind the request's type token, and
//! encodes the answer. It knows no resource's fields and runs no step of its own: what is
//! Pulumi's alone (URNs, auto-naming, `__defaults`, the import command) stays here.

use crate::autoname;
use crate::codec::{decode, encode};
use crate::engine_log::EngineLog;
use crate::proto::pulumirpc::{self as rpc, resource_provider_server::ResourceProvider};
use crate::stack_config;
use crate::status::{bad_request, from_resource_error, operation};
use pgentra_core::config::ProviderConfig;
use pgentra_core::props::Props;
use pgentra_core::provider::{self as core, Operation};
use pgentra_core::resource::{Registry, Resource, Severity};
use pgentra_core::spec::{ChangeKind, ResourceSpec};
use std::sync::{Arc, OnceLock};
use tonic::{Request, Response, Status};
use tracing::Instrument;

type Reply<T> = Result<Response<T>, Status>;

pub struct Provider {
    core: core::Provider,
    engine: EngineLog,
    schema: OnceLock<String>,
}

impl Provider {
    pub fn new(registry: Arc<Registry>, engine: EngineLog) -> Self {
        Self {
            core: core::Provider::new(registry),
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
        self.core.registry().resource(token).ok_or_else(|| {
            Status::invalid_argument(format!("pgentra has no resource type {token:?} (urn {urn:?}); see `pulumi package get-schema pgentra`"))
        })
    }

    /// The operation's log (the engine's, for this resource) and deadline. The engine's
    /// timeout is seconds as a double: zero, negative or NaN means none, and anything past
    /// `core::MAX_TIMEOUT` (30 days; `inf`, 1e19) is clamped to it instead of overflowing
    /// the deadline's clock arithmetic.
    fn operation(&self, urn: &str, timeout_seconds: f64) -> Operation {
        Operation {
            // The URN names the stack, the project and the resource: a create interrupted in
            // this stack is recognised by the next run's create of the same resource.
            create_mark: (!urn.is_empty()).then(|| core::create_mark("pulumi", urn)),
            ..Operation::with_timeout_seconds(self.engine.for_urn(urn), timeout_seconds)
        }
    }

    /// The handle that cancels every operation in flight (for the SIGINT handler).
    pub fn cancellation(&self) -> core::Cancellation {
        self.core.cancellation()
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

/// Check's news: a value the codec cannot take (NaN, too deep, an asset) is a Check failure
/// naming the property, like any other invalid input, not an RPC error.
fn decoded_news(
    value: Option<&prost_types::Struct>,
) -> Result<Props, Vec<pgentra_core::spec::CheckFailure>> {
    decode(value).map_err(|e| {
        vec![pgentra_core::spec::CheckFailure::new(
            e.property(),
            e.reason(),
        )]
    })
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

/// A resource error as the engine's status; an "already exists" names Pulumi's import command.
/// `spec` (when the error is a resource's) says which properties are always secret.
fn failed(op: &str, urn: &str, error: &pgentra_core::resource::Error) -> Status {
    failed_for(None, op, urn, error)
}

fn failed_for(
    spec: Option<&'static ResourceSpec>,
    op: &str,
    urn: &str,
    error: &pgentra_core::resource::Error,
) -> Status {
    if let pgentra_core::resource::Error::AlreadyExists { id, token } = error {
        let name = Some(name_from_urn(urn))
            .filter(|n| !n.is_empty())
            .unwrap_or("<name>");
        return Status::already_exists(format!(
            "{op}: {id} already exists; import it with `pulumi import {token} {name} {id}` to manage it"
        ));
    }
    if let pgentra_core::resource::Error::MissingSetting { what, setting } = error {
        return Status::invalid_argument(format!(
            "{op}: {what} is configured: set pgentra:{setting}{}",
            setting_env(setting)
                .map(|var| format!(" or {var}"))
                .unwrap_or_default()
        ));
    }
    from_resource_error(op, error, |name| {
        spec.and_then(|spec| spec.property(name))
            .is_some_and(|p| p.secret)
    })
}

/// The first environment variable that a provider setting is also read from.
fn setting_env(setting: &str) -> Option<&'static str> {
    pgentra_core::config::CONFIG
        .iter()
        .find(|p| p.name == setting)
        .and_then(|p| p.env.first().copied())
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
            .get_or_init(|| crate::schema::render(self.core.registry()))
            .clone();
        Ok(Response::new(rpc::GetSchemaResponse { schema }))
    }

    async fn check_config(&self, request: Request<rpc::CheckRequest>) -> Reply<rpc::CheckResponse> {
        let request = request.into_inner();
        let news = match decoded_news(request.news.as_ref()) {
            Ok(news) => news,
            Err(problems) => {
                return Ok(Response::new(rpc::CheckResponse {
                    inputs: None,
                    failures: failures(problems),
                }))
            }
        };
        let (checked, problems) = stack_config::check(&news);
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
        let args = stack_config::typed(&args);
        let config = ProviderConfig::resolve(&args, |name| std::env::var(name).ok()).map_err(
            |problems| {
                let text: Vec<String> = problems
                    .iter()
                    .map(|f| format!("{}: {}", f.property, f.reason))
                    .collect();
                Status::invalid_argument(format!("configuring pgentra: {}", text.join("; ")))
            },
        )?;
        let summary = self
            .core
            .configure(config)
            .map_err(|e| Status::invalid_argument(format!("configuring pgentra: {e}")))?;
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
        let function = self.core.registry().function(&request.tok).ok_or_else(|| {
            Status::invalid_argument(format!("pgentra has no function {:?}", request.tok))
        })?;
        let args = decoded(&op, request.args.as_ref())?;
        let result = self
            .core
            .invoke(function.as_ref(), &args, &self.operation("", 0.0))
            .instrument(tracing::info_span!("invoke", token = %request.tok))
            .await
            .map_err(|e| failed(&op, "", &e))?;
        Ok(Response::new(match result {
            Ok(result) => rpc::InvokeResponse {
                r#return: Some(encode(&result, |_| false)),
                failures: vec![],
            },
            Err(problems) => rpc::InvokeResponse {
                r#return: None,
                failures: failures(problems),
            },
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
        let mut news = match decoded_news(request.news.as_ref()) {
            Ok(news) => news,
            Err(problems) => {
                return Ok(Response::new(rpc::CheckResponse {
                    inputs: None,
                    failures: failures(problems),
                }))
            }
        };
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
        let checked = self.core.check(resource.as_ref(), &news, &olds);
        problems.extend(checked.failures);
        Ok(Response::new(rpc::CheckResponse {
            inputs: Some(outputs(spec, &checked.inputs)),
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
        let recorded = decoded(&op, request.old_inputs.as_ref())?;
        // The old state is read only when the engine recorded no old inputs (a state from
        // before it did): otherwise it is not used, and decoding it was a third of Diff's work.
        let state = if recorded.is_empty() {
            decoded(&op, request.olds.as_ref())?
        } else {
            Props::default()
        };
        let olds = core::old_inputs(spec, recorded, &state);
        let news = decoded(&op, request.news.as_ref())?;
        let mut outcome = self.core.diff(resource.as_ref(), &olds, &news);
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
        let operation = self.operation(&request.urn, request.timeout);
        if request.preview {
            let preview =
                self.core
                    .preview(resource.as_ref(), None, &inputs, operation.log.as_ref());
            return Ok(Response::new(rpc::CreateResponse {
                id: String::new(),
                properties: Some(outputs(spec, &preview)),
                refresh_before_update: false,
            }));
        }
        let created = self
            .core
            .create(resource.as_ref(), &inputs, &operation)
            .instrument(tracing::info_span!("create", urn = %request.urn))
            .await
            .map_err(|e| failed_for(Some(spec), &op, &request.urn, &e))?;
        Ok(Response::new(rpc::CreateResponse {
            id: created.id,
            properties: Some(outputs(spec, &created.outputs)),
            refresh_before_update: false,
        }))
    }

    async fn read(&self, request: Request<rpc::ReadRequest>) -> Reply<rpc::ReadResponse> {
        let request = request.into_inner();
        let resource = self.resource(&request.r#type, &request.urn)?;
        let spec = resource.spec();
        let op = operation("reading", spec.token, &request.urn);
        let state = decoded(&op, request.properties.as_ref())?;
        let old_inputs = decoded(&op, request.inputs.as_ref())?;
        let found = self
            .core
            .read(
                resource.as_ref(),
                &request.id,
                &state,
                &old_inputs,
                &self.operation(&request.urn, request.timeout),
            )
            .instrument(tracing::info_span!("read", urn = %request.urn))
            .await
            .map_err(|e| failed_for(Some(spec), &op, &request.urn, &e))?;
        let Some(found) = found else {
            return Ok(Response::new(rpc::ReadResponse::default()));
        };
        Ok(Response::new(rpc::ReadResponse {
            id: found.id,
            properties: Some(outputs(spec, &found.outputs)),
            inputs: Some(outputs(spec, &found.inputs)),
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
        let operation = self.operation(&request.urn, request.timeout);
        if request.preview {
            let preview = self.core.preview(
                resource.as_ref(),
                Some(&olds),
                &news,
                operation.log.as_ref(),
            );
            return Ok(Response::new(rpc::UpdateResponse {
                properties: Some(outputs(spec, &preview)),
                refresh_before_update: false,
            }));
        }
        let props = self
            .core
            .update(resource.as_ref(), &request.id, &olds, &news, &operation)
            .instrument(tracing::info_span!("update", urn = %request.urn))
            .await
            .map_err(|e| failed_for(Some(spec), &op, &request.urn, &e))?;
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
        self.core
            .delete(
                resource.as_ref(),
                &request.id,
                &olds,
                &self.operation(&request.urn, request.timeout),
            )
            .instrument(tracing::info_span!("delete", urn = %request.urn))
            .await
            .map_err(|e| failed_for(Some(spec), &op, &request.urn, &e))?;
        Ok(Response::new(()))
    }

    async fn construct(
        &self,
        request: Request<rpc::ConstructRequest>,
    ) -> Reply<rpc::ConstructResponse> {
        let request = request.into_inner();
        let span = tracing::info_span!("construct", name = %request.name);
        crate::construct::construct(request)
            .instrument(span)
            .await
            .map(Response::new)
    }

    /// The engine cancels at the end of every run and on Ctrl-C, then sends SIGINT: every wait
    /// in flight ends at once (a create Azure accepted answers ErrorResourceInitFailed with its
    /// ID; the operation goes on in Azure), and later operations are refused.
    async fn cancel(&self, _: Request<()>) -> Reply<()> {
        tracing::debug!("cancel requested: stopping the waits of operations in flight");
        self.core.cancellation().cancel();
        Ok(Response::new(()))
    }

    async fn get_plugin_info(&self, _: Request<()>) -> Reply<crate::proto::pulumirpc::PluginInfo> {
        Ok(Response::new(crate::proto::pulumirpc::PluginInfo {
            version: pgentra_core::VERSION.to_owned(),
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
