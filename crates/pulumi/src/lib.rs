//! The Pulumi adapter: the gRPC service the engine drives, the value codec, start-up, and
//! what only Pulumi has (the package schema, auto-naming, the SDK generators).

pub mod proto {
    pub mod pulumirpc {
        tonic::include_proto!("pulumirpc");
    }
    pub mod google_rpc {
        tonic::include_proto!("google.rpc");
    }
}

pub mod autoname;
pub mod codec;
pub mod construct;
pub mod docs;
pub mod engine_log;
pub mod example_code;
pub mod logging;
pub mod schema;
pub mod sdkgen;
pub mod serve;
pub mod service;
pub mod stack_config;
pub mod status;
pub mod wire_codec;
