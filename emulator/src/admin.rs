//! The emulator's own admin API on the ARM listener, under `/_emulator`:
//! `GET /_emulator/state` (every server with `pgGateway`: the host and port its PostgreSQL
//! gateway listens on), `GET|POST|DELETE /_emulator/faults`, `POST /_emulator/settings`
//! (`{"lroDurationMs": n, "tokenLifetimeSeconds": n}`: either or both, for what follows),
//! `POST /_emulator/directory/{users|groups|servicePrincipals}`,
//! `DELETE /_emulator/directory/{objectId}` (the object is gone: Graph answers 404),
//! `PATCH /_emulator/directory/{objectId}` (`{"displayName", "userPrincipalName"?}`: a rename),
//! `GET /_emulator/conformance[?since=n]` (every recorded ARM exchange, from the n-th on, checked
//! against the official specs: `{"checked", "problems", "exchanges"}`; 503 `SpecsNotFound` when
//! the specs cannot be loaded, so a conformance check can never pass without them),
//! `GET /_emulator/exchanges[?since=n]` (the recorded ARM exchanges' method, path, query and
//! status and Retry-After, bodies left out: they may hold an administrator password).

use crate::faults::FaultRule;
use crate::http::{Req, Resp};
use crate::spec::Specs;
use crate::state::Outcome;
use crate::{Exchange, Inner};
use serde_json::{json, Value};

pub(crate) fn handle(inner: &Inner, req: &Req) -> Resp {
    let path = req.path.trim_end_matches('/');
    match (req.method.as_str(), path) {
        ("GET", "/_emulator/state") => Resp::json(200, &state_json(inner)),
        ("GET", "/_emulator/conformance") => conformance(inner, req),
        ("GET", "/_emulator/exchanges") => match since(req) {
            Ok(since) => {
                let x = inner.exchanges.lock().unwrap_or_else(|e| e.into_inner());
                let list: Vec<Value> = x
                    .get(since..)
                    .unwrap_or(&[])
                    .iter()
                    .map(|e| json!({"method": e.method, "path": e.path, "query": e.query, "status": e.status, "retryAfter": e.retry_after}))
                    .collect();
                Resp::json(200, &json!(list))
            }
            Err(resp) => resp,
        },
        ("GET", "/_emulator/faults") => Resp::json(200, &json!(inner.faults().list())),
        ("DELETE", "/_emulator/faults") => {
            inner.faults().clear();
            Resp::empty(204)
        }
        ("POST", "/_emulator/faults") => {
            let rules: Result<Vec<FaultRule>, _> = serde_json::from_slice::<Value>(&req.body)
                .and_then(|v| {
                    if v.is_array() {
                        serde_json::from_value(v)
                    } else {
                        serde_json::from_value(v).map(|r| vec![r])
                    }
                });
            match rules {
                Ok(rules) => {
                    let mut f = inner.faults();
                    for r in rules {
                        f.add(r);
                    }
                    Resp::json(201, &json!(f.list()))
                }
                Err(e) => Resp::json(
                    400,
                    &json!({"error": {"code": "InvalidFault", "message": e.to_string()}}),
                ),
            }
        }
        ("POST", "/_emulator/settings") => {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            use std::sync::atomic::Ordering::Relaxed;
            if let Some(ms) = body.get("lroDurationMs").and_then(Value::as_u64) {
                inner.lro_ms.store(ms, Relaxed);
            }
            if let Some(s) = body.get("tokenLifetimeSeconds").and_then(Value::as_u64) {
                inner.token_lifetime_s.store(s.max(1), Relaxed);
            }
            Resp::json(
                200,
                &json!({
                    "lroDurationMs": inner.lro_ms.load(Relaxed),
                    "tokenLifetimeSeconds": inner.token_lifetime_s.load(Relaxed),
                }),
            )
        }
        ("DELETE", p) if p.starts_with("/_emulator/directory/") => {
            let id = &p["/_emulator/directory/".len()..];
            match inner.directory.get(id) {
                Some(_) => {
                    inner.directory.remove(id);
                    Resp::empty(204)
                }
                None => no_such_object(id),
            }
        }
        ("PATCH", p) if p.starts_with("/_emulator/directory/") => {
            let id = &p["/_emulator/directory/".len()..];
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let Some(name) = body.get("displayName").and_then(Value::as_str) else {
                return Resp::json(
                    400,
                    &json!({"error": {"code": "BadRequest", "message": "displayName is required"}}),
                );
            };
            let upn = body.get("userPrincipalName").and_then(Value::as_str);
            if inner.directory.rename(id, name, upn) {
                Resp::empty(204)
            } else {
                no_such_object(id)
            }
        }
        ("POST", p) if p.starts_with("/_emulator/directory/") => {
            directory(inner, &p["/_emulator/directory/".len()..], req)
        }
        _ => Resp::json(
            404,
            &json!({"error": {"code": "NotFound", "message": "unknown admin route"}}),
        ),
    }
}

