//! A minimal Pulumi engine: it spawns `pulumi-resource-pgentra` as a separate process the way the
//! engine does (engine address as the last argument, the port read from the first stdout line),
//! serves the Engine service's `Log` so the plugin's log lines reach the user, and sends the
//! resource RPCs over gRPC with the values encoded as on the wire (secrets wrapped, unknowns as
//! the engine's sentinel).

use pgentra_core::props::Props;
use pgentra_pulumi::codec;
use pgentra_pulumi::proto::pulumirpc::engine_server::{Engine, EngineServer};
use pgentra_pulumi::proto::pulumirpc::resource_provider_client::ResourceProviderClient;
use pgentra_pulumi::proto::pulumirpc::{
    CheckRequest, ConfigureRequest, CreateRequest, DeleteRequest, DiffRequest, LogRequest,
    ProviderHandshakeRequest, ReadRequest, UpdateRequest,
};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::sync::mpsc;
use tonic::transport::Channel;

pub const PLUGIN: &str = "pulumi-resource-pgentra";
const STACK: &str = "dev";
const PROJECT: &str = "myapp";
/// How long one resource operation may take (the engine's `customTimeouts` default is 20 min;
/// the demo's operations take well under a second each).
const OPERATION_TIMEOUT: Duration = Duration::from_secs(120);

/// The URN the engine gives a resource of `type_token` named `name` in the demo's stack.
pub fn urn(type_token: &str, name: &str) -> String {
    format!("urn:pulumi:{STACK}::{PROJECT}::{type_token}::{name}")
}

/// The resource an RPC is about.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub type_token: &'a str,
    pub name: &'a str,
}

impl Target<'_> {
    pub fn urn(&self) -> String {
        urn(self.type_token, self.name)
    }
}

/// A log line the plugin sent to the engine.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub urn: String,
    pub severity: i32,
    pub message: String,
}

/// The Engine service: only `Log` (all the provider calls), queued for the renderer.
struct LogService(mpsc::UnboundedSender<LogLine>);

#[tonic::async_trait]
impl Engine for LogService {
    async fn log(
        &self,
        request: tonic::Request<LogRequest>,
    ) -> Result<tonic::Response<()>, tonic::Status> {
        let request = request.into_inner();
        let _ = self.0.send(LogLine {
            urn: request.urn,
            severity: request.severity,
            message: request.message,
        });
        Ok(tonic::Response::new(()))
    }
}

/// What a provider RPC failed with, with the operation and resource it was for.
#[derive(Debug, thiserror::Error)]
#[error("{operation} {urn}: {message}")]
pub struct RpcError {
    pub operation: &'static str,
    pub urn: String,
    pub message: String,
}

/// The provider process and the gRPC connection to it.
pub struct ProviderPlugin {
    child: Child,
    pub rpc: Rpc,
    pub stderr_file: PathBuf,
}

/// The resource RPCs (cheap to clone: one HTTP/2 connection shared by concurrent operations).
#[derive(Clone)]
pub struct Rpc {
    client: ResourceProviderClient<Channel>,
}

/// Where the plugin binary is: beside the running `pgentra` (cargo and releases put both in one
/// folder), as the engine would find it on PATH or in its plugin cache.
pub fn plugin_path() -> Result<PathBuf, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("finding the running executable: {e}"))?;
    let path = exe.with_file_name(PLUGIN);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "the provider plugin {} is missing; build it with `cargo build --bins` (it must sit \
             beside pgentra)",
            path.display()
        ))
    }
}

/// Starts the Engine service on a free loopback port; log lines arrive on the returned receiver.
pub async fn serve_engine() -> Result<(String, mpsc::UnboundedReceiver<LogLine>), String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| format!("binding the engine's Log service: {e}"))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("reading the engine's address: {e}"))?
        .to_string();
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(EngineServer::new(LogService(sender)))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    Ok((address, receiver))
}

