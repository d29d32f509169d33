//! `pgentra gen-docs`: the registry documentation of both faces, generated from the one
//! description, in one `docs/` directory. Both registries read `docs/` at the repository root
//! and their file names do not meet: Pulumi's `_index.md` and `installation-configuration.md`,
//! Terraform's `index.md`, `resources/` and `data-sources/`.

use pgentra_core::resource::Registry;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the committed docs live, relative to the repository root.
pub const DEFAULT_DIR: &str = "docs";

/// Every page by its path relative to the docs directory.
pub fn generate() -> BTreeMap<PathBuf, String> {
    let registry = Registry::builtin();
    let mut pages = pgentra_pulumi::docs::generate(&registry);
    for (path, text) in pgentra_terraform::docs::generate(&registry) {
        let clash = pages.insert(path.clone(), text);
        assert!(
            clash.is_none(),
            "both faces generate docs/{}",
            path.display()
        );
    }
    pages
}

/// Writes the pages under `dir`, and removes the Markdown files there that are no longer
/// generated (a dropped resource's page).
pub fn write(pages: &BTreeMap<PathBuf, String>, dir: &Path) -> std::io::Result<usize> {
    for (relative, text) in pages {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text)?;
    }
    for relative in markdown_files(dir)? {
        if !pages.contains_key(&relative) {
            std::fs::remove_file(dir.join(&relative))?;
        }
    }
    Ok(pages.len())
}

/// The `.md` files under `dir` (relative, sorted).
pub fn markdown_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let entries = match std::fs::read_dir(dir.join(&relative)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let child = relative.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                pending.push(child);
            } else if child.extension().is_some_and(|e| e == "md") {
                found.push(child);
            }
        }
    }
    found.sort();
    Ok(found)
}
