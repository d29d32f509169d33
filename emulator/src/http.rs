//! HTTPS plumbing: the request/response types the handlers see and the accept loop.

use crate::util;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// Which of the emulator's faces a listener serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Azure Resource Manager, plus the `/_emulator` admin API.
    Arm,
    /// The Entra token service (`login.microsoftonline.com`).
    Login,
    /// The App Service style managed-identity endpoint.
    Msi,
    /// The OIDC issuer of service-account tokens.
    Oidc,
}

/// A request as the handlers see it: the body already read.
#[derive(Debug)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub raw_query: String,
    pub query: BTreeMap<String, String>,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter, its name compared case-insensitively (ARM accepts `API-VERSION`).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response under construction.
#[derive(Debug, Default)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Close the connection without answering (a fault).
    pub drop_connection: bool,
}

impl Resp {
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            ..Default::default()
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: Some(serde_json::to_vec(value).unwrap_or_default()),
            drop_connection: false,
        }
    }

    pub fn dropped() -> Self {
        Self {
            drop_connection: true,
            ..Default::default()
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// The answer with each of `headers` in place of any header of the same name.
    pub fn replacing_headers(mut self, headers: Vec<(String, String)>) -> Self {
        for (name, value) in headers {
            self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
            self.headers.push((name.to_ascii_lowercase(), value));
        }
        self
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }
}

/// Something that answers requests for one service.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        self: Arc<Self>,
        service: Service,
        req: Req,
    ) -> Pin<Box<dyn Future<Output = Resp> + Send>>;
}

#[derive(Debug, thiserror::Error)]
#[error("connection dropped on purpose (fault injection)")]
struct Dropped;

/// Accepts TLS connections until `shutdown` turns true.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    service: Service,
    handler: Arc<H>,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.changed() => return,
        };
        let Ok((tcp, _peer)) = accepted else { continue };
        let acceptor = acceptor.clone();
        let handler = handler.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let svc = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                let handler = handler.clone();
                async move { answer(handler, service, req).await }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(tls), svc)
                .await;
        });
    }
}

async fn answer<H: Handler>(
    handler: Arc<H>,
    service: Service,
    req: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, Dropped> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let path = percent_encoding::percent_decode_str(parts.uri.path())
        .decode_utf8_lossy()
        .into_owned();
    let client_request_id = parts
        .headers
        .get("x-ms-client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let correlation = parts
        .headers
        .get("x-ms-correlation-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(util::uuid);
    let r = Req {
        method: parts.method.as_str().to_string(),
        query: util::parse_form(&raw_query),
        raw_query,
        path,
        headers: parts.headers,
        body,
    };
    tracing::debug!(?service, method = %r.method, path = %r.path, "request");
    let mut resp = handler.handle(service, r).await;
    if resp.drop_connection {
        return Err(Dropped);
    }
    if !resp.has_header("x-ms-request-id") {
        resp.headers.push(("x-ms-request-id".into(), util::uuid()));
    }
    resp.headers
        .push(("x-ms-correlation-request-id".into(), correlation));
    if let Some(id) = client_request_id {
        resp.headers.push(("x-ms-client-request-id".into(), id));
    }
    let mut builder = http::Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = Full::new(Bytes::from(resp.body.unwrap_or_default()));
    Ok(builder.body(body).unwrap_or_else(|_| {
        let mut r = http::Response::new(Full::new(Bytes::new()));
        *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        r
    }))
}
