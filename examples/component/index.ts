// One PasswordlessDatabase for two apps on an existing passwordless server (see Pulumi.yaml).
import * as pulumi from "@pulumi/pulumi";
import * as pgentra from "@pgentra/pulumi";

const config = new pulumi.Config();
const location = config.get("location") ?? "eastus";
const resourceGroupName = config.get("resourceGroupName") ?? "rg-myapp-prod";
const serverName = config.require("serverName");
const adminName = config.get("adminName") ?? "PG Admins Group";
const oidcIssuerUrl = config.require("oidcIssuerUrl");

const ordersIdentity = new pgentra.ManagedIdentity("ordersIdentity", {
    resourceGroupName, name: "id-orders", location,
});
const reportsIdentity = new pgentra.ManagedIdentity("reportsIdentity", {
    resourceGroupName, name: "id-reports", location,
});

const shop = new pgentra.PasswordlessDatabase("shop", {
    server: {
        host: `${serverName}.postgres.database.azure.com`,
        resourceGroupName,
        serverName,
        adminName,
    },
    databaseName: "shop",
    apps: [
        {
            name: "id-orders",
            principalId: ordersIdentity.principalId,
            access: "readwrite",
            identityId: ordersIdentity.id,
            oidcIssuer: oidcIssuerUrl,
            serviceAccounts: [{ namespace: "shop", name: "orders-api" }],
        },
        { name: "id-reports", principalId: reportsIdentity.principalId, access: "readonly" },
    ],
});

export const ordersEnv = shop.connections.apply(c => c["id-orders"].env);
export const reportsUser = shop.connections.apply(c => c["id-reports"].userName);
