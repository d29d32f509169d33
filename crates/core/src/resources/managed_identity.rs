//! `pgentra:index:ManagedIdentity`: a user-assigned managed identity
//! (Microsoft.ManagedIdentity/userAssignedIdentities, api-version 2024-11-30).
//!
//! Its name becomes the display name of its service principal, which is also the PostgreSQL
//! role name a Principal must use for it.

use crate::azure::ids::ManagedIdentityId;
use crate::resource::Resource;
use crate::resources::arm_fields::ArmField;
use crate::resources::arm_resource::{bad_id, named, ArmBinding, UpdateVerb, WriteScope};
use crate::resources::common::{LOCATION, RESOURCE_GROUP_NAME, TAGS};
use crate::rules;
use crate::spec::{AutoName, Property, Replacement, ResourceSpec, Type};

pub static SPEC: ResourceSpec = ResourceSpec {
    token: "pgentra:index:ManagedIdentity",
    doc: "A user-assigned managed identity. Applications (App Service, AKS pods through workload \
          identity) sign in as it; its name is the PostgreSQL role name of a Principal for it.",
    properties: &[
        RESOURCE_GROUP_NAME,
        Property::input("name", Type::String, "The identity's name: 3-128 letters, digits, hyphens and underscores, starting with a letter or digit. Generated from the resource name when absent.")
            .replace()
            .rule(rules::identity_name),
        LOCATION,
        TAGS,
        Property::output("principalId", Type::String, "The object ID of the identity's service principal in Microsoft Entra ID."),
        Property::output("clientId", Type::String, "The client (application) ID applications use to request tokens as this identity."),
        Property::output("tenantId", Type::String, "The tenant of the identity."),
    ],
    replacement: Replacement::DeleteFirstWhenSameId(&["resourceGroupName", "name"]),
    autoname: Some(AutoName { property: "name", max_len: 128, lowercase: false }),
};

/// Where each property lives in the identity body (ManagedIdentity.json, 2024-11-30).
pub static ARM: &[ArmField] = &[
    ArmField::new("location", "location"),
    ArmField::new("tags", "tags"),
    ArmField::new("principalId", "properties.principalId").read_only(),
    ArmField::new("clientId", "properties.clientId").read_only(),
    ArmField::new("tenantId", "properties.tenantId").read_only(),
];

pub static BINDING: ArmBinding = ArmBinding {
    api_version: "2024-11-30",
    fields: ARM,
    id_of: |subscription, inputs| {
        Some(
            ManagedIdentityId::new(
                subscription,
                inputs.str("resourceGroupName")?,
                inputs.str("name")?,
            )
            .to_string(),
        )
    },
    inputs_of_id: |id| {
        let id = ManagedIdentityId::parse(id).map_err(bad_id)?;
        Ok(named(&[
            ("resourceGroupName", &id.resource_group),
            ("name", &id.name),
        ]))
    },
    update: UpdateVerb::Put,
    scope: WriteScope::Free,
};

pub struct ManagedIdentity;

impl Resource for ManagedIdentity {
    fn spec(&self) -> &'static ResourceSpec {
        &SPEC
    }

    fn arm(&self) -> Option<&'static ArmBinding> {
        Some(&BINDING)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{accepted, refused, with};
    use serde_json::json;

    #[test]
    fn the_seed_identity_passes_and_bad_names_are_refused() {
        let seed = json!({"resourceGroupName": "rg-myapp-prod", "name": "id-myapp-prod", "location": "eastus"});
        accepted(&ManagedIdentity, &seed);
        refused(
            &ManagedIdentity,
            &with(&seed, json!({"name": "-id"})),
            "name",
        );
        refused(
            &ManagedIdentity,
            &with(&seed, json!({"resourceGroupName": "rg."})),
            "resourceGroupName",
        );
    }
}
