//! Diagnostics go to stderr through tracing (stdout belongs to the port announcement).
//! The level comes from PGENTRA_LOG, else from the engine's -v=N.

use tracing_subscriber::EnvFilter;

pub fn init(verbosity: Option<u32>) {
    let default = match verbosity.unwrap_or(0) {
        0 => "warn",
        1..=4 => "info",
        5..=8 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("PGENTRA_LOG").unwrap_or_else(|_| {
        // Every pgentra crate's target: the core, each adapter, the binaries.
        EnvFilter::new(
            [
                "pgentra",
                "pgentra_core",
                "pgentra_pulumi",
                "pgentra_terraform",
                "pulumi_resource_pgentra",
                "terraform_provider_pgentra",
            ]
            .map(|target| format!("{target}={default}"))
            .join(","),
        )
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
