//! pgentra's provider core: the one description of every resource, the resources themselves,
//! and the Azure and PostgreSQL layers beneath them. No protocol lives here: the Pulumi and
//! Terraform adapters translate their wire into these types and back.

pub mod azure;
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
