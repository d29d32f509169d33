//! `pgentra:index:FederatedCredential`: a federated identity credential on a user-assigned
//! identity (Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials, at
//! `MANAGED_IDENTITY_API_VERSION`).
//!
//! It lets tokens from an external issuer (an AKS cluster's OIDC issuer, a CI system) be
//! exchanged for the identity's Entra tokens. Entra matches issuer and subject exactly, accepts
//! exactly one audience, and allows at most 20 credentials per identity; credentials under one
//! identity must be written one at a time.
//!
//! Check catches, offline, what would only fail at the first token exchange (AADSTS70021, "No
//! matching federated identity record found"): an AKS issuer (`rules::looks_like_aks_issuer`)
//! with a subject that is not `system:serviceaccount:<namespace>:<name>` or without the trailing
//! '/' AKS publishes, and a `system:serviceaccount:` subject whose names Kubernetes would refuse.
//! What a given cluster publishes is fetched only by `pgentra doctor --workload`.

use crate::azure::ids::{FederatedCredentialId, ManagedIdentityId};
use crate::props::Props;
use crate::resource::{Context, Created, Error, ReadOutcome, Resource};
use crate::resources::arm_fields::ArmField;
use crate::resources::arm_resource::{named, ArmBinding, UpdateVerb, WriteScope};
use crate::resources::common::RESOURCE_GROUP_NAME;
use crate::rules;
use crate::spec::{CheckFailure, Default, Property, Replacement, ResourceSpec, Type};

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

/// Where each property lives in the federated identity credential body (ManagedIdentity.json).
pub static ARM: &[ArmField] = &[
    ArmField::new("issuer", "properties.issuer"),
    ArmField::new("subject", "properties.subject"),
    ArmField::new("audiences", "properties.audiences"),
];

pub static BINDING: ArmBinding<FederatedCredentialId> = ArmBinding {
    spec: &SPEC,
    fields: ARM,
    id_of: |subscription, inputs| {
        let identity = ManagedIdentityId::new(
            subscription,
            inputs.str("resourceGroupName")?,
            inputs.str("identityName")?,
        );
        Some(FederatedCredentialId::new(identity, inputs.str("name")?))
    },
    inputs_of_id: |id| {
        named(&[
            ("resourceGroupName", &id.identity.resource_group),
            ("identityName", &id.identity.name),
            ("name", &id.name),
        ])
    },
    update: UpdateVerb::Put,
    // Azure answers 409 to overlapping credential writes on one identity.
    scope: |id| WriteScope::Identity(id.identity.clone()),
};

pub struct FederatedCredential;

#[async_trait::async_trait]
impl Resource for FederatedCredential {
    fn spec(&self) -> &'static ResourceSpec {
        &SPEC
    }

    fn validate(&self, news: &Props, _olds: &Props, failures: &mut Vec<CheckFailure>) {
        let known = |name: &str| news.str(name).filter(|_| !news.is_unknown(name));
        let issuer = known("issuer");
        let aks = issuer.is_some_and(rules::looks_like_aks_issuer);
        if issuer.is_some_and(rules::aks_issuer_missing_slash) {
            failures.push(CheckFailure::new(
                "issuer",
                "AKS publishes its OIDC issuer with a trailing '/' and its tokens carry it so; \
                 Entra compares the issuer exactly (else AADSTS70021), so end the issuer with '/' \
                 as `az aks show --query oidcIssuerProfile.issuerUrl` prints it",
            ));
        }
        if let Some(subject) = known("subject") {
            let claims_service_account = subject.starts_with(rules::SERVICE_ACCOUNT_SUBJECT_PREFIX);
            if aks || claims_service_account {
                if let Err(why) = rules::service_account_of_subject(subject) {
                    let whose = if aks {
                        "the issuer is an AKS cluster's"
                    } else {
                        "the subject names a Kubernetes service account"
                    };
                    failures.push(CheckFailure::new("subject", format!("{why} ({whose})")));
                }
            }
        }
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
    fn an_aks_issuer_needs_a_service_account_subject() {
        let github = json!({"subject": "repo:contoso/app:ref:refs/heads/main"});
        let why = refused(
            &FederatedCredential,
            &with(&seed(), github.clone()),
            "subject",
        );
        assert!(
            why.contains("system:serviceaccount:<namespace>:<service account>")
                && why.contains("AKS"),
            "{why}"
        );
        // The same subject on another issuer (GitHub Actions) is its own business.
        accepted(
            &FederatedCredential,
            &with(
                &seed(),
                json!({"issuer": "https://token.actions.githubusercontent.com", "subject": github["subject"]}),
            ),
        );
        for (subject, names) in [
            ("system:serviceaccount:myapp-ns", "names no service account"),
            ("system:serviceaccount:MyApp:sa", "namespace \"MyApp\""),
            ("system:serviceaccount:-ns:sa", "namespace"),
            ("system:serviceaccount:ns:sa_1", "service account \"sa_1\""),
            ("system:serviceaccount:ns:a:b", "service account \"a:b\""),
            (
                "system:serviceaccounts:ns",
                "not a Kubernetes service account subject",
            ),
        ] {
            let why = refused(
                &FederatedCredential,
                &with(&seed(), json!({"subject": subject})),
                "subject",
            );
            assert!(why.contains(names), "{subject}: {why}");
        }
        // A self-managed cluster (or the emulator): the subject's own claim is checked.
        let own =
            json!({"issuer": "https://127.0.0.1:8443", "subject": "system:serviceaccount:ns:Bad"});
        assert!(
            refused(&FederatedCredential, &with(&seed(), own), "subject")
                .contains("names a Kubernetes service account")
        );
        accepted(
            &FederatedCredential,
            &with(
                &seed(),
                json!({"subject": "system:serviceaccount:my-ns:app.v2-sa"}),
            ),
        );
    }

    #[test]
    fn an_aks_issuer_without_its_trailing_slash_is_refused() {
        let aks = seed()["issuer"].as_str().unwrap().to_string();
        let bare = aks.trim_end_matches('/');
        let why = refused(
            &FederatedCredential,
            &with(&seed(), json!({"issuer": bare})),
            "issuer",
        );
        assert!(
            why.contains("trailing '/'") && why.contains("AADSTS70021"),
            "{why}"
        );
        // Other issuers are taken as written (GitHub's has no slash): doctor compares them
        // with what the issuer publishes.
        accepted(
            &FederatedCredential,
            &with(
                &seed(),
                json!({"issuer": "https://token.actions.githubusercontent.com", "subject": "repo:o/r:environment:prod"}),
            ),
        );
    }

    #[test]
    fn an_issuer_with_user_info_a_query_or_a_fragment_is_refused() {
        for (issuer, part) in [
            (
                "https://user@eastus.oic.prod-aks.azure.com/t/c/",
                "user info",
            ),
            ("https://issuer.example/?tenant=1", "a query"),
            ("https://issuer.example/#keys", "a fragment"),
            ("http://eastus.oic.prod-aks.azure.com/t/c/", "https://"),
        ] {
            let why = refused(
                &FederatedCredential,
                &with(&seed(), json!({"issuer": issuer})),
                "issuer",
            );
            assert!(why.contains(part), "{issuer}: {why}");
        }
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
