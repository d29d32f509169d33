//! `pgentra:index:Connection`: how Principal and Grant reach PostgreSQL.
//!
//! There is no password: every session signs in with a fresh Microsoft Entra access token for
//! the cloud's PostgreSQL audience, as `username`, over TLS. Host, port and database say which
//! server (and so which roles and objects) a resource lives on, so changing them replaces it;
//! the signing-in user and the TLS check can change in place.

use crate::rules;
use crate::spec::{Default, ObjectType, Property, Type};

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
        Property::input("sslMode", Type::String, "How the server's TLS certificate is checked: `require` (encrypted, certificate not checked), `verify-ca` (signed by a trusted CA) or `verify-full` (also names the host). TLS is always on.")
            .default(Default::Str("verify-full"))
            .one_of(&["require", "verify-ca", "verify-full"]),
    ],
};

/// The `connection` input of Principal and Grant.
pub const CONNECTION_PROPERTY: Property = Property::input(
    "connection",
    Type::Object(&CONNECTION),
    "How to reach PostgreSQL, signing in with a Microsoft Entra token.",
)
.required()
.terraform_name("sql_connection");

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
