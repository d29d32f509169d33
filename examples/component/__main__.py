"""One PasswordlessDatabase for two apps on an existing passwordless server (see Pulumi.yaml)."""

import pulumi
import pulumi_pgentra as pgentra

config = pulumi.Config()
location = config.get("location") or "eastus"
resource_group_name = config.get("resourceGroupName") or "rg-myapp-prod"
server_name = config.require("serverName")
admin_name = config.get("adminName") or "PG Admins Group"
oidc_issuer_url = config.require("oidcIssuerUrl")

orders_identity = pgentra.ManagedIdentity("ordersIdentity",
    resource_group_name=resource_group_name, name="id-orders", location=location)
reports_identity = pgentra.ManagedIdentity("reportsIdentity",
    resource_group_name=resource_group_name, name="id-reports", location=location)

shop = pgentra.PasswordlessDatabase("shop",
    server={
        "host": f"{server_name}.postgres.database.azure.com",
        "resource_group_name": resource_group_name,
        "server_name": server_name,
        "admin_name": admin_name,
    },
    database_name="shop",
    apps=[
        {
            "name": "id-orders",
            "principal_id": orders_identity.principal_id,
            "access": "readwrite",
            "identity_id": orders_identity.id,
            "oidc_issuer": oidc_issuer_url,
            "service_accounts": [{"namespace": "shop", "name": "orders-api"}],
        },
        {"name": "id-reports", "principal_id": reports_identity.principal_id, "access": "readonly"},
    ])

pulumi.export("ordersEnv", shop.connections.apply(lambda c: c["id-orders"].env))
pulumi.export("reportsUser", shop.connections.apply(lambda c: c["id-reports"].user_name))
