//! `terraform-provider-pgentra`: pgentra's resources served to Terraform over go-plugin and
//! tfplugin6. Terraform starts it; run directly it explains that and exits 1.

use std::process::ExitCode;
use std::sync::Arc;

use pgentra_core::resource::Registry;
use pgentra_terraform::serve::{init_stderr_logging, serve};
use pgentra_terraform::service::PgentraProvider;

#[tokio::main]
async fn main() -> ExitCode {
    init_stderr_logging();
    let provider = PgentraProvider::new(Arc::new(Registry::builtin()));
    match serve(provider).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
