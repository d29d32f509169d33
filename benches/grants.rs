//! 1,000 mixed Grants created through the provider plugin as the engine would (a separate
//! process over gRPC, 16 Create calls in flight), against the same GRANT statements sent by
//! psql in one session; then the refresh of those Grants (a fresh plugin process, 16 Read calls
//! in flight) against one psql session running, per Grant, the catalog query of what it holds
//! (the same text pgentra's check builds). Both through the emulator's PostgreSQL gateway (TLS,
//! token sign-in) to the local PostgreSQL, alternating, in one run. Reports the medians, their
//! ratios (targets: create at or under 1.0x psql, refresh under 1.5x) and the PostgreSQL token
//! requests the provider made (one per scope per run).
//!
//! `PGENTRA_BENCH_BASELINE_PLUGIN=/path/to/an/older/pulumi-resource-pgentra` adds that build as
//! a third contestant in the same rounds: the before and after of a change, in one run.
//!
//! `cargo bench --bench grants` (needs PostgreSQL on 127.0.0.1:5432 and psql; the test command's
//! scripts/test starts one). `PGENTRA_BENCH_GRANTS=N` and `PGENTRA_BENCH_ROUNDS=N` change the size.

#[path = "support/report.rs"]
mod report;
#[path = "support/binaries.rs"]
mod support;

use report::env_number;

use pgentra::cli::demo::engine::{serve_engine, ProviderPlugin, Rpc, Target};
use pgentra::props::Props;
use pgentra::resources::grant::GrantTarget;
use pgentra::sql::grant::ObjectType;
use pgentra::sql::introspect;
use pgentra_emulator::{Emulator, EmulatorOptions, RunningEmulator, POSTGRES_RESOURCE};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const IN_FLIGHT: usize = 16;
fn in_flight() -> usize {
    env_number("PGENTRA_BENCH_IN_FLIGHT", IN_FLIGHT)
}
const ROLES: usize = 50;
/// Of the roles, how many are groups others become members of.
const GROUPS: usize = 5;
const TABLES: usize = 20;
const RG: &str = "rg-bench";
const SERVER: &str = "pg-bench";
const DATABASE: &str = "benchdb";

fn main() {
    let grants: usize = env_number("PGENTRA_BENCH_GRANTS", 1000);
    let rounds: usize = env_number("PGENTRA_BENCH_ROUNDS", 3);
    report::require_postgres();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench(grants, rounds));
}

