//! Typed ARM resource IDs, one per resource type, each with `parse` and a canonical `Display`.
//! Keys (`subscriptions`, `resourceGroups`, `providers`, namespaces, types) match
//! case-insensitively, as ARM compares them (MSI answers with `resourcegroups`); names keep
//! their case. Never string surgery on ARM IDs elsewhere.

use std::fmt;
use std::str::FromStr;

const PG: &str = "Microsoft.DBforPostgreSQL";
const MSI: &str = "Microsoft.ManagedIdentity";

/// The api-version pgentra speaks to Microsoft.DBforPostgreSQL (servers and their children),
/// the one its specs in `reference/azure/postgresql/` describe.
pub const POSTGRESQL_API_VERSION: &str = "2025-08-01";
/// The api-version pgentra speaks to Microsoft.ManagedIdentity (identities and their federated
/// credentials), the one its specs in `reference/azure/msi/` describe.
pub const MANAGED_IDENTITY_API_VERSION: &str = "2024-11-30";

/// A typed ARM resource ID: parsed from ARM's string form, formatted back to the canonical one,
/// and spoken to at its resource provider's api-version.
pub trait ArmId: fmt::Display + Clone + Send + Sync + 'static {
    /// The api-version of the resource provider this type belongs to.
    const API_VERSION: &'static str;

    fn parse(id: &str) -> Result<Self, IdError>;
}

/// An ID that does not have the shape of its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} is not a {kind} ID{}; expected {expected}", shown(.id), problem_suffix(.problem))]
pub struct IdError {
    pub kind: &'static str,
    pub id: String,
    pub expected: String,
    /// What in the ID cannot be sent to ARM, when the shape is right but a segment is not.
    pub problem: Option<&'static str>,
}

fn problem_suffix(problem: &Option<&'static str>) -> String {
    problem
        .map(|p| format!(": it contains {p}"))
        .unwrap_or_default()
}

/// The longest ID (or value from Azure) a message repeats in full.
const SHOWN_CHARS: usize = 200;

/// `value` quoted for a message, cut at [`SHOWN_CHARS`] characters.
pub fn shown(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(SHOWN_CHARS).collect();
    if chars.next().is_some() {
        format!("{head:?}... ({} characters)", value.chars().count())
    } else {
        format!("{head:?}")
    }
}

/// Why one `/`-separated segment of an ARM path cannot be sent as it is, if it cannot: a
/// segment must stay one segment of the path on the ARM endpoint, whatever the URL parser makes
/// of it (no dot segments, no query, fragment, user info or backslash, no control characters
/// or whitespace). ARM's own names never contain any of these.
pub fn segment_problem(segment: &str) -> Option<&'static str> {
    if segment.is_empty() {
        return Some("an empty segment ('//' or a '/' at the end)");
    }
    if segment == "." || segment == ".." {
        return Some("a '.' or '..' segment");
    }
    segment.chars().find_map(|c| match c {
        '?' => Some("a '?'"),
        '#' => Some("a '#'"),
        '@' => Some("an '@'"),
        '\\' => Some("a backslash"),
        '%' => Some("a '%'"),
        c if c.is_control() => Some("a control character"),
        c if c.is_whitespace() => Some("whitespace"),
        _ => None,
    })
}

/// Splits `/subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{t1}/{n1}[/{t2}/{n2}]` and checks
/// every key against `types` (case-insensitively). Returns subscription, group and the names.
fn parse_parts(
    id: &str,
    kind: &'static str,
    namespace: &str,
    types: &[&str],
) -> Result<(String, String, Vec<String>), IdError> {
    let expected = {
        let mut s = format!("/subscriptions/{{subscriptionId}}/resourceGroups/{{resourceGroupName}}/providers/{namespace}");
        for t in types {
            s.push_str(&format!("/{t}/{{name}}"));
        }
        s
    };
    let err = || IdError {
        kind,
        id: id.to_string(),
        expected: expected.clone(),
        problem: None,
    };
    let trimmed = id.trim().trim_end_matches('/');
    let Some(rest) = trimmed.strip_prefix('/') else {
        return Err(err());
    };
    let segs: Vec<&str> = rest.split('/').collect();
    if segs.len() != 6 + 2 * types.len() || segs.iter().any(|s| s.is_empty()) {
        return Err(err());
    }
    if let Some(problem) = segs.iter().find_map(|s| segment_problem(s)) {
        return Err(IdError {
            problem: Some(problem),
            ..err()
        });
    }
    let key = |i: usize, want: &str| segs[i].eq_ignore_ascii_case(want);
    if !(key(0, "subscriptions")
        && key(2, "resourceGroups")
        && key(4, "providers")
        && key(5, namespace))
    {
        return Err(err());
    }
    let mut names = Vec::new();
    for (n, t) in types.iter().enumerate() {
        if !key(6 + 2 * n, t) {
            return Err(err());
        }
        names.push(segs[7 + 2 * n].to_string());
    }
    Ok((segs[1].to_string(), segs[3].to_string(), names))
}

/// `FromStr` and [`ArmId`] through the type's own `parse`.
macro_rules! arm_id {
    ($t:ty, $api_version:expr) => {
        impl FromStr for $t {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl ArmId for $t {
            const API_VERSION: &'static str = $api_version;

            fn parse(id: &str) -> Result<Self, IdError> {
                Self::parse(id)
            }
        }
    };
}

/// `.../providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlexibleServerId {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
}

