//! One file per resource type: its description, its rules, and (as the control and data
//! planes arrive) its CRUD.

pub mod ad_admin;
pub mod arm_fields;
pub mod arm_resource;
pub mod common;
pub mod connection;
pub mod database;
pub mod federated_credential;
pub mod firewall_rule;
pub mod flexible_server;
pub mod functions;
pub mod grant;
pub mod managed_identity;
pub mod principal;
pub mod server_parameter;

use crate::resource::{Function, Resource};
use std::sync::Arc;

/// Every resource type pgentra serves.
pub fn all() -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(flexible_server::FlexibleServer),
        Arc::new(ad_admin::AdAdmin),
        Arc::new(managed_identity::ManagedIdentity),
        Arc::new(federated_credential::FederatedCredential),
        Arc::new(database::Database),
        Arc::new(firewall_rule::FirewallRule),
        Arc::new(server_parameter::ServerParameter),
        Arc::new(principal::Principal),
        Arc::new(grant::Grant),
    ]
}

/// Every function pgentra serves.
pub fn functions() -> Vec<Arc<dyn Function>> {
    vec![
        Arc::new(functions::GetClientConfig),
        Arc::new(functions::GetAccessToken),
    ]
}

/// Drives a resource's description through the core's own steps, for the unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::props::Props;
    use crate::resource::Resource;
    use crate::spec::{diff_inputs, CheckFailure, DiffOutcome};
    use serde_json::{json, Value};

    /// What Check answers for `news` given the previous inputs `olds` (`{}` for a new resource):
    /// the per-property rules, then the resource's own `check` when those passed.
    pub fn check(
        resource: &dyn Resource,
        news: &Value,
        olds: &Value,
    ) -> (Props, Vec<CheckFailure>) {
        assert!(news.is_object(), "news is a JSON object");
        let checked = crate::provider::check(
            resource,
            &Props::from_json(news.clone()),
            &Props::from_json(olds.clone()),
        );
        (checked.inputs, checked.failures)
    }

    /// The checked inputs of a new resource, failing the test on any failure.
    pub fn accepted(resource: &dyn Resource, news: &Value) -> Props {
        let (checked, failures) = check(resource, news, &json!({}));
        assert!(
            failures.is_empty(),
            "expected {news} to pass, got {failures:?}"
        );
        checked
    }

    /// The reason Check gives on `property` for a new resource with `news`, failing the test
    /// when it gives none there.
    pub fn refused(resource: &dyn Resource, news: &Value, property: &str) -> String {
        refusal(&check(resource, news, &json!({})).1, property)
    }

    /// The reason among `failures` for `property`.
    pub fn refusal(failures: &[CheckFailure], property: &str) -> String {
        match failures.iter().find(|f| f.property == property) {
            Some(failure) => failure.reason.clone(),
            None => panic!("expected a failure on {property}, got {failures:?}"),
        }
    }

    /// A file of the reference material in `../shared/reference` (or `$PGENTRA_SHARED/reference`).
    pub fn reference_json(relative: &str) -> Value {
        let shared = std::env::var("PGENTRA_SHARED")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared").to_owned());
        let path = std::path::Path::new(&shared)
            .join("reference")
            .join(relative);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("cannot read {}: {e}; the reference material lives in ../shared beside the repo (or set PGENTRA_SHARED)", path.display())
        });
        serde_json::from_str(&text).expect("reference JSON parses")
    }

    /// `base` with the fields of `changes` set (a `null` removes the field).
    pub fn with(base: &Value, changes: Value) -> Value {
        let mut merged = base.clone();
        let map = merged.as_object_mut().expect("base is a JSON object");
        for (key, value) in changes.as_object().expect("changes is a JSON object") {
            if value.is_null() {
                map.remove(key);
            } else {
                map.insert(key.clone(), value.clone());
            }
        }
        merged
    }

    /// The diff between two programs' inputs, each first checked as the engine would.
    pub fn diff(resource: &dyn Resource, olds: &Value, news: &Value) -> DiffOutcome {
        diff_inputs(
            resource.spec(),
            &accepted(resource, olds),
            &accepted(resource, news),
        )
    }
}