async fn bench(grants: usize, rounds: usize) {
    let emu = Emulator::start(EmulatorOptions {
        lro_duration: Duration::from_millis(20),
        ..EmulatorOptions::default()
    })
    .await
    .expect("start the emulator");
    let ca_file = std::env::temp_dir().join(format!("pgentra-bench-ca-{}.pem", std::process::id()));
    let config = emu
        .provider_config_with_ca(&ca_file)
        .expect("provider config");
    let deployer = emu.deployer();
    create_resource_group(&config, &emu).await;
    let (engine_address, _logs) = serve_engine().await.expect("the engine's Log service");
    let work_dir = std::env::temp_dir();
    let this_build = support::release_binary("pgentra-pulumi", "pulumi-resource-pgentra");
    let mut plugin = start_plugin(&this_build, &engine_address, &work_dir, &config).await;

    // The server, its Entra admin (the deployer) and the database, through the provider.
    let (server_id, server) = create(
        &plugin.rpc,
        "pgentra:index:FlexibleServer",
        "pg",
        json!({
            "resourceGroupName": RG, "serverName": SERVER, "location": "eastus", "version": "16",
            "skuName": "Standard_B1ms", "skuTier": "Burstable", "storageSizeGb": 32,
        }),
    )
    .await;
    let host = server["fullyQualifiedDomainName"]
        .as_str()
        .expect("fqdn")
        .to_owned();
    let _ = create(
        &plugin.rpc,
        "pgentra:index:AdAdmin",
        "admin",
        json!({
            "resourceGroupName": RG, "serverName": SERVER, "objectId": deployer.object_id,
            "principalName": deployer.display_name, "principalType": "ServicePrincipal",
        }),
    )
    .await;
    let _ = create(
        &plugin.rpc,
        "pgentra:index:Database",
        "db",
        json!({
            "resourceGroupName": RG, "serverName": SERVER, "name": DATABASE,
        }),
    )
    .await;
    let gateway = emu.pg_gateway(&host).await.expect("the server's gateway");
    let psql = Psql {
        host: host.clone(),
        port: gateway.addr.port(),
        ca_file: ca_file.display().to_string(),
        user: deployer.display_name.clone(),
        token: emu
            .issue_access_token(&deployer.object_id, POSTGRES_RESOURCE)
            .expect("a token for the deployer"),
    };
    let mut setup = String::from("CREATE SCHEMA IF NOT EXISTS app;\n");
    for t in 0..TABLES {
        setup += &format!("CREATE TABLE IF NOT EXISTS app.t{t} (id serial PRIMARY KEY);\n");
    }
    psql.run(DATABASE, &setup);
    let backend_database = pgentra_emulator::pg::backend_name(&gateway.backend_prefix, DATABASE);
    let connection = json!({
        "host": host, "port": gateway.addr.port(), "database": "postgres",
        "username": deployer.display_name, "sslMode": "verify-full",
    });

    let mut contestants = vec![Contestant::Plugin {
        label: "provider",
        binary: this_build,
    }];
    if let Ok(baseline) = std::env::var("PGENTRA_BENCH_BASELINE_PLUGIN") {
        let binary = std::path::PathBuf::from(&baseline);
        assert!(
            binary.is_file(),
            "PGENTRA_BENCH_BASELINE_PLUGIN={baseline} is not a file: build the older plugin \
             (cargo build --release -p pgentra-pulumi in a checkout of it) and give its path"
        );
        contestants.push(Contestant::Plugin {
            label: "baseline",
            binary,
        });
    }
    contestants.push(Contestant::Psql);
    let mut times: BTreeMap<(&str, Phase), Vec<Duration>> = BTreeMap::new();
    let mut token_requests = vec![];
    for round in 0..rounds {
        // Who goes first rotates, so no contestant always meets a warm (or cold) server.
        let mut order: Vec<&Contestant> = contestants.iter().collect();
        order.rotate_left(round % contestants.len());
        for contestant in order {
            let tag = format!("r{round}{}", &contestant.label()[..1]);
            let roles: Vec<String> = (0..ROLES).map(|i| role_name(&tag, i)).collect();
            let create_roles: String = roles
                .iter()
                .map(|r| format!("CREATE ROLE \"{r}\" NOLOGIN;\n"))
                .collect();
            psql.run("postgres", &create_roles);
            let specs = mixed_grants(grants, &roles, &connection);
            let label = contestant.label();
            match contestant {
                Contestant::Plugin { binary, .. } => {
                    // A fresh plugin process per step, as each `pulumi up` and `pulumi refresh`
                    // is: its own token cache and sessions.
                    plugin.shutdown().await;
                    plugin = start_plugin(binary, &engine_address, &work_dir, &config).await;
                    let tokens_before = tokens_issued(&emu);
                    let began = Instant::now();
                    let created = create_all(&plugin.rpc, &specs).await;
                    times
                        .entry((label, Phase::Create))
                        .or_default()
                        .push(began.elapsed());
                    if label == "provider" {
                        token_requests.push(tokens_issued(&emu) - tokens_before);
                    }
                    plugin.shutdown().await;
                    plugin = start_plugin(binary, &engine_address, &work_dir, &config).await;
                    let began = Instant::now();
                    read_all(&plugin.rpc, &created).await;
                    times
                        .entry((label, Phase::Refresh))
                        .or_default()
                        .push(began.elapsed());
                }
                Contestant::Psql => {
                    let statements: String = specs
                        .iter()
                        .map(|s| format!("{};\n", statement_of(s)))
                        .collect();
                    let began = Instant::now();
                    psql.run(DATABASE, &statements);
                    times
                        .entry((label, Phase::Create))
                        .or_default()
                        .push(began.elapsed());
                    let queries: String = specs
                        .iter()
                        .map(|s| format!("{};\n", catalog_query_of(s)))
                        .collect();
                    let began = Instant::now();
                    psql.run(DATABASE, &queries);
                    times
                        .entry((label, Phase::Refresh))
                        .or_default()
                        .push(began.elapsed());
                }
            }
            // Every run starts from the same ACLs: this run's roles and what they were given go.
            drop_roles(&backend_database, &roles);
        }
    }
    // The server and its databases go; then the bench's roles, which are the backend cluster's.
    let server_target = Target {
        type_token: "pgentra:index:FlexibleServer",
        name: "pg",
    };
    let server_state = Props::from_json(server);
    plugin
        .rpc
        .delete(&server_target, &server_id, &server_state, &server_state)
        .await
        .expect("delete the server");
    plugin.shutdown().await;

    report(grants, rounds, &times, &token_requests);
    let _ = std::fs::remove_file(&ca_file);
    emu.shutdown();
}

