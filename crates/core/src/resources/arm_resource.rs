//! What every ARM-backed resource does the same way, written once: Create checks that nothing
//! exists yet, then PUTs and follows the operation; Read of a missing resource answers "gone";
//! Update PUTs or PATCHes what changed; Delete follows the operation to its end. Writes to one
//! server (or one identity) are serialised, and each server write waits for the server to be
//! Ready first. A resource file supplies an [`ArmBinding`] and keeps only what is its own.

use crate::azure::{ArmClient, ArmError, Azure};
use crate::props::Props;
use crate::resource::{Context, Created, Error, ReadOutcome};
use crate::resources::arm_fields::{from_arm, to_arm, ArmField};
use crate::spec::ResourceSpec;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateVerb {
    /// PUT the whole body again (ARM's create-or-update).
    Put,
    /// PATCH only the fields that changed (a flexible server).
    Patch,
}

/// Whose writes Azure refuses to overlap, and what must be true before writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteScope {
    /// Writes run in parallel.
    Free,
    /// A flexible server or one of its children: serialised per server; the server must be Ready.
    Server,
    /// A federated credential: serialised per managed identity.
    Identity,
}

pub struct ArmBinding {
    pub api_version: &'static str,
    pub fields: &'static [ArmField],
    /// The ARM ID these inputs name; `None` when a part is missing.
    pub id_of: fn(subscription_id: &str, inputs: &Props) -> Option<String>,
    /// The identifying inputs (resource group, names) an ID holds, for import.
    pub inputs_of_id: fn(id: &str) -> Result<Props, Error>,
    pub update: UpdateVerb,
    pub scope: WriteScope,
}

const API_SERVERS: &str = "2025-08-01";

/// The binding of a flexible server's child (admin, database, firewall rule, parameter): its ID
/// is the server's plus `<type>/<name>`, its writes are serialised with the server's.
macro_rules! server_child_binding {
    ($id:ty, $field:ident, $property:literal, $fields:expr) => {
        $crate::resources::arm_resource::ArmBinding {
            api_version: "2025-08-01",
            fields: $fields,
            id_of: |subscription, inputs| {
                let server = $crate::azure::ids::FlexibleServerId::new(
                    subscription,
                    inputs.str("resourceGroupName")?,
                    inputs.str("serverName")?,
                );
                Some(<$id>::new(server, inputs.str($property)?).to_string())
            },
            inputs_of_id: |id| {
                let id = <$id>::parse(id).map_err($crate::resources::arm_resource::bad_id)?;
                Ok($crate::resources::arm_resource::named(&[
                    ("resourceGroupName", &id.server.resource_group),
                    ("serverName", &id.server.name),
                    ($property, &id.$field),
                ]))
            },
            update: $crate::resources::arm_resource::UpdateVerb::Put,
            scope: $crate::resources::arm_resource::WriteScope::Server,
        }
    };
}
pub(crate) use server_child_binding;

/// An ID that is not of the expected type, as the user's error (import with a wrong ID).
pub fn bad_id(error: crate::azure::ids::IdError) -> Error {
    Error::InvalidInput(error.to_string())
}

/// Inputs from name/value pairs (the parts of an ID).
pub fn named(parts: &[(&str, &str)]) -> Props {
    let mut props = Props::default();
    for (name, value) in parts {
        props.set(name, Value::String((*value).to_owned()));
    }
    props
}

impl Context {
    /// The ARM client for this operation: the engine's timeout, when given, bounds every
    /// retry and poll of it.
    pub fn arm(&self) -> Result<ArmClient, Error> {
        let arm = &self.azure()?.arm;
        Ok(match self.timeout {
            Some(timeout) => arm.with_timeout(timeout),
            None => arm.clone(),
        })
    }

    pub fn azure(&self) -> Result<&Azure, Error> {
        self.azure.as_deref().ok_or_else(|| {
            Error::InvalidInput("the provider has no Azure client; Configure did not run".into())
        })
    }
}

