//! Terraform's planning and apply rules over the core's check and diff (PROTOCOL.md 2.7-2.9).
//!
//! Everything here works on Terraform objects (snake_case, every attribute present) and calls
//! only the protocol-neutral core; the gRPC service decodes, calls these, and encodes.
//! The rules kept:
//! - a planned value for an attribute set in config is the config value, or the prior value
//!   when both mean the same (a Normalised property whose canonical forms agree);
//! - provider-filled values only on optional+computed attributes that are null in config;
//! - outputs unknown on create, kept from the prior state on update when stable;
//! - nothing to change -> the prior state, exactly (the service echoes its bytes);
//! - after apply every known planned value is returned unchanged, every unknown is filled.

use std::collections::BTreeSet;
use std::sync::Arc;

use pgentra_core::props::{contains_unknown, is_unknown, unknown, Props};
use pgentra_core::provider::{old_inputs, Provider};
use pgentra_core::resource::{ReadOutcome, Resource};
use pgentra_core::spec::{CheckFailure, Computed, Property, Role};
use serde_json::{Map, Value};

use crate::cty::CtyType;
use crate::schema::{self, Block, ID};
use crate::values::{self, tf_path};

/// One resource type as Terraform sees it: its name, the core's resource, its block and type.
pub struct ResourceType {
    pub name: String,
    pub resource: Arc<dyn Resource>,
    pub block: Block,
    pub ty: CtyType,
}

impl ResourceType {
    pub fn new(resource: Arc<dyn Resource>) -> Self {
        let spec = resource.spec();
        let block = schema::resource_block(spec);
        Self {
            name: spec.tf_type_name(),
            ty: block.cty_type(),
            block,
            resource,
        }
    }

    pub fn properties(&self) -> &'static [Property] {
        self.resource.spec().properties
    }

    /// The Terraform path of a core property path.
    pub fn tf_path(&self, path: &str) -> String {
        tf_path(self.properties(), path)
    }

    /// The input properties of a Terraform object, as the core's Props.
    pub fn inputs_of(&self, object: &Map<String, Value>) -> Props {
        let all = values::to_props(self.properties(), object);
        old_inputs(self.resource.spec(), Props::default(), &all)
    }

    /// Every property of a Terraform object (inputs and outputs), as the core's Props.
    pub fn props_of(&self, object: &Map<String, Value>) -> Props {
        values::to_props(self.properties(), object)
    }

    /// The inputs of a state object, checked the way new inputs are (defaults, canonical
    /// forms), so that a diff compares like with like. A state the rules no longer accept is
    /// compared as it is.
    pub fn checked_olds(&self, core: &Provider, state: &Map<String, Value>) -> Props {
        let raw = self.inputs_of(state);
        let checked = core.check(self.resource.as_ref(), &raw, &Props::default());
        if checked.failures.is_empty() {
            checked.inputs
        } else {
            raw
        }
    }

    fn to_tf_inputs(&self, props: &Props) -> Map<String, Value> {
        values::to_object(self.properties(), &props.values, Property::is_input)
    }

    fn to_tf_all(&self, props: &Props) -> Map<String, Value> {
        values::to_object(self.properties(), &props.values, |_| true)
    }
}

/// What an update plan found.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdatePlan {
    /// Nothing changes: answer with the prior state exactly.
    NoChange,
    Change {
        planned: Map<String, Value>,
        /// Terraform paths of the changes that replace the resource.
        requires_replace: Vec<String>,
    },
}

/// What a plan step knows besides the values.
struct PlanContext<'a> {
    /// Prior state (update) or None (create).
    prior: Option<&'a Map<String, Value>>,
    /// Whether the config holds values not known yet.
    config_unknown: bool,
    /// Top-level attributes whose new value means the same as the prior one.
    same_meaning: BTreeSet<String>,
}

