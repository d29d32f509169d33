//! Principal against the local PostgreSQL (pgaadauth emulated in the test database), through
//! the Resource trait as the adapter calls it.

mod sql_support;

use pgentra::resource::{Error, Resource};
use pgentra::resources::principal::Principal;
use serde_json::json;
use sql_support::*;

fn principal(name: &str) -> serde_json::Value {
    json!({"connection": connection(DB), "name": name, "isAdmin": false, "isMfa": false})
}

#[test]
fn a_principal_by_object_id_is_created_read_back_and_dropped() {
    run(async {
        let name = unique("dev \"q\"@example.com ");
        let inputs = props(json!({
            "connection": connection(DB), "name": name,
            "objectId": "0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a69", "principalType": "user",
            "isAdmin": false, "isMfa": true,
        }));
        let created = Principal.create(&ctx(), &inputs).await.unwrap();
        assert!(created
            .id
            .starts_with("postgresql://postgres@localhost:5432/pgentra_sql_test?principal="));
        let read = Principal
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .expect("exists");
        assert_eq!(read.inputs.get("isMfa"), Some(&json!(true)));
        assert_eq!(
            read.inputs.get("objectId"),
            Some(&json!("0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a69"))
        );
        // Import: the ID alone.
        let imported = Principal
            .read(&ctx(), &created.id, &props(json!({})))
            .await
            .unwrap()
            .expect("exists");
        assert_eq!(imported.inputs.get("name"), Some(&json!(name)));
        assert_eq!(imported.inputs.get("principalType"), Some(&json!("user")));
        assert_eq!(imported.inputs.get("connection"), Some(&connection(DB)));
        Principal
            .delete(&ctx(), &created.id, &inputs)
            .await
            .unwrap();
        assert!(Principal
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .is_none());
    });
}

#[test]
fn creating_a_role_that_exists_asks_for_an_import() {
    run(async {
        let name = unique("existing-");
        exec(DB, &format!("CREATE ROLE \"{name}\"")).await;
        let err = Principal
            .create(&ctx(), &props(principal(&name)))
            .await
            .err()
            .unwrap();
        assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
        assert!(err.to_string().contains("import"), "{err}");
        exec(DB, &format!("DROP ROLE \"{name}\"")).await;
    });
}

#[test]
fn a_role_dropped_outside_reads_as_gone_and_deletes_quietly() {
    run(async {
        let name = unique("app-");
        let inputs = props(principal(&name));
        let created = Principal.create(&ctx(), &inputs).await.unwrap();
        exec(DB, &format!("DROP ROLE \"{name}\"")).await;
        assert!(Principal
            .read(&ctx(), &created.id, &inputs)
            .await
            .unwrap()
            .is_none());
        Principal
            .delete(&ctx(), &created.id, &inputs)
            .await
            .unwrap();
    });
}

#[test]
fn a_role_that_owns_objects_is_not_dropped_and_the_error_lists_them() {
    run(async {
        let name = unique("owner-");
        let table = unique("owned_table_");
        let inputs = props(principal(&name));
        let created = Principal.create(&ctx(), &inputs).await.unwrap();
        exec(
            DB,
            &format!("CREATE TABLE {table} (id int); ALTER TABLE {table} OWNER TO \"{name}\""),
        )
        .await;
        let err = Principal
            .delete(&ctx(), &created.id, &inputs)
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(&table) && err.contains("owns"), "{err}");
        assert!(
            Principal
                .read(&ctx(), &created.id, &inputs)
                .await
                .unwrap()
                .is_some(),
            "still there"
        );
        exec(DB, &format!("DROP TABLE {table}")).await;
        Principal
            .delete(&ctx(), &created.id, &inputs)
            .await
            .unwrap();
    });
}

#[test]
fn a_connection_to_another_database_still_creates_the_role_from_postgres() {
    run(async {
        // pgaadauth lives in postgres only (as on Azure): a connection that names the app's
        // database, as one shared by Principals and Grants does, works all the same.
        let name = unique("app-db-conn-");
        let inputs = props(json!({"connection": connection(DB), "name": name}));
        let created = Principal.create(&ctx(), &inputs).await.unwrap();
        assert!(
            created.id.contains(&format!("/{DB}?principal=")),
            "{}",
            created.id
        );
        let listed = sql("postgres")
            .await
            .query(
                "SELECT 1 FROM pgaadauth_list_principals(false) WHERE rolname = $1",
                &[&name],
            )
            .await
            .unwrap();
        assert_eq!(
            listed.len(),
            1,
            "the role was made by pgaadauth_create_principal"
        );
        Principal
            .delete(&ctx(), &created.id, &inputs)
            .await
            .unwrap();
    });
}

#[test]
fn signing_in_as_a_role_that_does_not_exist_names_the_user_name_used() {
    run(async {
        let mut conn = connection(DB);
        conn["username"] = json!("nobody@yourcompany.com");
        let inputs = props(json!({"connection": conn, "name": "whoever"}));
        let err = Principal
            .create(&ctx(), &inputs)
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("\"nobody@yourcompany.com\"") && err.contains("connection.username"),
            "{err}"
        );
        assert!(err.contains("principal"), "{err}");
    });
}

#[test]
fn verify_full_refuses_the_local_certificate_for_a_name_it_does_not_carry() {
    run(async {
        let mut conn = connection(DB);
        conn["host"] = json!("127.0.0.1");
        let inputs = props(json!({"connection": conn, "name": unique("tls-")}));
        let err = Principal
            .create(&ctx(), &inputs)
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(err.to_lowercase().contains("certificate"), "{err}");
    });
}

#[test]
fn a_foreign_id_is_refused() {
    run(async {
        let err = Principal
            .read(&ctx(), "app-myapp-prod", &props(json!({})))
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("postgresql://"), "{err}");
    });
}

#[test]
fn a_role_still_holding_privileges_is_not_dropped_and_the_error_says_which() {
    run(async {
        let name = unique("holder-");
        let table = unique("shared_table_");
        let inputs = props(principal(&name));
        let created = Principal.create(&ctx(), &inputs).await.unwrap();
        exec(
            DB,
            &format!("CREATE TABLE {table} (id int); GRANT SELECT ON {table} TO \"{name}\""),
        )
        .await;
        let err = Principal
            .delete(&ctx(), &created.id, &inputs)
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(&table), "{err}");
        exec(DB, &format!("DROP TABLE {table}")).await;
        Principal
            .delete(&ctx(), &created.id, &inputs)
            .await
            .unwrap();
    });
}
