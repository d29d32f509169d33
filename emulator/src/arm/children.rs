//! The children of a flexible server: administrators/{objectId}, configurations/{name},
//! databases/{name}, firewallRules/{name}. Writes are 202 long-running operations that keep the
//! server busy (a second write meanwhile gets 409), as the PostgreSQL RP does.

use super::config_catalogue::Param;
use super::errors::{ArmError, ArmResult};
use super::lro::{self, NewOp};
use super::servers::{ensure_idle, not_found as server_not_found, TYPE};
use super::{is_guid, list_body, require_rg, Ctx};
use crate::http::Resp;
use crate::state::{key, ConfigValue, Server, World};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Admin,
    Config,
    Database,
    Firewall,
}

impl Kind {
    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "administrators" => Some(Kind::Admin),
            "configurations" => Some(Kind::Config),
            "databases" => Some(Kind::Database),
            "firewallrules" => Some(Kind::Firewall),
            _ => None,
        }
    }

    fn segment(self) -> &'static str {
        match self {
            Kind::Admin => "administrators",
            Kind::Config => "configurations",
            Kind::Database => "databases",
            Kind::Firewall => "firewallRules",
        }
    }

    fn map(self, s: &Server) -> Option<&BTreeMap<String, Value>> {
        match self {
            Kind::Admin => Some(&s.admins),
            Kind::Database => Some(&s.databases),
            Kind::Firewall => Some(&s.firewall_rules),
            Kind::Config => None,
        }
    }

    fn map_mut(self, s: &mut Server) -> Option<&mut BTreeMap<String, Value>> {
        match self {
            Kind::Admin => Some(&mut s.admins),
            Kind::Database => Some(&mut s.databases),
            Kind::Firewall => Some(&mut s.firewall_rules),
            Kind::Config => None,
        }
    }
}

fn child_key(kind: Kind, name: &str) -> String {
    match kind {
        // Database names are case-sensitive in PostgreSQL.
        Kind::Database => name.to_string(),
        _ => name.to_ascii_lowercase(),
    }
}

fn child_not_found(kind: Kind, rg: &str, server: &str, name: &str) -> ArmError {
    ArmError::resource_not_found(&format!("{TYPE}/{server}/{}/{name}", kind.segment()), rg)
}

pub(super) fn config_body(s: &Server, p: &Param) -> Value {
    let c = s.configs.get(&p.name).cloned().unwrap_or(ConfigValue {
        value: p.default.clone(),
        running: p.default.clone(),
        source: "system-default".into(),
    });
    let mut props = json!({
        "value": c.value,
        "description": p.description,
        "defaultValue": p.default,
        "dataType": p.data_type.as_str(),
        "allowedValues": p.allowed,
        "source": c.source,
        "isDynamicConfig": p.dynamic,
        "isReadOnly": p.read_only,
        "isConfigPendingRestart": !p.dynamic && c.value != c.running,
        "documentationLink": format!("https://www.postgresql.org/docs/{}/runtime-config.html",
            s.props.get("version").and_then(Value::as_str).unwrap_or("17")),
    });
    if let Some(u) = &p.unit {
        props["unit"] = json!(u);
    }
    json!({
        "id": format!("{}/configurations/{}", s.id, p.name),
        "name": p.name,
        "type": format!("{TYPE}/configurations"),
        "properties": props,
    })
}

pub(super) fn handle(
    ctx: &Ctx,
    rg: &str,
    server: &str,
    kind: &str,
    rest: &[&str],
) -> ArmResult<Resp> {
    let Some(kind) = Kind::parse(kind) else {
        return Err(ArmError::not_found_route(&ctx.req.path));
    };
    let m = ctx.req.method.as_str();
    let mut w = ctx.inner.world();
    require_rg(&w, rg)?;
    let sk = key(rg, server);
    let s = w
        .servers
        .get(&sk)
        .ok_or_else(|| server_not_found(rg, server))?;
    match (m, rest) {
        ("GET", []) => Ok(list_body(match kind.map(s) {
            Some(map) => map.values().cloned().collect(),
            None => ctx
                .backend()
                .catalogue
                .iter()
                .map(|p| config_body(s, p))
                .collect(),
        })),
        ("GET", [name]) => match kind {
            Kind::Config => ctx
                .backend()
                .catalogue
                .find(name)
                .map(|p| Resp::json(200, &config_body(s, p)))
                .ok_or_else(|| child_not_found(kind, rg, server, name)),
            _ => kind
                .map(s)
                .and_then(|m| m.get(&child_key(kind, name)))
                .map(|v| Resp::json(200, v))
                .ok_or_else(|| child_not_found(kind, rg, server, name)),
        },
        ("PUT", [name]) | ("PATCH", [name]) if kind == Kind::Config => {
            write_config(ctx, &mut w, rg, server, name)
        }
        ("PUT", [name]) => put(ctx, &mut w, rg, server, kind, name),
        ("DELETE", [name]) if kind != Kind::Config => delete(ctx, &mut w, rg, server, kind, name),
        (_, [_]) => Err(ArmError::method_not_allowed(m)),
        _ => Err(ArmError::not_found_route(&ctx.req.path)),
    }
}

