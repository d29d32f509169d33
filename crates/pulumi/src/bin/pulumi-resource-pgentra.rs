//! The Pulumi resource provider plugin. The engine starts it, reads the port it prints, and
//! drives it over gRPC.

use pgentra_pulumi::serve::{serve, Args};

fn main() -> std::process::ExitCode {
    let args = Args::parse(std::env::args().skip(1));
    pgentra_core::logging::init(args.verbosity);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("pulumi-resource-pgentra: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pulumi-resource-pgentra: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
