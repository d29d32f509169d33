//! A closed stdout or stderr never makes `pgentra` panic: `pgentra schema | head -c1`,
//! `pgentra --help | true`, `pgentra token 2>&-`. Each run's stream is a pipe whose read end is
//! already dropped (every write fails with EPIPE), or a closed descriptor.

use std::process::{Command, Output, Stdio};

const SYSTEM_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// A stream whose reader is gone: writing to it fails with EPIPE (Rust ignores SIGPIPE).
fn readerless_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Stdio::from(writer)
}

fn pgentra(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pgentra"));
    // No credentials: `pgentra token` fails at once, naming each source.
    command.env_clear().env("PATH", SYSTEM_PATH).args(args);
    command
}

fn assert_clean(run: &Output, code: i32, what: &str) {
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!stderr.contains("panicked"), "{what} panicked:\n{stderr}");
    assert_eq!(
        run.status.code(),
        Some(code),
        "{what}: exit code; stderr:\n{stderr}"
    );
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    for (args, code) in [
        (&["schema"][..], 0),
        (&["--help"], 0),
        (&["help"], 0),
        (&["version"], 0),
        (&["schema", "--help"], 0),
        (&["gen-sdk", "--help"], 0),
        (&["gen-docs", "--help"], 0),
        (&["token", "--help"], 0),
        (&["psql", "--help"], 0),
        (&["doctor", "--help"], 0),
        (&["demo", "--help"], 0),
        (&["emulator", "--help"], 0),
    ] {
        let run = pgentra(args)
            .stdout(readerless_pipe())
            .stderr(Stdio::piped())
            .output()
            .expect("pgentra starts");
        assert_clean(
            &run,
            code,
            &format!("pgentra {} >closed-pipe", args.join(" ")),
        );
    }
}

#[test]
fn a_closed_stderr_is_not_a_panic() {
    for (args, code) in [
        (&["token"][..], 1),
        (&["token", "--scope"], 2),
        (&["psql"], 2),
        (&["psql", "pg", "app", "-d", "other"], 2),
        (&["doctor", "--port", "x", "h"], 2),
        (&["demo", "--fast"], 2),
        (&["emulator", "--fast"], 2),
        (&["gen-sdk", "cobol"], 2),
        (&["no-such-command"], 2),
    ] {
        let what = format!("pgentra {} 2>closed-pipe", args.join(" "));
        let run = pgentra(args)
            .stdout(Stdio::piped())
            .stderr(readerless_pipe())
            .output()
            .expect("pgentra starts");
        // A panic's message is lost with stderr; its exit code (101) is not.
        assert_clean(&run, code, &what);
        assert!(run.stdout.is_empty(), "{what}: nothing on stdout");

        // `2>&-`: no stderr at all.
        let run = Command::new("sh")
            .args([
                "-c",
                "exec \"$0\" \"$@\" 2>&-",
                env!("CARGO_BIN_EXE_pgentra"),
            ])
            .args(args)
            .env_clear()
            .env("PATH", SYSTEM_PATH)
            .output()
            .expect("sh starts");
        assert_clean(&run, code, &format!("pgentra {} 2>&-", args.join(" ")));
    }
}

#[test]
fn both_streams_closed_is_not_a_panic() {
    let run = Command::new("sh")
        .args([
            "-c",
            "exec \"$0\" schema >&- 2>&-",
            env!("CARGO_BIN_EXE_pgentra"),
        ])
        .env_clear()
        .env("PATH", SYSTEM_PATH)
        .output()
        .expect("sh starts");
    assert_clean(&run, 0, "pgentra schema >&- 2>&-");
}

/// `pgentra emulator | head -c1`: the instructions go nowhere, the emulator serves on, and an
/// interrupt still stops it cleanly.
#[test]
fn the_emulator_with_a_closed_stdout_serves_and_stops_cleanly() {
    let dir = std::env::temp_dir().join(format!("pgentra-stdio-emulator-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    let mut child = pgentra(&["emulator", "--ca-file", ca_file.to_str().unwrap()])
        .stdout(readerless_pipe())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pgentra starts");
    // The CA file is written just before the instructions are printed.
    let started = std::time::Instant::now();
    while !ca_file.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the emulator did not start"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the emulator ended early"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still serving after printing into the closed pipe"
    );
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let run = child.wait_with_output().unwrap();
    assert_clean(&run, 0, "pgentra emulator >closed-pipe, then Ctrl-C");
    assert!(!ca_file.exists(), "the CA file is removed at the end");
    let _ = std::fs::remove_dir_all(&dir);
}