/// Who runs the Grants: a build of the plugin, or psql.
enum Contestant {
    Plugin {
        label: &'static str,
        binary: std::path::PathBuf,
    },
    Psql,
}

impl Contestant {
    fn label(&self) -> &'static str {
        match self {
            Self::Plugin { label, .. } => label,
            Self::Psql => "psql",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Create,
    Refresh,
}

fn report(
    grants: usize,
    rounds: usize,
    times: &BTreeMap<(&str, Phase), Vec<Duration>>,
    token_requests: &[u64],
) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = |label: &str, phase: Phase| -> f64 {
        let mut runs = times[&(label, phase)].clone();
        runs.sort();
        ms(runs[runs.len() / 2])
    };
    println!("{grants} mixed Grants through the emulator's gateway, {rounds} rounds, alternating:");
    for ((label, phase), runs) in times {
        let m = median(label, *phase);
        println!(
            "  {phase:?} by {label}: median {m:.0} ms ({:.2} ms/Grant), runs {:?}",
            m / grants as f64,
            runs.iter().map(|d| ms(*d).round()).collect::<Vec<_>>()
        );
    }
    let targets = [
        (Phase::Create, 1.0, "<= 1.0x"),
        (Phase::Refresh, 1.5, "< 1.5x"),
    ];
    for (phase, limit, target) in targets {
        let psql = median("psql", phase);
        for label in ["provider", "baseline"] {
            if !times.contains_key(&(label, phase)) {
                continue;
            }
            let mine = median(label, phase);
            let ratio = mine / psql;
            let name = match (phase, label) {
                (Phase::Create, "provider") => "grants.create",
                (Phase::Refresh, "provider") => "grants.refresh",
                (Phase::Create, _) => "grants.create.baseline",
                (Phase::Refresh, _) => "grants.refresh.baseline",
            };
            let what = match phase {
                Phase::Create => format!("{grants} mixed Grants created through the plugin (16 in flight) vs the same GRANTs by psql in one session"),
                Phase::Refresh => format!("refresh (Read) of those {grants} Grants (16 in flight) vs psql running one catalog query per Grant in one session"),
            };
            let met = if phase == Phase::Create {
                ratio <= limit
            } else {
                ratio < limit
            };
            println!("  ratio {phase:?} {label}/psql: {ratio:.2}x (target {target})");
            report::bench_row(
                name,
                &format!(
                    "{what}{}",
                    if label == "baseline" {
                        " (baseline build)"
                    } else {
                        ""
                    }
                ),
                &format!(
                    "{ratio:.2}x ({label} {mine:.0} ms, psql {psql:.0} ms, medians of {rounds})"
                ),
                target,
                (label == "provider").then_some(met),
            );
        }
    }
    println!("  PostgreSQL token requests per provider run: {token_requests:?} (target: 1 each)");
    report::bench_row(
        "grants.tokens",
        "PostgreSQL token requests per provider run of the Grants",
        &format!("{token_requests:?}"),
        "1 each",
        Some(token_requests.iter().all(|n| *n == 1)),
    );
}