/// The recorded ARM exchanges (from `?since=n`, default 0) against the official specs.
fn conformance(inner: &Inner, req: &Req) -> Resp {
    let since = match since(req) {
        Ok(n) => n,
        Err(resp) => return resp,
    };
    let mut specs = match Specs::load_default() {
        Ok(specs) => specs,
        Err(message) => {
            return Resp::json(
                503,
                &json!({"error": {"code": "SpecsNotFound", "message": message}}),
            )
        }
    };
    let exchanges = inner
        .exchanges
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let total = exchanges.len();
    let (checked, problems) = check_exchanges(exchanges.get(since..).unwrap_or(&[]), &mut specs);
    Resp::json(
        200,
        &json!({"checked": checked, "problems": problems, "exchanges": total}),
    )
}

/// The `since` query parameter: the index of the first recorded exchange wanted (default 0).
fn since(req: &Req) -> Result<usize, Resp> {
    match req.query_param("since").map(str::parse::<usize>) {
        None => Ok(0),
        Some(Ok(n)) => Ok(n),
        Some(Err(e)) => Err(Resp::json(
            400,
            &json!({"error": {"code": "InvalidSince", "message": format!("since: {e}")}}),
        )),
    }
}

/// Checks each exchange's request body and response body against the specs; returns (how many
/// bodies were checked, the problems found, each naming the method, path, status and side).
pub(crate) fn check_exchanges(exchanges: &[Exchange], specs: &mut Specs) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut problems = Vec::new();
    for e in exchanges {
        let mut note = |what: &str, r: Option<Vec<String>>| {
            if let Some(errs) = r {
                checked += 1;
                problems.extend(
                    errs.into_iter()
                        .map(|x| format!("{} {} ({what} {}): {x}", e.method, e.path, e.status)),
                );
            }
        };
        if let Some(b) = &e.request {
            note("request", specs.check_request(&e.method, &e.path, b));
        }
        if let Some(b) = &e.response {
            note(
                "response",
                specs.check_response(&e.method, &e.path, e.status, b),
            );
        }
    }
    (checked, problems)
}

fn no_such_object(id: &str) -> Resp {
    Resp::json(
        404,
        &json!({"error": {"code": "NotFound", "message": format!("no directory object {id}")}}),
    )
}

fn directory(inner: &Inner, kind: &str, req: &Req) -> Resp {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let s = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let d = &inner.directory;
    match kind {
        "users" => Resp::json(
            201,
            &json!(d.add_user(&s("userPrincipalName"), &s("displayName"))),
        ),
        "groups" => {
            let members: Vec<String> = body
                .get("members")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let refs: Vec<&str> = members.iter().map(String::as_str).collect();
            Resp::json(201, &json!(d.add_group(&s("displayName"), &refs)))
        }
        "servicePrincipals" => {
            let sp = d.add_service_principal(&s("displayName"));
            let mut v = json!(sp);
            v["clientSecret"] = json!(sp.secrets[0]);
            Resp::json(201, &v)
        }
        _ => Resp::json(
            404,
            &json!({"error": {"code": "NotFound", "message": "unknown directory collection"}}),
        ),
    }
}

