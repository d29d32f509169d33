//! PostgreSQL flexible servers and their children, with their long-running operations.

mod support;

use serde_json::json;
use support::PG;

#[tokio::test]
async fn server_create_runs_as_an_lro_and_ends_ready_with_its_fqdn() {
    let env = support::start_slow_lro().await;
    env.create_rg("rg-srv").await;
    let path = format!("{}?{PG}", env.server_path("rg-srv", "pg-one"));
    let started = env
        .call(
            "PUT",
            &path,
            Some(json!({
                "location": "East US",
                "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
                "properties": {"version": "16", "administratorLoginPassword": null,
                    "authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"}},
            })),
        )
        .await;
    assert_eq!(started.status, 202);
    let async_url = started.header("azure-asyncoperation").unwrap();
    assert!(
        async_url
            .contains("/providers/Microsoft.DBforPostgreSQL/locations/eastus/azureAsyncOperation/"),
        "{async_url}"
    );
    // Invisible while the create runs (202-create model), and a second write is refused.
    let during = env.call("GET", &path, None).await;
    assert_eq!(during.status, 404);
    assert_eq!(during.json()["error"]["code"], "ResourceNotFound");
    let second = env.call("PUT", &path, Some(json!({"location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"}}))).await;
    assert_eq!(second.status, 409);
    assert_eq!(second.json()["error"]["code"], "AnotherOperationInProgress");
    // The Location URL answers 202 while running, then the resource.
    let location = started.header("location").unwrap();
    let early = env.call_raw("GET", &location, None).await;
    assert_eq!(early.status, 202);

    let done = env.wait(&started).await;
    assert_eq!(done["status"], "Succeeded");
    let final_result = env.call_raw("GET", &location, None).await;
    assert_eq!(final_result.status, 200);
    assert_eq!(final_result.json()["name"], "pg-one");

    let got = env.call("GET", &path, None).await;
    assert_eq!(got.status, 200);
    let s = got.json();
    assert_eq!(s["properties"]["state"], "Ready");
    let fqdn = s["properties"]["fullyQualifiedDomainName"]
        .as_str()
        .unwrap();
    assert!(
        fqdn.parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback()),
        "{fqdn}"
    );
    assert_eq!(
        s["properties"]["authConfig"]["activeDirectoryAuth"],
        "Enabled"
    );
    assert_eq!(
        s["properties"]["authConfig"]["tenantId"],
        env.emu.tenant_id()
    );
    assert_eq!(s["sku"]["tier"], "Burstable");
    assert!(s["properties"].get("administratorLoginPassword").is_none());
    env.assert_spec_clean();
}

#[tokio::test]
async fn password_is_never_returned() {
    let env = support::start().await;
    env.create_rg("rg-pw").await;
    let path = format!("{}?{PG}", env.server_path("rg-pw", "pg-pw"));
    let r = env
        .call(
            "PUT",
            &path,
            Some(json!({"location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
                "properties": {"administratorLogin": "pgadmin", "administratorLoginPassword": "S3cret-passw0rd"}})),
        )
        .await;
    env.wait(&r).await;
    let got = env.call("GET", &path, None).await;
    assert!(!String::from_utf8_lossy(&got.body).contains("S3cret-passw0rd"));
    assert!(!env.emu.state().to_string().contains("S3cret-passw0rd"));
    assert_eq!(got.json()["properties"]["administratorLogin"], "pgadmin");
    env.assert_spec_clean();
}

#[tokio::test]
async fn patch_that_shrinks_storage_is_refused() {
    let env = support::start().await;
    env.create_rg("rg-st").await;
    env.create_server("rg-st", "pg-st").await;
    let path = format!("{}?{PG}", env.server_path("rg-st", "pg-st"));
    let r = env
        .call(
            "PATCH",
            &path,
            Some(json!({"properties": {"storage": {"storageSizeGB": 32}}})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "StorageSizeDecreaseNotSupported");
    let grow = env
        .call(
            "PATCH",
            &path,
            Some(json!({"properties": {"storage": {"storageSizeGB": 128}}})),
        )
        .await;
    assert_eq!(env.wait(&grow).await["status"], "Succeeded");
    let got = env.call("GET", &path, None).await.json();
    assert_eq!(got["properties"]["storage"]["storageSizeGB"], 128);
    let down = env
        .call(
            "PATCH",
            &path,
            Some(json!({"properties": {"version": "15"}})),
        )
        .await;
    assert_eq!(down.status, 400);
    assert_eq!(down.json()["error"]["code"], "VersionDowngradeNotSupported");
    env.assert_spec_clean();
}

#[tokio::test]
async fn turning_entra_on_passes_through_updating() {
    let env = support::start_slow_lro().await;
    env.create_rg("rg-auth").await;
    let path = format!("{}?{PG}", env.server_path("rg-auth", "pg-auth"));
    let r = env
        .call(
            "PUT",
            &path,
            Some(json!({"location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
                "properties": {"administratorLogin": "pgadmin", "administratorLoginPassword": "S3cret-passw0rd"}})),
        )
        .await;
    env.wait(&r).await;
    let patch = env
        .call(
            "PATCH",
            &path,
            Some(json!({"tags": {"stage": "entra"}, "properties": {"authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled"}}})),
        )
        .await;
    assert_eq!(patch.status, 202);
    let during = env.call("GET", &path, None).await.json();
    assert_eq!(during["properties"]["state"], "Updating");
    let busy = env
        .call(
            "PUT",
            &format!(
                "{}/configurations/work_mem?{PG}",
                env.server_path("rg-auth", "pg-auth")
            ),
            Some(json!({"properties": {"value": "8192", "source": "user-override"}})),
        )
        .await;
    assert_eq!(
        busy.status, 409,
        "a configuration write while the server updates"
    );
    env.wait(&patch).await;
    let after = env.call("GET", &path, None).await.json();
    assert_eq!(after["properties"]["state"], "Ready");
    assert_eq!(
        after["properties"]["authConfig"]["passwordAuth"],
        "Disabled"
    );
    assert_eq!(
        after["properties"]["authConfig"]["activeDirectoryAuth"],
        "Enabled"
    );
    assert_eq!(after["tags"]["stage"], "entra");
    let neither = env
        .call(
            "PATCH",
            &path,
            Some(json!({"properties": {"authConfig": {"activeDirectoryAuth": "Disabled"}}})),
        )
        .await;
    assert_eq!(neither.status, 400);
    env.assert_spec_clean();
}

