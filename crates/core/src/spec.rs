//! The one description of every resource, type and function.
//!
//! A [`ResourceSpec`] is all pgentra knows about a resource's shape: its properties with their
//! types, docs, secret flags, defaults, allowed values, rules and replace-on-change marks.
//! Check, Diff, planned outputs, the Pulumi schema and the Terraform schema are all derived
//! from it, so they cannot drift apart. Names are written once, in Pulumi's camelCase; the
//! Terraform name follows by one rule ([`crate::names`]) unless the property names an
//! exception.

use crate::props::{contains_unknown, Props};
use serde_json::{json, Map, Value};

/// A per-property rule: `Err` carries what is allowed, phrased for the user.
pub type Rule = fn(&Value) -> Result<(), String>;

#[derive(Debug, Clone, Copy)]
pub enum Type {
    String,
    Integer,
    Number,
    Boolean,
    Array(&'static Type),
    /// A map from string keys to values of the given type.
    Map(&'static Type),
    Object(&'static ObjectType),
}

#[derive(Debug)]
pub struct ObjectType {
    pub token: &'static str,
    pub doc: &'static str,
    pub properties: &'static [Property],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Input {
        required: bool,
    },
    /// Output only. `stable` outputs keep their value across updates (an FQDN, a principal id),
    /// so a preview of an update can show them instead of "unknown".
    Output {
        stable: bool,
    },
}

#[derive(Debug, Clone, Copy)]
pub enum Default {
    Str(&'static str),
    Int(i64),
    Bool(bool),
    StrList(&'static [&'static str]),
}

impl Default {
    pub fn to_json(self) -> Value {
        match self {
            Default::Str(s) => json!(s),
            Default::Int(i) => json!(i),
            Default::Bool(b) => json!(b),
            Default::StrList(items) => json!(items),
        }
    }
}

/// A value the provider computes for an input when the program leaves it to it, beside a
/// plain [`Default`]. Terraform needs to know: such an attribute is optional+computed there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Computed {
    /// The program's value, as written.
    No,
    /// Derived from other inputs when absent (a server's skuTier from its skuName).
    Derived,
    /// Put in a canonical form (privileges upper-cased, deduplicated, sorted): the protocol
    /// may keep the program's spelling when the canonical forms agree.
    Normalised,
}

#[derive(Debug, Clone, Copy)]
pub struct Property {
    pub name: &'static str,
    pub ty: Type,
    pub doc: &'static str,
    pub role: Role,
    pub secret: bool,
    /// Azure or PostgreSQL cannot change this in place: a change replaces the resource.
    pub replace: bool,
    /// Once set, Azure keeps it: setting it later is in place, dropping it from the program
    /// changes nothing, and only changing it to another value replaces (a server's
    /// administratorLogin).
    pub sticky: bool,
    pub default: Option<Default>,
    /// Whether the provider derives or normalises the value (see [`Computed`]).
    pub computed: Computed,
    /// The Terraform name when the rule in [`crate::names`] does not give it (a name that
    /// Terraform reserves, such as `connection`).
    pub terraform_name: Option<&'static str>,
    /// For strings: the only values accepted (compared exactly).
    pub allowed: &'static [&'static str],
    /// The name the SDKs give the closed set `allowed` (an enum type), when the property's own
    /// name in PascalCase is not it: two properties named alike may hold different sets.
    pub enum_name: Option<&'static str>,
    pub rule: Option<Rule>,
    /// Provider config only: environment variables read when the value is not set.
    pub env: &'static [&'static str],
    /// For strings (and the strings in its lists and maps): the most bytes accepted. Names have
    /// tighter limits in their rules (Azure's, PostgreSQL's 63 bytes); this bounds the rest.
    pub max_bytes: usize,
}

/// The longest string any property accepts unless it says otherwise ([`Property::max_bytes`]):
/// longer than every Azure name, URL or ID and every PostgreSQL name pgentra takes.
pub const MAX_STRING_BYTES: usize = 2048;

