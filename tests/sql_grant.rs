//! Grant against the local PostgreSQL, through the Resource trait as the adapter calls it:
//! each object type, drift from a REVOKE made outside, update, delete, import, parallel grants.

mod sql_support;

use pgentra::props::Props;
use pgentra::resource::Resource;
use pgentra::resources::grant::Grant;
use serde_json::{json, Value};
use sql_support::*;

/// A role and a schema with two tables, a sequence and a function, all fresh.
async fn fixture() -> (String, String) {
    let role = unique("app \"x\"@corp.com-");
    let schema = unique("s ");
    exec(
        DB,
        &format!(
            r#"CREATE ROLE "{r}";
               CREATE SCHEMA "{s}";
               CREATE TABLE "{s}".orders (id serial primary key);
               CREATE TABLE "{s}".items (id int);
               CREATE FUNCTION "{s}".answer() RETURNS int LANGUAGE sql AS 'SELECT 42';"#,
            r = role.replace('"', "\"\""),
            s = schema
        ),
    )
    .await;
    (role, schema)
}

async fn cleanup(role: &str, schema: &str) {
    exec(
        DB,
        &format!(
            r#"DROP SCHEMA "{schema}" CASCADE; DROP OWNED BY "{r}"; DROP ROLE "{r}";"#,
            r = role.replace('"', "\"\"")
        ),
    )
    .await;
}

