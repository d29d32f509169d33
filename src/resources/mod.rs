//! One file per resource type: its description, its rules, and (as the control and data
//! planes arrive) its CRUD.

pub mod common;
pub mod managed_identity;

use crate::resource::{Function, Resource};
use std::sync::Arc;

/// Every resource type pgentra serves.
pub fn all() -> Vec<Arc<dyn Resource>> {
    vec![Arc::new(managed_identity::ManagedIdentity)]
}

/// Every function pgentra serves.
pub fn functions() -> Vec<Arc<dyn Function>> {
    vec![]
}