/// The largest whole number accepted: 2^53 - 1, the largest every wire carries exactly.
pub const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A value echoed in a refusal: quoted, and cut to its first 60 characters with its length
/// in bytes when longer, so a megabyte value is never sent back.
pub fn shown(text: &str) -> String {
    const SHOWN_CHARS: usize = 60;
    match text.char_indices().nth(SHOWN_CHARS) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &text[..cut], text.len()),
    }
}

/// A refusal's reason with every long string of `value` echoed in it cut as [`shown`] cuts
/// it, and the whole reason bounded too (rules quote the value they refuse).
pub fn bounded_reason(reason: String, value: &Value) -> String {
    const MAX_REASON_BYTES: usize = 1024;
    let mut reason = reason;
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::String(s) if s.chars().nth(60).is_some() => {
                let quoted = format!("{s:?}");
                if reason.contains(&quoted) {
                    reason = reason.replace(&quoted, &shown(s));
                }
            }
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.values()),
            _ => {}
        }
    }
    if reason.len() > MAX_REASON_BYTES {
        let mut cut = MAX_REASON_BYTES;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason = format!("{}… ({} bytes)", &reason[..cut], reason.len());
    }
    reason
}

impl Property {
    pub const fn input(name: &'static str, ty: Type, doc: &'static str) -> Self {
        Self {
            name,
            ty,
            doc,
            role: Role::Input { required: false },
            secret: false,
            replace: false,
            sticky: false,
            default: None,
            computed: Computed::No,
            terraform_name: None,
            allowed: &[],
            enum_name: None,
            rule: None,
            env: &[],
            max_bytes: MAX_STRING_BYTES,
        }
    }
    pub const fn output(name: &'static str, ty: Type, doc: &'static str) -> Self {
        Self {
            role: Role::Output { stable: true },
            ..Self::input(name, ty, doc)
        }
    }
    pub const fn required(self) -> Self {
        Self {
            role: Role::Input { required: true },
            ..self
        }
    }
    /// An output that may differ after every update (a state, a pending-restart flag).
    pub const fn volatile(self) -> Self {
        Self {
            role: Role::Output { stable: false },
            ..self
        }
    }
    pub const fn secret(self) -> Self {
        Self {
            secret: true,
            ..self
        }
    }
    pub const fn replace(self) -> Self {
        Self {
            replace: true,
            ..self
        }
    }
    /// See [`Property::sticky`]: replaces only when changed from one value to another.
    pub const fn sticky(self) -> Self {
        Self {
            replace: true,
            sticky: true,
            ..self
        }
    }
    pub const fn default(self, value: Default) -> Self {
        Self {
            default: Some(value),
            ..self
        }
    }
    /// See [`Computed::Derived`].
    pub const fn derived(self) -> Self {
        Self {
            computed: Computed::Derived,
            ..self
        }
    }
    /// See [`Computed::Normalised`].
    pub const fn normalised(self) -> Self {
        Self {
            computed: Computed::Normalised,
            ..self
        }
    }
    /// Names the property in Terraform where the rule cannot (see [`Property::terraform_name`]).
    pub const fn terraform_name(self, name: &'static str) -> Self {
        Self {
            terraform_name: Some(name),
            ..self
        }
    }
    pub const fn one_of(self, allowed: &'static [&'static str]) -> Self {
        Self { allowed, ..self }
    }
    /// Names the closed set of [`Property::one_of`] (see [`Property::enum_name`]).
    pub const fn enum_name(self, name: &'static str) -> Self {
        Self {
            enum_name: Some(name),
            ..self
        }
    }
    /// The name of the enum type of a closed set: [`Property::enum_name`], else the property's
    /// name in PascalCase (`sslMode` is `SslMode`). None when the values are open.
    pub fn enum_type_name(&self) -> Option<String> {
        if self.allowed.is_empty() {
            return None;
        }
        Some(match self.enum_name {
            Some(name) => name.to_owned(),
            None => {
                let mut chars = self.name.chars();
                chars
                    .next()
                    .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            }
        })
    }
    pub const fn rule(self, rule: Rule) -> Self {
        Self {
            rule: Some(rule),
            ..self
        }
    }
    pub const fn env(self, env: &'static [&'static str]) -> Self {
        Self { env, ..self }
    }
    /// Raises (or lowers) [`MAX_STRING_BYTES`] for this property (a file path: 4096).
    pub const fn max_bytes(self, max_bytes: usize) -> Self {
        Self { max_bytes, ..self }
    }
    pub fn is_input(&self) -> bool {
        matches!(self.role, Role::Input { .. })
    }
    pub fn is_required(&self) -> bool {
        matches!(self.role, Role::Input { required: true })
    }
    /// The name in Terraform: the exception when there is one, else the snake_case rule.
    pub fn tf_name(&self) -> String {
        match self.terraform_name {
            Some(name) => name.to_owned(),
            None => crate::names::snake_case(self.name),
        }
    }
    /// An input the provider may fill in when the program leaves it out.
    pub fn is_provider_filled(&self) -> bool {
        self.is_input() && (self.default.is_some() || self.computed == Computed::Derived)
    }
}

