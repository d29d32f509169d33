//! What every ARM-backed resource does the same way, written once: Create checks that nothing
//! exists yet, then PUTs and follows the operation; Read of a missing resource answers "gone";
//! Update PUTs or PATCHes what changed; Delete follows the operation to its end. Writes to one
//! server (or one identity) are serialised, and each server write waits for the server to be
//! Ready first.
//!
//! A resource file supplies an [`ArmBinding`] over its typed ID (azure/ids.rs) and delegates its
//! CRUD to it. Every operation goes from the typed ID: Create builds it from the inputs, Read,
//! Update and Delete parse the engine's ID once, at the start.

use crate::azure::ids::{ArmId, FlexibleServerId, IdError, ManagedIdentityId};
use crate::azure::locks::LockGuard;
use crate::azure::{ArmClient, ArmError, Azure};
use crate::props::Props;
use crate::resource::{Context, Created, Error, ReadOutcome, Severity};
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

/// Whose writes Azure refuses to overlap with a write to one resource (the lock it takes), and
/// what must be true before writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteScope {
    /// Writes run in parallel.
    Free,
    /// The flexible server itself: serialised with its children's writes; an update (or the
    /// delete of a server still there) waits for it to be Ready.
    Server(FlexibleServerId),
    /// A child of this flexible server (admin, database, rule, parameter): serialised per
    /// server, and the server must be Ready first.
    ServerChild(FlexibleServerId),
    /// A federated credential of this identity: serialised per identity.
    Identity(ManagedIdentityId),
}

/// How one resource type maps to Azure Resource Manager, over its typed ID `Id`.
pub struct ArmBinding<Id: ArmId> {
    pub spec: &'static ResourceSpec,
    pub fields: &'static [ArmField],
    /// The ID these inputs name in the subscription; `None` when a part is missing.
    pub id_of: fn(subscription_id: &str, inputs: &Props) -> Option<Id>,
    /// The identifying inputs (resource group, names) an ID holds, for import.
    pub inputs_of_id: fn(&Id) -> Props,
    pub update: UpdateVerb,
    /// The lock a write to this ID takes (its server's, its identity's, or none).
    pub scope: fn(&Id) -> WriteScope,
}

/// The binding of a flexible server's child (admin, database, firewall rule, parameter): its ID
/// is the server's plus `<type>/<name>`, its writes are serialised with the server's.
macro_rules! server_child_binding {
    ($spec:expr, $id:ty, $field:ident, $property:literal, $fields:expr) => {
        $crate::resources::arm_resource::ArmBinding::<$id> {
            spec: $spec,
            fields: $fields,
            id_of: |subscription, inputs| {
                let server = $crate::azure::ids::FlexibleServerId::new(
                    subscription,
                    inputs.str("resourceGroupName")?,
                    inputs.str("serverName")?,
                );
                Some(<$id>::new(server, inputs.str($property)?))
            },
            inputs_of_id: |id| {
                $crate::resources::arm_resource::named(&[
                    ("resourceGroupName", &id.server.resource_group),
                    ("serverName", &id.server.name),
                    ($property, &id.$field),
                ])
            },
            update: $crate::resources::arm_resource::UpdateVerb::Put,
            scope: |id| $crate::resources::arm_resource::WriteScope::ServerChild(id.server.clone()),
        }
    };
}
pub(crate) use server_child_binding;

/// An ID that is not of the expected type, as the user's error (import with a wrong ID).
pub fn bad_id(error: IdError) -> Error {
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

fn subscription(azure: &Azure) -> Result<&str, Error> {
    azure
        .subscription_id()
        .ok_or_else(|| Error::MissingSetting {
            what: "no Azure subscription",
            setting: "subscriptionId",
        })
}

/// Which write is about to happen: it decides whether the server must be waited for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    Create,
    Update,
    Delete,
}

