//! `pgentra emulator`: the local Azure (ARM, Entra token service, managed-identity endpoint,
//! OIDC issuer) in the foreground, with what a stack needs to point at it.

use pgentra_emulator::{Emulator, EmulatorOptions};
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
pgentra emulator [--ca-file FILE] [--lro-ms N] [--json]

Serves a local Azure on 127.0.0.1 until interrupted: Azure Resource Manager for PostgreSQL
flexible servers and managed identities, the Entra token service, a managed-identity endpoint
and an OIDC issuer, all over TLS with a CA generated for this run.

  --ca-file FILE  where to write the CA certificate (default: a file in the temp directory)
  --lro-ms N      how long each long-running operation takes (default 2000)
  --json          print one JSON line with the provider config and endpoints, nothing else
";

pub struct Options {
    pub ca_file: Option<PathBuf>,
    pub lro: Duration,
    pub json: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Options {
            ca_file: None,
            lro: Duration::from_millis(2000),
            json: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--ca-file" => {
                    options.ca_file = Some(args.next().ok_or("--ca-file needs a file")?.into())
                }
                "--lro-ms" => {
                    let ms = args.next().ok_or("--lro-ms needs a number")?;
                    options.lro = Duration::from_millis(
                        ms.parse()
                            .map_err(|_| format!("--lro-ms takes milliseconds, not {ms:?}"))?,
                    );
                }
                "--json" => options.json = true,
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        Ok(options)
    }
}

pub async fn run(options: Options) -> Result<(), String> {
    let emulator = Emulator::start(EmulatorOptions {
        lro_duration: options.lro,
        ..EmulatorOptions::default()
    })
    .await
    .map_err(|e| format!("starting the emulator: {e}"))?;
    let ca_file = options.ca_file.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("pgentra-emulator-ca-{}.pem", std::process::id()))
    });
    let config = emulator
        .provider_config_with_ca(&ca_file)
        .map_err(|e| format!("writing the CA to {}: {e}", ca_file.display()))?;
    if options.json {
        let mut line = emulator.describe();
        line["caCertFile"] = ca_file.display().to_string().into();
        line["providerConfig"] = serde_json::to_value(&config).unwrap_or_default();
        println!("{line}");
    } else {
        print_instructions(&emulator, &config);
    }
    wait_for_interrupt().await;
    emulator.shutdown();
    Ok(())
}

fn print_instructions(
    emulator: &pgentra_emulator::RunningEmulator,
    config: &std::collections::BTreeMap<String, String>,
) {
    println!("pgentra emulator is running (Ctrl-C stops it).\n");
    println!("  ARM               {}", emulator.arm_url());
    println!("  Entra authority   {}", emulator.authority_url());
    println!("  identity endpoint {}", emulator.msi_endpoint());
    println!("  OIDC issuer       {}", emulator.oidc_issuer_url());
    println!("\nPoint a stack at it (the client secret belongs to the emulator's deployer, not to Azure):\n");
    for (key, value) in config {
        let secret = if key == "clientSecret" {
            "--secret "
        } else {
            ""
        };
        println!("  pulumi config set {secret}pgentra:{key} {value}");
    }
    println!("\nor, for the environment:\n");
    let env = [
        ("subscriptionId", "AZURE_SUBSCRIPTION_ID"),
        ("tenantId", "AZURE_TENANT_ID"),
        ("clientId", "AZURE_CLIENT_ID"),
        ("clientSecret", "AZURE_CLIENT_SECRET"),
        ("armEndpoint", "PGENTRA_ARM_ENDPOINT"),
        ("authorityHost", "AZURE_AUTHORITY_HOST"),
        ("caCertFile", "PGENTRA_CA_CERT_FILE"),
    ];
    for (key, var) in env {
        if let Some(value) = config.get(key) {
            println!("  export {var}={value}");
        }
    }
}

async fn wait_for_interrupt() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
}