impl ProviderPlugin {
    /// Spawns the plugin with the engine's address and connects to the port it prints.
    pub async fn start(
        binary: &Path,
        engine_address: &str,
        work_dir: &Path,
    ) -> Result<Self, String> {
        let stderr_file = work_dir.join("provider.log");
        let stderr = std::fs::File::create(&stderr_file)
            .map_err(|e| format!("creating {}: {e}", stderr_file.display()))?;
        let mut child = Command::new(binary)
            .arg(engine_address)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        match connect(&mut child, &stderr_file).await {
            Ok(client) => Ok(Self {
                child,
                rpc: Rpc { client },
                stderr_file,
            }),
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(error)
            }
        }
    }

    /// Handshake, then Configure with the provider config (`secret_keys` travel as secrets).
    pub async fn configure(
        &mut self,
        engine_address: &str,
        config: &std::collections::BTreeMap<String, String>,
        secret_keys: &[&str],
    ) -> Result<(), String> {
        self.rpc
            .client
            .handshake(ProviderHandshakeRequest {
                engine_address: engine_address.to_owned(),
                configure_with_urn: true,
                supports_refresh_before_update: true,
                ..Default::default()
            })
            .await
            .map_err(|s| format!("Handshake with {PLUGIN}: {}", s.message()))?;
        let mut args = Props::default();
        for (key, value) in config {
            args.set(key, value.clone().into());
            if secret_keys.contains(&key.as_str()) {
                args.mark_secret(key);
            }
        }
        let variables = config
            .iter()
            .map(|(k, v)| (format!("pgentra:config:{k}"), v.clone()))
            .collect();
        self.rpc
            .client
            .configure(ConfigureRequest {
                variables,
                args: Some(codec::encode(&args, |_| false)),
                accept_secrets: true,
                accept_resources: true,
                sends_old_inputs: true,
                sends_old_inputs_to_delete: true,
                urn: Some(urn("pulumi:providers:pgentra", "default")),
                name: Some("default".into()),
                r#type: Some("pulumi:providers:pgentra".into()),
                ..Default::default()
            })
            .await
            .map_err(|s| format!("Configure of {PLUGIN}: {}", s.message()))?;
        Ok(())
    }

    /// Cancel, then end the process (the engine is done with it; nothing is in flight).
    pub async fn shutdown(mut self) {
        let _ = self.rpc.client.cancel(()).await;
    }
}

/// The plugin never outlives the demo, however the demo ends (an error, Ctrl-C).
impl Drop for ProviderPlugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Rpc {
    fn fail(operation: &'static str, target: &Target) -> impl FnOnce(tonic::Status) -> RpcError {
        let urn = target.urn();
        move |status| RpcError {
            operation,
            urn,
            message: status.message().to_owned(),
        }
    }

    /// Check: the provider's validated inputs, or the failures it names by property.
    pub async fn check(
        &self,
        target: &Target<'_>,
        olds: &Props,
        news: &Props,
    ) -> Result<Props, RpcError> {
        let response = self
            .client
            .clone()
            .check(CheckRequest {
                urn: target.urn(),
                olds: Some(codec::encode(olds, |_| false)),
                news: Some(codec::encode(news, |_| false)),
                random_seed: target.urn().into_bytes(),
                name: target.name.to_owned(),
                r#type: target.type_token.to_owned(),
                ..Default::default()
            })
            .await
            .map_err(Self::fail("check", target))?
            .into_inner();
        if !response.failures.is_empty() {
            let failures: Vec<String> = response
                .failures
                .iter()
                .map(|f| format!("{}: {}", f.property, f.reason))
                .collect();
            return Err(RpcError {
                operation: "check",
                urn: target.urn(),
                message: failures.join("; "),
            });
        }
        decode(response.inputs.as_ref(), "check", target)
    }

    /// Diff: the names of the properties that change (empty = no change) and those that replace.
    pub async fn diff(
        &self,
        target: &Target<'_>,
        id: &str,
        olds: &Props,
        old_inputs: &Props,
        news: &Props,
    ) -> Result<Diff, RpcError> {
        let response = self
            .client
            .clone()
            .diff(DiffRequest {
                id: id.to_owned(),
                urn: target.urn(),
                olds: Some(codec::encode(olds, |_| false)),
                news: Some(codec::encode(news, |_| false)),
                old_inputs: Some(codec::encode(old_inputs, |_| false)),
                name: target.name.to_owned(),
                r#type: target.type_token.to_owned(),
                ..Default::default()
            })
            .await
            .map_err(Self::fail("diff", target))?
            .into_inner();
        let mut changed: Vec<String> = response.diffs.clone();
        for key in response.detailed_diff.keys() {
            let top = key.split(['.', '[']).next().unwrap_or(key).to_owned();
            if !changed.contains(&top) {
                changed.push(top);
            }
        }
        changed.sort();
        Ok(Diff {
            changed,
            replaces: response.replaces,
        })
    }

