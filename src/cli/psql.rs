//! `pgentra psql`: psql signed in with a fresh Microsoft Entra token, the seed's "shell alias or
//! script" done once. The token travels in PGPASSWORD (the environment), never on the command line.

use crate::cli::args::{self, Misuse, Request};
use crate::cli::stdio;
use crate::cli::token::{self, TokenInfo};
use std::process::Command;

pub const USAGE: &str = "\
pgentra psql HOST[:PORT] DBNAME [USER] [-- psql arguments...]
pgentra psql -h HOST [-p PORT] -d DBNAME [-U USER] [-- psql arguments...]

Runs psql against an Azure Database for PostgreSQL server with a fresh Microsoft Entra access
token as the password (in PGPASSWORD, never on the command line). The token comes from the
provider's credential chain (see `pgentra token --help`).

  HOST, -h/--host HOST        the server's fully qualified domain name (`pgentra emulator`
                              prints each emulated server's host and port)
  -p/--port PORT              the server's port (default 5432; or give HOST:PORT)
  DBNAME, -d/--dbname DBNAME  the database to open, e.g. postgres
  USER, -U/--username USER    the PostgreSQL role to sign in as; default: the token's principal
                              (a user's UPN, a managed identity's name). A service principal's
                              token carries no name: give its display name (or a group it is a
                              member of) here.
  --                          everything after it goes to psql unchanged
                              (e.g. -- -c 'SELECT current_user')
  --help                      this help (-h is the host, as in psql)

As in psql, after -h HOST the arguments are [DBNAME [USER]]. Each of host, port, database and
user is given once: as an argument or with its option, not both.

TLS: sslmode=verify-full, always: the token is a bearer credential (whoever receives it is the
Entra administrator until it expires), so it goes only to a server whose certificate verifies
for HOST. A PGSSLMODE other than verify-full is refused. PGSSLROOTCERT defaults to
PGENTRA_CA_CERT_FILE when that is set (a private CA, the pgentra emulator), else to the
system's CA bundle.
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

/// `pgentra psql`'s command line, as typed: psql's own options besides the positional form.
#[derive(clap::Parser)]
#[command(
    disable_help_flag = true,
    disable_version_flag = true,
    args_override_self = true
)]
struct CommandLine {
    /// `--help` only: `-h` is the host, as in psql.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    #[arg(short = 'h', long = "host", value_name = "HOST", help = "a host name")]
    host: Option<String>,
    #[arg(short = 'p', long = "port", value_name = "PORT", value_parser = args::port, help = "a port")]
    port: Option<u16>,
    #[arg(
        short = 'd',
        long = "dbname",
        value_name = "DBNAME",
        help = "a database name"
    )]
    database: Option<String>,
    #[arg(
        short = 'U',
        long = "username",
        value_name = "USER",
        help = "a role name"
    )]
    user: Option<String>,
    /// `HOST[:PORT] DBNAME [USER]`, or after -h psql's `[DBNAME [USER]]`.
    #[arg(value_name = "ARGUMENTS")]
    positional: Vec<String>,
    /// After `--`: psql's, unchanged.
    #[arg(last = true, value_name = "PSQL_ARGUMENTS")]
    psql_args: Vec<String>,
}

impl Options {
    /// The options, or a help request.
    pub fn request(args: &[String]) -> Result<Request<Self>, Misuse> {
        match args::parse_args::<CommandLine>("psql", args) {
            Err(Misuse::UnknownOption(option)) => Err(Misuse::Other(format!(
                "unknown option {option:?}; psql's own options go after `--`"
            ))),
            parsed => parsed?.and_then(Self::from_command_line),
        }
    }

    pub fn parse(args: &[String]) -> Result<Self, String> {
        Self::request(args)?.into_run()
    }

