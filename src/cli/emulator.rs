//! `pgentra emulator`: the local Azure (ARM, Entra token service, managed-identity endpoint,
//! OIDC issuer) in the foreground, with what a stack needs to point at it.

use crate::cli::args::{self, Misuse, Request};
use crate::cli::emulator_servers::{self, Admin, ReadyServer, ServerName};
use crate::cli::stdio::{self, outln};
use pgentra_emulator::{Emulator, EmulatorOptions};
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
pgentra emulator [--server RG/NAME]... [--admin NAME|OBJECT_ID] [--database NAME]
                 [--any-version] [--ca-file FILE] [--lro-ms N] [--json]

Serves a local Azure on 127.0.0.1 until interrupted: Azure Resource Manager for PostgreSQL
flexible servers and managed identities, the Entra token service, a managed-identity endpoint
and an OIDC issuer, all over TLS with a CA generated for this run.

  --ca-file FILE  where to write the CA certificate (default: a file in the temp directory);
                  removed when the emulator stops
  --lro-ms N      how long each long-running operation takes (default 2000)
  --json          print one JSON line with the provider config and endpoints (and, under
                  `terraform`, the provider block and ARM_* environment; under `servers`, the
                  --server servers with their psql and doctor arguments), nothing else
  --server RG/NAME
                  start with this flexible server ready (repeatable): Entra authentication on,
                  password authentication off, an Entra admin and a database, made through the
                  emulator's ARM API as a stack would make them; it prints the `pgentra psql`
                  and `pgentra doctor` commands that sign in to it
  --admin NAME|OBJECT_ID
                  the servers' Entra admin: a principal of the emulator's directory, by name or
                  object id; a name it does not hold becomes a group with the deployer as member
                  (default: the deployer itself, `pgentra-deployer`)
  --database NAME the database made on each server (default myappdb)
  --any-version   accept any PostgreSQL version a server asks for (reported as asked, though the
                  PostgreSQL inside stays the backend's); without it a server is the backend's
                  major version and another one is refused, naming the backend's

Each flexible server created in it gets a PostgreSQL gateway on its fullyQualifiedDomainName
(a 127.N.1.x address, N per emulator) at port 5432, or at another port when 5432 is taken there: the address is
printed as the server appears, and listed as `pgGateway` per server by GET {ARM}/_emulator/state.
The exports it prints also sign `pgentra token`, `pgentra psql` and `pgentra doctor` in to it.
On SIGINT or SIGTERM it removes what it made: the CA file, the servers' databases in the backend
PostgreSQL, and the roles it created there (unless in use or still holding something),
--server servers' included.
Server parameters (configurations) are the backend PostgreSQL's own settings (pg_settings) plus
Azure's (azure.extensions, require_secure_transport, pgbouncer.*, ...).
For Terraform it prints the `provider \"pgentra\"` block and the azurerm-style `export ARM_*` lines.
";

/// The database --server makes on each server (the guide's).
const DEFAULT_DATABASE: &str = "myappdb";

pub struct Options {
    pub ca_file: Option<PathBuf>,
    pub lro: Duration,
    pub json: bool,
    pub servers: Vec<ServerName>,
    pub admin: Option<String>,
    pub database: String,
    pub any_version: bool,
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
    #[arg(long = "server", value_name = "RG/NAME", value_parser = ServerName::parse, action = clap::ArgAction::Append, help = "RESOURCE_GROUP/SERVER_NAME")]
    servers: Vec<ServerName>,
    #[arg(
        long,
        value_name = "NAME|OBJECT_ID",
        help = "a principal name or object id"
    )]
    admin: Option<String>,
    #[arg(long, value_name = "NAME", help = "a database name")]
    database: Option<String>,
    #[arg(long)]
    any_version: bool,
}

impl Options {
    /// The options, or a help request.
    pub fn request(args: &[String]) -> Result<Request<Self>, Misuse> {
        args::parse_args::<CommandLine>("emulator", args)?.and_then(|line| {
            if (line.admin.is_some() || line.database.is_some()) && line.servers.is_empty() {
                return Err(
                    "--admin and --database apply to --server RG/NAME servers: give one".into(),
                );
            }
            Ok(Options {
                ca_file: line.ca_file,
                lro: line.lro,
                json: line.json,
                servers: line.servers,
                admin: line.admin,
                database: line.database.unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
                any_version: line.any_version,
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
        any_server_version: options.any_version,
        ..EmulatorOptions::default()
    })
    .await
    .map_err(|e| format!("starting the emulator: {e}"))?;
    let ca_file = options.ca_file.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("pgentra-emulator-ca-{}.pem", std::process::id()))
    });
    let served = serve(&emulator, &options, &ca_file).await;
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
    served
}

