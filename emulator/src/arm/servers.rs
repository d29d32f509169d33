//! Microsoft.DBforPostgreSQL/flexibleServers: PUT (202, invisible until done), GET, PATCH (202,
//! in place, state Updating meanwhile), DELETE (202/204), restart/start/stop, the lists, and the
//! 409 when a write overlaps another one on the same server.

use super::errors::{ArmError, ArmResult};
use super::lro::{self, NewOp};
use super::{list_body, require_rg, tags_of, Ctx};
use crate::http::Resp;
use crate::state::{key, Server, World};
use crate::util;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub(super) const TYPE: &str = "Microsoft.DBforPostgreSQL/flexibleServers";
const VERSIONS: &[&str] = &["11", "12", "13", "14", "15", "16", "17"];
const STORAGE_SIZES: &[i64] = &[32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767];
const TIERS: &[&str] = &["Burstable", "GeneralPurpose", "MemoryOptimized"];
const ENABLED: &[&str] = &["Enabled", "Disabled"];

pub(crate) fn server_body(s: &Server) -> Value {
    let mut v = json!({
        "sku": s.sku,
        "systemData": {"createdAt": s.created_at},
        "properties": s.props,
        "location": s.location,
        "id": s.id,
        "name": s.name,
        "type": TYPE,
    });
    if !s.tags.is_null() {
        v["tags"] = s.tags.clone();
    }
    v
}

pub(super) fn not_found(rg: &str, name: &str) -> ArmError {
    ArmError::resource_not_found(&format!("{TYPE}/{name}"), rg)
}

pub(super) fn list(ctx: &Ctx, rg: Option<&str>) -> ArmResult<Resp> {
    let w = ctx.inner.world();
    if let Some(rg) = rg {
        require_rg(&w, rg)?;
    }
    let prefix = rg.map(|r| format!("{}/", r.to_ascii_lowercase()));
    let items = w
        .servers
        .iter()
        .filter(|(k, _)| prefix.as_ref().is_none_or(|p| k.starts_with(p)))
        .map(|(_, s)| server_body(s))
        .collect();
    Ok(list_body(items))
}

pub(super) fn handle(ctx: &Ctx, rg: &str, rest: &[&str]) -> ArmResult<Resp> {
    let m = ctx.req.method.as_str();
    match rest {
        [] if m == "GET" => list(ctx, Some(rg)),
        [name] => match m {
            "GET" => {
                let w = ctx.inner.world();
                require_rg(&w, rg)?;
                w.servers
                    .get(&key(rg, name))
                    .map(|s| Resp::json(200, &server_body(s)))
                    .ok_or_else(|| not_found(rg, name))
            }
            "PUT" => put(ctx, rg, name),
            "PATCH" => patch(ctx, rg, name),
            "DELETE" => delete(ctx, rg, name),
            _ => Err(ArmError::method_not_allowed(m)),
        },
        [name, action] if m == "POST" => power(ctx, rg, name, &action.to_ascii_lowercase()),
        [name, kind, child @ ..] => super::children::handle(ctx, rg, name, kind, child),
        _ => Err(ArmError::not_found_route(&ctx.req.path)),
    }
}

/// Refuses a write while another operation runs on the server.
pub(super) fn ensure_idle(w: &World, rg: &str, name: &str) -> ArmResult<()> {
    if w.busy.contains_key(&key(rg, name)) {
        return Err(ArmError::server_busy(name));
    }
    Ok(())
}