/// `count` Grants spread over the roles and every object type a stack grants on: database,
/// schema, all tables, default privileges, role membership, named tables and sequences. No two
/// overlap (a Grant over what the role already holds on the same objects is refused): each
/// role gets each kind once, then its own tables and sequences one by one.
fn mixed_grants(count: usize, roles: &[String], connection: &Value) -> Vec<Value> {
    let per_role = 5 + 2 * TABLES;
    assert!(
        count <= roles.len() * per_role,
        "at most {} distinct Grants over {} roles and {TABLES} tables",
        roles.len() * per_role,
        roles.len()
    );
    (0..count)
        .map(|i| {
            let (r, slot) = (i % roles.len(), i / roles.len());
            let role = &roles[r];
            let base = json!({"connection": connection, "role": role, "database": DATABASE});
            let extra = match slot {
                0 => json!({"objectType": "database", "privileges": ["CONNECT", "TEMPORARY"]}),
                1 => json!({"objectType": "schema", "schema": "app", "privileges": ["USAGE"]}),
                2 => json!({"objectType": "table", "schema": "app", "privileges": ["TRUNCATE"]}),
                3 => json!({"objectType": "table", "schema": "app", "privileges": ["DELETE", "REFERENCES"], "defaultPrivileges": true}),
                // Memberships go from the groups (the first roles) to the others: never a cycle.
                4 if r >= GROUPS => json!({"objectType": "role", "objects": [roles[r % GROUPS]], "privileges": []}),
                4 => json!({"objectType": "table", "schema": "app", "objects": ["t0"], "privileges": ["TRIGGER"]}),
                s if s % 2 == 1 => json!({"objectType": "table", "schema": "app", "objects": [format!("t{}", (s - 5) / 2)], "privileges": ["SELECT", "INSERT", "UPDATE"]}),
                s => json!({"objectType": "sequence", "schema": "app", "objects": [format!("t{}_id_seq", (s - 5) / 2)], "privileges": ["USAGE", "SELECT"]}),
            };
            let mut grant = base;
            grant
                .as_object_mut()
                .expect("object")
                .extend(extra.as_object().expect("object").clone());
            grant
        })
        .collect()
}

/// The statement pgentra runs for one Grant (the same function builds it).
fn statement_of(grant: &Value) -> String {
    let privileges: Vec<String> = grant["privileges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    target_of(grant)
        .grant_sql(&privileges)
        .expect("quotable names")
}

/// The catalog query of what one Grant holds: the text pgentra's overlap check is built on.
fn catalog_query_of(grant: &Value) -> String {
    let target = target_of(grant);
    if target.object_type == ObjectType::Role {
        introspect::membership_rows_sql(&target.role, &target.objects)
    } else {
        introspect::privilege_rows_sql(&target.role, target.on())
    }
    .expect("quotable names")
}

fn target_of(grant: &Value) -> GrantTarget {
    GrantTarget::from_inputs(&Props::from_json(grant.clone())).expect("a complete grant")
}

/// Check and Create of every Grant, `in_flight()` at a time: each one's ID and outputs.
async fn create_all(rpc: &Rpc, specs: &[Value]) -> Vec<(String, Value)> {
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight()));
    let mut calls = tokio::task::JoinSet::new();
    for (i, spec) in specs.iter().enumerate() {
        let permit = slots.clone().acquire_owned().await.expect("semaphore");
        let rpc = rpc.clone();
        let spec = spec.clone();
        calls.spawn(async move {
            // A Grant that fails panics here, and so the bench: its time would mean nothing.
            let created = create(&rpc, "pgentra:index:Grant", &format!("g{i}"), spec).await;
            drop(permit);
            created
        });
    }
    let mut created = Vec::with_capacity(specs.len());
    while let Some(done) = calls.join_next().await {
        created.push(done.expect("a Create call failed"));
    }
    created
}

