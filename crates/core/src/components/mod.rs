//! Component resources: a set of child resources a program asks for as one, described and
//! planned here without any protocol (each face registers the children its own way).

pub mod passwordless_database;

use crate::spec::Property;

/// A component resource's description: what a program gives and what it gets back.
#[derive(Debug)]
pub struct ComponentSpec {
    pub token: &'static str,
    pub doc: &'static str,
    pub inputs: &'static [Property],
    pub outputs: &'static [Property],
}

impl ComponentSpec {
    /// The short type name: `PasswordlessDatabase`.
    pub fn name(&self) -> &'static str {
        self.token.rsplit(':').next().unwrap_or(self.token)
    }
}

/// Every component pgentra serves.
pub fn all() -> Vec<&'static ComponentSpec> {
    vec![&passwordless_database::SPEC]
}
