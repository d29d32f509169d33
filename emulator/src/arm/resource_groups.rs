//! Resource groups: PUT/GET/HEAD/DELETE `/subscriptions/{sub}/resourcegroups/{rg}` and the list.

use super::errors::{ArmError, ArmResult};
use super::{list_body, tags_of, Ctx};
use crate::http::Resp;
use crate::state::{ResourceGroup, World};
use serde_json::{json, Value};

fn body(sub: &str, g: &ResourceGroup) -> Value {
    let mut v = json!({
        "id": format!("/subscriptions/{sub}/resourceGroups/{}", g.name),
        "name": g.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": g.location,
        "properties": {"provisioningState": "Succeeded"},
    });
    if !g.tags.is_null() {
        v["tags"] = g.tags.clone();
    }
    v
}

fn valid_name(n: &str) -> bool {
    (1..=90).contains(&n.len())
        && !n.ends_with('.')
        && n.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'))
}

pub(super) fn list(ctx: &Ctx) -> ArmResult<Resp> {
    if ctx.req.method != "GET" {
        return Err(ArmError::method_not_allowed(&ctx.req.method));
    }
    let w = ctx.inner.world();
    Ok(list_body(
        w.resource_groups
            .values()
            .map(|g| body(&ctx.sub, g))
            .collect(),
    ))
}

pub(super) fn handle(ctx: &Ctx, name: &str) -> ArmResult<Resp> {
    let key = name.to_ascii_lowercase();
    let mut w = ctx.inner.world();
    match ctx.req.method.as_str() {
        "GET" | "HEAD" => match w.resource_groups.get(&key) {
            Some(g) if ctx.req.method == "GET" => Ok(Resp::json(200, &body(&ctx.sub, g))),
            Some(_) => Ok(Resp::empty(204)),
            None if ctx.req.method == "HEAD" => Ok(Resp::empty(404)),
            None => Err(ArmError::resource_group_not_found(name)),
        },
        "PUT" => {
            if !valid_name(name) {
                return Err(ArmError::bad_request(
                    "InvalidResourceGroup",
                    format!("The provided resource group name '{name}' has these invalid characters: the name must be 1-90 characters of letters, digits, '_', '-', '.', '(' or ')' and must not end in '.'."),
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
            let status = match w.resource_groups.get_mut(&key) {
                Some(g) => {
                    if !super::normalize_location(&g.location)
                        .eq(&super::normalize_location(&location))
                    {
                        return Err(ArmError::new(
                            409,
                            "InvalidResourceGroupLocation",
                            format!("Invalid resource group location '{location}'. The Resource group already exists in location '{}'.", g.location),
                        ));
                    }
                    g.tags = tags;
                    200
                }
                None => {
                    w.resource_groups.insert(
                        key.clone(),
                        ResourceGroup {
                            name: name.to_string(),
                            location,
                            tags,
                        },
                    );
                    201
                }
            };
            Ok(Resp::json(
                status,
                &body(&ctx.sub, &w.resource_groups[&key]),
            ))
        }
        "DELETE" => {
            if w.resource_groups.remove(&key).is_none() {
                return Err(ArmError::resource_group_not_found(name));
            }
            remove_contents(ctx, &mut w, &key);
            Ok(Resp::empty(200))
        }
        m => Err(ArmError::method_not_allowed(m)),
    }
}

fn remove_contents(ctx: &Ctx, w: &mut World, rg_key: &str) {
    let prefix = format!("{rg_key}/");
    let ids: Vec<String> = w
        .identities
        .keys()
        .filter(|k| k.starts_with(&prefix))
        .cloned()
        .collect();
    for k in ids {
        if let Some(i) = w.identities.remove(&k) {
            ctx.inner.directory.remove(&i.principal_id);
        }
    }
    let servers: Vec<String> = w
        .servers
        .keys()
        .filter(|k| k.starts_with(&prefix))
        .cloned()
        .collect();
    for k in servers {
        w.servers.remove(&k);
        w.passwords.remove(&k);
    }
}
