//! Shared by the tests/cli_*.rs tests: the real `pgentra` binary run with exactly the
//! environment a test gives it, the environments that sign it in to an in-process emulator,
//! and the emulated servers and identities the commands are pointed at (created through ARM
//! with tests/azure_support's client).
#![allow(dead_code)]

use crate::azure_support::{server_body, Env, MSI, PG};
use serde_json::{json, Value};

/// What a run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with both streams unless the command exited with `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// `PATH` for the child: the system's, so psql (and nothing from the test's environment) is found.
pub const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Runs `pgentra args...` with only `env` (plus PATH unless `env` sets it) in its environment,
/// off the async runtime (the emulator it talks to runs on it).
pub async fn pgentra(args: &[&str], env: &[(String, String)]) -> Run {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env = env.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pgentra"));
        command.env_clear().env("PATH", SYSTEM_PATH).args(&args);
        for (k, v) in &env {
            command.env(k, v);
        }
        let out = command.output().expect("running the pgentra binary");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The environment `pgentra emulator` prints: the deployer's client secret.
pub fn deployer_env(env: &Env) -> Vec<(String, String)> {
    let c = &env.config;
    let get = |v: &Option<String>| v.clone().unwrap_or_default();
    pairs(&[
        ("AZURE_SUBSCRIPTION_ID", &get(&c.subscription_id)),
        ("AZURE_TENANT_ID", &get(&c.tenant_id)),
        ("AZURE_CLIENT_ID", &get(&c.client_id)),
        ("AZURE_CLIENT_SECRET", &get(&c.client_secret)),
        ("PGENTRA_ARM_ENDPOINT", &get(&c.arm_endpoint)),
        ("AZURE_AUTHORITY_HOST", &get(&c.authority_host)),
        ("PGENTRA_CA_CERT_FILE", &get(&c.ca_cert_file)),
    ])
}

/// Signs in as the user-assigned managed identity `client_id` through the emulator's
/// managed-identity endpoint (App Service style), as an app in Azure would.
pub fn identity_env(env: &Env, client_id: &str) -> Vec<(String, String)> {
    let c = &env.config;
    let get = |v: &Option<String>| v.clone().unwrap_or_default();
    pairs(&[
        ("AZURE_SUBSCRIPTION_ID", &get(&c.subscription_id)),
        ("AZURE_TENANT_ID", &get(&c.tenant_id)),
        ("AZURE_CLIENT_ID", client_id),
        ("IDENTITY_ENDPOINT", env.emu.msi_endpoint()),
        ("IDENTITY_HEADER", env.emu.msi_header_secret()),
        ("PGENTRA_ARM_ENDPOINT", &get(&c.arm_endpoint)),
        ("AZURE_AUTHORITY_HOST", &get(&c.authority_host)),
        ("PGENTRA_CA_CERT_FILE", &get(&c.ca_cert_file)),
    ])
}

/// A name no other test (or run) uses: roles are shared by every emulator on one PostgreSQL.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{:05x}-{}",
        std::process::id(),
        nanos & 0xfffff,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Fails (never skips) when the PostgreSQL the emulator's gateways relay to does not answer.
pub async fn require_postgres(env: &Env) {
    let addr = env.emu.pg_backend();
    if tokio::net::TcpStream::connect(&addr).await.is_err() {
        panic!("no PostgreSQL at {addr}: start PostgreSQL: pg_ctlcluster 15 main start (or run scripts/test)");
    }
}

/// A user-assigned managed identity; returns (principalId, clientId).
pub async fn identity(env: &Env, rg: &str, name: &str) -> (String, String) {
    let body = env
        .arm
        .put(
            &env.identity_path(rg, name),
            MSI,
            &json!({"location": "eastus"}),
        )
        .await
        .expect("creating a managed identity");
    let text = |k: &str| body["properties"][k].as_str().unwrap().to_string();
    (text("principalId"), text("clientId"))
}

/// A flexible server made from `body`; returns it as ARM shows it.
pub async fn server(env: &Env, rg: &str, name: &str, body: Value) -> Value {
    env.arm
        .put(&env.server_path(rg, name), PG, &body)
        .await
        .expect("creating a flexible server")
}

/// Makes a service principal (a managed identity) the server's Microsoft Entra administrator.
pub async fn add_admin(env: &Env, rg: &str, server: &str, object_id: &str, name: &str) {
    env.arm
        .put(
            &format!("{}/administrators/{object_id}", env.server_path(rg, server)),
            PG,
            &json!({"properties": {"principalType": "ServicePrincipal", "principalName": name, "tenantId": env.emu.tenant_id()}}),
        )
        .await
        .expect("adding the Entra administrator");
}

/// An Entra-only server whose administrator is a new managed identity, and its gateway.
pub struct Healthy {
    pub rg: String,
    pub server: String,
    pub fqdn: String,
    pub port: u16,
    pub backend_prefix: String,
    pub admin_name: String,
    pub admin_object_id: String,
    pub admin_client_id: String,
}

pub async fn healthy_server(env: &Env) -> Healthy {
    require_postgres(env).await;
    let rg = unique("rg-cli");
    let server_name = unique("pg-cli");
    let admin_name = unique("id-cli-admin");
    env.create_rg(&rg).await;
    let (admin_object_id, admin_client_id) = identity(env, &rg, &admin_name).await;
    let created = server(env, &rg, &server_name, server_body()).await;
    add_admin(env, &rg, &server_name, &admin_object_id, &admin_name).await;
    let fqdn = created["properties"]["fullyQualifiedDomainName"]
        .as_str()
        .expect("the server's FQDN")
        .to_string();
    let gateway = env
        .emu
        .pg_gateway(&fqdn)
        .await
        .expect("the server's PostgreSQL gateway");
    Healthy {
        rg,
        server: server_name,
        fqdn,
        port: gateway.addr.port(),
        backend_prefix: gateway.backend_prefix,
        admin_name,
        admin_object_id,
        admin_client_id,
    }
}

/// The claims of a JWT (after the caller checked its signature).
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = azure_core::base64::decode_url_safe(payload).expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// A stand-in for the Azure CLI in a directory of its own: `az account show` names
/// `subscription`, `az ad group show --group NAME` answers each of `groups` (name, object ID);
/// anything else fails as a signed-out az does. Each call is logged to `calls.log` beside it.
pub struct FakeAz {
    pub dir: std::path::PathBuf,
}

impl FakeAz {
    pub fn new(subscription: &str, tenant: &str, groups: &[(&str, &str)]) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(unique("pgentra-fake-az"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut script = String::from(
            "#!/bin/sh\necho \"$*\" >> \"$(dirname \"$0\")/calls.log\"\ncase \"$*\" in\n",
        );
        let account = json!({"id": subscription, "tenantId": tenant, "isDefault": true, "name": "fake", "state": "Enabled"});
        script.push_str(&format!(
            "  \"account show --output json\") echo '{account}' ;;\n"
        ));
        for (name, id) in groups {
            let group = json!({"id": id, "displayName": name, "securityEnabled": true});
            script.push_str(&format!(
                "  \"ad group show --group {name} --output json\") echo '{group}' ;;\n"
            ));
        }
        script.push_str(
            "  *) echo \"ERROR: Please run 'az login' to setup account.\" >&2; exit 1 ;;\nesac\n",
        );
        let az = dir.join("az");
        std::fs::write(&az, script).unwrap();
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir }
    }

    /// PATH with the fake az first.
    pub fn path(&self) -> String {
        format!("{}:{SYSTEM_PATH}", self.dir.display())
    }

    /// The az command lines run so far.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for FakeAz {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `pgentra args...` like [`pgentra`], with its stdout and stderr given (a pipe whose
/// reader is gone, a closed descriptor); returns the exit code and what stderr said when it
/// was kept.
pub async fn pgentra_with_streams(
    args: &[&str],
    env: &[(String, String)],
    stdout: std::process::Stdio,
    stderr: std::process::Stdio,
) -> Option<i32> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env = env.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pgentra"));
        command.env_clear().env("PATH", SYSTEM_PATH).args(&args);
        for (k, v) in &env {
            command.env(k, v);
        }
        command
            .stdout(stdout)
            .stderr(stderr)
            .status()
            .expect("running the pgentra binary")
            .code()
    })
    .await
    .unwrap()
}

/// A stream whose reader is gone: every write to it fails with EPIPE.
pub fn readerless_pipe() -> std::process::Stdio {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    std::process::Stdio::from(writer)
}
