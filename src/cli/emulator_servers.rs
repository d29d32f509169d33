//! `pgentra emulator --server RG/NAME`: flexible servers made when the emulator starts, with an
//! Entra admin and a database, so `pgentra psql` and `pgentra doctor` work at once. They are made
//! the way a stack makes them: the deployer signs in and sends ARM's own requests (the official
//! REST shapes) to the emulator's ARM endpoint through pgentra's ARM client, so the emulator
//! validates them as it validates any other.

use pgentra_core::azure::ids::{AdAdminId, DatabaseId, FlexibleServerId};
use pgentra_core::azure::{http, ArmClient, Azure, RetryPolicy};
use pgentra_core::config::ProviderConfig;
use pgentra_emulator::{Principal, RunningEmulator};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Where the servers are made.
const LOCATION: &str = "eastus";
/// The resource groups' api-version.
const RESOURCE_GROUP_API: &str = "2021-04-01";

/// One `--server RG/NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerName {
    pub resource_group: String,
    pub name: String,
}

impl ServerName {
    /// `RG/NAME` (the names themselves are checked by ARM, as Azure checks them).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.split_once('/') {
            Some((rg, name)) if !rg.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(Self {
                    resource_group: rg.to_owned(),
                    name: name.to_owned(),
                })
            }
            _ => Err(format!(
                "--server takes RESOURCE_GROUP/SERVER_NAME (e.g. rg-dev/pg-dev), not {text:?}"
            )),
        }
    }
}

/// The Entra admin of the servers, as ARM's administrators resource names it.
#[derive(Clone, Debug)]
pub struct Admin {
    /// The principal's name: the PostgreSQL role to sign in as.
    pub name: String,
    pub object_id: String,
    /// `User`, `Group` or `ServicePrincipal`.
    pub principal_type: &'static str,
    /// What it is, for the printout (e.g. "a group made for this run, the deployer a member").
    pub about: String,
}

/// A server ready to sign in to.
#[derive(Clone, Debug)]
pub struct ReadyServer {
    pub server: ServerName,
    pub fqdn: String,
    /// The PostgreSQL gateway (`fqdn:5432`, or another port when 5432 was taken there).
    pub addr: SocketAddr,
    pub version: String,
    pub database: String,
}

impl ReadyServer {
    /// The `pgentra psql` arguments that sign in to it as `admin`.
    pub fn psql_args(&self, admin: &Admin) -> Vec<String> {
        vec![
            "psql".into(),
            "-h".into(),
            self.fqdn.clone(),
            "-p".into(),
            self.addr.port().to_string(),
            "-d".into(),
            self.database.clone(),
            "-U".into(),
            admin.name.clone(),
        ]
    }

    /// The `pgentra doctor` arguments that check it as `admin`.
    pub fn doctor_args(&self, admin: &Admin) -> Vec<String> {
        vec![
            "doctor".into(),
            format!("{}/{}", self.server.resource_group, self.server.name),
            admin.name.clone(),
            "-p".into(),
            self.addr.port().to_string(),
        ]
    }

    pub fn describe(&self, admin: &Admin) -> Value {
        json!({
            "resourceGroup": self.server.resource_group,
            "name": self.server.name,
            "fullyQualifiedDomainName": self.fqdn,
            "port": self.addr.port(),
            "version": self.version,
            "database": self.database,
            "admin": {"name": admin.name, "objectId": admin.object_id, "principalType": admin.principal_type},
            "psql": self.psql_args(admin),
            "doctor": self.doctor_args(admin),
        })
    }
}

/// The admin `--admin` names: the deployer when absent; else the directory object with that
/// object id or name; a name nobody has becomes a group of this run with the deployer as member
/// (the guide's setup: the deployer signs in as the admin group).
pub fn resolve_admin(emulator: &RunningEmulator, wanted: Option<&str>) -> Result<Admin, String> {
    let directory = emulator.directory();
    let deployer = emulator.deployer();
    let Some(wanted) = wanted else {
        return Ok(Admin {
            name: deployer.display_name.clone(),
            object_id: deployer.object_id.clone(),
            principal_type: "ServicePrincipal",
            about: "the deployer, the service principal the exports below sign in as".into(),
        });
    };
    let found = if is_guid(wanted) {
        match directory.get(wanted) {
            Some(p) => vec![p],
            None => {
                return Err(format!(
                    "--admin {wanted}: no object has this object id in the emulator's directory \
                     (it holds the deployer, {}, and the host identity); give a name instead to \
                     make a group of that name with the deployer as member",
                    deployer.object_id
                ))
            }
        }
    } else {
        directory.find_by_name(wanted)
    };
    match found.as_slice() {
        [] => {
            let group = directory.add_group(wanted, &[&deployer.object_id]);
            Ok(Admin {
                name: group.display_name,
                object_id: group.object_id,
                principal_type: "Group",
                about: "a group made for this run, the deployer its member".into(),
            })
        }
        [p] => Ok(admin_of(p)),
        _ => Err(format!(
            "--admin {wanted:?}: several objects of the directory have this name; give the object id"
        )),
    }
}

