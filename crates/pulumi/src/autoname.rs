//! Names chosen by the provider when the program gives none, as Pulumi users expect:
//! `<resource name>-<suffix>`, stable across previews (the suffix comes from the engine's
//! random seed), kept across updates, fresh for a replacement.

use crate::proto::pulumirpc::check_request::{autonaming_options::Mode, AutonamingOptions};
use pgentra_core::props::Props;
use pgentra_core::spec::{AutoName, CheckFailure};
use serde_json::Value;

pub fn fill(
    rule: AutoName,
    news: &mut Props,
    olds: &Props,
    resource_name: &str,
    random_seed: &[u8],
    options: Option<&AutonamingOptions>,
    failures: &mut Vec<CheckFailure>,
) {
    if news.get(rule.property).is_some() {
        return;
    }
    let previous_was_ours = olds.is_provider_chosen(rule.property);
    let name = match (olds.str(rule.property), previous_was_ours, options) {
        (Some(old), true, _) => old.to_owned(),
        (_, _, Some(options)) if options.mode == Mode::Disable as i32 => {
            failures.push(CheckFailure::new(
                rule.property,
                "autonaming is disabled for this stack; set the name explicitly",
            ));
            return;
        }
        (_, _, Some(options)) if !options.proposed_name.is_empty() => options.proposed_name.clone(),
        _ => generate(rule, resource_name, random_seed),
    };
    news.set(rule.property, Value::String(name));
    news.mark_provider_chosen(rule.property);
}

/// `<base>-<7 hex>` where base is the resource name reduced to letters, digits and single
/// hyphens, so the result satisfies every Azure naming rule pgentra auto-names for.
pub fn generate(rule: AutoName, resource_name: &str, random_seed: &[u8]) -> String {
    let mut base = String::new();
    for c in resource_name.chars() {
        let c = if rule.lowercase {
            c.to_ascii_lowercase()
        } else {
            c
        };
        if c.is_ascii_alphanumeric() {
            base.push(c);
        } else if !base.is_empty() && !base.ends_with('-') {
            base.push('-');
        }
    }
    let suffix = format!("{:07x}", fnv1a(random_seed) & 0xfff_ffff);
    base.truncate(rule.max_len.saturating_sub(suffix.len() + 1));
    let base = base.trim_end_matches('-');
    if base.is_empty() {
        format!("pgentra-{suffix}")
    } else {
        format!("{base}-{suffix}")
    }
}

/// FNV-1a: small, and stable across Rust releases (std's hasher is not).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SERVER: AutoName = AutoName {
        property: "serverName",
        max_len: 63,
        lowercase: true,
    };

    #[test]
    fn the_same_seed_gives_the_same_name_and_another_seed_another() {
        let a = generate(SERVER, "MyApp_DB", b"seed-1");
        assert_eq!(a, generate(SERVER, "MyApp_DB", b"seed-1"));
        assert_ne!(a, generate(SERVER, "MyApp_DB", b"seed-2"));
        assert!(a.starts_with("myapp-db-"), "{a}");
    }

    #[test]
    fn long_names_are_cut_to_the_limit_without_a_dangling_hyphen() {
        let name = generate(SERVER, &"a-".repeat(60), b"s");
        assert!(name.len() <= 63, "{name}");
        assert!(!name.contains("--"), "{name}");
    }

    #[test]
    fn an_update_keeps_the_name_the_provider_chose() {
        let mut olds = Props::from_json(json!({"serverName": "db-1234567"}));
        olds.mark_provider_chosen("serverName");
        let mut news = Props::default();
        let mut failures = vec![];
        fill(
            SERVER,
            &mut news,
            &olds,
            "db",
            b"other",
            None,
            &mut failures,
        );
        assert_eq!(news.str("serverName"), Some("db-1234567"));
        assert!(failures.is_empty());
    }

    #[test]
    fn a_name_the_user_gave_is_left_alone() {
        let mut news = Props::from_json(json!({"serverName": "mine"}));
        fill(
            SERVER,
            &mut news,
            &Props::default(),
            "db",
            b"s",
            None,
            &mut vec![],
        );
        assert_eq!(news.str("serverName"), Some("mine"));
        assert!(!news.is_provider_chosen("serverName"));
    }
}
