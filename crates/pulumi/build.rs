//! Compiles proto/ with protox (a protobuf compiler in Rust, so no system protoc is needed)
//! and generates the tonic services and prost messages from the resulting descriptors.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "../../proto/pulumi/provider.proto",
        "../../proto/pulumi/engine.proto",
        "../../proto/pulumi/resource.proto",
        "../../proto/google/rpc/status.proto",
    ];
    for file in &files {
        println!("cargo:rerun-if-changed={file}");
    }
    println!("cargo:rerun-if-changed=../../proto");
    let descriptors = protox::compile(files, ["../../proto"])?;
    tonic_prost_build::configure()
        // prost's codec answers a request that does not decode (nested past protobuf's
        // recursion limit) with INTERNAL; ours says INVALID_ARGUMENT and names the property.
        .codec_path("crate::wire_codec::WireCodec")
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