/// Makes the --server servers, prints how to use it all, and serves until interrupted.
async fn serve(
    emulator: &pgentra_emulator::RunningEmulator,
    options: &Options,
    ca_file: &std::path::Path,
) -> Result<(), String> {
    let config = emulator
        .provider_config_with_ca(ca_file)
        .map_err(|e| format!("writing the CA to {}: {e}", ca_file.display()))?;
    let mut ready = Vec::new();
    let mut admin = None;
    if !options.servers.is_empty() {
        let chosen = emulator_servers::resolve_admin(emulator, options.admin.as_deref())?;
        let making = emulator_servers::make(
            emulator,
            &config,
            &options.servers,
            &chosen,
            &options.database,
        );
        // A Ctrl-C while the servers are made stops the run (and cleans up) too.
        tokio::select! {
            made = making => ready = made?,
            _ = pgentra_pulumi::serve::interrupted() => return Ok(()),
        }
        admin = Some(chosen);
    }
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
        if let Some(admin) = &admin {
            line["servers"] = ready.iter().map(|s| s.describe(admin)).collect();
        }
        outln!("{line}");
    } else {
        print_instructions(emulator, &config);
        if let Some(admin) = &admin {
            print_ready_servers(&ready, admin, &config);
        }
    }
    let known = ready
        .iter()
        .map(|s| {
            (
                format!("{}/{}", s.server.resource_group, s.server.name),
                s.addr,
            )
        })
        .collect();
    tokio::select! {
        _ = pgentra_pulumi::serve::interrupted() => {}
        _ = announce_gateways(emulator, known), if !options.json => {}
    }
    Ok(())
}

/// What --server made, and the exact commands (with their environment) that sign in to it.
fn print_ready_servers(
    ready: &[ReadyServer],
    admin: &Admin,
    config: &std::collections::BTreeMap<String, String>,
) {
    for server in ready {
        outln!(
            "\nserver {}/{}: ready, PostgreSQL {}, Microsoft Entra authentication on, password \
             authentication off\n  PostgreSQL   {} (host {}, port {})\n  Entra admin  {} \
             ({}, object id {}): {}\n  database     {}",
            server.server.resource_group,
            server.server.name,
            server.version,
            server.addr,
            server.fqdn,
            server.addr.port(),
            admin.name,
            admin.principal_type,
            admin.object_id,
            admin.about,
            server.database,
        );
    }
    outln!("\nTry it, in another shell:\n");
    for (key, var) in ENVIRONMENT {
        if let Some(value) = config.get(key) {
            outln!("  export {var}={}", shell_quote(value));
        }
    }
    for server in ready {
        let words = |args: Vec<String>| {
            args.iter()
                .map(|a| shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        };
        outln!(
            "  pgentra {} -- -c 'select current_user'",
            words(server.psql_args(admin))
        );
        outln!("  pgentra {}", words(server.doctor_args(admin)));
    }
}

/// The environment that signs `pgentra token`, `psql` and `doctor` in to the emulator.
const ENVIRONMENT: [(&str, &str); 7] = [
    ("subscriptionId", "AZURE_SUBSCRIPTION_ID"),
    ("tenantId", "AZURE_TENANT_ID"),
    ("clientId", "AZURE_CLIENT_ID"),
    ("clientSecret", "AZURE_CLIENT_SECRET"),
    ("armEndpoint", "PGENTRA_ARM_ENDPOINT"),
    ("authorityHost", "AZURE_AUTHORITY_HOST"),
    ("caCertFile", "PGENTRA_CA_CERT_FILE"),
];

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
    for (key, var) in ENVIRONMENT {
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
async fn announce_gateways(
    emulator: &pgentra_emulator::RunningEmulator,
    mut known: std::collections::BTreeMap<String, std::net::SocketAddr>,
) {
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
