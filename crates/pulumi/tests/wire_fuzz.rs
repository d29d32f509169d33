//! Bounded fuzzing that runs in every `cargo test`: the targets of fuzz_targets/ take arbitrary
//! bytes, and this driver feeds them a seed corpus plus a few thousand seeded mutations of it
//! (bit flips, byte splices, truncations, repeats), deterministically. A target passes when it
//! returns without panicking; each asserts what must hold for whatever it accepted.
//! `PGENTRA_FUZZ_ITERATIONS` runs longer (see README's test section).

mod fuzz_targets;

use fuzz_targets::{fuzz_pulumi_request, fuzz_sql_builders, seeds};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(5) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = rng.next() as u8;
            }
            2 => out.truncate(rng.below(out.len() + 1)),
            3 if !out.is_empty() => {
                let (a, b) = (rng.below(out.len()), rng.below(out.len()));
                let (lo, hi) = (a.min(b), a.max(b));
                let chunk = out[lo..hi].to_vec();
                let at = rng.below(out.len());
                out.splice(at..at, chunk);
            }
            _ => {
                let at = rng.below(out.len() + 1);
                out.insert(at, [0u8, b'|', b'"', b'\'', b';', 0xff][rng.below(6)]);
            }
        }
    }
    out
}

fn iterations() -> usize {
    std::env::var("PGENTRA_FUZZ_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
}

fn drive(target: fn(&[u8])) {
    let corpus = seeds();
    for seed in &corpus {
        target(seed);
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..iterations() {
        let pick = rng.below(corpus.len());
        let input = mutate(&mut rng, &corpus[pick]);
        target(&input);
    }
}

#[test]
fn fuzz_the_pulumi_request_codec_and_check() {
    drive(fuzz_pulumi_request);
}

#[test]
fn fuzz_the_sql_builders() {
    drive(fuzz_sql_builders);
}
