//! Per-property rules shared by resources and provider config: Azure's naming rules,
//! PostgreSQL's identifier limits, formats. Each returns what is allowed when it refuses,
//! quoting the refused value (never a secret one).
//!
//! The patterns come from the official ARM specs (`reference/azure/`); they are written out by
//! hand instead of with a regex engine. Where a spec says `\w`, it means ASCII `[A-Za-z0-9_]`.

use serde_json::Value;

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// `Ok` when `ok`, otherwise the refusal.
fn allow(ok: bool, refusal: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(refusal())
    }
}

/// `s` has `min..=max` characters, the first satisfies `first` and the others `rest`.
fn shaped(
    s: &str,
    min: usize,
    max: usize,
    first: fn(char) -> bool,
    rest: fn(char) -> bool,
) -> bool {
    let mut chars = s.chars();
    (min..=max).contains(&s.chars().count()) && chars.next().is_some_and(first) && chars.all(rest)
}

fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Regex `\w`: ASCII letters, digits and `_`.
fn word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn alnum_hyphen_underscore(c: char) -> bool {
    word(c) || c == '-'
}

// ---------------------------------------------------------------------------------------------
// Formats

/// A GUID such as `00000000-0000-0000-0000-000000000000` (subscription, tenant and object ids).
pub fn uuid(value: &Value) -> Result<(), String> {
    let s = text(value);
    let groups: Vec<&str> = s.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    allow(ok, || {
        format!("{s:?} is not a GUID; expected the form 00000000-0000-0000-0000-000000000000")
    })
}

/// An absolute https:// URL (ARM endpoint, authority host).
pub fn https_url(value: &Value) -> Result<(), String> {
    let s = text(value);
    let rest = s
        .strip_prefix("https://")
        .ok_or_else(|| format!("{s:?} must be an https:// URL"))?;
    allow(
        !rest.is_empty() && !rest.starts_with('/') && !s.chars().any(char::is_whitespace),
        || format!("{s:?} must be an https:// URL with a host and no spaces"),
    )
}

/// An `http://` or `https://` URL: a managed identity endpoint (the VM's metadata service
/// speaks plain HTTP on its link-local address).
pub fn http_url(value: &Value) -> Result<(), String> {
    let s = text(value);
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .ok_or_else(|| format!("{s:?} must be an http:// or https:// URL"))?;
    allow(
        !rest.is_empty() && !rest.starts_with('/') && !s.chars().any(char::is_whitespace),
        || format!("{s:?} must be an http:// or https:// URL with a host and no spaces"),
    )
}

/// A dotted IPv4 address such as `203.0.113.7`: four numbers 0-255 without leading zeros.
pub fn ipv4(value: &Value) -> Result<(), String> {
    let s = text(value);
    allow(parse_ipv4(s).is_some(), || {
        format!("{s:?} is not an IPv4 address; use the dotted form such as 203.0.113.7")
    })
}

/// The address as a number (so ranges can be compared), `None` unless the spec's dotted form.
pub fn parse_ipv4(s: &str) -> Option<u32> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    parts.iter().try_fold(0u32, |acc, part| {
        let well_formed = (1..=3).contains(&part.len())
            && part.chars().all(|c| c.is_ascii_digit())
            && (part.len() == 1 || !part.starts_with('0'));
        if !well_formed {
            return None;
        }
        let octet: u8 = part.parse().ok()?;
        Some(acc << 8 | u32::from(octet))
    })
}

/// A TCP port, 1-65535.
pub fn port(value: &Value) -> Result<(), String> {
    let n = value.as_f64().unwrap_or(0.0);
    allow((1.0..=65535.0).contains(&n), || {
        format!("{n} is not a TCP port; use 1-65535")
    })
}

/// A host name or IP address to connect to, such as `pg-myapp-prod.postgres.database.azure.com`.
pub fn host(value: &Value) -> Result<(), String> {
    let s = text(value);
    let ok = (1..=253).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:[]".contains(c));
    allow(ok, || {
        format!("{s:?} is not a host; use a host name or IP address such as pg-myapp-prod.postgres.database.azure.com")
    })
}

