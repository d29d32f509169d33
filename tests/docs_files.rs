//! docs/ is generated (`pgentra gen-docs`) from the resource descriptions and their examples;
//! this fails when someone changed them (or the generators) without regenerating the docs, or
//! left a page behind that is no longer generated.

use std::path::Path;

#[test]
fn committed_docs_match_the_descriptions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(pgentra::docs::DEFAULT_DIR);
    let generated = pgentra::docs::generate();
    let mut problems = Vec::new();
    for (relative, text) in &generated {
        match std::fs::read_to_string(dir.join(relative)) {
            Ok(committed) if committed == *text => {}
            Ok(_) => problems.push(format!("{} differs", relative.display())),
            Err(_) => problems.push(format!("{} is missing", relative.display())),
        }
    }
    for relative in pgentra::docs::markdown_files(&dir).expect("docs/ can be listed") {
        if !generated.contains_key(&relative) {
            problems.push(format!(
                "{} is not generated any more (delete it)",
                relative.display()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/ is stale: {}; regenerate it with `cargo run --bin pgentra -- gen-docs`",
        problems.join(", ")
    );
}

/// Both registries' pages are there, each in its registry's layout.
#[test]
fn both_faces_have_their_registry_pages() {
    let generated = pgentra::docs::generate();
    for page in [
        "_index.md",
        "installation-configuration.md",
        "index.md",
        "resources/flexible_server.md",
        "resources/grant.md",
        "data-sources/client_config.md",
    ] {
        assert!(
            generated.contains_key(Path::new(page)),
            "docs/{page} is not generated"
        );
    }
}
