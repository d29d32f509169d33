//! Typed ARM resource IDs: parse and format round trips, keys matched case-insensitively.

use pgentra::azure::ids::*;

const SUB: &str = "00000000-0000-0000-0000-0000000000aa";

#[test]
fn a_flexible_server_id_round_trips() {
    let id = format!("/subscriptions/{SUB}/resourceGroups/rg-1/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-1");
    let parsed = FlexibleServerId::parse(&id).unwrap();
    assert_eq!(parsed, FlexibleServerId::new(SUB, "rg-1", "pg-1"));
    assert_eq!(parsed.to_string(), id);
}

#[test]
fn lower_case_resourcegroups_and_providers_parse_to_the_canonical_form() {
    let id = format!("/subscriptions/{SUB}/resourcegroups/RG-Mixed/providers/microsoft.managedidentity/userassignedidentities/Id-1");
    let parsed = ManagedIdentityId::parse(&id).unwrap();
    assert_eq!(parsed.resource_group, "RG-Mixed", "names keep their case");
    assert_eq!(parsed.name, "Id-1");
    assert_eq!(
        parsed.to_string(),
        format!("/subscriptions/{SUB}/resourceGroups/RG-Mixed/providers/Microsoft.ManagedIdentity/userAssignedIdentities/Id-1")
    );
    assert!(same_id(&parsed.to_string(), &id));
}

#[test]
fn every_server_child_round_trips() {
    let server = FlexibleServerId::new(SUB, "rg", "pg");
    let admin = AdAdminId::new(server.clone(), "4f1c5a52-3a4b-4a8e-9b1e-0e7c4d6a8f10");
    assert_eq!(AdAdminId::parse(&admin.to_string()).unwrap(), admin);
    assert!(admin
        .to_string()
        .ends_with("/flexibleServers/pg/administrators/4f1c5a52-3a4b-4a8e-9b1e-0e7c4d6a8f10"));
    let db = DatabaseId::new(server.clone(), "app");
    assert_eq!(DatabaseId::parse(&db.to_string()).unwrap(), db);
    let fw = FirewallRuleId::new(server.clone(), "office");
    assert_eq!(FirewallRuleId::parse(&fw.to_string()).unwrap(), fw);
    let param = ServerParameterId::new(server, "azure.extensions");
    assert_eq!(ServerParameterId::parse(&param.to_string()).unwrap(), param);
    assert!(param
        .to_string()
        .ends_with("/configurations/azure.extensions"));
}

#[test]
fn a_federated_credential_id_round_trips() {
    let id = FederatedCredentialId::new(ManagedIdentityId::new(SUB, "rg", "app"), "aks");
    let text = id.to_string();
    assert!(
        text.ends_with("/userAssignedIdentities/app/federatedIdentityCredentials/aks"),
        "{text}"
    );
    assert_eq!(text.parse::<FederatedCredentialId>().unwrap(), id);
}

#[test]
fn an_id_of_another_type_is_refused_with_the_expected_shape() {
    let server = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg");
    let err = DatabaseId::parse(&server).unwrap_err();
    assert!(
        err.to_string()
            .contains("flexibleServers/{name}/databases/{name}"),
        "{err}"
    );
    assert!(FlexibleServerId::parse(&format!("{server}/databases/app")).is_err());
    assert!(FirewallRuleId::parse(&format!("{server}/databases/app")).is_err());
    assert!(FlexibleServerId::parse("pg").is_err());
    assert!(
        FlexibleServerId::parse(&server.replace("/resourceGroups/rg", "/resourceGroups/")).is_err()
    );
}

#[test]
fn a_trailing_slash_is_tolerated() {
    let id = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg/");
    assert_eq!(FlexibleServerId::parse(&id).unwrap().name, "pg");
}
