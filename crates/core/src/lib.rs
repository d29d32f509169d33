//! pgentra's provider core: the one description of every resource, the resources themselves,
//! and the Azure and PostgreSQL layers beneath them. No protocol lives here: the Pulumi and
//! Terraform adapters translate their wire into these types and back.

pub mod azure;
pub mod components;
pub mod config;
pub mod error;
pub mod examples;
pub mod names;
pub mod props;
pub mod provider;
pub mod resource;
pub mod resources;
pub mod rules;
pub mod spec;
pub mod sql;
pub mod tls_failure;

/// pgentra's version, as every face reports it (the Pulumi plugin and its schema, the CLI, the
/// user agent): the workspace version of Cargo.toml, or the one a release build stamps with the
/// PGENTRA_VERSION environment variable at compile time (`scripts/release VERSION` does).
pub const VERSION: &str = match option_env!("PGENTRA_VERSION") {
    Some(version) => version,
    None => env!("CARGO_PKG_VERSION"),
};
