//! Cold start (spawn -> port printed) and peak RSS after GetSchema of the provider plugin.
//! `cargo bench --bench startup` builds the plugin in the release profile and reports medians.
//! Targets: cold start under 20 ms, peak RSS under 25 MB.

#[path = "support/report.rs"]
mod report;
#[path = "support/binaries.rs"]
mod support;

use pgentra::proto::pulumirpc::{
    resource_provider_client::ResourceProviderClient, GetSchemaRequest, ProviderHandshakeRequest,
};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/startup_runs.rs"]
mod startup_runs;

fn main() {
    let plugin_path = support::release_binary("pgentra-pulumi", "pulumi-resource-pgentra");
    let plugin = plugin_path.to_str().expect("a UTF-8 target path");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut runs = Vec::with_capacity(startup_runs::RUNS);
    startup_runs::run_and_report(
        plugin,
        "cold start to port printed",
        "peak RSS after Handshake + GetSchema",
        || {
            let run = runtime.block_on(one_run(plugin));
            runs.push(run);
            run
        },
    );
    print_rows(&mut runs);
}

/// The medians again, as the `pgentra-bench-row` lines benches/run collects.
fn print_rows(runs: &mut [(Duration, u64)]) {
    let median_start = {
        runs.sort_by_key(|r| r.0);
        runs[runs.len() / 2].0.as_secs_f64() * 1000.0
    };
    let median_rss = {
        runs.sort_by_key(|r| r.1);
        runs[runs.len() / 2].1 as f64 / 1024.0
    };
    let count = runs.len();
    report::bench_row(
        "startup.cold_start",
        &format!("pulumi-resource-pgentra: spawn to port printed, median of {count}"),
        &format!("{median_start:.2} ms"),
        "< 20 ms",
        Some(median_start < 20.0),
    );
    report::bench_row(
        "startup.peak_rss",
        &format!(
            "pulumi-resource-pgentra: peak RSS after Handshake + GetSchema, median of {count}"
        ),
        &format!("{median_rss:.1} MB"),
        "< 25 MB",
        Some(median_rss < 25.0),
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
    let peak = startup_runs::peak_rss_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    (start, peak)
}
