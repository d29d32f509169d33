//! A small validator of swagger 2.0 `definitions` ($ref across files, allOf, properties,
//! required, enum, type, items, additionalProperties) and a map from ARM request paths to the
//! request and response schemas the official specs declare for them. The emulator's own tests
//! use it, and so can the provider's: record the ARM exchanges of a run
//! ([`crate::RunningEmulator::arm_exchanges`]) and check each one.

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub struct Specs {
    root: PathBuf,
    files: HashMap<PathBuf, Value>,
    /// (method, template segments, status or "default", file, $ref of the schema)
    routes: Vec<(String, Vec<String>, String, PathBuf, String)>,
    /// (method, template segments, file, body parameter schema)
    requests: Vec<(String, Vec<String>, PathBuf, Value)>,
}

/// Where the official specs live: $PGENTRA_AZURE_SPECS, else `shared/reference/azure` beside the
/// repository checkout this crate was built from.
pub fn specs_dir() -> PathBuf {
    if let Ok(p) = std::env::var("PGENTRA_AZURE_SPECS") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/azure")
}

const SPEC_FILES: &[&str] = &[
    "postgresql/2025-08-01/Servers.json",
    "postgresql/2025-08-01/AdministratorsMicrosoftEntra.json",
    "postgresql/2025-08-01/Configurations.json",
    "postgresql/2025-08-01/Databases.json",
    "postgresql/2025-08-01/FirewallRules.json",
    "msi/2024-11-30/ManagedIdentity.json",
];

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

impl Specs {
    /// Loads the specs from [`specs_dir`].
    pub fn load_default() -> Result<Self, String> {
        Self::load(&specs_dir())
    }

    /// Loads the PostgreSQL 2025-08-01 and MSI 2024-11-30 specs under `root`.
    pub fn load(root: &Path) -> Result<Self, String> {
        if !root.join(SPEC_FILES[0]).exists() {
            return Err(format!(
                "the official Azure specs are not at {} (set PGENTRA_AZURE_SPECS)",
                root.display()
            ));
        }
        let mut s = Specs {
            root: root.to_path_buf(),
            files: HashMap::new(),
            routes: Vec::new(),
            requests: Vec::new(),
        };
        for f in SPEC_FILES {
            let path = normalize(&root.join(f));
            let doc = s.file(&path).clone();
            let paths = doc["paths"]
                .as_object()
                .ok_or_else(|| format!("{f}: no paths"))?;
            for (tpl, ops) in paths {
                let segs: Vec<String> = tpl
                    .split('/')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect();
                let Some(ops) = ops.as_object() else { continue };
                let shared: Vec<Value> = ops
                    .get("parameters")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (method, op) in ops {
                    if method == "parameters" {
                        continue;
                    }
                    let method = method.to_ascii_uppercase();
                    let params = shared.iter().chain(
                        op.get("parameters")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten(),
                    );
                    for p in params.cloned().collect::<Vec<_>>() {
                        let (pfile, param) = match p.get("$ref").and_then(Value::as_str) {
                            Some(r) => s.resolve(&path, r),
                            None => (path.clone(), p),
                        };
                        if param.get("in").and_then(Value::as_str) == Some("body") {
                            if let Some(schema) = param.get("schema") {
                                s.requests.push((
                                    method.clone(),
                                    segs.clone(),
                                    pfile,
                                    schema.clone(),
                                ));
                            }
                        }
                    }
                    let Some(responses) = op.get("responses").and_then(Value::as_object) else {
                        continue;
                    };
                    for (code, r) in responses {
                        if let Some(r) = r
                            .get("schema")
                            .and_then(|x| x.get("$ref"))
                            .and_then(Value::as_str)
                        {
                            s.routes.push((
                                method.clone(),
                                segs.clone(),
                                code.clone(),
                                path.clone(),
                                r.to_string(),
                            ));
                        }
                    }
                }
            }
        }
        Ok(s)
    }

