//! `pgentra:index:PasswordlessDatabase`: one database, and for each app that uses it a role
//! bound to its managed identity, the Grants its access level needs, and the federated
//! credentials that let its AKS service accounts sign in as that identity.
//!
//! This file says *what* the component is made of: [`plan`] turns the component's inputs into
//! child resources (by type token, with their inputs and what each input comes from) and the
//! component's outputs. It knows no protocol: a face registers the children its own way (Pulumi
//! through the engine's resource monitor, with the component as their parent).
//!
//! Children are named `<component>-<app>-<what>`, from names the program gives, never from
//! positions in a list: adding an app adds that app's children and leaves the others' names
//! (so their URNs or addresses) as they were.

use super::ComponentSpec;
use crate::azure::ids::ManagedIdentityId;
use crate::props::{contains_unknown, Props};
use crate::resources::{database, federated_credential, grant, principal};
use crate::rules;
use crate::spec::{check_properties, CheckFailure, Default, ObjectType, Property, Type};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub const READWRITE: &str = "readwrite";
pub const READONLY: &str = "readonly";

static SERVER: ObjectType = ObjectType {
    token: "pgentra:index:PasswordlessDatabaseServer",
    doc: "The Flexible Server the database lives on, and the Microsoft Entra administrator the deployer signs in to it as.",
    properties: &[
        Property::input("host", Type::String, "The server's host name, such as a FlexibleServer's `fullyQualifiedDomainName`.")
            .required()
            .rule(rules::host),
        Property::input("port", Type::Integer, "The PostgreSQL port apps connect to.")
            .default(Default::Int(5432))
            .rule(rules::port),
        Property::input("resourceGroupName", Type::String, "The resource group that holds the server.")
            .required()
            .rule(rules::resource_group_name),
        Property::input("serverName", Type::String, "The Flexible Server's name, such as `pg-myapp-prod`.")
            .required()
            .rule(rules::server_name),
        Property::input("adminName", Type::String, "The Microsoft Entra administrator the deployer signs in as to create the roles and Grants: a user's UPN, or the display name of a group the deployer belongs to or of the deployer's service principal.")
            .required()
            .rule(rules::role_name),
    ],
};

static SERVICE_ACCOUNT: ObjectType = ObjectType {
    token: "pgentra:index:ServiceAccount",
    doc: "A Kubernetes service account whose projected tokens sign in as the app's managed identity (AKS workload identity).",
    properties: &[
        Property::input("namespace", Type::String, "The service account's namespace.")
            .required()
            .rule(dns_label),
        Property::input("name", Type::String, "The service account's name.")
            .required()
            .rule(dns_subdomain),
    ],
};

static APP: ObjectType = ObjectType {
    token: "pgentra:index:PasswordlessDatabaseApp",
    doc: "An app that uses the database, signing in as its user-assigned managed identity.",
    properties: &[
        Property::input("name", Type::String, "The managed identity's name: the app's PostgreSQL role (its user name) and part of its child resources' names. It must be known when the program runs (a plain string, or an identity's input name).")
            .required()
            .rule(rules::role_name),
        Property::input("principalId", Type::String, "The managed identity's principal (object) ID: the role is bound to it.")
            .required()
            .rule(rules::uuid),
        Property::input("access", Type::String, "`readwrite`: CREATE and USAGE on the schema, SELECT, INSERT, UPDATE, DELETE on its tables, USAGE, SELECT, UPDATE on its sequences (the app runs its own migrations). `readonly`: USAGE on the schema, SELECT on its tables and sequences. Either way the app also gets these on the tables and sequences that the other readwrite apps' migrations create later.")
            .required()
            .one_of(&[READWRITE, READONLY])
            .enum_name("DatabaseAccess"),
        Property::input("identityId", Type::String, "The managed identity's Azure resource ID, where its federated credentials are created. Required with serviceAccounts.")
            .rule(identity_id),
        Property::input("oidcIssuer", Type::String, "The AKS cluster's OIDC issuer URL (`oidcIssuerProfile.issuerUrl`). Required with serviceAccounts.")
            .rule(rules::issuer),
        Property::input("serviceAccounts", Type::Array(&Type::Object(&SERVICE_ACCOUNT)), "The Kubernetes service accounts that sign in as this identity: one federated credential each."),
    ],
};

