//! What every bench shares besides the plugin binaries: its knobs from the environment, the
//! PostgreSQL it needs, and the result lines benches/run collects into one table.

// Each bench includes this file and uses the part it needs.
#![allow(dead_code)]

/// `name` from the environment as a number, else `default`.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}")),
        Err(_) => default,
    }
}

/// Stops the bench, saying how to start one, when no PostgreSQL answers on 127.0.0.1:5432.
pub fn require_postgres() {
    if std::net::TcpStream::connect("127.0.0.1:5432").is_err() {
        panic!("PostgreSQL does not answer on 127.0.0.1:5432: start it (pg_ctlcluster 15 main start) or run scripts/test");
    }
}

/// One machine-readable result line (`met`: None where there is no target).
pub fn bench_row(name: &str, what: &str, measured: &str, target: &str, met: Option<bool>) {
    let row = serde_json::json!({
        "name": name, "what": what, "measured": measured, "target": target, "met": met,
    });
    println!("pgentra-bench-row {row}");
}
