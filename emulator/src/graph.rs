//! The small part of Microsoft Graph v1.0 that pgentra asks, served on the ARM listener:
//! `GET /v1.0/users/{id|userPrincipalName}`, `/v1.0/servicePrincipals/{id}`, `/v1.0/groups/{id}`
//! and `/v1.0/directoryObjects/{id}`, and the three collections with one `$filter` clause
//! (`displayName eq '...'`, for users also `userPrincipalName eq '...'`), for a bearer token of
//! the Graph audience. Answers carry
//! Graph's `@odata.context` (and `@odata.type` where the type is not in the URL); a missing object
//! is 404 `Request_ResourceNotFound`, as Graph says it.

use crate::entra::directory::Principal;
use crate::http::{Req, Resp};
use crate::{util, Inner};
use serde_json::{json, Value};

/// Where the Graph paths start.
pub const PREFIX: &str = "/v1.0/";
/// The Graph token audience (public cloud), with and without the trailing slash.
const AUDIENCES: &[&str] = &[
    "https://graph.microsoft.com",
    "https://graph.microsoft.com/",
];
const METADATA: &str = "https://graph.microsoft.com/v1.0/$metadata";

pub(crate) fn handle(inner: &Inner, req: &Req) -> Resp {
    if let Err(resp) = authenticate(inner, req) {
        return resp;
    }
    if req.method != "GET" {
        return error(
            405,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        );
    }
    let rest = &req.path[PREFIX.len()..];
    if !rest.contains('/') {
        return filtered(inner, rest, req.query_param("$filter").unwrap_or_default());
    }
    let Some((collection, key)) = rest.split_once('/').filter(|(_, k)| !k.contains('/')) else {
        return error(
            400,
            "BadRequest",
            &format!("Resource not found for the segment '{rest}'."),
        );
    };
    let key = util::form_decode(key);
    let found = match collection {
        // Graph takes a user's userPrincipalName in place of its id.
        "users" => inner
            .directory
            .get(&key)
            .or_else(|| {
                inner
                    .directory
                    .find_by_name(&key)
                    .into_iter()
                    .find(|p| matches!(p, Principal::User(_)))
            })
            .filter(|p| matches!(p, Principal::User(_))),
        "groups" => inner
            .directory
            .get(&key)
            .filter(|p| matches!(p, Principal::Group(_))),
        "servicePrincipals" => inner
            .directory
            .get(&key)
            .filter(|p| matches!(p, Principal::ServicePrincipal(_))),
        "directoryObjects" => inner.directory.get(&key),
        _ => {
            return error(
                400,
                "BadRequest",
                &format!("Resource not found for the segment '{collection}'."),
            )
        }
    };
    match found {
        Some(p) => Resp::json(200, &body(collection, &p)),
        None => error(
            404,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
            ),
        ),
    }
}

/// `GET /v1.0/{collection}?$filter=<property> eq '<value>'`: the objects of that collection
/// whose property equals the value (a UPN without regard to case, as Graph compares it).
fn filtered(inner: &Inner, collection: &str, filter: &str) -> Resp {
    let wanted = |p: &Principal| match (collection, p) {
        ("users", Principal::User(_)) => true,
        ("groups", Principal::Group(_)) => true,
        ("servicePrincipals", Principal::ServicePrincipal(_)) => true,
        _ => false,
    };
    if !["users", "groups", "servicePrincipals"].contains(&collection) {
        return error(
            400,
            "BadRequest",
            &format!("Resource not found for the segment '{collection}'."),
        );
    }
    let clause = filter.split_once(" eq '").and_then(|(property, rest)| {
        let value = rest.strip_suffix('\'')?.replace("''", "'");
        Some((property.trim(), value))
    });
    let mut found: Vec<Value> = match clause {
        Some(("displayName", value)) => inner
            .directory
            .all()
            .into_iter()
            .filter(|p| wanted(p) && display_name(p) == value)
            .map(|p| body(collection, &p))
            .collect(),
        Some(("userPrincipalName", value)) if collection == "users" => inner
            .directory
            .find_by_name(&value)
            .into_iter()
            .filter(|p| wanted(p))
            .map(|p| body(collection, &p))
            .collect(),
        _ => {
            return error(
                400,
                "BadRequest",
                &format!("Invalid filter clause: {filter}"),
            )
        }
    };
    for object in &mut found {
        if let Some(o) = object.as_object_mut() {
            o.remove("@odata.context");
        }
    }
    Resp::json(
        200,
        &json!({"@odata.context": format!("{METADATA}#{collection}"), "value": found}),
    )
}

fn display_name(p: &Principal) -> &str {
    match p {
        Principal::User(u) => &u.display_name,
        Principal::Group(g) => &g.display_name,
        Principal::ServicePrincipal(s) => &s.display_name,
    }
}

/// A directory object as Graph returns it from `collection`.
fn body(collection: &str, p: &Principal) -> Value {
    let (kind, mut v) = match p {
        Principal::User(u) => (
            "user",
            json!({"id": u.object_id, "displayName": u.display_name,
                   "userPrincipalName": u.user_principal_name}),
        ),
        Principal::Group(g) => (
            "group",
            json!({"id": g.object_id, "displayName": g.display_name,
                   "securityEnabled": true, "mailEnabled": false}),
        ),
        Principal::ServicePrincipal(s) => (
            "servicePrincipal",
            json!({"id": s.object_id, "appId": s.app_id, "displayName": s.display_name,
                   "servicePrincipalType": if s.managed_identity_resource_id.is_some() { "ManagedIdentity" } else { "Application" }}),
        ),
    };
    v["@odata.context"] = json!(format!("{METADATA}#{collection}/$entity"));
    if collection == "directoryObjects" {
        v["@odata.type"] = json!(format!("#microsoft.graph.{kind}"));
    }
    v
}

fn authenticate(inner: &Inner, req: &Req) -> Result<(), Resp> {
    let token = req
        .header("authorization")
        .and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("bearer "))
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| error(401, "InvalidAuthenticationToken", "Access token is empty."))?;
    let claims = inner
        .keys
        .verify(token)
        .map_err(|_| {
            error(
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure.",
            )
        })?
        .claims;
    let aud = claims
        .get("aud")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    if !AUDIENCES.contains(&aud) || iss != crate::entra::tokens::issuer(inner) {
        return Err(error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure. Invalid audience.",
        ));
    }
    if exp <= util::now_secs() {
        return Err(error(
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        ));
    }
    Ok(())
}

/// Graph's error body, with the innerError Graph adds to every one.
fn error(status: u16, code: &str, message: &str) -> Resp {
    let request_id = util::uuid();
    Resp::json(
        status,
        &json!({"error": {"code": code, "message": message, "innerError": {
            "date": util::now_iso(), "request-id": &request_id, "client-request-id": &request_id,
        }}}),
    )
    .with_header("request-id", request_id)
}
