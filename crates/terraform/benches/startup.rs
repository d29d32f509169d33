//! Cold start (spawn -> handshake line) and peak RSS after GetProviderSchema of
//! terraform-provider-pgentra, started as Terraform starts it (magic cookie, protocols 5 and 6,
//! no client certificate, so plaintext). `cargo bench -p pgentra-terraform --bench startup`.
//! Targets: start under 20 ms, peak RSS under 25 MB (as for the Pulumi plugin).

use pgentra_terraform::handshake::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use pgentra_terraform::proto::tfplugin6::get_provider_schema;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 40;

fn main() {
    let plugin = env!("CARGO_BIN_EXE_terraform-provider-pgentra");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut starts = Vec::with_capacity(RUNS);
    let mut peaks = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let (start, peak_kb) = runtime.block_on(one_run(plugin));
        starts.push(start);
        peaks.push(peak_kb);
    }
    starts.sort();
    peaks.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("plugin: {plugin}");
    println!(
        "cold start to handshake line: median {:.2} ms, p10 {:.2} ms, p90 {:.2} ms, max {:.2} ms ({RUNS} runs; target < 20 ms)",
        ms(starts[RUNS / 2]),
        ms(starts[RUNS / 10]),
        ms(starts[RUNS * 9 / 10]),
        ms(starts[RUNS - 1])
    );
    println!(
        "peak RSS after GetProviderSchema: median {:.1} MB, max {:.1} MB (target < 25 MB)",
        peaks[RUNS / 2] as f64 / 1024.0,
        peaks[RUNS - 1] as f64 / 1024.0
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
    let peak = peak_rss_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    (start, peak)
}

fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status")
}
