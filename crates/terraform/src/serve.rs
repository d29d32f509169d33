//! Serving a tfplugin6 provider the way go-plugin expects: handshake, optional AutoMTLS, the
//! Provider service next to go-plugin's controller, stdio and health services, and an exit as
//! soon as the host calls `GRPCController.Shutdown` (or sends SIGTERM).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status};

use crate::handshake::{self, HandshakeError, PluginEnvironment};
use crate::proto::health::health_check_response::ServingStatus;
use crate::proto::health::health_server::{Health, HealthServer};
use crate::proto::health::{HealthCheckRequest, HealthCheckResponse};
use crate::proto::plugin::grpc_controller_server::{GrpcController, GrpcControllerServer};
use crate::proto::plugin::grpc_stdio_server::{GrpcStdio, GrpcStdioServer};
use crate::proto::plugin::{Empty, StdioData};
use crate::proto::tfplugin6::provider_server::{Provider, ProviderServer};
use crate::tls::{AutoMtls, TlsError};

/// Terraform asks for up to 64 MiB schemas; Go providers allow 256 MiB either way.
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;
/// The health service name go-plugin's client pings.
pub const HEALTH_SERVICE_NAME: &str = "plugin";
/// How long in-flight calls may finish after Shutdown before the process stops anyway
/// (Terraform kills it after 2 seconds).
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    #[error("setting up AutoMTLS: {0}")]
    Tls(#[from] TlsError),
    #[error("reading the listener address: {0}")]
    LocalAddress(#[source] io::Error),
    #[error("installing the {signal} handler: {source}")]
    Signal {
        signal: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("serving gRPC: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Why serving stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The host called `GRPCController.Shutdown`.
    ShutdownRequested,
    /// SIGTERM.
    Terminated,
}

/// Reads the plugin environment, binds, prints the handshake line and serves `provider` until the
/// host shuts the plugin down. Errors (a missing magic cookie, no protocol 6 offered, ...) carry a
/// message for a human; the caller prints it to stderr and exits 1.
pub async fn serve<P: Provider>(provider: P) -> Result<StopReason, ServeError> {
    let environment = PluginEnvironment::from_process_env()?;
    tracing::debug!(
        offered_versions = %environment.offered_versions,
        port_range = ?environment.port_range,
        auto_mtls = environment.client_cert_pem.is_some(),
        "plugin environment"
    );
    let listener = handshake::bind_listener(&environment).await?;
    let address = listener.local_addr().map_err(ServeError::LocalAddress)?;
    let tls = environment
        .client_cert_pem
        .as_deref()
        .map(AutoMtls::new)
        .transpose()?;
    let certificate_field = tls.as_ref().map(AutoMtls::certificate_base64);

    let stop = StopSignal::new();
    watch_signals(&stop)?;
    let connections = accept_connections(
        listener,
        tls.map(|tls| TlsAcceptor::from(tls.server_config())),
    );

    handshake::announce(&handshake::handshake_line(
        address,
        certificate_field.as_deref().unwrap_or(""),
    ))?;
    tracing::info!(%address, tls = certificate_field.is_some(), "serving tfplugin6");

    let provider = ProviderServer::new(provider)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    let server = tonic::transport::Server::builder()
        .add_service(provider)
        .add_service(GrpcControllerServer::new(Controller { stop: stop.clone() }))
        .add_service(GrpcStdioServer::new(Stdio { stop: stop.clone() }))
        .add_service(HealthServer::new(PluginHealth))
        .serve_with_incoming_shutdown(ReceiverStream::new(connections), stop.clone().wait());

    // Graceful shutdown waits for every open call; bound it so the process exits promptly.
    let deadline = {
        let stop = stop.clone();
        async move {
            stop.wait().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        }
    };
    tokio::select! {
        result = server => result?,
        () = deadline => tracing::debug!("calls still open after shutdown; stopping anyway"),
    }
    let reason = stop.reason().unwrap_or(StopReason::ShutdownRequested);
    tracing::info!(?reason, "stopped serving");
    Ok(reason)
}

/// One-shot stop flag shared by the controller, the signal handler and the server.
#[derive(Clone)]
struct StopSignal {
    sender: Arc<watch::Sender<Option<StopReason>>>,
}

impl StopSignal {
    fn new() -> Self {
        Self {
            sender: Arc::new(watch::channel(None).0),
        }
    }

    fn trigger(&self, reason: StopReason) {
        self.sender.send_if_modified(|current| {
            let first = current.is_none();
            if first {
                *current = Some(reason);
            }
            first
        });
    }

    fn reason(&self) -> Option<StopReason> {
        *self.sender.borrow()
    }

    async fn wait(self) {
        let mut receiver = self.sender.subscribe();
        // Cannot fail: `self` keeps the sender alive.
        let _ = receiver.wait_for(Option::is_some).await;
    }
}

/// SIGINT reaches the whole process group on Ctrl-C: ignore it (Terraform asks for a graceful
/// stop through StopProvider instead) but count it. SIGTERM stops the plugin.
fn watch_signals(stop: &StopSignal) -> Result<(), ServeError> {
    let mut interrupts = signal(SignalKind::interrupt()).map_err(|source| ServeError::Signal {
        signal: "SIGINT",
        source,
    })?;
    let mut terminations =
        signal(SignalKind::terminate()).map_err(|source| ServeError::Signal {
            signal: "SIGTERM",
            source,
        })?;
    let ignored = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        while interrupts.recv().await.is_some() {
            let count = ignored.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::debug!(
                count,
                "ignoring SIGINT; Terraform stops providers via StopProvider"
            );
        }
    });
    let stop = stop.clone();
    tokio::spawn(async move {
        if terminations.recv().await.is_some() {
            tracing::info!("SIGTERM received");
            stop.trigger(StopReason::Terminated);
        }
    });
    Ok(())
}

/// Accepts TCP connections (TCP_NODELAY set) and completes TLS handshakes off the accept loop, so
/// one slow client cannot hold up the next.
fn accept_connections(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
) -> mpsc::Receiver<io::Result<PluginConnection>> {
    let (sender, receiver) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection");
                    continue;
                }
            };
            if let Err(error) = stream.set_nodelay(true) {
                tracing::warn!(%error, "setting TCP_NODELAY");
            }
            let sender = sender.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let connection = match tls {
                    None => PluginConnection::Plain(stream, peer),
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(stream) => PluginConnection::Tls(Box::new(stream), peer),
                        Err(error) => {
                            // Seen when the host drops a spare connection at exit: not alarming.
                            tracing::debug!(%peer, %error, "TLS handshake failed");
                            return;
                        }
                    },
                };
                let _ = sender.send(Ok(connection)).await;
            });
        }
    });
    receiver
}

