// The seed's passwordless PostgreSQL setup as one Pulumi TypeScript stack: a Flexible Server that
// only accepts Microsoft Entra tokens, its Entra admin group, the app's managed identity federated
// with an AKS service account, a database, a firewall rule for the deployer, and the roles and
// GRANTs inside the database. See README.md for how to run it against Azure or `pgentra emulator`.
import * as pulumi from "@pulumi/pulumi";
import * as pgentra from "@pgentra/pulumi";

const config = new pulumi.Config();
const location = config.get("location") ?? "eastus";
const resourceGroupName = config.get("resourceGroupName") ?? "rg-myapp-prod";
// The server's name is its DNS label <serverName>.postgres.database.azure.com: unique across Azure.
const serverName = config.require("serverName");
const identityName = config.get("identityName") ?? "id-myapp-prod";
const databaseName = config.get("databaseName") ?? "myappdb";
// The Entra group that administers the server. The deployer must be a member: the SQL below signs
// in with the deployer's own token and the group's name as user name.
const adminGroupName = config.get("adminGroupName") ?? "PG Admins Group";
const adminGroupObjectId = config.require("adminGroupObjectId");
const readwriteGroupName = config.get("readwriteGroupName") ?? "myapp-db-readwrite";
const developerUpn = config.require("developerUpn");
// The AKS cluster's OIDC issuer URL (az aks show --query oidcIssuerProfile.issuerUrl).
const oidcIssuerUrl = config.require("oidcIssuerUrl");
// The public IPv4 address the deployer connects from.
const deployerIp = config.require("deployerIp");

// Who the provider signs in as; its tenant is the tenant the server trusts.
const client = pgentra.getClientConfigOutput();

// az postgres flexible-server create ... --active-directory-auth Enabled --password-auth Disabled
const server = new pgentra.FlexibleServer("server", {
    resourceGroupName,
    serverName,
    location,
    version: "16",
    skuName: "Standard_D2s_v3",
    storageSizeGb: 64,
    activeDirectoryAuth: "Enabled",
    passwordAuth: "Disabled",
    tenantId: client.tenantId,
    publicNetworkAccess: "Enabled",
});

// az postgres flexible-server ad-admin create --display-name "PG Admins Group" --object-id ...
const admin = new pgentra.AdAdmin("admin", {
    resourceGroupName,
    serverName: server.serverName,
    objectId: adminGroupObjectId,
    principalName: adminGroupName,
    principalType: "Group",
    tenantId: client.tenantId,
});

// The deployer reaches the public endpoint from one address.
const deployerFirewallRule = new pgentra.FirewallRule("deployerFirewallRule", {
    resourceGroupName,
    serverName: server.serverName,
    name: "allow-deployer",
    startIpAddress: deployerIp,
    endIpAddress: deployerIp,
});

const database = new pgentra.Database("database", {
    resourceGroupName,
    serverName: server.serverName,
    name: databaseName,
});

// az identity create --name id-myapp-prod
const appIdentity = new pgentra.ManagedIdentity("appIdentity", {
    resourceGroupName,
    name: identityName,
    location,
});

// az identity federated-credential create --name fc-myapp-aks
//   --subject system:serviceaccount:myapp-ns:myapp-sa
new pgentra.FederatedCredential("appFederatedCredential", {
    resourceGroupName,
    identityName: appIdentity.name,
    name: "fc-myapp-aks",
    issuer: oidcIssuerUrl,
    subject: "system:serviceaccount:myapp-ns:myapp-sa",
    audiences: ["api://AzureADTokenExchange"],
});

// Every Principal and Grant signs in to the server as its Entra admin group, with a fresh token.
const adminConnection = {
    host: server.fullyQualifiedDomainName,
    username: admin.principalName,
};
// The SQL needs the deployer's address let through the firewall first.
const afterFirewall: pulumi.CustomResourceOptions = { dependsOn: [deployerFirewallRule] };

// SELECT * FROM pgaadauth_create_principal(...): the role name is the identity's name, and binding
// it by object ID keeps it right even if another principal shares that name.
const appPrincipal = new pgentra.Principal("appPrincipal", {
    connection: adminConnection,
    name: appIdentity.name,
    objectId: appIdentity.principalId,
    principalType: "service",
}, afterFirewall);
const readwritePrincipal = new pgentra.Principal("readwritePrincipal", {
    connection: adminConnection,
    name: readwriteGroupName,
}, afterFirewall);
const developerPrincipal = new pgentra.Principal("developerPrincipal", {
    connection: adminConnection,
    name: developerUpn,
}, afterFirewall);

const readWrite = ["SELECT", "INSERT", "UPDATE", "DELETE"];

// The seed's grants for one role: CONNECT on the database, USAGE on schema public, and
// SELECT/INSERT/UPDATE/DELETE on all its tables (and, with futureTables, on tables created from
// now on by the admin group's sessions: ALTER DEFAULT PRIVILEGES).
function grantAccess(prefix: string, principal: pgentra.Principal, futureTables: boolean): void {
    new pgentra.Grant(`${prefix}Connect`, {
        connection: adminConnection,
        role: principal.name,
        database: database.name,
        objectType: "database",
        privileges: ["CONNECT"],
    });
    new pgentra.Grant(`${prefix}SchemaUsage`, {
        connection: adminConnection,
        role: principal.name,
        database: database.name,
        objectType: "schema",
        schema: "public",
        privileges: ["USAGE"],
    });
    new pgentra.Grant(`${prefix}Tables`, {
        connection: adminConnection,
        role: principal.name,
        database: database.name,
        objectType: "table",
        schema: "public",
        privileges: readWrite,
    });
    if (futureTables) {
        new pgentra.Grant(`${prefix}FutureTables`, {
            connection: adminConnection,
            role: principal.name,
            database: database.name,
            objectType: "table",
            schema: "public",
            privileges: readWrite,
            defaultPrivileges: true,
        });
    }
}

// As in the seed: the app also gets default privileges on future tables; the group does not.
grantAccess("app", appPrincipal, true);
grantAccess("readwrite", readwritePrincipal, false);

// GRANT "myapp-db-readwrite" TO "developer@yourcompany.com";
new pgentra.Grant("developerMembership", {
    connection: adminConnection,
    role: developerPrincipal.name,
    database: database.name,
    objectType: "role",
    objects: [readwritePrincipal.name],
    privileges: [],
});

export const serverFqdn = server.fullyQualifiedDomainName;
// For the service account's azure.workload.identity/client-id annotation.
export const appClientId = appIdentity.clientId;
// The seed's connection string: no password in it; the app signs in with its identity's token.
export const appConnectionString = pulumi.interpolate`Host=${server.fullyQualifiedDomainName};Database=${database.name};Username=${appPrincipal.name};Ssl Mode=Require;`;
export const deployer = client.name;
