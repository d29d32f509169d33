//! `pgentra:index:Connection`: how Principal and Grant reach PostgreSQL.
//!
//! There is no password: every session signs in with a fresh Microsoft Entra access token for
//! the cloud's PostgreSQL audience, as `username`, over TLS. Host, port and database say which
//! server (and so which roles and objects) a resource lives on, so changing them replaces it;
//! the signing-in user and the TLS check can change in place.

use crate::props::Props;
use crate::rules;
use crate::spec::{Default, ObjectType, Property, Type};
use crate::sql::session::UNVERIFIED_TLS;
use crate::sql::{ConnInfo, SslMode};

pub static CONNECTION: ObjectType = ObjectType {
    token: "pgentra:index:Connection",
    doc: "How to reach PostgreSQL. The password is always a fresh Microsoft Entra access token \
          for the signed-in deployer; there is none to give.",
    properties: &[
        Property::input("host", Type::String, "The server's host name, such as a FlexibleServer's `fullyQualifiedDomainName`. Another host is another server: changing it replaces the resource.")
            .required()
            .replace()
            .rule(rules::host),
        Property::input("port", Type::Integer, "The TCP port.")
            .default(Default::Int(5432))
            .replace()
            .rule(rules::port),
        Property::input("database", Type::String, "The database to sign in to. Entra roles are created from `postgres`.")
            .default(Default::Str("postgres"))
            .replace()
            .rule(rules::pg_identifier),
        Property::input("username", Type::String, "The Microsoft Entra administrator the deployer signs in as: a user's UPN, or the display name of a group the deployer belongs to or of the deployer's service principal.")
            .required()
            .rule(rules::role_name),
        Property::input("sslMode", Type::String, "How the server's TLS certificate is checked: `verify-full`, the only mode, signs in only when the certificate chains to a trusted CA (the system's roots plus the provider's caCertFile) and names the host. `require` and `verify-ca` are refused: the password is the deployer's Microsoft Entra token, a bearer credential, and a server whose name is not checked could keep it.")
            .default(Default::Str("verify-full"))
            .one_of(&["verify-full"])
            .rule(ssl_mode),
    ],
};

/// `connection.sslMode`: only verify-full; `require` and `verify-ca` (which earlier versions
/// took) are refused with the reason, not just a list.
fn ssl_mode(value: &serde_json::Value) -> Result<(), String> {
    match value.as_str() {
        Some("verify-full") | None => Ok(()),
        Some(mode @ ("require" | "verify-ca")) => {
            Err(format!("{mode:?} is refused: {UNVERIFIED_TLS}"))
        }
        Some(other) => Err(format!(
            "{:?} is not allowed; use verify-full (the only mode: TLS with the certificate checked against the host name)",
            short(other)
        )),
    }
}

/// A refused value as a message quotes it: at most 40 characters.
fn short(value: &str) -> String {
    match value.char_indices().nth(40) {
        Some((end, _)) => format!("{}...", &value[..end]),
        None => value.to_owned(),
    }
}

/// The `connection` input of Principal and Grant.
pub const CONNECTION_PROPERTY: Property = Property::input(
    "connection",
    Type::Object(&CONNECTION),
    "How to reach PostgreSQL, signing in with a Microsoft Entra token.",
)
.required()
.terraform_name("sql_connection");

/// The session a resource's `connection` input describes (defaults filled when no check ran,
/// as for a state written before they existed).
pub fn conn_info(props: &Props) -> Option<ConnInfo> {
    let conn = props.get("connection")?.as_object()?;
    let text = |name: &str| conn.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    Some(ConnInfo {
        host: text("host")?,
        port: conn
            .get("port")
            .and_then(|v| v.as_u64())
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(5432),
        database: text("database").unwrap_or_else(|| "postgres".to_owned()),
        user: text("username")?,
        ssl_mode: text("sslMode")
            .and_then(|m| SslMode::parse(&m))
            .unwrap_or(SslMode::VerifyFull),
    })
}

/// The `connection` input that describes `conn` (for read and import).
pub fn connection_input(conn: &ConnInfo) -> serde_json::Value {
    serde_json::json!({
        "host": conn.host,
        "port": conn.port,
        "database": conn.database,
        "username": conn.user,
        "sslMode": conn.ssl_mode.as_str(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::check_properties;
    use serde_json::json;

    #[test]
    fn a_connection_fills_port_database_and_strict_tls() {
        let mut failures = vec![];
        let news = json!({"host": "pg-myapp-prod.postgres.database.azure.com", "username": "PG Admins Group"});
        let checked = check_properties(
            CONNECTION.properties,
            news.as_object().unwrap(),
            "connection",
            &mut failures,
        );
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(
            serde_json::Value::Object(checked),
            json!({
                "host": "pg-myapp-prod.postgres.database.azure.com",
                "port": 5432,
                "database": "postgres",
                "username": "PG Admins Group",
                "sslMode": "verify-full",
            })
        );
    }

    #[test]
    fn modes_that_do_not_check_the_host_name_are_refused_saying_why() {
        for mode in ["require", "verify-ca"] {
            let mut failures = vec![];
            let news =
                json!({"host": "pg.example.com", "username": "admin@contoso.com", "sslMode": mode});
            check_properties(
                CONNECTION.properties,
                news.as_object().unwrap(),
                "connection",
                &mut failures,
            );
            assert_eq!(failures.len(), 1, "{failures:?}");
            assert_eq!(failures[0].property, "connection.sslMode");
            let reason = &failures[0].reason;
            assert!(
                reason.contains(mode)
                    && reason.contains("verify-full")
                    && reason.contains("bearer")
                    && reason.contains("caCertFile"),
                "{reason}"
            );
        }
        let mut failures = vec![];
        let long = "x".repeat(100_000);
        let news = json!({"host": "pg.example.com", "username": "a@b.c", "sslMode": long});
        check_properties(
            CONNECTION.properties,
            news.as_object().unwrap(),
            "connection",
            &mut failures,
        );
        assert!(
            failures[0].reason.len() < 300,
            "{}",
            failures[0].reason.len()
        );
    }

    #[test]
    fn bad_ports_hosts_and_ssl_modes_are_refused_under_connection() {
        let mut failures = vec![];
        let news = json!({"host": "pg host", "port": 70000, "username": "admin@contoso.com", "sslMode": "disable"});
        check_properties(
            CONNECTION.properties,
            news.as_object().unwrap(),
            "connection",
            &mut failures,
        );
        let paths: Vec<&str> = failures.iter().map(|f| f.property.as_str()).collect();
        assert_eq!(
            paths,
            ["connection.host", "connection.port", "connection.sslMode"]
        );
    }
}
