//! The fuzz targets on the Pulumi wire and the SQL builders, shared by the bounded driver in
//! `cargo test` (tests/wire_fuzz.rs) and the coverage-guided one (fuzz/, `cargo fuzz`): each
//! takes arbitrary bytes and panics only on a broken invariant.

use pgentra_core::props::Props;
use pgentra_core::sql::grant::{GrantTarget, ObjectType};
use pgentra_core::sql::quote;
use pgentra_pulumi::codec::{decode, encode, encode_value};
use pgentra_pulumi::proto::pulumirpc::CheckRequest;
use prost::Message;

/// Target: a CheckRequest's bytes through prost, the codec and Check of every resource.
pub fn fuzz_pulumi_request(bytes: &[u8]) {
    let Ok(request) = CheckRequest::decode(bytes) else {
        return;
    };
    let Ok(props) = decode(request.news.as_ref()) else {
        return;
    };
    let again = decode(Some(&encode(&props, |_| false))).expect("what encode writes decodes");
    assert_eq!(again.values, props.values);
    for resource in pgentra_core::resources::all() {
        let checked = pgentra_core::provider::check(resource.as_ref(), &props, &Props::default());
        for failure in checked.failures {
            assert!(
                failure.reason.len() <= 1100,
                "unbounded refusal: {} bytes",
                failure.reason.len()
            );
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
    let types = [
        ObjectType::Database,
        ObjectType::Schema,
        ObjectType::Table,
        ObjectType::Sequence,
        ObjectType::Function,
        ObjectType::Role,
    ];
    let object_type = types[bytes.first().copied().unwrap_or(0) as usize % types.len()];
    let target = GrantTarget {
        role: role.clone(),
        database,
        object_type,
        schema: Some(schema).filter(|s| !s.is_empty()),
        objects: vec![object].into_iter().filter(|o| !o.is_empty()).collect(),
        with_grant_option: bytes.len().is_multiple_of(2),
        default_privileges: bytes.len().is_multiple_of(3),
        default_privileges_owner: bytes.len().is_multiple_of(5).then(|| role.clone()),
        revoke: bytes.len().is_multiple_of(7),
    };
    let privileges = vec![privilege];
    for sql in [
        target.grant_sql(&privileges),
        target.revoke_sql(&privileges),
        target.revoke_grant_option_sql(&privileges),
    ]
    .into_iter()
    .flatten()
    {
        assert!(!sql.contains('\0'), "{sql}");
        if target.is_public() {
            assert!(sql.contains(" PUBLIC"), "PUBLIC is the keyword: {sql}");
        } else {
            let role = quote::ident(&role).expect("a statement was built, so the role quoted");
            assert!(sql.contains(&role), "the role must appear quoted: {sql}");
            assert_ne!(
                role, "\"public\"",
                "PostgreSQL reads \"public\" as PUBLIC: {sql}"
            );
        }
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

pub fn seeds() -> Vec<Vec<u8>> {
    let news = |json: serde_json::Value| {
        let prost_types::Value {
            kind: Some(prost_types::value::Kind::StructValue(s)),
        } = encode_value(&json)
        else {
            unreachable!()
        };
        CheckRequest {
            urn: "urn:pulumi:dev::p::pgentra:index:Grant::g".into(),
            news: Some(s),
            ..Default::default()
        }
        .encode_to_vec()
    };
    vec![
        news(
            serde_json::json!({"role": "app", "database": "orders", "objectType": "table", "schema": "public",
            "privileges": ["SELECT"], "connection": {"host": "pg.postgres.database.azure.com", "username": "admin"}}),
        ),
        news(
            serde_json::json!({"serverName": "pg-orders", "storageSizeGb": 64, "tags": {"team": "data"}}),
        ),
        news(serde_json::json!({"value": "a\u{0}b", "name": "x".repeat(300)})),
        b"app|orders|public|orders|SELECT".to_vec(),
        b"a\"b|o'rd|sch ema|t;DROP|ALL".to_vec(),
        b"\0|\0|\0|\0|\0".to_vec(),
    ]
}
