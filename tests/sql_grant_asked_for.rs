//! The Grants platform teams ask for, against the local PostgreSQL through the Resource trait:
//! default privileges for the tables another role creates (FOR ROLE), PUBLIC as the grantee
//! (given, and revoked as the first hardening step), and one function overload by its
//! argument types.

mod sql_support;

use pgentra::azure::ErrorClass;
use pgentra::props::Props;
use pgentra::resource::Resource;
use pgentra::resources::grant::Grant;
use serde_json::{json, Value};
use sql_support::*;
use tokio_postgres::types::ToSql;

fn grant(role: &str, database: &str, fields: Value) -> Props {
    let mut base = json!({
        "connection": connection(DB), "role": role, "database": database,
        "withGrantOption": false, "defaultPrivileges": false,
    });
    for (k, v) in fields.as_object().unwrap() {
        base[k] = v.clone();
    }
    props(base)
}

fn privileges(read: &Props) -> Value {
    read.get("privileges").cloned().unwrap_or(Value::Null)
}

/// The error of a create that must fail.
async fn refusal(inputs: &Props) -> pgentra::resource::Error {
    match Grant.create(&ctx(), inputs).await {
        Ok(created) => panic!("created {}", created.id),
        Err(e) => e,
    }
}

async fn holds(database: &str, query: &str, args: Vec<String>) -> bool {
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
    sql(database).await.query(query, &params).await.unwrap()[0].get(0)
}

fn esc(name: &str) -> String {
    name.replace('"', "\"\"")
}

#[test]
fn default_privileges_for_the_apps_own_role_cover_the_tables_its_migrations_create() {
    run(async {
        let app = unique("app-");
        let migrator = unique("app-migrations \"m\"-");
        let schema = unique("s ");
        exec(
            DB,
            &format!(
                r#"CREATE ROLE "{a}"; CREATE ROLE "{m}";
                   CREATE SCHEMA "{schema}";
                   GRANT USAGE, CREATE ON SCHEMA "{schema}" TO "{m}";
                   GRANT USAGE ON SCHEMA "{schema}" TO "{a}";"#,
                a = esc(&app),
                m = esc(&migrator)
            ),
        )
        .await;
        let inputs = grant(
            &app,
            DB,
            json!({"objectType": "table", "schema": schema, "privileges": ["SELECT", "INSERT"],
                   "defaultPrivileges": true, "defaultPrivilegesOwner": migrator}),
        );
        let created = Grant.create(&ctx(), &inputs).await.unwrap();
        assert!(created.id.contains("defaultsFor="), "{}", created.id);
        // The same default privileges for the same owner would be taken over: refused. For the
        // deployer's own future tables they are another default ACL: accepted.
        let twice = refusal(&inputs).await;
        assert_eq!(twice.class(), ErrorClass::AlreadyExists, "{twice}");
        let mut for_the_deployer = inputs.clone();
        for_the_deployer.values.remove("defaultPrivilegesOwner");
        let deployers = Grant.create(&ctx(), &for_the_deployer).await.unwrap();
        Grant
            .delete(&ctx(), &deployers.id, &for_the_deployer)
            .await
            .unwrap();

        // The migrations run as their own role and create a table: the app may use it.
        exec(
            DB,
            &format!(
                r#"SET ROLE "{m}"; CREATE TABLE "{schema}".orders (id int); RESET ROLE;
                   CREATE TABLE "{schema}".made_by_the_deployer (id int);"#,
                m = esc(&migrator)
            ),
        )
        .await;
        let can = |table: &'static str, privilege: &'static str| {
            let (app, schema) = (app.clone(), schema.clone());
            async move {
                holds(
                    DB,
                    "SELECT has_table_privilege($1, $2, $3)",
                    vec![app, format!("\"{schema}\".{table}"), privilege.to_owned()],
                )
                .await
            }
        };
        assert!(can("orders", "SELECT").await && can("orders", "INSERT").await);
        assert!(
            !can("made_by_the_deployer", "SELECT").await,
            "only the named owner's tables are covered"
        );
        let owner: String = sql(DB)
            .await
            .query(
                "SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = to_regclass($1)",
                &[&format!("\"{schema}\".orders")],
            )
            .await
            .unwrap()[0]
            .get(0);
        assert_eq!(owner, migrator, "the table belongs to the migrations' role");

        let read = Grant
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(privileges(&read.inputs), json!(["INSERT", "SELECT"]));
        assert_eq!(
            read.inputs.get("defaultPrivilegesOwner"),
            Some(&json!(migrator))
        );

        // Drift: the owner's default ACL changed outside is found (read from defaclrole).
        exec(
            DB,
            &format!(
                r#"ALTER DEFAULT PRIVILEGES FOR ROLE "{m}" IN SCHEMA "{schema}" REVOKE INSERT ON TABLES FROM "{a}""#,
                a = esc(&app),
                m = esc(&migrator)
            ),
        )
        .await;
        let drifted = Grant
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(privileges(&drifted.inputs), json!(["SELECT"]));
        // The same Grant for the deployer's own objects holds nothing: another default ACL.
        let own = grant(
            &app,
            DB,
            json!({"objectType": "table", "schema": schema, "privileges": ["SELECT"], "defaultPrivileges": true}),
        );
        let own_id = created.id.split("&defaultsFor=").next().unwrap().to_owned();
        assert!(Grant
            .read(&ctx(), &own_id, &props(json!({})))
            .await
            .unwrap()
            .is_none());
        let _ = own;

        // The next `up` restores it; delete revokes it from the owner's defaults.
        Grant
            .update(&ctx(), &created.id, &drifted.inputs, &inputs)
            .await
            .unwrap();
        let restored = Grant
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(privileges(&restored.inputs), json!(["INSERT", "SELECT"]));
        Grant.delete(&ctx(), &created.id, &inputs).await.unwrap();
        assert!(
            Grant
                .read(&ctx(), &created.id, &props(json!({})))
                .await
                .unwrap()
                .is_none(),
            "the owner's default ACL no longer names the app"
        );
        exec(
            DB,
            &format!(
                r#"SET ROLE "{m}"; CREATE TABLE "{schema}".later (id int); RESET ROLE;"#,
                m = esc(&migrator)
            ),
        )
        .await;
        assert!(
            !can("later", "SELECT").await,
            "revoked from the owner's defaults"
        );

        exec(
            DB,
            &format!(
                r#"DROP SCHEMA "{schema}" CASCADE; DROP OWNED BY "{a}", "{m}"; DROP ROLE "{a}"; DROP ROLE "{m}";"#,
                a = esc(&app),
                m = esc(&migrator)
            ),
        )
        .await;
    });
}

