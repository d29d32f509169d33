"""The seed's passwordless PostgreSQL setup as one Pulumi Python stack: a Flexible Server that only
accepts Microsoft Entra tokens, its Entra admin group, the app's managed identity federated with an
AKS service account, a database, a firewall rule for the deployer, and the roles and GRANTs inside
the database. See README.md for how to run it against Azure or `pgentra emulator`."""

import pulumi
import pulumi_pgentra as pgentra

config = pulumi.Config()
location = config.get("location") or "eastus"
resource_group_name = config.get("resourceGroupName") or "rg-myapp-prod"
# The server's name is its DNS label <serverName>.postgres.database.azure.com: unique across Azure.
server_name = config.require("serverName")
identity_name = config.get("identityName") or "id-myapp-prod"
database_name = config.get("databaseName") or "myappdb"
# The Entra group that administers the server. The deployer must be a member: the SQL below signs
# in with the deployer's own token and the group's name as user name.
admin_group_name = config.get("adminGroupName") or "PG Admins Group"
admin_group_object_id = config.require("adminGroupObjectId")
readwrite_group_name = config.get("readwriteGroupName") or "myapp-db-readwrite"
developer_upn = config.require("developerUpn")
# The AKS cluster's OIDC issuer URL (az aks show --query oidcIssuerProfile.issuerUrl).
oidc_issuer_url = config.require("oidcIssuerUrl")
# The public IPv4 address the deployer connects from.
deployer_ip = config.require("deployerIp")

# Who the provider signs in as; its tenant is the tenant the server trusts.
client = pgentra.get_client_config()

# az postgres flexible-server create ... --active-directory-auth Enabled --password-auth Disabled
server = pgentra.FlexibleServer(
    "server",
    resource_group_name=resource_group_name,
    server_name=server_name,
    location=location,
    version="16",
    sku_name="Standard_D2s_v3",
    storage_size_gb=64,
    active_directory_auth="Enabled",
    password_auth="Disabled",
    tenant_id=client.tenant_id,
    public_network_access="Enabled",
)

# az postgres flexible-server ad-admin create --display-name "PG Admins Group" --object-id ...
admin = pgentra.AdAdmin(
    "admin",
    resource_group_name=resource_group_name,
    server_name=server.server_name,
    object_id=admin_group_object_id,
    principal_name=admin_group_name,
    principal_type="Group",
    tenant_id=client.tenant_id,
)

# The deployer reaches the public endpoint from one address.
deployer_firewall_rule = pgentra.FirewallRule(
    "deployerFirewallRule",
    resource_group_name=resource_group_name,
    server_name=server.server_name,
    name="allow-deployer",
    start_ip_address=deployer_ip,
    end_ip_address=deployer_ip,
)

database = pgentra.Database(
    "database",
    resource_group_name=resource_group_name,
    server_name=server.server_name,
    name=database_name,
)

# az identity create --name id-myapp-prod
app_identity = pgentra.ManagedIdentity(
    "appIdentity",
    resource_group_name=resource_group_name,
    name=identity_name,
    location=location,
)

# az identity federated-credential create --name fc-myapp-aks
#   --subject system:serviceaccount:myapp-ns:myapp-sa
app_federated_credential = pgentra.FederatedCredential(
    "appFederatedCredential",
    resource_group_name=resource_group_name,
    identity_name=app_identity.name,
    name="fc-myapp-aks",
    issuer=oidc_issuer_url,
    subject="system:serviceaccount:myapp-ns:myapp-sa",
    audiences=["api://AzureADTokenExchange"],
)

# Every Principal and Grant signs in to the server as its Entra admin group, with a fresh token.
admin_connection = pgentra.ConnectionArgs(
    host=server.fully_qualified_domain_name,
    username=admin.principal_name,
)
# The SQL needs the deployer's address let through the firewall first.
after_firewall = pulumi.ResourceOptions(depends_on=[deployer_firewall_rule])

# SELECT * FROM pgaadauth_create_principal(...): the role name is the identity's name, and binding
# it by object ID keeps it right even if another principal shares that name.
app_principal = pgentra.Principal(
    "appPrincipal",
    connection=admin_connection,
    name=app_identity.name,
    object_id=app_identity.principal_id,
    principal_type="service",
    opts=after_firewall,
)
readwrite_principal = pgentra.Principal(
    "readwritePrincipal",
    connection=admin_connection,
    name=readwrite_group_name,
    opts=after_firewall,
)
developer_principal = pgentra.Principal(
    "developerPrincipal",
    connection=admin_connection,
    name=developer_upn,
    opts=after_firewall,
)

READ_WRITE = ["SELECT", "INSERT", "UPDATE", "DELETE"]


def grant_access(prefix: str, principal: pgentra.Principal, future_tables: bool) -> None:
    """The seed's grants for one role: CONNECT on the database, USAGE on schema public, and
    SELECT/INSERT/UPDATE/DELETE on all its tables (and, with future_tables, on tables created
    from now on by the admin group's sessions: ALTER DEFAULT PRIVILEGES)."""
    pgentra.Grant(
        f"{prefix}Connect",
        connection=admin_connection,
        role=principal.name,
        database=database.name,
        object_type="database",
        privileges=["CONNECT"],
    )
    pgentra.Grant(
        f"{prefix}SchemaUsage",
        connection=admin_connection,
        role=principal.name,
        database=database.name,
        object_type="schema",
        schema="public",
        privileges=["USAGE"],
    )
    pgentra.Grant(
        f"{prefix}Tables",
        connection=admin_connection,
        role=principal.name,
        database=database.name,
        object_type="table",
        schema="public",
        privileges=READ_WRITE,
    )
    if future_tables:
        pgentra.Grant(
            f"{prefix}FutureTables",
            connection=admin_connection,
            role=principal.name,
            database=database.name,
            object_type="table",
            schema="public",
            privileges=READ_WRITE,
            default_privileges=True,
        )


# As in the seed: the app also gets default privileges on future tables; the group does not.
grant_access("app", app_principal, future_tables=True)
grant_access("readwrite", readwrite_principal, future_tables=False)

# GRANT "myapp-db-readwrite" TO "developer@yourcompany.com";
developer_membership = pgentra.Grant(
    "developerMembership",
    connection=admin_connection,
    role=developer_principal.name,
    database=database.name,
    object_type="role",
    objects=[readwrite_principal.name],
    privileges=[],
)

pulumi.export("serverFqdn", server.fully_qualified_domain_name)
# For the service account's azure.workload.identity/client-id annotation.
pulumi.export("appClientId", app_identity.client_id)
# The seed's connection string: no password in it; the app signs in with its identity's token.
pulumi.export(
    "appConnectionString",
    pulumi.Output.format(
        "Host={0};Database={1};Username={2};Ssl Mode=Require;",
        server.fully_qualified_domain_name,
        database.name,
        app_principal.name,
    ),
)
pulumi.export("deployer", client.name)
