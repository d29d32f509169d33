//! `pgentra:index:AdAdmin`: a Microsoft Entra administrator of a Flexible Server
//! (Microsoft.DBforPostgreSQL/flexibleServers/administrators/{objectId}, at
//! `POSTGRESQL_API_VERSION`).
//!
//! An Entra administrator is the only principal that can first sign in with a token and create
//! the other Entra roles (Principal). A server may have several. Every field is fixed at creation,
//! as in Terraform: a change replaces the administrator.

use crate::azure::ids::AdAdminId;
use crate::props::Props;
use crate::resource::{Context, Created, Error, ReadOutcome, Resource};
use crate::resources::arm_fields::ArmField;
use crate::resources::arm_resource::{server_child_binding, ArmBinding};
use crate::resources::common::{object_id, tenant_id, RESOURCE_GROUP_NAME, SERVER_NAME};
use crate::rules;
use crate::spec::{Property, Replacement, ResourceSpec, Type};

pub static SPEC: ResourceSpec = ResourceSpec {
    token: "pgentra:index:AdAdmin",
    doc: "A Microsoft Entra administrator of a Flexible Server: a user, group or service principal \
          that signs in with an Entra token and may create the other Entra roles. Use a group so \
          that membership, not the server, decides who administers it.",
    properties: &[
        RESOURCE_GROUP_NAME,
        SERVER_NAME,
        object_id("The object ID of the user, group or service principal in Microsoft Entra ID (for an application, its service principal's object ID).")
            .required()
            .replace(),
        Property::input("principalName", Type::String, "The principal's name as Entra shows it, which is also its PostgreSQL role name: a user's UPN, or a group's or service principal's display name.")
            .required()
            .replace()
            .rule(rules::principal_name),
        Property::input("principalType", Type::String, "What the principal is: `User`, `Group` or `ServicePrincipal` (managed identities are service principals).")
            .required()
            .replace()
            .one_of(&["User", "Group", "ServicePrincipal"])
            .enum_name("AdAdminPrincipalType"),
        tenant_id("The principal's Microsoft Entra tenant. Defaults to the server's tenant.").replace(),
    ],
    replacement: Replacement::DeleteFirstWhenSameId(&["resourceGroupName", "serverName", "objectId"]),
    autoname: None,
};

/// Where each property lives in the administrator body (AdministratorsMicrosoftEntra.json); the object id is in the URL.
pub static ARM: &[ArmField] = &[
    ArmField::new("principalName", "properties.principalName"),
    ArmField::new("principalType", "properties.principalType"),
    ArmField::new("tenantId", "properties.tenantId"),
];

pub static BINDING: ArmBinding<AdAdminId> =
    server_child_binding!(&SPEC, AdAdminId, object_id, "objectId", ARM);

pub struct AdAdmin;

#[async_trait::async_trait]
impl Resource for AdAdmin {
    fn spec(&self) -> &'static ResourceSpec {
        &SPEC
    }

    async fn create(&self, ctx: &Context, inputs: &Props) -> Result<Created, Error> {
        BINDING.create(ctx, inputs).await
    }

    async fn read(
        &self,
        ctx: &Context,
        id: &str,
        state: &Props,
    ) -> Result<Option<ReadOutcome>, Error> {
        BINDING.read(ctx, id, state).await
    }

    async fn update(
        &self,
        ctx: &Context,
        id: &str,
        olds: &Props,
        news: &Props,
    ) -> Result<Props, Error> {
        BINDING.update(ctx, id, olds, news).await
    }

    async fn delete(&self, ctx: &Context, id: &str, _olds: &Props) -> Result<(), Error> {
        BINDING.delete(ctx, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{accepted, diff, refused, with};
    use serde_json::{json, Value};

    fn seed() -> Value {
        json!({
            "resourceGroupName": "rg-myapp-prod",
            "serverName": "pg-myapp-prod",
            "objectId": "0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a69",
            "principalName": "PG Admins Group",
            "principalType": "Group",
        })
    }

    #[test]
    fn the_seed_group_admin_passes() {
        accepted(&AdAdmin, &seed());
    }

    #[test]
    fn bad_ids_names_and_types_are_refused_on_their_property() {
        refused(
            &AdAdmin,
            &with(&seed(), json!({"objectId": "<entra-group-object-id>"})),
            "objectId",
        );
        refused(
            &AdAdmin,
            &with(&seed(), json!({"serverName": "pg--myapp"})),
            "serverName",
        );
        refused(
            &AdAdmin,
            &with(&seed(), json!({"principalName": ""})),
            "principalName",
        );
        refused(
            &AdAdmin,
            &with(&seed(), json!({"principalName": "x".repeat(257)})),
            "principalName",
        );
        assert!(refused(
            &AdAdmin,
            &with(&seed(), json!({"principalType": "Application"})),
            "principalType"
        )
        .contains("ServicePrincipal"));
        refused(
            &AdAdmin,
            &with(&seed(), json!({"tenantId": "contoso"})),
            "tenantId",
        );
    }

    #[test]
    fn another_object_id_creates_the_new_admin_before_removing_the_old() {
        let outcome = diff(
            &AdAdmin,
            &seed(),
            &with(
                &seed(),
                json!({"objectId": "3c2e1d0f-aaaa-4bbb-8ccc-0123456789ab"}),
            ),
        );
        assert!(outcome.replaces());
        assert!(!outcome.delete_before_replace);
    }

    #[test]
    fn a_renamed_principal_with_the_same_object_id_is_removed_first() {
        let outcome = diff(
            &AdAdmin,
            &seed(),
            &with(&seed(), json!({"principalName": "PG Administrators"})),
        );
        assert_eq!(outcome.replaced_properties(), ["principalName"]);
        assert!(outcome.delete_before_replace);
    }
}