#[tokio::test]
async fn admins_databases_firewall_rules_and_parameters_have_their_lifecycles() {
    let env = support::start().await;
    env.create_rg("rg-kids").await;
    env.create_server("rg-kids", "pg-kids").await;
    let sp = env.server_path("rg-kids", "pg-kids");
    let group = env.emu.directory().add_group("pg-admins", &[]);

    let admin = format!("{sp}/administrators/{}?{PG}", group.object_id);
    let r = env
        .call("PUT", &admin, Some(json!({"properties": {"principalType": "Group", "principalName": "pg-admins", "tenantId": env.emu.tenant_id()}})))
        .await;
    assert_eq!(env.wait(&r).await["status"], "Succeeded");
    let a = env.call("GET", &admin, None).await.json();
    assert_eq!(
        a["name"], "pg-admins",
        "administrator name is the principal name"
    );
    assert!(a["id"].as_str().unwrap().ends_with(&group.object_id));

    let db = format!("{sp}/databases/appdb?{PG}");
    let r = env
        .call(
            "PUT",
            &db,
            Some(json!({"properties": {"charset": "UTF8", "collation": "en_US.utf8"}})),
        )
        .await;
    env.wait(&r).await;
    assert_eq!(
        env.call("GET", &db, None).await.json()["properties"]["charset"],
        "UTF8"
    );

    let fw = format!("{sp}/firewallRules/deployer?{PG}");
    let bad = env
        .call(
            "PUT",
            &fw,
            Some(json!({"properties": {"startIpAddress": "10.0.0.9", "endIpAddress": "10.0.0.1"}})),
        )
        .await;
    assert_eq!(bad.status, 400);
    let r = env
        .call(
            "PUT",
            &fw,
            Some(
                json!({"properties": {"startIpAddress": "127.0.0.1", "endIpAddress": "127.0.0.1"}}),
            ),
        )
        .await;
    env.wait(&r).await;

    let cfg = format!("{sp}/configurations/shared_preload_libraries?{PG}");
    let r = env.call("PUT", &cfg, Some(json!({"properties": {"value": "pg_cron,pg_stat_statements,pgaudit", "source": "user-override"}}))).await;
    env.wait(&r).await;
    let c = env.call("GET", &cfg, None).await.json();
    assert_eq!(c["properties"]["isConfigPendingRestart"], true);
    assert_eq!(c["properties"]["isDynamicConfig"], false);
    let bad = env
        .call(
            "PATCH",
            &cfg,
            Some(json!({"properties": {"value": "not_a_library"}})),
        )
        .await;
    assert_eq!(bad.status, 400);
    let restart = env.call("POST", &format!("{sp}/restart?{PG}"), None).await;
    env.wait(&restart).await;
    let c = env.call("GET", &cfg, None).await.json();
    assert_eq!(c["properties"]["isConfigPendingRestart"], false);
    let ext = format!("{sp}/configurations/azure.extensions?{PG}");
    let r = env
        .call(
            "PATCH",
            &ext,
            Some(json!({"properties": {"value": "vector,pgcrypto", "source": "user-override"}})),
        )
        .await;
    env.wait(&r).await;
    assert_eq!(
        env.call("GET", &ext, None).await.json()["properties"]["value"],
        "vector,pgcrypto"
    );
    assert_eq!(env.call("DELETE", &ext, None).await.status, 405);

    for list in [
        "administrators",
        "databases",
        "firewallRules",
        "configurations",
    ] {
        let l = env.call("GET", &format!("{sp}/{list}?{PG}"), None).await;
        assert_eq!(l.status, 200, "{list}");
        assert!(!l.json()["value"].as_array().unwrap().is_empty(), "{list}");
    }

    for child in [&admin, &db, &fw] {
        let del = env.call("DELETE", child, None).await;
        assert_eq!(env.wait(&del).await["status"], "Succeeded");
        assert_eq!(env.call("DELETE", child, None).await.status, 204);
        assert_eq!(env.call("GET", child, None).await.status, 404);
    }
    env.assert_spec_clean();
}