    /// Checks an ARM response body against its spec: None when no stored spec covers the route
    /// (resource groups, the operationResults final bodies), else the problems found.
    pub fn check_response(
        &mut self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Option<Vec<String>> {
        let path = path.split('?').next().unwrap_or("");
        if path.to_ascii_lowercase().contains("/azureasyncoperation/") {
            return Some(self.validate_common("OperationStatusResult", body));
        }
        match self.response_schema(method, path, status) {
            Some((file, r)) => Some(self.validate_ref(&file, &r, body)),
            None if status >= 400 => Some(self.validate_common("ErrorResponse", body)),
            None => None,
        }
    }

    /// Checks an ARM request body against the body parameter of its operation; None when the
    /// route or its body is not in the stored specs.
    pub fn check_request(&mut self, method: &str, path: &str, body: &Value) -> Option<Vec<String>> {
        let path = path.split('?').next().unwrap_or("");
        let segs: Vec<&str> = path.split('/').filter(|x| !x.is_empty()).collect();
        let found = best_match(
            self.requests
                .iter()
                .filter(|r| r.0 == method)
                .map(|r| (&r.1, r))
                .collect(),
            &segs,
        )
        .into_iter()
        .next()
        .map(|r| (r.2.clone(), r.3.clone()))?;
        let mut errs = Vec::new();
        self.check(&found.0, &found.1, body, "$", &mut errs);
        Some(errs)
    }

    fn file(&mut self, path: &Path) -> &Value {
        let path = normalize(path);
        if !self.files.contains_key(&path) {
            // A file the local copy does not hold (e.g. privatelinks.json) validates nothing.
            let doc = match std::fs::read_to_string(&path) {
                Ok(text) => serde_json::from_str(&text)
                    .unwrap_or_else(|_| Value::Object(Default::default())),
                Err(_) => Value::Object(Default::default()),
            };
            self.files.insert(path.clone(), doc);
        }
        &self.files[&path]
    }

    /// Maps a $ref's file part to the local copy: the specs are stored flattened, and the MSI
    /// spec's common-types v4 is served by the stored v6 (the shapes used agree).
    fn locate(&self, base: &Path, file: &str) -> PathBuf {
        if file.is_empty() {
            return base.to_path_buf();
        }
        if let Some(i) = file.find("common-types/resource-management/") {
            let name = file[i..].rsplit('/').next().unwrap_or("types.json");
            return self
                .root
                .join("common-types/resource-management/v6")
                .join(name);
        }
        if file.ends_with("types/common-types.json") {
            return self.root.join("postgresql/types/common-types.json");
        }
        normalize(&base.parent().unwrap_or(Path::new("/")).join(file))
    }

    /// Resolves a $ref relative to `base` into (file, schema).
    fn resolve(&mut self, base: &Path, r: &str) -> (PathBuf, Value) {
        let (file, pointer) = r.split_once('#').unwrap_or((r, ""));
        let path = normalize(&self.locate(base, file));
        let doc = self.file(&path).clone();
        let schema = if doc.as_object().is_some_and(|o| o.is_empty()) {
            Value::Object(Default::default())
        } else {
            // An unresolvable $ref validates nothing rather than failing the run.
            doc.pointer(pointer)
                .cloned()
                .unwrap_or_else(|| Value::Object(Default::default()))
        };
        (path, schema)
    }

    /// The schema declared for this response, if the specs cover the route.
    pub fn response_schema(
        &self,
        method: &str,
        path: &str,
        status: u16,
    ) -> Option<(PathBuf, String)> {
        let segs: Vec<&str> = path
            .split('?')
            .next()
            .unwrap_or("")
            .split('/')
            .filter(|x| !x.is_empty())
            .collect();
        let code = status.to_string();
        let best = best_match(
            self.routes
                .iter()
                .filter(|r| r.0 == method)
                .map(|r| (&r.1, r))
                .collect(),
            &segs,
        );
        best.iter()
            .find(|c| c.2 == code)
            .or_else(|| {
                if status >= 400 {
                    best.iter().find(|c| c.2 == "default")
                } else {
                    None
                }
            })
            .map(|c| (c.3.clone(), c.4.clone()))
    }

    /// Validates `value` against the `$ref` found in `file`; returns the problems found.
    pub fn validate_ref(&mut self, file: &Path, r: &str, value: &Value) -> Vec<String> {
        let (f, schema) = self.resolve(file, r);
        let mut errs = Vec::new();
        self.check(&f, &schema, value, "$", &mut errs);
        errs
    }

    /// Validates against a named definition of the common types v6 file.
    pub fn validate_common(&mut self, definition: &str, value: &Value) -> Vec<String> {
        let file = normalize(
            &self
                .root
                .join("common-types/resource-management/v6/types.json"),
        );
        self.validate_ref(&file, &format!("#/definitions/{definition}"), value)
    }

    fn check(&mut self, file: &Path, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let (f, s) = self.resolve(file, r);
            return self.check(&f, &s, v, at, errs);
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all.clone() {
                self.check(file, &s, v, at, errs);
            }
        }
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            let ok = match t {
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                "array" => v.is_array(),
                "object" => v.is_object(),
                _ => true,
            };
            if !ok {
                errs.push(format!("{at}: expected {t}, got {v}"));
                return;
            }
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            let extensible = schema
                .pointer("/x-ms-enum/modelAsString")
                .and_then(Value::as_bool)
                == Some(true);
            if !e.contains(v) && !extensible {
                errs.push(format!("{at}: {v} is not one of {e:?}"));
            } else if !e.contains(v) && v.as_str().is_some_and(|s| !s.is_empty()) {
                // modelAsString enums may grow; flag values we made up anyway.
                errs.push(format!("{at}: {v} is not one of the known values {e:?}"));
            }
        }
        if let Some(obj) = v.as_object() {
            if let Some(req) = schema.get("required").and_then(Value::as_array) {
                for r in req.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(r) {
                        errs.push(format!("{at}: required property '{r}' is missing"));
                    }
                }
            }
            let props = schema
                .get("properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (k, sub) in &props {
                if let Some(x) = obj.get(k) {
                    self.check(file, sub, x, &format!("{at}.{k}"), errs);
                }
            }
            if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for (k, x) in obj.iter().filter(|(k, _)| !props.contains_key(*k)) {
                    self.check(file, &ap.clone(), x, &format!("{at}.{k}"), errs);
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
            for (i, x) in arr.iter().enumerate() {
                self.check(file, &items.clone(), x, &format!("{at}[{i}]"), errs);
            }
        }
    }
}

/// The candidates whose template matches `segs` with the most literal segments (a `{param}`
/// segment matches anything; literals compare case-insensitively).
fn best_match<'a, T>(candidates: Vec<(&'a Vec<String>, &'a T)>, segs: &[&str]) -> Vec<&'a T> {
    let matching: Vec<_> = candidates
        .into_iter()
        .filter(|(tpl, _)| {
            tpl.len() == segs.len()
                && tpl
                    .iter()
                    .zip(segs)
                    .all(|(t, s)| t.starts_with('{') || t.eq_ignore_ascii_case(s))
        })
        .collect();
    let literals = |tpl: &Vec<String>| tpl.iter().filter(|t| !t.starts_with('{')).count();
    let Some(best) = matching.iter().map(|(t, _)| literals(t)).max() else {
        return Vec::new();
    };
    matching
        .into_iter()
        .filter(|(t, _)| literals(t) == best)
        .map(|(_, x)| x)
        .collect()
}