fn valid_server_name(n: &str) -> bool {
    (3..=63).contains(&n.len())
        && n.split('-').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

fn template(ctx: &Ctx, rg: &str, name: &str, location: &str) -> Server {
    let id = format!(
        "/subscriptions/{}/resourceGroups/{rg}/providers/{TYPE}/{name}",
        ctx.sub
    );
    let props = json!({
        "replica": {"role": "Primary", "capacity": 5},
        "storage": {"type": "Premium_LRS", "iops": 120, "tier": "P4", "storageSizeGB": 32, "autoGrow": "Disabled"},
        "network": {"publicNetworkAccess": "Enabled"},
        "privateEndpointConnections": [],
        "dataEncryption": {"type": "SystemManaged"},
        "authConfig": {"activeDirectoryAuth": "Disabled", "passwordAuth": "Enabled"},
        "fullyQualifiedDomainName": "",
        "version": "17",
        "minorVersion": "0",
        "state": "Ready",
        "availabilityZone": "1",
        "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled", "earliestRestoreDate": util::now_iso()},
        "highAvailability": {"mode": "Disabled", "state": "NotEnabled"},
        "maintenanceWindow": {"customWindow": "Disabled", "dayOfWeek": 0, "startHour": 0, "startMinute": 0},
        "replicationRole": "Primary",
        "replicaCapacity": 5,
    });
    let db = |n: &str| {
        (
            n.to_string(),
            json!({"id": format!("{id}/databases/{n}"), "name": n, "type": format!("{TYPE}/databases"),
                   "properties": {"charset": "UTF8", "collation": "en_US.utf8"}}),
        )
    };
    Server {
        id: id.clone(),
        name: name.to_string(),
        rg: rg.to_string(),
        location: location.to_string(),
        tags: Value::Null,
        sku: json!({"name": "Standard_B1ms", "tier": "Burstable"}),
        props: props.as_object().cloned().unwrap_or_default(),
        created_at: util::now_iso(),
        admins: BTreeMap::new(),
        // Parameters not here have the catalogue's default.
        configs: BTreeMap::new(),
        databases: ["azure_maintenance", "azure_sys", "postgres"]
            .iter()
            .map(|n| db(n))
            .collect(),
        firewall_rules: BTreeMap::new(),
    }
}

fn put(ctx: &Ctx, rg: &str, name: &str) -> ArmResult<Resp> {
    let body = ctx.json_body()?;
    let mut w = ctx.inner.world();
    let rg_name = require_rg(&w, rg)?;
    ensure_idle(&w, rg, name)?;
    let k = key(rg, name);
    if w.servers.contains_key(&k) {
        drop(w);
        return update(ctx, rg, name, body, true);
    }
    if !valid_server_name(name) {
        return Err(ArmError::bad_request(
            "InvalidServerName",
            format!("Server name '{name}' is invalid: use 3-63 lower-case letters, digits and single hyphens, not starting or ending with a hyphen."),
        ));
    }
    if w.servers
        .values()
        .any(|s| s.name.eq_ignore_ascii_case(name))
    {
        return Err(ArmError::new(
            409,
            "ServerNameAlreadyExists",
            format!("Specified server name '{name}' is already used."),
        ));
    }
    let location = body
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
    if body.get("sku").is_none() {
        return Err(ArmError::bad_request(
            "InvalidRequestContent",
            "The 'sku' property (name and tier) is required.",
        )
        .with_target("sku"));
    }
    let create_mode = body
        .pointer("/properties/createMode")
        .and_then(Value::as_str)
        .unwrap_or("Default");
    if !matches!(create_mode, "Default" | "Create") {
        return Err(ArmError::bad_request(
            "CreateModeNotSupported",
            format!("The emulator creates servers with createMode Default or Create only, not '{create_mode}'."),
        ));
    }
    let mut server = template(ctx, &rg_name, name, &location);
    if body.pointer("/properties/version").is_none() {
        // A server that names no version is the backend's.
        let (major, minor) = backend_version(ctx)?.unwrap_or((17, 0));
        server
            .props
            .insert("version".into(), json!(major.to_string()));
        server
            .props
            .insert("minorVersion".into(), json!(minor.to_string()));
    }
    let password = apply(ctx, &mut server, &body, Mode::Create)?;
    if server
        .props
        .get("authConfig")
        .and_then(|a| a.get("passwordAuth"))
        .and_then(Value::as_str)
        == Some("Enabled")
        && password.is_none()
    {
        return Err(ArmError::bad_request(
            "AdministratorLoginPasswordRequired",
            "administratorLoginPassword is required when password authentication is enabled.",
        )
        .with_target("properties.administratorLoginPassword"));
    }
    server.props.insert(
        "fullyQualifiedDomainName".into(),
        json!(w.allocate_loopback()),
    );
    let id = server.id.clone();
    let k2 = k.clone();
    let resp = lro::start(
        ctx,
        &mut w,
        NewOp {
            location,
            resource_id: id,
            is_delete: false,
            busy_key: Some(k.clone()),
            on_success: Box::new(move |w: &mut World| {
                let body = server_body(&server);
                if let Some(p) = password {
                    w.passwords.insert(k2.clone(), p);
                }
                w.servers.insert(k2, server);
                Some(body)
            }),
            on_failure: None,
        },
    );
    Ok(resp)
}

