//! sdk/python and sdk/nodejs are generated from the schema; this fails when someone changed the
//! schema (or the generators) without regenerating them, or left behind a file they no longer produce.

use pgentra::sdkgen::{self, Language};
use std::path::Path;

fn check(language: Language) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join(language.default_dir());
    let regenerate = format!("regenerate it with `cargo run --bin pgentra -- gen-sdk {language}`",);
    let generated = sdkgen::generate_builtin(language).expect("the schema generates an SDK");
    let mut problems = Vec::new();
    for (relative, text) in &generated {
        match std::fs::read_to_string(dir.join(relative)) {
            Ok(committed) if committed == *text => {}
            Ok(_) => problems.push(format!("{} differs", relative.display())),
            Err(_) => problems.push(format!("{} is missing", relative.display())),
        }
    }
    let existing = sdkgen::existing_files(&dir).expect("the SDK directory can be listed");
    for relative in existing {
        if !generated.contains_key(&relative) && !language.unmanaged(&relative) {
            problems.push(format!(
                "{} is not generated any more (delete it)",
                relative.display()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} is stale: {}; {regenerate}",
        dir.display(),
        problems.join(", ")
    );
}

#[test]
fn committed_python_sdk_matches_the_schema() {
    check(Language::Python);
}

#[test]
fn committed_nodejs_sdk_matches_the_schema() {
    check(Language::Nodejs);
}

/// The generator is deterministic: two runs give the same bytes.
#[test]
fn generating_twice_gives_the_same_files() {
    for language in Language::ALL {
        assert_eq!(
            sdkgen::generate_builtin(language).unwrap(),
            sdkgen::generate_builtin(language).unwrap(),
            "{language} SDK differs between two runs"
        );
    }
}

/// `gen-sdk` removes a file it generated before and no longer does (a dropped resource), and
/// leaves files it did not generate alone.
#[test]
fn writing_removes_stale_generated_files_only() {
    let dir = std::env::temp_dir().join(format!("pgentra-sdk-write-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let stale = dir.join("droppedResource.ts");
    std::fs::write(&stale, format!("// {}\n", sdkgen::GENERATED_MARKER)).unwrap();
    let mine = dir.join("notes.txt");
    std::fs::write(&mine, "not generated\n").unwrap();

    let files = sdkgen::generate_builtin(Language::Nodejs).unwrap();
    sdkgen::write(&files, &dir).unwrap();

    assert!(!stale.exists(), "a stale generated file was left behind");
    assert!(mine.exists(), "a file gen-sdk did not write was removed");
    assert!(dir.join("flexibleServer.ts").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