    fn from_command_line(line: CommandLine) -> Result<Self, Misuse> {
        let with_host_option = line.host.is_some();
        // With -h the arguments are psql's `[DBNAME [USER]]`; without, `HOST[:PORT] DBNAME [USER]`.
        let most = if with_host_option { 2 } else { 3 };
        if line.positional.len() > most {
            return Err(format!(
                "expected at most {most} arguments before `--` ({}), got {}",
                if with_host_option {
                    "after -h HOST: DBNAME USER"
                } else {
                    "HOST[:PORT] DBNAME USER"
                },
                line.positional.len()
            )
            .into());
        }
        let mut positional = line.positional.into_iter();
        let (host, port) = match line.host {
            Some(host) if host.is_empty() => {
                return Err("-h/--host: the host must not be empty".into())
            }
            Some(host) => (host, line.port),
            None => {
                let Some(target) = positional.next() else {
                    return Err(
                        "expected <host> and <database>: HOST[:PORT] DBNAME, or -h HOST -d DBNAME"
                            .into(),
                    );
                };
                let (host, port_in_target) = split_host_port(&target)?;
                if let (Some(_), Some(port)) = (port_in_target, line.port) {
                    return Err(format!(
                        "the port is given twice: in {target:?} and as -p/--port {port}; give it once"
                    )
                    .into());
                }
                (host, port_in_target.or(line.port))
            }
        };
        let database = given_once("database", positional.next(), "-d/--dbname", line.database)?
            .ok_or("expected <database>: DBNAME, or -d DBNAME")?;
        let user = given_once("user", positional.next(), "-U/--username", line.user)?;
        Ok(Options {
            host,
            port,
            database,
            user,
            psql_args: line.psql_args,
        })
    }
}

/// One thing given as an argument or with its option (or neither), not both.
fn given_once(
    what: &str,
    argument: Option<String>,
    option: &str,
    with_option: Option<String>,
) -> Result<Option<String>, Misuse> {
    match (argument, with_option) {
        (Some(argument), Some(with_option)) => Err(format!(
            "the {what} is given twice: {argument:?} as an argument and {option} {with_option:?}; give it once"
        )
        .into()),
        (argument, with_option) => Ok(argument.or(with_option)),
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
    let psql = pgentra_core::azure::az_cli::find_on_path("psql").ok_or(
        "psql is not installed (not found on PATH); install it: apt-get install -y postgresql-client",
    )?;
    refuse_unverified_ssl_mode(std::env::var("PGSSLMODE").ok().as_deref())?;
    if options
        .psql_args
        .iter()
        .any(|a| a.to_ascii_lowercase().contains("sslmode"))
    {
        return Err(
            "psql arguments may not set sslmode: pgentra psql signs in only with \
                    sslmode=verify-full, since the password is your Microsoft Entra token"
                .into(),
        );
    }
    let config = token::config_from_env()?;
    let azure = pgentra_core::azure::Azure::from_config(&config).map_err(|e| e.to_string())?;
    let token = token::get_token(&azure, &azure.endpoints.postgres_scope()).await?;
    let info = TokenInfo::read(token.token.secret())?;
    let user = match options.user.or_else(|| info.role_name.clone()) {
        Some(user) => user,
        None => {
            return Err(format!(
                "the token of {} carries no user name; give the role to sign in as (the service \
                 principal's display name, or a group it belongs to) with -U USER",
                info.describe()
            ))
        }
    };
    let ssl_mode = VERIFY_FULL;
    let mut command = Command::new(psql);
    command
        .env("PGHOST", &options.host)
        .env("PGDATABASE", &options.database)
        .env("PGUSER", &user)
        .env("PGSSLMODE", ssl_mode)
        .env("PGPASSWORD", token.token.secret())
        .args(&options.psql_args);
    if let Some(port) = options.port {
        command.env("PGPORT", port.to_string());
    }
    if std::env::var_os("PGSSLROOTCERT").is_none() {
        let ca = config.ca_cert_file.clone().filter(|c| !c.is_empty());
        if let Some(roots) = ca.or_else(system_ca_bundle) {
            command.env("PGSSLROOTCERT", roots);
        }
    }
    stdio::eprintln(&format!(
        "pgentra psql: {}/{} as {user:?} (sslmode={ssl_mode}) with a token of {}, valid until {}",
        match options.port {
            Some(port) => format!("{}:{port}", options.host),
            None => options.host.clone(),
        },
        options.database,
        info.describe(),
        azure_core::time::to_rfc3339(&token.expires_on),
    ));
    Ok(command)
}

const VERIFY_FULL: &str = "verify-full";

/// PGSSLMODE, when set, must be verify-full: any other mode would let psql send the token to a
/// server whose certificate it did not check against the host name.
fn refuse_unverified_ssl_mode(pgsslmode: Option<&str>) -> Result<(), String> {
    match pgsslmode.filter(|m| !m.is_empty()) {
        None | Some(VERIFY_FULL) => Ok(()),
        Some(other) => Err(format!(
            "PGSSLMODE={:?} is refused: pgentra psql signs in only with sslmode=verify-full, since \
             the password is your Microsoft Entra token, a bearer credential: whoever receives it \
             is the server's Entra administrator until it expires (about an hour). Unset PGSSLMODE \
             (or set it to verify-full); for a private CA give its certificate in \
             PGENTRA_CA_CERT_FILE or PGSSLROOTCERT",
            other.chars().take(40).collect::<String>()
        )),
    }
}

/// The system's CA bundle, for psql's verify-full (libpq before 16 has no `sslrootcert=system`
/// and otherwise looks for ~/.postgresql/root.crt).
fn system_ca_bundle() -> Option<String> {
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).is_file())
    .map(str::to_owned)
}

