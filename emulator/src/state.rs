//! Everything the emulated Azure holds: resource groups, identities, servers and their children,
//! and the long-running operations in flight. One mutex guards it all; handlers are short.

use crate::arm::errors::ArmError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Instant;

/// How a long-running operation ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Succeeded,
    Failed,
    Canceled,
}

/// What the operation changes in the world when it ends; returns the final resource body (PUT/PATCH).
pub type Effect = Box<dyn FnOnce(&mut World) -> Option<Value> + Send>;

pub struct Operation {
    pub id: String,
    pub location: String,
    pub resource_id: String,
    pub is_delete: bool,
    pub start: String,
    pub end: Option<String>,
    pub due: Instant,
    /// None while running.
    pub status: Option<Outcome>,
    /// Decided when the operation starts (fault injection may pick Failed/Canceled).
    pub planned: Outcome,
    pub on_success: Option<Effect>,
    pub on_failure: Option<Effect>,
    /// The server key this operation keeps busy.
    pub busy_key: Option<String>,
    pub final_body: Option<Value>,
    pub error: Option<ArmError>,
}

#[derive(Clone, Debug)]
pub struct ResourceGroup {
    pub name: String,
    pub location: String,
    pub tags: Value,
}

#[derive(Clone, Debug)]
pub struct Fic {
    pub name: String,
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Identity {
    pub id: String,
    pub name: String,
    pub rg: String,
    pub location: String,
    pub tags: Value,
    pub principal_id: String,
    pub client_id: String,
    pub tenant_id: String,
    pub isolation_scope: String,
    pub fics: Vec<Fic>,
    /// A federated-credential write is in its write window.
    pub fic_write_in_flight: bool,
}

/// A server parameter's value as held by the emulator.
#[derive(Clone, Debug)]
pub struct ConfigValue {
    pub value: String,
    /// The value the (emulated) running server uses; differs from `value` until a restart for static ones.
    pub running: String,
    pub source: String,
}

#[derive(Clone, Debug)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub rg: String,
    pub location: String,
    pub tags: Value,
    pub sku: Value,
    /// ServerProperties as returned by GET (no password).
    pub props: Map<String, Value>,
    pub created_at: String,
    pub admins: BTreeMap<String, Value>,
    pub configs: BTreeMap<String, ConfigValue>,
    pub databases: BTreeMap<String, Value>,
    pub firewall_rules: BTreeMap<String, Value>,
}

#[derive(Default)]
pub struct World {
    pub resource_groups: BTreeMap<String, ResourceGroup>,
    /// key: `rg/name`, lower-case.
    pub identities: BTreeMap<String, Identity>,
    /// key: `rg/name`, lower-case. Only visible servers (a create in flight is not here).
    pub servers: BTreeMap<String, Server>,
    pub operations: BTreeMap<String, Operation>,
    /// server key -> id of the operation that keeps it busy.
    pub busy: BTreeMap<String, String>,
    /// Password of each server, kept apart so it can never leak into a body.
    pub passwords: BTreeMap<String, String>,
    pub next_loopback: u32,
    /// The second octet of this emulator's server addresses (127.N.x.y), chosen at random per
    /// emulator, so emulators running side by side (tests, a second `pgentra emulator`) rarely
    /// hand out the same address and each gateway keeps PostgreSQL's port 5432.
    pub loopback_block: u8,
}

pub fn key(rg: &str, name: &str) -> String {
    format!("{}/{}", rg.to_ascii_lowercase(), name.to_ascii_lowercase())
}

impl World {
    /// Finishes every operation whose time has come.
    pub fn tick(&mut self, now: Instant) {
        let due: Vec<String> = self
            .operations
            .values()
            .filter(|o| o.status.is_none() && o.due <= now)
            .map(|o| o.id.clone())
            .collect();
        for id in due {
            self.finish(&id);
        }
    }

    fn finish(&mut self, id: &str) {
        let Some(op) = self.operations.get_mut(id) else {
            return;
        };
        let planned = op.planned;
        let success = op.on_success.take();
        let failure = op.on_failure.take();
        let busy = op.busy_key.take();
        let resource_id = op.resource_id.clone();
        if let Some(b) = busy {
            if self.busy.get(&b).map(String::as_str) == Some(id) {
                self.busy.remove(&b);
            }
        }
        let (body, error) = match planned {
            Outcome::Succeeded => (success.and_then(|f| f(self)), None),
            Outcome::Failed => {
                if let Some(f) = failure {
                    f(self);
                }
                let e = ArmError::new(
                    500,
                    "InternalServerError",
                    format!("An unexpected error occurred while processing the request for '{resource_id}' (injected fault)."),
                );
                (None, Some(e))
            }
            Outcome::Canceled => {
                if let Some(f) = failure {
                    f(self);
                }
                let e = ArmError::new(
                    409,
                    "OperationCanceled",
                    format!("The operation on '{resource_id}' was canceled."),
                );
                (None, Some(e))
            }
        };
        if let Some(op) = self.operations.get_mut(id) {
            op.status = Some(planned);
            op.end = Some(crate::util::now_iso());
            op.final_body = body;
            op.error = error;
        }
    }

    /// The next free loopback address for a server (127.N.1.2, 127.N.1.3, ...; N per emulator).
    pub fn allocate_loopback(&mut self) -> String {
        self.next_loopback += 1;
        let n = self.next_loopback;
        format!(
            "127.{}.{}.{}",
            self.loopback_block,
            1 + n / 250,
            1 + n % 250
        )
    }
}