fn admin_of(p: &Principal) -> Admin {
    let (principal_type, about) = match p {
        Principal::User(_) => ("User", "a user of the emulator's directory"),
        Principal::Group(_) => ("Group", "a group of the emulator's directory"),
        Principal::ServicePrincipal(_) => (
            "ServicePrincipal",
            "a service principal of the emulator's directory",
        ),
    };
    Admin {
        name: p.login_name().to_owned(),
        object_id: p.object_id().to_owned(),
        principal_type,
        about: about.into(),
    }
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// An ARM client signed in as the deployer (the printed config), polling operations as often as
/// the emulator finishes them.
fn deployer_arm(config: &BTreeMap<String, String>) -> Result<ArmClient, String> {
    let settings = ProviderConfig::from_settings(config).map_err(|failures| {
        let said: Vec<String> = failures.iter().map(|f| format!("{f:?}")).collect();
        format!("the emulator's own provider config: {}", said.join("; "))
    })?;
    let azure = Azure::from_config(&settings).map_err(|e| e.to_string())?;
    let client = http::build_client(settings.ca_cert_file.as_deref()).map_err(|e| e.to_string())?;
    let policy = RetryPolicy {
        default_poll_interval: Duration::from_millis(100),
        min_poll_interval: Duration::from_millis(50),
        default_timeout: Duration::from_secs(120),
        ..RetryPolicy::default()
    };
    Ok(ArmClient::with_policy(
        client,
        &azure.endpoints.arm_endpoint,
        &azure.endpoints.arm_scope,
        azure.tokens.clone(),
        policy,
    ))
}

/// Makes each server (Entra authentication on, password authentication off), its Entra admin
/// and `database`, through ARM; then waits for its PostgreSQL gateway.
pub async fn make(
    emulator: &RunningEmulator,
    config: &BTreeMap<String, String>,
    servers: &[ServerName],
    admin: &Admin,
    database: &str,
) -> Result<Vec<ReadyServer>, String> {
    let arm = deployer_arm(config)?;
    let subscription = emulator.subscription_id().to_owned();
    let tenant = emulator.tenant_id().to_owned();
    let mut ready = Vec::new();
    for wanted in servers {
        let rg = &wanted.resource_group;
        let doing = |what: &str| format!("making {what} of --server {rg}/{}", wanted.name);
        arm.put(
            &format!("/subscriptions/{subscription}/resourcegroups/{rg}"),
            RESOURCE_GROUP_API,
            &json!({"location": LOCATION}),
        )
        .await
        .map_err(|e| format!("{}: {e}", doing("the resource group")))?;
        let id = FlexibleServerId::new(&subscription, rg, &wanted.name);
        // No version: the server is the backend PostgreSQL's.
        let server = arm
            .put_resource(
                &id,
                &json!({
                    "location": LOCATION,
                    "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
                    "properties": {
                        "createMode": "Create",
                        "authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled", "tenantId": tenant},
                        "storage": {"storageSizeGB": 32, "autoGrow": "Disabled"},
                        "network": {"publicNetworkAccess": "Enabled"},
                        "highAvailability": {"mode": "Disabled"},
                    },
                }),
            )
            .await
            .map_err(|e| format!("{}: {e}", doing("the server")))?;
        arm.put_resource(
            &AdAdminId::new(id.clone(), &admin.object_id),
            &json!({"properties": {
                "principalType": admin.principal_type,
                "principalName": admin.name,
                "tenantId": tenant,
            }}),
        )
        .await
        .map_err(|e| format!("{}: {e}", doing("the Entra admin")))?;
        if database != "postgres" {
            arm.put_resource(
                &DatabaseId::new(id.clone(), database),
                &json!({"properties": {"charset": "UTF8", "collation": "en_US.utf8"}}),
            )
            .await
            .map_err(|e| format!("{}: {e}", doing("the database")))?;
        }
        let props = &server["properties"];
        let fqdn = props["fullyQualifiedDomainName"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let gateway = emulator.pg_gateway(&fqdn).await.ok_or_else(|| {
            format!(
                "{}: no PostgreSQL gateway listens on {fqdn}",
                doing("the server")
            )
        })?;
        ready.push(ReadyServer {
            server: wanted.clone(),
            fqdn,
            addr: gateway.addr,
            version: props["version"].as_str().unwrap_or_default().to_owned(),
            database: database.to_owned(),
        });
    }
    Ok(ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_are_a_resource_group_and_a_name() {
        assert_eq!(
            ServerName::parse("rg-dev/pg-dev").unwrap(),
            ServerName {
                resource_group: "rg-dev".into(),
                name: "pg-dev".into()
            }
        );
        for bad in ["pg-dev", "/pg-dev", "rg-dev/", "a/b/c"] {
            let said = ServerName::parse(bad).unwrap_err();
            assert!(said.contains("RESOURCE_GROUP/SERVER_NAME"), "{said}");
        }
    }
}