static CONNECTION_INFO: ObjectType = ObjectType {
    token: "pgentra:index:PasswordlessDatabaseConnection",
    doc: "What an app needs to connect with no password: its user name and the libpq environment variables (the password is the identity's Entra token for the PostgreSQL audience).",
    properties: &[
        // Always present: required, so the SDKs type them as set.
        Property::input("userName", Type::String, "The app's PostgreSQL user name (its role).").required(),
        Property::input("env", Type::Map(&Type::String), "`PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER` and `PGSSLMODE` (`verify-full`).").required(),
    ],
};

pub static SPEC: ComponentSpec = ComponentSpec {
    token: "pgentra:index:PasswordlessDatabase",
    doc: "A database for a set of apps that sign in with their managed identities and no password: the Database, one Principal per app, the Grants its access level needs (CONNECT on the database, USAGE on the schema, its tables and sequences, and default privileges on the tables other apps' migrations create), and a FederatedCredential per AKS service account. Its outputs are what each app needs to connect.",
    inputs: &[
        Property::input("server", Type::Object(&SERVER), "The server, and the Entra administrator to sign in as.")
            .required(),
        Property::input("databaseName", Type::String, "The database's name.")
            .required()
            .rule(rules::database_name),
        Property::input("schema", Type::String, "The schema the apps' tables live in.")
            .default(Default::Str("public"))
            .rule(rules::pg_identifier),
        Property::input("apps", Type::Array(&Type::Object(&APP)), "The apps that use the database; names must be unique.")
            .required(),
    ],
    outputs: &[
        Property::output("host", Type::String, "The server's host name."),
        Property::output("port", Type::Integer, "The PostgreSQL port."),
        Property::output("database", Type::String, "The database's name."),
        Property::output("connections", Type::Map(&Type::Object(&CONNECTION_INFO)), "Per app name: its user name and `PG*` environment variables."),
    ],
};

/// Where a child's input comes from: a property of the component, or an earlier child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Input(&'static str),
    Child(usize),
}

/// One resource the component registers.
#[derive(Debug, Clone)]
pub struct Child {
    pub name: String,
    pub token: &'static str,
    pub inputs: Props,
    /// Per input property, what its value depends on.
    pub sources: BTreeMap<&'static str, Vec<Source>>,
}

