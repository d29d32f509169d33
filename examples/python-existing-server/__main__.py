"""Only the SQL half: the app's role and its GRANTs on an Azure Database for PostgreSQL flexible
server that something else made and keeps (azure-native, azurerm, Bicep or the portal). pgentra
manages nothing in Azure here; it signs in to the existing server as its Entra admin, with the
deployer's own token, over verify-full TLS. See README.md."""

import pulumi
import pulumi_pgentra as pgentra

config = pulumi.Config()
# The existing server's name as its certificate carries it, such as
# pg-myapp-prod.postgres.database.azure.com (az postgres flexible-server show --query
# fullyQualifiedDomainName). With private access, this name must resolve, from where the
# deployer runs, to the server's private address: see README.md.
server_host = config.require("serverHost")
# The Entra admin the deployer signs in as: the admin group's (or user's) name, as
# `az postgres flexible-server microsoft-entra-admin list` shows it. The deployer must be a member.
admin_name = config.require("adminName")
# The database the app uses; it exists already (made with the server).
database_name = config.get("databaseName") or "myappdb"
# The app's managed identity, made elsewhere too: its name becomes its PostgreSQL role, and its
# object (principal) ID binds the role to it.
app_identity_name = config.require("appIdentityName")
app_identity_object_id = config.require("appIdentityObjectId")

connection = pgentra.ConnectionArgs(host=server_host, username=admin_name)

app = pgentra.Principal(
    "app",
    connection=connection,
    name=app_identity_name,
    object_id=app_identity_object_id,
    principal_type="service",
)

# The first hardening step: PUBLIC (every role) may not connect; only roles granted CONNECT may.
public_connect = pgentra.Grant(
    "publicConnect",
    connection=connection,
    role="PUBLIC",
    database=database_name,
    object_type="database",
    privileges=["CONNECT"],
    revoke=True,
)


def grant(name: str, **args) -> pgentra.Grant:
    return pgentra.Grant(name, connection=connection, role=app.name, database=database_name, **args)


connect = grant("appConnect", object_type="database", privileges=["CONNECT"])
usage = grant("appUsage", object_type="schema", schema="public", privileges=["USAGE"])
read_write = ["SELECT", "INSERT", "UPDATE", "DELETE"]
tables = grant("appTables", object_type="table", schema="public", privileges=read_write)
future_tables = grant("appFutureTables", object_type="table", schema="public", privileges=read_write,
                      default_privileges=True)

pulumi.export("appRole", app.name)
pulumi.export("appConnectionString",
              pulumi.Output.concat("Host=", server_host, ";Database=", database_name, ";Username=", app.name,
                                   ";Ssl Mode=VerifyFull;"))
