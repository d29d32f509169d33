//! The seed's stack (shared/seed/passwordless-postgres-entra.md) as a program would declare it:
//! each resource with its type, name and inputs, where `"${name.property}"` stands for another
//! resource's output (Pulumi YAML's notation) and makes this resource depend on that one.

use pgentra_core::props::{Props, UNKNOWN};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use types::*;

pub const RESOURCE_GROUP: &str = "rg-myapp-prod";
pub const SERVER_NAME: &str = "pg-myapp-prod";
pub const DATABASE: &str = "myappdb";
pub const LOCATION: &str = "eastus";
pub const DEPLOYER_IP: &str = "198.51.100.7";
pub const AKS_SUBJECT: &str = "system:serviceaccount:myapp-ns:myapp-sa";

/// One resource of the program.
#[derive(Debug, Clone)]
pub struct Declared {
    pub name: String,
    pub type_token: &'static str,
    pub inputs: Value,
}

impl Declared {
    fn new(type_token: &'static str, name: &str, inputs: Value) -> Self {
        Self {
            name: name.to_owned(),
            type_token,
            inputs,
        }
    }

    /// The short type (`FlexibleServer`) for summaries.
    pub fn short_type(&self) -> &str {
        self.type_token
            .rsplit(':')
            .next()
            .unwrap_or(self.type_token)
    }

    /// The resources (or values) this one's inputs refer to.
    pub fn depends_on(&self) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        collect_refs(&self.inputs, &mut found);
        found
    }
}

/// The names the stack uses. PostgreSQL roles are cluster-wide, and the local PostgreSQL may be
/// shared with other runs, so the Entra names that become roles carry this run's suffix.
#[derive(Debug, Clone)]
pub struct Names {
    pub admin_group: String,
    pub app_identity: String,
    pub readwrite_group: String,
    pub developer: String,
}

impl Names {
    pub fn with_suffix(suffix: &str) -> Self {
        Self {
            admin_group: format!("pg-admins-{suffix}"),
            app_identity: format!("app-myapp-{suffix}"),
            readwrite_group: format!("myapp-db-readwrite-{suffix}"),
            developer: format!("developer-{suffix}@contoso.example"),
        }
    }
}

/// Directory facts the program takes as configuration (Entra objects are not ARM resources).
#[derive(Debug, Clone)]
pub struct Config {
    pub tenant_id: String,
    pub admin_group_object_id: String,
    pub oidc_issuer: String,
}

/// The seed's whole setup, in the order a program would declare it.
pub fn seed(names: &Names, config: &Config) -> Vec<Declared> {
    let rg = RESOURCE_GROUP;
    let server = "${server.serverName}";
    let connection = json!({
        "host": "${server.fullyQualifiedDomainName}",
        "port": "${gateway.port}",
        "database": "postgres",
        "username": "${admin.principalName}",
        "sslMode": "verify-full",
    });
    let grant = |role: &str, object_type: &str, extra: Value| {
        let mut inputs = json!({
            "connection": connection,
            "role": role,
            "database": "${db.name}",
            "objectType": object_type,
        });
        merge(&mut inputs, extra);
        inputs
    };
    let rw = json!(["SELECT", "INSERT", "UPDATE", "DELETE"]);
    vec![
        Declared::new(
            SERVER,
            "server",
            json!({
                "resourceGroupName": rg, "serverName": SERVER_NAME, "location": LOCATION,
                "version": "16", "skuName": "Standard_D2s_v3", "skuTier": "GeneralPurpose",
                "storageSizeGb": 64, "activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled",
                "tenantId": config.tenant_id, "publicNetworkAccess": "Enabled",
                "tags": {"app": "myapp", "env": "prod"},
            }),
        ),
        Declared::new(
            AD_ADMIN,
            "admin",
            json!({
                "resourceGroupName": rg, "serverName": server,
                "objectId": config.admin_group_object_id, "principalName": names.admin_group,
                "principalType": "Group", "tenantId": config.tenant_id,
            }),
        ),
        Declared::new(
            IDENTITY,
            "app-identity",
            json!({
                "resourceGroupName": rg, "name": names.app_identity, "location": LOCATION,
                "tags": {"app": "myapp"},
            }),
        ),
        Declared::new(
            FEDERATED,
            "app-aks",
            json!({
                "resourceGroupName": rg, "identityName": "${app-identity.name}", "name": "fc-myapp-aks",
                "issuer": config.oidc_issuer, "subject": AKS_SUBJECT,
            }),
        ),
        Declared::new(
            DATABASE_TYPE,
            "db",
            json!({
                "resourceGroupName": rg, "serverName": server, "name": DATABASE,
                "charset": "UTF8", "collation": "en_US.utf8",
            }),
        ),
        Declared::new(
            FIREWALL,
            "deployer-ip",
            json!({
                "resourceGroupName": rg, "serverName": server, "name": "allow-deployer",
                "startIpAddress": DEPLOYER_IP, "endIpAddress": DEPLOYER_IP,
            }),
        ),
        Declared::new(
            PARAMETER,
            "tls-only",
            json!({
                "resourceGroupName": rg, "serverName": server, "name": "require_secure_transport",
                "value": "on",
            }),
        ),
        Declared::new(
            PRINCIPAL,
            "app-role",
            json!({
                "connection": connection, "name": "${app-identity.name}",
                "objectId": "${app-identity.principalId}", "principalType": "service",
            }),
        ),
        Declared::new(
            PRINCIPAL,
            "readwrite-role",
            json!({
                "connection": connection, "name": names.readwrite_group,
            }),
        ),
        Declared::new(
            PRINCIPAL,
            "developer-role",
            json!({
                "connection": connection, "name": names.developer,
            }),
        ),
        Declared::new(
            GRANT,
            "app-connect",
            grant(
                "${app-role.name}",
                "database",
                json!({"privileges": ["CONNECT"]}),
            ),
        ),
        Declared::new(
            GRANT,
            "app-usage",
            grant(
                "${app-role.name}",
                "schema",
                json!({"schema": "public", "privileges": ["USAGE"]}),
            ),
        ),
        Declared::new(
            GRANT,
            "app-tables",
            grant(
                "${app-role.name}",
                "table",
                json!({"schema": "public", "privileges": rw}),
            ),
        ),
        Declared::new(
            GRANT,
            "app-future-tables",
            grant(
                "${app-role.name}",
                "table",
                json!({"schema": "public", "privileges": rw, "defaultPrivileges": true}),
            ),
        ),
        Declared::new(
            GRANT,
            "readwrite-connect",
            grant(
                "${readwrite-role.name}",
                "database",
                json!({"privileges": ["CONNECT"]}),
            ),
        ),
        Declared::new(
            GRANT,
            "readwrite-usage",
            grant(
                "${readwrite-role.name}",
                "schema",
                json!({"schema": "public", "privileges": ["USAGE"]}),
            ),
        ),
        Declared::new(
            GRANT,
            "readwrite-tables",
            grant(
                "${readwrite-role.name}",
                "table",
                json!({"schema": "public", "privileges": rw}),
            ),
        ),
        Declared::new(
            GRANT,
            "developer-in-readwrite",
            grant(
                "${developer-role.name}",
                "role",
                json!({"objects": ["${readwrite-role.name}"], "privileges": []}),
            ),
        ),
    ]
}