impl Child {
    /// The earlier children this one waits for.
    pub fn child_dependencies(&self) -> Vec<usize> {
        let mut found: Vec<usize> = self
            .sources
            .values()
            .flatten()
            .filter_map(|s| match s {
                Source::Child(i) => Some(*i),
                Source::Input(_) => None,
            })
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub children: Vec<Child>,
    pub outputs: Props,
    /// Per output property, what its value depends on.
    pub output_sources: BTreeMap<&'static str, Vec<Source>>,
}

impl Plan {
    /// The children in waves: each child comes in a wave after every child it depends on, so
    /// a wave's children can be registered together.
    pub fn waves(&self) -> Vec<Vec<usize>> {
        let mut level = vec![0usize; self.children.len()];
        for (i, child) in self.children.iter().enumerate() {
            level[i] = child
                .child_dependencies()
                .into_iter()
                .map(|d| level[d] + 1)
                .max()
                .unwrap_or(0);
        }
        let mut waves: Vec<Vec<usize>> = vec![];
        for (i, l) in level.into_iter().enumerate() {
            if waves.len() <= l {
                waves.resize(l + 1, vec![]);
            }
            waves[l].push(i);
        }
        waves
    }
}

struct App {
    name: String,
    principal_id: Value,
    readwrite: bool,
    identity: Option<(Value, Value)>,
    issuer: Value,
    service_accounts: Vec<(String, String)>,
}

/// The children and outputs of a PasswordlessDatabase named `component` with `inputs`, or
/// what is wrong with the inputs (each failure names its property).
pub fn plan(component: &str, inputs: &Props) -> Result<Plan, Vec<CheckFailure>> {
    let mut failures = vec![];
    let checked = check_properties(SPEC.inputs, &inputs.values, "", &mut failures);
    if !failures.is_empty() {
        return Err(failures);
    }
    let server = checked.get("server").cloned().unwrap_or(Value::Null);
    // A server not known yet as a whole (a preview) is unknown in every field.
    let field = |name: &str| match &server {
        Value::Object(fields) => fields.get(name).cloned().unwrap_or(Value::Null),
        _ => crate::props::unknown(),
    };
    let database = checked.get("databaseName").cloned().unwrap_or(Value::Null);
    let schema = checked.get("schema").cloned().unwrap_or(json!("public"));
    let apps = read_apps(checked.get("apps"), &mut failures);
    if !failures.is_empty() {
        return Err(failures);
    }
    let connection = json!({
        "host": field("host"),
        "port": field("port"),
        "database": "postgres",
        "username": field("adminName"),
        "sslMode": "verify-full",
    });
    let mut builder = Builder {
        component,
        children: vec![],
        secrets: inputs,
    };
    let db = builder.add(
        "db",
        database::SPEC.token,
        json!({"resourceGroupName": field("resourceGroupName"), "serverName": field("serverName"), "name": database}),
        &[
            ("resourceGroupName", vec![Source::Input("server")]),
            ("serverName", vec![Source::Input("server")]),
            ("name", vec![Source::Input("databaseName")]),
        ],
    );
    let mut principals = BTreeMap::new();
    for app in &apps {
        let index = builder.add(
            &app.name,
            principal::SPEC.token,
            json!({"connection": connection, "name": app.name, "objectId": app.principal_id, "principalType": "service"}),
            &[
                ("connection", vec![Source::Input("server")]),
                ("name", vec![Source::Input("apps")]),
                ("objectId", vec![Source::Input("apps")]),
            ],
        );
        principals.insert(app.name.clone(), index);
    }
    // ALTER DEFAULT PRIVILEGES FOR ROLE needs the administrator in that role: one membership
    // per app whose migrations create tables.
    let mut admin_in = BTreeMap::new();
    for app in apps.iter().filter(|a| a.readwrite) {
        let index = builder.add(
            &format!("admin-in-{}", app.name),
            grant::SPEC.token,
            json!({"connection": connection, "role": field("adminName"), "database": database,
                   "objectType": "role", "objects": [app.name], "privileges": []}),
            &[
                ("connection", vec![Source::Input("server")]),
                ("role", vec![Source::Input("server")]),
                (
                    "database",
                    vec![Source::Input("databaseName"), Source::Child(db)],
                ),
                (
                    "objects",
                    vec![Source::Input("apps"), Source::Child(principals[&app.name])],
                ),
            ],
        );
        admin_in.insert(app.name.clone(), index);
    }
    for app in &apps {
        let role = principals[&app.name];
        let level = Access::of(app.readwrite);
        let grant_sources = |extra: Vec<Source>| {
            let mut role_sources = vec![Source::Input("apps"), Source::Child(role)];
            role_sources.extend(extra);
            vec![
                ("connection", vec![Source::Input("server")]),
                ("role", role_sources),
                (
                    "database",
                    vec![Source::Input("databaseName"), Source::Child(db)],
                ),
            ]
        };
        let on = |object_type: &str, privileges: &[&str]| {
            let mut body = json!({"connection": connection, "role": app.name, "database": database,
                                  "objectType": object_type, "privileges": privileges});
            if object_type != "database" {
                body["schema"] = schema.clone();
            }
            body
        };
        builder.add(
            &format!("{}-connect", app.name),
            grant::SPEC.token,
            on("database", &["CONNECT"]),
            &grant_sources(vec![]),
        );
        builder.add(
            &format!("{}-schema", app.name),
            grant::SPEC.token,
            on("schema", level.schema),
            &grant_sources(vec![]),
        );
        builder.add(
            &format!("{}-tables", app.name),
            grant::SPEC.token,
            on("table", level.tables),
            &grant_sources(vec![]),
        );
        builder.add(
            &format!("{}-sequences", app.name),
            grant::SPEC.token,
            on("sequence", level.sequences),
            &grant_sources(vec![]),
        );
        for owner in apps.iter().filter(|o| o.readwrite && o.name != app.name) {
            for (kind, privileges) in [("table", level.tables), ("sequence", level.sequences)] {
                let mut body = on(kind, privileges);
                body["defaultPrivileges"] = json!(true);
                body["defaultPrivilegesOwner"] = json!(owner.name);
                let mut sources = grant_sources(vec![]);
                sources.push((
                    "defaultPrivilegesOwner",
                    vec![
                        Source::Input("apps"),
                        Source::Child(principals[&owner.name]),
                        Source::Child(admin_in[&owner.name]),
                    ],
                ));
                builder.add(
                    &format!("{}-on-{}-{kind}s", app.name, owner.name),
                    grant::SPEC.token,
                    body,
                    &sources,
                );
            }
        }
        if let Some((group, identity)) = &app.identity {
            for (namespace, account) in &app.service_accounts {
                builder.add(
                    &format!("{}-{namespace}-{account}", app.name),
                    federated_credential::SPEC.token,
                    json!({"resourceGroupName": group, "identityName": identity,
                           "name": credential_name(namespace, account), "issuer": app.issuer,
                           "subject": format!("system:serviceaccount:{namespace}:{account}"),
                           "audiences": ["api://AzureADTokenExchange"]}),
                    &[
                        ("resourceGroupName", vec![Source::Input("apps")]),
                        ("identityName", vec![Source::Input("apps")]),
                        ("issuer", vec![Source::Input("apps")]),
                    ],
                );
            }
        }
    }
    let port_text = match field("port") {
        Value::Number(n) => Value::String(n.to_string()),
        other => other,
    };
    let connections: Map<String, Value> = apps
        .iter()
        .map(|app| {
            let env = json!({"PGHOST": field("host"), "PGPORT": port_text, "PGDATABASE": database,
                             "PGUSER": app.name, "PGSSLMODE": "verify-full"});
            (app.name.clone(), json!({"userName": app.name, "env": env}))
        })
        .collect();
    let mut outputs = Props::from_json(json!({
        "host": field("host"),
        "port": field("port"),
        "database": database,
        "connections": connections,
    }));
    let output_sources = BTreeMap::from([
        ("host", vec![Source::Input("server")]),
        ("port", vec![Source::Input("server")]),
        (
            "database",
            vec![Source::Input("databaseName"), Source::Child(db)],
        ),
        (
            "connections",
            [
                Source::Input("server"),
                Source::Input("databaseName"),
                Source::Child(db),
            ]
            .into_iter()
            .chain(principals.values().map(|i| Source::Child(*i)))
            .collect(),
        ),
    ]);
    mark_secrets(&mut outputs, &output_sources, inputs);
    Ok(Plan {
        children: builder.children,
        outputs,
        output_sources,
    })
}

/// What each access level grants.
struct Access {
    schema: &'static [&'static str],
    tables: &'static [&'static str],
    sequences: &'static [&'static str],
}

