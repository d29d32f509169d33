//! `pgentra psql`: psql signed in with a fresh Microsoft Entra token, the seed's "shell alias or
//! script" done once. The token travels in PGPASSWORD (the environment), never on the command line.

use crate::cli::token::{self, TokenInfo};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

pub const USAGE: &str = "\
pgentra psql <host>[:port] <database> [user] [-- psql arguments...]

Runs psql against an Azure Database for PostgreSQL server with a fresh Microsoft Entra access
token as the password (in PGPASSWORD, never on the command line). The token comes from the
provider's credential chain (see `pgentra token --help`).

  host      the server's fully qualified domain name (port 5432 unless given as host:port;
            `pgentra emulator` prints each emulated server's host and port)
  database  the database to open, e.g. postgres
  user      the PostgreSQL role to sign in as; default: the token's principal (a user's UPN, a
            managed identity's name). A service principal's token carries no name: give its
            display name (or a group it is a member of) here.
  --        everything after it goes to psql unchanged (e.g. -- -c 'SELECT current_user')

TLS: sslmode=require unless PGSSLMODE says otherwise. With PGSSLMODE=verify-full (or verify-ca),
PGSSLROOTCERT defaults to PGENTRA_CA_CERT_FILE when that is set.
Needs psql: apt-get install -y postgresql-client
";

#[derive(Debug, PartialEq)]
pub struct Options {
    pub host: String,
    pub port: Option<u16>,
    pub database: String,
    pub user: Option<String>,
    pub psql_args: Vec<String>,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let (ours, theirs) = match args.iter().position(|a| a == "--") {
            Some(i) => (&args[..i], args[i + 1..].to_vec()),
            None => (args, Vec::new()),
        };
        if let Some(flag) = ours.iter().find(|a| a.starts_with('-')) {
            return Err(format!(
                "unknown option {flag:?}; psql's own options go after `--`"
            ));
        }
        let (target, database, user) = match ours {
            [t, d] => (t, d, None),
            [t, d, u] => (t, d, Some(u.clone())),
            [] | [_] => return Err("expected <host> and <database>".into()),
            _ => {
                return Err(format!(
                    "expected at most 3 arguments before `--`, got {}",
                    ours.len()
                ))
            }
        };
        let (host, port) = split_host_port(target)?;
        Ok(Options {
            host,
            port,
            database: database.clone(),
            user,
            psql_args: theirs,
        })
    }
}

/// `host`, `host:port` or `[v6]:port`; a bare IPv6 address is all host.
pub fn split_host_port(target: &str) -> Result<(String, Option<u16>), String> {
    let bad_port = |p: &str| format!("{target:?}: port {p:?} is not a number from 1 to 65535");
    if let Some(rest) = target.strip_prefix('[') {
        let (host, tail) = rest
            .split_once(']')
            .ok_or_else(|| format!("{target:?}: missing ']'"))?;
        return match tail.strip_prefix(':') {
            Some(p) => Ok((host.into(), Some(parse_port(p).ok_or_else(|| bad_port(p))?))),
            None if tail.is_empty() => Ok((host.into(), None)),
            None => Err(format!("{target:?}: unexpected {tail:?} after ']'")),
        };
    }
    match target.split_once(':') {
        Some((host, p)) if !p.contains(':') => {
            Ok((host.into(), Some(parse_port(p).ok_or_else(|| bad_port(p))?)))
        }
        _ if target.is_empty() => Err("the host must not be empty".into()),
        _ => Ok((target.into(), None)),
    }
}

fn parse_port(p: &str) -> Option<u16> {
    p.parse().ok().filter(|p| *p != 0)
}

/// The psql command, ready to run: the token in its environment.
pub async fn prepare(options: Options) -> Result<Command, String> {
    let psql = find_on_path("psql").ok_or(
        "psql is not installed (not found on PATH); install it: apt-get install -y postgresql-client",
    )?;
    let config = token::config_from_env()?;
    let azure = pgentra_core::azure::Azure::from_config(&config).map_err(|e| e.to_string())?;
    let token = token::get_token(&azure, &azure.endpoints.postgres_scope()).await?;
    let info = TokenInfo::read(token.token.secret())?;
    let user = match options.user.or_else(|| info.role_name.clone()) {
        Some(user) => user,
        None => {
            return Err(format!(
                "the token of {} carries no user name; give the role to sign in as (the service \
                 principal's display name, or a group it belongs to) as the third argument",
                info.describe()
            ))
        }
    };
    let ssl_mode = std::env::var("PGSSLMODE")
        .ok()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "require".into());
    let mut command = Command::new(psql);
    command
        .env("PGHOST", &options.host)
        .env("PGDATABASE", &options.database)
        .env("PGUSER", &user)
        .env("PGSSLMODE", &ssl_mode)
        .env("PGPASSWORD", token.token.secret())
        .args(&options.psql_args);
    if let Some(port) = options.port {
        command.env("PGPORT", port.to_string());
    }
    let verifies = ssl_mode.starts_with("verify");
    if let (true, None, Some(ca)) = (
        verifies,
        std::env::var_os("PGSSLROOTCERT"),
        config.ca_cert_file.as_deref().filter(|c| !c.is_empty()),
    ) {
        command.env("PGSSLROOTCERT", ca);
    }
    eprintln!(
        "pgentra psql: {}/{} as {user:?} (sslmode={ssl_mode}) with a token of {}, valid until {}",
        match options.port {
            Some(port) => format!("{}:{port}", options.host),
            None => options.host.clone(),
        },
        options.database,
        info.describe(),
        azure_core::time::to_rfc3339(&token.expires_on),
    );
    Ok(command)
}

/// Replaces this process with psql (so psql owns the terminal and its signals); returns only
/// when psql could not be started.
pub fn exec(mut command: Command) -> String {
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    format!("starting {:?}: {error}", command.get_program())
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path: OsString = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn host_database_user_and_psql_arguments() {
        let o = Options::parse(&args(&[
            "pg.example.com:6432",
            "app",
            "dev@example.com",
            "--",
            "-c",
            "SELECT 1",
        ]))
        .unwrap();
        assert_eq!(o.host, "pg.example.com");
        assert_eq!(o.port, Some(6432));
        assert_eq!(o.database, "app");
        assert_eq!(o.user.as_deref(), Some("dev@example.com"));
        assert_eq!(o.psql_args, ["-c", "SELECT 1"]);
    }

    #[test]
    fn bad_arguments_say_what_is_expected() {
        assert!(Options::parse(&args(&["host"]))
            .unwrap_err()
            .contains("<database>"));
        assert!(Options::parse(&args(&["host", "db", "-c", "x"]))
            .unwrap_err()
            .contains("after `--`"));
        assert!(split_host_port("h:99999").unwrap_err().contains("port"));
        assert_eq!(
            split_host_port("[::1]:5433").unwrap(),
            ("::1".to_string(), Some(5433))
        );
        assert_eq!(split_host_port("::1").unwrap(), ("::1".to_string(), None));
    }
}
