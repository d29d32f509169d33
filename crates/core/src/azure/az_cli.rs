//! What the Azure CLI knows: its default subscription (`az account show`), for a configuration
//! that names none, as azurerm does, and other look-ups (`az ad group show`). The `az` on PATH
//! is run; no `az` means no answer from it.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The `id` of `az account show`, or why there is none.
pub fn default_subscription() -> Result<String, String> {
    let account = run_json(&["account", "show"])?;
    let id = account["id"].as_str().unwrap_or_default();
    match crate::rules::uuid(&Value::String(id.to_owned())) {
        Ok(()) => Ok(id.to_owned()),
        Err(_) => Err(format!(
            "`az account show` named no subscription id ({id:?})"
        )),
    }
}

/// Runs `az ARGS --output json` (the az on PATH) and reads what it printed; an error says
/// az's first line of complaint.
pub fn run_json(args: &[&str]) -> Result<Value, String> {
    let az = find_on_path("az").ok_or("az is not on PATH")?;
    let shown = format!("az {}", args.join(" "));
    let output = Command::new(&az)
        .args(args)
        .args(["--output", "json"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {}: {e}", az.display()))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let first = said
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        return Err(format!("`{shown}` failed: {}", first.trim()));
    }
    serde_json::from_slice(&output.stdout).map_err(|_| format!("`{shown}` printed no JSON"))
}

/// The first executable file named `program` in PATH's directories.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}
