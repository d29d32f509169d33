//! Self-describing IDs of the SQL resources, so an import works from the ID alone:
//!
//! `postgresql://ADMIN@HOST:PORT/DATABASE?principal=NAME` ([`PrincipalId`])
//! `postgresql://ADMIN@HOST:PORT/DATABASE?grant=ROLE&in=DB&on=TYPE&schema=S&objects=A,B&grantOption=true&defaults=true&defaultsFor=OWNER&revoke=true` ([`GrantId`])
//!
//! Every part is percent-encoded (all but `A-Z a-z 0-9 - . _ ~`), so names with `@`, `:`, `/`,
//! `,`, `&`, spaces, quotes or unicode round-trip. `sslmode=` appears when it is not verify-full:
//! only in IDs written before verify-full became the only mode that signs in; such IDs still
//! parse (they are in states), and the session refuses them, as an import does with the reason.
//! These IDs are in users' states: the text form never changes.

use crate::sql::grant::{GrantTarget, ObjectType};
use crate::sql::session::{ConnInfo, SslMode};
use std::fmt;

/// An ID that is not the ID of the SQL resource asked for; says which form one has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(String);

/// What every SQL resource's ID has: the connection its SQL runs on (server, admin, database
/// and sslMode), and a parse from the text form.
pub trait SqlResourceId: Sized + fmt::Display {
    fn parse(id: &str) -> Result<Self, IdError>;
    fn conn(&self) -> &ConnInfo;
}

/// A Principal's ID: the role `name` on the server `conn` reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalId {
    pub conn: ConnInfo,
    pub name: String,
}

impl SqlResourceId for PrincipalId {
    fn parse(id: &str) -> Result<Self, IdError> {
        let url = SqlUrl::parse(id)?;
        let name = match url.get("principal") {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => {
                return Err(IdError(format!(
                "{id:?} is not a Principal ID: it names no principal (expected ...?principal=NAME)"
            )))
            }
        };
        Ok(Self {
            conn: url.conn,
            name,
        })
    }

    fn conn(&self) -> &ConnInfo {
        &self.conn
    }
}

impl fmt::Display for PrincipalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        SqlUrl::new(&self.conn)
            .with("principal", self.name.clone())
            .fmt(f)
    }
}

/// A Grant's ID: what it is on and for whom, on the server `conn` reaches. The privileges are
/// not part of it (an update changes them in place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantId {
    pub conn: ConnInfo,
    pub target: GrantTarget,
}

impl SqlResourceId for GrantId {
    fn parse(id: &str) -> Result<Self, IdError> {
        let url = SqlUrl::parse(id)?;
        let missing = |what: &str| {
            IdError(format!(
                "{id:?} is not a Grant ID: it has no {what} (expected ...?grant=ROLE&in=DATABASE&on=TYPE...)"
            ))
        };
        let role = url.get("grant").ok_or_else(|| missing("grant=ROLE"))?;
        let database = url.get("in").ok_or_else(|| missing("in=DATABASE"))?;
        let object_type = url.get("on").ok_or_else(|| missing("on=TYPE"))?;
        let object_type = ObjectType::parse(object_type).ok_or_else(|| missing("known on=TYPE"))?;
        let target = GrantTarget {
            role: role.to_owned(),
            database: database.to_owned(),
            object_type,
            schema: url.get("schema").map(str::to_owned),
            objects: split_list(url.get("objects").unwrap_or_default())?,
            with_grant_option: url.get("grantOption") == Some("true"),
            default_privileges: url.get("defaults") == Some("true"),
            default_privileges_owner: url.get("defaultsFor").map(str::to_owned),
            revoke: url.get("revoke") == Some("true"),
        };
        Ok(Self {
            conn: url.conn,
            target,
        })
    }

