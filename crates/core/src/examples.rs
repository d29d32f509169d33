//! One worked example per resource and function, in the description's own names: which
//! resources a program declares, with which property values, and what it exports. No
//! protocol's language: each face renders them in its own (the Pulumi schema's descriptions in
//! TypeScript, Python and YAML; the Terraform docs in HCL), so the examples of every language
//! say the same thing, and a test checks their values against the descriptions' rules.
//!
//! Property values are JSON. A string `${name.property}` is a reference to an output of an
//! earlier step (the `${...}` form Pulumi YAML also uses).

use serde_json::Value;

/// One step of an example program.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Declares a resource `name` of type `token` with these properties (a JSON object).
    Resource {
        name: &'static str,
        token: &'static str,
        properties: &'static str,
    },
    /// Calls function `token` with these arguments (a JSON object); its result is `name`.
    Invoke {
        name: &'static str,
        token: &'static str,
        arguments: &'static str,
    },
    /// Exports `value` (a reference) as `name`.
    Export {
        name: &'static str,
        value: &'static str,
    },
}

#[derive(Debug)]
pub struct Example {
    /// The type the example documents (a resource's or a function's token).
    pub token: &'static str,
    /// What it shows, as a heading.
    pub title: &'static str,
    pub steps: &'static [Step],
}

impl Step {
    /// The step's properties or arguments, parsed (the texts are constants, checked by a test).
    pub fn values(&self) -> serde_json::Map<String, Value> {
        let text = match self {
            Step::Resource { properties, .. } => properties,
            Step::Invoke { arguments, .. } => arguments,
            Step::Export { .. } => "{}",
        };
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            _ => panic!("an example's values are not a JSON object: {text}"),
        }
    }
}

/// A reference `${step.property}` as (step, property), or None for a literal.
pub fn reference(value: &str) -> Option<(&str, &str)> {
    value.strip_prefix("${")?.strip_suffix('}')?.split_once('.')
}

/// The examples of the type with this token, in order.
pub fn for_token(token: &str) -> impl Iterator<Item = &'static Example> + '_ {
    EXAMPLES
        .iter()
        .filter(move |example| example.token == token)
}

const SERVER: Step = Step::Resource {
    name: "server",
    token: "pgentra:index:FlexibleServer",
    properties: r#"{"resourceGroupName": "rg-myapp-prod", "serverName": "pg-myapp-prod", "location": "eastus", "version": "16", "skuName": "Standard_B1ms", "storageSizeGb": 32, "activeDirectoryAuth": "Enabled", "passwordAuth": "Disabled", "publicNetworkAccess": "Enabled", "tags": {"team": "data"}}"#,
};

