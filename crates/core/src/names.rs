//! The one rule from a description's camelCase names to Terraform's snake_case ones.
//!
//! Names are written once, in camelCase (Pulumi's). Terraform's follow by this rule:
//! an underscore before each capital that starts a word, everything lower-cased
//! (`fullyQualifiedDomainName` -> `fully_qualified_domain_name`, `AdAdmin` -> `ad_admin`).
//! A run of capitals is one word (`caCertURL` -> `ca_cert_url`); digits stay with the word
//! before them. Exceptions are not made here: a property names its own
//! ([`crate::spec::Property::terraform_name`]), so each one is visible in the description.

/// `resourceGroupName` -> `resource_group_name`; `FlexibleServer` -> `flexible_server`.
pub fn snake_case(camel: &str) -> String {
    let chars: Vec<char> = camel.chars().collect();
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            // A new word starts after a lower-case letter or digit, or where a run of
            // capitals hands over to a capitalised word (`URLPath` -> `url_path`).
            if previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The inverse for names without capital runs: `resource_group_name` -> `resourceGroupName`.
pub fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Registry;

    #[test]
    fn the_contract_names_follow_the_rule() {
        for (camel, snake) in [
            ("resourceGroupName", "resource_group_name"),
            ("storageSizeGb", "storage_size_gb"),
            ("fullyQualifiedDomainName", "fully_qualified_domain_name"),
            ("oidcTokenFilePath", "oidc_token_file_path"),
            ("useMsi", "use_msi"),
            ("caCertFile", "ca_cert_file"),
            ("FlexibleServer", "flexible_server"),
            ("AdAdmin", "ad_admin"),
            ("isMfa", "is_mfa"),
            ("name", "name"),
        ] {
            assert_eq!(snake_case(camel), snake, "{camel}");
        }
    }

    #[test]
    fn capital_runs_are_one_word_and_digits_stay_with_theirs() {
        assert_eq!(snake_case("caCertURL"), "ca_cert_url");
        assert_eq!(snake_case("URLPath"), "url_path");
        assert_eq!(snake_case("ipv4Address"), "ipv4_address");
    }

    /// Every Terraform name is a legal one (`^[a-z0-9_]+$`), distinct within its resource,
    /// and leads back to the description's name, so the adapter can map both ways.
    #[test]
    fn every_described_name_maps_to_terraform_and_back() {
        let registry = Registry::builtin();
        let mut checked = 0;
        for resource in registry.resources() {
            let spec = resource.spec();
            let mut seen = std::collections::BTreeSet::new();
            let type_name = spec.tf_type_name();
            assert!(legal(&type_name), "{type_name}");
            for property in spec.properties {
                let tf = property.tf_name();
                assert!(legal(&tf), "{}.{}: {tf}", spec.token, property.name);
                assert!(
                    seen.insert(tf.clone()),
                    "{} has two properties named {tf}",
                    spec.token
                );
                if property.terraform_name.is_none() {
                    assert_eq!(camel_case(&tf), property.name, "{}", spec.token);
                }
                checked += 1;
            }
        }
        assert!(
            checked > 40,
            "the registry's properties were walked ({checked})"
        );
    }

    #[test]
    fn terraform_reserved_names_have_their_exception() {
        // `connection` is a meta-argument of every Terraform resource block.
        let registry = Registry::builtin();
        let grant = registry.resource("pgentra:index:Grant").expect("Grant");
        let connection = grant.spec().property("connection").expect("connection");
        assert_eq!(connection.tf_name(), "sql_connection");
        for resource in registry.resources() {
            for property in resource.spec().properties {
                let tf = property.tf_name();
                for reserved in [
                    "count",
                    "for_each",
                    "provider",
                    "depends_on",
                    "lifecycle",
                    "connection",
                    "provisioner",
                ] {
                    assert_ne!(
                        tf,
                        reserved,
                        "{} uses a Terraform meta-argument",
                        resource.spec().token
                    );
                }
            }
        }
    }

    fn legal(name: &str) -> bool {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }
}
