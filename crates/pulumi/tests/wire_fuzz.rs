//! Bounded fuzzing that runs in every `cargo test`: the fuzz targets below take arbitrary
//! bytes, and this driver feeds them a seed corpus plus a few thousand seeded mutations of it
//! (bit flips, byte splices, truncations, repeats), deterministically. A target passes when it
//! returns without panicking; each asserts what must hold for whatever it accepted.
//! `PGENTRA_FUZZ_ITERATIONS` runs longer (see README's test section).

use pgentra_core::props::Props;
use pgentra_core::sql::grant::{GrantTarget, ObjectType};
use pgentra_core::sql::quote;
use pgentra_pulumi::codec::{decode, encode, encode_value};
use pgentra_pulumi::proto::pulumirpc::CheckRequest;
use prost::Message;

/// Target: a CheckRequest's bytes through prost, the codec and Check of every resource.
pub fn fuzz_pulumi_request(bytes: &[u8]) {
    let Ok(request) = CheckRequest::decode(bytes) else { return };
    let Ok(props) = decode(request.news.as_ref()) else { return };
    let again = decode(Some(&encode(&props, |_| false))).expect("what encode writes decodes");
    assert_eq!(again.values, props.values);
    for resource in pgentra_core::resources::all() {
        let checked = pgentra_core::provider::check(resource.as_ref(), &props, &Props::default());
        for failure in checked.failures {
            assert!(failure.reason.len() <= 1100, "unbounded refusal: {} bytes", failure.reason.len());
        }
    }
}

/// Target: the SQL builders on arbitrary names and privileges. Whatever they build quotes
/// every name: no NUL, and each identifier as quote::ident spells it.
pub fn fuzz_sql_builders(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let mut parts = text.split('|').map(str::to_owned);
    let mut next = || parts.next().unwrap_or_default();
    let (role, database, schema, object, privilege) = (next(), next(), next(), next(), next());
    if let Ok(quoted) = quote::ident(&role) {
        assert!(quoted.starts_with('"') && quoted.ends_with('"') && !quoted.contains('\0'));
    }
    if let Ok(quoted) = quote::literal(&database) {
        assert!(quoted.contains('\'') && !quoted.contains('\0'));
    }
    let _ = quote::qualified(&schema, &object);
    let types = [ObjectType::Database, ObjectType::Schema, ObjectType::Table, ObjectType::Sequence, ObjectType::Function, ObjectType::Role];
    let object_type = types[bytes.first().copied().unwrap_or(0) as usize % types.len()];
    let target = GrantTarget {
        role: role.clone(),
        database,
        object_type,
        schema: Some(schema).filter(|s| !s.is_empty()),
        objects: vec![object].into_iter().filter(|o| !o.is_empty()).collect(),
        with_grant_option: bytes.len() % 2 == 0,
        default_privileges: bytes.len() % 3 == 0,
    };
    let privileges = vec![privilege];
    for sql in [target.grant_sql(&privileges), target.revoke_sql(&privileges), target.revoke_grant_option_sql(&privileges)]
        .into_iter()
        .flatten()
    {
        assert!(!sql.contains('\0'), "{sql}");
        let role = quote::ident(&role).expect("a statement was built, so the role quoted");
        assert!(sql.contains(&role), "the role must appear quoted: {sql}");
        // Anything after the quoted names is the builder's own text: no statement separator
        // can come from data.
        let unquoted = strip_quoted(&sql);
        assert!(!unquoted.contains(';'), "a ';' outside quotes: {sql}");
    }
}

/// The SQL with every "..." and '...' section removed.
fn strip_quoted(sql: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match quote {
            Some(q) if c == q => quote = None, // a doubled quote re-opens at once: same outcome
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None => out.push(c),
        }
    }
    out
}

fn seeds() -> Vec<Vec<u8>> {
    let news = |json: serde_json::Value| {
        let prost_types::Value { kind: Some(prost_types::value::Kind::StructValue(s)) } = encode_value(&json) else { unreachable!() };
        CheckRequest { urn: "urn:pulumi:dev::p::pgentra:index:Grant::g".into(), news: Some(s), ..Default::default() }.encode_to_vec()
    };
    vec![
        news(serde_json::json!({"role": "app", "database": "orders", "objectType": "table", "schema": "public",
            "privileges": ["SELECT"], "connection": {"host": "pg.postgres.database.azure.com", "username": "admin"}})),
        news(serde_json::json!({"serverName": "pg-orders", "storageSizeGb": 64, "tags": {"team": "data"}})),
        news(serde_json::json!({"value": "a\u{0}b", "name": "x".repeat(300)})),
        b"app|orders|public|orders|SELECT".to_vec(),
        b"a\"b|o'rd|sch ema|t;DROP|ALL".to_vec(),
        b"\0|\0|\0|\0|\0".to_vec(),
    ]
}

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
