#![no_main]
//! msgpack and JSON bytes through the Terraform codec.

#[allow(dead_code)]
#[path = "../../crates/terraform/tests/fuzz_targets/mod.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| targets::fuzz_terraform_codec(bytes));
