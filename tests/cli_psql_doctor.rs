//! `pgentra psql` and `pgentra doctor`, the real binary against emulated servers whose
//! PostgreSQL gateway relays to the real PostgreSQL on 127.0.0.1:5432. The binary signs in as a
//! user-assigned managed identity through the emulator's managed-identity endpoint.

mod azure_support;
mod cli_support;

use azure_support::{start, start_with};
use cli_support::{
    healthy_server, identity, identity_env, pgentra, require_postgres, server, unique, FakeAz,
    Healthy,
};
use serde_json::json;

const CHECKS: [&str; 10] = [
    "server",
    "entra-auth",
    "password-auth",
    "entra-admin",
    "token",
    "reach",
    "tls",
    "sign-in",
    "pgaadauth",
    "role",
];

/// The report's line for a check (panics, showing the report, when there is none).
fn line<'a>(report: &'a str, check: &str) -> &'a str {
    report
        .lines()
        .find(|l| {
            l.get(6..)
                .is_some_and(|rest| rest.split_whitespace().next() == Some(check))
        })
        .unwrap_or_else(|| panic!("no {check} line in:\n{report}"))
}

/// The report's line for a check and the fix lines under it.
fn entry(report: &str, check: &str) -> String {
    let first = line(report, check);
    let mut lines = report.lines().skip_while(|l| *l != first);
    let mut text = lines.next().unwrap().to_string();
    for l in lines.take_while(|l| l.starts_with("      ")) {
        text.push('\n');
        text.push_str(l);
    }
    text
}

fn server_id(env: &azure_support::Env, s: &Healthy) -> String {
    env.server_path(&s.rg, &s.server)
}