/// How a replacement is ordered.
#[derive(Debug, Clone, Copy)]
pub enum Replacement {
    /// Create the new one first, unless the properties that make up the ID stay the same:
    /// then the two cannot coexist and the old one is deleted first. Paths may be dotted
    /// (`connection.host`).
    DeleteFirstWhenSameId(&'static [&'static str]),
    /// Always delete first (a Grant: the old one's REVOKE would undo the new one's GRANT).
    AlwaysDeleteFirst,
}

/// A name the provider picks when the user gives none: `<resource name>-<suffix>`.
#[derive(Debug, Clone, Copy)]
pub struct AutoName {
    pub property: &'static str,
    pub max_len: usize,
    pub lowercase: bool,
}

#[derive(Debug)]
pub struct ResourceSpec {
    pub token: &'static str,
    pub doc: &'static str,
    pub properties: &'static [Property],
    pub replacement: Replacement,
    pub autoname: Option<AutoName>,
}

#[derive(Debug)]
pub struct FunctionSpec {
    pub token: &'static str,
    pub doc: &'static str,
    pub inputs: &'static [Property],
    pub outputs: &'static [Property],
}

impl ResourceSpec {
    /// The short type name: `FlexibleServer` for `pgentra:index:FlexibleServer`.
    pub fn name(&self) -> &'static str {
        self.token.rsplit(':').next().unwrap_or(self.token)
    }
    pub fn property(&self, name: &str) -> Option<&'static Property> {
        self.properties.iter().find(|p| p.name == name)
    }
    pub fn inputs(&self) -> impl Iterator<Item = &'static Property> {
        self.properties.iter().filter(|p| p.is_input())
    }
    pub fn outputs_only(&self) -> impl Iterator<Item = &'static Property> {
        self.properties.iter().filter(|p| !p.is_input())
    }
    /// The Terraform resource type: `pgentra_flexible_server`.
    pub fn tf_type_name(&self) -> String {
        format!("pgentra_{}", crate::names::snake_case(self.name()))
    }
    /// The property the provider names when the program does not (Pulumi's auto-naming);
    /// protocols without auto-naming require it.
    pub fn is_auto_named(&self, property: &str) -> bool {
        self.autoname.is_some_and(|rule| rule.property == property)
    }
}

// ---------------------------------------------------------------------------------------------
// Check

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    pub property: String,
    pub reason: String,
}

impl CheckFailure {
    pub fn new(property: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            property: property.into(),
            reason: reason.into(),
        }
    }
}

