//! Generated prost messages and tonic services (see build.rs and proto/tfplugin6).

/// tfplugin6: the Terraform provider protocol (package `tfplugin6`).
#[allow(clippy::all)]
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

/// go-plugin's controller and stdio services (package `plugin`).
#[allow(clippy::all)]
pub mod plugin {
    tonic::include_proto!("plugin");
}

/// The gRPC health service, reduced to `Check` (package `grpc.health.v1`).
#[allow(clippy::all)]
pub mod health {
    tonic::include_proto!("grpc.health.v1");
}
