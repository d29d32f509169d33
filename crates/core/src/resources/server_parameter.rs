//! `pgentra:index:ServerParameter`: one server parameter of a Flexible Server
//! (Microsoft.DBforPostgreSQL/flexibleServers/configurations, api-version 2025-08-01).
//!
//! Parameters always exist; "creating" one sets it (`source: user-override`) and deleting one
//! sets it back to its default. Static parameters take effect only after a restart.

use crate::azure::ids::ServerParameterId;
use crate::props::Props;
use crate::resource::Resource;
use crate::resource::{Context, Created, Error};
use crate::resources::arm_fields::ArmField;
use crate::resources::arm_resource::{self, server_child_binding, ArmBinding};
use crate::resources::common::{RESOURCE_GROUP_NAME, SERVER_NAME};
use crate::rules;
use crate::spec::{Property, Replacement, ResourceSpec, Type};
use serde_json::Value;

pub static SPEC: ResourceSpec = ResourceSpec {
    token: "pgentra:index:ServerParameter",
    doc: "A server parameter of a Flexible Server, such as `azure.extensions` (the extensions \
          allowed in CREATE EXTENSION) or `shared_preload_libraries`. Deleting the resource resets \
          the parameter to the server's default. Static parameters such as \
          `shared_preload_libraries` take effect only after the server restarts; \
          `isConfigPendingRestart` says when one is waiting.",
    properties: &[
        RESOURCE_GROUP_NAME,
        SERVER_NAME,
        Property::input("name", Type::String, "The parameter's name, such as `azure.extensions`: 1-256 letters, digits, hyphens, underscores and dots.")
            .required()
            .replace()
            .rule(rules::parameter_name),
        Property::input("value", Type::String, "The parameter's value as text, such as `pgcrypto,uuid-ossp` for a list or `on` for a switch.")
            .required(),
        Property::output("isConfigPendingRestart", Type::Boolean, "Whether the value waits for a server restart to take effect.")
            .volatile(),
        Property::output("isDynamicConfig", Type::Boolean, "Whether the parameter takes effect without a restart."),
        Property::output("defaultValue", Type::String, "The server's default, which deleting the resource restores."),
        Property::output("source", Type::String, "Where the current value comes from, such as `user-override` or `system-default`.")
            .volatile(),
    ],
    replacement: Replacement::DeleteFirstWhenSameId(&["resourceGroupName", "serverName", "name"]),
    autoname: None,
};

/// Where each property lives in the configuration body (Configurations.json, 2025-08-01); writes also send `source: user-override`.
pub static ARM: &[ArmField] = &[
    ArmField::new("value", "properties.value"),
    ArmField::new(
        "isConfigPendingRestart",
        "properties.isConfigPendingRestart",
    )
    .read_only(),
    ArmField::new("isDynamicConfig", "properties.isDynamicConfig").read_only(),
    ArmField::new("defaultValue", "properties.defaultValue").read_only(),
    ArmField::new("source", "properties.source").read_only(),
];

pub static BINDING: ArmBinding = server_child_binding!(ServerParameterId, name, "name", ARM);

/// Values set through pgentra are user overrides, as `az postgres flexible-server parameter set` sends them.
fn user_override(body: &mut Value) {
    body["properties"]["source"] = Value::String("user-override".into());
}

pub struct ServerParameter;

#[async_trait::async_trait]
impl Resource for ServerParameter {
    fn spec(&self) -> &'static ResourceSpec {
        &SPEC
    }

    fn arm(&self) -> Option<&'static ArmBinding> {
        Some(&BINDING)
    }

    /// A parameter always exists on its server: creating one sets its value.
    async fn create(&self, ctx: &Context, inputs: &Props) -> Result<Created, Error> {
        let id = arm_resource::id_for(ctx, &SPEC, &BINDING, inputs)?;
        let outputs =
            arm_resource::update(ctx, &BINDING, &id, &Props::default(), inputs, user_override)
                .await?;
        Ok(Created { id, outputs })
    }

    async fn update(
        &self,
        ctx: &Context,
        id: &str,
        olds: &Props,
        news: &Props,
    ) -> Result<Props, Error> {
        arm_resource::update(ctx, &BINDING, id, olds, news, user_override).await
    }

    /// A parameter cannot be removed: deleting one puts back the server's default value.
    async fn delete(&self, ctx: &Context, id: &str, olds: &Props) -> Result<(), Error> {
        let default = match olds.str("defaultValue") {
            Some(value) => Value::String(value.to_owned()),
            None => match ctx.arm()?.get(id, BINDING.api_version).await? {
                Some(current) => current["properties"]["defaultValue"].clone(),
                None => return Ok(()),
            },
        };
        let reset = Props::from_json(serde_json::json!({"value": default}));
        arm_resource::update(ctx, &BINDING, id, olds, &reset, |body| {
            body["properties"]["source"] = Value::String("system-default".into());
        })
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{accepted, diff, refused, with};
    use serde_json::{json, Value};

    fn seed() -> Value {
        json!({"resourceGroupName": "rg-myapp-prod", "serverName": "pg-myapp-prod", "name": "shared_preload_libraries", "value": "pg_aad_auth"})
    }

    #[test]
    fn the_seed_parameter_passes_and_dotted_names_too() {
        accepted(&ServerParameter, &seed());
        accepted(
            &ServerParameter,
            &with(
                &seed(),
                json!({"name": "azure.extensions", "value": "pgcrypto,uuid-ossp"}),
            ),
        );
    }

    #[test]
    fn names_outside_the_spec_and_a_missing_value_are_refused() {
        refused(
            &ServerParameter,
            &with(&seed(), json!({"name": "shared preload"})),
            "name",
        );
        refused(
            &ServerParameter,
            &with(&seed(), json!({"name": ""})),
            "name",
        );
        refused(
            &ServerParameter,
            &with(&seed(), json!({"value": null})),
            "value",
        );
    }

    #[test]
    fn a_new_value_is_set_in_place() {
        let outcome = diff(
            &ServerParameter,
            &seed(),
            &with(&seed(), json!({"value": "pg_aad_auth,pg_stat_statements"})),
        );
        assert_eq!(outcome.changed_properties(), ["value"]);
        assert!(!outcome.replaces());
    }
}