#[test]
fn public_loses_connect_and_create_as_the_first_hardening_step_and_drift_is_found() {
    run(async {
        let database = unique("harden_");
        let schema = unique("s ");
        let anyone = unique("anyone-");
        exec(DB, &format!(r#"CREATE DATABASE "{database}""#)).await;
        exec(
            &database,
            &format!(
                // As schema public was before PostgreSQL 15: everyone may create in it.
                r#"CREATE ROLE "{anyone}"; CREATE SCHEMA "{schema}"; GRANT CREATE ON SCHEMA "{schema}" TO PUBLIC;"#
            ),
        )
        .await;
        let connect = grant(
            "PUBLIC",
            &database,
            json!({"objectType": "database", "privileges": ["CONNECT"], "revoke": true}),
        );
        let create = grant(
            "PUBLIC",
            &database,
            json!({"objectType": "schema", "schema": schema, "privileges": ["CREATE"], "revoke": true}),
        );
        let can_connect = || {
            holds(
                DB,
                "SELECT has_database_privilege($1, $2, 'CONNECT')",
                vec![anyone.clone(), database.clone()],
            )
        };
        let can_create = || {
            holds(
                &database,
                "SELECT has_schema_privilege($1, $2, 'CREATE')",
                vec![anyone.clone(), schema.clone()],
            )
        };
        assert!(
            can_connect().await && can_create().await,
            "PostgreSQL's defaults before"
        );

        let connect_id = Grant.create(&ctx(), &connect).await.unwrap().id;
        let create_id = Grant.create(&ctx(), &create).await.unwrap().id;
        assert!(
            connect_id.contains("grant=PUBLIC") && connect_id.contains("revoke=true"),
            "{connect_id}"
        );
        assert!(
            !can_connect().await && !can_create().await,
            "revoked from PUBLIC"
        );
        for (id, inputs, privilege) in [
            (&connect_id, &connect, "CONNECT"),
            (&create_id, &create, "CREATE"),
        ] {
            let read = Grant.read(&ctx(), id, inputs).await.unwrap().unwrap();
            assert_eq!(
                privileges(&read.inputs),
                json!([privilege]),
                "still revoked"
            );
            assert_eq!(read.inputs.get("role"), Some(&json!("PUBLIC")));
        }

        // Someone gives CONNECT back to PUBLIC: the refresh finds it, the next `up` revokes again.
        exec(
            DB,
            &format!(r#"GRANT CONNECT ON DATABASE "{database}" TO PUBLIC"#),
        )
        .await;
        let drifted = Grant
            .read(&ctx(), &connect_id, &connect)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(privileges(&drifted.inputs), json!([]));
        Grant
            .update(&ctx(), &connect_id, &drifted.inputs, &connect)
            .await
            .unwrap();
        assert!(!can_connect().await);

        // Deleting the hardening leaves PUBLIC without them: it gives nothing back.
        Grant.delete(&ctx(), &connect_id, &connect).await.unwrap();
        Grant.delete(&ctx(), &create_id, &create).await.unwrap();
        assert!(!can_connect().await && !can_create().await);

        // PUBLIC as the grantee of an ordinary Grant: given, read back from grantee 0, revoked.
        exec(
            &database,
            &format!(r#"CREATE TABLE "{schema}".notices (id int)"#),
        )
        .await;
        let notices = grant(
            "PUBLIC",
            &database,
            json!({"objectType": "table", "schema": schema, "objects": ["notices"], "privileges": ["SELECT"]}),
        );
        let can_read = || {
            holds(
                &database,
                "SELECT has_table_privilege($1, $2, 'SELECT')",
                vec![anyone.clone(), format!("\"{schema}\".notices")],
            )
        };
        assert!(!can_read().await);
        let given = Grant.create(&ctx(), &notices).await.unwrap();
        assert!(can_read().await, "every role may read it");
        let read = Grant
            .read(&ctx(), &given.id, &props(json!({})))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            privileges(&read.inputs),
            json!(["SELECT"]),
            "imported from its ID alone"
        );
        let again = refusal(&notices).await;
        assert_eq!(again.class(), ErrorClass::AlreadyExists, "{again}");
        Grant.delete(&ctx(), &given.id, &notices).await.unwrap();
        assert!(!can_read().await);

        exec(DB, &format!(r#"DROP DATABASE "{database}" WITH (FORCE)"#)).await;
        exec(DB, &format!(r#"DROP ROLE "{anyone}""#)).await;
    });
}

#[test]
fn one_function_overload_by_its_argument_types_is_granted_read_and_revoked_alone() {
    run(async {
        let role = unique("app-");
        let schema = unique("api ");
        exec(
            DB,
            &format!(
                r#"CREATE ROLE "{r}"; CREATE SCHEMA "{schema}";
                   CREATE FUNCTION "{schema}".price(integer, text) RETURNS int LANGUAGE sql AS 'SELECT 1';
                   CREATE FUNCTION "{schema}".price(integer) RETURNS int LANGUAGE sql AS 'SELECT 2';
                   REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA "{schema}" FROM PUBLIC;"#,
                r = esc(&role)
            ),
        )
        .await;
        let can = |signature: &'static str| {
            let (role, schema) = (role.clone(), schema.clone());
            async move {
                holds(
                    DB,
                    "SELECT has_function_privilege($1, $2, 'EXECUTE')",
                    vec![role, format!("\"{schema}\".{signature}")],
                )
                .await
            }
        };
        let inputs = grant(
            &role,
            DB,
            json!({"objectType": "function", "schema": schema, "objects": ["price(INT4, Text)"], "privileges": ["EXECUTE"]}),
        );
        let created = Grant.create(&ctx(), &inputs).await.unwrap();
        assert!(can("price(integer, text)").await, "that overload");
        assert!(!can("price(integer)").await, "not the other one");
        let read = Grant
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(privileges(&read.inputs), json!(["EXECUTE"]));
        let other = grant(
            &role,
            DB,
            json!({"objectType": "function", "schema": schema, "objects": ["price(integer)"], "privileges": ["EXECUTE"]}),
        );
        let other_id = created.id.replace("INT4%2C%20Text", "integer");
        assert_eq!(
            privileges(
                &Grant
                    .read(&ctx(), &other_id, &other)
                    .await
                    .unwrap()
                    .unwrap()
                    .inputs
            ),
            json!([]),
            "the other overload holds nothing"
        );

        // The same overload, spelled otherwise, is the same function: refused as held.
        let respelled = grant(
            &role,
            DB,
            json!({"objectType": "function", "schema": schema, "objects": ["price(integer, text)"], "privileges": ["EXECUTE"]}),
        );
        let refused = refusal(&respelled).await;
        assert_eq!(refused.class(), ErrorClass::AlreadyExists, "{refused}");

        exec(
            DB,
            &format!(
                r#"REVOKE EXECUTE ON FUNCTION "{schema}".price(integer, text) FROM "{r}""#,
                r = esc(&role)
            ),
        )
        .await;
        let drifted = Grant
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            privileges(&drifted.inputs),
            json!([]),
            "revoked outside: drift"
        );
        Grant
            .update(&ctx(), &created.id, &drifted.inputs, &inputs)
            .await
            .unwrap();
        assert!(can("price(integer, text)").await);
        Grant.delete(&ctx(), &created.id, &inputs).await.unwrap();
        assert!(!can("price(integer, text)").await);

        // A function that does not exist is PostgreSQL's error, naming it.
        let missing = grant(
            &role,
            DB,
            json!({"objectType": "function", "schema": schema, "objects": ["price(text)"], "privileges": ["EXECUTE"]}),
        );
        let why = refusal(&missing).await.to_string();
        assert!(
            why.contains("price(text)") && why.contains("does not exist"),
            "{why}"
        );

        exec(
            DB,
            &format!(
                r#"DROP SCHEMA "{schema}" CASCADE; DROP OWNED BY "{r}"; DROP ROLE "{r}";"#,
                r = esc(&role)
            ),
        )
        .await;
    });
}