fn subscription(azure: &Azure) -> Result<&str, Error> {
    azure.subscription_id.as_deref().ok_or_else(|| {
        Error::InvalidInput("no Azure subscription is configured: set pgentra:subscriptionId or AZURE_SUBSCRIPTION_ID".into())
    })
}

/// The ARM ID of the server that owns `id` (itself for a server).
fn server_of(id: &str) -> String {
    let lower = id.to_ascii_lowercase();
    match lower.find("/flexibleservers/") {
        Some(at) => {
            let end = id[at + "/flexibleservers/".len()..]
                .find('/')
                .map(|i| at + "/flexibleservers/".len() + i)
                .unwrap_or(id.len());
            id[..end].to_owned()
        }
        None => id.to_owned(),
    }
}

/// The ARM ID of the identity that owns a federated credential.
fn identity_of(id: &str) -> String {
    let lower = id.to_ascii_lowercase();
    match lower.find("/federatedidentitycredentials/") {
        Some(at) => id[..at].to_owned(),
        None => id.to_owned(),
    }
}

/// Holds the write lock of `id`'s scope and, for a server, waits until it is Ready.
/// Which write is about to happen: it decides whether the server must be waited for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    Create,
    Update,
    Delete,
}

async fn before_write(
    azure: &Azure,
    arm: &ArmClient,
    binding: &ArmBinding,
    id: &str,
    write: Write,
) -> Result<Option<crate::azure::locks::LockGuard>, Error> {
    match binding.scope {
        WriteScope::Free => Ok(None),
        WriteScope::Identity => Ok(Some(
            azure
                .locks
                .lock(&format!("identity:{}", identity_of(id)))
                .await,
        )),
        WriteScope::Server => {
            let server = server_of(id);
            let guard = azure.locks.lock(&format!("server:{server}")).await;
            // A server being created is not there yet, and one being deleted may be gone already;
            // every other write waits (under the engine's deadline) for the server to be Ready.
            let wait = match (crate::azure::ids::same_id(&server, id), write) {
                (true, Write::Create) => false,
                (true, Write::Delete) => arm.get(&server, API_SERVERS).await?.is_some(),
                _ => true,
            };
            if wait {
                arm.wait_for(&server, API_SERVERS, "Ready", |body| {
                    body["properties"]["state"] == "Ready"
                })
                .await?;
            }
            Ok(Some(guard))
        }
    }
}

/// The state after a write: the inputs, overlaid with what Azure reports.
fn state_after(binding: &ArmBinding, inputs: &Props, resource: &Value) -> Props {
    let mut state = inputs.clone();
    state.provider_chosen.clear();
    for (name, value) in from_arm(binding.fields, resource, inputs).values {
        state.set(&name, value);
    }
    state
}

/// The ARM ID the inputs name in the configured subscription.
pub fn id_for(
    ctx: &Context,
    spec: &ResourceSpec,
    binding: &ArmBinding,
    inputs: &Props,
) -> Result<String, Error> {
    (binding.id_of)(subscription(ctx.azure()?)?, inputs).ok_or_else(|| {
        Error::InvalidInput(format!(
            "the inputs of {} do not name a resource",
            spec.token
        ))
    })
}

pub async fn create(
    ctx: &Context,
    spec: &ResourceSpec,
    binding: &ArmBinding,
    inputs: &Props,
    body: Value,
) -> Result<Created, Error> {
    let (azure, arm) = (ctx.azure()?, ctx.arm()?);
    let id = id_for(ctx, spec, binding, inputs)?;
    let _guard = before_write(azure, &arm, binding, &id, Write::Create).await?;
    if arm.get(&id, binding.api_version).await?.is_some() {
        return Err(Error::AlreadyExists {
            id,
            token: spec.token,
        });
    }
    match arm.put(&id, binding.api_version, &body).await {
        Ok(resource) => Ok(Created {
            outputs: state_after(binding, inputs, &resource),
            id,
        }),
        Err(error) => Err(accepted_or(error, &id, inputs)),
    }
}

