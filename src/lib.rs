//! The `pgentra` command line (demo, emulator, token, psql, doctor, schema and SDK generation),
//! and, for the integration tests and benches, the layers beneath it under their old paths.

pub mod cli;
pub mod docs;

pub use pgentra_core::{azure, config, props, resource, resources, rules, spec, sql};
pub use pgentra_pulumi as pulumi;
pub use pgentra_pulumi::{logging, proto, schema, sdkgen};