/// Validates `news` against the property list, fills defaults, and returns the checked values.
/// Unknown values pass unchecked (they are checked again when known).
pub fn check_properties(
    properties: &'static [Property],
    news: &Map<String, Value>,
    path: &str,
    failures: &mut Vec<CheckFailure>,
) -> Map<String, Value> {
    let mut checked = Map::new();
    for (key, value) in news {
        if properties.iter().any(|p| p.name == key && p.is_input()) {
            continue;
        }
        let names: Vec<&str> = properties
            .iter()
            .filter(|p| p.is_input())
            .map(|p| p.name)
            .collect();
        failures.push(CheckFailure::new(
            join_path(path, key),
            format!("unknown property; the properties are: {}", names.join(", ")),
        ));
        let _ = value;
    }
    for property in properties.iter().filter(|p| p.is_input()) {
        let at = join_path(path, property.name);
        match news.get(property.name).filter(|v| !v.is_null()) {
            None => {
                if let Some(default) = property.default {
                    checked.insert(property.name.to_owned(), default.to_json());
                } else if property.is_required() {
                    failures.push(CheckFailure::new(
                        &at,
                        format!(
                            "missing required property: {}",
                            property.doc_first_sentence()
                        ),
                    ));
                }
            }
            Some(value) => {
                if !contains_unknown(value)
                    || matches!(property.ty, Type::Object(_) | Type::Array(_) | Type::Map(_))
                {
                    let value = check_value(property, &property.ty, value, &at, failures);
                    checked.insert(property.name.to_owned(), value);
                } else {
                    checked.insert(property.name.to_owned(), value.clone());
                }
            }
        }
    }
    checked
}

fn check_value(
    property: &Property,
    ty: &Type,
    value: &Value,
    at: &str,
    failures: &mut Vec<CheckFailure>,
) -> Value {
    // A whole value not known yet (a list or object computed from another resource) is
    // checked when it is known.
    if value.as_str() == Some(crate::props::UNKNOWN) {
        return value.clone();
    }
    if contains_unknown(value) && !matches!(ty, Type::Object(_) | Type::Array(_) | Type::Map(_)) {
        return value.clone();
    }
    if let Some(expected) = type_mismatch(ty, value) {
        failures.push(CheckFailure::new(
            at,
            format!("expected {expected}, got {}", describe(value)),
        ));
        return value.clone();
    }
    if let Some(reason) = beyond_limits(property, ty, value) {
        failures.push(CheckFailure::new(at, reason));
        return value.clone();
    }
    let value = match (ty, value) {
        (Type::Object(object), Value::Object(map)) => {
            Value::Object(check_properties(object.properties, map, at, failures))
        }
        (Type::Array(item), Value::Array(items)) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    check_value(
                        &Property {
                            rule: None,
                            allowed: &[],
                            ..*property
                        },
                        item,
                        v,
                        &format!("{at}[{i}]"),
                        failures,
                    )
                })
                .collect(),
        ),
        (Type::Map(item), Value::Object(map)) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        check_value(
                            &Property {
                                rule: None,
                                allowed: &[],
                                ..*property
                            },
                            item,
                            v,
                            &format!("{at}[\"{k}\"]"),
                            failures,
                        ),
                    )
                })
                .collect(),
        ),
        _ => value.clone(),
    };
    if contains_unknown(&value) {
        return value;
    }
    if !property.allowed.is_empty() {
        if let Some(s) = value.as_str() {
            if !property.allowed.contains(&s) {
                // A rule that refuses the value says why (sslMode's `require`); else the list.
                let reason = match property.rule.map(|rule| rule(&value)) {
                    Some(Err(reason)) => bounded_reason(reason, &value),
                    _ => format!(
                        "{} is not allowed; use one of: {}",
                        shown(s),
                        property.allowed.join(", ")
                    ),
                };
                failures.push(CheckFailure::new(at, reason));
                return value;
            }
        }
    }
    if let Some(rule) = property.rule {
        if let Err(reason) = rule(&value) {
            failures.push(CheckFailure::new(at, bounded_reason(reason, &value)));
        }
    }
    value
}

