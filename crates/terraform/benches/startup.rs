//! Cold start (spawn -> handshake line) and peak RSS after GetProviderSchema of
//! terraform-provider-pgentra, started as Terraform starts it (magic cookie, protocols 5 and 6,
//! no client certificate, so plaintext). `cargo bench -p pgentra-terraform --bench startup`.
//! Targets: start under 20 ms, peak RSS under 25 MB (as for the Pulumi plugin).

use pgentra_terraform::handshake::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use pgentra_terraform::proto::tfplugin6::get_provider_schema;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../../../benches/support/startup_runs.rs"]
mod startup_runs;

fn main() {
    let plugin = env!("CARGO_BIN_EXE_terraform-provider-pgentra");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    startup_runs::run_and_report(
        plugin,
        "cold start to handshake line",
        "peak RSS after GetProviderSchema",
        || runtime.block_on(one_run(plugin)),
    );
}

async fn one_run(plugin: &str) -> (Duration, u64) {
    let began = Instant::now();
    let mut child = Command::new(plugin)
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env_remove("PLUGIN_CLIENT_CERT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the provider");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the handshake line");
    let start = began.elapsed();
    // 1|6|tcp|127.0.0.1:PORT|grpc|
    let address = line
        .split('|')
        .nth(3)
        .expect("the handshake names an address");
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .expect("an address")
        .connect()
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(64 << 20);
    grpc.ready().await.expect("ready");
    let response: tonic::Response<get_provider_schema::Response> = grpc
        .unary(
            tonic::Request::new(get_provider_schema::Request {}),
            "/tfplugin6.Provider/GetProviderSchema"
                .parse()
                .expect("a method path"),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .expect("GetProviderSchema");
    assert!(
        response
            .get_ref()
            .resource_schemas
            .contains_key("pgentra_grant"),
        "GetProviderSchema returned no resources"
    );
    let peak = startup_runs::peak_rss_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    (start, peak)
}
