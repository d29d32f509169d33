//! `pgentra:index:FlexibleServer`: an Azure Database for PostgreSQL Flexible Server
//! (Microsoft.DBforPostgreSQL/flexibleServers, at `POSTGRESQL_API_VERSION`).
//!
//! pgentra's defaults are the passwordless posture: Entra ID sign-in on, password sign-in off,
//! no administrator login and no password. Azure's own PUT default is the opposite
//! (`passwordAuth=Enabled`), so the provider always sends both switches.
//!
//! In place: version (major upgrades), SKU, storage growth, auth switches, tenant, password,
//! public network access, tags. Replaced: name, resource group, location, administrator login.

use crate::azure::ids::{FlexibleServerId, POSTGRESQL_API_VERSION};
use crate::props::Props;
use crate::resource::{Context, Created, Error, ReadOutcome, Resource};
use crate::resources::arm_fields::ArmField;
use crate::resources::arm_resource::{named, ArmBinding, UpdateVerb, WriteScope};
use crate::resources::common::{tenant_id, LOCATION, RESOURCE_GROUP_NAME, TAGS};
use crate::rules;
use crate::spec::{AutoName, CheckFailure, Default, Property, Replacement, ResourceSpec, Type};
use serde_json::Value;

const ENABLED: &str = "Enabled";
const DISABLED: &str = "Disabled";
const SWITCH: &[&str] = &[ENABLED, DISABLED];

pub static SPEC: ResourceSpec = ResourceSpec {
    token: "pgentra:index:FlexibleServer",
    doc: "An Azure Database for PostgreSQL Flexible Server. By default only Microsoft Entra ID \
          sign-in is on and password sign-in is off, so no administrator password exists; give \
          it an Entra administrator with an AdAdmin.",
    properties: &[
        RESOURCE_GROUP_NAME,
        Property::input("serverName", Type::String, "The server's name, also its DNS label `<serverName>.postgres.database.azure.com`, so unique across Azure: 3-63 lower-case letters, digits and hyphens, not starting or ending with a hyphen or holding two in a row. Generated from the resource name when absent.")
            .replace()
            .rule(rules::server_name),
        LOCATION,
        Property::input("version", Type::String, "The PostgreSQL major version. Upgrading to a higher one happens in place; a server cannot be downgraded.")
            .required()
            .one_of(&["11", "12", "13", "14", "15", "16", "17"])
            .enum_name("ServerVersion"),
        Property::input("skuName", Type::String, "The compute size, such as `Standard_B1ms` (Burstable), `Standard_D2s_v3` (General Purpose) or `Standard_E4ds_v5` (Memory Optimized). Scales in place.")
            .required()
            .rule(rules::sku_name),
        Property::input("skuTier", Type::String, "The compute tier of skuName. When absent it is derived from skuName: `Standard_B…` is `Burstable`, `Standard_E…` `MemoryOptimized`, any other `GeneralPurpose`.")
            .one_of(&["Burstable", "GeneralPurpose", "MemoryOptimized"])
            .derived(),
        Property::input("storageSizeGb", Type::Integer, "The storage size in GiB: 32, 64, 128, 256, 512, 1024, 2048, 4095, 4096, 8192, 16384 or 32767. It grows in place; Azure cannot shrink it.")
            .default(Default::Int(32))
            .rule(rules::storage_size_gb),
        Property::input("activeDirectoryAuth", Type::String, "Whether users sign in with Microsoft Entra ID tokens: `Enabled` or `Disabled`. Turning it on restarts the server.")
            .one_of(SWITCH)
            .default(Default::Str(ENABLED)),
        Property::input("passwordAuth", Type::String, "Whether users sign in with PostgreSQL passwords: `Enabled` or `Disabled`. Off by default (the passwordless posture); turn it on only while applications migrate.")
            .one_of(SWITCH)
            .default(Default::Str(DISABLED)),
        tenant_id("The Microsoft Entra tenant whose users and identities sign in. Defaults to the provider's tenant."),
        Property::input("administratorLogin", Type::String, "The PostgreSQL password administrator, only with passwordAuth `Enabled`: 1-63 letters, digits and underscores starting with a letter, not starting with `pg_`, and none of azure_superuser, azure_pg_admin, admin, administrator, root, guest, public. It can be set later in place, and dropping it from the program leaves Azure's unchanged; changing it to another name replaces the server.")
            .sticky()
            .rule(rules::administrator_login),
        Property::input("administratorLoginPassword", Type::String, "The password of administratorLogin, only with passwordAuth `Enabled`: 8-128 characters from three of upper-case letters, lower-case letters, digits and symbols. Changes in place; Azure never returns it.")
            .secret()
            .rule(rules::administrator_password),
        Property::input("publicNetworkAccess", Type::String, "Whether the server accepts connections on its public endpoint: `Enabled` or `Disabled`. With it enabled, FirewallRule resources say from which addresses.")
            .one_of(SWITCH),
        TAGS,
        Property::output("fullyQualifiedDomainName", Type::String, "The host name clients connect to, `<serverName>.postgres.database.azure.com`."),
        Property::output("state", Type::String, "The server's state as Azure reports it, such as `Ready`, `Updating` or `Stopped`.")
            .volatile(),
    ],
    replacement: Replacement::DeleteFirstWhenSameId(&["resourceGroupName", "serverName"]),
    autoname: Some(AutoName { property: "serverName", max_len: 63, lowercase: true }),
};

