//! A small HTTPS client over hyper + tokio-rustls that trusts only the emulator's CA.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde_json::Value;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

#[derive(Clone)]
pub struct Client {
    tls: Arc<rustls::ClientConfig>,
}

/// Splits `https://host:port/path?q` into (host, port, path-and-query).
pub fn split_url(url: &str) -> (String, u16, String) {
    let rest = url.strip_prefix("https://").expect("https URL");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = authority.rsplit_once(':').expect("host:port");
    (
        host.trim_matches(|c| c == '[' || c == ']').to_string(),
        port.parse().expect("port"),
        path.to_string(),
    )
}

impl Client {
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Self {
        Self { tls }
    }

    /// Sends one request on a fresh connection. Err when the connection fails or is dropped.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Response, String> {
        let (host, port, path) = split_url(url);
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| e.to_string())?;
        let name = ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
        let tls = TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("tls: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("{host}:{port}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| e.to_string())?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// POSTs an `application/x-www-form-urlencoded` body.
    pub async fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> Result<Response, String> {
        let body = fields
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    pgentra_emulator::util::query_encode(k),
                    pgentra_emulator::util::query_encode(v)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        self.send(
            "POST",
            url,
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(body.into_bytes()),
        )
        .await
    }
}
