//! 1,000 mixed Grants created through the provider plugin as the engine would (a separate
//! process over gRPC, 16 Create calls in flight), against the same GRANT statements sent by
//! psql in one session, both through the emulator's PostgreSQL gateway (TLS, token sign-in) to
//! the local PostgreSQL, alternating, in one run. Reports the medians, their ratio (target:
//! the provider within 1.5x of psql) and the PostgreSQL token requests the provider made (one per
//! scope per run).
//!
//! `cargo bench --bench grants` (needs PostgreSQL on 127.0.0.1:5432 and psql; the test command's
//! scripts/test starts one). `PGENTRA_BENCH_GRANTS=N` and `PGENTRA_BENCH_ROUNDS=N` change the size.

#[path = "support/binaries.rs"]
mod support;

use pgentra::cli::demo::engine::{serve_engine, ProviderPlugin, Rpc, Target};
use pgentra::props::Props;
use pgentra::resources::grant::GrantTarget;
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
    if std::net::TcpStream::connect("127.0.0.1:5432").is_err() {
        panic!("PostgreSQL does not answer on 127.0.0.1:5432: start it (pg_ctlcluster 15 main start) or run scripts/test");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench(grants, rounds));
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}"))
        })
        .unwrap_or(default)
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
    let mut plugin = start_plugin(&engine_address, &work_dir, &config).await;

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

    let (mut provider_times, mut psql_times, mut token_requests) = (vec![], vec![], vec![]);
    for round in 0..rounds {
        for through_provider in [true, false] {
            let tag = format!("r{round}{}", if through_provider { "p" } else { "q" });
            let roles: Vec<String> = (0..ROLES).map(|i| role_name(&tag, i)).collect();
            let create_roles: String = roles
                .iter()
                .map(|r| format!("CREATE ROLE \"{r}\" NOLOGIN;\n"))
                .collect();
            psql.run("postgres", &create_roles);
            let specs = mixed_grants(grants, &roles, &connection);
            if through_provider {
                // A fresh plugin process per round, as each `pulumi up` is: its own token cache.
                plugin.shutdown().await;
                plugin = start_plugin(&engine_address, &work_dir, &config).await;
                let tokens_before = tokens_issued(&emu);
                let began = Instant::now();
                create_all(&plugin.rpc, &specs).await;
                provider_times.push(began.elapsed());
                token_requests.push(tokens_issued(&emu) - tokens_before);
            } else {
                let statements: String = specs
                    .iter()
                    .map(|s| format!("{};\n", statement_of(s)))
                    .collect();
                let began = Instant::now();
                psql.run(DATABASE, &statements);
                psql_times.push(began.elapsed());
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

    provider_times.sort();
    psql_times.sort();
    let median = |v: &[Duration]| v[v.len() / 2];
    let (p, q) = (median(&provider_times), median(&psql_times));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{grants} mixed Grants through the emulator's gateway, {rounds} rounds, alternating:");
    println!(
        "  provider (16 Create calls in flight): median {:.0} ms ({:.2} ms/Grant), runs {:?}",
        ms(p),
        ms(p) / grants as f64,
        provider_times
            .iter()
            .map(|d| ms(*d).round())
            .collect::<Vec<_>>()
    );
    println!(
        "  psql (one session, same statements):  median {:.0} ms ({:.2} ms/Grant), runs {:?}",
        ms(q),
        ms(q) / grants as f64,
        psql_times
            .iter()
            .map(|d| ms(*d).round())
            .collect::<Vec<_>>()
    );
    println!(
        "  ratio provider/psql: {:.2}x (target <= 1.5x)",
        ms(p) / ms(q)
    );
    println!("  PostgreSQL token requests per provider run: {token_requests:?} (target: 1 each)");
    let _ = std::fs::remove_file(&ca_file);
    emu.shutdown();
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
    let props = Props::from_json(grant.clone());
    let privileges: Vec<String> = grant["privileges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    GrantTarget::from_inputs(&props)
        .expect("a complete grant")
        .grant_sql(&privileges)
        .expect("quotable names")
}

async fn create_all(rpc: &Rpc, specs: &[Value]) {
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight()));
    let mut calls = tokio::task::JoinSet::new();
    for (i, spec) in specs.iter().enumerate() {
        let permit = slots.clone().acquire_owned().await.expect("semaphore");
        let rpc = rpc.clone();
        let spec = spec.clone();
        calls.spawn(async move {
            // A Grant that fails panics here, and so the bench: its time would mean nothing.
            create(&rpc, "pgentra:index:Grant", &format!("g{i}"), spec).await;
            drop(permit);
        });
    }
    while let Some(done) = calls.join_next().await {
        done.expect("a Create call failed");
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
    engine_address: &str,
    work_dir: &std::path::Path,
    config: &BTreeMap<String, String>,
) -> ProviderPlugin {
    let binary = support::release_binary("pgentra-pulumi", "pulumi-resource-pgentra");
    let binary = binary.as_path();
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
