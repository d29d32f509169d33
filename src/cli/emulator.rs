//! `pgentra emulator`: the local Azure (ARM, Entra token service, managed-identity endpoint,
//! OIDC issuer) in the foreground, with what a stack needs to point at it.

use crate::cli::args::{self, Misuse, Request};
use crate::cli::stdio::{self, outln};
use pgentra_emulator::{Emulator, EmulatorOptions};
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
pgentra emulator [--ca-file FILE] [--lro-ms N] [--json]

Serves a local Azure on 127.0.0.1 until interrupted: Azure Resource Manager for PostgreSQL
flexible servers and managed identities, the Entra token service, a managed-identity endpoint
and an OIDC issuer, all over TLS with a CA generated for this run.

  --ca-file FILE  where to write the CA certificate (default: a file in the temp directory);
                  removed when the emulator stops
  --lro-ms N      how long each long-running operation takes (default 2000)
  --json          print one JSON line with the provider config and endpoints (and, under
                  `terraform`, the provider block and ARM_* environment), nothing else

Each flexible server created in it gets a PostgreSQL gateway on its fullyQualifiedDomainName
(a 127.N.1.x address, N per emulator) at port 5432, or at another port when 5432 is taken there: the address is
printed as the server appears, and listed as `pgGateway` per server by GET {ARM}/_emulator/state.
The exports it prints also sign `pgentra token`, `pgentra psql` and `pgentra doctor` in to it.
On SIGINT or SIGTERM it removes what it made: the CA file, the servers' databases in the backend
PostgreSQL, and the roles it created there (unless in use or still holding something).
For Terraform it prints the `provider \"pgentra\"` block and the azurerm-style `export ARM_*` lines.
";

pub struct Options {
    pub ca_file: Option<PathBuf>,
    pub lro: Duration,
    pub json: bool,
}

/// `pgentra emulator`'s command line, as typed.
#[derive(clap::Parser)]
#[command(disable_version_flag = true, args_override_self = true)]
struct CommandLine {
    #[arg(long, value_name = "FILE", help = "a file")]
    ca_file: Option<PathBuf>,
    #[arg(long = "lro-ms", value_name = "N", value_parser = args::milliseconds, default_value = "2000", help = "a number")]
    lro: Duration,
    #[arg(long)]
    json: bool,
}

impl Options {
    /// The options, or a help request.
    pub fn request(args: &[String]) -> Result<Request<Self>, Misuse> {
        args::parse_args::<CommandLine>("emulator", args)?.and_then(|line| {
            Ok(Options {
                ca_file: line.ca_file,
                lro: line.lro,
                json: line.json,
            })
        })
    }

    pub fn parse(args: &[String]) -> Result<Self, String> {
        Self::request(args)?.into_run()
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
        line["terraform"] = serde_json::json!({
            "providerBlock": terraform_provider_block(&config),
            "environment": terraform_environment(&config)
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
        });
        outln!("{line}");
    } else {
        print_instructions(&emulator, &config);
    }
    tokio::select! {
        _ = pgentra_pulumi::serve::interrupted() => {}
        _ = announce_gateways(&emulator), if !options.json => {}
    }
    // Nothing outlives the run: its databases and the roles it made in the backend, and the CA
    // file (a new CA is made each run, so the file could only mislead).
    emulator.clean_up_backend().await;
    emulator.shutdown();
    if let Err(e) = std::fs::remove_file(&ca_file) {
        if e.kind() != std::io::ErrorKind::NotFound {
            stdio::eprintln(&format!(
                "pgentra emulator: removing the CA file {}: {e}",
                ca_file.display()
            ));
        }
    }
    Ok(())
}

