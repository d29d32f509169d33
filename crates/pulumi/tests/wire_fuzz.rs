//! Bounded fuzzing in every `cargo test`: the Pulumi request codec with Check, and the SQL
//! builders, over a seed corpus and seeded mutations (fuzz/driver.rs). A target passes when it
//! returns without panicking; each asserts what must hold for whatever it accepted.

mod fuzz_targets;

#[path = "../../../fuzz/driver.rs"]
mod driver;

use fuzz_targets::{fuzz_pulumi_request, fuzz_sql_builders, seeds};

/// Bytes the protobuf and SQL layers treat specially: NUL, separators, quotes, a bad UTF-8 lead.
const SPECIAL: &[u8] = &[0, b'|', b'"', b'\'', b';', 0xff];

#[test]
fn fuzz_the_pulumi_request_codec_and_check() {
    driver::drive(
        &seeds(),
        SPECIAL,
        0x9e37_79b9_7f4a_7c15,
        fuzz_pulumi_request,
    );
}

#[test]
fn fuzz_the_sql_builders() {
    driver::drive(&seeds(), SPECIAL, 0x9e37_79b9_7f4a_7c15, fuzz_sql_builders);
}