/// A JSON picture of everything the emulator holds (passwords and secrets left out).
pub(crate) fn state_json(inner: &Inner) -> Value {
    // Read before the world's lock: the gateways' lock is never taken under it.
    let gateways: std::collections::HashMap<String, crate::pg::PgGateway> = inner
        .pg
        .list()
        .iter()
        .map(|g| (g.key.clone(), g.info.clone()))
        .collect();
    let w = inner.world();
    let rgs: Vec<Value> = w
        .resource_groups
        .values()
        .map(|g| json!({"name": g.name, "location": g.location, "tags": g.tags}))
        .collect();
    let ids: Vec<Value> = w
        .identities
        .values()
        .map(|i| {
            json!({
                "id": i.id, "name": i.name, "resourceGroup": i.rg, "location": i.location, "tags": i.tags,
                "principalId": i.principal_id, "clientId": i.client_id, "tenantId": i.tenant_id,
                "federatedIdentityCredentials": i.fics.iter().map(|f| json!({
                    "name": f.name, "issuer": f.issuer, "subject": f.subject, "audiences": f.audiences
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let servers: Vec<Value> = w
        .servers
        .iter()
        .map(|(key, s)| {
            // Where the server's PostgreSQL gateway listens (the port is 5432 unless it was
            // taken on that address); null until the server exists and its gateway started.
            let gateway = gateways.get(key).map(|g| {
                json!({"host": g.fqdn, "port": g.addr.port(), "address": g.addr.to_string(), "backendPrefix": g.backend_prefix})
            });
            json!({
                "pgGateway": gateway,
                "id": s.id, "name": s.name, "resourceGroup": s.rg, "location": s.location, "tags": s.tags,
                "sku": s.sku, "properties": s.props,
                "administrators": s.admins.values().collect::<Vec<_>>(),
                "databases": s.databases.values().collect::<Vec<_>>(),
                "firewallRules": s.firewall_rules.values().collect::<Vec<_>>(),
                "configurations": s.configs.iter().map(|(k, c)| (k.clone(), json!({
                    "value": c.value, "running": c.running, "source": c.source
                }))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    let ops: Vec<Value> = w
        .operations
        .values()
        .map(|o| {
            json!({
                "id": o.id, "resourceId": o.resource_id,
                "status": match o.status { None => "InProgress", Some(Outcome::Succeeded) => "Succeeded",
                    Some(Outcome::Failed) => "Failed", Some(Outcome::Canceled) => "Canceled" },
            })
        })
        .collect();
    json!({
        "tenantId": inner.opts.tenant_id,
        "subscriptionId": inner.opts.subscription_id,
        "resourceGroups": rgs,
        "userAssignedIdentities": ids,
        "flexibleServers": servers,
        "operations": ops,
        "busyServers": w.busy.keys().collect::<Vec<_>>(),
        "directory": inner.directory.snapshot(),
        "faults": inner.faults().list(),
        "tokensIssued": *inner.tokens_issued.lock().unwrap_or_else(|e| e.into_inner()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(method: &str, path: &str, request: Value, status: u16) -> Exchange {
        Exchange {
            method: method.into(),
            path: path.into(),
            query: "api-version=2024-11-30".into(),
            request: Some(request),
            status,
            retry_after: None,
            response: None,
        }
    }

    #[test]
    fn a_request_body_off_the_spec_is_a_problem_and_a_good_one_is_counted() {
        let mut specs = Specs::load_default().expect("the official specs");
        let path = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-1";
        let (checked, problems) = check_exchanges(
            &[
                exchange("PUT", path, json!({"location": "eastus"}), 201),
                exchange("PUT", path, json!({"location": 5}), 400),
            ],
            &mut specs,
        );
        assert_eq!(checked, 2);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("(request 400)") && problems[0].contains("$.location"),
            "{problems:?}"
        );
    }
}