impl Access {
    fn of(readwrite: bool) -> Self {
        if readwrite {
            Access {
                schema: &["CREATE", "USAGE"],
                tables: &["DELETE", "INSERT", "SELECT", "UPDATE"],
                sequences: &["SELECT", "UPDATE", "USAGE"],
            }
        } else {
            Access {
                schema: &["USAGE"],
                tables: &["SELECT"],
                sequences: &["SELECT"],
            }
        }
    }
}

struct Builder<'a> {
    component: &'a str,
    children: Vec<Child>,
    /// The component's inputs, for their secret marks.
    secrets: &'a Props,
}

impl Builder<'_> {
    fn add(
        &mut self,
        suffix: &str,
        token: &'static str,
        inputs: Value,
        sources: &[(&'static str, Vec<Source>)],
    ) -> usize {
        let sources: BTreeMap<&'static str, Vec<Source>> = sources.iter().cloned().collect();
        let mut props = Props::from_json(inputs);
        mark_secrets(&mut props, &sources, self.secrets);
        self.children.push(Child {
            name: format!("{}-{suffix}", self.component),
            token,
            inputs: props,
            sources,
        });
        self.children.len() - 1
    }
}

/// A value made from a secret input of the component is secret too.
fn mark_secrets(props: &mut Props, sources: &BTreeMap<&'static str, Vec<Source>>, inputs: &Props) {
    for (property, from) in sources {
        let secret = from
            .iter()
            .any(|s| matches!(s, Source::Input(name) if inputs.is_secret(name)));
        if secret {
            props.mark_secret(property);
        }
    }
}

fn read_apps(apps: Option<&Value>, failures: &mut Vec<CheckFailure>) -> Vec<App> {
    let Some(Value::Array(list)) = apps else {
        failures.push(CheckFailure::new("apps", "the list of apps must be known when the program runs (its names name the child resources)"));
        return vec![];
    };
    let mut seen = BTreeMap::new();
    let mut found = vec![];
    for (i, app) in list.iter().enumerate() {
        let at = |key: &str| format!("apps[{i}].{key}");
        let get = |key: &str| app.get(key).cloned().unwrap_or(Value::Null);
        let name = match app.get("name").and_then(Value::as_str) {
            Some(name) if !contains_unknown(&get("name")) => name.to_owned(),
            _ => {
                failures.push(CheckFailure::new(at("name"), "must be known when the program runs: it names the app's child resources (give the identity's name as a plain string)"));
                continue;
            }
        };
        if let Some(first) = seen.insert(name.clone(), i) {
            failures.push(CheckFailure::new(
                at("name"),
                format!("{name:?} is also apps[{first}]'s name; every app needs its own"),
            ));
        }
        let accounts: Vec<(String, String)> = match app.get("serviceAccounts") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(j, sa)| {
                    let text = |k: &str| sa.get(k).and_then(Value::as_str).filter(|s| !contains_unknown(&json!(s)));
                    match (text("namespace"), text("name")) {
                        (Some(ns), Some(n)) => Some((ns.to_owned(), n.to_owned())),
                        _ => {
                            failures.push(CheckFailure::new(format!("apps[{i}].serviceAccounts[{j}]"), "namespace and name must be known when the program runs: they name the federated credential"));
                            None
                        }
                    }
                })
                .collect(),
            Some(_) => {
                failures.push(CheckFailure::new(at("serviceAccounts"), "must be known when the program runs: each names a federated credential"));
                vec![]
            }
        };
        let mut credential_names = BTreeMap::new();
        for (ns, account) in &accounts {
            if let Some((other_ns, other)) =
                credential_names.insert(credential_name(ns, account), (ns, account))
            {
                failures.push(CheckFailure::new(at("serviceAccounts"), format!("{ns}/{account} and {other_ns}/{other} give one federated credential name; list each service account once")));
            }
        }
        let mut identity = None;
        if !accounts.is_empty() {
            for key in ["identityId", "oidcIssuer"] {
                if app.get(key).is_none_or(Value::is_null) {
                    failures.push(CheckFailure::new(at(key), "is required with serviceAccounts: the federated credentials are created on that identity, for that issuer"));
                }
            }
            identity = match get("identityId") {
                Value::String(id) if !contains_unknown(&json!(id)) => {
                    match ManagedIdentityId::parse(&id) {
                        Ok(parsed) => Some((json!(parsed.resource_group), json!(parsed.name))),
                        Err(e) => {
                            failures.push(CheckFailure::new(at("identityId"), e.to_string()));
                            None
                        }
                    }
                }
                Value::Null => None,
                unknown => Some((unknown.clone(), unknown)),
            };
        }
        found.push(App {
            readwrite: get("access").as_str() == Some(READWRITE),
            principal_id: get("principalId"),
            identity,
            issuer: get("oidcIssuer"),
            service_accounts: accounts,
            name,
        });
    }
    found
}

