//! Log lines for the user, sent to the engine's Log RPC (and mirrored to stderr via tracing).
//!
//! Lines go through one queue and one sender task, so they reach the engine in order and a
//! slow engine never blocks an operation.

use crate::proto::pulumirpc::{engine_client::EngineClient, LogRequest, LogSeverity};
use pgentra_core::resource::{LogSink, Severity};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

#[derive(Clone, Default)]
pub struct EngineLog {
    queue: Arc<Mutex<Option<mpsc::UnboundedSender<LogRequest>>>>,
}

/// An address the engine gave (`127.0.0.1:port`, or with a scheme) as a gRPC endpoint: the
/// engine's Log service, and its resource monitor for Construct.
pub(crate) fn engine_endpoint(address: &str) -> Result<tonic::transport::Endpoint, String> {
    let address = address.trim();
    let uri = if address.contains("://") {
        address.to_owned()
    } else {
        format!("http://{address}")
    };
    tonic::transport::Endpoint::from_shared(uri)
        .map_err(|e| format!("{address:?} is not an address: {e}"))
}

impl EngineLog {
    /// Starts forwarding to the engine at `address` (`127.0.0.1:port`). Called with the argv
    /// address, and again if Handshake or Attach name another one.
    pub fn connect(&self, address: &str) {
        let address = address.trim();
        if address.is_empty() {
            return;
        }
        let Ok(endpoint) = engine_endpoint(address) else {
            tracing::warn!(
                address,
                "ignoring an engine address that is not a valid URI"
            );
            return;
        };
        let channel = endpoint.connect_lazy();
        let (sender, mut receiver) = mpsc::unbounded_channel::<LogRequest>();
        tokio::spawn(async move {
            let mut client = EngineClient::new(channel);
            while let Some(request) = receiver.recv().await {
                if let Err(status) = client.log(request).await {
                    tracing::debug!(code = ?status.code(), "the engine did not take a log line");
                }
            }
        });
        *self.queue.lock().expect("log queue lock") = Some(sender);
    }

    pub fn for_urn(&self, urn: &str) -> Arc<dyn LogSink> {
        Arc::new(UrnLog {
            engine: self.clone(),
            urn: urn.to_owned(),
        })
    }

    pub fn send(&self, severity: Severity, urn: &str, message: &str) {
        match severity {
            Severity::Debug => tracing::debug!(urn, "{message}"),
            Severity::Info => tracing::info!(urn, "{message}"),
            Severity::Warning => tracing::warn!(urn, "{message}"),
            Severity::Error => tracing::error!(urn, "{message}"),
        }
        let severity = match severity {
            Severity::Debug => LogSeverity::Debug,
            Severity::Info => LogSeverity::Info,
            Severity::Warning => LogSeverity::Warning,
            Severity::Error => LogSeverity::Error,
        };
        if let Some(queue) = self.queue.lock().expect("log queue lock").as_ref() {
            let _ = queue.send(LogRequest {
                severity: severity as i32,
                message: message.to_owned(),
                urn: urn.to_owned(),
                stream_id: 0,
                ephemeral: false,
            });
        }
    }
}

struct UrnLog {
    engine: EngineLog,
    urn: String,
}

impl LogSink for UrnLog {
    fn log(&self, severity: Severity, message: &str) {
        self.engine.send(severity, &self.urn, message);
    }
}
