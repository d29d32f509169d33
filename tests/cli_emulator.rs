//! `pgentra emulator`, the real binary in its own process: what it prints points a client at it
//! (the same configuration a `pulumi up` gets), and each server's PostgreSQL gateway address is
//! printed as the server appears and listed by the admin API.

mod azure_support;
mod cli_support;

use azure_support::{server_body, PG, RG};
use cli_support::{claims, pgentra, unique, SYSTEM_PATH};
use pgentra::azure::Azure;
use pgentra::config::ProviderConfig;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// A running `pgentra emulator`, its stdout line by line; stopped (SIGTERM, as Ctrl-C) when dropped.
struct EmulatorProcess {
    child: Child,
    lines: Receiver<String>,
}

impl EmulatorProcess {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pgentra"))
            .arg("emulator")
            .args(args)
            .env_clear()
            .env("PATH", SYSTEM_PATH)
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting pgentra emulator");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The next line, within `wait`.
    fn next_line(&self, wait: Duration) -> String {
        self.lines.recv_timeout(wait).unwrap_or_else(|e| {
            panic!("pgentra emulator printed nothing more within {wait:?}: {e}")
        })
    }

    /// Lines up to and including the first that `done` accepts.
    fn lines_until(&self, wait: Duration, done: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + wait;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "pgentra emulator did not print the expected line; it printed:\n{}",
                    seen.join("\n")
                )
            });
            seen.push(line);
            if done(seen.last().unwrap()) {
                return seen;
            }
        }
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn provider_config(map: &BTreeMap<String, String>) -> ProviderConfig {
    for key in [
        "subscriptionId",
        "tenantId",
        "clientId",
        "clientSecret",
        "armEndpoint",
        "authorityHost",
        "caCertFile",
    ] {
        assert!(map.contains_key(key), "{key} printed");
    }
    ProviderConfig::from_settings(map).expect("the printed config checks")
}

/// Undoes the printed lines' shell quoting ('...' with '\'' for a quote).
fn shell_word(word: &str) -> String {
    match word.strip_prefix('\'').and_then(|w| w.strip_suffix('\'')) {
        Some(inner) => inner.replace("'\\''", "'"),
        None => word.to_string(),
    }
}

#[test]
fn json_prints_one_line_whose_config_signs_in_and_reaches_arm() {
    let emulator = EmulatorProcess::start(&["--json", "--lro-ms", "50"]);
    let line = emulator.next_line(Duration::from_secs(60));
    let printed: Value = serde_json::from_str(&line).expect("one JSON line");
    let config: BTreeMap<String, String> =
        serde_json::from_value(printed["providerConfig"].clone()).expect("providerConfig");
    for key in [
        "armEndpoint",
        "authorityHost",
        "caCertFile",
        "subscriptionId",
        "tenantId",
        "clientId",
        "clientSecret",
    ] {
        assert!(config.contains_key(key), "providerConfig.{key} in {line}");
    }
    let rt = runtime();
    // The environment it describes signs `pgentra token` in.
    let env: Vec<(String, String)> = [
        ("tenantId", "AZURE_TENANT_ID"),
        ("clientId", "AZURE_CLIENT_ID"),
        ("clientSecret", "AZURE_CLIENT_SECRET"),
        ("authorityHost", "AZURE_AUTHORITY_HOST"),
        ("caCertFile", "PGENTRA_CA_CERT_FILE"),
    ]
    .iter()
    .map(|(key, var)| (var.to_string(), config[*key].clone()))
    .collect();
    let run = rt.block_on(pgentra(&["token", "--json"], &env));
    run.expect_code(0);
    let out: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let token = claims(out["accessToken"].as_str().unwrap());
    assert_eq!(token["aud"], pgentra_emulator::POSTGRES_RESOURCE);
    assert_eq!(token["appid"].as_str(), Some(config["clientId"].as_str()));
    assert_eq!(token["tid"].as_str(), Some(config["tenantId"].as_str()));
    // And the provider configuration reaches its ARM: a missing resource group is a 404.
    let azure = Azure::from_config(&provider_config(&config)).unwrap();
    let rg = format!(
        "/subscriptions/{}/resourcegroups/none-here",
        config["subscriptionId"]
    );
    assert!(rt.block_on(azure.arm.get(&rg, RG)).unwrap().is_none());
    // Nothing else was printed.
    assert!(emulator
        .lines
        .recv_timeout(Duration::from_millis(300))
        .is_err());
}

