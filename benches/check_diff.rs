//! The preview of a large platform stack: Check then Diff of each of 5,000 resources (mostly
//! Grants and Principals, with the servers, admins, databases, firewall rules, parameters,
//! managed identities and federated credentials they sit on) through the provider plugin as the
//! engine drives it: a separate process over gRPC, handshaken and configured against the
//! emulator, 16 calls in flight. Every resource is checked against its previous inputs (one in
//! ten changed a little) and diffed against its prior state.
//!
//! Reports, over rounds (a fresh plugin each, as each `pulumi preview` starts one), the median
//! wall time per resource (all resources' time / their number) and the plugin's peak RSS
//! (VmHWM, read while it still runs). Targets: under 50 µs per resource, under 50 MB. The
//! baseline, measured in the same run before each round: as many empty calls (GetPluginInfo,
//! two per resource) to a plugin of their own, the transport's floor. Check and
//! Diff must reach nothing: the emulator records no ARM request and issues no token, and the
//! PostgreSQL address every SQL resource names (a listener of the bench's own) sees no
//! connection; the bench fails when one does.
//!
//! `cargo bench --bench check_diff`. `PGENTRA_BENCH_RESOURCES=N`, `PGENTRA_BENCH_ROUNDS=N` and
//! `PGENTRA_BENCH_IN_FLIGHT=N` change the size.

#[path = "support/report.rs"]
mod report;
#[path = "support/binaries.rs"]
mod support;

use report::{bench_row, env_number};

use pgentra::cli::demo::engine::{serve_engine, ProviderPlugin, Rpc, Target};
use pgentra::props::Props;
use pgentra_emulator::{Emulator, EmulatorOptions, RunningEmulator};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TARGET_MICROS_PER_RESOURCE: f64 = 50.0;
const TARGET_PEAK_RSS_MB: f64 = 50.0;
/// The engine's default parallelism for a stack this size.
const IN_FLIGHT: usize = 16;
/// One resource in CHANGE_EVERY has a small change in the program since the last `up`.
const CHANGE_EVERY: usize = 10;
const RG: &str = "rg-platform";
const LOCATION: &str = "westeurope";
const ADMIN_GROUP: &str = "PG Platform Admins";
const ADMIN_GROUP_OBJECT_ID: &str = "0b9c3f4e-51a2-4d1e-9a0f-7c2d8e6b1a55";

/// How many resources of each type one platform server brings (251 in all): the server, its
/// Entra admin, databases, firewall rules and parameters; the workloads' identities and their
/// federated credentials; and the roles and Grants inside the databases.
const PER_SERVER: &[(Kind, usize)] = &[
    (Kind::Server, 1),
    (Kind::Admin, 1),
    (Kind::Database, 4),
    (Kind::FirewallRule, 2),
    (Kind::Parameter, 3),
    (Kind::Identity, 5),
    (Kind::FederatedCredential, 5),
    (Kind::Principal, 30),
    (Kind::Grant, 200),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Server,
    Admin,
    Database,
    FirewallRule,
    Parameter,
    Identity,
    FederatedCredential,
    Principal,
    Grant,
}

impl Kind {
    fn type_token(self) -> &'static str {
        match self {
            Kind::Server => "pgentra:index:FlexibleServer",
            Kind::Admin => "pgentra:index:AdAdmin",
            Kind::Database => "pgentra:index:Database",
            Kind::FirewallRule => "pgentra:index:FirewallRule",
            Kind::Parameter => "pgentra:index:ServerParameter",
            Kind::Identity => "pgentra:index:ManagedIdentity",
            Kind::FederatedCredential => "pgentra:index:FederatedCredential",
            Kind::Principal => "pgentra:index:Principal",
            Kind::Grant => "pgentra:index:Grant",
        }
    }
}

/// One resource of the stack: what the program said at the last `up` and says now.
struct StackResource {
    kind: Kind,
    name: String,
    id: String,
    previous: Value,
    current: Value,
    changed: bool,
}