#[tokio::test]
async fn admin_needs_entra_enabled_on_the_server() {
    let env = support::start().await;
    env.create_rg("rg-noaad").await;
    let path = format!("{}?{PG}", env.server_path("rg-noaad", "pg-noaad"));
    let r = env
        .call("PUT", &path, Some(json!({"location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
            "properties": {"administratorLogin": "pgadmin", "administratorLoginPassword": "S3cret-passw0rd"}})))
        .await;
    env.wait(&r).await;
    let admin = format!(
        "{}/administrators/{}?{PG}",
        env.server_path("rg-noaad", "pg-noaad"),
        pgentra_emulator::util::uuid()
    );
    let r = env
        .call(
            "PUT",
            &admin,
            Some(json!({"properties": {"principalType": "User", "principalName": "a@b.c"}})),
        )
        .await;
    assert_eq!(r.status, 400);
    env.assert_spec_clean();
}

#[tokio::test]
async fn server_delete_is_an_lro_then_204() {
    let env = support::start_slow_lro().await;
    env.create_rg("rg-del").await;
    env.create_server("rg-del", "pg-del").await;
    let path = format!("{}?{PG}", env.server_path("rg-del", "pg-del"));
    let del = env.call("DELETE", &path, None).await;
    assert_eq!(del.status, 202);
    assert_eq!(
        env.call("GET", &path, None).await.json()["properties"]["state"],
        "Dropping"
    );
    env.wait(&del).await;
    let loc = env
        .call_raw("GET", &del.header("location").unwrap(), None)
        .await;
    assert_eq!(loc.status, 204);
    assert_eq!(env.call("GET", &path, None).await.status, 404);
    assert_eq!(env.call("DELETE", &path, None).await.status, 204);
    let no_rg = env
        .call(
            "DELETE",
            &format!("{}?{PG}", env.server_path("rg-missing", "pg-del")),
            None,
        )
        .await;
    assert_eq!(no_rg.status, 404);
    assert_eq!(no_rg.json()["error"]["code"], "ResourceGroupNotFound");
    let list = env
        .call(
            "GET",
            &format!(
                "{}/providers/Microsoft.DBforPostgreSQL/flexibleServers?{PG}",
                env.sub()
            ),
            None,
        )
        .await;
    assert_eq!(list.json()["value"], json!([]));
    env.assert_spec_clean();
}

#[tokio::test]
async fn bad_bodies_and_api_versions_are_refused() {
    let env = support::start().await;
    env.create_rg("rg-bad").await;
    let base = env.server_path("rg-bad", "pg-bad");
    let r = env
        .client
        .send(
            "PUT",
            &format!("{}{base}?{PG}", env.emu.arm_url()),
            &[("authorization", &format!("Bearer {}", env.token))],
            Some(b"{not json".to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "InvalidRequestContent");
    let r = env.call("GET", &base, None).await;
    assert_eq!(r.json()["error"]["code"], "MissingApiVersionParameter");
    let r = env
        .call("GET", &format!("{base}?api-version=1999-01-01"), None)
        .await;
    assert_eq!(r.status, 400);
    let r = env
        .call(
            "PUT",
            &format!("{base}?{PG}"),
            Some(json!({"location": "eastus", "sku": {"name": "Standard_B1ms", "tier": "Cheap"}})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["target"], "sku.tier");
    let r = env
        .call(
            "PUT",
            &format!("{}?{PG}", env.server_path("rg-bad", "Bad--Name")),
            Some(json!({"location": "eastus"})),
        )
        .await;
    assert_eq!(r.status, 400);
    env.assert_spec_clean();
}

#[tokio::test]
async fn deleting_a_resource_group_takes_its_servers_and_identities_along() {
    let env = support::start().await;
    env.create_rg("rg-gone").await;
    env.create_server("rg-gone", "pg-gone").await;
    let id = env.identity_path("rg-gone", "gone-id");
    let identity = env
        .call(
            "PUT",
            &format!("{id}?{}", support::MSI),
            Some(json!({"location": "eastus"})),
        )
        .await
        .json();
    let principal = identity["properties"]["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        env.call(
            "DELETE",
            &format!("{}?{}", env.rg_path("rg-gone"), support::RG),
            None
        )
        .await
        .status,
        200
    );
    let r = env
        .call(
            "GET",
            &format!("{}?{PG}", env.server_path("rg-gone", "pg-gone")),
            None,
        )
        .await;
    assert_eq!(r.json()["error"]["code"], "ResourceGroupNotFound");
    assert!(env.emu.directory().get(&principal).is_none());
    env.create_rg("rg-gone").await;
    let r = env
        .call(
            "GET",
            &format!("{}?{PG}", env.server_path("rg-gone", "pg-gone")),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "ResourceNotFound");
    env.assert_spec_clean();
}