/// What no property accepts whatever its rule: NUL characters (PostgreSQL refuses them, C
/// strings end at them), strings or map keys past the property's byte limit, and whole
/// numbers beyond what the wires carry exactly.
fn beyond_limits(property: &Property, ty: &Type, value: &Value) -> Option<String> {
    let text = |s: &str| {
        if s.contains('\0') {
            return Some(format!(
                "{} contains a NUL character, which neither Azure nor PostgreSQL accepts",
                shown(s)
            ));
        }
        (s.len() > property.max_bytes).then(|| {
            format!(
                "{} is too long: at most {} bytes are accepted",
                shown(s),
                property.max_bytes
            )
        })
    };
    match (ty, value) {
        (Type::String, Value::String(s)) => text(s),
        (Type::Map(_), Value::Object(map)) => map.keys().find_map(|k| text(k)),
        (Type::Integer, Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.abs() > MAX_SAFE_INTEGER)
            .map(|_| format!("{n} is out of range: use a whole number between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}")),
        _ => None,
    }
}

fn type_mismatch(ty: &Type, value: &Value) -> Option<&'static str> {
    let ok = match ty {
        Type::String => value.is_string(),
        Type::Integer => value.as_f64().is_some_and(|f| f.fract() == 0.0),
        Type::Number => value.is_number(),
        Type::Boolean => value.is_boolean(),
        Type::Array(_) => value.is_array(),
        Type::Map(_) | Type::Object(_) => value.is_object(),
    };
    (!ok).then(|| match ty {
        Type::String => "a string",
        Type::Integer => "a whole number",
        Type::Number => "a number",
        Type::Boolean => "true or false",
        Type::Array(_) => "a list",
        Type::Map(_) => "a map of names to values",
        Type::Object(_) => "an object",
    })
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("the string {}", shown(s)),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("{b}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
        Value::Null => "null".into(),
    }
}

pub fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Property {
    fn doc_first_sentence(&self) -> &'static str {
        let end = self.doc.find(". ").map(|i| i + 1).unwrap_or(self.doc.len());
        &self.doc[..end]
    }
}

