//! The Terraform schema, derived from the core's one description of each resource (the same
//! descriptions schema.json comes from), so names, flags and docs cannot drift apart.
//!
//! Rules (DESIGN.md "The Terraform face", PROTOCOL.md 5.2):
//! - type names `pgentra_<snake_case>`, attribute names by [`Property::tf_name`];
//! - every resource gets a computed string `id` (the same ID as Pulumi's);
//! - required input -> required; auto-named names (Pulumi's `serverName`) -> required too, since
//!   Terraform has no URN to derive a name from;
//! - every other input is optional+computed: the provider fills some in (a default, a derived
//!   value), Azure reports the rest back (a database's charset, a server's tenant), so leaving one
//!   out of the configuration means "whatever it is now" and an imported resource plans empty;
//!   only secrets, which are never read back, are plain optional; outputs -> computed;
//! - `secret` -> sensitive; docs in markdown;
//! - an object-typed property (`connection`) -> a nested block, nesting SINGLE, named by its
//!   tf_name (`sql_connection`), whose members follow the same rules;
//! - integer and number -> number, arrays -> list, maps -> map.

use pgentra_core::config::CONFIG;
use pgentra_core::spec::{FunctionSpec, Property, ResourceSpec, Role, Type};

use crate::cty::CtyType;
use crate::proto::tfplugin6::{schema, Schema, StringKind};

/// The name of the computed ID attribute every resource has.
pub const ID: &str = "id";

/// One attribute of a block.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub ty: CtyType,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    /// The description's property (None for `id`).
    pub property: Option<&'static Property>,
}

/// A nested block (nesting SINGLE: pgentra has no repeated blocks).
#[derive(Debug, Clone)]
pub struct NestedBlock {
    pub name: String,
    pub block: Block,
    pub required: bool,
    pub property: &'static Property,
}

/// A block: the resource itself, the provider block, a data source, or a nested block.
#[derive(Debug, Clone, Default)]
pub struct Block {
    pub description: String,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
}

impl Block {
    /// The block's implied cty type: an object with one attribute per attribute and per block.
    pub fn cty_type(&self) -> CtyType {
        CtyType::object(
            self.attributes
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone()))
                .chain(
                    self.blocks
                        .iter()
                        .map(|b| (b.name.clone(), b.block.cty_type())),
                ),
        )
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    pub fn block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }

    pub fn to_proto(&self) -> schema::Block {
        schema::Block {
            version: 0,
            attributes: self
                .attributes
                .iter()
                .map(|a| schema::Attribute {
                    name: a.name.clone(),
                    r#type: a.ty.type_text(),
                    nested_type: None,
                    description: a.description.clone(),
                    required: a.required,
                    optional: a.optional,
                    computed: a.computed,
                    sensitive: a.sensitive,
                    description_kind: StringKind::Markdown as i32,
                    deprecated: false,
                })
                .collect(),
            block_types: self
                .blocks
                .iter()
                .map(|b| schema::NestedBlock {
                    type_name: b.name.clone(),
                    block: Some(b.block.to_proto()),
                    nesting: schema::nested_block::NestingMode::Single as i32,
                    // NestingSingle allows only 0 or 1; 1 makes the block required.
                    min_items: i64::from(b.required),
                    max_items: 1,
                })
                .collect(),
            description: self.description.clone(),
            description_kind: StringKind::Markdown as i32,
            deprecated: false,
        }
    }

    pub fn to_schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Some(self.to_proto()),
        }
    }
}

/// The cty type of a property type (objects only appear as nested blocks at the top level;
/// deeper ones, should a description ever hold one, become object types).
pub fn cty_of(ty: &Type) -> CtyType {
    match ty {
        Type::String => CtyType::String,
        Type::Integer | Type::Number => CtyType::Number,
        Type::Boolean => CtyType::Bool,
        Type::Array(item) => CtyType::list(cty_of(item)),
        Type::Map(item) => CtyType::map(cty_of(item)),
        Type::Object(object) => CtyType::object(
            object
                .properties
                .iter()
                .filter(|p| p.is_input())
                .map(|p| (p.tf_name(), cty_of(&p.ty))),
        ),
    }
}

/// How an input property appears: (required, optional, computed).
pub fn input_flags(property: &Property, auto_named: bool) -> (bool, bool, bool) {
    if property.is_required() || auto_named {
        (true, false, false)
    } else {
        let computed = property.is_provider_filled() || !property.secret;
        (false, true, computed)
    }
}