fn patch(ctx: &Ctx, rg: &str, name: &str) -> ArmResult<Resp> {
    let body = ctx.json_body()?;
    update(ctx, rg, name, body, false)
}

/// PATCH, or PUT on an existing server: validate on a copy, show Updating, apply when done.
fn update(ctx: &Ctx, rg: &str, name: &str, body: Value, is_put: bool) -> ArmResult<Resp> {
    let mut w = ctx.inner.world();
    require_rg(&w, rg)?;
    let k = key(rg, name);
    let current = w
        .servers
        .get(&k)
        .cloned()
        .ok_or_else(|| not_found(rg, name))?;
    ensure_idle(&w, rg, name)?;
    if is_put {
        if let Some(l) = body.get("location").and_then(Value::as_str) {
            if super::normalize_location(l) != super::normalize_location(&current.location) {
                return Err(ArmError::bad_request(
                    "InvalidResourceLocation",
                    format!("The resource '{name}' already exists in location '{}' in resource group '{rg}'. A resource with the same name cannot be created in location '{l}'. Please select a new resource name.", current.location),
                ));
            }
        }
    }
    let mut next = current.clone();
    let password = apply(
        ctx,
        &mut next,
        &body,
        if is_put { Mode::Put } else { Mode::Patch },
    )?;
    let password_auth_on = next
        .props
        .get("authConfig")
        .and_then(|a| a.get("passwordAuth"))
        .and_then(Value::as_str)
        == Some("Enabled");
    if password_auth_on && password.is_none() && !w.passwords.contains_key(&k) {
        return Err(ArmError::bad_request(
            "AdministratorLoginPasswordRequired",
            "administratorLoginPassword is required to enable password authentication on this server.",
        ).with_target("properties.administratorLoginPassword"));
    }
    if let Some(s) = w.servers.get_mut(&k) {
        s.props.insert("state".into(), json!("Updating"));
    }
    let (k_ok, k_fail) = (k.clone(), k.clone());
    Ok(lro::start(
        ctx,
        &mut w,
        NewOp {
            location: current.location.clone(),
            resource_id: current.id.clone(),
            is_delete: false,
            busy_key: Some(k.clone()),
            on_success: Box::new(move |w: &mut World| {
                if let Some(p) = password {
                    w.passwords.insert(k_ok.clone(), p);
                }
                let s = w.servers.get_mut(&k_ok)?;
                s.sku = next.sku;
                s.tags = next.tags;
                s.props = next.props;
                s.props.insert("state".into(), json!("Ready"));
                Some(server_body(s))
            }),
            on_failure: Some(Box::new(move |w: &mut World| {
                if let Some(s) = w.servers.get_mut(&k_fail) {
                    s.props.insert("state".into(), json!("Ready"));
                }
                None
            })),
        },
    ))
}

fn delete(ctx: &Ctx, rg: &str, name: &str) -> ArmResult<Resp> {
    let mut w = ctx.inner.world();
    require_rg(&w, rg)?;
    let k = key(rg, name);
    if !w.servers.contains_key(&k) {
        return Ok(Resp::empty(204));
    }
    ensure_idle(&w, rg, name)?;
    if let Some(s) = w.servers.get_mut(&k) {
        s.props.insert("state".into(), json!("Dropping"));
    }
    let (k_ok, k_fail) = (k.clone(), k.clone());
    let srv = w.servers[&k].clone();
    Ok(lro::start(
        ctx,
        &mut w,
        NewOp {
            location: srv.location.clone(),
            resource_id: srv.id.clone(),
            is_delete: true,
            busy_key: Some(k),
            on_success: Box::new(move |w: &mut World| {
                w.servers.remove(&k_ok);
                w.passwords.remove(&k_ok);
                None
            }),
            on_failure: Some(Box::new(move |w: &mut World| {
                if let Some(s) = w.servers.get_mut(&k_fail) {
                    s.props.insert("state".into(), json!("Ready"));
                }
                None
            })),
        },
    ))
}

