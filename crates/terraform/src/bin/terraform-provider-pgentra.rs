//! Provisional `terraform-provider-pgentra`: a skeleton provider (empty provider block, no
//! resources) that proves the wire with a real Terraform. It will be replaced by the wiring to
//! pgentra's resource core.

use std::collections::HashMap;
use std::process::ExitCode;

use pgentra_terraform::proto::tfplugin6::provider_server::Provider;
use pgentra_terraform::proto::tfplugin6::{
    apply_resource_change, configure_provider, get_metadata, get_provider_schema,
    get_resource_identity_schemas, import_resource_state, plan_resource_change, read_data_source,
    read_resource, schema, stop_provider, upgrade_resource_state, validate_data_resource_config,
    validate_provider_config, validate_resource_config, Schema, ServerCapabilities,
};
use pgentra_terraform::serve::{init_stderr_logging, serve};
use tonic::{Request, Response, Status};

struct SkeletonProvider;

fn not_yet(rpc: &str) -> Status {
    Status::unimplemented(format!(
        "{rpc}: this provisional pgentra provider has no resources yet"
    ))
}

#[tonic::async_trait]
impl Provider for SkeletonProvider {
    async fn get_metadata(
        &self,
        _request: Request<get_metadata::Request>,
    ) -> Result<Response<get_metadata::Response>, Status> {
        Ok(Response::new(get_metadata::Response {
            server_capabilities: Some(ServerCapabilities::default()),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _request: Request<get_provider_schema::Request>,
    ) -> Result<Response<get_provider_schema::Response>, Status> {
        // Terraform refuses a provider without a provider schema; an empty block is enough.
        let empty_block = Schema {
            version: 0,
            block: Some(schema::Block::default()),
        };
        Ok(Response::new(get_provider_schema::Response {
            provider: Some(empty_block),
            resource_schemas: HashMap::new(),
            data_source_schemas: HashMap::new(),
            diagnostics: Vec::new(),
            provider_meta: None,
            server_capabilities: Some(ServerCapabilities::default()),
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _request: Request<get_resource_identity_schemas::Request>,
    ) -> Result<Response<get_resource_identity_schemas::Response>, Status> {
        Ok(Response::new(
            get_resource_identity_schemas::Response::default(),
        ))
    }

    async fn validate_provider_config(
        &self,
        _request: Request<validate_provider_config::Request>,
    ) -> Result<Response<validate_provider_config::Response>, Status> {
        Ok(Response::new(validate_provider_config::Response::default()))
    }

    async fn validate_resource_config(
        &self,
        _request: Request<validate_resource_config::Request>,
    ) -> Result<Response<validate_resource_config::Response>, Status> {
        Ok(Response::new(validate_resource_config::Response::default()))
    }

    async fn validate_data_resource_config(
        &self,
        _request: Request<validate_data_resource_config::Request>,
    ) -> Result<Response<validate_data_resource_config::Response>, Status> {
        Ok(Response::new(
            validate_data_resource_config::Response::default(),
        ))
    }

    async fn upgrade_resource_state(
        &self,
        _request: Request<upgrade_resource_state::Request>,
    ) -> Result<Response<upgrade_resource_state::Response>, Status> {
        Err(not_yet("UpgradeResourceState"))
    }

    async fn configure_provider(
        &self,
        _request: Request<configure_provider::Request>,
    ) -> Result<Response<configure_provider::Response>, Status> {
        Ok(Response::new(configure_provider::Response::default()))
    }

    async fn read_resource(
        &self,
        _request: Request<read_resource::Request>,
    ) -> Result<Response<read_resource::Response>, Status> {
        Err(not_yet("ReadResource"))
    }

    async fn plan_resource_change(
        &self,
        _request: Request<plan_resource_change::Request>,
    ) -> Result<Response<plan_resource_change::Response>, Status> {
        Err(not_yet("PlanResourceChange"))
    }

    async fn apply_resource_change(
        &self,
        _request: Request<apply_resource_change::Request>,
    ) -> Result<Response<apply_resource_change::Response>, Status> {
        Err(not_yet("ApplyResourceChange"))
    }

    async fn import_resource_state(
        &self,
        _request: Request<import_resource_state::Request>,
    ) -> Result<Response<import_resource_state::Response>, Status> {
        Err(not_yet("ImportResourceState"))
    }

    async fn read_data_source(
        &self,
        _request: Request<read_data_source::Request>,
    ) -> Result<Response<read_data_source::Response>, Status> {
        Err(not_yet("ReadDataSource"))
    }

    async fn stop_provider(
        &self,
        _request: Request<stop_provider::Request>,
    ) -> Result<Response<stop_provider::Response>, Status> {
        Ok(Response::new(stop_provider::Response::default()))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    init_stderr_logging();
    match serve(SkeletonProvider).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