/// Where each property lives in the server body (Servers.json).
pub static ARM: &[ArmField] = &[
    ArmField::new("location", "location"),
    ArmField::new("tags", "tags"),
    ArmField::new("skuName", "sku.name"),
    ArmField::new("skuTier", "sku.tier"),
    ArmField::new("version", "properties.version"),
    ArmField::new("storageSizeGb", "properties.storage.storageSizeGB"),
    ArmField::new(
        "activeDirectoryAuth",
        "properties.authConfig.activeDirectoryAuth",
    ),
    ArmField::new("passwordAuth", "properties.authConfig.passwordAuth"),
    ArmField::new("tenantId", "properties.authConfig.tenantId"),
    ArmField::new("administratorLogin", "properties.administratorLogin"),
    ArmField::new(
        "administratorLoginPassword",
        "properties.administratorLoginPassword",
    )
    .write_only(),
    ArmField::new(
        "publicNetworkAccess",
        "properties.network.publicNetworkAccess",
    ),
    ArmField::new(
        "fullyQualifiedDomainName",
        "properties.fullyQualifiedDomainName",
    )
    .read_only(),
    ArmField::new("state", "properties.state").read_only(),
];

pub static BINDING: ArmBinding<FlexibleServerId> = ArmBinding {
    spec: &SPEC,
    fields: ARM,
    id_of: |subscription, inputs| {
        Some(FlexibleServerId::new(
            subscription,
            inputs.str("resourceGroupName")?,
            inputs.str("serverName")?,
        ))
    },
    inputs_of_id: |id| {
        named(&[
            ("resourceGroupName", &id.resource_group),
            ("serverName", &id.name),
        ])
    },
    update: UpdateVerb::Patch,
    // Azure refuses overlapping writes to a server, and most writes while it is not Ready.
    scope: |id| WriteScope::Server(id.clone()),
};

pub struct FlexibleServer;

#[async_trait::async_trait]
impl Resource for FlexibleServer {
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

    /// A major version upgrade is a PATCH with createMode `Update`; everything else in place is a
    /// plain PATCH of what changed.
    async fn update(
        &self,
        ctx: &Context,
        id: &str,
        olds: &Props,
        news: &Props,
    ) -> Result<Props, Error> {
        let id = BINDING.parse_id(id)?;
        if turns_password_auth_off(olds, news) {
            refuse_a_lock_out(ctx, &id).await?;
        }
        let upgrade = news.get("version").is_some() && news.get("version") != olds.get("version");
        BINDING
            .update_with(ctx, &id, olds, news, |body| {
                if upgrade {
                    body["properties"]["createMode"] = Value::String("Update".into());
                }
            })
            .await
    }