fn props_of(ctx: &Ctx) -> ArmResult<Value> {
    let b = ctx.json_body()?;
    match b.get("properties") {
        Some(p) if p.is_object() => Ok(p.clone()),
        _ => Err(
            ArmError::invalid_body("The 'properties' object is required.")
                .with_target("properties"),
        ),
    }
}

fn bad(target: &str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request("InvalidParameterValue", message).with_target(target)
}

fn put(
    ctx: &Ctx,
    w: &mut World,
    rg: &str,
    server: &str,
    kind: Kind,
    name: &str,
) -> ArmResult<Resp> {
    let p = props_of(ctx)?;
    let sk = key(rg, server);
    let s = &w.servers[&sk];
    let id = format!("{}/{}/{name}", s.id, kind.segment());
    let body = match kind {
        Kind::Admin => admin_body(ctx, s, &id, name, &p)?,
        Kind::Database => database_body(&id, name, &p)?,
        Kind::Firewall => firewall_body(&id, name, &p)?,
        Kind::Config => unreachable!("configurations are written by write_config"),
    };
    if kind == Kind::Database && s.databases.contains_key(name) && s.databases[name] != body {
        return Err(ArmError::bad_request(
            "DatabaseAlreadyExists",
            format!("Database '{name}' already exists with another charset or collation; they cannot be changed."),
        ));
    }
    ensure_idle(w, rg, server)?;
    let location = s.location.clone();
    let ck = child_key(kind, name);
    let sk2 = sk.clone();
    Ok(lro::start(
        ctx,
        w,
        NewOp {
            location,
            resource_id: id,
            is_delete: false,
            busy_key: Some(sk),
            on_success: Box::new(move |w: &mut World| {
                let s = w.servers.get_mut(&sk2)?;
                kind.map_mut(s)?.insert(ck, body.clone());
                Some(body)
            }),
            on_failure: None,
        },
    ))
}

fn delete(
    ctx: &Ctx,
    w: &mut World,
    rg: &str,
    server: &str,
    kind: Kind,
    name: &str,
) -> ArmResult<Resp> {
    let sk = key(rg, server);
    let ck = child_key(kind, name);
    let s = &w.servers[&sk];
    if !kind.map(s).is_some_and(|m| m.contains_key(&ck)) {
        return Ok(Resp::empty(204));
    }
    if kind == Kind::Database && matches!(name, "postgres" | "azure_maintenance" | "azure_sys") {
        return Err(ArmError::bad_request(
            "CannotDropSystemDatabase",
            format!("The system database '{name}' cannot be dropped."),
        ));
    }
    ensure_idle(w, rg, server)?;
    let (location, id) = (
        s.location.clone(),
        format!("{}/{}/{name}", s.id, kind.segment()),
    );
    let sk2 = sk.clone();
    Ok(lro::start(
        ctx,
        w,
        NewOp {
            location,
            resource_id: id,
            is_delete: true,
            busy_key: Some(sk),
            on_success: Box::new(move |w: &mut World| {
                let s = w.servers.get_mut(&sk2)?;
                kind.map_mut(s)?.remove(&ck);
                None
            }),
            on_failure: None,
        },
    ))
}

fn admin_body(ctx: &Ctx, s: &Server, id: &str, object_id: &str, p: &Value) -> ArmResult<Value> {
    if s.props
        .get("authConfig")
        .and_then(|a| a.get("activeDirectoryAuth"))
        .and_then(Value::as_str)
        != Some("Enabled")
    {
        return Err(ArmError::bad_request(
            "AadAuthenticationNotEnabled",
            format!("Microsoft Entra authentication is not enabled on server '{}'; enable authConfig.activeDirectoryAuth first.", s.name),
        ));
    }
    if !is_guid(object_id) {
        return Err(bad(
            "objectId",
            format!("'{object_id}' is not a valid object id (a GUID)."),
        ));
    }
    let principal_type = match p.get("principalType") {
        Some(v) => match v.as_str() {
            Some(t @ ("User" | "Group" | "ServicePrincipal" | "Unknown")) => t,
            _ => {
                return Err(bad(
                    "properties.principalType",
                    format!(
                    "Invalid principalType {v}; allowed: User, Group, ServicePrincipal, Unknown."
                ),
                ))
            }
        },
        None => {
            return Err(bad(
                "properties.principalType",
                "principalType is required.",
            ))
        }
    };
    let Some(principal_name) = p
        .get("principalName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return Err(bad(
            "properties.principalName",
            "principalName is required.",
        ));
    };
    let tenant = ctx.inner.opts.tenant_id.clone();
    if let Some(t) = p.get("tenantId").and_then(Value::as_str) {
        if !t.eq_ignore_ascii_case(&tenant) {
            return Err(bad(
                "properties.tenantId",
                format!("Tenant '{t}' is not the tenant of the server ('{tenant}')."),
            ));
        }
    }
    Ok(json!({
        "id": id,
        "name": principal_name,
        "type": format!("{TYPE}/administrators"),
        "properties": {
            "principalType": principal_type,
            "principalName": principal_name,
            "objectId": object_id.to_ascii_lowercase(),
            "tenantId": tenant,
        },
    }))
}