/// Takes the write lock of `scope` and, for a server or its child, waits until the server is
/// Ready. The guard is held until the write has ended.
async fn before_write(
    azure: &Azure,
    arm: &ArmClient,
    scope: WriteScope,
    write: Write,
) -> Result<Option<LockGuard>, Error> {
    let (server, is_the_server) = match scope {
        WriteScope::Free => return Ok(None),
        WriteScope::Identity(identity) => {
            return Ok(Some(azure.locks.lock_identity(&identity).await))
        }
        WriteScope::Server(server) => (server, true),
        WriteScope::ServerChild(server) => (server, false),
    };
    let guard = azure.locks.lock_server(&server).await;
    // A server being created is not there yet, and one being deleted may be gone already;
    // every other write waits (under the engine's deadline) for the server to be Ready.
    // A child's write right after this process saw the server Ready (its own create, say)
    // does not ask again: one GET fewer per child.
    let wait = match (is_the_server, write) {
        (true, Write::Create) => false,
        (true, Write::Delete) => arm.get_resource(&server).await?.is_some(),
        (false, _) => !azure.locks.seen_ready(&server),
        (true, Write::Update) => true,
    };
    if wait {
        arm.wait_for_resource(&server, "Ready", |body| {
            body["properties"]["state"] == "Ready"
        })
        .await?;
        azure.locks.saw_server(&server, true);
    }
    Ok(Some(guard))
}

/// Notes the server's state from its own write's answer (a child's answer says nothing of it).
fn saw(azure: &Azure, scope: &WriteScope, resource: &Value) {
    if let WriteScope::Server(server) = scope {
        azure
            .locks
            .saw_server(server, resource["properties"]["state"] == "Ready");
    }
}

/// The tag a create writes on a taggable resource: the caller's opaque mark of who creates it
/// (`Context::create_mark`). A create that finds the resource there already adopts it only
/// when this tag holds its own mark: that resource was left by an interrupted create of the
/// same stack and resource. The tag never reaches the program's `tags` (see `without_mark`).
pub const CREATE_MARK_TAG: &str = "pgentra-create";

/// How many polls (at the default interval) of a create already running in Azure before the
/// PUT is tried again (that create may have failed, and then nothing ever appears).
const POLLS_BEFORE_RETRYING_THE_PUT: u32 = 6;

/// The resource as the program sees it: without the create mark (and without `tags` when the
/// mark was the only tag), so the mark never shows as a difference in a preview or refresh.
fn without_mark(resource: &Value) -> std::borrow::Cow<'_, Value> {
    let Some(tags) = resource.get("tags").and_then(Value::as_object) else {
        return std::borrow::Cow::Borrowed(resource);
    };
    if !tags.contains_key(CREATE_MARK_TAG) {
        return std::borrow::Cow::Borrowed(resource);
    }
    let mut resource = resource.clone();
    let tags = resource["tags"].as_object_mut().expect("tags is an object");
    tags.remove(CREATE_MARK_TAG);
    if tags.is_empty() {
        resource.as_object_mut().map(|r| r.remove("tags"));
    }
    std::borrow::Cow::Owned(resource)
}

