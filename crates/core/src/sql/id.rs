//! Self-describing IDs of the SQL resources, so `pulumi import` works from the ID alone:
//!
//! `postgresql://ADMIN@HOST:PORT/DATABASE?principal=NAME`
//! `postgresql://ADMIN@HOST:PORT/DATABASE?grant=ROLE&in=DB&on=TYPE&schema=S&objects=A,B&grantOption=true&defaults=true`
//!
//! Every part is percent-encoded (all but `A-Z a-z 0-9 - . _ ~`), so names with `@`, `:`, `/`,
//! `,`, `&`, spaces, quotes or unicode round-trip. `sslmode=` appears when it is not verify-full.

use crate::sql::session::{ConnInfo, SslMode};

const SCHEME: &str = "postgresql://";

pub fn encode(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for byte in part.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub fn decode(part: &str) -> Result<String, String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = part
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("{part:?} has a bad percent escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{part:?} is not UTF-8 once decoded"))
}

/// A parsed ID: the connection and the query's key/value pairs (decoded, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlId {
    pub conn: ConnInfo,
    pub params: Vec<(String, String)>,
}

impl SqlId {
    pub fn new(conn: &ConnInfo) -> Self {
        Self {
            conn: conn.clone(),
            params: Vec::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.params.push((key.to_owned(), value.into()));
        self
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn parse(id: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "{id:?} is not a pgentra SQL resource ID ({why}); expected \
                 postgresql://ADMIN@HOST:PORT/DATABASE?principal=NAME or ?grant=ROLE&..., each part percent-encoded"
            )
        };
        let rest = id
            .strip_prefix(SCHEME)
            .ok_or_else(|| bad("no postgresql:// prefix"))?;
        let (path, query) = rest.split_once('?').ok_or_else(|| bad("no ?"))?;
        let (user, rest) = path.split_once('@').ok_or_else(|| bad("no ADMIN@"))?;
        let (hostport, database) = rest.split_once('/').ok_or_else(|| bad("no /DATABASE"))?;
        let (host, port) = hostport.rsplit_once(':').ok_or_else(|| bad("no :PORT"))?;
        let port: u16 = port.parse().map_err(|_| bad("the port is not a number"))?;
        let mut params = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| bad("a query part has no ="))?;
            params.push((decode(k)?, decode(v)?));
        }
        let ssl_mode = match params.iter().find(|(k, _)| k == "sslmode") {
            Some((_, m)) => SslMode::parse(m).ok_or_else(|| bad("unknown sslmode"))?,
            None => SslMode::VerifyFull,
        };
        params.retain(|(k, _)| k != "sslmode");
        let (user, host, database) = (decode(user)?, decode(host)?, decode(database)?);
        if user.is_empty() || host.is_empty() || database.is_empty() {
            return Err(bad("an empty admin, host or database"));
        }
        Ok(Self {
            conn: ConnInfo {
                host,
                port,
                database,
                user,
                ssl_mode,
            },
            params,
        })
    }
}

impl std::fmt::Display for SqlId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{SCHEME}{}@{}:{}/{}?",
            encode(&self.conn.user),
            encode(&self.conn.host),
            self.conn.port,
            encode(&self.conn.database)
        )?;
        let mut first = true;
        let ssl = (self.conn.ssl_mode != SslMode::VerifyFull)
            .then(|| ("sslmode".to_owned(), self.conn.ssl_mode.as_str().to_owned()));
        for (k, v) in self.params.iter().chain(ssl.iter()) {
            if !first {
                f.write_str("&")?;
            }
            first = false;
            write!(f, "{}={}", encode(k), encode(v))?;
        }
        Ok(())
    }
}

/// Objects joined with `,` (each encoded first, so a `,` in a name cannot split it).
pub fn join_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| encode(i))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn split_list(text: &str) -> Result<Vec<String>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',').map(decode).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> ConnInfo {
        ConnInfo {
            host: "pg-myapp-prod.postgres.database.azure.com".into(),
            port: 5432,
            database: "postgres".into(),
            user: "PG Admins Group".into(),
            ssl_mode: SslMode::VerifyFull,
        }
    }

    #[test]
    fn a_principal_id_names_everything_and_round_trips() {
        let id = SqlId::new(&conn()).with("principal", "developer@yourcompany.com");
        let text = id.to_string();
        assert_eq!(
            text,
            "postgresql://PG%20Admins%20Group@pg-myapp-prod.postgres.database.azure.com:5432/postgres?principal=developer%40yourcompany.com"
        );
        assert_eq!(SqlId::parse(&text).unwrap(), id);
    }

    #[test]
    fn awkward_names_round_trip() {
        let mut c = conn();
        c.user = "a@b:c/d?e&f=g".into();
        c.ssl_mode = SslMode::Require;
        let objects = vec!["it's \"x\"".to_owned(), "a,b".to_owned(), "日本".to_owned()];
        let id = SqlId::new(&c)
            .with("grant", "x%y z@w")
            .with("objects", join_list(&objects));
        let parsed = SqlId::parse(&id.to_string()).unwrap();
        assert_eq!(parsed, id);
        assert_eq!(split_list(parsed.get("objects").unwrap()).unwrap(), objects);
    }

    #[test]
    fn foreign_ids_are_refused_with_the_expected_shape() {
        for bad in [
            "",
            "pg-1",
            "postgresql://host/db",
            "postgresql://u@h:x/d?a=b",
            "postgresql://u@h:1/d?a=%G1",
        ] {
            assert!(SqlId::parse(bad).is_err(), "{bad}");
        }
    }
}
