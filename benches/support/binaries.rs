//! The plugin binaries live in their own crates (so they never link the emulator), and Cargo
//! builds only a bench's own package's binaries for it: each bench builds the one it drives,
//! in the bench's profile, and runs it from the same target directory.

use std::path::PathBuf;
use std::process::Command;

/// Builds `bin` of `package` in release mode and returns its path beside this bench's binary.
pub fn release_binary(package: &str, bin: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(&cargo);
    // What cargo sets for the bench's own run: build scripts (ring's) watch some of these, and
    // inherited they would rebuild everything above them, twice per bench run.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_CRATE_NAME",
                "OUT_DIR",
            ]
            .contains(&name.as_str())
        {
            build.env_remove(name);
        }
    }
    let status = build
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            package,
            "--bin",
            bin,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap_or_else(|e| panic!("running `{cargo} build -p {package}`: {e}"));
    assert!(
        status.success(),
        "`cargo build --release -p {package} --bin {bin}` failed"
    );
    // target/release/deps/<bench>-<hash> -> target/release/<bin>
    let exe = std::env::current_exe().expect("the bench's own path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the bench runs from target/<profile>/deps");
    let path = profile_dir.join(bin);
    assert!(path.exists(), "{} was not built", path.display());
    path
}
