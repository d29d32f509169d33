//! The Construct RPC: a component resource built by the provider inside the program's
//! deployment. The core plans the children ([`pgentra_core::components`]); here they reach the
//! engine as a program's own resources would, through its resource monitor: the component
//! first (a plain component, `custom` and `remote` false, under the program's parent), then its
//! children with the component's URN as parent, in waves so that every dependency a child
//! names is registered before it, then the component's outputs.

use crate::codec::{decode, encode};
use crate::proto::pulumirpc::{
    self as rpc, register_resource_request::PropertyDependencies as ChildDependencies,
    resource_monitor_client::ResourceMonitorClient,
};
use pgentra_core::components::passwordless_database::{self, Plan, Source};
use std::collections::{BTreeMap, BTreeSet};
use tonic::transport::Channel;
use tonic::Status;

/// The package name in ConstructRequest.providers: the provider the program chose for pgentra.
const PACKAGE: &str = "pgentra";

pub async fn construct(request: rpc::ConstructRequest) -> Result<rpc::ConstructResponse, Status> {
    if request.r#type != passwordless_database::SPEC.token {
        return Err(Status::invalid_argument(format!(
            "pgentra has no component {:?}; its component is {}",
            request.r#type,
            passwordless_database::SPEC.token
        )));
    }
    let what = format!("constructing {} {:?}", request.r#type, request.name);
    let inputs = decode(request.inputs.as_ref())
        .map_err(|e| Status::invalid_argument(format!("{what}: {e}")))?;
    let plan = passwordless_database::plan(&request.name, &inputs).map_err(|failures| {
        let listed: Vec<String> = failures
            .iter()
            .map(|f| format!("{}: {}", f.property, f.reason))
            .collect();
        Status::invalid_argument(format!("{what}: {}", listed.join("; ")))
    })?;
    let mut monitor = connect(&request.monitor_endpoint)
        .await
        .map_err(|e| Status::unavailable(format!("{what}: the engine's resource monitor: {e}")))?;

    let component = monitor
        .register_resource(rpc::RegisterResourceRequest {
            r#type: request.r#type.clone(),
            name: request.name.clone(),
            parent: request.parent.clone(),
            custom: false,
            remote: false,
            object: Some(prost_types::Struct::default()),
            protect: request.protect,
            dependencies: request.dependencies.clone(),
            providers: request.providers.clone(),
            retain_on_delete: request.retain_on_delete,
            deleted_with: request.deleted_with.clone(),
            accept_secrets: true,
            accept_resources: true,
            ..Default::default()
        })
        .await
        .map_err(|s| relabel(&what, "registering the component", s))?
        .into_inner()
        .urn;

    let urns = register_children(&mut monitor, &request, &component, &plan, &what).await?;
    let outputs = encode(&plan.outputs, |_| false);
    monitor
        .register_resource_outputs(rpc::RegisterResourceOutputsRequest {
            urn: component.clone(),
            outputs: Some(outputs.clone()),
        })
        .await
        .map_err(|s| relabel(&what, "registering its outputs", s))?;
    let state_dependencies = plan
        .output_sources
        .iter()
        .map(|(property, sources)| {
            let urns = resolve(sources, &request, &urns).into_iter().collect();
            (
                (*property).to_owned(),
                rpc::construct_response::PropertyDependencies { urns },
            )
        })
        .collect();
    Ok(rpc::ConstructResponse {
        urn: component,
        state: Some(outputs),
        state_dependencies,
    })
}

async fn connect(endpoint: &str) -> Result<ResourceMonitorClient<Channel>, String> {
    let endpoint = endpoint.trim();
    if endpoint.is_empty() {
        return Err("the engine sent no monitorEndpoint".into());
    }
    let channel = crate::engine_log::engine_endpoint(endpoint)?
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {endpoint}: {e}"))?;
    Ok(ResourceMonitorClient::new(channel)
        .max_decoding_message_size(256 * 1024 * 1024)
        .max_encoding_message_size(256 * 1024 * 1024))
}

/// Registers the children wave by wave (a wave's children at once) and returns their URNs.
async fn register_children(
    monitor: &mut ResourceMonitorClient<Channel>,
    request: &rpc::ConstructRequest,
    component: &str,
    plan: &Plan,
    what: &str,
) -> Result<Vec<String>, Status> {
    let mut urns = vec![String::new(); plan.children.len()];
    for wave in plan.waves() {
        let mut pending = tokio::task::JoinSet::new();
        for index in wave {
            let child = &plan.children[index];
            let property_dependencies: BTreeMap<String, ChildDependencies> = child
                .sources
                .iter()
                .map(|(property, sources)| {
                    let urns = resolve(sources, request, &urns).into_iter().collect();
                    ((*property).to_owned(), ChildDependencies { urns })
                })
                .collect();
            let mut dependencies: BTreeSet<String> = request.dependencies.iter().cloned().collect();
            dependencies.extend(property_dependencies.values().flat_map(|d| d.urns.clone()));
            let registration = rpc::RegisterResourceRequest {
                r#type: child.token.to_owned(),
                name: child.name.clone(),
                parent: component.to_owned(),
                custom: true,
                object: Some(encode(&child.inputs, |_| false)),
                // As a program's SDK does: children keep the component's protect.
                protect: request.protect,
                dependencies: dependencies.into_iter().collect(),
                provider: request.providers.get(PACKAGE).cloned().unwrap_or_default(),
                version: pgentra_core::VERSION.to_owned(),
                property_dependencies: property_dependencies.into_iter().collect(),
                accept_secrets: true,
                accept_resources: true,
                ..Default::default()
            };
            let mut client = monitor.clone();
            let name = child.name.clone();
            pending.spawn(async move {
                let answer = client.register_resource(registration).await;
                (index, name, answer)
            });
        }
        while let Some(joined) = pending.join_next().await {
            let (index, name, answer) =
                joined.map_err(|e| Status::internal(format!("{what}: {e}")))?;
            let answer = answer.map_err(|s| relabel(what, &format!("registering {name:?}"), s))?;
            urns[index] = answer.into_inner().urn;
        }
    }
    Ok(urns)
}

/// The URNs a value depends on: the program's resources behind a component input, or children.
fn resolve(
    sources: &[Source],
    request: &rpc::ConstructRequest,
    children: &[String],
) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for source in sources {
        match source {
            Source::Input(property) => {
                if let Some(deps) = request.input_dependencies.get(*property) {
                    found.extend(deps.urns.iter().cloned());
                }
            }
            Source::Child(index) => {
                if let Some(urn) = children.get(*index).filter(|u| !u.is_empty()) {
                    found.insert(urn.clone());
                }
            }
        }
    }
    found
}

/// The engine's refusal with what the component was doing, keeping its code.
fn relabel(what: &str, step: &str, status: Status) -> Status {
    Status::new(
        status.code(),
        format!("{what}: {step}: {}", status.message()),
    )
}
