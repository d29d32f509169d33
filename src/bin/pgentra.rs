//! The pgentra command line: one arm per command; each command lives in `pgentra::cli`, and
//! parses its arguments with clap through `pgentra::cli::args`. All output goes through
//! `pgentra::cli::stdio`, so a closed stdout or stderr never makes it panic.

use pgentra::cli::args::{self, options_or_exit, Misuse};
use pgentra::cli::stdio;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
pgentra: passwordless Azure PostgreSQL, as a Pulumi provider

Usage (`pgentra COMMAND --help` explains each):
  pgentra demo [--keep]         Show the whole passwordless chain working on this machine
  pgentra emulator [--json]     Serve a local Azure (ARM, Entra, managed identity) for stacks and tests
  pgentra emulator --server RG/NAME
                                ... starting with a ready server, Entra admin and database
  pgentra token [-o json|tsv]   Print an Entra access token for PostgreSQL (the password of a sign-in);
                                az's --resource, --resource-type and --tenant pick another
  pgentra psql HOST[:PORT] DBNAME [USER]
  pgentra psql -h HOST [-p PORT] -d DBNAME [-U USER]
                                Run psql signed in with a fresh Entra token
  pgentra doctor SERVER [USER] [-p PORT]
                                Check a server's Entra sign-in chain and say how to fix each problem
  pgentra doctor --workload NAMESPACE/SA --identity RG/NAME
                                Check an AKS workload's federated credential before the exchange fails
  pgentra schema [--out FILE]   Print the Pulumi package schema, or write it to FILE
  pgentra gen-sdk <python|nodejs> [--out DIR]
                                Generate the SDK for a language from the schema (default DIR: sdk/<language>)
  pgentra gen-docs [--out DIR]  Generate the Pulumi and Terraform registry docs (default DIR: docs)
  pgentra version               Print the version
  pgentra help                  Show this help
";

fn main() -> ExitCode {
    let args = match utf8_args() {
        Ok(args) => args,
        Err(exit) => return exit,
    };
    match args.first().map(String::as_str) {
        Some("schema") => schema(&args[1..]),
        Some("gen-sdk") => gen_sdk(&args[1..]),
        Some("gen-docs") => gen_docs(&args[1..]),
        Some("emulator") => emulator(&args[1..]),
        Some("demo") => pgentra::cli::demo::main(&args[1..]),
        Some("token") => token(&args[1..]),
        Some("psql") => psql(&args[1..]),
        Some("doctor") => doctor(&args[1..]),
        Some("version" | "--version" | "-V") => {
            stdio::println(&format!("pgentra {}", pgentra_core::VERSION));
            ExitCode::SUCCESS
        }
        Some("help" | "--help" | "-h") | None => {
            stdio::print(USAGE);
            ExitCode::SUCCESS
        }
        Some(other) => {
            stdio::eprint(&format!("pgentra: unknown command {other:?}\n\n{USAGE}"));
            ExitCode::from(2)
        }
    }
}

/// The arguments after the program's name; one that is not UTF-8 is a usage error (where
/// `std::env::args` would panic).
fn utf8_args() -> Result<Vec<String>, ExitCode> {
    std::env::args_os()
        .skip(1)
        .enumerate()
        .map(|(i, arg)| {
            arg.into_string().map_err(|arg| {
                stdio::eprintln(&format!(
                    "pgentra: argument {} ({:?}) is not UTF-8; arguments must be UTF-8 text",
                    i + 1,
                    arg.to_string_lossy()
                ));
                ExitCode::from(2)
            })
        })
        .collect()
}

const SCHEMA_USAGE: &str = "\
pgentra schema [--out FILE]

Prints the Pulumi package schema of pgentra (JSON), or writes it to FILE.
";

/// `pgentra schema`'s command line.
#[derive(clap::Parser)]
#[command(disable_version_flag = true, args_override_self = true)]
struct SchemaCommandLine {
    #[arg(long, value_name = "FILE", help = "a file")]
    out: Option<PathBuf>,
}

fn schema(args: &[String]) -> ExitCode {
    let request = args::parse_args::<SchemaCommandLine>("schema", args);
    let line = match options_or_exit("schema", SCHEMA_USAGE, request) {
        Ok(line) => line,
        Err(exit) => return exit,
    };
    let text = pgentra_pulumi::schema::render(&pgentra_core::resource::Registry::builtin());
    let Some(path) = line.out else {
        return match stdio::try_print(&text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                stdio::eprintln(&format!("pgentra schema: writing to stdout: {error}"));
                ExitCode::FAILURE
            }
        };
    };
    match std::fs::write(&path, text) {
        Ok(()) => {
            stdio::eprintln(&format!("wrote {}", path.display()));
            ExitCode::SUCCESS
        }
        Err(error) => {
            stdio::eprintln(&format!(
                "pgentra schema: cannot write {}: {error}",
                path.display()
            ));
            ExitCode::FAILURE
        }
    }
}

const GEN_SDK_USAGE: &str = "\
pgentra gen-sdk <python|nodejs> [--out DIR]

Generates the SDK for a language from the package schema (the one `pgentra schema` prints):
Python (package pulumi_pgentra) or Node.js/TypeScript (package @pgentra/pulumi). DIR defaults
to sdk/<language>. Files it generated before and no longer generates are removed; other files
in DIR are left alone.
";

