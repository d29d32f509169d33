//! Bounded fuzzing of the Terraform codec in every `cargo test`: the target of fuzz_targets/
//! over a seed corpus plus seeded random mutations (`PGENTRA_FUZZ_ITERATIONS`, default 20,000).

mod fuzz_targets;

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
        match rng.below(4) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = rng.next() as u8;
            }
            2 => out.truncate(rng.below(out.len() + 1)),
            _ => {
                let at = rng.below(out.len() + 1);
                let byte = [0x91, 0x81, 0xc0, 0xcb, 0xd4, 0xff, b'[', b'{'][rng.below(8)];
                out.insert(at, byte);
            }
        }
    }
    out
}

#[test]
fn fuzz_the_terraform_codec() {
    let corpus = fuzz_targets::seeds();
    for seed in &corpus {
        fuzz_targets::fuzz_terraform_codec(seed);
    }
    let iterations = std::env::var("PGENTRA_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..iterations {
        let pick = rng.below(corpus.len());
        let input = mutate(&mut rng, &corpus[pick]);
        fuzz_targets::fuzz_terraform_codec(&input);
    }
}
