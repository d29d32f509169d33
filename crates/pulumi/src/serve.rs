//! Start-up as the engine expects it: serve on 127.0.0.1 on a free port, print that port and
//! a newline on stdout (and nothing else, ever), log to stderr, stop on SIGINT or SIGTERM.

use crate::engine_log::EngineLog;
use crate::proto::pulumirpc::resource_provider_server::ResourceProviderServer;
use crate::service::Provider;
use pgentra_core::resource::Registry;
use std::io::Write;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The engine sends schemas and states far larger than tonic's 4 MiB default; it allows 400 MiB.
const MAX_MESSAGE: usize = 400 * 1024 * 1024;

/// Arguments as the engine passes them: `[--logtostderr] [-v=N] [--tracing <endpoint>] <engine>`.
/// Unknown flags are ignored; the engine address is the last positional, absent in attach mode.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    pub engine_address: Option<String>,
    pub verbosity: Option<u32>,
    pub tracing_endpoint: Option<String>,
}

impl Args {
    pub fn parse(args: impl IntoIterator<Item = String>) -> Self {
        let mut parsed = Args::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--tracing" {
                parsed.tracing_endpoint = args.next();
            } else if let Some(endpoint) = arg.strip_prefix("--tracing=") {
                parsed.tracing_endpoint = Some(endpoint.to_owned());
            } else if let Some(level) = arg.strip_prefix("-v=").or_else(|| arg.strip_prefix("--v="))
            {
                parsed.verbosity = level.parse().ok();
            } else if !arg.starts_with('-') {
                parsed.engine_address = Some(arg);
            }
        }
        parsed
    }
}

pub async fn serve(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let engine = EngineLog::default();
    if let Some(address) = &args.engine_address {
        engine.connect(address);
    }
    let provider = Provider::new(Arc::new(Registry::builtin()), engine);
    let cancellation = provider.cancellation();
    let service = ResourceProviderServer::new(provider)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{port}")?;
        stdout.flush()?;
    }
    tracing::debug!(port, engine = ?args.engine_address, "serving the Pulumi provider protocol");
    tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(
            // Nagle's algorithm would hold each reply's last HTTP/2 frames back until the
            // engine's delayed ACK: ~40 ms added to every RPC.
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            async move {
                interrupted().await;
                // Operations in flight stop waiting and answer (a create with its ID) before
                // the server, which lets them finish, shuts down.
                cancellation.cancel();
                tracing::debug!("shutting down on signal");
            },
        )
        .await?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM (never, when the handlers cannot be installed): how the
/// engine, or a person at a terminal, stops a long-running pgentra process.
pub async fn interrupted() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn the_engine_address_is_the_last_positional_after_any_flags() {
        let args = parse(&[
            "--logtostderr",
            "-v=9",
            "--tracing",
            "http://127.0.0.1:9411",
            "127.0.0.1:41234",
        ]);
        assert_eq!(args.engine_address.as_deref(), Some("127.0.0.1:41234"));
        assert_eq!(args.verbosity, Some(9));
        assert_eq!(
            args.tracing_endpoint.as_deref(),
            Some("http://127.0.0.1:9411")
        );
    }

    #[test]
    fn attach_mode_has_no_engine_address_and_unknown_flags_are_ignored() {
        assert_eq!(parse(&["--some-new-flag"]), Args::default());
        assert_eq!(parse(&[]), Args::default());
    }
}