/// `pgentra gen-sdk`'s command line.
#[derive(clap::Parser)]
#[command(disable_version_flag = true, args_override_self = true)]
struct GenSdkCommandLine {
    #[arg(value_name = "LANGUAGE")]
    language: Option<String>,
    #[arg(long, value_name = "DIR", help = "a directory")]
    out: Option<PathBuf>,
}

fn gen_sdk(args: &[String]) -> ExitCode {
    use pgentra_pulumi::sdkgen::{self, Language};
    let languages = || Language::ALL.map(Language::name).join(" or ");
    let request = args::parse_args::<GenSdkCommandLine>("gen-sdk", args).and_then(|request| {
        request.and_then(|line| {
            let language = line.language.ok_or_else(|| {
                format!(
                    "expected a language ({}) and optionally --out DIR",
                    languages()
                )
            })?;
            let language = Language::parse(&language).ok_or_else(|| {
                format!("unknown language {language:?}; expected {}", languages())
            })?;
            Ok::<_, Misuse>((language, line.out))
        })
    });
    let (language, out) = match options_or_exit("gen-sdk", GEN_SDK_USAGE, request) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    let dir = out.unwrap_or_else(|| language.default_dir());
    let files = match sdkgen::generate_builtin(language) {
        Ok(files) => files,
        Err(error) => {
            stdio::eprintln(&format!("pgentra gen-sdk: {error}"));
            return ExitCode::FAILURE;
        }
    };
    match sdkgen::write(&files, &dir) {
        Ok(()) => {
            stdio::eprintln(&format!(
                "wrote the {language} SDK ({} files) to {}",
                files.len(),
                dir.display()
            ));
            ExitCode::SUCCESS
        }
        Err(error) => {
            stdio::eprintln(&format!("pgentra gen-sdk: {error}"));
            ExitCode::FAILURE
        }
    }
}

const GEN_DOCS_USAGE: &str = "\
pgentra gen-docs [--out DIR]

Generates the registry documentation from the resource descriptions and their examples:
Pulumi's _index.md and installation-configuration.md, Terraform's index.md, resources/*.md and
data-sources/*.md, all in DIR (default docs, where both registries read them). Markdown files
in DIR that are no longer generated are removed.
";

/// `pgentra gen-docs`'s command line.
#[derive(clap::Parser)]
#[command(disable_version_flag = true, args_override_self = true)]
struct GenDocsCommandLine {
    #[arg(long, value_name = "DIR", help = "a directory")]
    out: Option<PathBuf>,
}

fn gen_docs(args: &[String]) -> ExitCode {
    let request = args::parse_args::<GenDocsCommandLine>("gen-docs", args);
    let line = match options_or_exit("gen-docs", GEN_DOCS_USAGE, request) {
        Ok(line) => line,
        Err(exit) => return exit,
    };
    let dir = line
        .out
        .unwrap_or_else(|| PathBuf::from(pgentra::docs::DEFAULT_DIR));
    match pgentra::docs::write(&pgentra::docs::generate(), &dir) {
        Ok(count) => {
            stdio::eprintln(&format!("wrote {count} pages to {}", dir.display()));
            ExitCode::SUCCESS
        }
        Err(error) => {
            stdio::eprintln(&format!(
                "pgentra gen-docs: writing {}: {error}",
                dir.display()
            ));
            ExitCode::FAILURE
        }
    }
}

fn emulator(args: &[String]) -> ExitCode {
    use pgentra::cli::emulator;
    let options = match options_or_exit(
        "emulator",
        emulator::USAGE,
        emulator::Options::request(args),
    ) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    let Some(result) = block_on("emulator", emulator::run(options)) else {
        return ExitCode::FAILURE;
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            stdio::eprintln(&format!("pgentra emulator: {error}"));
            ExitCode::FAILURE
        }
    }
}

/// A runtime for one command; a failure to build one is reported as the command's.
fn block_on<T>(command: &str, future: impl std::future::Future<Output = T>) -> Option<T> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime.block_on(future)),
        Err(error) => {
            stdio::eprintln(&format!(
                "pgentra {command}: cannot start the async runtime: {error}"
            ));
            None
        }
    }
}

fn token(args: &[String]) -> ExitCode {
    use pgentra::cli::token;
    let options = match options_or_exit("token", token::USAGE, token::Options::request(args)) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    match block_on("token", token::run(options)) {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(error)) => {
            stdio::eprintln(&format!("pgentra token: {error}"));
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}

fn psql(args: &[String]) -> ExitCode {
    use pgentra::cli::psql;
    let options = match options_or_exit("psql", psql::USAGE, psql::Options::request(args)) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    match block_on("psql", psql::prepare(options)) {
        Some(Ok(command)) => {
            stdio::eprintln(&format!("pgentra psql: {}", psql::exec(command)));
            ExitCode::FAILURE
        }
        Some(Err(error)) => {
            stdio::eprintln(&format!("pgentra psql: {error}"));
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}

fn doctor(args: &[String]) -> ExitCode {
    use pgentra::cli::doctor;
    let options = match options_or_exit("doctor", doctor::USAGE, doctor::Options::request(args)) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    match block_on("doctor", doctor::run(options)) {
        Some(Ok(report)) => {
            stdio::print(&report.render());
            if report.failed() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Some(Err(error)) => {
            stdio::eprintln(&format!("pgentra doctor: {error}"));
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}