/// POST restart / start / stop.
fn power(ctx: &Ctx, rg: &str, name: &str, action: &str) -> ArmResult<Resp> {
    let mut w = ctx.inner.world();
    require_rg(&w, rg)?;
    let k = key(rg, name);
    let state = w
        .servers
        .get(&k)
        .ok_or_else(|| not_found(rg, name))?
        .props
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or("Ready")
        .to_string();
    ensure_idle(&w, rg, name)?;
    let (during, after) = match (action, state.as_str()) {
        ("restart", "Ready") => ("Restarting", "Ready"),
        ("start", "Stopped") => ("Starting", "Ready"),
        ("stop", "Ready") => ("Stopping", "Stopped"),
        ("restart" | "start" | "stop", s) => {
            return Err(ArmError::new(
                409,
                "ServerStateInvalidForOperation",
                format!("The server '{name}' is in state '{s}'; the '{action}' operation is not allowed in this state."),
            ))
        }
        _ => return Err(ArmError::not_found_route(&ctx.req.path)),
    };
    let s = w.servers.get_mut(&k).expect("checked above");
    s.props.insert("state".into(), json!(during));
    let (location, id) = (s.location.clone(), format!("{}/{action}", s.id));
    let (k_ok, k_fail, restarts) = (k.clone(), k.clone(), action != "stop");
    let before = state.clone();
    Ok(lro::start(
        ctx,
        &mut w,
        NewOp {
            location,
            resource_id: id,
            is_delete: true,
            busy_key: Some(k),
            on_success: Box::new(move |w: &mut World| {
                let s = w.servers.get_mut(&k_ok)?;
                s.props.insert("state".into(), json!(after));
                if restarts {
                    for c in s.configs.values_mut() {
                        c.running = c.value.clone();
                    }
                }
                None
            }),
            on_failure: Some(Box::new(move |w: &mut World| {
                if let Some(s) = w.servers.get_mut(&k_fail) {
                    s.props.insert("state".into(), json!(before));
                }
                None
            })),
        },
    ))
}

/// The backend's (major, minor) version; None when it is unknown and any version is allowed.
/// When only the backend's version is allowed, an unknown one refuses the write.
fn backend_version(ctx: &Ctx) -> ArmResult<Option<(u32, u32)>> {
    let facts = ctx.backend();
    match &facts.version {
        Ok(v) => Ok(Some(*v)),
        Err(_) if ctx.inner.opts.any_server_version => Ok(None),
        Err(why) => Err(ArmError::bad_request(
            "BackendUnavailable",
            format!(
                "The emulator's servers run on its backend PostgreSQL at {}, which does not \
                 answer ({why}); start PostgreSQL there, or point PGENTRA_PG_BACKEND at one.",
                facts.addr
            ),
        )),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Put,
    Patch,
}

fn invalid(target: &str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request("InvalidParameterValue", message).with_target(target)
}

fn enum_str<'a>(v: &'a Value, allowed: &[&str], target: &str) -> ArmResult<&'a str> {
    match v.as_str() {
        Some(s) if allowed.contains(&s) => Ok(s),
        _ => Err(invalid(
            target,
            format!(
                "Invalid value {v} for '{target}'; allowed values: {}.",
                allowed.join(", ")
            ),
        )),
    }
}

fn obj<'a>(props: &'a mut Map<String, Value>, field: &str) -> &'a mut Map<String, Value> {
    let e = props.entry(field.to_string()).or_insert_with(|| json!({}));
    if !e.is_object() {
        *e = json!({});
    }
    e.as_object_mut().expect("object")
}