/// A client connection, plaintext or TLS.
enum PluginConnection {
    Plain(TcpStream, SocketAddr),
    Tls(Box<TlsStream<TcpStream>>, SocketAddr),
}

impl Connected for PluginConnection {
    type ConnectInfo = SocketAddr;

    fn connect_info(&self) -> SocketAddr {
        match self {
            PluginConnection::Plain(_, peer) | PluginConnection::Tls(_, peer) => *peer,
        }
    }
}

impl AsyncRead for PluginConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginConnection::Plain(stream, _) => Pin::new(stream).poll_read(context, buffer),
            PluginConnection::Tls(stream, _) => Pin::new(stream).poll_read(context, buffer),
        }
    }
}

impl AsyncWrite for PluginConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PluginConnection::Plain(stream, _) => Pin::new(stream).poll_write(context, data),
            PluginConnection::Tls(stream, _) => Pin::new(stream).poll_write(context, data),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginConnection::Plain(stream, _) => Pin::new(stream).poll_flush(context),
            PluginConnection::Tls(stream, _) => Pin::new(stream).poll_flush(context),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PluginConnection::Plain(stream, _) => Pin::new(stream).poll_shutdown(context),
            PluginConnection::Tls(stream, _) => Pin::new(stream).poll_shutdown(context),
        }
    }
}

/// `plugin.GRPCController`: Shutdown stops the server (and with it the process).
struct Controller {
    stop: StopSignal,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("Shutdown requested by the plugin host");
        self.stop.trigger(StopReason::ShutdownRequested);
        Ok(Response::new(Empty {}))
    }
}

/// `plugin.GRPCStdio`: logs go to the real stderr, which Terraform captures, so the stream stays
/// empty and ends when the plugin stops.
struct Stdio {
    stop: StopSignal,
}

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = ReceiverStream<Result<StdioData, Status>>;

    async fn stream_stdio(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        let (sender, receiver) = mpsc::channel(1);
        let stop = self.stop.clone();
        tokio::spawn(async move {
            stop.wait().await;
            drop(sender);
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}

/// `grpc.health.v1.Health`: the plugin is SERVING for as long as it answers at all.
struct PluginHealth;

#[tonic::async_trait]
impl Health for PluginHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let service = request.into_inner().service;
        if service.is_empty() || service == HEALTH_SERVICE_NAME {
            Ok(Response::new(HealthCheckResponse {
                status: ServingStatus::Serving as i32,
            }))
        } else {
            Err(Status::not_found(format!("unknown service {service:?}")))
        }
    }
}

/// Logs go to stderr only (stdout belongs to the handshake); Terraform shows them under TF_LOG.
/// The filter comes from `PGENTRA_LOG` (tracing-subscriber syntax), `info` by default.
pub fn init_stderr_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PGENTRA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(false)
        .try_init();
}