    fn conn(&self) -> &ConnInfo {
        &self.conn
    }
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = &self.target;
        let mut url = SqlUrl::new(&self.conn)
            .with("grant", target.role.clone())
            .with("in", target.database.clone())
            .with("on", target.object_type.as_str());
        if let Some(schema) = &target.schema {
            url = url.with("schema", schema.clone());
        }
        if !target.objects.is_empty() {
            url = url.with("objects", join_list(&target.objects));
        }
        if target.with_grant_option {
            url = url.with("grantOption", "true");
        }
        if target.default_privileges {
            url = url.with("defaults", "true");
        }
        if let Some(owner) = &target.default_privileges_owner {
            url = url.with("defaultsFor", owner.clone());
        }
        if target.revoke {
            url = url.with("revoke", "true");
        }
        url.fmt(f)
    }
}

const SCHEME: &str = "postgresql://";

fn encode(part: &str) -> String {
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

fn decode(part: &str) -> Result<String, IdError> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = part
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| IdError(format!("{part:?} has a bad percent escape")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| IdError(format!("{part:?} is not UTF-8 once decoded")))
}

/// The form every SQL ID shares: the connection and the query's key/value pairs (decoded, in
/// order). Only the typed IDs above build and read one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SqlUrl {
    conn: ConnInfo,
    params: Vec<(String, String)>,
}

impl SqlUrl {
    fn new(conn: &ConnInfo) -> Self {
        Self {
            conn: conn.clone(),
            params: Vec::new(),
        }
    }

    fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.params.push((key.to_owned(), value.into()));
        self
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn parse(id: &str) -> Result<Self, IdError> {
        let bad = |why: &str| {
            IdError(format!(
                "{id:?} is not a pgentra SQL resource ID ({why}); expected \
                 postgresql://ADMIN@HOST:PORT/DATABASE?principal=NAME or ?grant=ROLE&..., each part percent-encoded"
            ))
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

impl fmt::Display for SqlUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
fn join_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| encode(i))
        .collect::<Vec<_>>()
        .join(",")
}

fn split_list(text: &str) -> Result<Vec<String>, IdError> {
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
        let id = SqlUrl::new(&conn()).with("principal", "developer@yourcompany.com");
        let text = id.to_string();
        assert_eq!(
            text,
            "postgresql://PG%20Admins%20Group@pg-myapp-prod.postgres.database.azure.com:5432/postgres?principal=developer%40yourcompany.com"
        );
        assert_eq!(SqlUrl::parse(&text).unwrap(), id);
    }

