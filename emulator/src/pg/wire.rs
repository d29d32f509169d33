//! The few PostgreSQL frontend/backend protocol (v3) messages the gateway needs: the untyped
//! first packets (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage), typed messages,
//! AuthenticationCleartextPassword and ErrorResponse.

use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};

pub const SSL_REQUEST: i32 = 80_877_103;
pub const GSSENC_REQUEST: i32 = 80_877_104;
pub const CANCEL_REQUEST: i32 = 80_877_102;
pub const PROTOCOL_3: i32 = 196_608;

/// The largest message the gateway reads before the session is relayed (a token is ~2 KB).
const MAX_MESSAGE: usize = 1 << 20;

/// An untyped packet (the first ones a client sends): its code and the bytes after it.
pub async fn read_untyped<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<(i32, Vec<u8>)> {
    let len = r.read_i32().await?;
    if !(8..=10_000).contains(&len) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "invalid startup packet length",
        ));
    }
    let code = r.read_i32().await?;
    let mut body = vec![0; len as usize - 8];
    r.read_exact(&mut body).await?;
    Ok((code, body))
}

/// The parameters of a StartupMessage body (after the protocol version).
pub fn parse_startup(body: &[u8]) -> io::Result<Vec<(String, String)>> {
    let mut parts = body
        .split(|b| *b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned());
    let mut out = Vec::new();
    loop {
        match (parts.next(), parts.next()) {
            (Some(k), Some(v)) if !k.is_empty() => out.push((k, v)),
            _ => return Ok(out),
        }
    }
}

/// A StartupMessage (protocol 3.0) with these parameters.
pub fn startup_message(params: &[(String, String)]) -> Vec<u8> {
    let mut body = PROTOCOL_3.to_be_bytes().to_vec();
    for (k, v) in params {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    out.extend(body);
    out
}

/// A typed message before sign-in: its tag and body (at most 1 MiB).
pub async fn read_message<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<(u8, Vec<u8>)> {
    read_message_up_to(r, MAX_MESSAGE).await
}

/// A typed message of a signed-in session, as large as PostgreSQL itself takes (1 GiB).
pub async fn read_session_message<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<(u8, Vec<u8>)> {
    read_message_up_to(r, 1 << 30).await
}

async fn read_message_up_to<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> io::Result<(u8, Vec<u8>)> {
    let tag = r.read_u8().await?;
    let len = r.read_i32().await?;
    if len < 4 || len as usize > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "invalid message length",
        ));
    }
    let mut body = vec![0; len as usize - 4];
    r.read_exact(&mut body).await?;
    Ok((tag, body))
}

/// Frames a typed message.
pub fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// AuthenticationCleartextPassword.
pub fn auth_cleartext_password() -> Vec<u8> {
    message(b'R', &3i32.to_be_bytes())
}

/// The password of a PasswordMessage body (NUL-terminated string).
pub fn password(body: &[u8]) -> String {
    let end = body.iter().position(|b| *b == 0).unwrap_or(body.len());
    String::from_utf8_lossy(&body[..end]).into_owned()
}

/// An ErrorResponse as PostgreSQL sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgError {
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<String>,
}

impl PgError {
    pub fn fatal(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: "FATAL",
            code,
            message: message.into(),
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// 28P01 `password authentication failed for user "<user>"`.
    pub fn password_failed(user: &str) -> Self {
        Self::fatal(
            "28P01",
            format!("password authentication failed for user \"{user}\""),
        )
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        let mut field = |t: u8, v: &str| {
            body.push(t);
            body.extend_from_slice(v.as_bytes());
            body.push(0);
        };
        field(b'S', self.severity);
        field(b'V', self.severity);
        field(b'C', self.code);
        field(b'M', &self.message);
        if let Some(d) = &self.detail {
            field(b'D', d);
        }
        body.push(0);
        message(b'E', &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_round_trips() {
        let p = vec![
            ("user".to_string(), "a b".to_string()),
            ("database".into(), "postgres".into()),
        ];
        let m = startup_message(&p);
        assert_eq!(
            i32::from_be_bytes(m[0..4].try_into().unwrap()) as usize,
            m.len()
        );
        assert_eq!(parse_startup(&m[8..]).unwrap(), p);
    }

    #[test]
    fn error_response_has_fields() {
        let e = PgError::password_failed("x").encode();
        assert_eq!(e[0], b'E');
        let s = String::from_utf8_lossy(&e);
        assert!(
            s.contains("C28P01") && s.contains("password authentication failed for user \"x\"")
        );
    }
}