fn print_instructions(
    emulator: &pgentra_emulator::RunningEmulator,
    config: &std::collections::BTreeMap<String, String>,
) {
    outln!("pgentra emulator is running (Ctrl-C stops it).\n");
    outln!("  ARM               {}", emulator.arm_url());
    outln!("  Entra authority   {}", emulator.authority_url());
    outln!("  identity endpoint {}", emulator.msi_endpoint());
    outln!("  OIDC issuer       {}", emulator.oidc_issuer_url());
    outln!("\nPoint a stack at it (the client secret belongs to the emulator's deployer, not to Azure):\n");
    for (key, value) in config {
        let secret = if key == "clientSecret" {
            "--secret "
        } else {
            ""
        };
        outln!(
            "  pulumi config set {secret}pgentra:{key} {}",
            shell_quote(value)
        );
    }
    outln!("\nor, for the environment:\n");
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
            outln!("  export {var}={}", shell_quote(value));
        }
    }
    outln!(
        "\nFor Terraform (terraform-provider-pgentra), either this provider block (the client secret \
         from ARM_CLIENT_SECRET)\n"
    );
    for line in terraform_provider_block(config).lines() {
        outln!("  {line}");
    }
    outln!("\nor `provider \"pgentra\" {{}}` and the environment, azurerm's ARM_* names:\n");
    for (var, value) in terraform_environment(config) {
        outln!("  export {var}={}", shell_quote(&value));
    }
    outln!(
        "\nThe exports also sign in `pgentra token`, `pgentra psql` and `pgentra doctor`. Each server's \
         PostgreSQL address is printed below as the server is created."
    );
}

/// Terraform's environment for the emulator: azurerm's `ARM_*` names for the credentials and
/// subscription, and pgentra's own names for the overrides azurerm has no variable for.
fn terraform_environment(
    config: &std::collections::BTreeMap<String, String>,
) -> Vec<(&'static str, String)> {
    [
        ("subscriptionId", "ARM_SUBSCRIPTION_ID"),
        ("tenantId", "ARM_TENANT_ID"),
        ("clientId", "ARM_CLIENT_ID"),
        ("clientSecret", "ARM_CLIENT_SECRET"),
        ("armEndpoint", "PGENTRA_ARM_ENDPOINT"),
        ("authorityHost", "AZURE_AUTHORITY_HOST"),
        ("caCertFile", "PGENTRA_CA_CERT_FILE"),
    ]
    .into_iter()
    .filter_map(|(key, var)| config.get(key).map(|value| (var, value.clone())))
    .collect()
}

/// The `provider "pgentra"` block pointing Terraform at the emulator. The client secret stays out
/// of it (a .tf file is committed; the secret comes from ARM_CLIENT_SECRET).
fn terraform_provider_block(config: &std::collections::BTreeMap<String, String>) -> String {
    let mut block = String::from("provider \"pgentra\" {\n");
    for (key, attribute) in [
        ("subscriptionId", "subscription_id"),
        ("tenantId", "tenant_id"),
        ("clientId", "client_id"),
        ("armEndpoint", "arm_endpoint"),
        ("authorityHost", "authority_host"),
        ("caCertFile", "ca_cert_file"),
    ] {
        if let Some(value) = config.get(key) {
            block.push_str(&format!("  {attribute:<15} = {}\n", hcl_string(value)));
        }
    }
    block.push('}');
    block
}

/// `value` as an HCL string literal (quotes, backslashes and newlines escaped; `${` and `%{`
/// doubled so they are not template sequences).
fn hcl_string(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace("${", "$${")
        .replace("%{", "%%{");
    format!("\"{escaped}\"")
}

/// Prints each server's PostgreSQL gateway as it starts (and when it stops): where psql and a
/// stack's `connection` reach the server. Never returns.
async fn announce_gateways(emulator: &pgentra_emulator::RunningEmulator) {
    let mut known: std::collections::BTreeMap<String, std::net::SocketAddr> = Default::default();
    loop {
        let now: std::collections::BTreeMap<String, std::net::SocketAddr> = emulator
            .pg_gateways()
            .into_iter()
            .map(|g| (format!("{}/{}", g.resource_group, g.server), g.addr))
            .collect();
        for (server, addr) in &now {
            if known.get(server) != Some(addr) {
                outln!(
                    "\nserver {server}: PostgreSQL at {addr} (a Connection's host {}, port {})\n  \
                     pgentra psql {addr} postgres    pgentra doctor {server} --port {}",
                    addr.ip(),
                    addr.port(),
                    addr.port(),
                );
            }
        }
        for server in known.keys().filter(|s| !now.contains_key(*s)) {
            outln!("\nserver {server}: deleted, its PostgreSQL gateway stopped");
        }
        known = now;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// `value` as one POSIX shell word (quoted only when it needs to be).
fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}
