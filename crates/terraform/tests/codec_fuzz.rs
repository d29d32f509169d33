//! Bounded fuzzing of the Terraform codec in every `cargo test`: the target of fuzz_targets/ over
//! a seed corpus and seeded mutations (fuzz/driver.rs).

mod fuzz_targets;

#[path = "../../../fuzz/driver.rs"]
mod driver;

/// msgpack markers (fixarray, fixmap, nil, float64, fixext, bad lead) and JSON's brackets.
const SPECIAL: &[u8] = &[0x91, 0x81, 0xc0, 0xcb, 0xd4, 0xff, b'[', b'{'];

#[test]
fn fuzz_the_terraform_codec() {
    driver::drive(
        &fuzz_targets::seeds(),
        SPECIAL,
        0x2545_f491_4f6c_dd1d,
        fuzz_targets::fuzz_terraform_codec,
    );
}