    async fn delete(&self, ctx: &Context, id: &str, _olds: &Props) -> Result<(), Error> {
        BINDING.delete(ctx, id).await
    }

    fn fill_computed(&self, inputs: &mut Props) {
        derive_sku_tier(inputs);
    }

    fn validate(&self, news: &Props, olds: &Props, failures: &mut Vec<CheckFailure>) {
        check_authentication(news, olds, failures);
        check_growth(news, olds, failures);
    }
}

/// Fills skuTier from skuName's family when the program leaves it out.
fn derive_sku_tier(news: &mut Props) {
    if news.get("skuTier").is_some() || news.is_unknown("skuName") {
        return;
    }
    let Some(size) = news
        .str("skuName")
        .and_then(|sku| sku.strip_prefix("Standard_"))
    else {
        return;
    };
    let tier = match size.chars().next().map(|c| c.to_ascii_uppercase()) {
        Some('B') => "Burstable",
        Some('E') => "MemoryOptimized",
        _ => "GeneralPurpose",
    };
    news.set("skuTier", Value::String(tier.to_owned()));
}

/// The two sign-in switches against the password administrator.
fn check_authentication(news: &Props, olds: &Props, failures: &mut Vec<CheckFailure>) {
    if news.is_unknown("passwordAuth") {
        return;
    }
    let password_auth = news.str("passwordAuth").unwrap_or(DISABLED);
    if password_auth == DISABLED {
        if news.get("administratorLoginPassword").is_some() {
            failures.push(CheckFailure::new(
                "administratorLoginPassword",
                "no password exists with passwordAuth Disabled: remove administratorLoginPassword, or set passwordAuth to Enabled",
            ));
        }
        // A login the server already has may stay: removing it would replace the server.
        let kept = news.get("administratorLogin") == olds.get("administratorLogin");
        if news.get("administratorLogin").is_some()
            && !news.is_unknown("administratorLogin")
            && !kept
        {
            failures.push(CheckFailure::new(
                "administratorLogin",
                "no password administrator exists with passwordAuth Disabled: remove administratorLogin, or set passwordAuth to Enabled",
            ));
        }
        if news.str("activeDirectoryAuth") == Some(DISABLED) {
            failures.push(CheckFailure::new(
                "activeDirectoryAuth",
                "with passwordAuth also Disabled nobody could sign in: keep activeDirectoryAuth Enabled, or set passwordAuth to Enabled",
            ));
        }
    } else if olds.is_empty() {
        for missing in ["administratorLogin", "administratorLoginPassword"]
            .into_iter()
            .filter(|p| news.get(p).is_none())
        {
            failures.push(CheckFailure::new(
                missing,
                format!("a new server with passwordAuth Enabled needs administratorLogin and administratorLoginPassword; set {missing}, or set passwordAuth to Disabled"),
            ));
        }
    }
}

/// Whether the update takes password sign-in away from a server that had it, leaving only Entra.
fn turns_password_auth_off(olds: &Props, news: &Props) -> bool {
    olds.str("passwordAuth") == Some(ENABLED)
        && news.str("passwordAuth").unwrap_or(DISABLED) == DISABLED
}

