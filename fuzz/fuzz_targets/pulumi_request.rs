#![no_main]
//! A CheckRequest's bytes through prost, the Pulumi codec and Check of every resource.

#[allow(dead_code)]
#[path = "../../crates/pulumi/tests/fuzz_targets/mod.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| targets::fuzz_pulumi_request(bytes));
