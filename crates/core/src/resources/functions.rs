//! The functions: who the provider signs in as, and a token for a scope. Both answer from the
//! provider's credential chain (client secret, workload identity, managed identity, Azure CLI).

use crate::props::Props;
use crate::resource::{Context, Error, Function};
use crate::spec::{FunctionSpec, Property, Type};
use serde_json::json;

pub static GET_CLIENT_CONFIG: FunctionSpec = FunctionSpec {
    token: "pgentra:index:getClientConfig",
    doc: "Who the provider signs in as: the tenant, subscription and Microsoft Entra object of \
          the deployer. Its `name` is the user name to put in a Connection when the deployer is \
          an Entra administrator of the server.",
    inputs: &[],
    outputs: &[
        Property::output(
            "tenantId",
            Type::String,
            "The Microsoft Entra tenant signed in to.",
        ),
        Property::output(
            "subscriptionId",
            Type::String,
            "The Azure subscription ARM resources are created in.",
        ),
        Property::output(
            "objectId",
            Type::String,
            "The object ID of the signed-in user or service principal, for an AdAdmin's objectId.",
        ),
        Property::output(
            "name",
            Type::String,
            "The signed-in principal's name: a user's UPN, or a service principal's display name.",
        ),
        Property::output(
            "clientId",
            Type::String,
            "The application (client) ID signed in with; empty for a user.",
        ),
    ],
};

pub static GET_ACCESS_TOKEN: FunctionSpec = FunctionSpec {
    token: "pgentra:index:getAccessToken",
    doc: "A Microsoft Entra access token for the signed-in deployer, by default for PostgreSQL: \
          the password for psql or another client (`PGPASSWORD`). It expires within the hour.",
    inputs: &[Property::input("scope", Type::String, "The scope to request. Defaults to the cloud's PostgreSQL scope, `https://ossrdbms-aad.database.windows.net/.default` in Azure's public cloud.")],
    outputs: &[
        Property::output("token", Type::String, "The access token.").secret(),
        Property::output("expiresOn", Type::String, "When the token expires, in RFC 3339 form such as `2025-01-31T12:00:00Z`."),
    ],
};

pub struct GetClientConfig;

#[async_trait::async_trait]
impl Function for GetClientConfig {
    fn spec(&self) -> &'static FunctionSpec {
        &GET_CLIENT_CONFIG
    }

    /// Read from the claims of the deployer's ARM token: the same identity every ARM call uses.
    async fn invoke(&self, ctx: &Context, _args: &Props) -> Result<Props, Error> {
        let azure = ctx.azure()?;
        let caller = azure.caller().await?;
        Ok(Props::from_json(json!({
            "tenantId": caller.tenant_id,
            "subscriptionId": azure.subscription_id().unwrap_or_default(),
            "objectId": caller.object_id,
            "name": caller.name.unwrap_or_default(),
            "clientId": caller.client_id.unwrap_or_default(),
        })))
    }
}

pub struct GetAccessToken;

#[async_trait::async_trait]
impl Function for GetAccessToken {
    fn spec(&self) -> &'static FunctionSpec {
        &GET_ACCESS_TOKEN
    }

    async fn invoke(&self, ctx: &Context, args: &Props) -> Result<Props, Error> {
        let azure = ctx.azure()?;
        let scope = args
            .str("scope")
            .map(str::to_owned)
            .unwrap_or_else(|| azure.endpoints.postgres_scope());
        let token = azure.tokens.get(&scope).await?;
        let mut result = Props::from_json(json!({
            "token": token.token.secret(),
            "expiresOn": azure_core::time::to_rfc3339(&token.expires_on),
        }));
        result.mark_secret("token");
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_token_is_the_only_secret_output() {
        let secrets: Vec<&str> = [&GET_CLIENT_CONFIG, &GET_ACCESS_TOKEN]
            .iter()
            .flat_map(|f| f.outputs)
            .filter(|p| p.secret)
            .map(|p| p.name)
            .collect();
        assert_eq!(secrets, ["token"]);
    }
}
