//! schema.json at the root is generated; this fails when someone changed a resource
//! description without regenerating it.

#[test]
fn committed_schema_json_matches_the_resource_descriptions() {
    let generated = pgentra::schema::render(&pgentra::resource::Registry::builtin());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema.json is stale or missing; regenerate it with `cargo run --bin pgentra -- schema --out schema.json`"
    );
}