/// The planned state of a new resource: config values, provider-filled values on
/// optional+computed attributes left null, outputs and `id` unknown.
pub fn plan_create(
    core: &Provider,
    rt: &ResourceType,
    config: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<CheckFailure>> {
    let news = rt.props_of(config);
    let checked = core.check(rt.resource.as_ref(), &news, &Props::default());
    if !checked.failures.is_empty() {
        return Err(checked.failures);
    }
    let context = PlanContext {
        prior: None,
        config_unknown: news.has_unknowns(),
        same_meaning: BTreeSet::new(),
    };
    let mut planned = plan_block(
        &rt.block,
        config,
        &rt.to_tf_inputs(&checked.inputs),
        &context,
        true,
    );
    planned.insert(ID.to_owned(), unknown());
    Ok(planned)
}

/// The plan of a change to an existing resource.
pub fn plan_update(
    core: &Provider,
    rt: &ResourceType,
    prior: &Map<String, Value>,
    config: &Map<String, Value>,
) -> Result<UpdatePlan, Vec<CheckFailure>> {
    let olds = rt.checked_olds(core, prior);
    let news = rt.props_of(config);
    let checked = core.check(rt.resource.as_ref(), &news, &olds);
    if !checked.failures.is_empty() {
        return Err(checked.failures);
    }
    let diff = core.diff(rt.resource.as_ref(), &olds, &checked.inputs);
    if diff.changes.is_empty() {
        return Ok(UpdatePlan::NoChange);
    }
    let same_meaning = rt
        .properties()
        .iter()
        .filter(|p| p.computed == Computed::Normalised)
        .filter(|p| {
            let new = checked.inputs.get(p.name);
            new.is_some() && !new.is_some_and(contains_unknown) && new == olds.get(p.name)
        })
        .map(Property::tf_name)
        .collect();
    let context = PlanContext {
        prior: Some(prior),
        config_unknown: news.has_unknowns(),
        same_meaning,
    };
    let mut planned = plan_block(
        &rt.block,
        config,
        &rt.to_tf_inputs(&checked.inputs),
        &context,
        true,
    );
    // What Terraform compares: when every input planned is the prior one (an attribute left
    // out of the configuration keeps what is there), nothing changes.
    let inputs_unchanged = rt
        .block
        .attributes
        .iter()
        .filter(|a| a.property.is_some_and(Property::is_input))
        .map(|a| &a.name)
        .chain(rt.block.blocks.iter().map(|b| &b.name))
        .all(|name| planned.get(name) == prior.get(name));
    if inputs_unchanged {
        return Ok(UpdatePlan::NoChange);
    }
    let mut requires_replace: Vec<String> = Vec::new();
    for change in diff.changes.iter().filter(|c| c.replace) {
        let path = rt.tf_path(&change.path);
        let top = path.split(['.', '[']).next().unwrap_or(&path);
        if planned.get(top) == prior.get(top) {
            continue; // kept as it is (left out of the configuration)
        }
        if !requires_replace.contains(&path) {
            requires_replace.push(path);
        }
    }
    // A replacement starts afresh: its ID and every output are known only after apply.
    let replacing = !requires_replace.is_empty();
    for attribute in &rt.block.attributes {
        let is_output = attribute.property.is_some_and(|p| !p.is_input());
        if attribute.name == ID || (replacing && is_output) {
            let kept = prior.get(ID).filter(|_| !replacing).cloned();
            let value = if attribute.name == ID {
                kept.unwrap_or_else(unknown)
            } else {
                unknown()
            };
            planned.insert(attribute.name.clone(), value);
        }
    }
    Ok(UpdatePlan::Change {
        planned,
        requires_replace,
    })
}

fn plan_block(
    block: &Block,
    config: &Map<String, Value>,
    checked: &Map<String, Value>,
    context: &PlanContext<'_>,
    top: bool,
) -> Map<String, Value> {
    let null = Value::Null;
    let prior = |name: &str| -> &Value {
        if top {
            context.prior.and_then(|p| p.get(name)).unwrap_or(&null)
        } else {
            &null
        }
    };
    let mut planned = Map::new();
    for attribute in &block.attributes {
        let Some(property) = attribute.property else {
            continue; // `id`: the caller decides.
        };
        let configured = config.get(&attribute.name).unwrap_or(&null);
        let value = match property.role {
            Role::Output { stable } => match context.prior {
                Some(_) if top && stable && !prior(&attribute.name).is_null() => {
                    prior(&attribute.name).clone()
                }
                _ => unknown(),
            },
            Role::Input { .. } if !configured.is_null() => {
                let before = prior(&attribute.name);
                if top && context.same_meaning.contains(&attribute.name) && !before.is_null() {
                    before.clone()
                } else {
                    configured.clone()
                }
            }
            Role::Input { .. } if attribute.computed => {
                let filled = checked.get(&attribute.name).unwrap_or(&null);
                let before = prior(&attribute.name);
                if !filled.is_null() {
                    filled.clone()
                } else if !before.is_null() {
                    before.clone()
                } else if property.computed == Computed::Derived && context.config_unknown {
                    unknown()
                } else {
                    Value::Null
                }
            }
            Role::Input { .. } => Value::Null,
        };
        planned.insert(attribute.name.clone(), value);
    }
    for nested in &block.blocks {
        let configured = config.get(&nested.name).unwrap_or(&null);
        let value = match configured {
            Value::Object(members) => {
                let empty = Map::new();
                let checked_members = checked
                    .get(&nested.name)
                    .and_then(Value::as_object)
                    .unwrap_or(&empty);
                let inner = PlanContext {
                    prior: None,
                    config_unknown: context.config_unknown,
                    same_meaning: BTreeSet::new(),
                };
                Value::Object(plan_block(
                    &nested.block,
                    members,
                    checked_members,
                    &inner,
                    false,
                ))
            }
            other => other.clone(),
        };
        planned.insert(nested.name.clone(), value);
    }
    planned
}

/// The state after an apply: the planned state with each unknown filled from what the
/// operation returned (`actual`, a Terraform object), `id` set. Known planned values are kept
/// as planned. Returns the paths that stayed unknown (set to null) for the caller to report.
pub fn settle(
    block: &Block,
    planned: &Map<String, Value>,
    actual: &Map<String, Value>,
) -> (Map<String, Value>, Vec<String>) {
    let mut left = Vec::new();
    let state = settle_block(block, planned, actual, "", &mut left);
    (state, left)
}

fn settle_block(
    block: &Block,
    planned: &Map<String, Value>,
    actual: &Map<String, Value>,
    path: &str,
    left: &mut Vec<String>,
) -> Map<String, Value> {
    let null = Value::Null;
    let mut state = Map::new();
    for attribute in &block.attributes {
        let at = join(path, &attribute.name);
        let wanted = planned.get(&attribute.name).unwrap_or(&null);
        let value = if contains_unknown(wanted) {
            match actual.get(&attribute.name) {
                Some(value) if !contains_unknown(value) => value.clone(),
                _ => {
                    left.push(at);
                    Value::Null
                }
            }
        } else {
            wanted.clone()
        };
        state.insert(attribute.name.clone(), value);
    }
    for nested in &block.blocks {
        let at = join(path, &nested.name);
        let wanted = planned.get(&nested.name).unwrap_or(&null);
        let empty = Map::new();
        let got = actual
            .get(&nested.name)
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let value = match wanted {
            Value::Object(members) => {
                Value::Object(settle_block(&nested.block, members, got, &at, left))
            }
            value if is_unknown(value) => {
                if got.is_empty() {
                    left.push(at);
                    Value::Null
                } else {
                    Value::Object(got.clone())
                }
            }
            value => value.clone(),
        };
        state.insert(nested.name.clone(), value);
    }
    state
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// The Terraform object of what an operation returned (every property the outputs carry).
pub fn returned(rt: &ResourceType, outputs: &Props) -> Map<String, Value> {
    rt.to_tf_all(outputs)
}

/// The refreshed state after a read: the inputs the core kept (the program's), outputs as
/// Azure has them, and the prior spelling wherever the new value means the same (Azure's
/// case or canonical form); `prior` empty for an import.
pub fn refreshed(
    core: &Provider,
    rt: &ResourceType,
    prior: &Map<String, Value>,
    found: &ReadOutcome,
) -> Map<String, Value> {
    let mut state = values::to_object(rt.properties(), &found.outputs.values, |p| !p.is_input());
    let inputs = rt.to_tf_inputs(&found.inputs);
    // Canonical forms of both sides, computed once and only when some value differs.
    let mut canonical: Option<(Props, Props)> = None;
    for property in rt.properties().iter().filter(|p| p.is_input()) {
        let name = property.tf_name();
        let now = inputs.get(&name).cloned().unwrap_or(Value::Null);
        let before = prior.get(&name).cloned().unwrap_or(Value::Null);
        let value = if before.is_null() || now.is_null() || before == now {
            now
        } else if same_text(&before, &now) {
            before
        } else {
            let (checked_before, checked_now) = canonical.get_or_insert_with(|| {
                let resource = rt.resource.as_ref();
                let before = core.check(resource, &rt.inputs_of(prior), &Props::default());
                let now = core.check(resource, &found.inputs, &Props::default());
                (before.inputs, now.inputs)
            });
            let same = checked_before.get(property.name).is_some()
                && checked_before.get(property.name) == checked_now.get(property.name);
            if same {
                before
            } else {
                now
            }
        };
        state.insert(name, value);
    }
    state.insert(ID.to_owned(), Value::String(found.id.clone()));
    state
}

/// Strings that differ only in case and spaces (`West Europe` and `westeurope`).
fn same_text(a: &Value, b: &Value) -> bool {
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    match (a.as_str(), b.as_str()) {
        (Some(a), Some(b)) => fold(a) == fold(b),
        _ => false,
    }
}

/// A state object decoded leniently from stored JSON (UpgradeResourceState): attributes the
/// schema no longer has are dropped, missing ones become null (the codec fills them).
pub fn drop_unknown_attributes(value: Value, ty: &CtyType) -> Value {
    match (value, ty) {
        (Value::Object(members), CtyType::Object(attributes)) => Value::Object(
            members
                .into_iter()
                .filter_map(|(name, member)| {
                    let member_type = attributes.get(&name)?;
                    Some((name, drop_unknown_attributes(member, member_type)))
                })
                .collect(),
        ),
        (Value::Array(items), CtyType::List(item) | CtyType::Set(item)) => Value::Array(
            items
                .into_iter()
                .map(|v| drop_unknown_attributes(v, item))
                .collect(),
        ),
        (Value::Object(entries), CtyType::Map(item)) => Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| (k, drop_unknown_attributes(v, item)))
                .collect(),
        ),
        (value, _) => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgentra_core::resource::Registry;
    use serde_json::json;

    fn setup(token: &str) -> (Provider, ResourceType) {
        let registry = Arc::new(Registry::builtin());
        let rt = ResourceType::new(registry.resource(token).unwrap().clone());
        (Provider::new(registry), rt)
    }

    /// A config object as Terraform sends it: every attribute, null where unset.
    fn config(rt: &ResourceType, set: Value) -> Map<String, Value> {
        let mut object = Map::new();
        for attribute in &rt.block.attributes {
            object.insert(attribute.name.clone(), Value::Null);
        }
        for nested in &rt.block.blocks {
            object.insert(nested.name.clone(), Value::Null);
        }
        for (k, v) in set.as_object().unwrap() {
            object.insert(k.clone(), v.clone());
        }
        object
    }

    fn server_config(rt: &ResourceType) -> Map<String, Value> {
        config(
            rt,
            json!({
                "resource_group_name": "rg",
                "server_name": "pg-one",
                "location": "westeurope",
                "version": "16",
                "sku_name": "Standard_B1ms",
            }),
        )
    }

    #[test]
    fn a_create_plan_fills_defaults_only_where_config_is_null_and_leaves_outputs_unknown() {
        let (core, rt) = setup("pgentra:index:FlexibleServer");
        let mut cfg = server_config(&rt);
        cfg.insert("storage_size_gb".into(), json!(64));
        let planned = plan_create(&core, &rt, &cfg).unwrap();
        assert_eq!(planned["storage_size_gb"], json!(64));
        assert_eq!(planned["sku_tier"], json!("Burstable"));
        assert_eq!(planned["active_directory_auth"], json!("Enabled"));
        assert_eq!(planned["password_auth"], json!("Disabled"));
        assert_eq!(planned["public_network_access"], Value::Null);
        assert!(is_unknown(&planned["id"]));
        assert!(is_unknown(&planned["fully_qualified_domain_name"]));
        assert!(is_unknown(&planned["state"]));
        assert_eq!(planned.len(), rt.block.attributes.len());
    }

    #[test]
    fn a_derived_value_waits_for_an_unknown_input() {
        let (core, rt) = setup("pgentra:index:FlexibleServer");
        let mut cfg = server_config(&rt);
        cfg.insert("sku_name".into(), unknown());
        let planned = plan_create(&core, &rt, &cfg).unwrap();
        assert!(is_unknown(&planned["sku_tier"]));
        assert!(is_unknown(&planned["sku_name"]));
    }

    #[test]
    fn an_unchanged_config_plans_no_change_and_a_location_change_replaces() {
        let (core, rt) = setup("pgentra:index:FlexibleServer");
        let cfg = server_config(&rt);
        let mut prior = plan_create(&core, &rt, &cfg).unwrap();
        prior.insert("id".into(), json!("/subscriptions/x/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-one"));
        prior.insert(
            "fully_qualified_domain_name".into(),
            json!("pg-one.postgres.database.azure.com"),
        );
        prior.insert("state".into(), json!("Ready"));
        assert_eq!(
            plan_update(&core, &rt, &prior, &cfg).unwrap(),
            UpdatePlan::NoChange
        );

        let mut moved = cfg.clone();
        moved.insert("location".into(), json!("northeurope"));
        let UpdatePlan::Change {
            planned,
            requires_replace,
        } = plan_update(&core, &rt, &prior, &moved).unwrap()
        else {
            panic!("a change")
        };
        assert_eq!(requires_replace, ["location"]);
        assert_eq!(planned["location"], json!("northeurope"));
        assert!(is_unknown(&planned["id"]));

        let mut tagged = cfg.clone();
        tagged.insert("tags".into(), json!({"team": "data"}));
        let UpdatePlan::Change {
            planned,
            requires_replace,
        } = plan_update(&core, &rt, &prior, &tagged).unwrap()
        else {
            panic!("a change")
        };
        assert!(requires_replace.is_empty());
        assert_eq!(planned["id"], prior["id"]);
        assert_eq!(
            planned["fully_qualified_domain_name"],
            prior["fully_qualified_domain_name"]
        );
        assert!(
            is_unknown(&planned["state"]),
            "volatile outputs are unknown on update"
        );
    }

    #[test]
    fn attributes_left_out_keep_what_azure_reported_so_an_import_plans_empty() {
        let (core, rt) = setup("pgentra:index:FlexibleServer");
        let cfg = server_config(&rt);
        let mut imported = plan_create(&core, &rt, &cfg).unwrap();
        imported.insert("id".into(), json!("/x"));
        imported.insert("fully_qualified_domain_name".into(), json!("h"));
        imported.insert("state".into(), json!("Ready"));
        imported.insert("public_network_access".into(), json!("Enabled"));
        imported.insert(
            "tenant_id".into(),
            json!("11111111-1111-1111-1111-111111111111"),
        );
        imported.insert("tags".into(), json!({}));
        assert_eq!(
            plan_update(&core, &rt, &imported, &cfg).unwrap(),
            UpdatePlan::NoChange
        );

        let mut tagged = cfg.clone();
        tagged.insert("tags".into(), json!({"team": "data"}));
        let UpdatePlan::Change { planned, .. } =
            plan_update(&core, &rt, &imported, &tagged).unwrap()
        else {
            panic!("a change")
        };
        assert_eq!(planned["public_network_access"], json!("Enabled"));
        assert_eq!(planned["tenant_id"], imported["tenant_id"]);
    }

    fn grant_config(rt: &ResourceType, privileges: Value) -> Map<String, Value> {
        config(
            rt,
            json!({
                "sql_connection": {"host": "pg.example", "port": null, "database": null, "username": "admin@example.com", "ssl_mode": null},
                "role": "app",
                "database": "appdb",
                "object_type": "database",
                "privileges": privileges,
            }),
        )
    }

    #[test]
    fn a_grant_keeps_the_users_spelling_of_privileges_and_fills_the_block_defaults() {
        let (core, rt) = setup("pgentra:index:Grant");
        let cfg = grant_config(&rt, json!(["connect", "CREATE"]));
        let planned = plan_create(&core, &rt, &cfg).unwrap();
        assert_eq!(planned["privileges"], json!(["connect", "CREATE"]));
        assert_eq!(
            planned["sql_connection"],
            json!({"host": "pg.example", "port": 5432, "database": "postgres", "username": "admin@example.com", "ssl_mode": "verify-full"})
        );
        assert_eq!(planned["with_grant_option"], json!(false));
        let mut prior = planned.clone();
        prior.insert("id".into(), json!("some-id"));
        let reordered = grant_config(&rt, json!(["CREATE", "connect"]));
        assert_eq!(
            plan_update(&core, &rt, &prior, &reordered).unwrap(),
            UpdatePlan::NoChange
        );
    }

    #[test]
    fn bad_values_fail_the_plan_at_their_property() {
        let (core, rt) = setup("pgentra:index:FlexibleServer");
        let mut cfg = server_config(&rt);
        cfg.insert("sku_tier".into(), json!("Cheap"));
        let failures = plan_create(&core, &rt, &cfg).unwrap_err();
        assert_eq!(rt.tf_path(&failures[0].property), "sku_tier");
    }

    #[test]
    fn settling_keeps_planned_values_and_fills_unknowns() {
        let (core, rt) = setup("pgentra:index:FlexibleServer");
        let planned = plan_create(&core, &rt, &server_config(&rt)).unwrap();
        let mut actual = planned.clone();
        actual.insert("location".into(), json!("West Europe"));
        actual.insert(
            "fully_qualified_domain_name".into(),
            json!("pg-one.example"),
        );
        actual.insert("state".into(), json!("Ready"));
        actual.insert("id".into(), json!("the-id"));
        let (state, left) = settle(&rt.block, &planned, &actual);
        assert!(left.is_empty(), "{left:?}");
        assert_eq!(state["location"], json!("westeurope"));
        assert_eq!(
            state["fully_qualified_domain_name"],
            json!("pg-one.example")
        );
        assert_eq!(state["id"], json!("the-id"));
        assert!(!state.values().any(contains_unknown));
    }

    #[test]
    fn a_refresh_keeps_the_users_spelling_and_reports_real_drift() {
        let (core, rt) = setup("pgentra:index:FlexibleServer");
        let mut prior = plan_create(&core, &rt, &server_config(&rt)).unwrap();
        prior.insert("location".into(), json!("West Europe"));
        prior.insert("tags".into(), json!({"env": "test"}));
        prior.insert("id".into(), json!("/x"));
        prior.insert("fully_qualified_domain_name".into(), json!("h"));
        prior.insert("state".into(), json!("Ready"));
        let mut azure = rt.props_of(&prior);
        azure.set("location", json!("westeurope"));
        azure.set("tags", json!({"env": "changed-outside"}));
        azure.set("state", json!("Stopped"));
        let found = ReadOutcome {
            id: "/x".into(),
            outputs: azure.clone(),
            inputs: rt.inputs_of(&rt.to_tf_all(&azure)),
        };
        let state = refreshed(&core, &rt, &prior, &found);
        assert_eq!(
            state["location"],
            json!("West Europe"),
            "Azure's spelling of the same place"
        );
        assert_eq!(state["tags"], json!({"env": "changed-outside"}), "drift");
        assert_eq!(state["state"], json!("Stopped"));
        assert_eq!(state["id"], json!("/x"));
    }

    #[test]
    fn a_refresh_keeps_the_users_order_of_privileges() {
        let (core, rt) = setup("pgentra:index:Grant");
        let mut prior =
            plan_create(&core, &rt, &grant_config(&rt, json!(["connect", "CREATE"]))).unwrap();
        prior.insert("id".into(), json!("grant-id"));
        let mut azure = rt.props_of(&prior);
        azure.set("privileges", json!(["CONNECT", "CREATE"]));
        let found = ReadOutcome {
            id: "grant-id".into(),
            outputs: azure.clone(),
            inputs: azure,
        };
        let state = refreshed(&core, &rt, &prior, &found);
        assert_eq!(state["privileges"], json!(["connect", "CREATE"]));
        let mut revoked = rt.props_of(&prior);
        revoked.set("privileges", json!(["CONNECT"]));
        let found = ReadOutcome {
            id: "grant-id".into(),
            outputs: revoked.clone(),
            inputs: revoked,
        };
        assert_eq!(
            refreshed(&core, &rt, &prior, &found)["privileges"],
            json!(["CONNECT"])
        );
    }

    #[test]
    fn stored_json_loses_attributes_the_schema_no_longer_has() {
        let (_, rt) = setup("pgentra:index:Grant");
        let stored =
            json!({"role": "app", "gone": 1, "sql_connection": {"host": "h", "old": true}});
        let value = drop_unknown_attributes(stored, &rt.ty);
        assert_eq!(
            value,
            json!({"role": "app", "sql_connection": {"host": "h"}})
        );
    }
}
