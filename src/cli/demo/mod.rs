//! `pgentra demo`: the whole passwordless chain on this machine, in one command. A local Azure
//! (the emulator, in this process) in front of a real PostgreSQL; the seed's stack deployed
//! through the provider plugin as a separate process over gRPC, as the Pulumi engine drives it:
//! preview, create, a change, drift and refresh, restore, then the proof (the app signs in with
//! its managed identity's token and uses its table; a password is refused), then destroy.

pub mod deploy;
pub mod engine;
pub mod postgres;
pub mod proof;
pub mod render;
pub mod stack;

use crate::cli::args::{self, Misuse, Request};
use crate::cli::stdio::errln;
use async_trait::async_trait;
use deploy::{AfterCreate, Deployment};
use pgentra_core::azure::ids::{FirewallRuleId, FlexibleServerId};
use pgentra_core::azure::Azure;
use pgentra_core::config::ProviderConfig;
use pgentra_core::props::Props;
use pgentra_emulator::{Emulator, EmulatorOptions, RunningEmulator};
use render::say;
use stack::Declared;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const USAGE: &str = "\
pgentra demo [--lro-ms N] [--private-postgres] [--keep]

Shows the whole passwordless chain working on this machine, in about half a minute:

  1. starts a local Azure (the pgentra emulator: ARM, Entra, managed identity, and a token-
     checking PostgreSQL gateway per server) in front of the local PostgreSQL on 127.0.0.1:5432,
     or, when none answers, a private PostgreSQL started from the installed server binaries
     (/usr/lib/postgresql/*/bin) in a temporary folder and removed at the end (with none
     installed, it stops and says so: apt-get install -y postgresql);
  2. runs the stack of the passwordless-PostgreSQL guide (flexible server with Entra auth on and
     password auth off, Entra admin, managed identity with an AKS federated credential, database,
     firewall rule, server parameter, Entra principals, grants and default privileges) through
     the provider plugin (pulumi-resource-pgentra, beside this program) as the Pulumi engine
     drives it over gRPC: preview, create, a change, drift made outside and a refresh, an update
     that restores it;
  3. proves the point: the app's managed identity takes a token from the identity endpoint,
     signs in through TLS (verify-full) and reads and writes its table; a password is refused;
  4. destroys the stack.

No Azure account, Pulumi CLI or network is needed; nothing leaves 127.0.0.0/8. Tokens and
secrets are used but never printed.

  --lro-ms N          how long each Azure long-running operation takes (default 300)
  --private-postgres  start a private PostgreSQL even when one answers on 127.0.0.1:5432
  --keep              before destroying, leave everything running until Ctrl-C (to look around)

Exit status: 0 when every step and the proof succeeded; 1 with the step that failed and why.
";

/// Command-line options.
#[derive(Debug, Clone)]
pub struct Options {
    pub lro: Duration,
    pub private_postgres: bool,
    pub keep: bool,
}

/// `pgentra demo`'s command line, as typed.
#[derive(clap::Parser)]
#[command(disable_version_flag = true, args_override_self = true)]
struct CommandLine {
    #[arg(long = "lro-ms", value_name = "N", value_parser = args::milliseconds, default_value = "300", help = "a number of milliseconds")]
    lro: Duration,
    #[arg(long)]
    private_postgres: bool,
    #[arg(long)]
    keep: bool,
}

impl Options {
    /// The options, or a help request.
    pub fn request(args: &[String]) -> Result<Request<Self>, Misuse> {
        args::parse_args::<CommandLine>("demo", args)?.and_then(|line| {
            Ok(Options {
                lro: line.lro,
                private_postgres: line.private_postgres,
                keep: line.keep,
            })
        })
    }

    pub fn parse(args: &[String]) -> Result<Self, String> {
        Self::request(args)?.into_run()
    }
}

/// Runs the demo: PostgreSQL first (before any thread exists, since the emulator reads its
/// backend from the environment), then the async part.
pub fn main(args: &[String]) -> ExitCode {
    let options = match args::options_or_exit("demo", USAGE, Options::request(args)) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    let started = Instant::now();
    // Before starting anything: the plugin the demo drives must be there.
    if let Err(error) = engine::plugin_path() {
        errln!("pgentra demo: {error}");
        return ExitCode::FAILURE;
    }
    say("pgentra demo: passwordless Azure PostgreSQL (Microsoft Entra ID end to end), on this machine");
    say("\n== Setup");
    let mut backend = match postgres::find_or_start(options.private_postgres) {
        Ok(backend) => backend,
        Err(error) => {
            errln!("pgentra demo: PostgreSQL: {error}");
            return ExitCode::FAILURE;
        }
    };
    say(format!("  PostgreSQL      {}", backend.describe()));
    std::env::set_var("PGENTRA_PG_BACKEND", &backend.addr);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            errln!("pgentra demo: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        tokio::select! {
            result = run(&options) => result,
            _ = tokio::signal::ctrl_c(), if !options.keep => {
                let _ = std::fs::remove_dir_all(work_dir());
                Err(INTERRUPTED.to_owned())
            }
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    if let Some(cluster) = backend.private.as_mut() {
        cluster.stop();
        say(format!(
            "  PostgreSQL      the private server on {} is stopped and removed",
            backend.addr
        ));
    }
    match result {
        Ok(()) => {
            say(format!(
                "\npgentra demo: done in {}: every step and the proof succeeded.",
                render::elapsed(started.elapsed())
            ));
            ExitCode::SUCCESS
        }
        Err(error) => {
            errln!("\npgentra demo: FAILED: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The steps, numbered for the headers.
const STEPS: usize = 7;

/// Everything the steps share.
struct Demo {
    emulator: Arc<RunningEmulator>,
    azure: Arc<Azure>,
    names: stack::Names,
    program: Vec<Declared>,
    work_dir: PathBuf,
    ca_file: PathBuf,
}

const INTERRUPTED: &str = "interrupted (Ctrl-C): the plugin and the emulator are stopped; \
                           roles the stack made in PostgreSQL may remain";

/// This run's folder: the emulator's CA, the plugin's log.
fn work_dir() -> PathBuf {
    std::env::temp_dir().join(format!("pgentra-demo-{}", std::process::id()))
}

async fn run(options: &Options) -> Result<(), String> {
    let work_dir = work_dir();
    std::fs::create_dir_all(&work_dir)
        .map_err(|e| format!("creating {}: {e}", work_dir.display()))?;
    let result = run_in(options, &work_dir).await;
    // After a failure the folder stays: it holds the provider's log the error points to.
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    result
}

async fn run_in(options: &Options, work_dir: &std::path::Path) -> Result<(), String> {
    let emulator = Arc::new(
        Emulator::start(EmulatorOptions {
            lro_duration: options.lro,
            ..EmulatorOptions::default()
        })
        .await
        .map_err(|e| format!("starting the emulator: {e}"))?,
    );
    let result = with_emulator(options, emulator.clone(), work_dir).await;
    // Stop the gateways and drop this run's backend databases now, not at some later start.
    emulator.stop_pg_gateways().await;
    emulator.shutdown();
    result
}

async fn with_emulator(
    options: &Options,
    emulator: Arc<RunningEmulator>,
    work_dir: &std::path::Path,
) -> Result<(), String> {
    let ca_file = work_dir.join("emulator-ca.pem");
    let config = emulator
        .provider_config_with_ca(&ca_file)
        .map_err(|e| format!("writing the emulator's CA to {}: {e}", ca_file.display()))?;
    say(format!(
        "  emulator        ARM {}, Entra {}, identity endpoint {}; operations take {}",
        emulator.arm_url(),
        emulator.authority_url(),
        emulator.msi_endpoint(),
        render::elapsed(options.lro)
    ));
    let settings = ProviderConfig::from_settings(&config).map_err(|failures| {
        let reasons: Vec<String> = failures
            .iter()
            .map(|f| format!("{}: {}", f.property, f.reason))
            .collect();
        format!("the emulator's provider config: {}", reasons.join("; "))
    })?;
    let azure = Arc::new(
        Azure::from_config(&settings)
            .map_err(|e| format!("an ARM client for the emulator: {e}"))?,
    );

    let (names, admins) = make_directory(&emulator);
    create_resource_group(&azure, &emulator).await?;

    let binary = engine::plugin_path()?;
    let (engine_address, mut logs) = engine::serve_engine().await?;
    let mut plugin = engine::ProviderPlugin::start(&binary, &engine_address, work_dir).await?;
    if let Err(e) = plugin
        .configure(&engine_address, &config, &["clientSecret"])
        .await
    {
        plugin.shutdown().await;
        return Err(e);
    }
    say(format!(
        "  provider        {} (its own process), configured for the emulator; engine Log service on {engine_address}",
        binary.display()
    ));
    // Configure's own log line (what the plugin is pointed at) belongs to the setup.
    if let Ok(Some(line)) = tokio::time::timeout(Duration::from_millis(500), logs.recv()).await {
        say(format!("  provider says   {}", line.message));
    }
    // The plugin's log lines, as the engine shows them: under the resource they are about.
    let log_printer = tokio::spawn(async move {
        while let Some(line) = logs.recv().await {
            render::log_line(&line.urn, &line.message);
        }
    });

    let program = stack::seed(
        &names,
        &stack::Config {
            tenant_id: emulator.tenant_id().to_owned(),
            admin_group_object_id: admins.object_id.clone(),
            oidc_issuer: emulator.oidc_issuer_url().to_owned(),
        },
    );
    let demo = Demo {
        emulator,
        azure,
        names,
        program,
        work_dir: work_dir.to_owned(),
        ca_file,
    };
    let mut deployment = Deployment::new(
        plugin.rpc.clone(),
        Arc::new(GatewayPort(demo.emulator.clone())),
    );
    let result = steps(&demo, &mut deployment, options).await;
    if result.is_err() && !deployment.live.is_empty() {
        say("\n== Cleaning up after the failure (pulumi destroy)");
        if let Err(e) = deployment.destroy().await {
            say(format!("  (clean-up failed too: {e})"));
        }
    }
    plugin.shutdown().await;
    log_printer.abort();
    if deployment.live.is_empty() {
        // The gateway made the admin's role at its first sign-in (as Azure does); it is not the
        // stack's, and roles outlive databases: take it off the backend too.
        if let Err(e) = postgres::drop_role(&demo.names.admin_group).await {
            say(format!("  (could not drop the admin's role: {e})"));
        }
    }
    result.map_err(|e| {
        format!(
            "{e}\n(the provider's own log: {})",
            demo.work_dir.join("provider.log").display()
        )
    })
}

/// The Entra objects the stack names (they are not ARM resources: an Entra admin makes them):
/// the admin group with the deployer in it, the readwrite group and its developer.
fn make_directory(emulator: &RunningEmulator) -> (stack::Names, pgentra_emulator::Group) {
    let suffix: String = pgentra_emulator::util::uuid()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(4)
        .collect();
    let names = stack::Names::with_suffix(&suffix.to_ascii_lowercase());
    let directory = emulator.directory();
    let deployer = emulator.deployer();
    let admins = directory.add_group(&names.admin_group, &[&deployer.object_id]);
    let developer = directory.add_user(&names.developer, "Developer");
    directory.add_group(&names.readwrite_group, &[&developer.object_id]);
    say(format!(
        "  Entra directory group {} (the server's admin; member: the deployer {}), group {} (member: {}), user {}",
        names.admin_group, deployer.display_name, names.readwrite_group, names.developer, names.developer
    ));
    (names, admins)
}

/// The resource group the stack lives in (made outside the stack, like `az group create`).
async fn create_resource_group(azure: &Azure, emulator: &RunningEmulator) -> Result<(), String> {
    let path = format!(
        "/subscriptions/{}/resourcegroups/{}",
        emulator.subscription_id(),
        stack::RESOURCE_GROUP
    );
    azure
        .arm
        .put(
            &path,
            "2021-04-01",
            &serde_json::json!({"location": stack::LOCATION}),
        )
        .await
        .map_err(|e| format!("creating the resource group {}: {e}", stack::RESOURCE_GROUP))?;
    say(format!(
        "  resource group  {} ({})",
        stack::RESOURCE_GROUP,
        stack::LOCATION
    ));
    Ok(())
}

/// After a server is created, where its PostgreSQL gateway listens: the server's FQDN at 5432
/// as on Azure, or another port when another emulator on this machine holds that one.
struct GatewayPort(Arc<RunningEmulator>);

#[async_trait]
impl AfterCreate for GatewayPort {
    async fn after_create(
        &self,
        declared: &Declared,
        outputs: &Props,
    ) -> Result<Option<(String, Props)>, String> {
        if declared.type_token != stack::types::SERVER {
            return Ok(None);
        }
        let fqdn = outputs
            .str("fullyQualifiedDomainName")
            .ok_or("the new server has no fullyQualifiedDomainName")?;
        let gateway = self
            .0
            .pg_gateway(fqdn)
            .await
            .ok_or_else(|| format!("the emulator runs no PostgreSQL gateway for {fqdn}"))?;
        let port = gateway.addr.port();
        if port != pgentra_emulator::pg::GATEWAY_PORT {
            render::detail(format!(
                "note: {fqdn}:5432 is taken (another emulator on this machine); this server's PostgreSQL is on port {port}"
            ));
        }
        let mut values = Props::default();
        values.set("port", port.into());
        Ok(Some(("gateway".to_owned(), values)))
    }
}

async fn steps(demo: &Demo, deployment: &mut Deployment, options: &Options) -> Result<(), String> {
    let names = &demo.names;
    let count = demo.program.len();

    render::step(
        1,
        STEPS,
        &format!("preview (pulumi preview): {count} resources to create"),
    );
    deployment
        .preview(&demo.program)
        .await
        .map_err(|e| format!("preview: {e}"))?;

    render::step(2, STEPS, "create (pulumi up)");
    deployment
        .up_new(&demo.program)
        .await
        .map_err(|e| format!("create: {e}"))?;

    render::step(
        3,
        STEPS,
        "change: an owner tag on the server and the identity, and a new Grant (pulumi up)",
    );
    let changed = stack::changed(demo.program.clone());
    deployment
        .up(&changed)
        .await
        .map_err(|e| format!("change: {e}"))?;

    render::step(
        4,
        STEPS,
        "drift made outside the stack, then refresh (pulumi refresh)",
    );
    let server = server_access(demo, deployment)?;
    let admin = server
        .as_admin(&demo.azure, &names.admin_group, stack::DATABASE)
        .await?;
    let migration = proof::create_app_table(&admin).await?;
    say(format!(
        "  the app's migration, as the Entra admin {}: {migration}",
        names.admin_group
    ));
    let revoke = proof::revoke_delete(&admin, &names.app_identity).await?;
    say(format!(
        "  outside the stack, in PostgreSQL through the gateway: {revoke}"
    ));
    let widened = widen_firewall_rule(demo).await?;
    say(format!("  outside the stack, through ARM: {widened}"));
    let refreshed = deployment
        .refresh()
        .await
        .map_err(|e| format!("refresh: {e}"))?;
    if refreshed.get("drifted") + refreshed.get("deleted outside") == 0 {
        return Err("refresh: the drift made outside was not found".to_owned());
    }

    render::step(5, STEPS, "restore what drifted (pulumi up)");
    deployment
        .up(&changed)
        .await
        .map_err(|e| format!("restore: {e}"))?;

    render::step(
        6,
        STEPS,
        "proof: the app signs in with its managed identity, and only so",
    );
    let identity = deployment
        .get("app-identity")
        .and_then(|l| l.outputs.str("clientId"))
        .ok_or("the app's identity has no clientId")?
        .to_owned();
    let endpoint = proof::IdentityEndpoint {
        url: demo.emulator.msi_endpoint().to_owned(),
        header: demo.emulator.msi_header_secret().to_owned(),
        http: pgentra_core::azure::http::build_client(Some(&demo.ca_file.display().to_string()))
            .map_err(|e| format!("an HTTP client for the identity endpoint: {e}"))?,
    };
    proof::app_reads_and_writes(
        &server,
        &endpoint,
        &names.app_identity,
        &identity,
        stack::DATABASE,
    )
    .await?;
    proof::password_is_refused(&server, &names.app_identity, stack::DATABASE).await?;
    drop(admin);

    if options.keep {
        keep_running(demo, &server).await;
    }

    render::step(7, STEPS, "destroy (pulumi destroy)");
    deployment
        .destroy()
        .await
        .map_err(|e| format!("destroy: {e}"))?;
    Ok(())
}

/// The live server's PostgreSQL address and TLS settings that trust the emulator's CA.
fn server_access(demo: &Demo, deployment: &Deployment) -> Result<proof::Server, String> {
    let server = deployment
        .get("server")
        .ok_or("the server is not in the stack")?;
    let host = server
        .outputs
        .str("fullyQualifiedDomainName")
        .ok_or("the server has no fullyQualifiedDomainName")?
        .to_owned();
    let port = deployment
        .get("app-role")
        .and_then(|l| l.inputs.get("connection"))
        .and_then(|c| c.get("port"))
        .and_then(|p| p.as_u64())
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(pgentra_emulator::pg::GATEWAY_PORT);
    let tls =
        pgentra_core::sql::session::TlsConfigs::new(Some(&demo.ca_file.display().to_string()))
            .map_err(|e| e.to_string())?;
    Ok(proof::Server { host, port, tls })
}

/// Someone widens the deployer's firewall rule in the portal: an ARM PUT outside the stack.
async fn widen_firewall_rule(demo: &Demo) -> Result<String, String> {
    let server = FlexibleServerId::new(
        demo.emulator.subscription_id(),
        stack::RESOURCE_GROUP,
        stack::SERVER_NAME,
    );
    let rule = FirewallRuleId::new(server, "allow-deployer");
    let body = serde_json::json!({"properties": {"startIpAddress": stack::DEPLOYER_IP, "endIpAddress": "198.51.100.255"}});
    demo.azure
        .arm
        .put_resource(&rule, &body)
        .await
        .map_err(|e| format!("changing the firewall rule through ARM: {e}"))?;
    Ok("PUT firewallRules/allow-deployer with endIpAddress 198.51.100.255 (the rule now admits a /24)".to_owned())
}

/// `--keep`: everything stays up until Ctrl-C, with what is needed to look around.
async fn keep_running(demo: &Demo, server: &proof::Server) {
    say("\n== Kept running (--keep): Ctrl-C destroys the stack and stops everything");
    say(format!("  ARM endpoint    {}", demo.emulator.arm_url()));
    say(format!(
        "  Entra authority {}",
        demo.emulator.authority_url()
    ));
    say(format!("  emulator CA     {}", demo.ca_file.display()));
    say(format!(
        "  PostgreSQL      host={} port={} dbname={} sslmode=verify-full sslrootcert={}",
        server.host,
        server.port,
        stack::DATABASE,
        demo.ca_file.display()
    ));
    say(format!(
        "  the Entra admin  {}: the deployer (client id {}) signs in as it with a token for {} from the authority above",
        demo.names.admin_group,
        demo.emulator.deployer().app_id,
        pgentra_emulator::POSTGRES_RESOURCE
    ));
    let _ = tokio::signal::ctrl_c().await;
}