/// A write Azure accepted and then lost still has an ID: the engine keeps it in the state
/// (ErrorResourceInitFailed) rather than orphaning the resource.
fn accepted_or(error: ArmError, id: &str, inputs: &Props) -> Error {
    if error.accepted_resource_id().is_some() {
        let mut outputs = inputs.clone();
        outputs.provider_chosen.clear();
        Error::InitFailed {
            id: id.to_owned(),
            outputs,
            reason: error.to_string(),
        }
    } else {
        Error::Azure(error)
    }
}

/// The default create: the body is the writable fields of the inputs.
pub async fn create_default(
    ctx: &Context,
    spec: &ResourceSpec,
    binding: &ArmBinding,
    inputs: &Props,
) -> Result<Created, Error> {
    create(ctx, spec, binding, inputs, to_arm(binding.fields, inputs)).await
}

pub async fn read(
    ctx: &Context,
    spec: &ResourceSpec,
    binding: &ArmBinding,
    id: &str,
    state: &Props,
) -> Result<Option<ReadOutcome>, Error> {
    let arm = ctx.arm()?;
    let Some(resource) = arm.get(id, binding.api_version).await? else {
        return Ok(None);
    };
    let mut outputs = (binding.inputs_of_id)(id)?;
    for (name, value) in from_arm(binding.fields, &resource, state).values {
        outputs.set(&name, value);
    }
    outputs.inherit_secrets(state);
    let mut inputs = Props::default();
    for property in spec.inputs() {
        if let Some(value) = outputs.get(property.name) {
            inputs.set(property.name, value.clone());
        }
    }
    inputs.inherit_secrets(&outputs);
    Ok(Some(ReadOutcome {
        id: id.to_owned(),
        outputs,
        inputs,
    }))
}

pub async fn update(
    ctx: &Context,
    binding: &ArmBinding,
    id: &str,
    olds: &Props,
    news: &Props,
    extra: impl FnOnce(&mut Value),
) -> Result<Props, Error> {
    let (azure, arm) = (ctx.azure()?, ctx.arm()?);
    let _guard = before_write(azure, &arm, binding, id, Write::Update).await?;
    let resource = match binding.update {
        UpdateVerb::Put => {
            let mut body = to_arm(binding.fields, news);
            extra(&mut body);
            arm.put(id, binding.api_version, &body).await
        }
        UpdateVerb::Patch => {
            let mut changed = Props::default();
            for field in binding.fields.iter().filter(|f| !f.read_only) {
                if let Some(value) = news
                    .get(field.property)
                    .filter(|v| olds.get(field.property) != Some(*v))
                {
                    changed.set(field.property, value.clone());
                }
            }
            let mut body = to_arm(binding.fields, &changed);
            extra(&mut body);
            arm.patch(id, binding.api_version, &body).await
        }
    };
    match resource {
        Ok(resource) => Ok(state_after(binding, news, &resource)),
        Err(error) => Err(accepted_or(error, id, news)),
    }
}

pub async fn delete(ctx: &Context, binding: &ArmBinding, id: &str) -> Result<(), Error> {
    let (azure, arm) = (ctx.azure()?, ctx.arm()?);
    let _guard = before_write(azure, &arm, binding, id, Write::Delete).await?;
    arm.delete(id, binding.api_version).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_write_locks_its_server_and_a_credential_its_identity() {
        let server = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-1";
        assert_eq!(server_of(&format!("{server}/firewallRules/office")), server);
        assert_eq!(server_of(server), server);
        let identity = "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-1";
        assert_eq!(
            identity_of(&format!("{identity}/federatedIdentityCredentials/fc")),
            identity
        );
    }
}