    /// Create (a preview when `preview`): the ID and output properties.
    pub async fn create(
        &self,
        target: &Target<'_>,
        inputs: &Props,
        preview: bool,
    ) -> Result<(String, Props), RpcError> {
        let response = self
            .client
            .clone()
            .create(CreateRequest {
                urn: target.urn(),
                properties: Some(codec::encode(inputs, |_| false)),
                timeout: OPERATION_TIMEOUT.as_secs_f64(),
                preview,
                name: target.name.to_owned(),
                r#type: target.type_token.to_owned(),
                ..Default::default()
            })
            .await
            .map_err(Self::fail("create", target))?
            .into_inner();
        let outputs = decode(response.properties.as_ref(), "create", target)?;
        Ok((response.id, outputs))
    }

    /// Read (refresh): the live outputs and inputs, or None when the resource is gone.
    pub async fn read(
        &self,
        target: &Target<'_>,
        id: &str,
        state: &Props,
        inputs: &Props,
    ) -> Result<Option<(Props, Props)>, RpcError> {
        let response = self
            .client
            .clone()
            .read(ReadRequest {
                id: id.to_owned(),
                urn: target.urn(),
                properties: Some(codec::encode(state, |_| false)),
                inputs: Some(codec::encode(inputs, |_| false)),
                name: target.name.to_owned(),
                r#type: target.type_token.to_owned(),
                ..Default::default()
            })
            .await
            .map_err(Self::fail("read", target))?
            .into_inner();
        if response.id.is_empty() {
            return Ok(None);
        }
        let outputs = decode(response.properties.as_ref(), "read", target)?;
        let inputs = decode(response.inputs.as_ref(), "read", target)?;
        Ok(Some((outputs, inputs)))
    }

    /// Update in place: the new outputs.
    pub async fn update(
        &self,
        target: &Target<'_>,
        id: &str,
        olds: &Props,
        old_inputs: &Props,
        news: &Props,
    ) -> Result<Props, RpcError> {
        let response = self
            .client
            .clone()
            .update(UpdateRequest {
                id: id.to_owned(),
                urn: target.urn(),
                olds: Some(codec::encode(olds, |_| false)),
                news: Some(codec::encode(news, |_| false)),
                old_inputs: Some(codec::encode(old_inputs, |_| false)),
                timeout: OPERATION_TIMEOUT.as_secs_f64(),
                name: target.name.to_owned(),
                r#type: target.type_token.to_owned(),
                ..Default::default()
            })
            .await
            .map_err(Self::fail("update", target))?
            .into_inner();
        decode(response.properties.as_ref(), "update", target)
    }

    pub async fn delete(
        &self,
        target: &Target<'_>,
        id: &str,
        state: &Props,
        inputs: &Props,
    ) -> Result<(), RpcError> {
        self.client
            .clone()
            .delete(DeleteRequest {
                id: id.to_owned(),
                urn: target.urn(),
                properties: Some(codec::encode(state, |_| false)),
                old_inputs: Some(codec::encode(inputs, |_| false)),
                timeout: OPERATION_TIMEOUT.as_secs_f64(),
                name: target.name.to_owned(),
                r#type: target.type_token.to_owned(),
                ..Default::default()
            })
            .await
            .map_err(Self::fail("delete", target))?;
        Ok(())
    }
}

/// Reads the port the plugin prints first and connects to it.
async fn connect(
    child: &mut Child,
    stderr_file: &Path,
) -> Result<ResourceProviderClient<Channel>, String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let first_line = tokio::task::spawn_blocking(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let read = reader.read_line(&mut line);
        // The plugin must print nothing else; keep draining so it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        read.map(|_| line)
    });
    let line = tokio::time::timeout(Duration::from_secs(10), first_line)
        .await
        .map_err(|_| format!("{PLUGIN} printed no port within 10 s"))?
        .map_err(|e| format!("reading {PLUGIN}'s port: {e}"))?
        .map_err(|e| format!("reading {PLUGIN}'s port: {e}"))?;
    let port: u16 = line.trim().parse().map_err(|_| {
        format!(
            "{PLUGIN} printed {line:?} instead of its port; see {}",
            stderr_file.display()
        )
    })?;
    Ok(
        ResourceProviderClient::connect(format!("http://127.0.0.1:{port}"))
            .await
            .map_err(|e| format!("connecting to {PLUGIN} on port {port}: {e}"))?
            .max_decoding_message_size(64 * 1024 * 1024),
    )
}

/// What Diff said.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    pub changed: Vec<String>,
    pub replaces: Vec<String>,
}

fn decode(
    value: Option<&prost_types::Struct>,
    operation: &'static str,
    target: &Target,
) -> Result<Props, RpcError> {
    codec::decode(value).map_err(|e| RpcError {
        operation,
        urn: target.urn(),
        message: format!("the provider answered a value the engine cannot read: {e}"),
    })
}