/// Applies a PUT/PATCH body to `s`, validating each field; returns a new password if one was given.
fn apply(ctx: &Ctx, s: &mut Server, body: &Value, mode: Mode) -> ArmResult<Option<String>> {
    if let Some(t) = tags_of(body)? {
        s.tags = t;
    }
    if let Some(sku) = body.get("sku") {
        let Some(sku_obj) = sku.as_object() else {
            return Err(ArmError::invalid_body("'sku' must be an object."));
        };
        if mode != Mode::Patch && (sku_obj.get("name").is_none() || sku_obj.get("tier").is_none()) {
            return Err(ArmError::bad_request(
                "InvalidRequestContent",
                "The sku must have a name and a tier.",
            )
            .with_target("sku"));
        }
        if let Some(n) = sku_obj.get("name") {
            match n.as_str() {
                Some(n) if n.starts_with("Standard_") => s.sku["name"] = json!(n),
                _ => {
                    return Err(invalid(
                        "sku.name",
                        format!(
                            "The sku name {n} is not valid (e.g. Standard_B1ms, Standard_D2ds_v5)."
                        ),
                    ))
                }
            }
        }
        if let Some(t) = sku_obj.get("tier") {
            s.sku["tier"] = json!(enum_str(t, TIERS, "sku.tier")?);
        }
    }
    let empty = json!({});
    let p = body.get("properties").unwrap_or(&empty);
    if !p.is_object() {
        return Err(ArmError::invalid_body("'properties' must be an object."));
    }
    if let Some(v) = p.get("version") {
        let new = enum_str(v, VERSIONS, "properties.version")?;
        let cur: u32 = s
            .props
            .get("version")
            .and_then(Value::as_str)
            .and_then(|x| x.parse().ok())
            .unwrap_or(0);
        let newn: u32 = new.parse().unwrap_or(0);
        let backend = backend_version(ctx)?;
        if let Some((major, _)) = backend.filter(|_| !ctx.inner.opts.any_server_version) {
            if newn != major {
                let facts = ctx.backend();
                return Err(invalid(
                    "properties.version",
                    format!(
                        "This emulator's servers run on its backend PostgreSQL at {}, which is \
                         PostgreSQL {major}: a server cannot be version {new} here. Ask for \
                         version \"{major}\" or leave the version out (`pgentra emulator \
                         --any-version` accepts any version and reports it, though the PostgreSQL \
                         inside stays {major}).",
                        facts.addr
                    ),
                ));
            }
        }
        if mode != Mode::Create && newn < cur {
            return Err(ArmError::bad_request(
                "VersionDowngradeNotSupported",
                format!("The server runs PostgreSQL {cur}; downgrading to {new} is not supported."),
            )
            .with_target("properties.version"));
        }
        s.props.insert("version".into(), json!(new));
        match backend {
            // The backend's own minor version when the server is the backend's major.
            Some((major, minor)) if major == newn => {
                s.props
                    .insert("minorVersion".into(), json!(minor.to_string()));
            }
            _ if newn != cur => {
                s.props.insert("minorVersion".into(), json!("0"));
            }
            _ => {}
        }
    }
    if let Some(st) = p.get("storage") {
        let Some(st) = st.as_object() else {
            return Err(ArmError::invalid_body(
                "'properties.storage' must be an object.",
            ));
        };
        if let Some(v) = st.get("storageSizeGB") {
            let Some(n) = v.as_i64().filter(|n| STORAGE_SIZES.contains(n)) else {
                return Err(invalid(
                    "properties.storage.storageSizeGB",
                    format!("Storage size {v} GB is not supported; use one of {STORAGE_SIZES:?}."),
                ));
            };
            let cur = s
                .props
                .get("storage")
                .and_then(|x| x.get("storageSizeGB"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if mode != Mode::Create && n < cur {
                return Err(ArmError::bad_request(
                    "StorageSizeDecreaseNotSupported",
                    format!("Decreasing the storage size from {cur} GB to {n} GB is not supported; storage can only grow."),
                ).with_target("properties.storage.storageSizeGB"));
            }
            obj(&mut s.props, "storage").insert("storageSizeGB".into(), json!(n));
        }
        if let Some(v) = st.get("autoGrow") {
            let a = enum_str(v, ENABLED, "properties.storage.autoGrow")?;
            obj(&mut s.props, "storage").insert("autoGrow".into(), json!(a));
        }
    }
    if let Some(a) = p.get("authConfig") {
        let tenant = ctx.inner.opts.tenant_id.clone();
        let auth = obj(&mut s.props, "authConfig");
        if let Some(v) = a.get("activeDirectoryAuth") {
            auth.insert(
                "activeDirectoryAuth".into(),
                json!(enum_str(
                    v,
                    ENABLED,
                    "properties.authConfig.activeDirectoryAuth"
                )?),
            );
        }
        if let Some(v) = a.get("passwordAuth") {
            auth.insert(
                "passwordAuth".into(),
                json!(enum_str(v, ENABLED, "properties.authConfig.passwordAuth")?),
            );
        }
        if let Some(t) = a.get("tenantId").and_then(Value::as_str) {
            if !t.eq_ignore_ascii_case(&tenant) {
                return Err(invalid(
                    "properties.authConfig.tenantId",
                    format!("Tenant '{t}' is not the tenant of this subscription ('{tenant}')."),
                ));
            }
        }
        let ad_on = auth.get("activeDirectoryAuth").and_then(Value::as_str) == Some("Enabled");
        let pw_on = auth.get("passwordAuth").and_then(Value::as_str) == Some("Enabled");
        if !ad_on && !pw_on {
            return Err(ArmError::bad_request(
                "AuthConfigInvalid",
                "At least one of Microsoft Entra authentication and password authentication must be enabled.",
            ).with_target("properties.authConfig"));
        }
        if ad_on {
            auth.insert("tenantId".into(), json!(tenant));
        } else {
            auth.remove("tenantId");
        }
    }
    let current_login = s
        .props
        .get("administratorLogin")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(l) = p.get("administratorLogin") {
        let Some(l) = l.as_str().filter(|l| !l.is_empty()) else {
            return Err(invalid(
                "properties.administratorLogin",
                "administratorLogin must be a non-empty string.",
            ));
        };
        match &current_login {
            Some(c) if c != l => {
                return Err(ArmError::bad_request(
                    "AdministratorLoginCannotBeChanged",
                    format!(
                        "The administrator login of the server is '{c}' and cannot be changed."
                    ),
                )
                .with_target("properties.administratorLogin"))
            }
            _ => {
                if matches!(
                    l.to_ascii_lowercase().as_str(),
                    "azure_superuser"
                        | "azure_pg_admin"
                        | "admin"
                        | "administrator"
                        | "root"
                        | "guest"
                        | "public"
                ) || l.starts_with("pg_")
                {
                    return Err(invalid(
                        "properties.administratorLogin",
                        format!("The administrator login '{l}' is reserved."),
                    ));
                }
                s.props.insert("administratorLogin".into(), json!(l));
            }
        }
    }
    let password = match p.get("administratorLoginPassword") {
        None | Some(Value::Null) => None,
        Some(Value::String(pw)) if pw.len() >= 8 => Some(pw.clone()),
        Some(_) => {
            return Err(invalid(
                "properties.administratorLoginPassword",
                "The password must be at least 8 characters.",
            ))
        }
    };
    let pw_on = s
        .props
        .get("authConfig")
        .and_then(|a| a.get("passwordAuth"))
        .and_then(Value::as_str)
        == Some("Enabled");
    if pw_on && s.props.get("administratorLogin").is_none() {
        return Err(ArmError::bad_request(
            "AdministratorLoginRequired",
            "administratorLogin is required when password authentication is enabled.",
        )
        .with_target("properties.administratorLogin"));
    }
    if let Some(b) = p.get("backup") {
        if let Some(d) = b.get("backupRetentionDays") {
            let Some(n) = d.as_i64().filter(|n| (7..=35).contains(n)) else {
                return Err(invalid(
                    "properties.backup.backupRetentionDays",
                    "backupRetentionDays must be between 7 and 35.",
                ));
            };
            obj(&mut s.props, "backup").insert("backupRetentionDays".into(), json!(n));
        }
        if let Some(g) = b.get("geoRedundantBackup") {
            let g = enum_str(g, ENABLED, "properties.backup.geoRedundantBackup")?;
            obj(&mut s.props, "backup").insert("geoRedundantBackup".into(), json!(g));
        }
    }
    if let Some(n) = p.get("network").and_then(|n| n.get("publicNetworkAccess")) {
        let v = enum_str(n, ENABLED, "properties.network.publicNetworkAccess")?;
        obj(&mut s.props, "network").insert("publicNetworkAccess".into(), json!(v));
    }
    if let Some(m) = p.get("highAvailability").and_then(|h| h.get("mode")) {
        let v = enum_str(
            m,
            &["Disabled", "ZoneRedundant", "SameZone"],
            "properties.highAvailability.mode",
        )?;
        let ha = obj(&mut s.props, "highAvailability");
        ha.insert("mode".into(), json!(v));
        ha.insert(
            "state".into(),
            json!(if v == "Disabled" {
                "NotEnabled"
            } else {
                "Healthy"
            }),
        );
    }
    if let Some(Value::Object(mw)) = p.get("maintenanceWindow") {
        let w = obj(&mut s.props, "maintenanceWindow");
        for (k, v) in mw {
            w.insert(k.clone(), v.clone());
        }
    }
    if let Some(z) = p.get("availabilityZone").and_then(Value::as_str) {
        if mode == Mode::Create {
            s.props.insert("availabilityZone".into(), json!(z));
        }
    }
    Ok(password)
}
