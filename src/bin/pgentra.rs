//! The pgentra command line: one arm per command; each command lives in `pgentra::cli`.

use std::process::ExitCode;

const USAGE: &str = "\
pgentra: passwordless Azure PostgreSQL, as a Pulumi provider

Usage (`pgentra COMMAND --help` explains each):
  pgentra demo [--keep]         Show the whole passwordless chain working on this machine
  pgentra emulator [--json]     Serve a local Azure (ARM, Entra, managed identity) for stacks and tests
  pgentra token [--json]        Print an Entra access token for PostgreSQL (the password of a sign-in)
  pgentra psql HOST DB [USER]   Run psql signed in with a fresh Entra token
  pgentra doctor SERVER [USER]  Check a server's Entra sign-in chain and say how to fix each problem
  pgentra schema [--out FILE]   Print the Pulumi package schema, or write it to FILE
  pgentra gen-sdk <python|nodejs> [--out DIR]
                                Generate the SDK for a language from the schema (default DIR: sdk/<language>)
  pgentra version               Print the version
  pgentra help                  Show this help
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("schema") => schema(&args[1..]),
        Some("gen-sdk") => gen_sdk(&args[1..]),
        Some("emulator") => emulator(&args[1..]),
        Some("demo") => pgentra::cli::demo::main(&args[1..]),
        Some("token") => token(&args[1..]),
        Some("psql") => psql(&args[1..]),
        Some("doctor") => doctor(&args[1..]),
        Some("version" | "--version" | "-V") => {
            println!("pgentra {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("pgentra: unknown command {other:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn schema(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("pgentra schema [--out FILE]\n\nPrints the Pulumi package schema of pgentra (JSON), or writes it to FILE.\n");
        return ExitCode::SUCCESS;
    }
    let text = pgentra_pulumi::schema::render(&pgentra_core::resource::Registry::builtin());
    match args {
        [] => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        [flag, path] if flag == "--out" => match std::fs::write(path, text) {
            Ok(()) => {
                eprintln!("wrote {path}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("pgentra schema: cannot write {path}: {error}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("pgentra schema: expected no arguments or --out FILE\n\n{USAGE}");
            ExitCode::from(2)
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

fn gen_sdk(args: &[String]) -> ExitCode {
    use pgentra_pulumi::sdkgen::{self, Language};
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{GEN_SDK_USAGE}");
        return ExitCode::SUCCESS;
    }
    let languages = || Language::ALL.map(Language::name).join(" or ");
    let (language, out) = match args {
        [language] => (language, None),
        [language, flag, dir] if flag == "--out" => (language, Some(std::path::PathBuf::from(dir))),
        _ => {
            eprintln!(
                "pgentra gen-sdk: expected a language ({}) and optionally --out DIR\n\n{USAGE}",
                languages()
            );
            return ExitCode::from(2);
        }
    };
    let Some(language) = Language::parse(language) else {
        eprintln!(
            "pgentra gen-sdk: unknown language {language:?}; expected {}",
            languages()
        );
        return ExitCode::from(2);
    };
    let dir = out.unwrap_or_else(|| language.default_dir());
    let files = match sdkgen::generate_builtin(language) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("pgentra gen-sdk: {error}");
            return ExitCode::FAILURE;
        }
    };
    match sdkgen::write(&files, &dir) {
        Ok(()) => {
            eprintln!(
                "wrote the {language} SDK ({} files) to {}",
                files.len(),
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("pgentra gen-sdk: {error}");
            ExitCode::FAILURE
        }
    }
}

fn emulator(args: &[String]) -> ExitCode {
    use pgentra::cli::emulator;
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{}", emulator::USAGE);
        return ExitCode::SUCCESS;
    }
    let options = match emulator::Options::parse(args) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("pgentra emulator: {error}\n\n{}", emulator::USAGE);
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("pgentra emulator: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(emulator::run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pgentra emulator: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `--help`/`-h` anywhere before a `--` asks for the command's help.
fn wants_help(args: &[String]) -> bool {
    args.iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--help" || a == "-h")
}

/// A runtime for one command; a failure to build one is reported as the command's.
fn block_on<T>(command: &str, future: impl std::future::Future<Output = T>) -> Option<T> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime.block_on(future)),
        Err(error) => {
            eprintln!("pgentra {command}: cannot start the async runtime: {error}");
            None
        }
    }
}

fn token(args: &[String]) -> ExitCode {
    use pgentra::cli::token;
    if wants_help(args) {
        print!("{}", token::USAGE);
        return ExitCode::SUCCESS;
    }
    let options = match token::Options::parse(args) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("pgentra token: {error}\n\n{}", token::USAGE);
            return ExitCode::from(2);
        }
    };
    match block_on("token", token::run(options)) {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(error)) => {
            eprintln!("pgentra token: {error}");
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}

fn psql(args: &[String]) -> ExitCode {
    use pgentra::cli::psql;
    if wants_help(args) {
        print!("{}", psql::USAGE);
        return ExitCode::SUCCESS;
    }
    let options = match psql::Options::parse(args) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("pgentra psql: {error}\n\n{}", psql::USAGE);
            return ExitCode::from(2);
        }
    };
    match block_on("psql", psql::prepare(options)) {
        Some(Ok(command)) => {
            eprintln!("pgentra psql: {}", psql::exec(command));
            ExitCode::FAILURE
        }
        Some(Err(error)) => {
            eprintln!("pgentra psql: {error}");
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}

fn doctor(args: &[String]) -> ExitCode {
    use pgentra::cli::doctor;
    if wants_help(args) {
        print!("{}", doctor::USAGE);
        return ExitCode::SUCCESS;
    }
    let options = match doctor::Options::parse(args) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("pgentra doctor: {error}\n\n{}", doctor::USAGE);
            return ExitCode::from(2);
        }
    };
    match block_on("doctor", doctor::run(options)) {
        Some(Ok(report)) => {
            print!("{}", report.render());
            if report.failed() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Some(Err(error)) => {
            eprintln!("pgentra doctor: {error}");
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}