fn properties_block(
    properties: &'static [Property],
    description: &str,
    auto_named: &dyn Fn(&str) -> bool,
) -> Block {
    let mut block = Block {
        description: description.to_owned(),
        ..Block::default()
    };
    for property in properties {
        match (property.role, property.ty) {
            (Role::Input { .. }, Type::Object(object)) => {
                let nested = properties_block(object.properties, object.doc, &|_| false);
                block.blocks.push(NestedBlock {
                    name: property.tf_name(),
                    block: Block {
                        description: property.doc.to_owned(),
                        ..nested
                    },
                    required: property.is_required(),
                    property,
                });
            }
            (Role::Input { .. }, ty) => {
                let (required, optional, computed) =
                    input_flags(property, auto_named(property.name));
                block.attributes.push(Attribute {
                    name: property.tf_name(),
                    ty: cty_of(&ty),
                    description: property.doc.to_owned(),
                    required,
                    optional,
                    computed,
                    sensitive: property.secret,
                    property: Some(property),
                });
            }
            (Role::Output { .. }, ty) => block.attributes.push(Attribute {
                name: property.tf_name(),
                ty: cty_of(&ty),
                description: property.doc.to_owned(),
                required: false,
                optional: false,
                computed: true,
                sensitive: property.secret,
                property: Some(property),
            }),
        }
    }
    block
}

/// A resource's block: its properties plus the computed `id`.
pub fn resource_block(spec: &'static ResourceSpec) -> Block {
    let mut block = properties_block(spec.properties, spec.doc, &|name| spec.is_auto_named(name));
    block.attributes.insert(
        0,
        Attribute {
            name: ID.to_owned(),
            ty: CtyType::String,
            description: "The resource's ID, the same as Pulumi's: the ARM resource ID, or for \
                          SQL resources a self-describing ID (host, port, database, admin user \
                          and the object). `terraform import` takes it."
                .to_owned(),
            required: false,
            optional: false,
            computed: true,
            sensitive: false,
            property: None,
        },
    );
    block
}