impl FlexibleServerId {
    pub fn new(subscription_id: &str, resource_group: &str, name: &str) -> Self {
        Self {
            subscription_id: subscription_id.into(),
            resource_group: resource_group.into(),
            name: name.into(),
        }
    }

    pub fn parse(id: &str) -> Result<Self, IdError> {
        let (s, g, n) = parse_parts(id, "flexible server", PG, &["flexibleServers"])?;
        Ok(Self::new(&s, &g, &n[0]))
    }

    /// Parses a child ID of a server: the server and the child's name.
    fn parse_child(
        id: &str,
        kind: &'static str,
        child_type: &str,
    ) -> Result<(Self, String), IdError> {
        let (s, g, mut n) = parse_parts(id, kind, PG, &["flexibleServers", child_type])?;
        let child = n.pop().unwrap_or_default();
        Ok((Self::new(&s, &g, &n[0]), child))
    }
}

impl fmt::Display for FlexibleServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "/subscriptions/{}/resourceGroups/{}/providers/{PG}/flexibleServers/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }
}
arm_id!(FlexibleServerId, POSTGRESQL_API_VERSION);

macro_rules! server_child {
    ($(#[$doc:meta])* $name:ident, $field:ident, $kind:literal, $segment:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name {
            pub server: FlexibleServerId,
            pub $field: String,
        }

        impl $name {
            pub fn new(server: FlexibleServerId, $field: &str) -> Self {
                Self { server, $field: $field.into() }
            }

            pub fn parse(id: &str) -> Result<Self, IdError> {
                let (server, child) = FlexibleServerId::parse_child(id, $kind, $segment)?;
                Ok(Self { server, $field: child })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}/{}/{}", self.server, $segment, self.$field)
            }
        }
        arm_id!($name, POSTGRESQL_API_VERSION);
    };
}

server_child!(
    /// `.../flexibleServers/{server}/administrators/{objectId}` (the Entra admin; its `name` in a
    /// GET is the principal name, so never derive one from the other).
    AdAdminId, object_id, "flexible server Entra administrator", "administrators"
);
server_child!(
    /// `.../flexibleServers/{server}/databases/{name}`
    DatabaseId, name, "flexible server database", "databases"
);
server_child!(
    /// `.../flexibleServers/{server}/firewallRules/{name}`
    FirewallRuleId, name, "flexible server firewall rule", "firewallRules"
);
server_child!(
    /// `.../flexibleServers/{server}/configurations/{name}` (a server parameter)
    ServerParameterId, name, "flexible server parameter", "configurations"
);

/// `.../providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ManagedIdentityId {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
}

impl ManagedIdentityId {
    pub fn new(subscription_id: &str, resource_group: &str, name: &str) -> Self {
        Self {
            subscription_id: subscription_id.into(),
            resource_group: resource_group.into(),
            name: name.into(),
        }
    }

    pub fn parse(id: &str) -> Result<Self, IdError> {
        let (s, g, n) = parse_parts(
            id,
            "user-assigned managed identity",
            MSI,
            &["userAssignedIdentities"],
        )?;
        Ok(Self::new(&s, &g, &n[0]))
    }
}

impl fmt::Display for ManagedIdentityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "/subscriptions/{}/resourceGroups/{}/providers/{MSI}/userAssignedIdentities/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }
}
arm_id!(ManagedIdentityId, MANAGED_IDENTITY_API_VERSION);

/// `.../userAssignedIdentities/{identity}/federatedIdentityCredentials/{name}`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FederatedCredentialId {
    pub identity: ManagedIdentityId,
    pub name: String,
}

impl FederatedCredentialId {
    pub fn new(identity: ManagedIdentityId, name: &str) -> Self {
        Self {
            identity,
            name: name.into(),
        }
    }

    pub fn parse(id: &str) -> Result<Self, IdError> {
        let (s, g, n) = parse_parts(
            id,
            "federated identity credential",
            MSI,
            &["userAssignedIdentities", "federatedIdentityCredentials"],
        )?;
        Ok(Self::new(ManagedIdentityId::new(&s, &g, &n[0]), &n[1]))
    }
}

impl fmt::Display for FederatedCredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/federatedIdentityCredentials/{}",
            self.identity, self.name
        )
    }
}
arm_id!(FederatedCredentialId, MANAGED_IDENTITY_API_VERSION);

/// Two ARM IDs name the same resource (ARM compares them case-insensitively).
pub fn same_id(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg";

    #[test]
    fn ids_whose_names_would_not_stay_one_url_segment_are_refused_naming_why() {
        assert!(FlexibleServerId::parse(SERVER).is_ok());
        for (name, why) in [
            ("pg?api-version=1", "a '?'"),
            ("pg#x", "a '#'"),
            ("..", "a '.' or '..' segment"),
            ("pg@127.0.0.2", "an '@'"),
            ("pg\\x", "a backslash"),
            ("pg%2e", "a '%'"),
            ("pg\u{7}", "a control character"),
            ("pg x", "whitespace"),
        ] {
            let id = SERVER.replace("/pg", &format!("/{name}"));
            let err = FlexibleServerId::parse(&id).expect_err(&id);
            assert_eq!(err.problem, Some(why), "{id:?}");
            assert!(
                err.to_string().contains(&format!("it contains {why}")),
                "{err}"
            );
        }
    }

    #[test]
    fn a_refusal_shows_a_long_id_cut_short() {
        let id = format!("{SERVER}/{}", "x".repeat(100_000));
        let message = FlexibleServerId::parse(&id).unwrap_err().to_string();
        assert!(message.len() < 600, "{} characters", message.len());
        assert!(message.contains("(100"), "{message}");
    }
}
