//! Properties that many resources share, described once.

use crate::rules;
use crate::spec::{Property, Type};

pub const RESOURCE_GROUP_NAME: Property =
    Property::input("resourceGroupName", Type::String, "The resource group that holds the resource.")
        .required()
        .replace()
        .rule(rules::resource_group_name);

pub const LOCATION: Property =
    Property::input("location", Type::String, "The Azure region, such as `eastus`.")
        .required()
        .replace()
        .rule(rules::location);

pub const TAGS: Property = Property::input("tags", Type::Map(&Type::String), "Tags to set on the resource.").rule(rules::tags);
