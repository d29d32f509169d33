//! `pgentra:index:Grant`: privileges on database objects, or membership in roles, given to a
//! role with GRANT (or, with defaultPrivileges, ALTER DEFAULT PRIVILEGES for objects created
//! later) and taken back with REVOKE.
//!
//! A Grant owns exactly the privileges it lists: an update revokes the ones removed and grants
//! the ones added. A replacement always revokes first, since the old REVOKE would otherwise undo
//! the new GRANT.

use crate::props::Props;
use crate::resource::Resource;
use crate::resources::connection::CONNECTION_PROPERTY;
use crate::rules;
use crate::spec::{CheckFailure, Default, Property, Replacement, ResourceSpec, Type};
use crate::sql::quote::{ident, qualified, QuoteError};
use serde_json::Value;

pub static SPEC: ResourceSpec = ResourceSpec {
    token: "pgentra:index:Grant",
    doc: "Privileges for a role, such as `CONNECT` on a database, `USAGE` on a schema or `SELECT` \
          on every table in a schema, or membership in other roles (objectType `role`). The Grant \
          owns exactly the privileges it lists: removing one revokes it.",
    properties: &[
        CONNECTION_PROPERTY,
        Property::input("role", Type::String, "The role that receives the privileges, such as a Principal's name.")
            .required()
            .replace()
            .rule(rules::role_name),
        Property::input("database", Type::String, "The database the privileges are in (for objectType `database`, the database they are on).")
            .required()
            .replace()
            .rule(rules::pg_identifier),
        Property::input("objectType", Type::String, "What the privileges are on: `database`, `schema`, `table`, `sequence`, `function`, or `role` to grant membership in the roles listed in objects.")
            .required()
            .replace()
            .one_of(OBJECT_TYPES),
        Property::input("schema", Type::String, "The schema: the one granted on for objectType `schema`, the one holding the objects for `table`, `sequence` and `function`. Not used for `database` and `role`.")
            .replace()
            .rule(rules::pg_identifier),
        Property::input("objects", Type::Array(&Type::String), "The tables, sequences or functions in schema; empty means all of them that exist now. For objectType `role`, the roles granted.")
            .rule(rules::pg_identifiers),
        Property::input("privileges", Type::Array(&Type::String), "The privileges, in any case and order (they are kept upper-case and sorted): for `database` CREATE, CONNECT, TEMPORARY; for `schema` CREATE, USAGE; for `table` SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, MAINTAIN; for `sequence` USAGE, SELECT, UPDATE; for `function` EXECUTE; or ALL alone. Empty for `role`.")
            .required(),
        Property::input("withGrantOption", Type::Boolean, "Whether the role may grant the privileges on to others (for objectType `role`: WITH ADMIN OPTION).")
            .default(Default::Bool(false)),
        Property::input("defaultPrivileges", Type::Boolean, "Grant on the tables, sequences or functions created in schema from now on (ALTER DEFAULT PRIVILEGES), for objects created by the connection's user; objects must be empty.")
            .default(Default::Bool(false))
            .replace(),
    ],
    replacement: Replacement::AlwaysDeleteFirst,
    autoname: None,
};

const OBJECT_TYPES: &[&str] = &[
    "database", "schema", "table", "sequence", "function", "role",
];

/// The privileges each object type takes, in the order PostgreSQL documents them.
fn privileges_of(object_type: &str) -> &'static [&'static str] {
    match object_type {
        "database" => &["CREATE", "CONNECT", "TEMPORARY", "ALL"],
        "schema" => &["CREATE", "USAGE", "ALL"],
        "table" => &[
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
            "TRUNCATE",
            "REFERENCES",
            "TRIGGER",
            "MAINTAIN",
            "ALL",
        ],
        "sequence" => &["USAGE", "SELECT", "UPDATE", "ALL"],
        "function" => &["EXECUTE", "ALL"],
        _ => &[],
    }
}

pub struct Grant;

impl Resource for Grant {
    fn spec(&self) -> &'static ResourceSpec {
        &SPEC
    }

    fn check(&self, news: &mut Props, _olds: &Props, failures: &mut Vec<CheckFailure>) {
        normalise_privileges(news);
        if news.is_unknown("objectType") {
            return;
        }
        let Some(object_type) = news.str("objectType").map(str::to_owned) else {
            return;
        };
        check_privileges(news, &object_type, failures);
        check_targets(news, &object_type, failures);
    }
}