// ---------------------------------------------------------------------------------------------
// Azure Resource Manager

/// A resource group name: 1-90 letters, digits, `-`, `_`, `.`, `(` and `)`, not ending in `.`.
pub fn resource_group_name(value: &Value) -> Result<(), String> {
    let s = text(value);
    let ok = (1..=90).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_alphanumeric() || "-_.()".contains(c))
        && !s.ends_with('.');
    allow(ok, || {
        format!("{s:?} is not a resource group name: use 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'")
    })
}

/// An Azure region name such as `eastus` (display names like `East US` are accepted by ARM too).
pub fn location(value: &Value) -> Result<(), String> {
    let s = text(value);
    let ok =
        !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ');
    allow(ok, || {
        format!("{s:?} is not an Azure region; use a name such as eastus or westeurope")
    })
}

/// Azure tags: at most 50, names up to 512 characters without `<>%&\?/`, values up to 256.
pub fn tags(value: &Value) -> Result<(), String> {
    let Some(map) = value.as_object() else {
        return Ok(());
    };
    if map.len() > 50 {
        return Err(format!("{} tags given; Azure allows at most 50", map.len()));
    }
    for (name, tag) in map {
        if name.is_empty()
            || name.chars().count() > 512
            || name.chars().any(|c| "<>%&\\?/".contains(c))
        {
            return Err(format!(
                "tag name {name:?} must be 1-512 characters without < > % & \\ ? /"
            ));
        }
        if tag.as_str().is_some_and(|v| v.chars().count() > 256) {
            return Err(format!(
                "the value of tag {name:?} is longer than Azure's 256 characters"
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Managed identities and federated credentials

/// A user-assigned identity name: 3-128 letters, digits, `-` and `_`, starting with a letter or digit.
pub fn identity_name(value: &Value) -> Result<(), String> {
    let s = text(value);
    allow(shaped(s, 3, 128, alnum, alnum_hyphen_underscore), || {
        format!("{s:?} is not a managed identity name: use 3-128 letters, digits, '-' or '_', starting with a letter or digit")
    })
}

/// A federated credential name: 3-120 letters, digits, `-` and `_`, starting with a letter or digit.
pub fn federated_credential_name(value: &Value) -> Result<(), String> {
    let s = text(value);
    allow(shaped(s, 3, 120, alnum, alnum_hyphen_underscore), || {
        format!("{s:?} is not a federated credential name: use 3-120 letters, digits, '-' or '_', starting with a letter or digit")
    })
}

/// The longest issuer, subject or audience Entra accepts on a federated credential.
const FEDERATION_MAX: usize = 600;

/// A federated credential's issuer: an https:// URL of at most 600 characters, with no user
/// info, query or fragment (an OIDC issuer is `https://host[:port][/path]`, and Entra fetches
/// `<issuer>/.well-known/openid-configuration` from it).
pub fn issuer(value: &Value) -> Result<(), String> {
    https_url(value)?;
    let s = text(value);
    let authority = s["https://".len()..].split('/').next().unwrap_or_default();
    let part = if authority.contains('@') {
        Some("user info ('user@')")
    } else if s.contains('?') {
        Some("a query ('?')")
    } else if s.contains('#') {
        Some("a fragment ('#')")
    } else {
        None
    };
    if let Some(part) = part {
        return Err(format!(
            "the issuer {} has {part}; an OIDC issuer is https://host[:port][/path] with none of \
             user info, query or fragment",
            crate::spec::shown(s)
        ));
    }
    allow(s.chars().count() <= FEDERATION_MAX, || {
        format!("the issuer {s:?} is longer than Entra's {FEDERATION_MAX} characters")
    })
}

/// The host of an https:// issuer URL (without port), lower-cased.
fn issuer_host(issuer: &str) -> Option<String> {
    let rest = issuer.strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host.split(':').next()?,
    };
    Some(host.to_ascii_lowercase())
}

/// Whether an issuer is an AKS cluster's OIDC issuer by its published form:
/// `https://<region>.oic.prod-aks.azure.<cloud suffix>/<tenant id>/<cluster guid>/` (the host
/// has the labels `oic.prod-aks.azure`). Only the URL is judged: a self-managed cluster's or the
/// emulator's issuer (a loopback origin that also signs GitHub Actions tokens) does not look
/// like a cluster, and is held to the Kubernetes subject form only when its subject claims it.
pub fn looks_like_aks_issuer(issuer: &str) -> bool {
    issuer_host(issuer).is_some_and(|host| host.contains(".oic.prod-aks.azure."))
}

/// An AKS issuer written without the trailing '/' AKS publishes: the `iss` of its
/// service-account tokens ends in '/', and Entra compares the strings exactly (AADSTS70021 "No
/// matching federated identity record found").
pub fn aks_issuer_missing_slash(issuer: &str) -> bool {
    looks_like_aks_issuer(issuer) && !issuer.ends_with('/')
}

/// The prefix of a Kubernetes service account's token subject.
pub const SERVICE_ACCOUNT_SUBJECT_PREFIX: &str = "system:serviceaccount:";

/// A DNS-1123 label (a Kubernetes namespace): 1-63 lower-case letters, digits and '-',
/// starting and ending with a letter or digit.
fn dns1123_label(s: &str) -> bool {
    let lower_alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (1..=63).contains(&s.len())
        && s.starts_with(lower_alnum)
        && s.ends_with(lower_alnum)
        && s.chars().all(|c| lower_alnum(c) || c == '-')
}

/// A DNS-1123 subdomain (a Kubernetes service account name): at most 253 characters, labels
/// joined by '.'.
fn dns1123_subdomain(s: &str) -> bool {
    (1..=253).contains(&s.len()) && s.split('.').all(dns1123_label)
}

/// `NAMESPACE` and `NAME` of a service account, checked by Kubernetes' naming rules.
pub fn kubernetes_service_account(namespace: &str, name: &str) -> Result<(), String> {
    if !dns1123_label(namespace) {
        return Err(format!(
            "the namespace {} is not a Kubernetes namespace name: use 1-63 lower-case letters, \
             digits or '-', starting and ending with a letter or digit",
            crate::spec::shown(namespace)
        ));
    }
    allow(dns1123_subdomain(name), || {
        format!(
            "the service account {} is not a Kubernetes name: use at most 253 lower-case \
             letters, digits, '-' or '.', each dot-separated part starting and ending with a \
             letter or digit",
            crate::spec::shown(name)
        )
    })
}

/// The subject of the tokens a cluster projects for a service account.
pub fn service_account_subject(namespace: &str, name: &str) -> String {
    format!("{SERVICE_ACCOUNT_SUBJECT_PREFIX}{namespace}:{name}")
}

/// A subject that must be a Kubernetes service account's, `system:serviceaccount:<ns>:<name>`:
/// its namespace and name.
pub fn service_account_of_subject(subject: &str) -> Result<(&str, &str), String> {
    let wanted = "system:serviceaccount:<namespace>:<service account>";
    let Some(rest) = subject.strip_prefix(SERVICE_ACCOUNT_SUBJECT_PREFIX) else {
        return Err(format!(
            "{} is not a Kubernetes service account subject: a cluster's tokens carry {wanted}",
            crate::spec::shown(subject)
        ));
    };
    let Some((namespace, name)) = rest.split_once(':') else {
        return Err(format!(
            "{} names no service account: a cluster's tokens carry {wanted}",
            crate::spec::shown(subject)
        ));
    };
    kubernetes_service_account(namespace, name)
        .map(|()| (namespace, name))
        .map_err(|why| format!("{why}; a cluster's tokens carry {wanted}"))
}

/// A federated credential's subject: 1-600 characters, matched exactly (no wildcards).
pub fn subject(value: &Value) -> Result<(), String> {
    let s = text(value);
    allow(
        (1..=FEDERATION_MAX).contains(&s.chars().count()) && !s.contains('*'),
        || {
            format!(
            "{s:?} is not a subject Entra matches: use 1-{FEDERATION_MAX} characters without '*' wildcards, \
             such as system:serviceaccount:<namespace>:<service account>"
        )
        },
    )
}

/// A federated credential's audiences: exactly one, of 1-600 characters.
pub fn audiences(value: &Value) -> Result<(), String> {
    let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
    let [only] = items else {
        return Err(format!(
            "{} audiences given; Entra accepts exactly one, normally api://AzureADTokenExchange",
            items.len()
        ));
    };
    let s = text(only);
    allow((1..=FEDERATION_MAX).contains(&s.chars().count()), || {
        format!("the audience {s:?} must have 1-{FEDERATION_MAX} characters, such as api://AzureADTokenExchange")
    })
}

// ---------------------------------------------------------------------------------------------
// Azure Database for PostgreSQL flexible servers

/// A flexible server name, also a DNS label: 3-63 lower-case letters, digits and hyphens,
/// not starting or ending with a hyphen, no two hyphens in a row.
pub fn server_name(value: &Value) -> Result<(), String> {
    let s = text(value);
    let lower_alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok = (3..=63).contains(&s.len())
        && s.chars().all(|c| lower_alnum(c) || c == '-')
        && s.split('-').all(|label| !label.is_empty());
    allow(ok, || {
        format!(
            "{s:?} is not a server name: use 3-63 lower-case letters, digits and hyphens, \
             not starting or ending with a hyphen and without two in a row, such as pg-myapp-prod"
        )
    })
}

/// A compute size: `Standard_` followed by letters, digits and underscores, such as `Standard_D2s_v3`.
pub fn sku_name(value: &Value) -> Result<(), String> {
    let s = text(value);
    let ok = s
        .strip_prefix("Standard_")
        .is_some_and(|size| !size.is_empty() && size.chars().all(word));
    allow(ok, || {
        format!("{s:?} is not a compute size; use Standard_ and a size, such as Standard_B1ms or Standard_D2s_v3")
    })
}

/// The storage sizes, in GiB, a flexible server can have.
pub const STORAGE_SIZES_GB: &[i64] = &[
    32, 64, 128, 256, 512, 1024, 2048, 4095, 4096, 8192, 16384, 32767,
];

/// A storage size Azure offers (see [`STORAGE_SIZES_GB`]).
pub fn storage_size_gb(value: &Value) -> Result<(), String> {
    let n = value.as_f64().unwrap_or(0.0);
    allow(
        STORAGE_SIZES_GB.iter().any(|&size| size as f64 == n),
        || {
            let sizes: Vec<String> = STORAGE_SIZES_GB.iter().map(i64::to_string).collect();
            format!(
                "{n} GB is not a storage size Azure offers; use one of {}",
                sizes.join(", ")
            )
        },
    )
}

/// Logins Azure keeps for itself.
const RESERVED_LOGINS: &[&str] = &[
    "azure_superuser",
    "azure_pg_admin",
    "admin",
    "administrator",
    "root",
    "guest",
    "public",
];

/// The password administrator's login: 1-63 letters, digits and `_` starting with a letter,
/// not starting with `pg_`, not a name Azure reserves.
pub fn administrator_login(value: &Value) -> Result<(), String> {
    let s = text(value);
    if RESERVED_LOGINS.iter().any(|r| r.eq_ignore_ascii_case(s)) {
        return Err(format!(
            "{s:?} is reserved by Azure; choose a login other than {}",
            RESERVED_LOGINS.join(", ")
        ));
    }
    let ok = shaped(s, 1, 63, |c| c.is_ascii_alphabetic(), word)
        && !s.to_ascii_lowercase().starts_with("pg_");
    allow(ok, || {
        format!("{s:?} is not an administrator login: use 1-63 letters, digits and '_', starting with a letter and not with pg_")
    })
}

/// The password administrator's password: 8-128 characters from at least three of upper-case
/// letters, lower-case letters, digits and symbols. The refusal never repeats the password.
pub fn administrator_password(value: &Value) -> Result<(), String> {
    let s = text(value);
    let kinds = [
        s.chars().any(|c| c.is_ascii_uppercase()),
        s.chars().any(|c| c.is_ascii_lowercase()),
        s.chars().any(|c| c.is_ascii_digit()),
        s.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    let ok = (8..=128).contains(&s.chars().count()) && kinds.iter().filter(|&&k| k).count() >= 3;
    allow(ok, || {
        "the password (not shown) is too weak for Azure: use 8-128 characters from at least three of \
         upper-case letters, lower-case letters, digits and symbols"
            .to_owned()
    })
}

/// An Entra administrator's name as Entra shows it (UPN, group or application name): 1-256 characters.
pub fn principal_name(value: &Value) -> Result<(), String> {
    let s = text(value);
    allow((1..=256).contains(&s.chars().count()), || {
        format!("{s:?} is not a principal name: use the user's UPN or the group's or application's display name (1-256 characters)")
    })
}

/// A database name: 1-63 letters, digits, `_` and `-`, starting with a letter or `_`.
pub fn database_name(value: &Value) -> Result<(), String> {
    let s = text(value);
    allow(
        shaped(
            s,
            1,
            63,
            |c| c.is_ascii_alphabetic() || c == '_',
            alnum_hyphen_underscore,
        ),
        || {
            format!("{s:?} is not a database name: use 1-63 letters, digits, '_' or '-', starting with a letter or '_'")
        },
    )
}

/// A character set such as `UTF8`: a letter, then letters, digits and `_`.
pub fn charset(value: &Value) -> Result<(), String> {
    let s = text(value);
    allow(
        shaped(s, 1, usize::MAX, |c| c.is_ascii_alphabetic(), word),
        || {
            format!("{s:?} is not a character set: use a name such as UTF8 (a letter, then letters, digits or '_')")
        },
    )
}

/// A collation such as `en_US.utf8`: the spec's `^[a-zA-Z\-]+([. ]|\w)*$`.
pub fn collation(value: &Value) -> Result<(), String> {
    let s = text(value);
    let head = |c: char| c.is_ascii_alphabetic() || c == '-';
    let split = s.find(|c: char| !head(c)).unwrap_or(s.len());
    let ok = split > 0 && s[split..].chars().all(|c| word(c) || c == '.' || c == ' ');
    allow(ok, || {
        format!(
            "{s:?} is not a collation: use a name such as en_US.utf8 (letters or '-', then letters, digits, \
             '_', '.' or spaces)"
        )
    })
}

/// A firewall rule name: 1-80 letters, digits, `-` and `_`, starting with a letter or digit, not ending in `-`.
pub fn firewall_rule_name(value: &Value) -> Result<(), String> {
    let s = text(value);
    allow(
        shaped(s, 1, 80, alnum, alnum_hyphen_underscore) && !s.ends_with('-'),
        || {
            format!("{s:?} is not a firewall rule name: use 1-80 letters, digits, '-' or '_', starting with a letter or digit and not ending in '-'")
        },
    )
}

/// A server parameter name such as `azure.extensions`: 1-256 letters, digits, `-`, `_` and `.`.
pub fn parameter_name(value: &Value) -> Result<(), String> {
    let s = text(value);
    let allowed = |c: char| word(c) || c == '-' || c == '.';
    allow(shaped(s, 1, 256, allowed, allowed), || {
        format!("{s:?} is not a server parameter name: use 1-256 letters, digits, '-', '_' or '.', such as shared_preload_libraries")
    })
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// PostgreSQL's identifier limit (NAMEDATALEN - 1): longer names are silently truncated.
const PG_NAME_MAX_BYTES: usize = 63;

/// Role names PostgreSQL reserves (compared case-insensitively).
const RESERVED_ROLES: &[&str] = &[
    "public",
    "none",
    "current_user",
    "session_user",
    "current_role",
];

/// A PostgreSQL identifier (database, schema, table): 1-63 bytes, no NUL; it is always quoted,
/// so any other character is allowed.
pub fn pg_identifier(value: &Value) -> Result<(), String> {
    let s = text(value);
    allow(
        (1..=PG_NAME_MAX_BYTES).contains(&s.len()) && !s.contains('\0'),
        || {
            format!("{s:?} is not a PostgreSQL name: use 1-{PG_NAME_MAX_BYTES} bytes without NUL characters")
        },
    )
}

/// A list of PostgreSQL identifiers, each as [`pg_identifier`].
pub fn pg_identifiers(value: &Value) -> Result<(), String> {
    value
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .try_for_each(pg_identifier)
}

/// A PostgreSQL role name, such as an Entra principal's UPN or display name: a
/// [`pg_identifier`] that does not start with `pg_` and is not a reserved role name.
pub fn role_name(value: &Value) -> Result<(), String> {
    pg_identifier(value)?;
    let s = text(value);
    if s.starts_with("pg_") {
        return Err(format!("{s:?} starts with pg_, which PostgreSQL reserves for its own roles; choose another role name"));
    }
    allow(
        !RESERVED_ROLES.iter().any(|r| r.eq_ignore_ascii_case(s)),
        || {
            format!(
                "{s:?} is reserved by PostgreSQL; a role cannot be named {}",
                RESERVED_ROLES.join(", ").to_uppercase()
            )
        },
    )
}

/// A Grant's grantee: a [`role_name`], or `PUBLIC` (exactly so) for every role.
pub fn grantee(value: &Value) -> Result<(), String> {
    let s = text(value);
    if s == "PUBLIC" {
        return Ok(());
    }
    if s.eq_ignore_ascii_case("public") {
        return Err(format!(
            "{s:?}: to grant to (or revoke from) every role, write PUBLIC in capitals; no role can be named public"
        ));
    }
    role_name(value)
}

/// The objects of a Grant: PostgreSQL names, or (for functions; the Grant checks which)
/// a name with its argument types in parentheses, which may run longer than 63 bytes.
pub fn pg_object_names(value: &Value) -> Result<(), String> {
    value
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .try_for_each(|item| {
            let s = text(item);
            if s.contains('(') && s.len() <= 4096 && !s.contains('\0') {
                Ok(())
            } else {
                pg_identifier(item)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uuid_accepts_a_guid_and_names_the_form_otherwise() {
        assert!(uuid(&json!("0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a69")).is_ok());
        let err = uuid(&json!("not-a-guid")).unwrap_err();
        assert!(
            err.contains("00000000-0000-0000-0000-000000000000"),
            "{err}"
        );
        assert!(uuid(&json!("0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a6")).is_err());
    }

    #[test]
    fn https_url_refuses_http_and_empty_hosts() {
        assert!(https_url(&json!("https://management.azure.com/")).is_ok());
        assert!(https_url(&json!("http://management.azure.com/")).is_err());
        assert!(https_url(&json!("https://")).is_err());
    }

    #[test]
    fn http_url_takes_either_scheme_with_a_host() {
        assert!(http_url(&json!(
            "http://169.254.169.254/metadata/identity/oauth2/token"
        ))
        .is_ok());
        assert!(http_url(&json!(
            "https://127.0.0.1:8443/metadata/identity/oauth2/token"
        ))
        .is_ok());
        assert!(http_url(&json!("ftp://host/"))
            .unwrap_err()
            .contains("http:// or https://"));
        assert!(http_url(&json!("http://")).is_err());
    }

    #[test]
    fn ipv4_takes_the_dotted_form_only() {
        assert_eq!(parse_ipv4("203.0.113.7"), Some(0xCB00_7107));
        assert_eq!(parse_ipv4("0.0.0.0"), Some(0));
        assert_eq!(parse_ipv4("255.255.255.255"), Some(u32::MAX));
        for bad in [
            "256.0.0.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1.2.3.x",
            "",
            "1..2.3",
            "+1.2.3.4",
        ] {
            assert!(ipv4(&json!(bad)).is_err(), "{bad}");
        }
        assert!(ipv4(&json!("10.0.0.256"))
            .unwrap_err()
            .contains("\"10.0.0.256\""));
    }

    #[test]
    fn server_names_are_lower_case_dns_labels() {
        for good in ["pg-myapp-prod", "abc", "a1-b2"] {
            assert!(server_name(&json!(good)).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "-pg",
            "pg-",
            "pg--x",
            "PG-myapp",
            "pg_myapp",
            &"a".repeat(64),
        ] {
            assert!(server_name(&json!(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn collation_follows_the_spec_pattern() {
        for good in ["en_US.utf8", "C", "English_United States.1252", "und-x-icu"] {
            assert!(collation(&json!(good)).is_ok(), "{good}");
        }
        for bad in ["", "1en", "en_US-x", "en/US"] {
            assert!(collation(&json!(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_strength_needs_three_kinds_and_never_echoes_the_password() {
        assert!(administrator_password(&json!("Passw0rd")).is_ok());
        assert!(administrator_password(&json!("pass-w0rd")).is_ok());
        let err = administrator_password(&json!("password123")).unwrap_err();
        assert!(!err.contains("password123"), "{err}");
        assert!(administrator_password(&json!("Pa1!")).is_err());
    }

    #[test]
    fn role_names_allow_any_characters_but_not_reserved_ones() {
        for good in [
            "developer@yourcompany.com",
            "PG Admins Group",
            "app-myapp-prod",
            "it's \"quoted\"",
            "PG_upper",
        ] {
            assert!(role_name(&json!(good)).is_ok(), "{good}");
        }
        for bad in [
            "",
            "pg_monitor",
            "public",
            "Current_User",
            "a\0b",
            &"é".repeat(32),
        ] {
            assert!(role_name(&json!(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn administrator_logins_refuse_reserved_names_and_pg_prefix() {
        assert!(administrator_login(&json!("pgadmin_1")).is_ok());
        for bad in [
            "Admin",
            "azure_superuser",
            "pg_admin",
            "1admin",
            "my-admin",
            "",
        ] {
            assert!(administrator_login(&json!(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn aks_issuers_are_known_by_their_host_and_service_accounts_by_kubernetes_names() {
        for aks in [
            "https://eastus.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-1111-1111-1111-111111111111/",
            "https://WestEurope.OIC.prod-aks.azure.com:443/t/c/",
        ] {
            assert!(looks_like_aks_issuer(aks), "{aks}");
        }
        for other in [
            "https://token.actions.githubusercontent.com",
            "https://127.0.0.1:8443",
            "https://oic.prod-aks.azure.com.evil.example/",
            "https://evil.example/eastus.oic.prod-aks.azure.com/",
        ] {
            assert!(!looks_like_aks_issuer(other), "{other}");
        }
        assert!(aks_issuer_missing_slash(
            "https://eastus.oic.prod-aks.azure.com/t/c"
        ));
        assert!(!aks_issuer_missing_slash(
            "https://token.actions.githubusercontent.com"
        ));
        assert!(kubernetes_service_account("kube-system", "a.b-c").is_ok());
        let long_name = "a".repeat(64);
        for (ns, sa) in [
            ("Ns", "sa"),
            ("ns-", "sa"),
            (long_name.as_str(), "sa"),
            ("ns", "a..b"),
            ("ns", ""),
        ] {
            assert!(kubernetes_service_account(ns, sa).is_err(), "{ns}/{sa}");
        }
        assert_eq!(
            service_account_of_subject("system:serviceaccount:ns:sa"),
            Ok(("ns", "sa"))
        );
    }
}
