//! Properties that many resources share, described once.

use crate::props::Props;
use crate::rules;
use crate::spec::{Property, Type};

pub const RESOURCE_GROUP_NAME: Property = Property::input(
    "resourceGroupName",
    Type::String,
    "The resource group that holds the resource.",
)
.required()
.replace()
.rule(rules::resource_group_name);

pub const LOCATION: Property = Property::input(
    "location",
    Type::String,
    "The Azure region, such as `eastus`.",
)
.required()
.replace()
.rule(rules::location);

pub const TAGS: Property = Property::input(
    "tags",
    Type::Map(&Type::String),
    "Tags to set on the resource.",
)
.rule(rules::tags);

/// The Flexible Server a child resource (administrator, database, firewall rule, parameter) belongs to.
pub const SERVER_NAME: Property = Property::input(
    "serverName",
    Type::String,
    "The name of the Flexible Server, such as `pg-myapp-prod`.",
)
.required()
.replace()
.rule(rules::server_name);

/// The object ID of a Microsoft Entra principal; the caller states which one it is for.
pub const fn object_id(doc: &'static str) -> Property {
    Property::input("objectId", Type::String, doc).rule(rules::uuid)
}

/// A Microsoft Entra tenant ID.
pub const fn tenant_id(doc: &'static str) -> Property {
    Property::input("tenantId", Type::String, doc).rule(rules::uuid)
}

/// `Err` naming the first of `names` whose value is not known yet (a preview before the
/// resources it comes from exist).
pub fn waiting_for(inputs: &Props, names: &[&str]) -> Result<(), String> {
    match names
        .iter()
        .find(|name| inputs.get(name).is_some_and(crate::props::contains_unknown))
    {
        Some(name) => Err(format!("{name} is known")),
        None => Ok(()),
    }
}