#[test]
fn it_prints_pulumi_config_and_exports_then_each_servers_gateway_address() {
    let emulator = EmulatorProcess::start(&["--lro-ms", "50"]);
    let intro = emulator.lines_until(Duration::from_secs(60), |l| {
        l.trim_start().starts_with("export PGENTRA_CA_CERT_FILE=")
    });
    let mut config = BTreeMap::new();
    let mut exports = BTreeMap::new();
    for line in &intro {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["pulumi", "config", "set", "--secret", key, value] => {
                assert_eq!(*key, "pgentra:clientSecret", "only the secret is --secret");
                config.insert("clientSecret".to_string(), shell_word(value));
            }
            ["pulumi", "config", "set", key, value] => {
                config.insert(
                    key.strip_prefix("pgentra:").unwrap().to_string(),
                    shell_word(value),
                );
            }
            ["export", assignment] => {
                let (var, value) = assignment.split_once('=').unwrap();
                exports.insert(var.to_string(), shell_word(value));
            }
            _ => {}
        }
    }
    let intro_text = intro.join("\n");
    let config_keys: Vec<&str> = config.keys().map(String::as_str).collect();
    assert_eq!(
        config_keys,
        [
            "armEndpoint",
            "authorityHost",
            "caCertFile",
            "clientId",
            "clientSecret",
            "subscriptionId",
            "tenantId"
        ],
        "{intro_text}"
    );
    assert_eq!(exports["AZURE_CLIENT_SECRET"], config["clientSecret"]);
    assert_eq!(exports["PGENTRA_ARM_ENDPOINT"], config["armEndpoint"]);
    assert_eq!(exports["AZURE_SUBSCRIPTION_ID"], config["subscriptionId"]);

    // A stack creates a server through the printed configuration.
    let rt = runtime();
    let azure = Azure::from_config(&provider_config(&config)).unwrap();
    let sub = &config["subscriptionId"];
    let (rg, name) = (unique("rg-cli-emu"), unique("pg-cli-emu"));
    rt.block_on(async {
        azure
            .arm
            .put(&format!("/subscriptions/{sub}/resourcegroups/{rg}"), RG, &json!({"location": "eastus"}))
            .await
            .expect("resource group");
        azure
            .arm
            .put(
                &format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}"),
                PG,
                &without_version(server_body()),
            )
            .await
            .expect("server");
    });
    let prefix = format!("server {rg}/{name}: PostgreSQL at ");
    let announced = emulator.lines_until(Duration::from_secs(20), |l| l.starts_with(&prefix));
    let address = announced.last().unwrap()[prefix.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let usage = emulator.next_line(Duration::from_secs(5));
    assert!(
        usage.contains(&format!("pgentra psql {address} postgres")),
        "{usage}"
    );

    // The admin API lists the same address for the server.
    // (Read without a token: the ARM client sends its token to resource paths only.)
    let admin = pgentra::azure::http::build_client(Some(&config["caCertFile"])).unwrap();
    let text = rt
        .block_on(async {
            admin
                .get(format!("{}/_emulator/state", config["armEndpoint"]))
                .send()
                .await?
                .text()
                .await
        })
        .expect("the emulator's state");
    let state: Value = serde_json::from_str(&text).unwrap();
    let server = state["flexibleServers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name.as_str())
        .expect("the server in the state");
    assert_eq!(server["pgGateway"]["address"], address.as_str(), "{server}");
    let fqdn = server["properties"]["fullyQualifiedDomainName"]
        .as_str()
        .unwrap();
    assert_eq!(server["pgGateway"]["host"], fqdn);
    assert_eq!(
        server["pgGateway"]["port"].as_u64().map(|p| p.to_string()),
        address.rsplit(':').next().map(str::to_string)
    );
}

#[test]
fn json_describes_terraforms_provider_block_and_arm_environment() {
    let emulator = EmulatorProcess::start(&["--json", "--lro-ms", "50"]);
    let line = emulator.next_line(Duration::from_secs(60));
    let printed: Value = serde_json::from_str(&line).expect("one JSON line");
    let config: BTreeMap<String, String> =
        serde_json::from_value(printed["providerConfig"].clone()).expect("providerConfig");
    let env: BTreeMap<String, String> =
        serde_json::from_value(printed["terraform"]["environment"].clone())
            .expect("terraform.environment");
    let names: Vec<&str> = env.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "ARM_CLIENT_ID",
            "ARM_CLIENT_SECRET",
            "ARM_SUBSCRIPTION_ID",
            "ARM_TENANT_ID",
            "AZURE_AUTHORITY_HOST",
            "PGENTRA_ARM_ENDPOINT",
            "PGENTRA_CA_CERT_FILE"
        ]
    );
    assert_eq!(env["ARM_CLIENT_SECRET"], config["clientSecret"]);
    assert_eq!(env["ARM_SUBSCRIPTION_ID"], config["subscriptionId"]);
    assert_eq!(env["PGENTRA_ARM_ENDPOINT"], config["armEndpoint"]);
    let block = printed["terraform"]["providerBlock"]
        .as_str()
        .expect("providerBlock");
    assert!(block.starts_with("provider \"pgentra\" {\n"), "{block}");
    assert!(
        block.contains(&format!("arm_endpoint    = \"{}\"", config["armEndpoint"])),
        "{block}"
    );
    assert!(
        block.contains(&format!("tenant_id       = \"{}\"", config["tenantId"])),
        "{block}"
    );
    assert!(
        !block.contains(&config["clientSecret"]),
        "the secret stays out of the block: {block}"
    );

    // The ARM_* names (not the AZURE_* ones) sign `pgentra token` in, as they sign Terraform in.
    let env: Vec<(String, String)> = env.into_iter().collect();
    let rt = runtime();
    let run = rt.block_on(pgentra(&["token", "--json"], &env));
    run.expect_code(0);
    let out: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let token = claims(out["accessToken"].as_str().unwrap());
    assert_eq!(token["appid"].as_str(), Some(config["clientId"].as_str()));
}

