//! `pgentra:index:Database`: a database on a Flexible Server
//! (Microsoft.DBforPostgreSQL/flexibleServers/databases, api-version 2025-08-01).
//!
//! Azure has no update for a database: every property is fixed at creation.

use crate::azure::ids::DatabaseId;
use crate::resource::Resource;
use crate::resources::arm_fields::ArmField;
use crate::resources::arm_resource::{server_child_binding, ArmBinding};
use crate::resources::common::{RESOURCE_GROUP_NAME, SERVER_NAME};
use crate::rules;
use crate::spec::{Property, Replacement, ResourceSpec, Type};

pub static SPEC: ResourceSpec = ResourceSpec {
    token: "pgentra:index:Database",
    doc: "A database on a Flexible Server, for applications to use and Grants to give access to. \
          Deleting it drops the database and all its data.",
    properties: &[
        RESOURCE_GROUP_NAME,
        SERVER_NAME,
        Property::input("name", Type::String, "The database's name, case-sensitive: 1-63 letters, digits, underscores and hyphens, starting with a letter or underscore.")
            .required()
            .replace()
            .rule(rules::database_name),
        Property::input("charset", Type::String, "The character set, such as `UTF8`. Azure's default when absent.")
            .replace()
            .rule(rules::charset),
        Property::input("collation", Type::String, "The collation, such as `en_US.utf8`. Azure's default when absent.")
            .replace()
            .rule(rules::collation),
    ],
    replacement: Replacement::DeleteFirstWhenSameId(&["resourceGroupName", "serverName", "name"]),
    autoname: None,
};

/// Where each property lives in the database body (Databases.json, 2025-08-01).
pub static ARM: &[ArmField] = &[
    ArmField::new("charset", "properties.charset"),
    ArmField::new("collation", "properties.collation"),
];

pub static BINDING: ArmBinding = server_child_binding!(DatabaseId, name, "name", ARM);

pub struct Database;

impl Resource for Database {
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
        json!({"resourceGroupName": "rg-myapp-prod", "serverName": "pg-myapp-prod", "name": "myappdb", "charset": "UTF8", "collation": "en_US.utf8"})
    }

    #[test]
    fn the_seed_database_passes() {
        accepted(&Database, &seed());
    }

    #[test]
    fn names_charsets_and_collations_outside_the_spec_are_refused() {
        refused(&Database, &with(&seed(), json!({"name": "1db"})), "name");
        refused(
            &Database,
            &with(&seed(), json!({"name": "x".repeat(64)})),
            "name",
        );
        refused(&Database, &with(&seed(), json!({"name": "my.db"})), "name");
        refused(
            &Database,
            &with(&seed(), json!({"charset": "UTF-8"})),
            "charset",
        );
        refused(
            &Database,
            &with(&seed(), json!({"collation": "en_US/utf8"})),
            "collation",
        );
        accepted(&Database, &with(&seed(), json!({"name": "_my-db_2"})));
    }

    #[test]
    fn another_collation_recreates_the_database_deleting_first() {
        let outcome = diff(
            &Database,
            &seed(),
            &with(&seed(), json!({"collation": "C"})),
        );
        assert_eq!(outcome.replaced_properties(), ["collation"]);
        assert!(outcome.delete_before_replace);
    }
}
