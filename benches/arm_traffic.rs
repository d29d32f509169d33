//! The example stack's Azure Resource Manager traffic, counted by the emulator: the resources
//! of examples/python (server, Entra admin, firewall rule, database, managed identity,
//! federated credential, a server parameter, then the Principals and Grants inside the database)
//! driven through the provider plugin as the engine drives them, one at a time in the stack's
//! dependency order so each recorded exchange belongs to one resource:
//!
//! 1. a preview of the new stack (Check, then Create with preview): no ARM request at all;
//! 2. an `up` (Check, then Create): per resource exactly the take-over guard's GET, the PUT (or
//!    PATCH), one poll per Retry-After interval of the long-running operation (the Retry-After
//!    the emulator sent with the 202, read from its record) and the final GET; none for a SQL
//!    resource;
//! 3. a preview of the deployed, unchanged stack (Check, then Diff against the state): none.
//!
//! Prints, per resource type, the requests seen against the expected count, with each request
//! classified by its path (the resource's own ID, an operation status URL, the parent server).
//!
//! `cargo bench --bench arm_traffic` (needs PostgreSQL on 127.0.0.1:5432 for the SQL resources;
//! scripts/test starts one). `PGENTRA_BENCH_LRO_MS=N` (default 1500) sets how long each
//! long-running operation runs and `PGENTRA_BENCH_RETRY_AFTER_S=N` (default 1) the Retry-After
//! the emulator answers with.

#[path = "support/report.rs"]
mod report;
#[path = "support/binaries.rs"]
mod support;

use report::{bench_row, env_number};

use pgentra::cli::demo::engine::{serve_engine, ProviderPlugin, Rpc, Target};
use pgentra::props::{unknown, Props};
use pgentra_emulator::{Emulator, EmulatorOptions, Exchange, RunningEmulator};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const RG: &str = "rg-myapp-prod";
const LOCATION: &str = "eastus";
const DATABASE: &str = "myappdb";
const READ_WRITE: [&str; 4] = ["SELECT", "INSERT", "UPDATE", "DELETE"];

fn main() {
    let lro_ms = env_number("PGENTRA_BENCH_LRO_MS", 1500);
    let retry_after_s = env_number("PGENTRA_BENCH_RETRY_AFTER_S", 1);
    assert!(
        retry_after_s >= 1,
        "PGENTRA_BENCH_RETRY_AFTER_S must be at least 1: the provider never polls faster than once a second"
    );
    report::require_postgres();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench(lro_ms, retry_after_s));
}

/// The names the stack's config gives (examples/README.md), made unique per run where they
/// become PostgreSQL roles: roles are the backend cluster's, shared with other emulators.
struct Names {
    server: String,
    identity: String,
    admin_group: String,
    admin_group_object_id: String,
    readwrite_group: String,
    developer: String,
    tenant_id: String,
}

/// One resource of the stack: its type, name, and its inputs given what the resources before
/// it produced (an output not known yet, as in a preview, is the engine's unknown).
struct Declared {
    type_token: &'static str,
    name: &'static str,
    inputs: Box<dyn Fn(&Outputs) -> Value>,
}