#[test]
fn it_prints_terraforms_provider_block_and_arm_exports_beside_pulumis() {
    let emulator = EmulatorProcess::start(&["--lro-ms", "50"]);
    let intro = emulator.lines_until(Duration::from_secs(60), |l| {
        l.trim_start().starts_with("The exports also sign in")
    });
    let text = intro.join("\n");
    let mut exports = BTreeMap::new();
    for line in &intro {
        if let ["export", assignment] = line.split_whitespace().collect::<Vec<_>>().as_slice() {
            let (var, value) = assignment.split_once('=').unwrap();
            exports.insert(var.to_string(), shell_word(value));
        }
    }
    for var in [
        "ARM_SUBSCRIPTION_ID",
        "ARM_TENANT_ID",
        "ARM_CLIENT_ID",
        "ARM_CLIENT_SECRET",
    ] {
        assert!(exports.contains_key(var), "export {var} printed:\n{text}");
    }
    assert_eq!(exports["ARM_CLIENT_SECRET"], exports["AZURE_CLIENT_SECRET"]);
    assert_eq!(exports["ARM_TENANT_ID"], exports["AZURE_TENANT_ID"]);
    let start = intro
        .iter()
        .position(|l| l.trim() == "provider \"pgentra\" {")
        .unwrap_or_else(|| panic!("a provider block:\n{text}"));
    let block: Vec<&str> = intro[start..]
        .iter()
        .map(|l| l.trim())
        .take_while(|l| *l != "}")
        .collect();
    let attributes: Vec<&str> = block[1..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        attributes,
        [
            "subscription_id",
            "tenant_id",
            "client_id",
            "arm_endpoint",
            "authority_host",
            "ca_cert_file"
        ],
        "{text}"
    );
    assert!(
        block.contains(
            &format!("arm_endpoint    = \"{}\"", exports["PGENTRA_ARM_ENDPOINT"]).as_str()
        ),
        "{text}"
    );
    assert!(
        !text.contains("client_secret"),
        "no client_secret in the block:\n{text}"
    );
}

/// A server body that names no version (the server is then the backend PostgreSQL's).
fn without_version(mut body: Value) -> Value {
    body["properties"]
        .as_object_mut()
        .unwrap()
        .remove("version");
    body
}

