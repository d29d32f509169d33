//! What both plugins' startup benches share: repeated cold starts, medians, peak RSS.

use std::time::Duration;

/// Cold starts per bench run.
pub const RUNS: usize = 40;

/// Runs `one_run` (a cold start returning its time to the first line and the peak RSS in kB)
/// RUNS times and prints the medians against the targets (start < 20 ms, RSS < 25 MB).
pub fn run_and_report(
    plugin: &str,
    start_label: &str,
    rss_label: &str,
    mut one_run: impl FnMut() -> (Duration, u64),
) {
    let mut starts = Vec::with_capacity(RUNS);
    let mut peaks = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let (start, peak_kb) = one_run();
        starts.push(start);
        peaks.push(peak_kb);
    }
    starts.sort();
    peaks.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("plugin: {plugin}");
    println!(
        "{start_label}: median {:.2} ms, p10 {:.2} ms, p90 {:.2} ms, max {:.2} ms ({RUNS} runs; target < 20 ms)",
        ms(starts[RUNS / 2]),
        ms(starts[RUNS / 10]),
        ms(starts[RUNS * 9 / 10]),
        ms(starts[RUNS - 1])
    );
    println!(
        "{rss_label}: median {:.1} MB, max {:.1} MB (target < 25 MB)",
        peaks[RUNS / 2] as f64 / 1024.0,
        peaks[RUNS - 1] as f64 / 1024.0
    );
}

/// The process's peak resident set (VmHWM), in kB.
pub fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status")
}