/// The lock-out guard: with password sign-in off, only an Entra administrator can sign in, and
/// only one can create the other Entra roles. Whether the server has one lives in Azure (an
/// AdAdmin is its own resource, perhaps another stack's), so it is asked before the PATCH,
/// and the update refused with the two ways of adding one.
async fn refuse_a_lock_out(ctx: &Context, id: &FlexibleServerId) -> Result<(), Error> {
    let admins = ctx
        .arm()?
        .list(&format!("{id}/administrators"), POSTGRESQL_API_VERSION)
        .await?
        .unwrap_or_default();
    if !admins.is_empty() {
        return Ok(());
    }
    Err(Error::InvalidInput(format!(
        "passwordAuth Disabled would lock everyone out of {name}: it has no Microsoft Entra \
         administrator, so nobody could sign in. Add one first, then turn password sign-in off: \
         `az postgres flexible-server microsoft-entra-admin create --resource-group {group} \
         --server-name {name} --object-id <objectId> --display-name <name> --type <User|Group|ServicePrincipal>`, \
         or a pgentra:index:AdAdmin resource for this server (resourceGroupName {group:?}, \
         serverName {name:?}) that this server's update depends on",
        name = id.name,
        group = id.resource_group,
    )))
}

/// What Azure cannot undo: shrinking storage and downgrading PostgreSQL.
fn check_growth(news: &Props, olds: &Props, failures: &mut Vec<CheckFailure>) {
    let size = |props: &Props| props.get("storageSizeGb").and_then(Value::as_f64);
    if let (Some(old), Some(new)) = (size(olds), size(news)) {
        if new < old {
            failures.push(CheckFailure::new(
                "storageSizeGb",
                format!("Azure only grows storage: from {old} to {new} GB would lose data; keep {old} or more"),
            ));
        }
    }
    let version = |props: &Props| props.str("version").and_then(|v| v.parse::<u32>().ok());
    if let (Some(old), Some(new)) = (version(olds), version(news)) {
        if new < old {
            failures.push(CheckFailure::new(
                "version",
                format!("PostgreSQL {old} cannot be downgraded to {new}; keep {old} or upgrade (major upgrades happen in place)"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::props::unknown;
    use crate::resources::testing::{accepted, check, diff, refusal, refused, with};
    use serde_json::json;

    fn seed() -> Value {
        json!({
            "resourceGroupName": "rg-myapp-prod",
            "serverName": "pg-myapp-prod",
            "location": "eastus",
            "version": "16",
            "skuName": "Standard_D2s_v3",
            "storageSizeGb": 64,
        })
    }

    #[test]
    fn the_seed_server_passes_passwordless_with_its_tier_derived() {
        let checked = accepted(&FlexibleServer, &seed());
        assert_eq!(checked.str("activeDirectoryAuth"), Some("Enabled"));
        assert_eq!(checked.str("passwordAuth"), Some("Disabled"));
        assert_eq!(checked.str("skuTier"), Some("GeneralPurpose"));
    }

    #[test]
    fn sku_tier_follows_the_sku_family_unless_given() {
        let tier = |sku: &str| {
            accepted(&FlexibleServer, &with(&seed(), json!({"skuName": sku})))
                .str("skuTier")
                .map(str::to_owned)
        };
        assert_eq!(tier("Standard_B1ms").as_deref(), Some("Burstable"));
        assert_eq!(tier("Standard_E4ds_v5").as_deref(), Some("MemoryOptimized"));
        let given = accepted(
            &FlexibleServer,
            &with(&seed(), json!({"skuTier": "MemoryOptimized"})),
        );
        assert_eq!(given.str("skuTier"), Some("MemoryOptimized"));
        let pending = check(
            &FlexibleServer,
            &with(&seed(), json!({"skuName": unknown()})),
            &json!({}),
        )
        .0;
        assert_eq!(pending.get("skuTier"), None);
    }

    #[test]
    fn names_sizes_and_versions_outside_azure_rules_are_refused_on_their_property() {
        let cases = [
            ("serverName", json!("PG_MyApp")),
            ("skuName", json!("D2s_v3")),
            ("storageSizeGb", json!(100)),
            ("version", json!("10")),
            ("location", json!("East-US!")),
            ("tenantId", json!("my-tenant")),
        ];
        for (property, value) in cases {
            let reason = refused(
                &FlexibleServer,
                &with(&seed(), json!({ property: value })),
                property,
            );
            assert!(!reason.is_empty());
        }
        assert!(refused(
            &FlexibleServer,
            &with(&seed(), json!({"storageSizeGb": 100})),
            "storageSizeGb"
        )
        .contains("32767"));
    }

    #[test]
    fn a_password_with_password_auth_disabled_is_refused() {
        let reason = refused(
            &FlexibleServer,
            &with(
                &seed(),
                json!({"administratorLoginPassword": "Sup3r-Secret!"}),
            ),
            "administratorLoginPassword",
        );
        assert!(
            reason.contains("passwordAuth") && !reason.contains("Sup3r"),
            "{reason}"
        );
        refused(
            &FlexibleServer,
            &with(&seed(), json!({"administratorLogin": "pgadmin"})),
            "administratorLogin",
        );
    }

    #[test]
    fn a_new_server_with_password_auth_needs_login_and_password() {
        let news = with(&seed(), json!({"passwordAuth": "Enabled"}));
        let (_, failures) = check(&FlexibleServer, &news, &json!({}));
        refusal(&failures, "administratorLogin");
        refusal(&failures, "administratorLoginPassword");
        accepted(
            &FlexibleServer,
            &with(
                &news,
                json!({"administratorLogin": "pgadmin", "administratorLoginPassword": "Sup3r-Secret!"}),
            ),
        );
    }

    #[test]
    fn weak_passwords_and_reserved_logins_are_refused() {
        let base = with(
            &seed(),
            json!({"passwordAuth": "Enabled", "administratorLogin": "pgadmin", "administratorLoginPassword": "Sup3r-Secret!"}),
        );
        refused(
            &FlexibleServer,
            &with(&base, json!({"administratorLoginPassword": "password"})),
            "administratorLoginPassword",
        );
        refused(
            &FlexibleServer,
            &with(&base, json!({"administratorLogin": "azure_superuser"})),
            "administratorLogin",
        );
    }

    #[test]
    fn turning_password_auth_off_keeps_the_existing_login() {
        let olds = accepted(
            &FlexibleServer,
            &with(
                &seed(),
                json!({"passwordAuth": "Enabled", "administratorLogin": "pgadmin", "administratorLoginPassword": "Sup3r-Secret!"}),
            ),
        );
        let news = with(&seed(), json!({"administratorLogin": "pgadmin"}));
        let (_, failures) = check(&FlexibleServer, &news, &Value::Object(olds.values));
        assert!(failures.is_empty(), "{failures:?}");
    }

    #[test]
    fn both_sign_ins_disabled_is_refused_on_active_directory_auth() {
        refused(
            &FlexibleServer,
            &with(&seed(), json!({"activeDirectoryAuth": "Disabled"})),
            "activeDirectoryAuth",
        );
    }

    #[test]
    fn unknown_password_auth_skips_the_password_rules() {
        let news = with(
            &seed(),
            json!({"passwordAuth": unknown(), "administratorLoginPassword": "Sup3r-Secret!"}),
        );
        assert!(check(&FlexibleServer, &news, &json!({})).1.is_empty());
    }

    #[test]
    fn shrinking_storage_is_refused_and_growing_passes() {
        let olds = Value::Object(accepted(&FlexibleServer, &seed()).values);
        let (_, failures) = check(
            &FlexibleServer,
            &with(&seed(), json!({"storageSizeGb": 32})),
            &olds,
        );
        let reason = refusal(&failures, "storageSizeGb");
        assert!(
            reason.contains("from 64 to 32 GB") && reason.contains("keep 64 or more"),
            "{reason}"
        );
        assert!(check(
            &FlexibleServer,
            &with(&seed(), json!({"storageSizeGb": 128})),
            &olds
        )
        .1
        .is_empty());
    }

    #[test]
    fn downgrading_the_version_is_refused_and_upgrading_is_in_place() {
        let olds = Value::Object(accepted(&FlexibleServer, &seed()).values);
        let (_, failures) = check(
            &FlexibleServer,
            &with(&seed(), json!({"version": "15"})),
            &olds,
        );
        assert!(refusal(&failures, "version").contains("cannot be downgraded"));
        let upgrade = diff(
            &FlexibleServer,
            &seed(),
            &with(&seed(), json!({"version": "17"})),
        );
        assert_eq!(upgrade.changed_properties(), ["version"]);
        assert!(!upgrade.replaces());
    }

    #[test]
    fn a_location_change_with_a_fixed_server_name_deletes_first() {
        let outcome = diff(
            &FlexibleServer,
            &seed(),
            &with(&seed(), json!({"location": "westeurope"})),
        );
        assert_eq!(outcome.replaced_properties(), ["location"]);
        assert!(outcome.delete_before_replace);
    }

    #[test]
    fn a_location_change_with_a_provider_chosen_name_creates_first() {
        let autonamed = |location: &str| {
            let mut props = accepted(
                &FlexibleServer,
                &with(
                    &seed(),
                    json!({"serverName": "myserver-1a2b3c4", "location": location}),
                ),
            );
            props.mark_provider_chosen("serverName");
            props
        };
        let outcome =
            crate::spec::diff_inputs(&SPEC, &autonamed("eastus"), &autonamed("westeurope"));
        assert!(outcome.replaces() && !outcome.delete_before_replace);
    }

    #[test]
    fn scaling_and_growing_are_in_place() {
        let outcome = diff(
            &FlexibleServer,
            &seed(),
            &with(
                &seed(),
                json!({"skuName": "Standard_D4s_v3", "storageSizeGb": 128}),
            ),
        );
        assert_eq!(outcome.changed_properties(), ["skuName", "storageSizeGb"]);
        assert!(!outcome.replaces());
    }

    #[test]
    fn the_passwordless_seed_server_becomes_an_arm_body_with_both_auth_switches() {
        use crate::resources::arm_fields::to_arm;
        let inputs = accepted(&FlexibleServer, &seed());
        let body = to_arm(ARM, &inputs);
        assert_eq!(body["location"], json!("eastus"));
        assert_eq!(
            body["sku"],
            json!({"name": "Standard_D2s_v3", "tier": "GeneralPurpose"})
        );
        assert_eq!(body["properties"]["version"], json!("16"));
        assert_eq!(body["properties"]["storage"], json!({"storageSizeGB": 64}));
        assert_eq!(
            body["properties"]["authConfig"],
            json!({"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"})
        );
        assert!(body["properties"]
            .get("administratorLoginPassword")
            .is_none());
        assert!(
            body["properties"].get("fullyQualifiedDomainName").is_none(),
            "read-only fields are never sent"
        );
    }

    #[test]
    fn the_official_get_example_reads_back_into_properties_and_keeps_the_password() {
        use crate::resources::arm_fields::from_arm;
        use crate::resources::testing::reference_json;
        let example = reference_json(&format!(
            "azure/postgresql/{}/examples/ServersGet.json",
            crate::azure::ids::POSTGRESQL_API_VERSION
        ));
        let body = &example["responses"]["200"]["body"];
        let mut state = Props::from_json(json!({"administratorLoginPassword": "Old-Passw0rd!"}));
        state.mark_secret("administratorLoginPassword");
        let props = from_arm(ARM, body, &state);
        assert_eq!(props.get("storageSizeGb"), Some(&json!(128)));
        assert_eq!(props.get("version"), Some(&json!("17")));
        assert_eq!(props.get("skuTier"), Some(&json!("GeneralPurpose")));
        assert_eq!(props.get("passwordAuth"), Some(&json!("Enabled")));
        assert_eq!(
            props.get("fullyQualifiedDomainName"),
            Some(&json!("exampleserver.postgres.database.azure.com"))
        );
        assert_eq!(
            props.get("administratorLoginPassword"),
            Some(&json!("Old-Passw0rd!"))
        );
        assert!(props.is_secret("administratorLoginPassword"));
    }
}
