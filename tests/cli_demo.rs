//! `pgentra demo` as a user runs it: the real binary, to the end, against the local PostgreSQL
//! on 127.0.0.1:5432 (scripts/test starts one; without one the demo would start a private
//! one). The assertions are what the user reads: every step, a create per resource of the
//! stack, the drift found and restored, the proof, exit 0, and no token in the output.

use std::process::Command;
use std::time::{Duration, Instant};

/// The demo's resource count, from the stack it declares (names do not change the count).
fn stack_size() -> usize {
    let names = pgentra::cli::demo::stack::Names::with_suffix("test");
    let config = pgentra::cli::demo::stack::Config {
        tenant_id: "t".into(),
        admin_group_object_id: "o".into(),
        oidc_issuer: "https://127.0.0.1".into(),
    };
    pgentra::cli::demo::stack::seed(&names, &config).len()
}

/// The lines of one step (from its header to the next one).
fn section(output: &str, step: usize) -> &str {
    let start = output
        .find(&format!("== Step {step}/7"))
        .unwrap_or_else(|| panic!("step {step} is missing from the output:\n{output}"));
    let rest = &output[start..];
    let end = rest[3..].find("\n== ").map(|i| i + 3).unwrap_or(rest.len());
    &rest[..end]
}

fn count_lines(text: &str, op: char, status: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with(&format!(" {op}  pgentra:index:")) && l.contains(status))
        .count()
}

#[test]
fn the_demo_runs_the_whole_chain_and_proves_the_app_signs_in_only_with_its_token() {
    let started = Instant::now();
    let run = Command::new(env!("CARGO_BIN_EXE_pgentra"))
        .arg("demo")
        .output()
        .expect("pgentra demo starts");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let output = format!("{stdout}{stderr}");
    assert!(
        run.status.success(),
        "pgentra demo failed ({}):\n{output}",
        run.status
    );
    let n = stack_size();
    assert!(n >= 18, "the seed's stack has {n} resources");

    let preview = section(&stdout, 1);
    assert_eq!(count_lines(preview, '+', " create"), n, "{preview}");
    assert!(
        preview.contains(&format!("Resources: + {n} to create.")),
        "{preview}"
    );
    assert!(
        preview.contains("known after create: fullyQualifiedDomainName"),
        "the preview does not say the server's FQDN is unknown yet:\n{preview}"
    );

    let create = section(&stdout, 2);
    assert_eq!(count_lines(create, '+', "created ("), n, "{create}");
    assert!(
        create.contains(&format!("Resources: + {n} created.")),
        "{create}"
    );

    let change = section(&stdout, 3);
    for name in ["server", "app-identity"] {
        assert!(
            change.lines().any(|l| l.starts_with(" ~  ")
                && l.contains(&format!(" {name} "))
                && l.contains("updated (")),
            "{name} was not updated:\n{change}"
        );
    }
    assert!(change.contains("\"owner\":\"platform-team\""), "{change}");
    assert_eq!(count_lines(change, '+', "created ("), 1, "{change}");
    assert!(
        change.contains("Resources: + 1 created, ~ 2 updated"),
        "{change}"
    );

    let refresh = section(&stdout, 4);
    assert!(
        refresh.contains("~ endIpAddress: \"198.51.100.7\" => \"198.51.100.255\""),
        "the firewall rule's drift was not found:\n{refresh}"
    );
    assert!(
        refresh.contains(
            "~ privileges: [\"DELETE\",\"INSERT\",\"SELECT\",\"UPDATE\"] => [\"INSERT\",\"SELECT\",\"UPDATE\"]"
        ),
        "the revoked privilege was not found:\n{refresh}"
    );
    assert!(refresh.contains("Resources: ~ 2 drifted"), "{refresh}");

    let restore = section(&stdout, 5);
    assert_eq!(count_lines(restore, '~', "updated ("), 2, "{restore}");
    assert!(restore.contains("Resources: ~ 2 updated"), "{restore}");

    let proof = section(&stdout, 6);
    assert!(proof.contains("TLS verify-full"), "{proof}");
    assert!(
        proof.contains("read:  SELECT id, item FROM public.orders -> (1, \"widget, blue\")"),
        "{proof}"
    );
    assert!(
        proof.contains("PROOF: the app read back the row it wrote"),
        "{proof}"
    );
    assert!(
        proof.contains("password authentication failed for user"),
        "the server's refusal is not shown:\n{proof}"
    );
    assert!(proof.contains("PROOF: password sign-in refused"), "{proof}");

    let destroy = section(&stdout, 7);
    assert_eq!(count_lines(destroy, '-', "deleted ("), n + 1, "{destroy}");
    assert!(
        destroy.contains(&format!("Resources: - {} deleted.", n + 1)),
        "{destroy}"
    );
    assert!(
        stdout.contains("every step and the proof succeeded"),
        "{stdout}"
    );

    // Tokens are JWTs: base64url of '{"' starts every one of them.
    assert!(
        !output.contains("eyJ"),
        "the output holds a token:\n{output}"
    );
    let left = roles_left_by(&stdout);
    assert!(
        left.is_empty(),
        "the demo left roles in the local PostgreSQL: {left:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "the demo took {:?}",
        started.elapsed()
    );
}

