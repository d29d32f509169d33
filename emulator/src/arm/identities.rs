//! Microsoft.ManagedIdentity: userAssignedIdentities (synchronous 201/200) and their
//! federatedIdentityCredentials (sync, with the documented validation and the 409 on
//! concurrent writes to one identity).

use super::errors::{ArmError, ArmResult};
use super::{list_body, require_rg, tags_of, Ctx, MSI_NAMESPACE};
use crate::http::Resp;
use crate::state::{key, Fic, Identity};
use crate::util;
use serde_json::{json, Value};

const TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";
const FIC_TYPE: &str =
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials";
const MAX_FICS: usize = 20;

fn identity_body(i: &Identity) -> Value {
    let mut v = json!({
        "id": i.id,
        "name": i.name,
        "type": TYPE,
        "location": i.location,
        "properties": {
            "tenantId": i.tenant_id,
            "principalId": i.principal_id,
            "clientId": i.client_id,
            "isolationScope": i.isolation_scope,
        },
    });
    if !i.tags.is_null() {
        v["tags"] = i.tags.clone();
    }
    v
}

fn fic_body(i: &Identity, f: &Fic) -> Value {
    json!({
        "id": format!("{}/federatedIdentityCredentials/{}", i.id, f.name),
        "name": f.name,
        "type": FIC_TYPE,
        "properties": {"issuer": f.issuer, "subject": f.subject, "audiences": f.audiences},
    })
}

fn not_found(rg: &str, name: &str) -> ArmError {
    ArmError::resource_not_found(
        &format!("{MSI_NAMESPACE}/userAssignedIdentities/{name}"),
        rg,
    )
}

pub(super) fn list(ctx: &Ctx, rg: Option<&str>) -> ArmResult<Resp> {
    let w = ctx.inner.world();
    if let Some(rg) = rg {
        require_rg(&w, rg)?;
    }
    let prefix = rg.map(|r| format!("{}/", r.to_ascii_lowercase()));
    let items = w
        .identities
        .iter()
        .filter(|(k, _)| prefix.as_ref().is_none_or(|p| k.starts_with(p)))
        .map(|(_, i)| identity_body(i))
        .collect();
    Ok(list_body(items))
}

pub(super) async fn handle(ctx: &Ctx<'_>, rg: &str, rest: &[&str]) -> ArmResult<Resp> {
    let m = ctx.req.method.as_str();
    match rest {
        [] if m == "GET" => list(ctx, Some(rg)),
        [name] => identity(ctx, rg, name),
        [name, kind] if kind.eq_ignore_ascii_case("federatedIdentityCredentials") && m == "GET" => {
            let w = ctx.inner.world();
            require_rg(&w, rg)?;
            let i = w
                .identities
                .get(&key(rg, name))
                .ok_or_else(|| not_found(rg, name))?;
            fic_page(ctx, i)
        }
        [name, kind, fic] if kind.eq_ignore_ascii_case("federatedIdentityCredentials") => {
            federated_credential(ctx, rg, name, fic).await
        }
        _ if rest.len() <= 3 => Err(ArmError::method_not_allowed(m)),
        _ => Err(ArmError::not_found_route(&ctx.req.path)),
    }
}

/// The credentials list, paged by `$top` with a `nextLink` carrying `$skiptoken` (an offset).
fn fic_page(ctx: &Ctx, i: &Identity) -> ArmResult<Resp> {
    let skip: usize = ctx
        .req
        .query_param("$skiptoken")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let top: usize = match ctx.req.query_param("$top") {
        None => usize::MAX,
        Some(v) => v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            ArmError::bad_request(
                "InvalidRequestParameter",
                format!("The value '{v}' of $top is not a positive integer."),
            )
        })?,
    };
    let items: Vec<Value> = i
        .fics
        .iter()
        .skip(skip)
        .take(top)
        .map(|f| fic_body(i, f))
        .collect();
    let mut body = json!({ "value": items });
    if skip.saturating_add(top) < i.fics.len() {
        body["nextLink"] = json!(format!(
            "{}{}/federatedIdentityCredentials?api-version={}&$top={top}&$skiptoken={}",
            ctx.inner.urls.arm,
            i.id,
            ctx.req.query_param("api-version").unwrap_or("2024-11-30"),
            skip + top
        ));
    }
    Ok(Resp::json(200, &body))
}