// ---------------------------------------------------------------------------------------------
// Diff

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Add,
    Delete,
    Update,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyChange {
    /// A property path: `tags`, `connection.host`.
    pub path: String,
    pub kind: ChangeKind,
    pub replace: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffOutcome {
    pub changes: Vec<PropertyChange>,
    pub delete_before_replace: bool,
}

impl DiffOutcome {
    pub fn replaces(&self) -> bool {
        self.changes.iter().any(|c| c.replace)
    }
    /// Top-level names of the changed properties, each once, in order.
    pub fn changed_properties(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for change in &self.changes {
            let top = change
                .path
                .split(['.', '['])
                .next()
                .unwrap_or(&change.path)
                .to_owned();
            if !names.contains(&top) {
                names.push(top);
            }
        }
        names
    }
    pub fn replaced_properties(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for change in self.changes.iter().filter(|c| c.replace) {
            let top = change
                .path
                .split(['.', '['])
                .next()
                .unwrap_or(&change.path)
                .to_owned();
            if !names.contains(&top) {
                names.push(top);
            }
        }
        names
    }
}

/// Compares old inputs with new checked inputs. A value that is not known yet counts as a
/// possible change (and a possible replacement where the property forces one).
pub fn diff_inputs(spec: &ResourceSpec, olds: &Props, news: &Props) -> DiffOutcome {
    let mut changes = Vec::new();
    diff_properties(
        spec.properties,
        &olds.values,
        &news.values,
        "",
        &mut changes,
    );
    let delete_before_replace = changes.iter().any(|c| c.replace)
        && match spec.replacement {
            Replacement::AlwaysDeleteFirst => true,
            Replacement::DeleteFirstWhenSameId(id_paths) => id_paths.iter().all(|path| {
                let autonamed = news.is_provider_chosen(path);
                let new = lookup(&news.values, path);
                !autonamed
                    && new.is_some_and(|v| !contains_unknown(v))
                    && new == lookup(&olds.values, path)
            }),
        };
    DiffOutcome {
        changes,
        delete_before_replace,
    }
}

fn diff_properties(
    properties: &'static [Property],
    olds: &Map<String, Value>,
    news: &Map<String, Value>,
    path: &str,
    changes: &mut Vec<PropertyChange>,
) {
    for property in properties.iter().filter(|p| p.is_input()) {
        let at = join_path(path, property.name);
        let old = olds.get(property.name).filter(|v| !v.is_null());
        let new = news.get(property.name).filter(|v| !v.is_null());
        let kind = match (old, new) {
            (None, None) => continue,
            (Some(_), None) if property.sticky => continue,
            (None, Some(_)) if property.sticky => {
                changes.push(PropertyChange {
                    path: at,
                    kind: ChangeKind::Add,
                    replace: false,
                });
                continue;
            }
            (Some(o), Some(n)) if o == n && !contains_unknown(n) => continue,
            (Some(Value::Object(o)), Some(Value::Object(n)))
                if matches!(property.ty, Type::Object(_)) =>
            {
                if let Type::Object(object) = property.ty {
                    diff_properties(object.properties, o, n, &at, changes);
                }
                continue;
            }
            (None, Some(_)) => ChangeKind::Add,
            (Some(_), None) => ChangeKind::Delete,
            (Some(_), Some(_)) => ChangeKind::Update,
        };
        // A whole object not known yet may change any of its replace-on-change members.
        let replace = property.replace
            || (new.is_some_and(contains_unknown)
                && matches!(property.ty, Type::Object(o) if o.properties.iter().any(|p| p.replace)));
        changes.push(PropertyChange {
            path: at,
            kind,
            replace,
        });
    }
}

/// The value at a dotted property path, `None` when absent or null.
fn lookup<'a>(values: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut current = values.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    (!current.is_null()).then_some(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static ITEM: Type = Type::String;
    static LIST: &[Property] = &[Property::input("items", Type::Array(&ITEM), "Items.")
        .required()
        .rule(non_empty)];

    fn non_empty(value: &Value) -> Result<(), String> {
        match value.as_array() {
            Some(items) if items.is_empty() => Err("give at least one item".into()),
            _ => Ok(()),
        }
    }

    #[test]
    fn a_whole_list_not_known_yet_passes_until_it_is_known() {
        let mut failures = vec![];
        let news = json!({"items": crate::props::UNKNOWN});
        let checked = check_properties(LIST, news.as_object().unwrap(), "", &mut failures);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(checked["items"], json!(crate::props::UNKNOWN));
        let news = json!({"items": []});
        check_properties(LIST, news.as_object().unwrap(), "", &mut failures);
        assert_eq!(
            failures,
            [CheckFailure::new("items", "give at least one item")]
        );
    }

    #[test]
    fn an_unknown_property_name_lists_the_real_ones() {
        let mut failures = vec![];
        let news = json!({"items": ["a"], "itemz": 1});
        check_properties(LIST, news.as_object().unwrap(), "", &mut failures);
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].property, "itemz");
        assert!(failures[0].reason.contains("items"));
    }

    static STICKY: ResourceSpec = ResourceSpec {
        token: "test:index:Sticky",
        doc: "",
        properties: &[Property::input("login", Type::String, "Login.").sticky()],
        replacement: Replacement::AlwaysDeleteFirst,
        autoname: None,
    };

    #[test]
    fn a_sticky_property_replaces_only_when_changed_to_another_value() {
        let props = |v: Value| Props::from_json(v);
        let removed = diff_inputs(
            &STICKY,
            &props(json!({"login": "pgadmin"})),
            &props(json!({})),
        );
        assert!(
            removed.changes.is_empty(),
            "dropping it from the program changes nothing"
        );
        let set_later = diff_inputs(
            &STICKY,
            &props(json!({})),
            &props(json!({"login": "pgadmin"})),
        );
        assert_eq!(set_later.changes.len(), 1);
        assert!(!set_later.replaces(), "setting it later is in place");
        let changed = diff_inputs(
            &STICKY,
            &props(json!({"login": "pgadmin"})),
            &props(json!({"login": "other"})),
        );
        assert!(changed.replaces());
    }
}