/// The roles of this run (their names carry the run's suffix) still in the local PostgreSQL.
fn roles_left_by(stdout: &str) -> Vec<String> {
    let suffix = stdout
        .split("group pg-admins-")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("the output names no admin group:\n{stdout}"))
        .to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres",
            tokio_postgres::NoTls,
        )
        .await
        .expect("PostgreSQL answers on 127.0.0.1:5432 (scripts/test starts it)");
        tokio::spawn(connection);
        client
            .query(
                "SELECT rolname::text FROM pg_roles WHERE rolname LIKE '%-' || $1 || '%'",
                &[&suffix],
            )
            .await
            .expect("listing roles")
            .iter()
            .map(|r| r.get(0))
            .collect()
    })
}

#[test]
fn the_demo_starts_a_private_postgres_when_asked_and_removes_it_at_the_end() {
    let run = Command::new(env!("CARGO_BIN_EXE_pgentra"))
        .args(["demo", "--private-postgres"])
        .output()
        .expect("pgentra demo starts");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "pgentra demo --private-postgres failed ({}):\n{stdout}{stderr}",
        run.status
    );
    let setup = stdout
        .lines()
        .find(|l| {
            l.trim_start().starts_with("PostgreSQL")
                && l.contains("a private server from /usr/lib/postgresql/")
        })
        .unwrap_or_else(|| panic!("no private PostgreSQL was started:\n{stdout}"));
    let data_dir = setup
        .split(", in ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("the setup line names no folder: {setup}"));
    assert!(
        stdout.contains("PROOF: the app read back the row it wrote"),
        "{stdout}"
    );
    assert!(
        stdout.contains("PROOF: password sign-in refused"),
        "{stdout}"
    );
    assert!(stdout.contains("is stopped and removed"), "{stdout}");
    assert!(
        !std::path::Path::new(data_dir).exists(),
        "the private PostgreSQL's folder {data_dir} is still there"
    );
}

#[test]
fn the_demo_explains_itself_and_refuses_unknown_options() {
    let help = Command::new(env!("CARGO_BIN_EXE_pgentra"))
        .args(["demo", "--help"])
        .output()
        .expect("pgentra demo --help starts");
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for option in [
        "--lro-ms N",
        "--private-postgres",
        "--keep",
        "apt-get install -y postgresql",
    ] {
        assert!(
            text.contains(option),
            "--help does not describe {option}:\n{text}"
        );
    }

    let wrong = Command::new(env!("CARGO_BIN_EXE_pgentra"))
        .args(["demo", "--fast"])
        .output()
        .expect("pgentra demo --fast starts");
    assert_eq!(wrong.status.code(), Some(2));
    let text = String::from_utf8_lossy(&wrong.stderr);
    assert!(text.contains("unknown option \"--fast\""), "{text}");
}
