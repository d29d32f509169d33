//! `pgentra:index:FirewallRule`: a range of IPv4 addresses allowed to reach a Flexible Server's
//! public endpoint (Microsoft.DBforPostgreSQL/flexibleServers/firewallRules, api-version 2025-08-01).
//!
//! The range changes in place; the name is part of the rule's ID.

use crate::azure::ids::FirewallRuleId;
use crate::props::Props;
use crate::resource::Resource;
use crate::resources::arm_fields::ArmField;
use crate::resources::arm_resource::{server_child_binding, ArmBinding};
use crate::resources::common::{RESOURCE_GROUP_NAME, SERVER_NAME};
use crate::rules;
use crate::spec::{CheckFailure, Property, Replacement, ResourceSpec, Type};

pub static SPEC: ResourceSpec = ResourceSpec {
    token: "pgentra:index:FirewallRule",
    doc: "A range of IPv4 addresses allowed to connect to a Flexible Server's public endpoint, \
          such as the deployer's address so Principals and Grants can be applied. A range of \
          `0.0.0.0` to `0.0.0.0` allows every Azure service.",
    properties: &[
        RESOURCE_GROUP_NAME,
        SERVER_NAME,
        Property::input("name", Type::String, "The rule's name: 1-80 letters, digits, hyphens and underscores, starting with a letter or digit and not ending with a hyphen.")
            .required()
            .replace()
            .rule(rules::firewall_rule_name),
        Property::input("startIpAddress", Type::String, "The first IPv4 address of the range, such as `203.0.113.7`.")
            .required()
            .rule(rules::ipv4),
        Property::input("endIpAddress", Type::String, "The last IPv4 address of the range, not below startIpAddress; equal to it for one address.")
            .required()
            .rule(rules::ipv4),
    ],
    replacement: Replacement::DeleteFirstWhenSameId(&["resourceGroupName", "serverName", "name"]),
    autoname: None,
};

/// Where each property lives in the firewall rule body (FirewallRules.json, 2025-08-01).
pub static ARM: &[ArmField] = &[
    ArmField::new("startIpAddress", "properties.startIpAddress"),
    ArmField::new("endIpAddress", "properties.endIpAddress"),
];

pub static BINDING: ArmBinding = server_child_binding!(FirewallRuleId, name, "name", ARM);

pub struct FirewallRule;

impl Resource for FirewallRule {
    fn spec(&self) -> &'static ResourceSpec {
        &SPEC
    }

    fn arm(&self) -> Option<&'static ArmBinding> {
        Some(&BINDING)
    }

    fn validate(&self, news: &Props, _olds: &Props, failures: &mut Vec<CheckFailure>) {
        let address = |name| news.str(name).and_then(rules::parse_ipv4);
        if let (Some(start), Some(end)) = (address("startIpAddress"), address("endIpAddress")) {
            if start > end {
                failures.push(CheckFailure::new(
                    "endIpAddress",
                    format!(
                        "the range ends at {} before it starts at {}; set endIpAddress to {} or later",
                        news.str("endIpAddress").unwrap_or_default(),
                        news.str("startIpAddress").unwrap_or_default(),
                        news.str("startIpAddress").unwrap_or_default(),
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::props::unknown;
    use crate::resources::testing::{accepted, check, diff, refused, with};
    use serde_json::{json, Value};

    fn seed() -> Value {
        json!({"resourceGroupName": "rg-myapp-prod", "serverName": "pg-myapp-prod", "name": "deployer", "startIpAddress": "203.0.113.7", "endIpAddress": "203.0.113.7"})
    }

    #[test]
    fn a_single_address_passes() {
        accepted(&FirewallRule, &seed());
    }

    #[test]
    fn names_and_addresses_outside_the_spec_are_refused() {
        refused(
            &FirewallRule,
            &with(&seed(), json!({"name": "deployer-"})),
            "name",
        );
        refused(
            &FirewallRule,
            &with(&seed(), json!({"name": "_deployer"})),
            "name",
        );
        refused(
            &FirewallRule,
            &with(&seed(), json!({"startIpAddress": "203.0.113"})),
            "startIpAddress",
        );
        refused(
            &FirewallRule,
            &with(&seed(), json!({"endIpAddress": "2001:db8::1"})),
            "endIpAddress",
        );
    }

    #[test]
    fn a_range_ending_before_it_starts_is_refused_on_the_end() {
        let reason = refused(
            &FirewallRule,
            &with(&seed(), json!({"startIpAddress": "203.0.113.9"})),
            "endIpAddress",
        );
        assert!(reason.contains("203.0.113.9"), "{reason}");
        let pending = with(&seed(), json!({"startIpAddress": unknown()}));
        assert!(check(&FirewallRule, &pending, &json!({})).1.is_empty());
    }

    #[test]
    fn a_wider_range_is_an_update_in_place() {
        let outcome = diff(
            &FirewallRule,
            &seed(),
            &with(&seed(), json!({"endIpAddress": "203.0.113.20"})),
        );
        assert_eq!(outcome.changed_properties(), ["endIpAddress"]);
        assert!(!outcome.replaces());
    }
}