fn valid_identity_name(n: &str) -> bool {
    (3..=128).contains(&n.len())
        && n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn identity(ctx: &Ctx, rg: &str, name: &str) -> ArmResult<Resp> {
    let k = key(rg, name);
    let mut w = ctx.inner.world();
    let rg_name = require_rg(&w, rg)?;
    match ctx.req.method.as_str() {
        "GET" => w
            .identities
            .get(&k)
            .map(|i| Resp::json(200, &identity_body(i)))
            .ok_or_else(|| not_found(rg, name)),
        "PUT" => {
            if !valid_identity_name(name) {
                return Err(ArmError::bad_request(
                    "InvalidResourceName",
                    format!("Resource name '{name}' is invalid. The name must be 3-128 characters of letters, digits, '-' or '_', starting with a letter or digit."),
                ));
            }
            let b = ctx.json_body()?;
            let location = b
                .get("location")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if location.is_empty() {
                return Err(ArmError::bad_request(
                    "LocationRequired",
                    "The location property is required for this definition.",
                ));
            }
            let tags = tags_of(&b)?.unwrap_or(Value::Null);
            let scope = b
                .pointer("/properties/isolationScope")
                .and_then(Value::as_str)
                .unwrap_or("None");
            if !matches!(scope, "None" | "Regional") {
                return Err(ArmError::bad_request(
                    "InvalidRequestContent",
                    format!("The value '{scope}' is not valid for isolationScope; expected None or Regional."),
                ).with_target("properties.isolationScope"));
            }
            if let Some(i) = w.identities.get_mut(&k) {
                if super::normalize_location(&i.location) != super::normalize_location(&location) {
                    return Err(ArmError::bad_request(
                        "InvalidResourceLocation",
                        format!("The resource '{name}' already exists in location '{}' in resource group '{rg}'. A resource with the same name cannot be created in location '{location}'. Please select a new resource name.", i.location),
                    ));
                }
                i.tags = tags;
                i.isolation_scope = scope.to_string();
                return Ok(Resp::json(200, &identity_body(i)));
            }
            let id = format!(
                "/subscriptions/{}/resourcegroups/{rg_name}/providers/{TYPE}/{name}",
                ctx.sub
            );
            let i = Identity {
                id: id.clone(),
                name: name.to_string(),
                rg: rg_name,
                location,
                tags,
                principal_id: util::uuid(),
                client_id: util::uuid(),
                tenant_id: ctx.inner.opts.tenant_id.clone(),
                isolation_scope: scope.to_string(),
                fics: Vec::new(),
                fic_write_in_flight: false,
            };
            ctx.inner
                .directory
                .add_managed_identity(name, &i.principal_id, &i.client_id, &id);
            let body = identity_body(&i);
            w.identities.insert(k, i);
            Ok(Resp::json(201, &body))
        }
        "PATCH" => {
            let b = ctx.json_body()?;
            let tags = tags_of(&b)?;
            let i = w
                .identities
                .get_mut(&k)
                .ok_or_else(|| not_found(rg, name))?;
            if let Some(t) = tags {
                i.tags = t;
            }
            Ok(Resp::json(200, &identity_body(i)))
        }
        "DELETE" => match w.identities.remove(&k) {
            Some(i) => {
                ctx.inner.directory.remove(&i.principal_id);
                Ok(Resp::empty(200))
            }
            None => Ok(Resp::empty(204)),
        },
        m => Err(ArmError::method_not_allowed(m)),
    }
}

fn valid_fic_name(n: &str) -> bool {
    (3..=120).contains(&n.len())
        && n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn bad(message: impl Into<String>) -> ArmError {
    ArmError::bad_request("BadRequest", message)
}

async fn federated_credential(ctx: &Ctx<'_>, rg: &str, name: &str, fic: &str) -> ArmResult<Resp> {
    let k = key(rg, name);
    let method = ctx.req.method.as_str();
    if method == "GET" {
        let w = ctx.inner.world();
        require_rg(&w, rg)?;
        let i = w.identities.get(&k).ok_or_else(|| not_found(rg, name))?;
        let f = i.fics.iter().find(|f| f.name.eq_ignore_ascii_case(fic)).ok_or_else(|| {
            ArmError::resource_not_found(&format!("{MSI_NAMESPACE}/userAssignedIdentities/{name}/federatedIdentityCredentials/{fic}"), rg)
        })?;
        return Ok(Resp::json(200, &fic_body(i, f)));
    }
    if method != "PUT" && method != "DELETE" {
        return Err(ArmError::method_not_allowed(method));
    }
    // Open the write window: a second write to this identity meanwhile is refused.
    {
        let mut w = ctx.inner.world();
        require_rg(&w, rg)?;
        let i = w
            .identities
            .get_mut(&k)
            .ok_or_else(|| not_found(rg, name))?;
        if i.fic_write_in_flight {
            return Err(ArmError::new(
                409,
                "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
                format!("Too many Federated Identity Credentials are written concurrently for the managed identity '{}'. Concurrent Federated Identity Credentials writes under the same managed identity are not supported.", i.id),
            ));
        }
        i.fic_write_in_flight = true;
    }
    tokio::time::sleep(ctx.inner.opts.fic_write_window).await;
    let mut w = ctx.inner.world();
    let Some(i) = w.identities.get_mut(&k) else {
        return Err(not_found(rg, name));
    };
    i.fic_write_in_flight = false;
    if method == "DELETE" {
        let before = i.fics.len();
        i.fics.retain(|f| !f.name.eq_ignore_ascii_case(fic));
        return Ok(Resp::empty(if i.fics.len() < before { 200 } else { 204 }));
    }
    let f = parse_fic(ctx, fic)?;
    if i.fics.iter().any(|x| {
        !x.name.eq_ignore_ascii_case(fic) && x.issuer == f.issuer && x.subject == f.subject
    }) {
        return Err(bad(
            "Issuer and subject combination already exists for this Managed Identity.",
        ));
    }
    match i.fics.iter_mut().find(|x| x.name.eq_ignore_ascii_case(fic)) {
        Some(existing) => {
            existing.issuer = f.issuer.clone();
            existing.subject = f.subject.clone();
            existing.audiences = f.audiences.clone();
            Ok(Resp::json(200, &fic_body(i, &f)))
        }
        None => {
            if i.fics.len() >= MAX_FICS {
                return Err(bad(format!(
                    "The managed identity '{}' already has the maximum of {MAX_FICS} Federated Identity Credentials.",
                    i.name
                )));
            }
            let body = fic_body(i, &f);
            i.fics.push(f);
            Ok(Resp::json(201, &body))
        }
    }
}

fn parse_fic(ctx: &Ctx, name: &str) -> ArmResult<Fic> {
    if !valid_fic_name(name) {
        return Err(bad(format!(
            "Federated Identity Credential name '{name}' is invalid."
        )));
    }
    let b = ctx.json_body()?;
    let Some(props) = b
        .get("properties")
        .filter(|p| p.as_object().is_some_and(|o| !o.is_empty()))
    else {
        return Err(bad(
            "The Federated Identity Credential properties must not be empty.",
        ));
    };
    let text = |field: &str| -> ArmResult<String> {
        match props.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            _ => Err(bad(format!(
                "Federated Identity Credential property '{field}' is required."
            ))
            .with_target(&format!("properties.{field}"))),
        }
    };
    let issuer = text("issuer")?;
    let subject = text("subject")?;
    let audiences: Vec<String> = match props.get("audiences") {
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => {
            return Err(
                bad("Federated Identity Credential property 'audiences' is required.")
                    .with_target("properties.audiences"),
            )
        }
    };
    if audiences.len() != 1 {
        return Err(
            bad("Federated Identity Credential must have exactly one audience.")
                .with_target("properties.audiences"),
        );
    }
    if !issuer.starts_with("https://") {
        return Err(bad(format!(
            "Issuer '{issuer}' is invalid: it must be an https URL."
        ))
        .with_target("properties.issuer"));
    }
    for (field, v) in [
        ("issuer", &issuer),
        ("subject", &subject),
        ("audiences", &audiences[0]),
    ] {
        if v.len() > 600 {
            return Err(bad(format!(
                "Federated Identity Credential property '{field}' must be at most 600 characters."
            )));
        }
        if v.contains('*') {
            return Err(bad(format!(
                "Federated Identity Credential property '{field}' must not contain wildcards."
            )));
        }
    }
    Ok(Fic {
        name: name.to_string(),
        issuer,
        subject,
        audiences,
    })
}
