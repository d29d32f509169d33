//! `pgentra:index:FederatedCredential`: a federated identity credential on a user-assigned
//! identity (Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials,
//! api-version 2024-11-30).
//!
//! It lets tokens from an external issuer (an AKS cluster's OIDC issuer, a CI system) be
//! exchanged for the identity's Entra tokens. Entra matches issuer and subject exactly, accepts
//! exactly one audience, and allows at most 20 credentials per identity; credentials under one
//! identity must be written one at a time.

use crate::azure::ids::{FederatedCredentialId, ManagedIdentityId};
use crate::resource::Resource;
use crate::resources::arm_fields::ArmField;
use crate::resources::arm_resource::{bad_id, named, ArmBinding, UpdateVerb, WriteScope};
use crate::resources::common::RESOURCE_GROUP_NAME;
use crate::rules;
use crate::spec::{Default, Property, Replacement, ResourceSpec, Type};

pub static SPEC: ResourceSpec = ResourceSpec {
    token: "pgentra:index:FederatedCredential",
    doc: "A federated identity credential on a user-assigned managed identity: tokens that an \
          external issuer signs for one subject (such as an AKS service account through workload \
          identity) are exchanged for the identity's Microsoft Entra tokens, with no secret.",
    properties: &[
        RESOURCE_GROUP_NAME,
        Property::input("identityName", Type::String, "The name of the user-assigned managed identity the credential belongs to.")
            .required()
            .replace()
            .rule(rules::identity_name),
        Property::input("name", Type::String, "The credential's name: 3-120 letters, digits, hyphens and underscores, starting with a letter or digit. It cannot change.")
            .required()
            .replace()
            .rule(rules::federated_credential_name),
        Property::input("issuer", Type::String, "The URL of the external token issuer, such as an AKS cluster's OIDC issuer URL (`oidcIssuerProfile.issuerUrl`).")
            .required()
            .rule(rules::issuer),
        Property::input("subject", Type::String, "The subject the external token must carry, matched exactly (no wildcards): for AKS, `system:serviceaccount:<namespace>:<service account>`.")
            .required()
            .rule(rules::subject),
        Property::input("audiences", Type::Array(&Type::String), "The audience the external token must carry. Entra accepts exactly one.")
            .default(Default::StrList(&["api://AzureADTokenExchange"]))
            .rule(rules::audiences),
    ],
    replacement: Replacement::DeleteFirstWhenSameId(&["resourceGroupName", "identityName", "name"]),
    autoname: None,
};

/// Where each property lives in the federated identity credential body (ManagedIdentity.json, 2024-11-30).
pub static ARM: &[ArmField] = &[
    ArmField::new("issuer", "properties.issuer"),
    ArmField::new("subject", "properties.subject"),
    ArmField::new("audiences", "properties.audiences"),
];

pub static BINDING: ArmBinding = ArmBinding {
    api_version: "2024-11-30",
    fields: ARM,
    id_of: |subscription, inputs| {
        let identity = ManagedIdentityId::new(
            subscription,
            inputs.str("resourceGroupName")?,
            inputs.str("identityName")?,
        );
        Some(FederatedCredentialId::new(identity, inputs.str("name")?).to_string())
    },
    inputs_of_id: |id| {
        let id = FederatedCredentialId::parse(id).map_err(bad_id)?;
        Ok(named(&[
            ("resourceGroupName", &id.identity.resource_group),
            ("identityName", &id.identity.name),
            ("name", &id.name),
        ]))
    },
    update: UpdateVerb::Put,
    // Azure answers 409 to overlapping credential writes on one identity.
    scope: WriteScope::Identity,
};

pub struct FederatedCredential;

impl Resource for FederatedCredential {
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
    use crate::resources::testing::{accepted, diff, refused, with};
    use serde_json::{json, Value};

    fn seed() -> Value {
        json!({
            "resourceGroupName": "rg-myapp-prod",
            "identityName": "id-myapp-prod",
            "name": "fc-myapp-aks",
            "issuer": "https://eastus.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-1111-1111-1111-111111111111/",
            "subject": "system:serviceaccount:myapp-ns:myapp-sa",
        })
    }

    #[test]
    fn the_seed_credential_passes_with_the_token_exchange_audience() {
        let checked = accepted(&FederatedCredential, &seed());
        assert_eq!(
            checked.get("audiences"),
            Some(&json!(["api://AzureADTokenExchange"]))
        );
    }

    #[test]
    fn names_issuers_and_subjects_outside_entra_rules_are_refused() {
        refused(
            &FederatedCredential,
            &with(&seed(), json!({"name": "-fc"})),
            "name",
        );
        refused(
            &FederatedCredential,
            &with(&seed(), json!({"name": "fc"})),
            "name",
        );
        refused(
            &FederatedCredential,
            &with(&seed(), json!({"identityName": "id"})),
            "identityName",
        );
        refused(
            &FederatedCredential,
            &with(&seed(), json!({"issuer": "http://issuer.example"})),
            "issuer",
        );
        let long_issuer = format!("https://issuer.example/{}", "x".repeat(600));
        refused(
            &FederatedCredential,
            &with(&seed(), json!({"issuer": long_issuer})),
            "issuer",
        );
        assert!(refused(
            &FederatedCredential,
            &with(
                &seed(),
                json!({"subject": "system:serviceaccount:myapp-ns:*"})
            ),
            "subject"
        )
        .contains("wildcards"));
        refused(
            &FederatedCredential,
            &with(&seed(), json!({"subject": ""})),
            "subject",
        );
    }

    #[test]
    fn exactly_one_audience_is_accepted() {
        let two = json!({"audiences": ["api://AzureADTokenExchange", "api://other"]});
        assert!(
            refused(&FederatedCredential, &with(&seed(), two), "audiences").contains("exactly one")
        );
        refused(
            &FederatedCredential,
            &with(&seed(), json!({"audiences": []})),
            "audiences",
        );
    }

    #[test]
    fn a_new_subject_is_updated_in_place_and_a_new_name_replaces() {
        let subject = diff(
            &FederatedCredential,
            &seed(),
            &with(
                &seed(),
                json!({"subject": "system:serviceaccount:myapp-ns:other-sa"}),
            ),
        );
        assert!(!subject.replaces());
        let renamed = diff(
            &FederatedCredential,
            &seed(),
            &with(&seed(), json!({"name": "fc-myapp-aks-2"})),
        );
        assert!(renamed.replaces() && !renamed.delete_before_replace);
    }
}
