//! Test support: start an emulator, talk to it over real TLS, follow LROs, and check every ARM
//! response body against the official specs.

#![allow(dead_code)]

pub mod client;

use client::{Client, Response};
use pgentra_emulator::spec;
use pgentra_emulator::{Emulator, EmulatorOptions, RunningEmulator};
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::Duration;

pub const PG: &str = "api-version=2025-08-01";
pub const MSI: &str = "api-version=2024-11-30";
pub const RG: &str = "api-version=2021-04-01";

pub struct Env {
    pub emu: RunningEmulator,
    pub client: Client,
    pub token: String,
    specs: Mutex<spec::Specs>,
    problems: Mutex<Vec<String>>,
    validated: Mutex<usize>,
}

pub async fn start() -> Env {
    start_with(EmulatorOptions {
        lro_duration: Duration::from_millis(60),
        ..Default::default()
    })
    .await
}

/// An emulator whose operations run long enough (600 ms) to observe them in flight, even on a
/// loaded machine.
pub async fn start_slow_lro() -> Env {
    start_with(EmulatorOptions {
        lro_duration: Duration::from_millis(600),
        ..Default::default()
    })
    .await
}

pub async fn start_with(opts: EmulatorOptions) -> Env {
    let emu = Emulator::start(opts).await.expect("emulator starts");
    let client = Client::new(emu.client_tls_config().expect("client TLS"));
    let d = emu.deployer();
    let r = client
        .post_form(
            &emu.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &d.app_id),
                ("client_secret", &d.secrets[0]),
                ("scope", "https://management.azure.com/.default"),
            ],
        )
        .await
        .expect("token request");
    assert_eq!(
        r.status,
        200,
        "deployer token: {}",
        String::from_utf8_lossy(&r.body)
    );
    let token = r.json()["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    Env {
        emu,
        client,
        token,
        specs: Mutex::new(spec::Specs::load_default().expect("official specs")),
        problems: Mutex::new(Vec::new()),
        validated: Mutex::new(0),
    }
}

impl Env {
    pub fn sub(&self) -> String {
        format!("/subscriptions/{}", self.emu.subscription_id())
    }

    pub fn rg_path(&self, rg: &str) -> String {
        format!("{}/resourceGroups/{rg}", self.sub())
    }

    pub fn server_path(&self, rg: &str, server: &str) -> String {
        format!(
            "{}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{server}",
            self.rg_path(rg)
        )
    }

    pub fn identity_path(&self, rg: &str, name: &str) -> String {
        format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
            self.rg_path(rg)
        )
    }

    /// An authorized ARM call; `path` carries its query. The answer is checked against the specs.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Response {
        self.call_raw(method, &format!("{}{path}", self.emu.arm_url()), body)
            .await
    }

    /// Same, with an absolute URL (as given in Azure-AsyncOperation / Location).
    pub async fn call_raw(&self, method: &str, url: &str, body: Option<Value>) -> Response {
        let auth = format!("Bearer {}", self.token);
        let r = self
            .client
            .send(
                method,
                url,
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                body.map(|b| serde_json::to_vec(&b).unwrap()),
            )
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        assert!(
            r.header("x-ms-request-id").is_some(),
            "{method} {url}: no x-ms-request-id"
        );
        self.check_against_spec(method, url, &r);
        r
    }

    fn check_against_spec(&self, method: &str, url: &str, r: &Response) {
        let (_, _, path) = client::split_url(url);
        let path_only = path.split('?').next().unwrap_or("").to_string();
        if r.body.is_empty() {
            return;
        }
        let errs =
            self.specs
                .lock()
                .unwrap()
                .check_response(method, &path_only, r.status, &r.json());
        let Some(errs) = errs else { return }; // no stored spec for the route
        *self.validated.lock().unwrap() += 1;
        for e in errs {
            self.problems
                .lock()
                .unwrap()
                .push(format!("{method} {path_only} -> {}: {e}", r.status));
        }
    }

    /// Checks the emulator's record of every ARM exchange (requests too) against the specs.
    pub fn check_recorded_exchanges(&self) -> usize {
        let mut specs = self.specs.lock().unwrap();
        let (n, problems) = self.emu.check_arm_exchanges(&mut specs);
        assert!(
            problems.is_empty(),
            "recorded exchanges that break the specs:\n{}",
            problems.join("\n")
        );
        n
    }

    /// Asserts every response seen so far matched its spec; returns how many were checked.
    pub fn assert_spec_clean(&self) -> usize {
        let p = self.problems.lock().unwrap();
        assert!(
            p.is_empty(),
            "responses that do not match the official specs:\n{}",
            p.join("\n")
        );
        *self.validated.lock().unwrap()
    }

    /// Follows an LRO's Azure-AsyncOperation URL (verbatim) to a terminal status body.
    pub async fn wait(&self, started: &Response) -> Value {
        assert_eq!(
            started.status,
            202,
            "expected 202, got {}: {}",
            started.status,
            String::from_utf8_lossy(&started.body)
        );
        let url = started
            .header("azure-asyncoperation")
            .expect("Azure-AsyncOperation header");
        assert!(
            started
                .header("location")
                .is_some_and(|l| l.starts_with("https://")),
            "absolute Location"
        );
        assert!(
            started
                .header("retry-after")
                .is_some_and(|r| r.parse::<u64>().is_ok()),
            "integer Retry-After"
        );
        for _ in 0..200 {
            let s = self.call_raw("GET", &url, None).await;
            assert_eq!(s.status, 200);
            let body = s.json();
            match body["status"].as_str() {
                Some("Succeeded" | "Failed" | "Canceled") => return body,
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        panic!("operation {url} did not finish");
    }

    pub async fn create_rg(&self, rg: &str) {
        let r = self
            .call(
                "PUT",
                &format!("{}?{RG}", self.rg_path(rg)),
                Some(json!({"location": "eastus"})),
            )
            .await;
        assert!(
            r.status == 201 || r.status == 200,
            "create rg: {}",
            r.status
        );
    }

    /// Creates an Entra-only server and waits for it.
    pub async fn create_server(&self, rg: &str, name: &str) -> Value {
        let r = self
            .call(
                "PUT",
                &format!("{}?{PG}", self.server_path(rg, name)),
                Some(json!({
                    "location": "eastus",
                    "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
                    "properties": {
                        "version": "16",
                        "storage": {"storageSizeGB": 64},
                        "authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled", "tenantId": self.emu.tenant_id()},
                    },
                    "tags": {"env": "test"},
                })),
            )
            .await;
        let done = self.wait(&r).await;
        assert_eq!(done["status"], "Succeeded", "{done}");
        self.call("GET", &format!("{}?{PG}", self.server_path(rg, name)), None)
            .await
            .json()
    }
}