/// Replaces this process with psql (so psql owns the terminal and its signals); returns only
/// when psql could not be started.
pub fn exec(mut command: Command) -> String {
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    format!("starting {:?}: {error}", command.get_program())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_verify_full_may_carry_the_token() {
        assert!(refuse_unverified_ssl_mode(None).is_ok());
        assert!(refuse_unverified_ssl_mode(Some("")).is_ok());
        assert!(refuse_unverified_ssl_mode(Some("verify-full")).is_ok());
        for mode in ["require", "verify-ca", "prefer", "allow", "disable"] {
            let err = refuse_unverified_ssl_mode(Some(mode)).unwrap_err();
            assert!(
                err.contains("PGSSLMODE") && err.contains("verify-full"),
                "{err}"
            );
        }
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

    #[test]
    fn psql_own_options_and_the_positional_form_mix_once_each() {
        let o = Options::parse(&args(&[
            "-h",
            "pg.example.com",
            "-p",
            "6432",
            "-U",
            "dev@example.com",
            "-d",
            "app",
            "--",
            "-tA",
        ]))
        .unwrap();
        assert_eq!(
            o,
            Options {
                host: "pg.example.com".into(),
                port: Some(6432),
                database: "app".into(),
                user: Some("dev@example.com".into()),
                psql_args: vec!["-tA".into()],
            }
        );
        // After -h the arguments are psql's [DBNAME [USER]]; long forms with `=` work too.
        let o = Options::parse(&args(&["--host=pg", "--port=5433", "app", "me"])).unwrap();
        assert_eq!((o.host.as_str(), o.port), ("pg", Some(5433)));
        assert_eq!(
            (o.database.as_str(), o.user.as_deref()),
            ("app", Some("me"))
        );
        let o = Options::parse(&args(&["pg:5433", "-d", "app", "--username", "me"])).unwrap();
        assert_eq!((o.port, o.database.as_str()), (Some(5433), "app"));
        // `--help` is help and `-h` is the host; after `--` even --help is psql's.
        assert_eq!(Options::request(&args(&["--help"])).unwrap(), Request::Help);
        assert!(Options::parse(&args(&["-h"]))
            .unwrap_err()
            .contains("-h/--host needs a host name"));
        assert_eq!(
            Options::parse(&args(&["pg", "app", "--", "--help"]))
                .unwrap()
                .psql_args,
            ["--help"]
        );

        let error = |list: &[&str]| Options::parse(&args(list)).unwrap_err();
        let twice = error(&["pg", "app", "-d", "other"]);
        assert!(
            twice.contains("\"app\" as an argument and -d/--dbname \"other\""),
            "{twice}"
        );
        let twice = error(&["-h", "pg", "app", "me", "-U", "you"]);
        assert!(
            twice.contains("\"me\" as an argument and -U/--username \"you\""),
            "{twice}"
        );
        let twice = error(&["pg:5433", "app", "-p", "6432"]);
        assert!(
            twice.contains("in \"pg:5433\" and as -p/--port 6432"),
            "{twice}"
        );
        assert!(error(&["-p", "x", "pg", "app"]).contains("-p/--port takes a port from 1 to 65535"));
        assert!(error(&["-h", "pg"]).contains("<database>"));
        assert!(error(&["-h", "pg", "a", "b", "c"]).contains("at most 2 arguments"));
        assert!(error(&["a", "b", "c", "d"]).contains("at most 3 arguments"));
        assert!(error(&["-h", ""]).contains("must not be empty"));
    }
}
