#![no_main]
//! The SQL quoting and GRANT/REVOKE builders on arbitrary names and privileges.

#[allow(dead_code)]
#[path = "../../crates/pulumi/tests/fuzz_targets/mod.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| targets::fuzz_sql_builders(bytes));
