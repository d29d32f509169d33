//! Compiles proto/tfplugin6 with protox (a protobuf compiler in Rust, so no system protoc is
//! needed) and generates the tonic services and prost messages from the resulting descriptors.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/tfplugin6/tfplugin6.proto",
        "proto/tfplugin6/plugin.proto",
        "proto/tfplugin6/health.proto",
    ];
    for file in &files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto/tfplugin6"])?;
    tonic_prost_build::configure()
        .build_server(true)
        // The client is Terraform; no Rust client stubs needed.
        .build_client(false)
        .compile_fds(descriptors)?;
    Ok(())
}