pub static EXAMPLES: &[Example] = &[
    Example {
        token: "pgentra:index:PasswordlessDatabase",
        title: "A database for an app that runs its migrations and a reporting job that reads",
        steps: &[
            Step::Resource {
                name: "shop",
                token: "pgentra:index:PasswordlessDatabase",
                properties: r#"{"server": {"host": "pg-myapp-prod.postgres.database.azure.com", "resourceGroupName": "rg-myapp-prod", "serverName": "pg-myapp-prod", "adminName": "PG Admins Group"}, "databaseName": "shop", "apps": [{"name": "id-orders", "principalId": "7d3c2b1a-0f9e-4d8c-b7a6-958473625140", "access": "readwrite", "identityId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-myapp-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-orders", "oidcIssuer": "https://eastus.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-1111-1111-1111-111111111111/", "serviceAccounts": [{"namespace": "shop", "name": "orders-api"}]}, {"name": "id-reports", "principalId": "2c9d8e7f-6a5b-4c3d-9e8f-7a6b5c4d3e2f", "access": "readonly"}]}"#,
            },
            Step::Export {
                name: "connections",
                value: "${shop.connections}",
            },
        ],
    },
    Example {
        token: "pgentra:index:FlexibleServer",
        title: "A server that accepts only Microsoft Entra tokens",
        steps: &[
            SERVER,
            Step::Export {
                name: "host",
                value: "${server.fullyQualifiedDomainName}",
            },
        ],
    },
    Example {
        token: "pgentra:index:AdAdmin",
        title: "An Entra group as the server's administrator",
        steps: &[Step::Resource {
            name: "admin",
            token: "pgentra:index:AdAdmin",
            properties: r#"{"resourceGroupName": "rg-myapp-prod", "serverName": "pg-myapp-prod", "objectId": "0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a69", "principalName": "PG Admins Group", "principalType": "Group"}"#,
        }],
    },
    Example {
        token: "pgentra:index:FirewallRule",
        title: "Let one address reach the public endpoint",
        steps: &[Step::Resource {
            name: "deployer",
            token: "pgentra:index:FirewallRule",
            properties: r#"{"resourceGroupName": "rg-myapp-prod", "serverName": "pg-myapp-prod", "name": "allow-deployer", "startIpAddress": "203.0.113.7", "endIpAddress": "203.0.113.7"}"#,
        }],
    },
    Example {
        token: "pgentra:index:Database",
        title: "A database on a server",
        steps: &[Step::Resource {
            name: "database",
            token: "pgentra:index:Database",
            properties: r#"{"resourceGroupName": "rg-myapp-prod", "serverName": "pg-myapp-prod", "name": "myappdb"}"#,
        }],
    },
    Example {
        token: "pgentra:index:ServerParameter",
        title: "Allow an extension",
        steps: &[Step::Resource {
            name: "extensions",
            token: "pgentra:index:ServerParameter",
            properties: r#"{"resourceGroupName": "rg-myapp-prod", "serverName": "pg-myapp-prod", "name": "azure.extensions", "value": "pgcrypto,uuid-ossp"}"#,
        }],
    },
    Example {
        token: "pgentra:index:ManagedIdentity",
        title: "The application's identity",
        steps: &[
            Step::Resource {
                name: "app",
                token: "pgentra:index:ManagedIdentity",
                properties: r#"{"resourceGroupName": "rg-myapp-prod", "name": "id-myapp-prod", "location": "eastus"}"#,
            },
            Step::Export {
                name: "clientId",
                value: "${app.clientId}",
            },
        ],
    },
    Example {
        token: "pgentra:index:FederatedCredential",
        title: "Trust a Kubernetes service account's tokens",
        steps: &[Step::Resource {
            name: "aks",
            token: "pgentra:index:FederatedCredential",
            properties: r#"{"resourceGroupName": "rg-myapp-prod", "identityName": "id-myapp-prod", "name": "fc-myapp-aks", "issuer": "https://eastus.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-1111-1111-1111-111111111111/", "subject": "system:serviceaccount:myapp-ns:myapp-sa", "audiences": ["api://AzureADTokenExchange"]}"#,
        }],
    },
    Example {
        token: "pgentra:index:Principal",
        title: "A role for a managed identity, bound by its object ID",
        steps: &[Step::Resource {
            name: "app",
            token: "pgentra:index:Principal",
            properties: r#"{"connection": {"host": "pg-myapp-prod.postgres.database.azure.com", "username": "PG Admins Group"}, "name": "id-myapp-prod", "objectId": "7d3c2b1a-0f9e-4d8c-b7a6-958473625140", "principalType": "service"}"#,
        }],
    },
    Example {
        token: "pgentra:index:Grant",
        title: "Read and write every table of a schema",
        steps: &[
            SERVER,
            Step::Resource {
                name: "tables",
                token: "pgentra:index:Grant",
                properties: r#"{"connection": {"host": "${server.fullyQualifiedDomainName}", "username": "PG Admins Group", "sslMode": "verify-full"}, "role": "id-myapp-prod", "database": "myappdb", "objectType": "table", "schema": "public", "privileges": ["SELECT", "INSERT", "UPDATE", "DELETE"]}"#,
            },
        ],
    },
    Example {
        token: "pgentra:index:getClientConfig",
        title: "Who the provider signs in as",
        steps: &[
            Step::Invoke {
                name: "current",
                token: "pgentra:index:getClientConfig",
                arguments: "{}",
            },
            Step::Export {
                name: "tenantId",
                value: "${current.tenantId}",
            },
        ],
    },
    Example {
        token: "pgentra:index:getAccessToken",
        title: "A token for PostgreSQL, to hand to a client that signs in",
        steps: &[
            Step::Invoke {
                name: "pgToken",
                token: "pgentra:index:getAccessToken",
                arguments: "{}",
            },
            Step::Export {
                name: "expiresOn",
                value: "${pgToken.expiresOn}",
            },
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Registry;
    use crate::spec::{check_properties, Property};

    /// References become the core's unknown marker, as a value another resource has not
    /// produced yet is during a preview; check passes those and checks the rest.
    fn with_references_unknown(value: &Value) -> Value {
        match value {
            Value::String(s) if reference(s).is_some() => {
                Value::String(crate::props::UNKNOWN.into())
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(with_references_unknown).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), with_references_unknown(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn component(token: &str) -> Option<&'static crate::components::ComponentSpec> {
        crate::components::all()
            .into_iter()
            .find(|c| c.token == token)
    }

    fn outputs_of(token: &str, registry: &Registry) -> Vec<&'static str> {
        let properties: &[Property] = match registry.resource(token) {
            Some(resource) => resource.spec().properties,
            None if component(token).is_some() => component(token).unwrap().outputs,
            None => registry
                .functions()
                .find(|f| f.spec().token == token)
                .map(|f| f.spec().outputs)
                .unwrap_or_else(|| panic!("{token} is neither a resource nor a function")),
        };
        properties.iter().map(|p| p.name).collect()
    }

    #[test]
    fn every_resource_and_function_has_an_example() {
        let registry = Registry::builtin();
        let tokens = registry
            .resources()
            .map(|r| r.spec().token)
            .chain(registry.functions().map(|f| f.spec().token));
        for token in tokens {
            assert!(for_token(token).next().is_some(), "{token} has no example");
        }
        for component in crate::components::all() {
            assert!(
                for_token(component.token).next().is_some(),
                "{} has no example",
                component.token
            );
        }
    }

    #[test]
    fn example_values_pass_check_and_references_name_earlier_outputs() {
        let registry = Registry::builtin();
        for example in EXAMPLES {
            let mut earlier: Vec<(&str, &str)> = Vec::new();
            for step in example.steps {
                let refs: Vec<String> = match step {
                    Step::Export { value, .. } => vec![(*value).to_owned()],
                    _ => collect_strings(&Value::Object(step.values())),
                };
                for text in refs.iter().filter_map(|s| reference(s)) {
                    let (name, property) = text;
                    let token = earlier
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, t)| *t)
                        .unwrap_or_else(|| panic!("{}: no earlier step {name}", example.title));
                    assert!(
                        outputs_of(token, &registry).contains(&property),
                        "{}: {token} has no {property}",
                        example.title
                    );
                }
                match step {
                    Step::Resource { name, token, .. } => {
                        let properties = match component(token) {
                            Some(component) => component.inputs,
                            None => registry.resource(token).expect(token).spec().properties,
                        };
                        let values = with_references_unknown(&Value::Object(step.values()));
                        let mut failures = vec![];
                        check_properties(
                            properties,
                            values.as_object().unwrap(),
                            "",
                            &mut failures,
                        );
                        assert!(failures.is_empty(), "{}: {failures:?}", example.title);
                        earlier.push((name, token));
                    }
                    Step::Invoke { name, token, .. } => {
                        let function = registry
                            .functions()
                            .find(|f| f.spec().token == *token)
                            .expect(token);
                        let mut failures = vec![];
                        check_properties(function.spec().inputs, &step.values(), "", &mut failures);
                        assert!(failures.is_empty(), "{}: {failures:?}", example.title);
                        earlier.push((name, token));
                    }
                    Step::Export { .. } => {}
                }
            }
        }
    }

    fn collect_strings(value: &Value) -> Vec<String> {
        match value {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items.iter().flat_map(collect_strings).collect(),
            Value::Object(map) => map.values().flat_map(collect_strings).collect(),
            _ => vec![],
        }
    }
}