/// Upper case, `TEMP` as `TEMPORARY`, `ALL PRIVILEGES` as `ALL`, each once, sorted: the same
/// privileges always read the same, so a diff never shows a reordering.
fn normalise_privileges(news: &mut Props) {
    if news.is_unknown("privileges") {
        return;
    }
    let Some(items) = news.get("privileges").and_then(Value::as_array) else {
        return;
    };
    let mut privileges: Vec<String> = items
        .iter()
        .filter_map(Value::as_str)
        .map(|p| {
            match p
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_uppercase()
                .as_str()
            {
                "TEMP" => "TEMPORARY".to_owned(),
                "ALL PRIVILEGES" => "ALL".to_owned(),
                other => other.to_owned(),
            }
        })
        .collect();
    privileges.sort();
    privileges.dedup();
    news.set(
        "privileges",
        privileges.into_iter().map(Value::String).collect(),
    );
}

fn check_privileges(news: &Props, object_type: &str, failures: &mut Vec<CheckFailure>) {
    if news.is_unknown("privileges") {
        return;
    }
    let privileges: Vec<&str> = news
        .get("privileges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let allowed = privileges_of(object_type);
    let mut refuse = |reason: String| failures.push(CheckFailure::new("privileges", reason));
    if object_type == "role" {
        if !privileges.is_empty() {
            refuse("a role grant takes no privileges: list the roles to grant in objects and leave privileges empty".into());
        }
        return;
    }
    let listed = allowed.join(", ");
    if privileges.is_empty() {
        refuse(format!(
            "give at least one privilege; a {object_type} takes {listed}"
        ));
    }
    for bad in privileges.iter().filter(|p| !allowed.contains(*p)) {
        refuse(format!(
            "{bad} is not a privilege on a {object_type}; use {listed}"
        ));
    }
    if privileges.contains(&"ALL") && privileges.len() > 1 {
        refuse(
            "ALL already holds every privilege; give ALL alone or list the privileges without it"
                .into(),
        );
    }
}

/// Which of schema, objects and defaultPrivileges each object type takes.
fn check_targets(news: &Props, object_type: &str, failures: &mut Vec<CheckFailure>) {
    // `None` when not known yet: those rules wait until it is.
    let has_schema = (!news.is_unknown("schema")).then(|| news.get("schema").is_some());
    let objects = match news.get("objects") {
        None => Some(0),
        Some(Value::Array(items)) => Some(items.len()),
        Some(_) => None,
    };
    let mut refuse =
        |property: &str, reason: String| failures.push(CheckFailure::new(property, reason));
    match object_type {
        "table" | "sequence" | "function" | "schema" if has_schema == Some(false) => {
            refuse(
                "schema",
                format!(
                    "a {object_type} grant needs the schema it is in; set schema, such as public"
                ),
            );
        }
        "database" | "role" if has_schema == Some(true) => {
            refuse(
                "schema",
                format!("a {object_type} grant is not in a schema; remove schema"),
            );
        }
        _ => {}
    }
    match (object_type, objects) {
        ("database", Some(n)) if n > 0 => refuse(
            "objects",
            "a database grant is on the database named in database; leave objects empty".into(),
        ),
        ("schema", Some(n)) if n > 0 => refuse(
            "objects",
            "a schema grant is on the schema named in schema; leave objects empty".into(),
        ),
        ("role", Some(0)) => refuse(
            "objects",
            "a role grant needs the roles to grant in objects, such as myapp-db-readwrite".into(),
        ),
        _ => {}
    }
    if news.get("defaultPrivileges") == Some(&Value::Bool(true)) {
        if !matches!(object_type, "table" | "sequence" | "function") {
            refuse("defaultPrivileges", format!("default privileges exist for tables, sequences and functions, not for a {object_type}; set defaultPrivileges to false"));
        } else if objects.is_some_and(|n| n > 0) {
            refuse("defaultPrivileges", "default privileges apply to objects created later, so objects must be empty; use another Grant for the existing objects".into());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The SQL a Grant runs. Every name goes through sql::quote.

/// What a Grant is on, read from its checked inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantTarget {
    pub role: String,
    pub database: String,
    pub object_type: String,
    pub schema: Option<String>,
    pub objects: Vec<String>,
    pub with_grant_option: bool,
    pub default_privileges: bool,
}

impl GrantTarget {
    pub fn from_inputs(inputs: &Props) -> Option<Self> {
        let text = |name: &str| inputs.str(name).map(str::to_owned);
        let list = |name: &str| -> Vec<String> {
            inputs
                .get(name)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        Some(Self {
            role: text("role")?,
            database: text("database")?,
            object_type: text("objectType")?,
            schema: text("schema"),
            objects: list("objects"),
            with_grant_option: inputs.get("withGrantOption") == Some(&Value::Bool(true)),
            default_privileges: inputs.get("defaultPrivileges") == Some(&Value::Bool(true)),
        })
    }

    /// The statement that grants `privileges` (for objectType `role`, the memberships in objects).
    pub fn grant_sql(&self, privileges: &[String]) -> Result<String, QuoteError> {
        let role = ident(&self.role)?;
        if self.object_type == "role" {
            let option = if self.with_grant_option {
                " WITH ADMIN OPTION"
            } else {
                ""
            };
            return Ok(format!("GRANT {} TO {role}{option}", self.roles_granted()?));
        }
        let option = if self.with_grant_option {
            " WITH GRANT OPTION"
        } else {
            ""
        };
        let privileges = privilege_list(privileges);
        if self.default_privileges {
            return Ok(format!(
                "{} GRANT {privileges} ON {} TO {role}{option}",
                self.alter_default()?,
                self.plural()
            ));
        }
        Ok(format!(
            "GRANT {privileges} ON {} TO {role}{option}",
            self.on_clause()?
        ))
    }

    /// The statement that takes `privileges` (or the memberships) back, grant option included.
    pub fn revoke_sql(&self, privileges: &[String]) -> Result<String, QuoteError> {
        let role = ident(&self.role)?;
        if self.object_type == "role" {
            return Ok(format!("REVOKE {} FROM {role}", self.roles_granted()?));
        }
        let privileges = privilege_list(privileges);
        if self.default_privileges {
            return Ok(format!(
                "{} REVOKE {privileges} ON {} FROM {role}",
                self.alter_default()?,
                self.plural()
            ));
        }
        Ok(format!(
            "REVOKE {privileges} ON {} FROM {role}",
            self.on_clause()?
        ))
    }

    fn roles_granted(&self) -> Result<String, QuoteError> {
        Ok(self
            .objects
            .iter()
            .map(|r| ident(r))
            .collect::<Result<Vec<_>, _>>()?
            .join(", "))
    }

    fn schema(&self) -> Result<String, QuoteError> {
        ident(self.schema.as_deref().unwrap_or_default())
    }

    fn alter_default(&self) -> Result<String, QuoteError> {
        Ok(format!(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {}",
            self.schema()?
        ))
    }

    fn plural(&self) -> &'static str {
        match self.object_type.as_str() {
            "sequence" => "SEQUENCES",
            "function" => "FUNCTIONS",
            _ => "TABLES",
        }
    }

    fn on_clause(&self) -> Result<String, QuoteError> {
        match self.object_type.as_str() {
            "database" => Ok(format!("DATABASE {}", ident(&self.database)?)),
            "schema" => Ok(format!("SCHEMA {}", self.schema()?)),
            _ if self.objects.is_empty() => Ok(format!(
                "ALL {} IN SCHEMA {}",
                self.plural(),
                self.schema()?
            )),
            kind => {
                let schema = self.schema.as_deref().unwrap_or_default();
                let names = self
                    .objects
                    .iter()
                    .map(|o| qualified(schema, o))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(format!("{} {}", kind.to_uppercase(), names.join(", ")))
            }
        }
    }
}

fn privilege_list(privileges: &[String]) -> String {
    if privileges.iter().any(|p| p == "ALL") {
        "ALL PRIVILEGES".to_owned()
    } else {
        privileges.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::props::unknown;
    use crate::resources::testing::{accepted, check, diff, refusal, refused, with};
    use serde_json::json;

    /// The seed's `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public`.
    fn tables() -> Value {
        json!({
            "connection": {"host": "pg-myapp-prod.postgres.database.azure.com", "username": "PG Admins Group"},
            "role": "app-myapp-prod",
            "database": "myappdb",
            "objectType": "table",
            "schema": "public",
            "privileges": ["SELECT", "INSERT", "UPDATE", "DELETE"],
        })
    }

    #[test]
    fn the_seed_grants_pass() {
        accepted(&Grant, &tables());
        accepted(&Grant, &with(&tables(), json!({"defaultPrivileges": true})));
        accepted(
            &Grant,
            &with(
                &tables(),
                json!({"objectType": "database", "schema": null, "privileges": ["CONNECT"]}),
            ),
        );
        accepted(
            &Grant,
            &with(
                &tables(),
                json!({"objectType": "schema", "privileges": ["USAGE"]}),
            ),
        );
        let membership = json!({"role": "developer@yourcompany.com", "objectType": "role", "schema": null, "objects": ["myapp-db-readwrite"], "privileges": []});
        accepted(&Grant, &with(&tables(), membership));
    }

    #[test]
    fn privileges_are_upper_cased_deduplicated_and_sorted() {
        let checked = accepted(
            &Grant,
            &with(
                &tables(),
                json!({"privileges": ["select", "insert", "select"]}),
            ),
        );
        assert_eq!(
            checked.get("privileges"),
            Some(&json!(["INSERT", "SELECT"]))
        );
        let database =
            json!({"objectType": "database", "schema": null, "privileges": ["temp", "Connect"]});
        assert_eq!(
            accepted(&Grant, &with(&tables(), database)).get("privileges"),
            Some(&json!(["CONNECT", "TEMPORARY"]))
        );
    }

    #[test]
    fn an_unknown_privilege_names_what_the_object_type_allows() {
        let reason = refused(
            &Grant,
            &with(&tables(), json!({"privileges": ["SELECT", "FLY"]})),
            "privileges",
        );
        assert!(
            reason.contains("FLY")
                && reason.contains(
                    "SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, MAINTAIN"
                ),
            "{reason}"
        );
        let on_schema = json!({"objectType": "schema", "privileges": ["SELECT"]});
        assert!(
            refused(&Grant, &with(&tables(), on_schema), "privileges").contains("CREATE, USAGE")
        );
    }

    #[test]
    fn all_together_with_other_privileges_is_refused() {
        assert!(refused(
            &Grant,
            &with(
                &tables(),
                json!({"privileges": ["all privileges", "select"]})
            ),
            "privileges"
        )
        .contains("ALL alone"));
    }

    #[test]
    fn each_object_type_takes_only_its_targets() {
        refused(&Grant, &with(&tables(), json!({"schema": null})), "schema");
        refused(
            &Grant,
            &with(
                &tables(),
                json!({"objectType": "database", "privileges": ["CONNECT"]}),
            ),
            "schema",
        );
        let database_objects = json!({"objectType": "database", "schema": null, "objects": ["x"], "privileges": ["CONNECT"]});
        refused(&Grant, &with(&tables(), database_objects), "objects");
        refused(
            &Grant,
            &with(
                &tables(),
                json!({"objectType": "schema", "objects": ["x"], "privileges": ["USAGE"]}),
            ),
            "objects",
        );
        let no_roles = json!({"objectType": "role", "schema": null, "privileges": []});
        let (_, failures) = check(&Grant, &with(&tables(), no_roles), &json!({}));
        refusal(&failures, "objects");
        let role_privileges = json!({"objectType": "role", "schema": null, "objects": ["readers"], "privileges": ["SELECT"]});
        refused(&Grant, &with(&tables(), role_privileges), "privileges");
        refused(
            &Grant,
            &with(&tables(), json!({"privileges": []})),
            "privileges",
        );
    }

    #[test]
    fn default_privileges_only_for_future_tables_sequences_and_functions() {
        refused(
            &Grant,
            &with(
                &tables(),
                json!({"defaultPrivileges": true, "objects": ["orders"]}),
            ),
            "defaultPrivileges",
        );
        let on_schema =
            json!({"objectType": "schema", "privileges": ["USAGE"], "defaultPrivileges": true});
        refused(&Grant, &with(&tables(), on_schema), "defaultPrivileges");
    }

    #[test]
    fn identifiers_and_roles_are_checked() {
        refused(&Grant, &with(&tables(), json!({"role": "public"})), "role");
        refused(
            &Grant,
            &with(&tables(), json!({"objects": ["orders", ""]})),
            "objects",
        );
        refused(
            &Grant,
            &with(&tables(), json!({"database": "x".repeat(64)})),
            "database",
        );
        refused(
            &Grant,
            &with(&tables(), json!({"objectType": "view"})),
            "objectType",
        );
    }

    #[test]
    fn unknown_values_wait_for_their_rules() {
        let pending = with(
            &tables(),
            json!({"schema": unknown(), "privileges": ["fly", unknown()]}),
        );
        let (checked, failures) = check(&Grant, &pending, &json!({}));
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(checked.get("privileges"), Some(&json!(["fly", unknown()])));
    }

    #[test]
    fn a_role_change_replaces_revoking_first() {
        let outcome = diff(
            &Grant,
            &tables(),
            &with(&tables(), json!({"role": "myapp-db-readwrite"})),
        );
        assert_eq!(outcome.replaced_properties(), ["role"]);
        assert!(outcome.delete_before_replace);
    }

    #[test]
    fn reordered_privileges_are_no_change_and_new_ones_update_in_place() {
        let reordered = with(
            &tables(),
            json!({"privileges": ["delete", "UPDATE", "insert", "select"]}),
        );
        assert!(diff(&Grant, &tables(), &reordered).changes.is_empty());
        let more = diff(
            &Grant,
            &tables(),
            &with(
                &tables(),
                json!({"privileges": ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"]}),
            ),
        );
        assert_eq!(more.changed_properties(), ["privileges"]);
        assert!(!more.replaces());
    }

    fn sql(grant: Value) -> String {
        let inputs = accepted(&Grant, &grant);
        let target = GrantTarget::from_inputs(&inputs).expect("a checked grant has its target");
        let privileges: Vec<String> = inputs
            .get("privileges")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect();
        target.grant_sql(&privileges).unwrap()
    }

    fn app(changes: Value) -> Value {
        let base = json!({
            "connection": {"host": "pg-myapp-prod.postgres.database.azure.com", "username": "PG Admins Group"},
            "role": "app-myapp-prod", "database": "myappdb",
        });
        with(&base, changes)
    }

    #[test]
    fn the_seed_grants_become_the_seed_statements() {
        assert_eq!(
            sql(app(
                json!({"objectType": "database", "privileges": ["CONNECT"]})
            )),
            r#"GRANT CONNECT ON DATABASE "myappdb" TO "app-myapp-prod""#
        );
        assert_eq!(
            sql(app(
                json!({"objectType": "schema", "schema": "public", "privileges": ["USAGE"]})
            )),
            r#"GRANT USAGE ON SCHEMA "public" TO "app-myapp-prod""#
        );
        let dml = json!(["select", "insert", "update", "delete"]);
        assert_eq!(
            sql(app(
                json!({"objectType": "table", "schema": "public", "privileges": dml})
            )),
            r#"GRANT DELETE, INSERT, SELECT, UPDATE ON ALL TABLES IN SCHEMA "public" TO "app-myapp-prod""#
        );
        assert_eq!(
            sql(app(
                json!({"objectType": "table", "schema": "public", "privileges": dml, "defaultPrivileges": true})
            )),
            r#"ALTER DEFAULT PRIVILEGES IN SCHEMA "public" GRANT DELETE, INSERT, SELECT, UPDATE ON TABLES TO "app-myapp-prod""#
        );
        let membership = with(
            &app(
                json!({"objectType": "role", "objects": ["myapp-db-readwrite"], "privileges": []}),
            ),
            json!({"role": "developer@yourcompany.com"}),
        );
        assert_eq!(
            sql(membership),
            r#"GRANT "myapp-db-readwrite" TO "developer@yourcompany.com""#
        );
    }

    #[test]
    fn named_objects_are_schema_qualified_and_quoted_whatever_their_characters() {
        let grant = app(
            json!({"objectType": "sequence", "schema": "sales", "objects": ["order_id_seq", "odd\"name"], "privileges": ["usage"], "withGrantOption": true}),
        );
        assert_eq!(
            sql(grant),
            r#"GRANT USAGE ON SEQUENCE "sales"."order_id_seq", "sales"."odd""name" TO "app-myapp-prod" WITH GRANT OPTION"#
        );
    }

    #[test]
    fn revoking_takes_back_exactly_the_listed_privileges() {
        let inputs = accepted(
            &Grant,
            &app(json!({"objectType": "function", "schema": "api", "privileges": ["ALL"]})),
        );
        let target = GrantTarget::from_inputs(&inputs).unwrap();
        assert_eq!(
            target.revoke_sql(&["ALL".to_owned()]).unwrap(),
            r#"REVOKE ALL PRIVILEGES ON ALL FUNCTIONS IN SCHEMA "api" FROM "app-myapp-prod""#
        );
        assert_eq!(
            target.revoke_sql(&["EXECUTE".to_owned()]).unwrap(),
            r#"REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA "api" FROM "app-myapp-prod""#
        );
    }
}
