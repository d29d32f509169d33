//! What an emulated server takes from the real PostgreSQL behind it: its major version (reported,
//! or another one refused when only the backend's is allowed) and its server parameters (the
//! backend's own pg_settings plus Azure's), through ARM as a client sees them.

mod support;

use pgentra_emulator::EmulatorOptions;
use serde_json::{json, Value};
use std::time::Duration;
use support::{Env, PG};

/// A superuser session on the backend, failing (never skipping) when none answers.
async fn backend() -> tokio_postgres::Client {
    let addr = pgentra_emulator::pg::backend::backend_addr();
    let (host, port) = addr.rsplit_once(':').unwrap();
    let (client, conn) = tokio_postgres::Config::new()
        .host(host)
        .port(port.parse().unwrap())
        .user("postgres")
        .dbname("postgres")
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!("no PostgreSQL at {addr} ({e}): start PostgreSQL: pg_ctlcluster 15 main start (or set PGENTRA_PG_BACKEND)")
        });
    tokio::spawn(conn);
    client
}

/// The backend's (major, minor) version.
async fn backend_version() -> (u32, u32) {
    let row = backend()
        .await
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .unwrap();
    let n = row.get::<_, i32>(0) as u32;
    (n / 10_000, n % 10_000)
}

/// A supported Azure version that the backend is not.
fn another_version(major: u32) -> String {
    if major == 17 { "16" } else { "17" }.to_string()
}

async fn start(any_server_version: bool) -> Env {
    support::start_with(EmulatorOptions {
        lro_duration: Duration::from_millis(40),
        any_server_version,
        ..Default::default()
    })
    .await
}

fn server_body(version: Option<&str>, tenant: &str) -> Value {
    let mut body = json!({
        "location": "eastus",
        "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {
            "authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled", "tenantId": tenant},
        },
    });
    if let Some(v) = version {
        body["properties"]["version"] = json!(v);
    }
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_names_no_version_is_the_backends() {
    let (major, minor) = backend_version().await;
    let env = start(true).await;
    env.create_rg("rg-version").await;
    let path = format!("{}?{PG}", env.server_path("rg-version", "pg-no-version"));
    let r = env
        .call("PUT", &path, Some(server_body(None, env.emu.tenant_id())))
        .await;
    assert_eq!(env.wait(&r).await["status"], "Succeeded");
    let got = env.call("GET", &path, None).await.json();
    assert_eq!(got["properties"]["version"], json!(major.to_string()));
    assert_eq!(got["properties"]["minorVersion"], json!(minor.to_string()));
    env.assert_spec_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_backends_version_when_any_version_is_off() {
    let (major, _) = backend_version().await;
    let env = start(false).await;
    env.create_rg("rg-version").await;
    let path = format!("{}?{PG}", env.server_path("rg-version", "pg-strict"));
    let other = another_version(major);
    let refused = env
        .call(
            "PUT",
            &path,
            Some(server_body(Some(&other), env.emu.tenant_id())),
        )
        .await;
    assert_eq!(refused.status, 400);
    let error = &refused.json()["error"];
    assert_eq!(error["code"], "InvalidParameterValue");
    assert_eq!(error["target"], "properties.version");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("which is PostgreSQL {major}"))
            && message.contains(&format!("cannot be version {other}")),
        "names the backend's version and the one asked: {message}"
    );
    assert_eq!(
        env.call("GET", &path, None).await.status,
        404,
        "nothing made"
    );

    let same = major.to_string();
    let r = env
        .call(
            "PUT",
            &path,
            Some(server_body(Some(&same), env.emu.tenant_id())),
        )
        .await;
    assert_eq!(env.wait(&r).await["status"], "Succeeded");
    // An in-place upgrade to a version the backend is not is refused the same way.
    let upgrade = env
        .call(
            "PATCH",
            &path,
            Some(json!({"properties": {"createMode": "Update", "version": "17"}})),
        )
        .await;
    if major != 17 {
        assert_eq!(upgrade.status, 400);
        assert!(upgrade.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("PostgreSQL {major}")));
    }
    assert_eq!(
        env.call("GET", &path, None).await.json()["properties"]["version"],
        json!(same)
    );
    env.assert_spec_clean();
}

