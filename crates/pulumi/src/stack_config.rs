//! Pulumi stack config as the core's typed provider config. Stack config arrives as text
//! whatever the property's type (`pulumi config set pgentra:useMsi true`), and carries the
//! engine's own `version` key, which is not a setting of pgentra's.

use pgentra_core::config::{check_config, typed_from_text};
use pgentra_core::props::Props;
use pgentra_core::spec::CheckFailure;

/// The engine's key for the plugin version it asked for.
const VERSION_KEY: &str = "version";

/// The settings of `args` with text converted to each property's type, without `version`.
pub fn typed(args: &Props) -> Props {
    let mut typed = Props::default();
    for (key, value) in &args.values {
        if key != VERSION_KEY {
            typed.set(key, typed_from_text(key, value));
        }
    }
    typed.inherit_secrets(args);
    typed
}

/// CheckConfig: the core's check of the typed settings; `version` is passed back as given.
pub fn check(news: &Props) -> (Props, Vec<CheckFailure>) {
    let (mut checked, failures) = check_config(&typed(news));
    if let Some(version) = news.values.get(VERSION_KEY) {
        checked.set(VERSION_KEY, version.clone());
    }
    (checked, failures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stack_config_strings_become_booleans_and_version_passes_through() {
        let (checked, failures) = check(&Props::from_json(
            json!({"useMsi": "true", "version": "0.1.0"}),
        ));
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(checked.get("useMsi"), Some(&json!(true)));
        assert_eq!(checked.get("version"), Some(&json!("0.1.0")));
    }
}
