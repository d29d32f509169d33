pub mod proto {
    pub mod pulumirpc {
        tonic::include_proto!("pulumirpc");
    }
    pub mod google_rpc {
        tonic::include_proto!("google.rpc");
    }
}
pub mod azure;
pub mod cli;
pub mod config;
pub mod logging;
pub mod props;
pub mod pulumi;
pub mod resource;
pub mod resources;
pub mod rules;
pub mod schema;
pub mod sdkgen;
pub mod spec;
pub mod sql;