/// What the last `up` left in the state for one resource (from an untimed Check through the
/// plugin): the inputs it stored and its outputs.
struct Stored {
    inputs: Props,
    outputs: Props,
}

fn main() {
    let resources = env_number("PGENTRA_BENCH_RESOURCES", 5000);
    let rounds = env_number("PGENTRA_BENCH_ROUNDS", 5);
    let in_flight = env_number("PGENTRA_BENCH_IN_FLIGHT", IN_FLIGHT);
    assert!(
        resources > 0 && rounds > 0 && in_flight > 0,
        "sizes must be positive"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench(resources, rounds, in_flight));
}

async fn bench(size: usize, rounds: usize, in_flight: usize) {
    let binary = support::release_binary("pgentra-pulumi", "pulumi-resource-pgentra");
    let emu = Emulator::start(EmulatorOptions::default())
        .await
        .expect("start the emulator");
    let work_dir =
        std::env::temp_dir().join(format!("pgentra-bench-check-diff-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir).expect("the bench's work folder");
    let config = emu
        .provider_config_with_ca(&work_dir.join("ca.pem"))
        .expect("provider config");
    let postgres_trap = ConnectionTrap::start().await;
    let stack = platform_stack(size, postgres_trap.port);
    let (engine_address, _logs) = serve_engine().await.expect("the engine's Log service");
    let start = |binary: std::path::PathBuf| {
        let (engine_address, work_dir, config) = (&engine_address, &work_dir, &config);
        async move {
            let mut plugin = ProviderPlugin::start(&binary, engine_address, work_dir)
                .await
                .expect("start the plugin");
            plugin
                .configure(engine_address, config, &["clientSecret"])
                .await
                .expect("Configure");
            plugin
        }
    };

    // The state the last `up` left: each resource's checked inputs then, and its outputs.
    let plugin = start(binary.clone()).await;
    let stored = Arc::new(stored_state(&plugin.rpc, &stack).await);
    plugin.shutdown().await;
    let stack = Arc::new(stack);

    let (mut times, mut peaks, mut plugin_cpu, mut engine_cpu) = (vec![], vec![], vec![], vec![]);
    let (mut floor_times, mut floor_plugin_cpu) = (vec![], vec![]);
    let mut reached = Reached::default();
    for _ in 0..rounds {
        // The baseline first: the transport's floor for as many calls, on a plugin of its own.
        let (floor, floor_cpu) = empty_calls(&binary, &engine_address, 2 * size, in_flight).await;
        floor_times.push(floor);
        floor_plugin_cpu.push(floor_cpu);
        let plugin = start(binary.clone()).await;
        let pid = plugin_pid();
        let before = Reached::now(&emu, &postgres_trap);
        let cpu_before = (cpu_time(&pid.to_string()), cpu_time("self"));
        let began = Instant::now();
        let changes = preview(&plugin.rpc, &stack, &stored, in_flight).await;
        times.push(began.elapsed());
        plugin_cpu.push(cpu_time(&pid.to_string()) - cpu_before.0);
        engine_cpu.push(cpu_time("self") - cpu_before.1);
        peaks.push(peak_rss_kb(pid));
        reached = reached.plus(&Reached::now(&emu, &postgres_trap).minus(&before));
        plugin.shutdown().await;
        let expected = stack.iter().filter(|r| r.changed).count();
        assert_eq!(
            changes, expected,
            "Diff found {changes} resources changed; the program changed {expected}"
        );
    }

    times.sort();
    peaks.sort();
    plugin_cpu.sort();
    engine_cpu.sort();
    floor_times.sort();
    floor_plugin_cpu.sort();
    let median = |v: &[Duration]| v[v.len() / 2];
    let per_resource = |d: Duration| d.as_secs_f64() * 1e6 / size as f64;
    let median_time = median(&times);
    let median_peak_mb = peaks[peaks.len() / 2] as f64 / 1024.0;
    let micros = per_resource(median_time);
    let floor_micros = per_resource(median(&floor_times));
    let ms = |d: &Duration| (d.as_secs_f64() * 1000.0).round();
    println!(
        "Check + Diff of a {size}-resource stack through the plugin ({in_flight} calls in flight), {rounds} rounds, a fresh plugin each:"
    );
    println!("  mix: {}", mix(&stack));
    println!(
        "  time: median {:.0} ms for all = {micros:.1} µs per resource (target < {TARGET_MICROS_PER_RESOURCE} µs); runs {:?} ms",
        median_time.as_secs_f64() * 1000.0,
        times.iter().map(ms).collect::<Vec<_>>()
    );
    println!(
        "  baseline, the transport's floor: 2 empty calls (GetPluginInfo) per resource, {in_flight} in flight: median {floor_micros:.1} µs per resource, plugin CPU {:.1} µs; Check + Diff is {:.2}x that",
        per_resource(median(&floor_plugin_cpu)),
        micros / floor_micros
    );
    // Where the time went: the machine has 2 cores, shared by the plugin and this process,
    // which plays the engine (it encodes, sends and decodes every call as the engine would).
    println!(
        "  CPU per resource (median): plugin {:.1} µs, the bench as the engine {:.1} µs ({} cores)",
        per_resource(median(&plugin_cpu)),
        per_resource(median(&engine_cpu)),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  plugin peak RSS (VmHWM): median {median_peak_mb:.1} MB (target < {TARGET_PEAK_RSS_MB} MB); runs {:?} MB",
        peaks
            .iter()
            .map(|kb| (*kb as f64 / 102.4).round() / 10.0)
            .collect::<Vec<_>>()
    );
    println!(
        "  reached during Check + Diff (all rounds): {} ARM requests, {} tokens issued, {} PostgreSQL connections (target: none)",
        reached.arm_requests, reached.tokens, reached.postgres_connections
    );
    let speed_met = micros < TARGET_MICROS_PER_RESOURCE;
    let memory_met = median_peak_mb < TARGET_PEAK_RSS_MB;
    bench_row(
        "preview-check-diff-time",
        &format!("Check + Diff per resource, {size}-resource stack, {in_flight} in flight"),
        &format!(
            "{micros:.1} µs/resource ({:.0} ms for {size}; plugin CPU {:.1} µs/resource; {:.2}x the {floor_micros:.1} µs of 2 empty gRPC calls)",
            median_time.as_secs_f64() * 1000.0,
            per_resource(median(&plugin_cpu)),
            micros / floor_micros
        ),
        &format!("< {TARGET_MICROS_PER_RESOURCE} µs"),
        Some(speed_met),
    );
    bench_row(
        "preview-check-diff-rss",
        &format!("plugin peak RSS over Check + Diff of {size} resources"),
        &format!("{median_peak_mb:.1} MB"),
        &format!("< {TARGET_PEAK_RSS_MB} MB"),
        Some(memory_met),
    );
    bench_row(
        "preview-check-diff-offline",
        "requests to Azure or PostgreSQL during Check + Diff",
        &format!(
            "{} ARM, {} tokens, {} PostgreSQL connections",
            reached.arm_requests, reached.tokens, reached.postgres_connections
        ),
        "none",
        Some(reached.is_nothing()),
    );
    emu.shutdown();
    let _ = std::fs::remove_dir_all(&work_dir);
    assert!(
        reached.is_nothing(),
        "Check and Diff reached out: {} ARM requests, {} tokens, {} PostgreSQL connections",
        reached.arm_requests,
        reached.tokens,
        reached.postgres_connections
    );
}

fn mix(stack: &[StackResource]) -> String {
    let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
    for r in stack {
        *counts.entry(r.kind).or_default() += 1;
    }
    let changed = stack.iter().filter(|r| r.changed).count();
    let parts: Vec<String> = counts
        .iter()
        .map(|(kind, n)| {
            let short = kind.type_token().rsplit(':').next().unwrap_or_default();
            format!("{n} {short}")
        })
        .collect();
    format!("{} ({changed} changed since the last up)", parts.join(", "))
}

/// Check (olds = the stored inputs, news = the program's) then Diff (against the stored state)
/// of every resource, `in_flight` at a time; how many Diffs found a change.
async fn preview(
    rpc: &Rpc,
    stack: &Arc<Vec<StackResource>>,
    stored: &Arc<Vec<Stored>>,
    in_flight: usize,
) -> usize {
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let changed = Arc::new(AtomicUsize::new(0));
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..stack.len() {
        let permit = slots.clone().acquire_owned().await.expect("semaphore");
        let (rpc, stack, stored, changed) =
            (rpc.clone(), stack.clone(), stored.clone(), changed.clone());
        calls.spawn(async move {
            let (resource, prior) = (&stack[i], &stored[i]);
            let target = Target {
                type_token: resource.kind.type_token(),
                name: &resource.name,
            };
            let news = rpc
                .check(
                    &target,
                    &prior.inputs,
                    &Props::from_json(resource.current.clone()),
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let diff = rpc
                .diff(&target, &resource.id, &prior.outputs, &prior.inputs, &news)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            if !diff.changed.is_empty() {
                changed.fetch_add(1, Ordering::Relaxed);
            }
            drop(permit);
        });
    }
    while let Some(done) = calls.join_next().await {
        done.expect("a Check or Diff failed");
    }
    changed.load(Ordering::Relaxed)
}

/// `count` calls that carry nothing and do nothing (GetPluginInfo), `in_flight` at a time, to a
/// plugin started as the engine starts one: their wall time and the plugin's CPU time, the
/// floor under any two calls per resource (gRPC over HTTP/2 on loopback TCP).
async fn empty_calls(
    binary: &std::path::Path,
    engine_address: &str,
    count: usize,
    in_flight: usize,
) -> (Duration, Duration) {
    use pgentra::proto::pulumirpc::resource_provider_client::ResourceProviderClient;
    use std::io::BufRead;
    let mut child = std::process::Command::new(binary)
        .arg(engine_address)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the plugin");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the plugin's port");
    let port: u16 = line.trim().parse().expect("the plugin prints its port");
    let client = ResourceProviderClient::connect(format!("http://127.0.0.1:{port}"))
        .await
        .expect("connect to the plugin");
    client
        .clone()
        .get_plugin_info(())
        .await
        .expect("GetPluginInfo");
    let pid = child.id().to_string();
    let cpu_before = cpu_time(&pid);
    let began = Instant::now();
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..count {
        let permit = slots.clone().acquire_owned().await.expect("semaphore");
        let mut client = client.clone();
        calls.spawn(async move {
            client.get_plugin_info(()).await.expect("GetPluginInfo");
            drop(permit);
        });
    }
    while let Some(done) = calls.join_next().await {
        done.expect("an empty call failed");
    }
    let (elapsed, cpu) = (began.elapsed(), cpu_time(&pid) - cpu_before);
    let _ = child.kill();
    let _ = child.wait();
    (elapsed, cpu)
}

/// The state an earlier `up` stored: each resource's previous program inputs as Check filled
/// them, and its outputs (those inputs plus what Azure reported).
async fn stored_state(rpc: &Rpc, stack: &[StackResource]) -> Vec<Stored> {
    let mut stored = Vec::with_capacity(stack.len());
    for resource in stack {
        let target = Target {
            type_token: resource.kind.type_token(),
            name: &resource.name,
        };
        let inputs = rpc
            .check(
                &target,
                &Props::default(),
                &Props::from_json(resource.previous.clone()),
            )
            .await
            .unwrap_or_else(|e| panic!("the stack's previous inputs: {e}"));
        let mut outputs = inputs.clone();
        for (name, value) in reported_outputs(resource) {
            outputs.set(name, value);
        }
        stored.push(Stored { inputs, outputs });
    }
    stored
}

/// What Azure reported for a resource at its create (its output-only properties).
fn reported_outputs(resource: &StackResource) -> Vec<(&'static str, Value)> {
    let n = resource.name.len();
    match resource.kind {
        Kind::Server => vec![
            (
                "fullyQualifiedDomainName",
                json!(format!(
                    "{}.postgres.database.azure.com",
                    resource.previous["serverName"].as_str().unwrap_or_default()
                )),
            ),
            ("state", json!("Ready")),
        ],
        Kind::Identity => vec![
            ("principalId", json!(fake_uuid(n, 1))),
            ("clientId", json!(fake_uuid(n, 2))),
            ("tenantId", json!("72f988bf-86f1-41af-91ab-2d7cd011db47")),
        ],
        Kind::Parameter => vec![
            ("isConfigPendingRestart", json!(false)),
            ("isDynamicConfig", json!(true)),
            ("defaultValue", json!("")),
            ("source", json!("user-override")),
        ],
        _ => vec![],
    }
}

fn fake_uuid(a: usize, b: usize) -> String {
    format!("{a:08x}-{b:04x}-4000-8000-{:012x}", a * 7919 + b)
}

/// `size` resources: whole platform servers (PER_SERVER each), the last one cut short. Every
/// CHANGE_EVERY-th resource changed one input since the last `up`, in place or by replacement
/// as its type has it; the rest are unchanged.
fn platform_stack(size: usize, postgres_port: u16) -> Vec<StackResource> {
    let subscription = "00000000-0000-0000-0000-0000000000aa";
    let mut stack = Vec::with_capacity(size);
    'servers: for s in 0.. {
        let server = format!("pg-platform-{s:03}");
        let server_id = format!("/subscriptions/{subscription}/resourceGroups/{RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{server}");
        let connection =
            json!({"host": "127.0.0.1", "port": postgres_port, "username": ADMIN_GROUP});
        for &(kind, count) in PER_SERVER {
            for k in 0..count {
                if stack.len() == size {
                    break 'servers;
                }
                let changed = stack.len() % CHANGE_EVERY == CHANGE_EVERY - 1;
                let (name, id, previous, change) =
                    resource(kind, s, k, &server, &server_id, subscription, &connection);
                let mut current = previous.clone();
                if changed {
                    let map = current.as_object_mut().expect("inputs are an object");
                    map.extend(change.as_object().expect("a change is an object").clone());
                }
                stack.push(StackResource {
                    kind,
                    name,
                    id,
                    previous,
                    current,
                    changed,
                });
            }
        }
    }
    stack
}

/// The `k`-th resource of `kind` on platform server `s`: its name, ID, inputs, and the small
/// change a program might make to it.
fn resource(
    kind: Kind,
    s: usize,
    k: usize,
    server: &str,
    server_id: &str,
    subscription: &str,
    connection: &Value,
) -> (String, String, Value, Value) {
    let on_server = json!({"resourceGroupName": RG, "serverName": server});
    let with = |extra: Value| {
        let mut v = on_server.clone();
        v.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        v
    };
    let identity = |k: usize| format!("id-{server}-app{k}");
    let identity_id = |k: usize| {
        format!("/subscriptions/{subscription}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}", identity(k))
    };
    // Roles: 5 Entra groups per server (the others join them), then workload identities and people.
    let role = |k: usize| match k % 30 {
        g @ 0..=4 => format!("team-{s}-group-{g}"),
        r @ 5..=9 => identity(r - 5),
        r => format!("dev{r}.s{s}@contoso.com"),
    };
    let database = |k: usize| format!("app{s}_{}", k % 4);
    let sql_id =
        |what: &str| format!("postgresql://PG%20Platform%20Admins@127.0.0.1:5432/postgres?{what}");
    match kind {
        Kind::Server => (
            server.to_owned(),
            server_id.to_owned(),
            json!({
                "resourceGroupName": RG, "serverName": server, "location": LOCATION, "version": "16",
                "skuName": "Standard_D4ds_v5", "storageSizeGb": 128, "activeDirectoryAuth": "Enabled",
                "passwordAuth": "Disabled", "publicNetworkAccess": "Enabled",
                "tags": {"team": "platform", "env": "prod"},
            }),
            json!({"skuName": "Standard_D8ds_v5"}),
        ),
        Kind::Admin => (
            format!("{server}-admin"),
            format!("{server_id}/administrators/{ADMIN_GROUP_OBJECT_ID}"),
            with(json!({
                "objectId": ADMIN_GROUP_OBJECT_ID, "principalName": ADMIN_GROUP, "principalType": "Group",
            })),
            json!({"tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47"}),
        ),
        Kind::Database => (
            format!("{server}-db{k}"),
            format!("{server_id}/databases/{}", database(k)),
            with(json!({"name": database(k), "charset": "UTF8", "collation": "en_US.utf8"})),
            json!({"collation": "de_DE.utf8"}),
        ),
        Kind::FirewallRule => (
            format!("{server}-fw{k}"),
            format!("{server_id}/firewallRules/office-{k}"),
            with(
                json!({"name": format!("office-{k}"), "startIpAddress": format!("203.0.113.{}", 10 * k), "endIpAddress": format!("203.0.113.{}", 10 * k + 5)}),
            ),
            json!({"endIpAddress": format!("203.0.113.{}", 10 * k + 9)}),
        ),
        Kind::Parameter => {
            let (name, value, new_value) = [
                (
                    "azure.extensions",
                    "pgcrypto,uuid-ossp",
                    "pgcrypto,uuid-ossp,pg_trgm",
                ),
                ("log_min_duration_statement", "500", "250"),
                ("idle_in_transaction_session_timeout", "60000", "30000"),
            ][k % 3];
            (
                format!("{server}-param{k}"),
                format!("{server_id}/configurations/{name}"),
                with(json!({"name": name, "value": value})),
                json!({"value": new_value}),
            )
        }
        Kind::Identity => (
            format!("{server}-id{k}"),
            identity_id(k),
            json!({"resourceGroupName": RG, "name": identity(k), "location": LOCATION, "tags": {"team": "platform"}}),
            json!({"tags": {"team": "platform", "owner": "payments"}}),
        ),
        Kind::FederatedCredential => (
            format!("{server}-fic{k}"),
            format!("{}/federatedIdentityCredentials/aks-{k}", identity_id(k)),
            json!({
                "resourceGroupName": RG, "identityName": identity(k), "name": format!("aks-{k}"),
                "issuer": "https://westeurope.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/4b1c6d1e-0c2a-4e55-9f3a-1d6f0e2b7c11/",
                "subject": format!("system:serviceaccount:app{k}:app{k}-sa"),
                "audiences": ["api://AzureADTokenExchange"],
            }),
            json!({"subject": format!("system:serviceaccount:app{k}:app{k}-worker")}),
        ),
        Kind::Principal => {
            let name = role(k);
            let mut inputs = json!({"connection": connection, "name": name});
            if (5..10).contains(&(k % 30)) {
                inputs["objectId"] = json!(fake_uuid(s, k));
                inputs["principalType"] = json!("service");
            }
            (
                format!("{server}-role{k}"),
                sql_id(&format!("principal={}", name.replace('@', "%40"))),
                inputs,
                json!({"connection": {"host": "127.0.0.1", "port": connection["port"], "username": "PG Platform Operators"}}),
            )
        }
        Kind::Grant => {
            // Each role gets its database, schema, tables, default privileges, sequences,
            // a function and, for the non-groups, membership in a group.
            let r = k % 30;
            let (grantee, db) = (role(r), database(r));
            let base = json!({"connection": connection, "role": grantee, "database": db});
            let extra = match k / 30 {
                0 => json!({"objectType": "database", "privileges": ["CONNECT", "TEMPORARY"]}),
                1 => json!({"objectType": "schema", "schema": "app", "privileges": ["USAGE"]}),
                2 => {
                    json!({"objectType": "table", "schema": "app", "privileges": ["SELECT", "INSERT", "UPDATE", "DELETE"]})
                }
                3 => {
                    json!({"objectType": "table", "schema": "app", "privileges": ["SELECT", "INSERT", "UPDATE", "DELETE"], "defaultPrivileges": true})
                }
                4 => {
                    json!({"objectType": "sequence", "schema": "app", "privileges": ["USAGE", "SELECT"]})
                }
                5 if r >= 5 => {
                    json!({"objectType": "role", "objects": [role(r % 5)], "privileges": []})
                }
                5 => {
                    json!({"objectType": "function", "schema": "app", "objects": ["audit_event"], "privileges": ["EXECUTE"]})
                }
                _ => {
                    json!({"objectType": "table", "schema": "reporting", "objects": [format!("daily_{r}"), "orders"], "privileges": ["SELECT"]})
                }
            };
            let mut inputs = base;
            inputs
                .as_object_mut()
                .expect("object")
                .extend(extra.as_object().expect("object").clone());
            (
                format!("{server}-grant{k}"),
                sql_id(&format!(
                    "grant={}&in={db}&on={}",
                    grantee.replace('@', "%40"),
                    inputs["objectType"].as_str().unwrap_or_default()
                )),
                inputs,
                json!({"withGrantOption": true}),
            )
        }
    }
}

/// A TCP listener every SQL resource names as its server: it counts the connections made to it
/// (a Check or Diff must make none) and answers none.
struct ConnectionTrap {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl ConnectionTrap {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind the PostgreSQL trap");
        let port = listener.local_addr().expect("the trap's address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Self { port, accepted }
    }
}

/// What the plugin reached outside itself so far (or in a span, by difference).
#[derive(Default)]
struct Reached {
    arm_requests: usize,
    tokens: u64,
    postgres_connections: usize,
}

impl Reached {
    fn now(emu: &RunningEmulator, trap: &ConnectionTrap) -> Self {
        let tokens = emu.state()["tokensIssued"]
            .as_object()
            .map(|by_audience| by_audience.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0);
        Self {
            arm_requests: emu.arm_exchanges().len(),
            tokens,
            postgres_connections: trap.accepted.load(Ordering::SeqCst),
        }
    }

    fn minus(&self, earlier: &Self) -> Self {
        Self {
            arm_requests: self.arm_requests - earlier.arm_requests,
            tokens: self.tokens - earlier.tokens,
            postgres_connections: self.postgres_connections - earlier.postgres_connections,
        }
    }

    fn plus(&self, other: &Self) -> Self {
        Self {
            arm_requests: self.arm_requests + other.arm_requests,
            tokens: self.tokens + other.tokens,
            postgres_connections: self.postgres_connections + other.postgres_connections,
        }
    }

    fn is_nothing(&self) -> bool {
        self.arm_requests == 0 && self.tokens == 0 && self.postgres_connections == 0
    }
}

/// The plugin process this bench started (its only child named so): the engine module keeps
/// the child to itself, and /proc names its parent.
fn plugin_pid() -> u32 {
    let me = std::process::id().to_string();
    let children: Vec<u32> = std::fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // /proc/<pid>/stat: `pid (comm) state ppid ...`; comm may hold spaces, so split after ')'.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let (head, tail) = stat.rsplit_once(')')?;
                    let comm = head.split_once('(')?.1;
                    let ppid = tail.split_whitespace().nth(1)?;
                    Some(ppid == me && "pulumi-resource-pgentra".starts_with(comm))
                })
                .unwrap_or(false)
        })
        .collect();
    match children[..] {
        [pid] => pid,
        _ => panic!("expected one running plugin process, found {children:?}"),
    }
}

/// The CPU time (user + system, all threads) process `pid` ("self" for this one) used so far.
fn cpu_time(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/stat: {e}"));
    // After the `(comm)` field: state is field 3, utime 14 and stime 15 (in clock ticks).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, tail)| tail.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .map(|&i| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .expect("utime and stime in /proc stat")
        })
        .sum();
    // Linux reports these in USER_HZ, 100 per second on every architecture it exposes.
    Duration::from_millis(ticks * 10)
}

/// The process's peak resident set (VmHWM), in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/status of the plugin: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status")
}