fn database_body(id: &str, name: &str, p: &Value) -> ArmResult<Value> {
    let ok_name = (1..=63).contains(&name.len())
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok_name {
        return Err(bad("databaseName", format!("Database name '{name}' is invalid: 1-63 letters, digits, '_' or '-', starting with a letter or '_'.")));
    }
    let charset = p.get("charset").and_then(Value::as_str).unwrap_or("UTF8");
    let collation = p
        .get("collation")
        .and_then(Value::as_str)
        .unwrap_or("en_US.utf8");
    if !charset
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        || !charset
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(bad(
            "properties.charset",
            format!("Charset '{charset}' is invalid."),
        ));
    }
    if !collation
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '-')
        || !collation
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
    {
        return Err(bad(
            "properties.collation",
            format!("Collation '{collation}' is invalid."),
        ));
    }
    Ok(json!({
        "id": id,
        "name": name,
        "type": format!("{TYPE}/databases"),
        "properties": {"charset": charset, "collation": collation},
    }))
}

fn firewall_body(id: &str, name: &str, p: &Value) -> ArmResult<Value> {
    let ok_name = (1..=80).contains(&name.len())
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok_name {
        return Err(bad(
            "firewallRuleName",
            format!("Firewall rule name '{name}' is invalid."),
        ));
    }
    let ip = |f: &str| -> ArmResult<Ipv4Addr> {
        p.get(f)
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Ipv4Addr>().ok())
            .ok_or_else(|| {
                bad(
                    &format!("properties.{f}"),
                    format!("'{f}' is required and must be an IPv4 address."),
                )
            })
    };
    let (start, end) = (ip("startIpAddress")?, ip("endIpAddress")?);
    if u32::from(start) > u32::from(end) {
        return Err(bad(
            "properties.startIpAddress",
            "startIpAddress must not be greater than endIpAddress.",
        ));
    }
    Ok(json!({
        "id": id,
        "name": name,
        "type": format!("{TYPE}/firewallRules"),
        "properties": {"startIpAddress": start.to_string(), "endIpAddress": end.to_string()},
    }))
}

fn write_config(ctx: &Ctx, w: &mut World, rg: &str, server: &str, name: &str) -> ArmResult<Resp> {
    let p = props_of(ctx)?;
    let sk = key(rg, server);
    let facts = ctx.backend();
    let Some(param) = facts.catalogue.find(name).cloned() else {
        return Err(child_not_found(Kind::Config, rg, server, name));
    };
    if param.read_only {
        return Err(ArmError::bad_request(
            "ParameterIsReadOnly",
            format!(
                "Parameter '{}' is read-only and cannot be changed.",
                param.name
            ),
        )
        .with_target("properties.value"));
    }
    let source = p
        .get("source")
        .and_then(Value::as_str)
        .unwrap_or("user-override")
        .to_string();
    let value = match p.get("value") {
        Some(Value::String(v)) => v.clone(),
        None | Some(Value::Null) if source == "system-default" => param.default.clone(),
        Some(v) => {
            return Err(bad(
                "properties.value",
                format!("The value {v} must be a string."),
            ))
        }
        None => return Err(bad("properties.value", "value is required.")),
    };
    if !param.accepts(&value) {
        return Err(ArmError::bad_request(
            "InvalidParameterValue",
            format!(
                "Invalid value given for parameter '{}': '{value}'. Allowed values: {} ({}).",
                param.name,
                param.allowed,
                param.data_type.as_str()
            ),
        )
        .with_target("properties.value"));
    }
    ensure_idle(w, rg, server)?;
    let s = &w.servers[&sk];
    let (location, id) = (
        s.location.clone(),
        format!("{}/configurations/{}", s.id, param.name),
    );
    let sk2 = sk.clone();
    Ok(lro::start(
        ctx,
        w,
        NewOp {
            location,
            resource_id: id,
            is_delete: false,
            busy_key: Some(sk),
            on_success: Box::new(move |w: &mut World| {
                let s = w.servers.get_mut(&sk2)?;
                let c = s
                    .configs
                    .entry(param.name.clone())
                    .or_insert_with(|| ConfigValue {
                        value: param.default.clone(),
                        running: param.default.clone(),
                        source: "system-default".into(),
                    });
                c.value = value;
                c.source = source;
                if param.dynamic {
                    c.running = c.value.clone();
                }
                Some(config_body(s, &param))
            }),
            on_failure: None,
        },
    ))
}