/// A write refused because another operation runs on the resource (ARM's overlapping-write
/// codes): on a create whose GET said "not there", a create already running in Azure.
fn is_overlapping_write(error: &ArmError) -> bool {
    matches!(error.status(), Some(400 | 409 | 429))
        && error.code().is_some_and(|code| {
            crate::azure::arm::RACE_CODES
                .iter()
                .any(|c| c.eq_ignore_ascii_case(code))
        })
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

impl<Id: ArmId> ArmBinding<Id> {
    /// The ARM ID the inputs name in the configured subscription.
    pub fn id_for(&self, ctx: &Context, inputs: &Props) -> Result<Id, Error> {
        (self.id_of)(subscription(ctx.azure()?)?, inputs).ok_or_else(|| {
            Error::InvalidInput(format!(
                "the inputs of {} do not name a resource",
                self.spec.token
            ))
        })
    }

    /// The engine's ID as this type's typed ID; one of another shape is the user's error.
    pub fn parse_id(&self, id: &str) -> Result<Id, Error> {
        Id::parse(id).map_err(bad_id)
    }

    /// The state after a write: the inputs, overlaid with what Azure reports.
    fn state_after(&self, inputs: &Props, resource: &Value) -> Props {
        let mut state = inputs.clone();
        state.provider_chosen.clear();
        for (name, value) in from_arm(self.fields, &without_mark(resource), inputs).values {
            state.set(&name, value);
        }
        state
    }

    /// Create: the body is the writable fields of the inputs.
    pub async fn create(&self, ctx: &Context, inputs: &Props) -> Result<Created, Error> {
        self.create_with(ctx, inputs, to_arm(self.fields, inputs))
            .await
    }

    /// Whether Azure keeps tags on this type (the create mark goes there).
    fn is_taggable(&self) -> bool {
        self.fields.iter().any(|f| f.path == "tags" && !f.read_only)
    }

    /// Create with a body of the resource's own: fails when the resource exists already (ARM's
    /// PUT would silently take it over), unless it carries this caller's create mark (an
    /// interrupted create of the same stack and resource), which is adopted with a warning. A
    /// create already running in Azure (invisible until it ends) is waited for, not written
    /// into, and then judged the same way.
    pub async fn create_with(
        &self,
        ctx: &Context,
        inputs: &Props,
        mut body: Value,
    ) -> Result<Created, Error> {
        let (azure, arm) = (ctx.azure()?, ctx.arm()?);
        let id = self.id_for(ctx, inputs)?;
        let scope = (self.scope)(&id);
        // Only a server's own writes make Azure refuse a write to it as overlapping: a child's
        // or a credential's refusal is about its parent and is retried as usual.
        let is_server = matches!(scope, WriteScope::Server(_));
        let put_arm = if is_server {
            arm.without_race_retries()
        } else {
            arm.clone()
        };
        let _guard = before_write(azure, &arm, scope.clone(), Write::Create).await?;
        let mark = ctx.create_mark.as_deref().filter(|_| self.is_taggable());
        if let Some(mark) = mark {
            if !body["tags"].is_object() {
                body["tags"] = Value::Object(Default::default());
            }
            body["tags"][CREATE_MARK_TAG] = Value::String(mark.to_owned());
        }
        let mut existing = arm.get_resource(&id).await?;
        let mut waited = false;
        loop {
            if let Some(found) = existing {
                return self
                    .adopt_or_refuse(ctx, &arm, &id, inputs, &body, &found, mark, waited)
                    .await;
            }
            match put_arm.put_resource(&id, &body).await {
                Ok(resource) => {
                    saw(azure, &scope, &resource);
                    return Ok(Created {
                        outputs: self.state_after(inputs, &resource),
                        id: id.to_string(),
                    });
                }
                Err(error) if is_server && is_overlapping_write(&error) => {
                    if !waited {
                        ctx.log.log(
                            Severity::Warning,
                            &format!(
                                "a create of {id} is already running in Azure (left by an interrupted run, or someone else's); waiting for it to finish instead of writing into it"
                            ),
                        );
                    }
                    waited = true;
                    existing = arm
                        .poll_until_exists(&id, POLLS_BEFORE_RETRYING_THE_PUT)
                        .await?;
                }
                Err(error) => return Err(accepted_or(error, &id.to_string(), inputs)),
            }
        }
    }

    /// A resource found where a create was to make it: adopted when it carries this caller's
    /// create mark (the body is written again, as the interrupted create meant to), refused
    /// ("import it") otherwise.
    #[allow(clippy::too_many_arguments)]
    async fn adopt_or_refuse(
        &self,
        ctx: &Context,
        arm: &ArmClient,
        id: &Id,
        inputs: &Props,
        body: &Value,
        found: &Value,
        mark: Option<&str>,
        waited: bool,
    ) -> Result<Created, Error> {
        let found_mark = found["tags"][CREATE_MARK_TAG].as_str();
        let Some(mark) = mark.filter(|m| found_mark == Some(*m)) else {
            return Err(Error::AlreadyExists {
                id: id.to_string(),
                token: self.spec.token,
            });
        };
        // Where Azure shows a server while its create runs, it is not Ready yet: wait for it
        // rather than writing into the running operation.
        let state = found["properties"]["state"].as_str();
        let running_now = matches!((self.scope)(id), WriteScope::Server(_))
            && state.is_some_and(|s| s != "Ready");
        let running = if waited {
            "; its create was still running in Azure and was waited for"
        } else if running_now {
            "; its create is still running in Azure: waiting for it"
        } else {
            ""
        };
        ctx.log.log(
            Severity::Warning,
            &format!(
                "adopting {id}, left by an interrupted create of this same resource (create mark {mark}){running}; then writing the program's settings to it"
            ),
        );
        // The resource exists and is this one's: whatever fails now, the engine keeps its ID.
        let adopted_but = |error: ArmError| {
            let mut outputs = inputs.clone();
            outputs.provider_chosen.clear();
            Error::InitFailed {
                id: id.to_string(),
                outputs,
                reason: format!("adopting {id}: {error}"),
            }
        };
        if running_now {
            arm.wait_for_resource(id, "Ready", |body| body["properties"]["state"] == "Ready")
                .await
                .map_err(adopted_but)?;
        }
        let resource = arm.put_resource(id, body).await.map_err(adopted_but)?;
        Ok(Created {
            outputs: self.state_after(inputs, &resource),
            id: id.to_string(),
        })
    }

    /// The resource as Azure has it (`None` when it does not exist).
    pub async fn get(&self, ctx: &Context, id: &Id) -> Result<Option<Value>, Error> {
        Ok(ctx.arm()?.get_resource(id).await?)
    }

    /// Read: what exists, or `None` when it is gone. The answer keeps the engine's ID as given.
    pub async fn read(
        &self,
        ctx: &Context,
        id: &str,
        state: &Props,
    ) -> Result<Option<ReadOutcome>, Error> {
        let arm = ctx.arm()?;
        let typed = self.parse_id(id)?;
        let Some(resource) = arm.get_resource(&typed).await? else {
            return Ok(None);
        };
        let mut outputs = (self.inputs_of_id)(&typed);
        for (name, value) in from_arm(self.fields, &without_mark(&resource), state).values {
            outputs.set(&name, value);
        }
        outputs.inherit_secrets(state);
        let mut inputs = Props::default();
        for property in self.spec.inputs() {
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

    /// Update: the binding's verb with the writable fields of `news`.
    pub async fn update(
        &self,
        ctx: &Context,
        id: &str,
        olds: &Props,
        news: &Props,
    ) -> Result<Props, Error> {
        self.update_with(ctx, &self.parse_id(id)?, olds, news, |_| {})
            .await
    }

    /// Update, with `extra` adding what the body needs beyond the fields (a createMode, a source).
    pub async fn update_with(
        &self,
        ctx: &Context,
        id: &Id,
        olds: &Props,
        news: &Props,
        extra: impl FnOnce(&mut Value),
    ) -> Result<Props, Error> {
        let (azure, arm) = (ctx.azure()?, ctx.arm()?);
        let _guard = before_write(azure, &arm, (self.scope)(id), Write::Update).await?;
        let resource = match self.update {
            UpdateVerb::Put => {
                let mut body = to_arm(self.fields, news);
                extra(&mut body);
                arm.put_resource(id, &body).await
            }
            UpdateVerb::Patch => {
                let mut changed = Props::default();
                for field in self.fields.iter().filter(|f| !f.read_only) {
                    if let Some(value) = news
                        .get(field.property)
                        .filter(|v| olds.get(field.property) != Some(*v))
                    {
                        changed.set(field.property, value.clone());
                    }
                }
                let mut body = to_arm(self.fields, &changed);
                extra(&mut body);
                arm.patch_resource(id, &body).await
            }
        };
        match resource {
            Ok(resource) => {
                saw(azure, &(self.scope)(id), &resource);
                Ok(self.state_after(news, &resource))
            }
            Err(error) => Err(accepted_or(error, &id.to_string(), news)),
        }
    }

    /// Delete, followed to its end; a resource already gone is success.
    pub async fn delete(&self, ctx: &Context, id: &str) -> Result<(), Error> {
        let (azure, arm) = (ctx.azure()?, ctx.arm()?);
        let id = self.parse_id(id)?;
        let _guard = before_write(azure, &arm, (self.scope)(&id), Write::Delete).await?;
        arm.delete_resource(&id).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::azure::ids::{
        FederatedCredentialId, FirewallRuleId, FlexibleServerId, ManagedIdentityId,
    };
    use crate::resource::Error;
    use crate::resources::arm_resource::WriteScope;
    use crate::resources::{database, federated_credential, firewall_rule, flexible_server};

    #[test]
    fn a_child_write_locks_its_server_and_a_credential_its_identity() {
        let server = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-1";
        let rule = FirewallRuleId::parse(&format!("{server}/firewallRules/office")).unwrap();
        let WriteScope::ServerChild(owner) = (firewall_rule::BINDING.scope)(&rule) else {
            panic!("a firewall rule's write is a server child's");
        };
        assert_eq!(owner.to_string(), server);
        let itself = FlexibleServerId::parse(server).unwrap();
        let WriteScope::Server(owner) = (flexible_server::BINDING.scope)(&itself) else {
            panic!("a server's write is the server's own");
        };
        assert_eq!(owner.to_string(), server);
        let identity = "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-1";
        let credential =
            FederatedCredentialId::parse(&format!("{identity}/federatedIdentityCredentials/fc"))
                .unwrap();
        assert_eq!(
            (federated_credential::BINDING.scope)(&credential),
            WriteScope::Identity(ManagedIdentityId::parse(identity).unwrap())
        );
    }

    #[test]
    fn the_create_mark_never_reaches_the_programs_tags() {
        use super::{without_mark, CREATE_MARK_TAG};
        use serde_json::json;
        let only_mark = json!({"location": "eastus", "tags": {CREATE_MARK_TAG: "pulumi-00"}});
        assert_eq!(*without_mark(&only_mark), json!({"location": "eastus"}));
        let with_others = json!({"tags": {CREATE_MARK_TAG: "pulumi-00", "team": "data"}});
        assert_eq!(
            *without_mark(&with_others),
            json!({"tags": {"team": "data"}})
        );
        let unmarked = json!({"tags": {}});
        assert_eq!(
            *without_mark(&unmarked),
            unmarked,
            "an empty map the program set stays"
        );
    }

    #[test]
    fn only_arms_overlapping_write_codes_mean_another_operation_runs() {
        use super::is_overlapping_write;
        use crate::azure::arm_error::{ArmError, ErrorBody};
        let answer = |status: u16, code: &str| ArmError::Api {
            method: "PUT".into(),
            path: "/x".into(),
            status,
            body: Box::new(ErrorBody {
                code: code.into(),
                ..Default::default()
            }),
            request_id: None,
        };
        assert!(is_overlapping_write(&answer(
            409,
            "AnotherOperationInProgress"
        )));
        assert!(is_overlapping_write(&answer(409, "ServerBusy")));
        assert!(!is_overlapping_write(&answer(409, "Conflict")));
        assert!(!is_overlapping_write(&answer(
            500,
            "AnotherOperationInProgress"
        )));
    }

    #[test]
    fn an_id_of_another_type_is_the_users_error_naming_the_id_and_its_expected_shape() {
        let server = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-1";
        let Err(Error::InvalidInput(reason)) = database::BINDING.parse_id(server) else {
            panic!("a server ID is not a database ID");
        };
        assert!(
            reason.contains(server) && reason.contains("/databases/{name}"),
            "{reason}"
        );
    }
}
