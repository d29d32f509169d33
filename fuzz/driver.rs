//! The bounded fuzz driver every `cargo test` runs (crates/*/tests/*_fuzz.rs include it): a seed
//! corpus, then seeded mutations of it (bit flips, byte changes, truncations, splices, inserted
//! bytes a codec treats specially), deterministically, so a failure repeats. `cargo fuzz` runs the
//! same targets coverage-guided (fuzz/README.md). `PGENTRA_FUZZ_ITERATIONS` runs longer.

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

fn mutate(rng: &mut Rng, input: &[u8], special: &[u8]) -> Vec<u8> {
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
                let chunk = out[a.min(b)..a.max(b)].to_vec();
                let at = rng.below(out.len());
                out.splice(at..at, chunk);
            }
            _ => {
                let at = rng.below(out.len() + 1);
                out.insert(at, special[rng.below(special.len())]);
            }
        }
    }
    out
}

fn iterations() -> usize {
    std::env::var("PGENTRA_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

/// Runs `target` over every seed, then over `PGENTRA_FUZZ_ITERATIONS` (default 20,000) mutations
/// of them that insert bytes from `special` among others. A target passes by not panicking.
pub fn drive(corpus: &[Vec<u8>], special: &[u8], seed: u64, target: fn(&[u8])) {
    for input in corpus {
        target(input);
    }
    let mut rng = Rng(seed);
    for _ in 0..iterations() {
        let pick = rng.below(corpus.len());
        target(&mutate(&mut rng, &corpus[pick], special));
    }
}