/// Read of every created Grant, `in_flight()` at a time, as a refresh sends them; each must
/// find its Grant with the privileges it was created with.
async fn read_all(rpc: &Rpc, created: &[(String, Value)]) {
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight()));
    let mut calls = tokio::task::JoinSet::new();
    for (i, (id, outputs)) in created.iter().enumerate() {
        let permit = slots.clone().acquire_owned().await.expect("semaphore");
        let (rpc, id, state) = (rpc.clone(), id.clone(), Props::from_json(outputs.clone()));
        calls.spawn(async move {
            let name = format!("g{i}");
            let target = Target {
                type_token: "pgentra:index:Grant",
                name: &name,
            };
            let read = rpc
                .read(&target, &id, &state, &state)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|| panic!("the refresh found the Grant {id} gone"));
            assert_eq!(
                read.1.get("privileges"),
                state.get("privileges"),
                "the refresh of {id} found other privileges"
            );
            drop(permit);
        });
    }
    while let Some(done) = calls.join_next().await {
        done.expect("a Read call failed");
    }
}

/// Check then Create, as the engine sends them (through the demo's engine); the ID and outputs.
async fn create(rpc: &Rpc, type_token: &str, name: &str, inputs: Value) -> (String, Value) {
    let target = Target { type_token, name };
    let checked = rpc
        .check(&target, &Props::default(), &Props::from_json(inputs))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (id, outputs) = rpc
        .create(&target, &checked, false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (id, Value::Object(outputs.values))
}

/// The plugin (a separate process, as the engine runs it), handshaken and configured.
async fn start_plugin(
    binary: &std::path::Path,
    engine_address: &str,
    work_dir: &std::path::Path,
    config: &BTreeMap<String, String>,
) -> ProviderPlugin {
    let mut plugin = ProviderPlugin::start(binary, engine_address, work_dir)
        .await
        .expect("start the plugin");
    plugin
        .configure(engine_address, config, &["clientSecret"])
        .await
        .expect("Configure");
    plugin
}

/// The resource group the stack goes in (a stack takes it as given), through pgentra's ARM client.
async fn create_resource_group(config: &BTreeMap<String, String>, emu: &RunningEmulator) {
    let config = pgentra::config::ProviderConfig::from_settings(config)
        .expect("the emulator's provider config");
    let azure = pgentra::azure::Azure::from_config(&config).expect("an ARM client");
    let path = format!(
        "/subscriptions/{}/resourcegroups/{RG}",
        emu.subscription_id()
    );
    azure
        .arm
        .put(&path, "2021-04-01", &json!({"location": "eastus"}))
        .await
        .expect("create the resource group");
}

fn tokens_issued(emu: &RunningEmulator) -> u64 {
    emu.state()["tokensIssued"][POSTGRES_RESOURCE]
        .as_u64()
        .unwrap_or(0)
}

struct Psql {
    host: String,
    port: u16,
    ca_file: String,
    user: String,
    token: String,
}

impl Psql {
    /// Runs `sql` in one session (each statement its own transaction, as pgentra's are).
    fn run(&self, database: &str, sql: &str) {
        let conninfo = format!(
            "host={} port={} dbname={database} sslmode=verify-full sslrootcert={} user='{}'",
            self.host, self.port, self.ca_file, self.user
        );
        let mut child = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &conninfo,
                "-f",
                "-",
            ])
            .env("PGPASSWORD", &self.token)
            .env("PGOPTIONS", "-c client_min_messages=warning")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("psql is installed (apt-get install -y postgresql-client)");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(sql.as_bytes())
            .expect("feed psql");
        let status = child.wait().expect("psql ran");
        assert!(status.success(), "psql failed in {database}");
    }
}

/// Roles are the backend cluster's: named by process, so a run never meets an earlier one's.
fn role_name(tag: &str, i: usize) -> String {
    format!("bench_{}_{tag}_{i}", std::process::id())
}

/// Drops `roles` and everything granted to them, as the backend cluster's superuser (roles and
/// database privileges are the cluster's; the rest lives in the backend database).
fn drop_roles(backend_database: &str, roles: &[String]) {
    let list = roles
        .iter()
        .map(|r| format!("\"{r}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("DROP OWNED BY {list}; DROP ROLE {list};");
    let status = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            backend_database,
            "-c",
            &sql,
        ])
        .stdout(Stdio::null())
        .status()
        .expect("psql ran");
    assert!(status.success(), "dropping the bench's roles failed");
}