fn grant(role: &str, fields: Value) -> Props {
    let mut base = json!({
        "connection": connection(DB), "role": role, "database": DB,
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

#[test]
fn table_privileges_are_granted_read_back_drift_after_an_outside_revoke_and_are_revoked() {
    run(async {
        let (role, schema) = fixture().await;
        let inputs = grant(
            &role,
            json!({"objectType": "table", "schema": schema, "privileges": ["INSERT", "SELECT"]}),
        );
        let created = Grant.create(&ctx(), &inputs).await.unwrap();
        let read = Grant
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(privileges(&read.inputs), json!(["INSERT", "SELECT"]));

        let esc = role.replace('"', "\"\"");
        exec(
            DB,
            &format!(r#"REVOKE INSERT ON "{schema}".items FROM "{esc}""#),
        )
        .await;
        let drifted = Grant
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            privileges(&drifted.inputs),
            json!(["SELECT"]),
            "one table lost INSERT"
        );

        // Update: INSERT goes, UPDATE comes; applied on every table again.
        let news = grant(
            &role,
            json!({"objectType": "table", "schema": schema, "privileges": ["SELECT", "UPDATE"]}),
        );
        Grant
            .update(&ctx(), &created.id, &inputs, &news)
            .await
            .unwrap();
        let read = Grant
            .read(&ctx(), &created.id, &news)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(privileges(&read.inputs), json!(["SELECT", "UPDATE"]));
        let insert = sql(DB)
            .await
            .query(
                "SELECT has_table_privilege($1, $2, 'INSERT')",
                &[&role, &format!("\"{schema}\".orders")],
            )
            .await
            .unwrap();
        assert!(
            !insert[0].get::<_, bool>(0),
            "INSERT was revoked by the update"
        );

        Grant.delete(&ctx(), &created.id, &news).await.unwrap();
        let refreshed = Grant.read(&ctx(), &created.id, &news).await.unwrap();
        assert_eq!(
            privileges(&refreshed.expect("the role is still there").inputs),
            json!([])
        );
        assert!(
            Grant
                .read(&ctx(), &created.id, &props(json!({})))
                .await
                .unwrap()
                .is_none(),
            "an import finds nothing to import"
        );
        cleanup(&role, &schema).await;
    });
}

#[test]
fn all_reads_back_as_all_on_this_servers_version() {
    run(async {
        let (role, schema) = fixture().await;
        for (object_type, objects) in [
            ("table", json!(["orders"])),
            ("sequence", json!([])),
            ("function", json!([])),
            ("schema", json!(null)),
            ("database", json!(null)),
        ] {
            let mut fields = json!({"objectType": object_type, "privileges": ["ALL"]});
            if object_type != "database" {
                fields["schema"] = json!(schema);
            }
            if objects.as_array().is_some_and(|o| !o.is_empty()) {
                fields["objects"] = objects;
            }
            let inputs = grant(&role, fields);
            let created = Grant.create(&ctx(), &inputs).await.unwrap();
            let read = Grant
                .read(&ctx(), &created.id, &inputs)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{object_type} read"));
            assert_eq!(privileges(&read.inputs), json!(["ALL"]), "{object_type}");
            Grant.delete(&ctx(), &created.id, &inputs).await.unwrap();
        }
        cleanup(&role, &schema).await;
    });
}

#[test]
fn default_privileges_and_grant_option_are_read_from_pg_default_acl() {
    run(async {
        let (role, schema) = fixture().await;
        let inputs = grant(
            &role,
            json!({"objectType": "table", "schema": schema, "privileges": ["SELECT"], "defaultPrivileges": true, "withGrantOption": true}),
        );
        let created = Grant.create(&ctx(), &inputs).await.unwrap();
        assert!(
            created.id.contains("defaults=true") && created.id.contains("grantOption=true"),
            "{}",
            created.id
        );
        let read = Grant
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(privileges(&read.inputs), json!(["SELECT"]));
        // A table created later gets SELECT.
        exec(DB, &format!(r#"CREATE TABLE "{schema}".later (id int)"#)).await;
        let later = sql(DB)
            .await
            .query(
                "SELECT has_table_privilege($1, $2, 'SELECT WITH GRANT OPTION')",
                &[&role, &format!("\"{schema}\".later")],
            )
            .await
            .unwrap();
        assert!(later[0].get::<_, bool>(0));
        Grant.delete(&ctx(), &created.id, &inputs).await.unwrap();
        assert!(
            Grant
                .read(&ctx(), &created.id, &props(json!({})))
                .await
                .unwrap()
                .is_none(),
            "default ACL revoked"
        );
        cleanup(&role, &schema).await;
    });
}

#[test]
fn role_membership_is_granted_read_updated_and_revoked() {
    run(async {
        let (role, schema) = fixture().await;
        let group_a = unique("readwrite ");
        let group_b = unique("readonly ");
        exec(
            DB,
            &format!(r#"CREATE ROLE "{group_a}"; CREATE ROLE "{group_b}""#),
        )
        .await;
        let inputs = grant(
            &role,
            json!({"objectType": "role", "objects": [group_a], "privileges": []}),
        );
        let created = Grant.create(&ctx(), &inputs).await.unwrap();
        let read = Grant
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.inputs.get("objects"), Some(&json!([group_a])));
        let news = grant(
            &role,
            json!({"objectType": "role", "objects": [group_b], "privileges": []}),
        );
        Grant
            .update(&ctx(), &created.id, &inputs, &news)
            .await
            .unwrap();
        assert!(
            Grant
                .read(&ctx(), &created.id, &inputs)
                .await
                .unwrap()
                .is_none(),
            "left group a"
        );
        assert!(
            Grant
                .read(&ctx(), &created.id, &news)
                .await
                .unwrap()
                .is_some(),
            "joined group b"
        );
        Grant.delete(&ctx(), &created.id, &news).await.unwrap();
        assert!(
            Grant
                .read(&ctx(), &created.id, &news)
                .await
                .unwrap()
                .is_none(),
            "memberships revoked: the Grant is gone"
        );
        exec(
            DB,
            &format!(r#"DROP ROLE "{group_a}"; DROP ROLE "{group_b}""#),
        )
        .await;
        cleanup(&role, &schema).await;
    });
}

#[test]
fn a_grant_imports_from_its_id_alone() {
    run(async {
        let (role, schema) = fixture().await;
        let inputs = grant(
            &role,
            json!({"objectType": "sequence", "schema": schema, "objects": ["orders_id_seq"], "privileges": ["USAGE"]}),
        );
        let created = Grant.create(&ctx(), &inputs).await.unwrap();
        let imported = Grant
            .read(&ctx(), &created.id, &props(json!({})))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(imported.inputs.get("role"), Some(&json!(role)));
        assert_eq!(imported.inputs.get("schema"), Some(&json!(schema)));
        assert_eq!(
            imported.inputs.get("objects"),
            Some(&json!(["orders_id_seq"]))
        );
        assert_eq!(imported.inputs.get("connection"), Some(&connection(DB)));
        assert_eq!(privileges(&imported.inputs), json!(["USAGE"]));
        Grant
            .delete(&ctx(), &created.id, &props(json!({})))
            .await
            .unwrap();
        cleanup(&role, &schema).await;
    });
}

#[test]
fn many_parallel_grants_on_the_same_objects_all_succeed_within_the_pool_bound() {
    run(async {
        let (role, schema) = fixture().await;
        let roles: Vec<String> = (0..24).map(|i| format!("{}-{i}", unique("par"))).collect();
        for r in &roles {
            exec(DB, &format!(r#"CREATE ROLE "{r}""#)).await;
        }
        let tasks: Vec<_> = roles
            .iter()
            .map(|r| {
                let inputs = grant(
                    r,
                    json!({"objectType": "table", "schema": schema, "privileges": ["SELECT"]}),
                );
                let db = grant(
                    r,
                    json!({"objectType": "database", "privileges": ["CONNECT"]}),
                );
                tokio::spawn(async move {
                    let a = Grant.create(&ctx(), &inputs).await.map(|c| c.id);
                    let b = Grant.create(&ctx(), &db).await.map(|c| c.id);
                    (
                        a.map_err(|e| e.to_string()),
                        b.map_err(|e| e.to_string()),
                        inputs,
                        db,
                    )
                })
            })
            .collect();
        for task in tasks {
            let (a, b, inputs, db) = task.await.unwrap();
            let a = a.unwrap();
            let b = b.unwrap();
            Grant.delete(&ctx(), &a, &inputs).await.unwrap();
            Grant.delete(&ctx(), &b, &db).await.unwrap();
        }
        assert!(
            pgentra::sql::pool::idle_count(&admin(DB)) <= pgentra::sql::pool::MAX_SESSIONS_PER_KEY
        );
        for r in &roles {
            exec(DB, &format!(r#"DROP ROLE "{r}""#)).await;
        }
        cleanup(&role, &schema).await;
    });
}

#[test]
fn deleting_a_grant_whose_role_is_gone_succeeds() {
    run(async {
        let (role, schema) = fixture().await;
        let inputs = grant(
            &role,
            json!({"objectType": "schema", "schema": schema, "privileges": ["USAGE"]}),
        );
        let created = Grant.create(&ctx(), &inputs).await.unwrap();
        let esc = role.replace('"', "\"\"");
        exec(
            DB,
            &format!(r#"REVOKE USAGE ON SCHEMA "{schema}" FROM "{esc}"; DROP ROLE "{esc}""#),
        )
        .await;
        assert!(Grant
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .is_none());
        Grant.delete(&ctx(), &created.id, &inputs).await.unwrap();
        exec(DB, &format!(r#"DROP SCHEMA "{schema}" CASCADE"#)).await;
    });
}

#[test]
fn a_grant_in_a_database_dropped_outside_reads_as_gone_and_deletes_quietly() {
    run(async {
        let role = unique("dbgone-");
        let database = unique("pgentra_gone_");
        exec("postgres", &format!(r#"CREATE ROLE "{role}""#)).await;
        exec("postgres", &format!("CREATE DATABASE {database}")).await;
        let mut inputs = grant(
            &role,
            json!({"objectType": "schema", "schema": "public", "privileges": ["USAGE"]}),
        );
        inputs.set("database", json!(database));
        let created = Grant.create(&ctx(), &inputs).await.unwrap();
        assert!(Grant
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .is_some());
        // Idle sessions to it must go before the database can be dropped.
        exec(
            "postgres",
            &format!("DROP DATABASE {database} WITH (FORCE)"),
        )
        .await;
        assert!(Grant
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .is_none());
        Grant.delete(&ctx(), &created.id, &inputs).await.unwrap();
        exec("postgres", &format!(r#"DROP ROLE "{role}""#)).await;
    });
}

/// The locks a write takes are per object: while another transaction holds what a Grant on
/// `orders` holds, Grants on `items` and on the schema go through, and Grants on `orders` and
/// on all the schema's tables wait (here until their operation's timeout, which rolls back).
#[test]
fn a_grant_waits_only_for_writes_of_the_same_objects() {
    use pgentra::azure::ErrorClass;
    use pgentra::resources::grant::GrantTarget;
    use pgentra::sql::grant::lock_statement;
    use std::time::Duration;
    run(async {
        let (role, schema) = fixture().await;
        let on = |objects: Value, privileges: Value| {
            grant(
                &role,
                json!({"objectType": "table", "schema": schema, "objects": objects, "privileges": privileges}),
            )
        };
        let orders = on(json!(["orders"]), json!(["SELECT"]));
        let locks = GrantTarget::from_inputs(&orders).unwrap().acl_locks();
        let holder = sql(DB).await;
        holder
            .execute(&format!("BEGIN; {}", lock_statement(&locks).unwrap()))
            .await
            .unwrap();
        let within = |seconds| {
            let mut ctx = ctx();
            ctx.timeout = Some(Duration::from_secs(seconds));
            ctx
        };

        let items = on(json!(["items"]), json!(["SELECT"]));
        let usage = grant(
            &role,
            json!({"objectType": "schema", "schema": schema, "privileges": ["USAGE"]}),
        );
        let items_id = Grant.create(&within(30), &items).await.unwrap().id;
        let usage_id = Grant.create(&within(30), &usage).await.unwrap().id;

        let all_tables = on(json!([]), json!(["INSERT"]));
        for blocked in [&orders, &all_tables] {
            let Err(waited) = Grant.create(&within(1), blocked).await else {
                panic!("a Grant on what another write holds went through");
            };
            assert_eq!(waited.class(), ErrorClass::DeadlineExceeded, "{waited}");
        }
        let granted: bool = sql(DB)
            .await
            .query(
                "SELECT has_table_privilege($1, $2, 'SELECT')",
                &[&role, &format!("\"{schema}\".orders")],
            )
            .await
            .unwrap()[0]
            .get(0);
        assert!(!granted, "the GRANT that gave up was rolled back");

        holder.execute("ROLLBACK").await.unwrap();
        let orders_id = Grant.create(&within(30), &orders).await.unwrap().id;
        for (id, inputs) in [(orders_id, &orders), (items_id, &items), (usage_id, &usage)] {
            Grant.delete(&ctx(), &id, inputs).await.unwrap();
        }
        cleanup(&role, &schema).await;
    });
}

/// Created at the same instant in many sessions, one Grant over the same privilege wins and the
/// others are refused; Grants over disjoint privileges on the same objects all go through.
#[test]
fn the_same_grant_created_at_once_in_many_sessions_is_granted_once() {
    use pgentra::azure::ErrorClass;
    run(async {
        let (role, schema) = fixture().await;
        let same = grant(
            &role,
            json!({"objectType": "table", "schema": schema, "privileges": ["SELECT"]}),
        );
        let disjoint = ["INSERT", "UPDATE", "DELETE", "TRUNCATE"].map(|p| {
            grant(
                &role,
                json!({"objectType": "table", "schema": schema, "objects": ["orders"], "privileges": [p]}),
            )
        });
        let tasks: Vec<_> = std::iter::repeat_n(same.clone(), 6)
            .chain(disjoint.iter().cloned())
            .map(|inputs| {
                tokio::spawn(async move {
                    let outcome = Grant.create(&ctx(), &inputs).await;
                    (inputs, outcome)
                })
            })
            .collect();
        let (mut won, mut refused, mut others) = (vec![], 0, 0);
        for task in tasks {
            let (inputs, outcome) = task.await.unwrap();
            match outcome {
                Ok(created) if inputs == same => won.push(created.id),
                Ok(created) => {
                    others += 1;
                    Grant.delete(&ctx(), &created.id, &inputs).await.unwrap();
                }
                Err(e) => {
                    assert_eq!(e.class(), ErrorClass::AlreadyExists, "{e}");
                    assert!(e.to_string().contains("already holds SELECT"), "{e}");
                    refused += 1;
                }
            }
        }
        assert_eq!((won.len(), refused, others), (1, 5, 4));
        Grant.delete(&ctx(), &won[0], &same).await.unwrap();
        cleanup(&role, &schema).await;
    });
}