#[tokio::test(flavor = "multi_thread")]
async fn psql_signs_in_as_the_entra_admin_with_a_token() {
    let env = start().await;
    let s = healthy_server(&env).await;
    let target = format!("{}:{}", s.fqdn, s.port);
    let vars = identity_env(&env, &s.admin_client_id);
    // No user given: the managed identity's name, read from its token.
    let run = pgentra(
        &[
            "psql",
            &target,
            "postgres",
            "--",
            "-tA",
            "-c",
            "SELECT current_user",
        ],
        &vars,
    )
    .await;
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), s.admin_name);
    assert!(
        run.stderr.contains("sslmode=verify-full"),
        "says how it connects: {}",
        run.stderr
    );
    // verify-full checks the gateway's certificate against the configured CA.
    let mut strict = vars.clone();
    strict.push(("PGSSLMODE".into(), "verify-full".into()));
    let run = pgentra(
        &[
            "psql",
            &target,
            "postgres",
            &s.admin_name,
            "--",
            "-tA",
            "-c",
            "SELECT current_user",
        ],
        &strict,
    )
    .await;
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), s.admin_name);
    env.emu.stop_pg_gateways().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn psql_takes_psqls_own_host_port_user_and_dbname_options() {
    let env = start().await;
    let s = healthy_server(&env).await;
    let vars = identity_env(&env, &s.admin_client_id);
    let port = s.port.to_string();
    let run = pgentra(
        &[
            "psql",
            "-h",
            &s.fqdn,
            "-p",
            &port,
            "-U",
            &s.admin_name,
            "-d",
            "postgres",
            "--",
            "-tA",
            "-c",
            "SELECT current_user",
        ],
        &vars,
    )
    .await;
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), s.admin_name);
    // The long forms with `=`, as psql takes them.
    let run = pgentra(
        &[
            "psql",
            &format!("--host={}", s.fqdn),
            &format!("--port={port}"),
            &format!("--username={}", s.admin_name),
            "--dbname=postgres",
            "--",
            "-tA",
            "-c",
            "SELECT current_user",
        ],
        &vars,
    )
    .await;
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), s.admin_name);
    assert!(
        run.stderr.contains("(sslmode=verify-full)"),
        "{}",
        run.stderr
    );
    // psql's habit: after -h the arguments are DBNAME [USER].
    let run = pgentra(
        &[
            "psql",
            "--host",
            &s.fqdn,
            "--port",
            &port,
            "postgres",
            "--",
            "-tA",
            "-c",
            "SELECT current_database()",
        ],
        &vars,
    )
    .await;
    run.expect_code(0);
    // The gateway maps each emulated server's databases onto the shared PostgreSQL.
    assert_eq!(run.stdout.trim(), format!("{}__postgres", s.backend_prefix));
    // The port as host:port and as -p: which one is meant is not guessed.
    let target = format!("{}:{}", s.fqdn, s.port);
    let run = pgentra(&["psql", &target, "postgres", "-p", "5432"], &vars).await;
    run.expect_code(2);
    assert!(
        run.stderr.contains("the port is given twice"),
        "{}",
        run.stderr
    );
    let port_flag = pgentra(&["doctor", &s.fqdn, "-p", &port], &vars).await;
    port_flag.expect_code(0);
    env.emu.stop_pg_gateways().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn psql_refused_says_why_and_psql_missing_says_how_to_install_it() {
    let env = start().await;
    let s = healthy_server(&env).await;
    let target = format!("{}:{}", s.fqdn, s.port);
    // The deployer is not this server's admin and has no role on it.
    let run = pgentra(
        &[
            "psql",
            &target,
            "postgres",
            &s.admin_name,
            "--",
            "-c",
            "SELECT 1",
        ],
        &cli_support::deployer_env(&env),
    )
    .await;
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("password authentication failed"),
        "{}",
        run.stderr
    );
    let mut no_psql = identity_env(&env, &s.admin_client_id);
    no_psql.push(("PATH".into(), "/nonexistent".into()));
    let run = pgentra(&["psql", &target, "postgres"], &no_psql).await;
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("psql is not installed (not found on PATH); install it: apt-get install -y postgresql-client"),
        "{}",
        run.stderr
    );
    env.emu.stop_pg_gateways().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_passes_every_check_on_a_healthy_server_and_names_pgaadauth_when_it_is_gone() {
    let env = start().await;
    let s = healthy_server(&env).await;
    let vars = identity_env(&env, &s.admin_client_id);
    let port = s.port.to_string();

    let run = pgentra(&["doctor", &server_id(&env, &s), "--port", &port], &vars).await;
    run.expect_code(0);
    for check in CHECKS {
        assert!(
            line(&run.stdout, check).starts_with("PASS"),
            "{check} passes:\n{}",
            run.stdout
        );
    }
    assert!(
        !run.stdout.contains("FAIL") && !run.stdout.contains("SKIP"),
        "{}",
        run.stdout
    );
    assert!(line(&run.stdout, "role").contains(&s.admin_object_id));

    // A host name: the ARM checks are skipped, and say so; the rest still pass.
    let run = pgentra(&["doctor", &format!("{}:{}", s.fqdn, s.port)], &vars).await;
    run.expect_code(0);
    assert!(line(&run.stdout, "entra-auth").starts_with("SKIP"));
    assert!(line(&run.stdout, "entra-auth").contains("a host name was given"));
    assert!(
        line(&run.stdout, "role").starts_with("PASS"),
        "{}",
        run.stdout
    );

    // pgaadauth no longer answers in the server's postgres database.
    let (client, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port=5432 user=postgres dbname={}__postgres",
            s.backend_prefix
        ),
        tokio_postgres::NoTls,
    )
    .await
    .expect("superuser session on the backend");
    tokio::spawn(conn);
    client
        .batch_execute("DROP FUNCTION pg_catalog.pgaadauth_list_principals(boolean)")
        .await
        .unwrap();
    // RESOURCE_GROUP/SERVER with the subscription from the environment.
    let run = pgentra(
        &["doctor", &format!("{}/{}", s.rg, s.server), "--port", &port],
        &vars,
    )
    .await;
    run.expect_code(1);
    let pgaadauth = entry(&run.stdout, "pgaadauth");
    assert!(pgaadauth.starts_with("FAIL"), "{}", run.stdout);
    assert!(
        pgaadauth.contains("shared_preload_libraries"),
        "{pgaadauth}"
    );
    assert!(
        pgaadauth.contains(&format!("--server-name {}", s.server)),
        "{pgaadauth}"
    );
    assert!(pgaadauth.contains("restart"), "{pgaadauth}");
    assert!(line(&run.stdout, "sign-in").starts_with("PASS"));
    env.emu.stop_pg_gateways().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_on_a_broken_server_fails_each_problem_with_its_fix() {
    let env = start().await;
    require_postgres(&env).await;
    let rg = unique("rg-cli-broken");
    let name = unique("pg-cli-broken");
    env.create_rg(&rg).await;
    // Password authentication on, and no Entra administrator.
    let created = server(
        &env,
        &rg,
        &name,
        json!({
            "location": "eastus",
            "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
            "properties": {
                "version": "16",
                "storage": {"storageSizeGB": 32},
                "administratorLogin": "pgadmin",
                "administratorLoginPassword": "Pa55w0rd-for-the-test!",
                "authConfig": {"activeDirectoryAuth": "Enabled", "passwordAuth": "Enabled"},
            },
        }),
    )
    .await;
    let fqdn = created["properties"]["fullyQualifiedDomainName"]
        .as_str()
        .unwrap();
    let gateway = env.emu.pg_gateway(fqdn).await.unwrap();
    // An application identity for which no role was ever created.
    let app = unique("id-cli-app");
    let (_, app_client_id) = identity(&env, &rg, &app).await;

    let run = pgentra(
        &[
            "doctor",
            &env.server_path(&rg, &name),
            "--port",
            &gateway.addr.port().to_string(),
        ],
        &identity_env(&env, &app_client_id),
    )
    .await;
    run.expect_code(1);
    let report = &run.stdout;
    let password = entry(report, "password-auth");
    assert!(password.starts_with("FAIL"), "{report}");
    assert!(password.contains("--password-auth Disabled"), "{password}");
    let admin = entry(report, "entra-admin");
    assert!(admin.starts_with("FAIL"), "{report}");
    assert!(
        admin.contains("az postgres flexible-server microsoft-entra-admin create"),
        "{admin}"
    );
    assert!(!admin.contains("ad-admin"), "the removed command: {admin}");
    assert!(admin.contains("--type ServicePrincipal"), "{admin}");
    assert!(admin.contains(&format!("--server-name {name}")), "{admin}");
    let role = entry(report, "role");
    assert!(role.starts_with("FAIL"), "{report}");
    assert!(role.contains(&format!("no role \"{app}\"")), "{role}");
    assert!(
        role.contains(&format!("pgaadauth_create_principal_with_oid('{app}'")),
        "{role}"
    );
    assert!(line(report, "entra-auth").starts_with("PASS"), "{report}");
    assert!(line(report, "tls").starts_with("PASS"), "{report}");
    assert!(line(report, "token").starts_with("PASS"), "{report}");
    assert!(report.contains("check(s) failed"), "{report}");
    env.emu.stop_pg_gateways().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_fails_a_token_about_to_expire() {
    let env = start_with(pgentra_emulator::EmulatorOptions {
        token_lifetime: std::time::Duration::from_secs(30),
        ..Default::default()
    })
    .await;
    let s = healthy_server(&env).await;
    let vars = identity_env(&env, &s.admin_client_id);
    let run = pgentra(&["doctor", &format!("{}:{}", s.fqdn, s.port)], &vars).await;
    run.expect_code(1);
    let token = entry(&run.stdout, "token");
    assert!(
        token.starts_with("FAIL") && token.contains("expires"),
        "{}",
        run.stdout
    );
    assert!(token.contains("sign in again"), "{token}");
    env.emu.stop_pg_gateways().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_without_credentials_lists_each_source_under_the_token_check() {
    let run = pgentra(&["doctor", "127.0.0.1:1"], &[]).await;
    run.expect_code(1);
    let token = entry(&run.stdout, "token");
    assert!(token.starts_with("FAIL"), "{}", run.stdout);
    for source in [
        "client secret:",
        "workload identity:",
        "managed identity:",
        "Azure CLI:",
        "az login",
    ] {
        assert!(token.contains(source), "{source} in:\n{token}");
    }
    assert!(
        line(&run.stdout, "reach").starts_with("FAIL"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_for_a_group_names_the_groups_object_id_and_type_group() {
    let env = start().await;
    require_postgres(&env).await;
    let rg = unique("rg-cli-group");
    let name = unique("pg-cli-group");
    env.create_rg(&rg).await;
    // An Entra-only server with no administrator yet, and no role for the group.
    let created = server(&env, &rg, &name, azure_support::server_body()).await;
    let fqdn = created["properties"]["fullyQualifiedDomainName"]
        .as_str()
        .unwrap();
    let gateway = env.emu.pg_gateway(fqdn).await.unwrap();
    let member = unique("id-cli-member");
    let (member_object_id, member_client_id) = identity(&env, &rg, &member).await;
    let group_name = unique("grp-cli-dbas");
    let group = env
        .emu
        .directory()
        .add_group(&group_name, &[&member_object_id]);
    // The subscription and the group's object ID come from the Azure CLI.
    let az = FakeAz::new(
        env.emu.subscription_id(),
        env.emu.tenant_id(),
        &[(&group_name, &group.object_id)],
    );
    let mut vars: Vec<(String, String)> = identity_env(&env, &member_client_id)
        .into_iter()
        .filter(|(k, _)| k != "AZURE_SUBSCRIPTION_ID")
        .collect();
    vars.push(("PATH".into(), az.path()));
    let port = gateway.addr.port().to_string();

    let run = pgentra(
        &["doctor", &format!("{rg}/{name}"), &group_name, "-p", &port],
        &vars,
    )
    .await;
    run.expect_code(1);
    let report = &run.stdout;
    println!("{report}");
    assert!(line(report, "server").starts_with("PASS"), "{report}");
    let admin = entry(report, "entra-admin");
    assert!(admin.starts_with("FAIL"), "{report}");
    for part in [
        "az postgres flexible-server microsoft-entra-admin create".to_owned(),
        format!("--resource-group {rg} --server-name {name}"),
        format!(
            "--display-name {group_name} --object-id {} --type Group",
            group.object_id
        ),
    ] {
        assert!(admin.contains(&part), "{part:?} in:\n{admin}");
    }
    assert!(
        !admin.contains(&member_object_id),
        "not the member's: {admin}"
    );
    let role = entry(report, "role");
    assert!(role.starts_with("FAIL"), "{report}");
    assert!(
        role.contains(&format!(
            "pgaadauth_create_principal_with_oid('{group_name}', '{}', 'group', false, false)",
            group.object_id
        )),
        "{role}"
    );
    let calls = az.calls();
    assert!(
        calls.contains(&"account show --output json".to_owned()),
        "{calls:?}"
    );
    assert!(
        calls.contains(&format!("ad group show --group {group_name} --output json")),
        "{calls:?}"
    );

    // A name az does not know: the fixes stay the member's, and say how to look a group up.
    let run = pgentra(
        &[
            "doctor",
            &format!("{rg}/{name}"),
            "Unknown Team",
            "-p",
            &port,
        ],
        &vars,
    )
    .await;
    run.expect_code(1);
    let admin = entry(&run.stdout, "entra-admin");
    assert!(
        admin.contains(&format!(
            "--object-id {member_object_id} --type ServicePrincipal"
        )),
        "{admin}"
    );
    assert!(
        admin.contains("if \"Unknown Team\" is a group:")
            && admin.contains("--display-name 'Unknown Team' --object-id \"$(az ad group show --group 'Unknown Team' --query id --output tsv)\" --type Group"),
        "{admin}"
    );
    env.emu.stop_pg_gateways().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_printed_into_a_closed_pipe_is_not_a_panic() {
    use cli_support::{pgentra_with_streams, readerless_pipe};
    use std::process::Stdio;
    let env = start().await;
    let s = healthy_server(&env).await;
    let vars = identity_env(&env, &s.admin_client_id);
    let target = format!("{}:{}", s.fqdn, s.port);
    // `pgentra doctor ... | head -c1`: a passing report, then a failing one.
    let code = pgentra_with_streams(
        &["doctor", &target],
        &vars,
        readerless_pipe(),
        Stdio::piped(),
    )
    .await;
    assert_eq!(code, Some(0), "doctor >closed-pipe");
    let code = pgentra_with_streams(
        &["doctor", "127.0.0.1:1"],
        &[],
        readerless_pipe(),
        Stdio::piped(),
    )
    .await;
    assert_eq!(code, Some(1), "failing doctor >closed-pipe");
    // psql's own failure, and pgentra's, with stderr gone.
    let code = pgentra_with_streams(
        &[
            "psql",
            &target,
            "postgres",
            "nobody-here",
            "--",
            "-c",
            "SELECT 1",
        ],
        &vars,
        Stdio::null(),
        readerless_pipe(),
    )
    .await;
    // pgentra has become psql by then: psql, a C program, ends as C tools do on a closed pipe
    // (SIGPIPE, no exit code) or with its own code 2; never a Rust panic (101).
    assert!(
        matches!(code, None | Some(2)),
        "psql 2>closed-pipe: {code:?}"
    );
    let code = pgentra_with_streams(
        &["psql", &target, "postgres"],
        &[],
        Stdio::null(),
        readerless_pipe(),
    )
    .await;
    assert_eq!(code, Some(1), "no credentials, 2>closed-pipe");
    env.emu.stop_pg_gateways().await;
}