/// The backend PostgreSQL's major version, as it says itself.
fn backend_major() -> String {
    let out = Command::new("psql")
        .env_clear()
        .env("PATH", SYSTEM_PATH)
        .args([
            "-X",
            "-A",
            "-t",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
        ])
        .arg("SELECT current_setting('server_version_num')::int / 10000")
        .output()
        .expect("running psql");
    assert!(
        out.status.success(),
        "no PostgreSQL on 127.0.0.1:5432 ({}): start PostgreSQL: pg_ctlcluster 15 main start",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs `script` in sh, with pgentra (this build) and the system's tools on PATH.
fn sh(script: &str) -> std::process::Output {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_pgentra"))
        .parent()
        .unwrap()
        .display()
        .to_string();
    Command::new("sh")
        .env_clear()
        .env("PATH", format!("{bin}:{SYSTEM_PATH}"))
        .args(["-c", script])
        .output()
        .expect("running sh")
}

#[test]
fn server_flag_starts_with_a_ready_server_whose_printed_commands_sign_in() {
    let (rg, name, admin) = (unique("rg-ready"), unique("pg-ready"), unique("PG Admins"));
    let server = format!("{rg}/{name}");
    let emulator = EmulatorProcess::start(&[
        "--server",
        &server,
        "--admin",
        &admin,
        "--database",
        "appdb",
        "--lro-ms",
        "50",
    ]);
    let printed = emulator.lines_until(Duration::from_secs(90), |l| {
        l.trim_start().starts_with("pgentra doctor ")
    });
    let text = printed.join("\n");
    // What it made.
    let major = backend_major();
    assert!(
        text.contains(&format!(
            "server {server}: ready, PostgreSQL {major}, Microsoft Entra authentication on, \
             password authentication off"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("Entra admin  {admin} (Group, object id ")),
        "{text}"
    );
    assert!(text.contains("database     appdb"), "{text}");

    // The commands it printed work as printed, in a shell with the exports it printed.
    let start = printed
        .iter()
        .position(|l| l.starts_with("Try it"))
        .unwrap_or_else(|| panic!("a `Try it` block:\n{text}"));
    let block: Vec<&str> = printed[start + 1..]
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    let exports: Vec<&str> = block
        .iter()
        .copied()
        .filter(|l| l.starts_with("export "))
        .collect();
    assert_eq!(exports.len(), 7, "{text}");
    let command = |prefix: &str| {
        let line = block
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("a `{prefix}` line:\n{text}"));
        format!("{}\n{line}", exports.join("\n"))
    };
    let psql = sh(&command("pgentra psql "));
    let psql_out = String::from_utf8_lossy(&psql.stdout);
    assert!(
        psql.status.success(),
        "{psql_out}{}",
        String::from_utf8_lossy(&psql.stderr)
    );
    assert!(
        psql_out.lines().any(|l| l.trim() == admin),
        "signed in as the Entra admin: {psql_out}"
    );
    let doctor = sh(&command("pgentra doctor "));
    let doctor_out = String::from_utf8_lossy(&doctor.stdout);
    assert!(doctor.status.success(), "{doctor_out}");
    assert!(doctor_out.contains("All checks passed."), "{doctor_out}");
}

#[test]
fn json_lists_the_servers_made_through_arm_with_their_commands() {
    let (rg, first, second) = (unique("rg-ready"), unique("pg-one"), unique("pg-two"));
    let emulator = EmulatorProcess::start(&[
        "--json",
        "--server",
        &format!("{rg}/{first}"),
        "--server",
        &format!("{rg}/{second}"),
        "--lro-ms",
        "50",
    ]);
    let line = emulator.next_line(Duration::from_secs(90));
    let printed: Value = serde_json::from_str(&line).expect("one JSON line");
    let config: BTreeMap<String, String> =
        serde_json::from_value(printed["providerConfig"].clone()).unwrap();
    let servers = printed["servers"].as_array().expect("servers");
    let names: Vec<&str> = servers
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [first.as_str(), second.as_str()]);
    let env: Vec<(String, String)> = [
        ("tenantId", "AZURE_TENANT_ID"),
        ("clientId", "AZURE_CLIENT_ID"),
        ("clientSecret", "AZURE_CLIENT_SECRET"),
        ("authorityHost", "AZURE_AUTHORITY_HOST"),
        ("caCertFile", "PGENTRA_CA_CERT_FILE"),
        ("subscriptionId", "AZURE_SUBSCRIPTION_ID"),
        ("armEndpoint", "PGENTRA_ARM_ENDPOINT"),
    ]
    .iter()
    .map(|(key, var)| (var.to_string(), config[*key].clone()))
    .collect();
    let major = backend_major();
    let rt = runtime();
    let azure = Azure::from_config(&provider_config(&config)).unwrap();
    for server in servers {
        // The default admin is the deployer the exports sign in as.
        assert_eq!(server["admin"]["name"], "pgentra-deployer", "{server}");
        assert_eq!(server["admin"]["principalType"], "ServicePrincipal");
        assert_eq!(server["database"], "myappdb");
        assert_eq!(server["version"], major.as_str());
        let args =
            |key: &str| -> Vec<String> { serde_json::from_value(server[key].clone()).unwrap() };
        let mut psql = args("psql");
        psql.extend(["--", "-tA", "-c", "SELECT current_user"].map(String::from));
        let psql: Vec<&str> = psql.iter().map(String::as_str).collect();
        let run = rt.block_on(pgentra(&psql, &env));
        run.expect_code(0);
        assert_eq!(run.stdout.trim(), "pgentra-deployer");
        let doctor = args("doctor");
        let doctor: Vec<&str> = doctor.iter().map(String::as_str).collect();
        let run = rt.block_on(pgentra(&doctor, &env));
        run.expect_code(0);
        assert!(run.stdout.contains("All checks passed."), "{}", run.stdout);

        // ARM shows the server as made: Entra on, passwords off, its admin and database.
        let path = format!(
            "/subscriptions/{}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{}",
            config["subscriptionId"], server["name"].as_str().unwrap()
        );
        let got = rt
            .block_on(azure.arm.get(&path, PG))
            .unwrap()
            .expect("the server");
        assert_eq!(
            got["properties"]["authConfig"]["activeDirectoryAuth"],
            "Enabled"
        );
        assert_eq!(got["properties"]["authConfig"]["passwordAuth"], "Disabled");
        assert_eq!(got["properties"]["version"], major.as_str());
        let admin = format!(
            "{path}/administrators/{}",
            server["admin"]["objectId"].as_str().unwrap()
        );
        assert!(rt.block_on(azure.arm.get(&admin, PG)).unwrap().is_some());
        assert!(rt
            .block_on(azure.arm.get(&format!("{path}/databases/myappdb"), PG))
            .unwrap()
            .is_some());
    }

    // They were made by ARM requests the emulator served and recorded, and those follow the
    // official REST specs.
    let admin_api = pgentra::azure::http::build_client(Some(&config["caCertFile"])).unwrap();
    let get = |what: &str| -> Value {
        let text = rt
            .block_on(async {
                admin_api
                    .get(format!("{}/_emulator/{what}", config["armEndpoint"]))
                    .send()
                    .await?
                    .text()
                    .await
            })
            .expect("the emulator's admin API");
        serde_json::from_str(&text).unwrap()
    };
    let exchanges = get("exchanges");
    let accepted = |suffix: &str| {
        exchanges.as_array().unwrap().iter().any(|e| {
            e["method"] == "PUT"
                && e["status"] == 202
                && e["path"].as_str().unwrap().ends_with(suffix)
        })
    };
    for name in [&first, &second] {
        assert!(accepted(&format!("/flexibleServers/{name}")), "{exchanges}");
        assert!(
            accepted(&format!("/flexibleServers/{name}/databases/myappdb")),
            "{exchanges}"
        );
    }
    let conformance = get("conformance");
    assert_eq!(conformance["problems"], json!([]), "{conformance}");
    assert!(
        conformance["checked"].as_u64().unwrap() >= 6,
        "{conformance}"
    );
}

#[test]
fn the_cli_refuses_a_version_the_backend_is_not_unless_any_version_is_given() {
    let major = backend_major();
    let other = if major == "17" { "16" } else { "17" };
    let rt = runtime();
    for any_version in [false, true] {
        let mut args = vec!["--json", "--lro-ms", "50"];
        if any_version {
            args.push("--any-version");
        }
        let emulator = EmulatorProcess::start(&args);
        let printed: Value =
            serde_json::from_str(&emulator.next_line(Duration::from_secs(60))).unwrap();
        let config: BTreeMap<String, String> =
            serde_json::from_value(printed["providerConfig"].clone()).unwrap();
        let azure = Azure::from_config(&provider_config(&config)).unwrap();
        let sub = &config["subscriptionId"];
        let (rg, name) = (unique("rg-version"), unique("pg-version"));
        let mut body = server_body();
        body["properties"]["version"] = json!(other);
        let made = rt.block_on(async {
            azure
                .arm
                .put(&format!("/subscriptions/{sub}/resourcegroups/{rg}"), RG, &json!({"location": "eastus"}))
                .await
                .expect("resource group");
            azure
                .arm
                .put(
                    &format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}"),
                    PG,
                    &body,
                )
                .await
        });
        if any_version {
            assert_eq!(
                made.expect("any version is accepted")["properties"]["version"],
                other
            );
        } else {
            let said = made.expect_err("a version the backend is not").to_string();
            assert!(
                said.contains("InvalidParameterValue")
                    && said.contains(&format!("which is PostgreSQL {major}"))
                    && said.contains(&format!("cannot be version {other}")),
                "{said}"
            );
        }
    }
}

#[test]
fn admin_and_database_need_a_server_and_a_server_needs_a_resource_group() {
    let rt = runtime();
    for (args, says) in [
        (&["emulator", "--admin", "pg-admins"][..], "--server"),
        (&["emulator", "--database", "appdb"][..], "--server"),
        (
            &["emulator", "--server", "pg-dev"][..],
            "RESOURCE_GROUP/SERVER_NAME",
        ),
    ] {
        let run = rt.block_on(pgentra(args, &[]));
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
}
