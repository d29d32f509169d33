//! Cold start (spawn -> port printed) and peak RSS after GetSchema of the provider plugin.
//! `cargo bench --bench startup` builds the plugin in the release profile and reports medians.
//! Targets: cold start under 20 ms, peak RSS under 25 MB.

#[path = "support/binaries.rs"]
mod support;

use pgentra::proto::pulumirpc::{
    resource_provider_client::ResourceProviderClient, GetSchemaRequest, ProviderHandshakeRequest,
};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 40;

fn main() {
    let plugin_path = support::release_binary("pgentra-pulumi", "pulumi-resource-pgentra");
    let plugin = plugin_path.to_str().expect("a UTF-8 target path");
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
        "cold start to port printed: median {:.2} ms, p10 {:.2} ms, p90 {:.2} ms, max {:.2} ms ({RUNS} runs; target < 20 ms)",
        ms(starts[RUNS / 2]),
        ms(starts[RUNS / 10]),
        ms(starts[RUNS * 9 / 10]),
        ms(starts[RUNS - 1])
    );
    println!(
        "peak RSS after Handshake + GetSchema: median {:.1} MB, max {:.1} MB (target < 25 MB)",
        peaks[RUNS / 2] as f64 / 1024.0,
        peaks[RUNS - 1] as f64 / 1024.0
    );
}

async fn one_run(plugin: &str) -> (Duration, u64) {
    let began = Instant::now();
    // An engine address that is never dialled: log lines are only sent when there are some.
    let mut child = Command::new(plugin)
        .arg("127.0.0.1:9")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the plugin");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the port");
    let start = began.elapsed();
    let port: u16 = line.trim().parse().expect("the plugin prints its port");
    let mut client = ResourceProviderClient::connect(format!("http://127.0.0.1:{port}"))
        .await
        .expect("connect")
        .max_decoding_message_size(64 << 20);
    client
        .handshake(ProviderHandshakeRequest::default())
        .await
        .expect("handshake");
    let schema = client
        .get_schema(GetSchemaRequest::default())
        .await
        .expect("schema")
        .into_inner()
        .schema;
    assert!(
        schema.contains("\"pgentra:index:"),
        "GetSchema returned no resources"
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
