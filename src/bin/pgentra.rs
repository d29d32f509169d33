//! The pgentra command line. More commands (demo, emulator, token, psql, doctor) arrive with
//! the features they drive.

use std::process::ExitCode;

const USAGE: &str = "\
pgentra: passwordless Azure PostgreSQL, as a Pulumi provider

Usage:
  pgentra emulator [--json]     Serve a local Azure (ARM, Entra, managed identity) for stacks and tests
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
    let text = pgentra::schema::render(&pgentra::resource::Registry::builtin());
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

fn gen_sdk(args: &[String]) -> ExitCode {
    use pgentra::sdkgen::{self, Language};
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
