//! `pgentra:index:Principal`: a PostgreSQL role for a Microsoft Entra user, group or service
//! principal (managed identity), created inside the server with `pgaadauth_create_principal`
//! (or `pgaadauth_create_principal_with_oid` when the object ID is given) by an Entra admin,
//! in the `postgres` database, and dropped with `DROP ROLE`.
//!
//! The server binds the role to the principal's object ID, so nothing about it changes in
//! place: a change drops the role and creates a new one.

use crate::props::Props;
use crate::resource::Resource;
use crate::resources::common::object_id;
use crate::resources::connection::CONNECTION_PROPERTY;
use crate::rules;
use crate::spec::{CheckFailure, Default, Property, Replacement, ResourceSpec, Type};

pub static SPEC: ResourceSpec = ResourceSpec {
    token: "pgentra:index:Principal",
    doc: "A PostgreSQL role for a Microsoft Entra user, group or service principal (such as a \
          managed identity), which then signs in with its Entra token and no password. Members of \
          a group sign in with their own token and the group's name as user name.",
    properties: &[
        CONNECTION_PROPERTY,
        Property::input("name", Type::String, "The role name, exactly the principal's Entra name: a user's UPN (such as `developer@yourcompany.com`), a group's display name, or a managed identity's name. 1-63 bytes, not starting with `pg_`.")
            .required()
            .replace()
            .rule(rules::role_name),
        object_id("The principal's object ID in Microsoft Entra ID (for an application, its service principal's). When given, the role is bound by object ID, which works for names that are not unique in the tenant; principalType is then required.")
            .replace(),
        Property::input("principalType", Type::String, "What the principal is, required with objectId: `user`, `group` or `service` (a service principal or managed identity).")
            .replace()
            .one_of(&["user", "group", "service"]),
        Property::input("isAdmin", Type::Boolean, "Whether the role joins `azure_pg_admin` and may create roles and databases.")
            .default(Default::Bool(false))
            .replace(),
        Property::input("isMfa", Type::Boolean, "Whether the server requires the sign-in token to carry a multi-factor authentication claim.")
            .default(Default::Bool(false))
            .replace(),
    ],
    // Replacing a role that keeps its name on the same server must drop the old one first.
    replacement: Replacement::DeleteFirstWhenSameId(&["connection.host", "connection.port", "name"]),
    autoname: None,
};

pub struct Principal;

impl Resource for Principal {
    fn spec(&self) -> &'static ResourceSpec {
        &SPEC
    }

    fn check(&self, news: &mut Props, _olds: &Props, failures: &mut Vec<CheckFailure>) {
        if news.get("objectId").is_some() && news.get("principalType").is_none() {
            failures.push(CheckFailure::new(
                "principalType",
                "a principal created by objectId needs its principalType: user, group or service",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{accepted, diff, refused, with};
    use serde_json::{json, Value};

    fn principal(name: &str) -> Value {
        json!({
            "connection": {"host": "pg-myapp-prod.postgres.database.azure.com", "username": "PG Admins Group"},
            "name": name,
        })
    }

    #[test]
    fn the_seed_principals_pass() {
        for name in [
            "app-myapp-prod",
            "myapp-db-readwrite",
            "developer@yourcompany.com",
            "id-myapp-prod",
        ] {
            let checked = accepted(&Principal, &principal(name));
            assert_eq!(checked.get("isAdmin"), Some(&json!(false)));
        }
    }

    #[test]
    fn reserved_and_overlong_role_names_are_refused() {
        for name in ["pg_app", "PUBLIC", "session_user", &"x".repeat(64)] {
            refused(&Principal, &principal(name), "name");
        }
    }

    #[test]
    fn an_object_id_needs_a_principal_type() {
        let by_oid = with(
            &principal("id-myapp-prod"),
            json!({"objectId": "0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a69"}),
        );
        assert!(refused(&Principal, &by_oid, "principalType").contains("service"));
        accepted(
            &Principal,
            &with(&by_oid, json!({"principalType": "service"})),
        );
        refused(
            &Principal,
            &with(&by_oid, json!({"objectId": "id-myapp-prod"})),
            "objectId",
        );
    }

    #[test]
    fn making_a_role_admin_drops_and_recreates_it() {
        let outcome = diff(
            &Principal,
            &principal("developer@yourcompany.com"),
            &with(
                &principal("developer@yourcompany.com"),
                json!({"isAdmin": true}),
            ),
        );
        assert_eq!(outcome.replaced_properties(), ["isAdmin"]);
        assert!(outcome.delete_before_replace);
    }

    #[test]
    fn signing_in_as_another_admin_is_in_place_and_another_host_replaces() {
        let olds = principal("app-myapp-prod");
        let admin = with(
            &olds,
            json!({"connection": {"host": "pg-myapp-prod.postgres.database.azure.com", "username": "admin@yourcompany.com"}}),
        );
        let outcome = diff(&Principal, &olds, &admin);
        assert_eq!(outcome.changes.len(), 1);
        assert_eq!(outcome.changes[0].path, "connection.username");
        assert!(!outcome.replaces());
        let moved = with(
            &olds,
            json!({"connection": {"host": "pg-myapp-dr.postgres.database.azure.com", "username": "PG Admins Group"}}),
        );
        let outcome = diff(&Principal, &olds, &moved);
        assert_eq!(outcome.replaced_properties(), ["connection"]);
        assert!(!outcome.delete_before_replace);
    }

    #[test]
    fn another_admin_and_a_replacing_change_together_still_drop_the_old_role_first() {
        let olds = principal("app-myapp-prod");
        let news = with(
            &olds,
            json!({"isMfa": true, "connection": {"host": "pg-myapp-prod.postgres.database.azure.com", "username": "admin@yourcompany.com"}}),
        );
        let outcome = diff(&Principal, &olds, &news);
        assert_eq!(outcome.replaced_properties(), ["isMfa"]);
        assert!(
            outcome.delete_before_replace,
            "the same role on the same server cannot exist twice"
        );
    }
}