/// The provider block: every setting optional (each also read from the environment).
pub fn provider_block() -> Block {
    let mut block = properties_block(
        CONFIG,
        "pgentra: passwordless Azure Database for PostgreSQL. Each setting may also come from \
         its environment variable (`AZURE_*`, or azurerm's `ARM_*` names).",
        &|_| false,
    );
    for attribute in &mut block.attributes {
        // A provider block has no computed settings: defaults apply at Configure.
        attribute.computed = false;
        attribute.required = false;
        attribute.optional = true;
        if let Some(property) = attribute.property {
            if !property.env.is_empty() {
                attribute.description = format!(
                    "{} Read from {} when not set.",
                    property.doc,
                    property
                        .env
                        .iter()
                        .map(|v| format!("`{v}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                );
            }
        }
    }
    block
}

/// A data source's block from a function: arguments as inputs, results computed.
pub fn function_block(spec: &'static FunctionSpec) -> Block {
    let mut block = properties_block(spec.inputs, spec.doc, &|_| false);
    let outputs = properties_block(spec.outputs, "", &|_| false);
    block.attributes.extend(outputs.attributes);
    block
}

/// The Terraform data source name of a function: `getClientConfig` -> `pgentra_client_config`.
pub fn data_source_name(spec: &FunctionSpec) -> String {
    let name = spec.token.rsplit(':').next().unwrap_or(spec.token);
    let name = name.strip_prefix("get").unwrap_or(name);
    format!("pgentra_{}", pgentra_core::names::snake_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgentra_core::resource::Registry;

    fn resource(token: &str) -> Block {
        let registry = Registry::builtin();
        resource_block(registry.resource(token).expect(token).spec())
    }

    fn flags(attribute: &Attribute) -> (bool, bool, bool) {
        (attribute.required, attribute.optional, attribute.computed)
    }

    #[test]
    fn every_resource_type_is_named_by_the_rule() {
        let registry = Registry::builtin();
        let mut names: Vec<String> = registry
            .resources()
            .map(|r| r.spec().tf_type_name())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "pgentra_ad_admin",
                "pgentra_database",
                "pgentra_federated_credential",
                "pgentra_firewall_rule",
                "pgentra_flexible_server",
                "pgentra_grant",
                "pgentra_managed_identity",
                "pgentra_principal",
                "pgentra_server_parameter",
            ]
        );
    }

    #[test]
    fn a_server_has_a_computed_id_and_the_contract_flags() {
        let server = resource("pgentra:index:FlexibleServer");
        let at = |name: &str| server.attribute(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(flags(at("id")), (false, false, true));
        assert_eq!(flags(at("resource_group_name")), (true, false, false));
        // Auto-named in Pulumi, required in Terraform.
        assert_eq!(flags(at("server_name")), (true, false, false));
        // Provider-filled: a default, a derived value.
        assert_eq!(flags(at("storage_size_gb")), (false, true, true));
        assert_eq!(flags(at("active_directory_auth")), (false, true, true));
        assert_eq!(flags(at("sku_tier")), (false, true, true));
        // Reported back by Azure when left out; a secret is never read back.
        assert_eq!(flags(at("public_network_access")), (false, true, true));
        assert_eq!(flags(at("administrator_login")), (false, true, true));
        assert_eq!(
            flags(at("administrator_login_password")),
            (false, true, false)
        );
        assert!(at("administrator_login_password").sensitive);
        assert_eq!(
            flags(at("fully_qualified_domain_name")),
            (false, false, true)
        );
        assert_eq!(at("storage_size_gb").ty, CtyType::Number);
        assert_eq!(at("tags").ty, CtyType::map(CtyType::String));
        assert!(server.blocks.is_empty());
    }

    #[test]
    fn a_grant_takes_its_connection_as_a_required_single_sql_connection_block() {
        let grant = resource("pgentra:index:Grant");
        assert!(grant.attribute("connection").is_none());
        let block = grant.block("sql_connection").expect("sql_connection block");
        assert!(block.required);
        let member = |name: &str| {
            block
                .block
                .attribute(name)
                .unwrap_or_else(|| panic!("{name}"))
        };
        assert_eq!(flags(member("host")), (true, false, false));
        assert_eq!(flags(member("username")), (true, false, false));
        for defaulted in ["port", "database", "ssl_mode"] {
            assert_eq!(flags(member(defaulted)), (false, true, true), "{defaulted}");
        }
        assert_eq!(
            grant.attribute("privileges").unwrap().ty,
            CtyType::list(CtyType::String)
        );
        let proto = grant.to_proto();
        let nested = proto
            .block_types
            .iter()
            .find(|b| b.type_name == "sql_connection")
            .unwrap();
        assert_eq!(
            nested.nesting,
            schema::nested_block::NestingMode::Single as i32
        );
        assert_eq!((nested.min_items, nested.max_items), (1, 1));
        // The implied type carries the block as an object attribute.
        match grant.cty_type() {
            CtyType::Object(attributes) => {
                assert!(matches!(
                    attributes.get("sql_connection"),
                    Some(CtyType::Object(_))
                ))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_provider_block_is_the_config_in_snake_case_with_the_secret_sensitive() {
        let provider = provider_block();
        let names: Vec<&str> = provider
            .attributes
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "subscription_id",
                "tenant_id",
                "client_id",
                "client_secret",
                "oidc_token_file_path",
                "use_msi",
                "environment",
                "arm_endpoint",
                "authority_host",
                "ca_cert_file",
                "msi_endpoint",
                "oidc_request_url",
                "oidc_request_token",
                "graph_endpoint",
            ]
        );
        for attribute in &provider.attributes {
            assert_eq!(flags(attribute), (false, true, false), "{}", attribute.name);
            assert_eq!(
                attribute.sensitive,
                ["client_secret", "oidc_request_token"].contains(&attribute.name.as_str())
            );
        }
        assert!(provider
            .attribute("client_secret")
            .unwrap()
            .description
            .contains("`ARM_CLIENT_SECRET`"));
    }

    #[test]
    fn the_client_config_data_source_has_computed_results_and_no_token_source_exists() {
        let registry = Registry::builtin();
        let names: Vec<String> = registry
            .functions()
            .map(|f| data_source_name(f.spec()))
            .collect();
        assert!(
            names.contains(&"pgentra_client_config".to_owned()),
            "{names:?}"
        );
        let function = registry.function("pgentra:index:getClientConfig").unwrap();
        let block = function_block(function.spec());
        for name in [
            "tenant_id",
            "subscription_id",
            "object_id",
            "name",
            "client_id",
        ] {
            assert_eq!(
                flags(block.attribute(name).unwrap()),
                (false, false, true),
                "{name}"
            );
        }
    }

    #[test]
    fn descriptions_are_markdown_and_names_legal() {
        let registry = Registry::builtin();
        for resource in registry.resources() {
            let proto = resource_block(resource.spec()).to_proto();
            assert_eq!(proto.description_kind, StringKind::Markdown as i32);
            for attribute in &proto.attributes {
                assert!(attribute
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
                assert!(attribute.required || attribute.optional || attribute.computed);
                assert!(!(attribute.required && (attribute.optional || attribute.computed)));
                assert!(!attribute.description.is_empty(), "{}", attribute.name);
            }
        }
    }
}