/// The official example of Configurations_Update (constraint_exclusion), as the reference has it.
fn official_configuration_update() -> (String, Value) {
    let file = pgentra_emulator::spec::specs_dir()
        .join("postgresql/2025-08-01/examples/ConfigurationsUpdate.json");
    let example: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("the official example"))
            .unwrap();
    let p = &example["parameters"];
    (
        p["configurationName"].as_str().unwrap().to_string(),
        p["parameters"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn server_parameters_are_the_backends_settings_and_azures() {
    let env = start(true).await;
    env.create_rg("rg-params").await;
    env.create_server("rg-params", "pg-params").await;
    let sp = env.server_path("rg-params", "pg-params");

    // The official example's update succeeds.
    let (name, body) = official_configuration_update();
    assert_eq!(name, "constraint_exclusion");
    let config = format!("{sp}/configurations/{name}?{PG}");
    let r = env.call("PUT", &config, Some(body)).await;
    assert_eq!(env.wait(&r).await["status"], "Succeeded");
    let got = env.call("GET", &config, None).await.json();
    let props = &got["properties"];
    assert_eq!(props["value"], "on");
    assert_eq!(props["source"], "user-override");
    assert_eq!(props["dataType"], "Enumeration");
    assert_eq!(props["defaultValue"], "partition");
    // A bad value is refused in ARM's error shape, naming the allowed values.
    let bad = env
        .call(
            "PATCH",
            &config,
            Some(json!({"properties": {"value": "sometimes", "source": "user-override"}})),
        )
        .await;
    assert_eq!(bad.status, 400);
    let error = &bad.json()["error"];
    assert_eq!(error["code"], "InvalidParameterValue");
    assert_eq!(error["target"], "properties.value");
    let message = error["message"].as_str().unwrap();
    for allowed in ["partition", "on", "off"] {
        assert!(message.contains(allowed), "names {allowed}: {message}");
    }

    // Every backend setting is a parameter, typed and bounded as pg_settings says.
    let listed = env
        .call("GET", &format!("{sp}/configurations?{PG}"), None)
        .await
        .json();
    let listed: std::collections::BTreeMap<String, Value> = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["properties"].clone(),
            )
        })
        .collect();
    let azure_own = [
        "azure.extensions",
        "require_secure_transport",
        "pgbouncer.enabled",
    ];
    for name in azure_own {
        assert!(listed.contains_key(name), "Azure's own parameter {name}");
    }
    let rows = backend()
        .await
        .query(
            "SELECT name, vartype, coalesce(min_val, ''), coalesce(max_val, ''), \
             coalesce(array_to_string(enumvals, ','), ''), context FROM pg_settings",
            &[],
        )
        .await
        .unwrap();
    assert!(rows.len() > 200, "pg_settings has them all");
    for row in &rows {
        let (name, vartype, min, max, enums, context): (
            String,
            String,
            String,
            String,
            String,
            String,
        ) = (
            row.get(0),
            row.get(1),
            row.get(2),
            row.get(3),
            row.get(4),
            row.get(5),
        );
        if name == "shared_preload_libraries" {
            continue; // Azure's own list of libraries
        }
        let p = listed
            .get(&name)
            .unwrap_or_else(|| panic!("pg_settings' {name} is no server parameter"));
        let (data_type, allowed) = match vartype.as_str() {
            "bool" => ("Boolean", "on,off".to_string()),
            "integer" => ("Integer", format!("{min}-{max}")),
            "real" => ("Numeric", format!("{min}-{max}")),
            "enum" => ("Enumeration", enums),
            _ => ("String", ".*".to_string()),
        };
        assert_eq!(p["dataType"], data_type, "{name}");
        assert_eq!(p["allowedValues"], json!(allowed), "{name}");
        assert_eq!(
            p["isDynamicConfig"],
            json!(!matches!(context.as_str(), "postmaster" | "internal")),
            "{name}"
        );
        assert_eq!(p["isReadOnly"], json!(context == "internal"), "{name}");
    }

    // A change that needs a restart is pending until the server restarts.
    let buffers = format!("{sp}/configurations/shared_buffers?{PG}");
    let r = env
        .call(
            "PUT",
            &buffers,
            Some(json!({"properties": {"value": "32768", "source": "user-override"}})),
        )
        .await;
    assert_eq!(env.wait(&r).await["status"], "Succeeded");
    let pending = env.call("GET", &buffers, None).await.json();
    assert_eq!(pending["properties"]["isConfigPendingRestart"], true);
    let out_of_range = env
        .call(
            "PUT",
            &buffers,
            Some(json!({"properties": {"value": "1", "source": "user-override"}})),
        )
        .await;
    assert_eq!(out_of_range.status, 400, "below shared_buffers' minimum");
    let restart = env.call("POST", &format!("{sp}/restart?{PG}"), None).await;
    env.wait(&restart).await;
    let applied = env.call("GET", &buffers, None).await.json();
    assert_eq!(applied["properties"]["isConfigPendingRestart"], false);
    assert_eq!(applied["properties"]["value"], "32768");

    // A read-only setting cannot be written.
    let read_only = env
        .call(
            "PUT",
            &format!("{sp}/configurations/block_size?{PG}"),
            Some(json!({"properties": {"value": "16384", "source": "user-override"}})),
        )
        .await;
    assert_eq!(read_only.status, 400);
    assert!(read_only.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("read-only"));
    env.assert_spec_clean();
}
