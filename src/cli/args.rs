//! The commands' argument parsing, on clap. Each command declares its arguments with
//! `#[derive(clap::Parser)]`; this module turns clap's verdict into what the command line has
//! always said: a help request, or a one-line message that names the argument and what it
//! allows (the caller adds the command's USAGE). Each command's help page stays its USAGE prose,
//! so clap's generated help is never shown.

use crate::cli::stdio;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use std::fmt;
use std::process::ExitCode;

/// What a command line asks for.
#[derive(Debug, PartialEq)]
pub enum Request<T> {
    Run(T),
    /// `--help` (or `-h` where that is not an option of the command).
    Help,
}

impl<T> Request<T> {
    /// Turns the parsed arguments into the command's options; help stays help.
    pub fn and_then<U>(self, f: impl FnOnce(T) -> Result<U, Misuse>) -> Result<Request<U>, Misuse> {
        match self {
            Request::Run(args) => f(args).map(Request::Run),
            Request::Help => Ok(Request::Help),
        }
    }

    /// The options to run with; a help request is an error here (for callers that show no help).
    pub fn into_run(self) -> Result<T, String> {
        match self {
            Request::Run(options) => Ok(options),
            Request::Help => Err("--help asks for the help, not a run".into()),
        }
    }
}

/// A command line the command cannot run.
#[derive(Debug, PartialEq)]
pub enum Misuse {
    /// An option the command does not have, as typed (`--fast`).
    UnknownOption(String),
    /// Anything else, said in full: `--scope needs a scope`, `expected <host> and <database>`.
    Other(String),
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Misuse::UnknownOption(option) => write!(f, "unknown option {option:?}"),
            Misuse::Other(message) => f.write_str(message),
        }
    }
}

impl From<String> for Misuse {
    fn from(message: String) -> Self {
        Misuse::Other(message)
    }
}

impl From<&str> for Misuse {
    fn from(message: &str) -> Self {
        Misuse::Other(message.to_owned())
    }
}

impl From<Misuse> for String {
    fn from(misuse: Misuse) -> Self {
        misuse.to_string()
    }
}

/// Parses `pgentra COMMAND args...` (`args` without the command) into `A`.
///
/// An option's `help` attribute names what its value is (`help = "a scope"`): a missing value
/// is reported as `--scope needs a scope`. A `value_parser` function's error is said after the
/// option's name (`-p/--port takes 1 to 65535, not "x"`).
pub fn parse_args<A: clap::Parser>(command: &str, args: &[String]) -> Result<Request<A>, Misuse> {
    let argv = std::iter::once(format!("pgentra {command}")).chain(args.iter().cloned());
    match A::try_parse_from(argv) {
        Ok(parsed) => Ok(Request::Run(parsed)),
        Err(error) if error.kind() == ErrorKind::DisplayHelp => Ok(Request::Help),
        Err(error) => Err(misuse(&A::command(), &error)),
    }
}

fn misuse(command: &clap::Command, error: &clap::Error) -> Misuse {
    let context = |kind| match error.get(kind) {
        Some(ContextValue::String(text)) => Some(text.as_str()),
        _ => None,
    };
    // clap names an option with its value placeholder: `--scope <SCOPE>`.
    let invalid = context(ContextKind::InvalidArg).unwrap_or_default();
    let flag = invalid.split_whitespace().next().unwrap_or_default();
    let option = command.get_arguments().find(|arg| {
        arg.get_long()
            .is_some_and(|long| flag == format!("--{long}"))
            || arg
                .get_short()
                .is_some_and(|short| flag == format!("-{short}"))
    });
    let name = match option {
        Some(arg) => match (arg.get_short(), arg.get_long()) {
            (Some(short), Some(long)) => format!("-{short}/--{long}"),
            _ => flag.to_owned(),
        },
        None => flag.to_owned(),
    };
    match error.kind() {
        ErrorKind::UnknownArgument if invalid.starts_with('-') => {
            Misuse::UnknownOption(invalid.to_owned())
        }
        ErrorKind::UnknownArgument => Misuse::Other(format!("unexpected argument {invalid:?}")),
        ErrorKind::InvalidValue if context(ContextKind::InvalidValue) == Some("") => {
            let what = option
                .and_then(|arg| arg.get_help())
                .map_or_else(|| "a value".to_owned(), |help| help.to_string());
            Misuse::Other(format!("{name} needs {what}"))
        }
        ErrorKind::ValueValidation => {
            let why = std::error::Error::source(error).map_or_else(String::new, |e| e.to_string());
            Misuse::Other(format!("{name} {why}"))
        }
        // Whatever else clap finds, in its own words, without its `error: ` and usage lines.
        _ => {
            let text = error.to_string();
            let first = text.lines().next().unwrap_or_default();
            Misuse::Other(first.trim_start_matches("error: ").to_owned())
        }
    }
}

/// The options of `pgentra COMMAND`, or the exit code after its help or its usage error was
/// printed (0 after the help, 2 after a usage error).
pub fn options_or_exit<T>(
    command: &str,
    usage: &str,
    request: Result<Request<T>, impl fmt::Display>,
) -> Result<T, ExitCode> {
    match request {
        Ok(Request::Run(options)) => Ok(options),
        Ok(Request::Help) => {
            stdio::print(usage);
            Err(ExitCode::SUCCESS)
        }
        Err(misuse) => {
            stdio::eprint(&format!("pgentra {command}: {misuse}\n\n{usage}"));
            Err(ExitCode::from(2))
        }
    }
}

/// A TCP port, for `value_parser`.
pub fn port(text: &str) -> Result<u16, String> {
    text.parse::<u16>()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| format!("takes a port from 1 to 65535, not {text:?}"))
}

/// Milliseconds, for `value_parser`.
pub fn milliseconds(text: &str) -> Result<std::time::Duration, String> {
    text.parse()
        .map(std::time::Duration::from_millis)
        .map_err(|_| format!("takes milliseconds, not {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug, PartialEq)]
    #[command(disable_version_flag = true, args_override_self = true)]
    struct Example {
        #[arg(long, help = "a scope")]
        scope: Option<String>,
        #[arg(short = 'p', long, value_parser = port, help = "a port")]
        port: Option<u16>,
        #[arg(long)]
        json: bool,
    }

    fn parse_example(list: &[&str]) -> Result<Request<Example>, Misuse> {
        parse_args(
            "example",
            &list.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn misuses_name_the_argument_and_what_it_allows() {
        let message = |list: &[&str]| parse_example(list).unwrap_err().to_string();
        assert_eq!(message(&["--fast"]), "unknown option \"--fast\"");
        assert_eq!(message(&["extra"]), "unexpected argument \"extra\"");
        assert_eq!(message(&["--scope"]), "--scope needs a scope");
        assert_eq!(message(&["-p"]), "-p/--port needs a port");
        assert_eq!(
            message(&["--port", "x"]),
            "-p/--port takes a port from 1 to 65535, not \"x\""
        );
        assert_eq!(
            message(&["-p", "0"]),
            "-p/--port takes a port from 1 to 65535, not \"0\""
        );
    }

    #[test]
    fn help_is_a_request_and_repeats_keep_the_last() {
        assert_eq!(parse_example(&["--json", "-h"]).unwrap(), Request::Help);
        assert_eq!(parse_example(&["--help"]).unwrap(), Request::Help);
        let Request::Run(example) =
            parse_example(&["--json", "--json", "-p", "1", "--port=2"]).unwrap()
        else {
            panic!("a run")
        };
        assert!(example.json);
        assert_eq!(example.port, Some(2));
    }
}
