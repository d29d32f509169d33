//! The server parameters (ARM `configurations`) of an emulated server: every setting of the
//! backend PostgreSQL's own `pg_settings` (its type, range, enum values, and whether a change
//! needs a restart), plus the parameters only Azure has (`azure.extensions`,
//! `require_secure_transport`, `pgbouncer.enabled`, ...), which win over a backend setting of the
//! same name (Azure restricts `shared_preload_libraries` to its own list).

use crate::pg::backend::BackendSetting;

/// ConfigurationDataType of the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DataType {
    Boolean,
    Integer,
    Numeric,
    Enumeration,
    String,
    Set,
}

impl DataType {
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Boolean => "Boolean",
            DataType::Integer => "Integer",
            DataType::Numeric => "Numeric",
            DataType::Enumeration => "Enumeration",
            DataType::String => "String",
            DataType::Set => "Set",
        }
    }

    /// Azure's name for a `pg_settings.vartype`.
    fn of_vartype(vartype: &str) -> Self {
        match vartype {
            "bool" => DataType::Boolean,
            "integer" => DataType::Integer,
            "real" => DataType::Numeric,
            "enum" => DataType::Enumeration,
            _ => DataType::String,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Param {
    pub name: String,
    pub default: String,
    pub data_type: DataType,
    /// As Azure shows it: `on,off`, `lo-hi`, the enum or set members comma-separated, or a
    /// pattern for strings.
    pub allowed: String,
    /// Numeric bounds (Integer, Numeric).
    range: Option<(f64, f64)>,
    /// A change applies without a restart.
    pub dynamic: bool,
    /// No change is possible (`internal` settings such as block_size).
    pub read_only: bool,
    pub unit: Option<String>,
    pub description: String,
}

/// The parameters only Azure has (or whose allowed values Azure restricts):
/// (name, default, type, allowed, dynamic, description).
const AZURE_PARAMETERS: &[(&str, &str, DataType, &str, bool, &str)] = &[
    ("azure.extensions", "", DataType::Set,
     "address_standardizer,address_standardizer_data_us,amcheck,btree_gin,btree_gist,citext,cube,dblink,dict_int,earthdistance,fuzzystrmatch,hstore,intarray,isn,lo,ltree,pg_buffercache,pg_cron,pg_partman,pg_prewarm,pg_stat_statements,pg_trgm,pgaudit,pgcrypto,pgrowlocks,pgstattuple,plpgsql,postgis,postgres_fdw,tablefunc,unaccent,uuid-ossp,vector",
     true, "Specifies which extensions are allowed to be created in the server."),
    ("shared_preload_libraries", "pg_cron,pg_stat_statements", DataType::Set,
     "auto_explain,azure_storage,pg_cron,pg_failover_slots,pg_hint_plan,pg_partman_bgw,pg_prewarm,pg_squeeze,pg_stat_statements,pgaudit,pglogical,timescaledb,wal2json",
     false, "Sets which shared libraries are preloaded at server start."),
    ("require_secure_transport", "on", DataType::Boolean, "on,off", true,
     "Whether client connections to the server are required to use some form of secure transport."),
    ("azure.accepted_password_auth_method", "md5,scram-sha-256", DataType::Set, "md5,scram-sha-256", true,
     "Password authentication methods the server accepts."),
    ("pgbouncer.enabled", "false", DataType::Boolean, "true,false", true,
     "Denotes whether the PgBouncer service is enabled."),
    ("pgbouncer.default_pool_size", "50", DataType::Integer, "1-4950", true,
     "How many server connections to allow per user/database pair."),
    ("pgbouncer.pool_mode", "transaction", DataType::Enumeration, "session,transaction,statement", true,
     "Specifies when a server connection can be reused by other clients."),
    ("metrics.collector_database_activity", "off", DataType::Boolean, "on,off", true,
     "Enables the collection of database and activity metrics."),
    ("pgaudit.log", "none", DataType::Set, "none,read,write,function,role,ddl,misc,all", true,
     "Specifies which classes of statements will be logged by session audit logging."),
    ("cron.database_name", "postgres", DataType::String, "[A-Za-z0-9_]+", false,
     "Sets the database in which pg_cron metadata is kept."),
];

/// Every parameter of a server, sorted by name.
#[derive(Clone, Debug, Default)]
pub(crate) struct Catalogue {
    params: Vec<Param>,
}

impl Catalogue {
    /// Azure's own parameters, and the backend's `settings` (none when the backend is unknown).
    pub fn new(settings: &[BackendSetting]) -> Self {
        let mut params: Vec<Param> = AZURE_PARAMETERS
            .iter()
            .map(
                |&(name, default, data_type, allowed, dynamic, description)| Param {
                    name: name.into(),
                    default: default.into(),
                    data_type,
                    allowed: allowed.into(),
                    range: bounds(allowed),
                    dynamic,
                    read_only: false,
                    unit: None,
                    description: description.into(),
                },
            )
            .collect();
        for s in settings {
            if !params.iter().any(|p| p.name.eq_ignore_ascii_case(&s.name)) {
                params.push(Param::from_setting(s));
            }
        }
        params.sort_by(|a, b| a.name.cmp(&b.name));
        Self { params }
    }

    pub fn find(&self, name: &str) -> Option<&Param> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.params.iter()
    }
}

/// `lo-hi` (either may be negative) as numbers.
fn bounds(allowed: &str) -> Option<(f64, f64)> {
    let split = allowed.get(1..)?.find('-')? + 1;
    let lo = allowed[..split].parse().ok()?;
    let hi = allowed[split + 1..].parse().ok()?;
    Some((lo, hi))
}

impl Param {
    fn from_setting(s: &BackendSetting) -> Self {
        let data_type = DataType::of_vartype(&s.vartype);
        let allowed = match data_type {
            DataType::Boolean => "on,off".to_string(),
            DataType::Integer | DataType::Numeric => format!("{}-{}", s.min, s.max),
            DataType::Enumeration => s.enum_values.join(","),
            // Any text (PostgreSQL checks the rest when the value is used).
            _ => ".*".to_string(),
        };
        let unit = match s.unit.as_str() {
            "" => None,
            // Azure writes kilobytes as KB.
            u => Some(u.replace("kB", "KB")),
        };
        Param {
            name: s.name.clone(),
            default: s.default.clone(),
            data_type,
            range: bounds(&allowed)
                .filter(|_| matches!(data_type, DataType::Integer | DataType::Numeric)),
            allowed,
            dynamic: !matches!(s.context.as_str(), "postmaster" | "internal"),
            read_only: s.context == "internal",
            unit,
            description: s.description.clone(),
        }
    }

    /// Whether `value` is acceptable for this parameter.
    pub fn accepts(&self, value: &str) -> bool {
        let v = value.trim();
        let members = || self.allowed.split(',').map(str::trim);
        match self.data_type {
            DataType::Set => {
                v.is_empty()
                    || v.split(',')
                        .all(|x| members().any(|a| a.eq_ignore_ascii_case(x.trim())))
            }
            DataType::Boolean => matches!(
                v.to_ascii_lowercase().as_str(),
                "on" | "off" | "true" | "false"
            ),
            DataType::Enumeration => members().any(|a| a.eq_ignore_ascii_case(v)),
            DataType::Integer => v.parse::<i64>().is_ok_and(|n| {
                self.range
                    .is_none_or(|(lo, hi)| (lo..=hi).contains(&(n as f64)))
            }),
            DataType::Numeric => v.parse::<f64>().is_ok_and(|n| {
                n.is_finite() && self.range.is_none_or(|(lo, hi)| (lo..=hi).contains(&n))
            }),
            DataType::String if self.allowed == ".*" => true,
            // Azure's own strings: a non-empty name.
            DataType::String => {
                !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(
        name: &str,
        vartype: &str,
        min: &str,
        max: &str,
        enums: &[&str],
        context: &str,
    ) -> BackendSetting {
        BackendSetting {
            name: name.into(),
            default: "x".into(),
            vartype: vartype.into(),
            min: min.into(),
            max: max.into(),
            enum_values: enums.iter().map(|e| e.to_string()).collect(),
            context: context.into(),
            unit: "kB".into(),
            description: String::new(),
        }
    }

    #[test]
    fn backend_settings_become_azure_parameters() {
        let c = Catalogue::new(&[
            setting(
                "log_min_duration_statement",
                "integer",
                "-1",
                "2147483647",
                &[],
                "superuser",
            ),
            setting(
                "constraint_exclusion",
                "enum",
                "",
                "",
                &["partition", "on", "off"],
                "user",
            ),
            setting(
                "shared_buffers",
                "integer",
                "16",
                "1073741823",
                &[],
                "postmaster",
            ),
            setting("block_size", "integer", "8192", "8192", &[], "internal"),
            setting("random_page_cost", "real", "0", "1.79769e+308", &[], "user"),
            setting(
                "shared_preload_libraries",
                "string",
                "",
                "",
                &[],
                "postmaster",
            ),
        ]);
        let p = c.find("log_min_duration_statement").unwrap();
        assert_eq!(
            (p.data_type, p.allowed.as_str(), p.unit.as_deref()),
            (DataType::Integer, "-1-2147483647", Some("KB"))
        );
        assert!(p.accepts("-1") && p.accepts("250") && !p.accepts("-2") && !p.accepts("x"));
        let p = c.find("constraint_exclusion").unwrap();
        assert_eq!(
            (p.data_type, p.allowed.as_str(), p.dynamic),
            (DataType::Enumeration, "partition,on,off", true)
        );
        assert!(p.accepts("on") && !p.accepts("sometimes"));
        assert!(!c.find("shared_buffers").unwrap().dynamic);
        assert!(c.find("block_size").unwrap().read_only);
        assert!(c.find("random_page_cost").unwrap().accepts("1.1"));
        // Azure's own list wins over the backend's free string.
        let p = c.find("shared_preload_libraries").unwrap();
        assert_eq!(p.data_type, DataType::Set);
        assert!(!p.accepts("not_a_library"));
    }

    #[test]
    fn sets_accept_only_listed_members() {
        let c = Catalogue::new(&[]);
        let p = c.find("azure.extensions").unwrap();
        assert!(p.accepts("vector,pgcrypto") && p.accepts("") && !p.accepts("vector,evil"));
    }
}