/// The outputs of the resources so far, by resource name.
#[derive(Default)]
struct Outputs(BTreeMap<&'static str, Props>);

impl Outputs {
    /// `resource.property`, or unknown while the resource has not produced it.
    fn get(&self, resource: &str, property: &str) -> Value {
        self.0
            .get(resource)
            .and_then(|p| p.get(property))
            .cloned()
            .unwrap_or_else(unknown)
    }
}

/// The example stack (examples/python/__main__.py) plus a server parameter, in dependency order.
fn example_stack(
    names: &Names,
    postgres_port: &std::sync::Arc<std::sync::OnceLock<u16>>,
) -> Vec<Declared> {
    let server_name = names.server.clone();
    let on_server = move |extra: Value| {
        let mut inputs = json!({"resourceGroupName": RG, "serverName": server_name});
        inputs
            .as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        inputs
    };
    let port = postgres_port.clone();
    // Every Principal and Grant signs in as the admin group, on the server's address.
    let connection = move |o: &Outputs| {
        let mut c = json!({"host": o.get("server", "fullyQualifiedDomainName"), "username": o.get("admin", "principalName")});
        // The emulator's gateway listens on 5432 of the server's address unless that is taken.
        if let Some(port) = port.get() {
            c["port"] = json!(port);
        }
        c
    };
    let mut stack = vec![
        Declared {
            type_token: "pgentra:index:FlexibleServer",
            name: "server",
            inputs: Box::new({
                let (server, tenant) = (names.server.clone(), names.tenant_id.clone());
                move |_| {
                    json!({
                        "resourceGroupName": RG, "serverName": server, "location": LOCATION, "version": "16",
                        "skuName": "Standard_D2s_v3", "storageSizeGb": 64, "activeDirectoryAuth": "Enabled",
                        "passwordAuth": "Disabled", "tenantId": tenant, "publicNetworkAccess": "Enabled",
                    })
                }
            }),
        },
        Declared {
            type_token: "pgentra:index:AdAdmin",
            name: "admin",
            inputs: Box::new({
                let on_server = on_server.clone();
                let (group, object_id, tenant) = (
                    names.admin_group.clone(),
                    names.admin_group_object_id.clone(),
                    names.tenant_id.clone(),
                );
                move |_| {
                    on_server(
                        json!({"objectId": object_id, "principalName": group, "principalType": "Group", "tenantId": tenant}),
                    )
                }
            }),
        },
        Declared {
            type_token: "pgentra:index:FirewallRule",
            name: "deployerFirewallRule",
            inputs: Box::new({
                let on_server = on_server.clone();
                move |_| {
                    on_server(
                        json!({"name": "allow-deployer", "startIpAddress": "203.0.113.7", "endIpAddress": "203.0.113.7"}),
                    )
                }
            }),
        },
        Declared {
            type_token: "pgentra:index:Database",
            name: "database",
            inputs: Box::new({
                let on_server = on_server.clone();
                move |_| on_server(json!({"name": DATABASE}))
            }),
        },
        Declared {
            type_token: "pgentra:index:ServerParameter",
            name: "extensions",
            inputs: Box::new({
                let on_server = on_server.clone();
                move |_| {
                    on_server(json!({"name": "azure.extensions", "value": "pgcrypto,uuid-ossp"}))
                }
            }),
        },
        Declared {
            type_token: "pgentra:index:ManagedIdentity",
            name: "appIdentity",
            inputs: Box::new({
                let identity = names.identity.clone();
                move |_| json!({"resourceGroupName": RG, "name": identity, "location": LOCATION})
            }),
        },
        Declared {
            type_token: "pgentra:index:FederatedCredential",
            name: "appFederatedCredential",
            inputs: Box::new(move |o| {
                json!({
                    "resourceGroupName": RG, "identityName": o.get("appIdentity", "name"), "name": "fc-myapp-aks",
                    "issuer": "https://oidc.example.test/issuer", "subject": "system:serviceaccount:myapp-ns:myapp-sa",
                    "audiences": ["api://AzureADTokenExchange"],
                })
            }),
        },
        Declared {
            type_token: "pgentra:index:Principal",
            name: "appPrincipal",
            inputs: Box::new({
                let connection = connection.clone();
                move |o| {
                    json!({
                        "connection": connection(o), "name": o.get("appIdentity", "name"),
                        "objectId": o.get("appIdentity", "principalId"), "principalType": "service",
                    })
                }
            }),
        },
        Declared {
            type_token: "pgentra:index:Principal",
            name: "readwritePrincipal",
            inputs: Box::new({
                let (connection, group) = (connection.clone(), names.readwrite_group.clone());
                move |o| json!({"connection": connection(o), "name": group})
            }),
        },
        Declared {
            type_token: "pgentra:index:Principal",
            name: "developerPrincipal",
            inputs: Box::new({
                let (connection, developer) = (connection.clone(), names.developer.clone());
                move |o| json!({"connection": connection(o), "name": developer})
            }),
        },
    ];
    // The seed's grants: the app's with default privileges on future tables, the group's without.
    for (prefix, principal, future_tables) in [
        ("app", "appPrincipal", true),
        ("readwrite", "readwritePrincipal", false),
    ] {
        let kinds: &[(&'static str, Value)] = &[
            (
                "Connect",
                json!({"objectType": "database", "privileges": ["CONNECT"]}),
            ),
            (
                "SchemaUsage",
                json!({"objectType": "schema", "schema": "public", "privileges": ["USAGE"]}),
            ),
            (
                "Tables",
                json!({"objectType": "table", "schema": "public", "privileges": READ_WRITE}),
            ),
            (
                "FutureTables",
                json!({"objectType": "table", "schema": "public", "privileges": READ_WRITE, "defaultPrivileges": true}),
            ),
        ];
        for (suffix, what) in kinds {
            if *suffix == "FutureTables" && !future_tables {
                continue;
            }
            let name: &'static str = Box::leak(format!("{prefix}{suffix}").into_boxed_str());
            let (connection, what) = (connection.clone(), what.clone());
            stack.push(Declared {
                type_token: "pgentra:index:Grant",
                name,
                inputs: Box::new(move |o| {
                    let mut grant = json!({"connection": connection(o), "role": o.get(principal, "name"), "database": o.get("database", "name")});
                    grant
                        .as_object_mut()
                        .expect("object")
                        .extend(what.as_object().expect("object").clone());
                    grant
                }),
            });
        }
    }
    stack.push(Declared {
        type_token: "pgentra:index:Grant",
        name: "developerMembership",
        inputs: Box::new(move |o| {
            json!({
                "connection": connection(o), "role": o.get("developerPrincipal", "name"),
                "database": o.get("database", "name"), "objectType": "role",
                "objects": [o.get("readwritePrincipal", "name")], "privileges": [],
            })
        }),
    });
    stack
}

async fn bench(lro_ms: u64, retry_after_s: u64) {
    let binary = support::release_binary("pgentra-pulumi", "pulumi-resource-pgentra");
    let emu = Emulator::start(EmulatorOptions {
        lro_duration: Duration::from_millis(lro_ms),
        retry_after_secs: retry_after_s,
        ..EmulatorOptions::default()
    })
    .await
    .expect("start the emulator");
    let work_dir =
        std::env::temp_dir().join(format!("pgentra-bench-arm-traffic-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir).expect("the bench's work folder");
    let config = emu
        .provider_config_with_ca(&work_dir.join("ca.pem"))
        .expect("provider config");
    let names = prepare_tenant(&emu, &config).await;
    let postgres_port = std::sync::Arc::new(std::sync::OnceLock::new());
    let stack = example_stack(&names, &postgres_port);
    let (engine_address, _logs) = serve_engine().await.expect("the engine's Log service");

    // 1. The preview of the new stack.
    let plugin = start_plugin(&binary, &engine_address, &work_dir, &config).await;
    let mark = emu.arm_exchanges().len();
    let mut planned = Outputs::default();
    for resource in &stack {
        let target = Target {
            type_token: resource.type_token,
            name: resource.name,
        };
        let checked = check(
            &plugin.rpc,
            &target,
            &Props::default(),
            &(resource.inputs)(&planned),
        )
        .await;
        let (_, outputs) = plugin
            .rpc
            .create(&target, &checked, true)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        planned.0.insert(resource.name, outputs);
    }
    let preview_requests = since(&emu, mark);
    plugin.shutdown().await;

    // 2. The `up`: each resource's exchanges are those recorded while it was created.
    let plugin = start_plugin(&binary, &engine_address, &work_dir, &config).await;
    let mut deployed = Outputs::default();
    let mut state: Vec<(String, Props, Props)> = vec![];
    let mut counts: Vec<Count> = vec![];
    for resource in &stack {
        let target = Target {
            type_token: resource.type_token,
            name: resource.name,
        };
        let mark = emu.arm_exchanges().len();
        let inputs = check(
            &plugin.rpc,
            &target,
            &Props::default(),
            &(resource.inputs)(&deployed),
        )
        .await;
        let (id, outputs) = plugin
            .rpc
            .create(&target, &inputs, false)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        counts.push(Count::classify(resource, &id, &since(&emu, mark), lro_ms));
        if resource.name == "server" {
            let host = outputs
                .str("fullyQualifiedDomainName")
                .expect("the server's address");
            let gateway = emu
                .pg_gateway(host)
                .await
                .expect("the server's PostgreSQL gateway");
            postgres_port
                .set(gateway.addr.port())
                .expect("the port is set once");
        }
        deployed.0.insert(resource.name, outputs.clone());
        state.push((id, inputs, outputs));
    }
    plugin.shutdown().await;

    // 3. The preview of the deployed stack, unchanged: Check, then Diff against the state.
    let plugin = start_plugin(&binary, &engine_address, &work_dir, &config).await;
    let mark = emu.arm_exchanges().len();
    let mut changed = vec![];
    for (resource, (id, stored_inputs, outputs)) in stack.iter().zip(&state) {
        let target = Target {
            type_token: resource.type_token,
            name: resource.name,
        };
        let news = check(
            &plugin.rpc,
            &target,
            stored_inputs,
            &(resource.inputs)(&deployed),
        )
        .await;
        let diff = plugin
            .rpc
            .diff(&target, id, outputs, stored_inputs, &news)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if !diff.changed.is_empty() {
            changed.push(format!("{} {:?}", resource.name, diff.changed));
        }
    }
    let second_preview_requests = since(&emu, mark);
    plugin.shutdown().await;
    emu.clean_up_backend().await;
    emu.shutdown();
    let _ = std::fs::remove_dir_all(&work_dir);

    report(
        &counts,
        &preview_requests,
        &second_preview_requests,
        &changed,
        lro_ms,
        retry_after_s,
    );
}

/// What an administrator prepares before `pulumi up` (examples/emulator_prepare.py): the
/// resource group, the admin group with the deployer in it, the readwrite group and the
/// developer. Setup, not the stack: done before anything is counted.
async fn prepare_tenant(emu: &RunningEmulator, config: &BTreeMap<String, String>) -> Names {
    let run = std::process::id();
    let directory = emu.directory();
    let deployer = emu.deployer();
    let admin_group = format!("PG Admins Group {run}");
    let group = directory.add_group(&admin_group, &[deployer.object_id.as_str()]);
    let readwrite_group = format!("myapp-db-readwrite-{run}");
    directory.add_group(&readwrite_group, &[]);
    let developer = format!("developer-{run}@yourcompany.com");
    directory.add_user(&developer, "Developer");
    let provider_config = pgentra::config::ProviderConfig::from_settings(config)
        .expect("the emulator's provider config");
    let azure = pgentra::azure::Azure::from_config(&provider_config).expect("an ARM client");
    azure
        .arm
        .put(
            &format!(
                "/subscriptions/{}/resourcegroups/{RG}",
                emu.subscription_id()
            ),
            "2021-04-01",
            &json!({"location": LOCATION}),
        )
        .await
        .expect("create the resource group");
    Names {
        server: format!("pg-myapp-{run}"),
        identity: format!("id-myapp-{run}"),
        admin_group,
        admin_group_object_id: group.object_id,
        readwrite_group,
        developer,
        tenant_id: emu.tenant_id().to_owned(),
    }
}

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

async fn check(rpc: &Rpc, target: &Target<'_>, olds: &Props, news: &Value) -> Props {
    rpc.check(target, olds, &Props::from_json(news.clone()))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The ARM exchanges recorded from the `mark`-th on.
fn since(emu: &RunningEmulator, mark: usize) -> Vec<Exchange> {
    emu.arm_exchanges().split_off(mark)
}

/// One resource's create, its exchanges sorted by what they were for.
struct Count {
    type_token: &'static str,
    name: &'static str,
    /// GETs of the resource before its write (the take-over guard).
    guard_gets: usize,
    /// PUTs and PATCHes of the resource.
    writes: usize,
    /// GETs of the operation's status URLs.
    polls: usize,
    /// GETs of the resource after its write.
    final_gets: usize,
    /// Anything else (a GET of the parent server, another resource), as "METHOD path".
    others: Vec<String>,
    /// The Retry-After of the write's 202 (seconds); None when the write answered at once.
    retry_after_s: Option<u64>,
    expected: Expected,
}

/// What the target allows for one create.
struct Expected {
    guard_gets: usize,
    writes: usize,
    polls: usize,
    final_gets: usize,
    why: String,
}

impl Expected {
    fn total(&self) -> usize {
        self.guard_gets + self.writes + self.polls + self.final_gets
    }
}

impl Count {
    fn classify(resource: &Declared, id: &str, exchanges: &[Exchange], lro_ms: u64) -> Self {
        let own = id.to_ascii_lowercase();
        let mut count = Count {
            type_token: resource.type_token,
            name: resource.name,
            guard_gets: 0,
            writes: 0,
            polls: 0,
            final_gets: 0,
            others: vec![],
            retry_after_s: None,
            expected: Expected {
                guard_gets: 0,
                writes: 0,
                polls: 0,
                final_gets: 0,
                why: String::new(),
            },
        };
        let mut written = false;
        for e in exchanges {
            let path = e.path.to_ascii_lowercase();
            let is_poll =
                path.contains("/azureasyncoperation/") || path.contains("/operationresults/");
            match (e.method.as_str(), path == own, is_poll) {
                ("GET", true, _) if !written => count.guard_gets += 1,
                ("GET", true, _) => count.final_gets += 1,
                ("PUT" | "PATCH", true, _) => {
                    written = true;
                    count.writes += 1;
                    if e.status == 202 {
                        count.retry_after_s = e.retry_after.as_deref().and_then(|s| s.parse().ok());
                    }
                }
                ("GET", false, true) => count.polls += 1,
                _ => count
                    .others
                    .push(format!("{} {}", e.method, describe_path(&e.path, &own))),
            }
        }
        count.expected = expected(resource.type_token, count.retry_after_s, lro_ms);
        count
    }

    fn seen(&self) -> usize {
        self.guard_gets + self.writes + self.polls + self.final_gets + self.others.len()
    }

    fn met(&self) -> bool {
        let e = &self.expected;
        self.others.is_empty()
            && (self.guard_gets, self.writes, self.polls, self.final_gets)
                == (e.guard_gets, e.writes, e.polls, e.final_gets)
    }
}

/// The target for one create of `type_token`: the guard's GET (none for a server parameter,
/// which always exists: creating one sets its value), the write, and for a long-running
/// operation ceil(LRO / Retry-After) polls and the final GET. SQL resources: nothing.
fn expected(type_token: &str, retry_after_s: Option<u64>, lro_ms: u64) -> Expected {
    let short = type_token.rsplit(':').next().unwrap_or(type_token);
    match short {
        "Principal" | "Grant" => Expected {
            guard_gets: 0,
            writes: 0,
            polls: 0,
            final_gets: 0,
            why: "SQL only".into(),
        },
        _ => {
            let guard_gets = usize::from(short != "ServerParameter");
            match retry_after_s {
                Some(retry_after) if retry_after > 0 => {
                    let polls = lro_ms.div_ceil(retry_after * 1000) as usize;
                    Expected {
                        guard_gets,
                        writes: 1,
                        polls,
                        final_gets: 1,
                        why: format!(
                            "{}PUT 1 + polls {polls} (ceil({lro_ms} ms / {retry_after} s)) + final GET 1",
                            if guard_gets == 1 { "guard GET 1 + " } else { "" }
                        ),
                    }
                }
                // Answered at once (or a 202 without a usable Retry-After: then the polls the
                // provider made are judged only by the other counts).
                _ => Expected {
                    guard_gets,
                    writes: 1,
                    polls: 0,
                    final_gets: 0,
                    why: format!(
                        "{}PUT 1 (answered at once: no operation to poll)",
                        if guard_gets == 1 {
                            "guard GET 1 + "
                        } else {
                            ""
                        }
                    ),
                },
            }
        }
    }
}

/// A path relative to the resource's own ID when it is an ancestor (`parent server`), else as is.
fn describe_path(path: &str, own: &str) -> String {
    let lower = path.to_ascii_lowercase();
    if own.starts_with(&lower) && own.len() > lower.len() {
        let kind = lower.rsplit('/').nth(1).unwrap_or_default();
        format!("{path} (its parent: {kind})")
    } else {
        path.to_owned()
    }
}

fn report(
    counts: &[Count],
    preview: &[Exchange],
    second_preview: &[Exchange],
    changed: &[String],
    lro_ms: u64,
    retry_after_s: u64,
) {
    println!(
        "ARM requests of the example stack through the plugin (emulator: operations run {lro_ms} ms, Retry-After: {retry_after_s} s):"
    );
    println!(
        "  preview of the new stack ({} resources, Check + Create(preview)): {} ARM requests (target 0){}",
        counts.len(),
        preview.len(),
        listing(preview)
    );
    println!("  up (Check + Create), per resource:");
    println!(
        "    {:<24} {:<20} guard write polls final other  seen expected  met",
        "resource", "type"
    );
    for c in counts {
        println!(
            "    {:<24} {:<20} {:>5} {:>5} {:>5} {:>5} {:>5}  {:>4} {:>8}  {}",
            c.name,
            short(c.type_token),
            c.guard_gets,
            c.writes,
            c.polls,
            c.final_gets,
            c.others.len(),
            c.seen(),
            c.expected.total(),
            if c.met() { "met" } else { "MISSED" }
        );
        for other in &c.others {
            println!("      extra: {other}");
        }
    }
    println!(
        "  preview of the deployed stack, unchanged (Check + Diff): {} ARM requests (target 0){}; Diff found changes in {}",
        second_preview.len(),
        listing(second_preview),
        if changed.is_empty() { "none".to_owned() } else { changed.join(", ") }
    );

    // One row per resource type: its creates' requests summed against the target's.
    let mut types: Vec<&'static str> = counts.iter().map(|c| c.type_token).collect();
    types.dedup();
    println!("  per type:");
    for type_token in types {
        let of_type: Vec<&Count> = counts
            .iter()
            .filter(|c| c.type_token == type_token)
            .collect();
        let seen: usize = of_type.iter().map(|c| c.seen()).sum();
        let expected: usize = of_type.iter().map(|c| c.expected.total()).sum();
        let met = of_type.iter().all(|c| c.met());
        let first = of_type[0];
        let extra: Vec<&String> = of_type.iter().flat_map(|c| &c.others).collect();
        let n = of_type.len();
        let each = if n > 1 {
            format!(" ({n} resources)")
        } else {
            String::new()
        };
        let measured = format!(
            "{seen} requests{each}: guard GET {}, write {}, polls {}, final GET {}, other {}",
            of_type.iter().map(|c| c.guard_gets).sum::<usize>(),
            of_type.iter().map(|c| c.writes).sum::<usize>(),
            of_type.iter().map(|c| c.polls).sum::<usize>(),
            of_type.iter().map(|c| c.final_gets).sum::<usize>(),
            extra.len(),
        );
        let target = if n > 1 {
            format!("{expected} = {n} x ({})", first.expected.why)
        } else {
            format!("{expected} = {}", first.expected.why)
        };
        println!(
            "    {:<20} seen {seen:>2}, expected {expected:>2}: {}{}",
            short(type_token),
            if met { "met" } else { "MISSED" },
            if extra.is_empty() {
                String::new()
            } else {
                format!(
                    " (extra: {})",
                    extra
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
        );
        println!("      target {target}");
        bench_row(
            &format!("arm-traffic-{}", short(type_token)),
            &format!(
                "ARM requests to create the example's {} (up)",
                short(type_token)
            ),
            &measured,
            &target,
            Some(met),
        );
    }
    bench_row(
        "arm-traffic-preview",
        "ARM requests during a preview of the new example stack",
        &format!("{} requests", preview.len()),
        "0",
        Some(preview.is_empty()),
    );
    bench_row(
        "arm-traffic-preview-deployed",
        "ARM requests during a preview of the deployed, unchanged example stack",
        &format!("{} requests", second_preview.len()),
        "0",
        Some(second_preview.is_empty()),
    );
}

fn listing(exchanges: &[Exchange]) -> String {
    if exchanges.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = exchanges
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    format!(": {}", lines.join("; "))
}

fn short(type_token: &str) -> &str {
    type_token.rsplit(':').next().unwrap_or(type_token)
}