/// The federated credential's Azure name for a service account: unique per identity.
fn credential_name(namespace: &str, account: &str) -> String {
    let name: String = format!("{namespace}-{account}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.chars().take(120).collect()
}

/// A user-assigned managed identity's Azure resource ID.
fn identity_id(value: &Value) -> Result<(), String> {
    ManagedIdentityId::parse(value.as_str().unwrap_or_default())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A Kubernetes namespace: an RFC 1123 label.
fn dns_label(value: &Value) -> Result<(), String> {
    let s = value.as_str().unwrap_or_default();
    let ok = (1..=63).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!("{} is not a Kubernetes namespace: use 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit", crate::spec::shown(s)))
    }
}

/// A Kubernetes service account name: an RFC 1123 subdomain.
fn dns_subdomain(value: &Value) -> Result<(), String> {
    let s = value.as_str().unwrap_or_default();
    let ok =
        (1..=253).contains(&s.len()) && s.split('.').all(|label| dns_label(&json!(label)).is_ok());
    if ok {
        Ok(())
    } else {
        Err(format!("{} is not a Kubernetes service account name: use lower-case letters, digits, '-' and '.'", crate::spec::shown(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDENTITY: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-apps/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-orders";

    fn inputs(apps: Value) -> Props {
        Props::from_json(json!({
            "server": {"host": "pg.example.com", "resourceGroupName": "rg", "serverName": "pg-shop", "adminName": "deployer"},
            "databaseName": "shop",
            "apps": apps,
        }))
    }

    fn orders() -> Value {
        json!({"name": "id-orders", "principalId": "11111111-1111-1111-1111-111111111111", "access": "readwrite",
               "identityId": IDENTITY, "oidcIssuer": "https://oidc.example.com/tenant/cluster/",
               "serviceAccounts": [{"namespace": "shop", "name": "orders"}]})
    }

    fn reports() -> Value {
        json!({"name": "id-reports", "principalId": "22222222-2222-2222-2222-222222222222", "access": "readonly"})
    }

    fn names(plan: &Plan) -> Vec<&str> {
        plan.children.iter().map(|c| c.name.as_str()).collect()
    }

    fn child<'a>(plan: &'a Plan, name: &str) -> &'a Child {
        plan.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", names(plan)))
    }

    #[test]
    fn one_app_gets_its_role_grants_and_federated_credential() {
        let plan = plan("shop", &inputs(json!([orders()]))).unwrap();
        assert_eq!(
            names(&plan),
            [
                "shop-db",
                "shop-id-orders",
                "shop-admin-in-id-orders",
                "shop-id-orders-connect",
                "shop-id-orders-schema",
                "shop-id-orders-tables",
                "shop-id-orders-sequences",
                "shop-id-orders-shop-orders"
            ]
        );
        let role = child(&plan, "shop-id-orders");
        assert_eq!(role.token, "pgentra:index:Principal");
        assert_eq!(
            role.inputs.get("objectId"),
            Some(&json!("11111111-1111-1111-1111-111111111111"))
        );
        assert_eq!(
            role.inputs.get("connection").unwrap()["username"],
            "deployer"
        );
        let tables = child(&plan, "shop-id-orders-tables");
        assert_eq!(
            tables.inputs.get("privileges"),
            Some(&json!(["DELETE", "INSERT", "SELECT", "UPDATE"]))
        );
        assert_eq!(tables.inputs.get("schema"), Some(&json!("public")));
        assert_eq!(
            tables.child_dependencies(),
            [0, 1],
            "the database and the app's role"
        );
        let credential = child(&plan, "shop-id-orders-shop-orders");
        assert_eq!(
            credential.inputs.get("resourceGroupName"),
            Some(&json!("rg-apps"))
        );
        assert_eq!(
            credential.inputs.get("identityName"),
            Some(&json!("id-orders"))
        );
        assert_eq!(
            credential.inputs.get("subject"),
            Some(&json!("system:serviceaccount:shop:orders"))
        );
        let env = &plan.outputs.get("connections").unwrap()["id-orders"]["env"];
        assert_eq!(
            env,
            &json!({"PGHOST": "pg.example.com", "PGPORT": "5432", "PGDATABASE": "shop", "PGUSER": "id-orders", "PGSSLMODE": "verify-full"})
        );
    }

    #[test]
    fn a_readonly_app_reads_the_tables_a_readwrite_apps_migrations_create() {
        let plan = plan("shop", &inputs(json!([orders(), reports()]))).unwrap();
        let future = child(&plan, "shop-id-reports-on-id-orders-tables");
        assert_eq!(future.inputs.get("defaultPrivileges"), Some(&json!(true)));
        assert_eq!(
            future.inputs.get("defaultPrivilegesOwner"),
            Some(&json!("id-orders"))
        );
        assert_eq!(future.inputs.get("privileges"), Some(&json!(["SELECT"])));
        let membership = plan
            .children
            .iter()
            .position(|c| c.name == "shop-admin-in-id-orders")
            .unwrap();
        assert!(future.child_dependencies().contains(&membership));
        let waves = plan.waves();
        let wave_of = |name: &str| {
            waves
                .iter()
                .position(|w| w.iter().any(|i| plan.children[*i].name == name))
                .unwrap()
        };
        assert!(
            wave_of("shop-admin-in-id-orders") < wave_of("shop-id-reports-on-id-orders-tables")
        );
        assert_eq!(wave_of("shop-db"), 0);
        assert!(
            plan.children
                .iter()
                .all(|c| !c.name.starts_with("shop-id-orders-on-")),
            "no other app creates tables for id-orders to use"
        );
    }

    #[test]
    fn adding_an_app_keeps_every_other_child_as_it_was() {
        let before = plan("shop", &inputs(json!([orders()]))).unwrap();
        let after = plan("shop", &inputs(json!([reports(), orders()]))).unwrap();
        for old in &before.children {
            let new = child(&after, &old.name);
            assert_eq!(new.inputs, old.inputs, "{}", old.name);
        }
        let added: Vec<&str> = names(&after)
            .into_iter()
            .filter(|n| !names(&before).contains(n))
            .collect();
        assert!(
            added.iter().all(|n| n.starts_with("shop-id-reports")),
            "{added:?}"
        );
    }

    #[test]
    fn bad_apps_are_refused_naming_the_property() {
        let refused = |apps: Value| plan("shop", &inputs(apps)).unwrap_err();
        let failures = refused(json!([orders(), orders()]));
        assert_eq!(failures[0].property, "apps[1].name");
        let failures = refused(
            json!([{"name": "a", "principalId": "11111111-1111-1111-1111-111111111111", "access": "owner"}]),
        );
        assert_eq!(failures[0].property, "apps[0].access");
        assert!(
            failures[0].reason.contains("readwrite, readonly"),
            "{}",
            failures[0].reason
        );
        let mut no_identity = orders();
        no_identity.as_object_mut().unwrap().remove("identityId");
        assert_eq!(
            refused(json!([no_identity]))[0].property,
            "apps[0].identityId"
        );
        let mut unknown_name = orders();
        unknown_name["name"] = json!(crate::props::UNKNOWN);
        assert_eq!(refused(json!([unknown_name]))[0].property, "apps[0].name");
    }

    #[test]
    fn a_secret_server_keeps_what_is_made_from_it_secret() {
        let mut secret = inputs(json!([reports()]));
        secret.mark_secret("server");
        let plan = plan("shop", &secret).unwrap();
        assert!(child(&plan, "shop-id-reports")
            .inputs
            .is_secret("connection"));
        assert!(!child(&plan, "shop-id-reports").inputs.is_secret("name"));
        assert!(plan.outputs.is_secret("host"));
    }

    #[test]
    fn unknown_server_values_flow_through_to_children_and_outputs() {
        let mut apps = inputs(json!([reports()]));
        apps.values["server"]["host"] = json!(crate::props::UNKNOWN);
        let plan = plan("shop", &apps).unwrap();
        assert!(plan.outputs.is_unknown("host"));
        assert!(child(&plan, "shop-id-reports")
            .inputs
            .is_unknown("connection"));
    }
}