/// The change the demo makes to the program: an owner tag on the server and the identity, and
/// a new Grant: the readwrite group's privileges on the tables created from now on (the seed
/// gives them only on the tables that exist when it runs).
pub fn changed(mut stack: Vec<Declared>) -> Vec<Declared> {
    for resource in &mut stack {
        if matches!(resource.name.as_str(), "server" | "app-identity") {
            resource.inputs["tags"]["owner"] = json!("platform-team");
        }
    }
    let mut future = stack
        .iter()
        .find(|r| r.name == "readwrite-tables")
        .expect("the seed has readwrite-tables")
        .clone();
    future.name = "readwrite-future-tables".into();
    future.inputs["defaultPrivileges"] = json!(true);
    stack.push(future);
    stack
}

pub mod types {
    pub const SERVER: &str = "pgentra:index:FlexibleServer";
    pub const AD_ADMIN: &str = "pgentra:index:AdAdmin";
    pub const IDENTITY: &str = "pgentra:index:ManagedIdentity";
    pub const FEDERATED: &str = "pgentra:index:FederatedCredential";
    pub const DATABASE_TYPE: &str = "pgentra:index:Database";
    pub const FIREWALL: &str = "pgentra:index:FirewallRule";
    pub const PARAMETER: &str = "pgentra:index:ServerParameter";
    pub const PRINCIPAL: &str = "pgentra:index:Principal";
    pub const GRANT: &str = "pgentra:index:Grant";
}

fn merge(into: &mut Value, extra: Value) {
    if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
        into.extend(extra);
    }
}

/// `"${name.property}"` → (name, property).
fn reference(text: &str) -> Option<(&str, &str)> {
    text.strip_prefix("${")?.strip_suffix('}')?.split_once('.')
}

fn collect_refs(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            if let Some((name, _)) = reference(s) {
                found.insert(name.to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, found)),
        Value::Object(map) => map.values().for_each(|v| collect_refs(v, found)),
        _ => {}
    }
}

/// The inputs with every reference replaced by the output it names, or by the engine's unknown
/// when that output is not known yet (in a preview). A secret output keeps its input secret.
pub fn resolve(inputs: &Value, outputs: &BTreeMap<String, Props>) -> Props {
    let mut props = Props::default();
    if let Value::Object(map) = inputs {
        for (key, value) in map {
            let mut secret = false;
            props.set(key, resolve_value(value, outputs, &mut secret));
            if secret {
                props.mark_secret(key);
            }
        }
    }
    props
}

fn resolve_value(value: &Value, outputs: &BTreeMap<String, Props>, secret: &mut bool) -> Value {
    match value {
        Value::String(s) => match reference(s) {
            Some((name, property)) => match outputs.get(name) {
                Some(out) => {
                    *secret |= out.is_secret(property);
                    out.get(property).cloned().unwrap_or_else(|| UNKNOWN.into())
                }
                None => UNKNOWN.into(),
            },
            None => value.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve_value(v, outputs, secret))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve_value(v, outputs, secret)))
                .collect(),
        ),
        other => other.clone(),
    }
}