    #[test]
    fn awkward_names_round_trip() {
        let mut c = conn();
        c.user = "a@b:c/d?e&f=g".into();
        c.ssl_mode = SslMode::Require;
        let objects = vec!["it's \"x\"".to_owned(), "a,b".to_owned(), "日本".to_owned()];
        let id = SqlUrl::new(&c)
            .with("grant", "x%y z@w")
            .with("objects", join_list(&objects));
        let parsed = SqlUrl::parse(&id.to_string()).unwrap();
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
            assert!(SqlUrl::parse(bad).is_err(), "{bad}");
        }
    }

    fn grant(role: &str) -> GrantTarget {
        GrantTarget {
            role: role.into(),
            database: "myappdb".into(),
            object_type: ObjectType::Table,
            schema: Some("public".into()),
            objects: vec![],
            with_grant_option: false,
            default_privileges: false,
            default_privileges_owner: None,
            revoke: false,
        }
    }

    /// Names that break naive splitting, quoting or decoding.
    const AWKWARD: &[&str] = &[
        "developer@yourcompany.com",
        "PG Admins Group",
        "a@b:c/d?e&f=g#h",
        "x%y z@w",
        "%41",
        "it's \"quoted\"",
        "a,b",
        "back\\slash",
        "plus+sign=eq",
        "équipe-données",
        "日本語",
        "emoji 🐘",
        "tab\there",
        "-._~",
    ];

    #[test]
    fn a_principal_id_keeps_todays_text_form() {
        let id = PrincipalId {
            conn: conn(),
            name: "developer@yourcompany.com".into(),
        };
        assert_eq!(
            id.to_string(),
            "postgresql://PG%20Admins%20Group@pg-myapp-prod.postgres.database.azure.com:5432/postgres?principal=developer%40yourcompany.com"
        );
        assert_eq!(PrincipalId::parse(&id.to_string()).unwrap(), id);
    }

    #[test]
    fn a_grant_id_keeps_todays_text_form() {
        let mut c = conn();
        c.ssl_mode = SslMode::Require;
        let id = GrantId {
            conn: c,
            target: GrantTarget {
                objects: vec!["orders".into(), "a,b".into()],
                with_grant_option: true,
                ..grant("app-myapp-prod")
            },
        };
        assert_eq!(
            id.to_string(),
            "postgresql://PG%20Admins%20Group@pg-myapp-prod.postgres.database.azure.com:5432/postgres?grant=app-myapp-prod&in=myappdb&on=table&schema=public&objects=orders%2Ca%252Cb&grantOption=true&sslmode=require"
        );
        assert_eq!(GrantId::parse(&id.to_string()).unwrap(), id);
        let defaults = GrantId {
            conn: conn(),
            target: GrantTarget {
                object_type: ObjectType::Sequence,
                default_privileges: true,
                ..grant("r")
            },
        };
        assert!(defaults
            .to_string()
            .ends_with("?grant=r&in=myappdb&on=sequence&schema=public&defaults=true"));
        assert_eq!(GrantId::parse(&defaults.to_string()).unwrap(), defaults);
    }

    #[test]
    fn typed_ids_round_trip_awkward_names_everywhere() {
        for (i, name) in AWKWARD.iter().enumerate() {
            let mut c = conn();
            c.user = name.to_string();
            c.host = format!("{name}.example");
            c.database = name.to_string();
            c.ssl_mode = [SslMode::VerifyFull, SslMode::VerifyCa, SslMode::Require][i % 3];
            let principal = PrincipalId {
                conn: c.clone(),
                name: name.to_string(),
            };
            assert_eq!(
                PrincipalId::parse(&principal.to_string()).unwrap(),
                principal
            );
            let others: Vec<String> = AWKWARD.iter().map(|s| s.to_string()).collect();
            let grant = GrantId {
                conn: c,
                target: GrantTarget {
                    database: name.to_string(),
                    schema: (i % 2 == 0).then(|| name.to_string()),
                    objects: others[..i].to_vec(),
                    with_grant_option: i % 2 == 1,
                    default_privileges: i % 3 == 1,
                    default_privileges_owner: (i % 3 == 1).then(|| name.to_string()),
                    revoke: i % 4 == 3,
                    ..grant(name)
                },
            };
            assert_eq!(
                GrantId::parse(&grant.to_string()).unwrap(),
                grant,
                "{grant}"
            );
        }
    }

    #[test]
    fn an_id_of_the_other_kind_or_type_is_refused_naming_the_form() {
        let principal = PrincipalId {
            conn: conn(),
            name: "app".into(),
        }
        .to_string();
        let err = GrantId::parse(&principal).unwrap_err().to_string();
        assert!(
            err.contains("is not a Grant ID") && err.contains("grant=ROLE"),
            "{err}"
        );
        let grant = GrantId {
            conn: conn(),
            target: grant("app"),
        }
        .to_string();
        let err = PrincipalId::parse(&grant).unwrap_err().to_string();
        assert!(err.contains("is not a Principal ID"), "{err}");
        let view = grant.replace("on=table", "on=view");
        assert!(GrantId::parse(&view)
            .unwrap_err()
            .to_string()
            .contains("known on=TYPE"));
        assert!(PrincipalId::parse("pg-myapp-prod/app")
            .unwrap_err()
            .to_string()
            .contains("postgresql://"));
    }
}
