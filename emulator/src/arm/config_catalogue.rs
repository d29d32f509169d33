//! The server parameters the emulator knows: a small fixed catalogue with types, defaults,
//! allowed values and whether a change needs a restart.

pub(crate) struct Param {
    pub name: &'static str,
    pub default: &'static str,
    pub data_type: &'static str,
    pub allowed: &'static str,
    pub dynamic: bool,
    pub unit: Option<&'static str>,
    pub description: &'static str,
}

pub(crate) const CATALOGUE: &[Param] = &[
    Param {
        name: "azure.extensions",
        default: "",
        data_type: "Set",
        allowed: "address_standardizer,address_standardizer_data_us,amcheck,btree_gin,btree_gist,citext,cube,dblink,dict_int,earthdistance,fuzzystrmatch,hstore,intarray,isn,lo,ltree,pg_buffercache,pg_cron,pg_partman,pg_prewarm,pg_stat_statements,pg_trgm,pgaudit,pgcrypto,pgrowlocks,pgstattuple,plpgsql,postgis,postgres_fdw,tablefunc,unaccent,uuid-ossp,vector",
        dynamic: true,
        unit: None,
        description: "Specifies which extensions are allowed to be created in the server.",
    },
    Param {
        name: "shared_preload_libraries",
        default: "pg_cron,pg_stat_statements",
        data_type: "Set",
        allowed: "auto_explain,azure_storage,pg_cron,pg_failover_slots,pg_hint_plan,pg_partman_bgw,pg_prewarm,pg_squeeze,pg_stat_statements,pgaudit,pglogical,timescaledb,wal2json",
        dynamic: false,
        unit: None,
        description: "Sets which shared libraries are preloaded at server start.",
    },
    Param {
        name: "max_connections",
        default: "859",
        data_type: "Integer",
        allowed: "25-5000",
        dynamic: false,
        unit: None,
        description: "Sets the maximum number of concurrent connections to the database server.",
    },
    Param {
        name: "work_mem",
        default: "4096",
        data_type: "Integer",
        allowed: "4096-2097151",
        dynamic: true,
        unit: Some("KB"),
        description: "Sets the amount of memory to be used by internal sort operations and hash tables before writing to temporary disk files.",
    },
    Param {
        name: "log_min_duration_statement",
        default: "-1",
        data_type: "Integer",
        allowed: "-1-2147483647",
        dynamic: true,
        unit: Some("ms"),
        description: "Sets the minimum execution time above which all statements will be logged.",
    },
    Param {
        name: "require_secure_transport",
        default: "on",
        data_type: "Boolean",
        allowed: "on,off",
        dynamic: true,
        unit: None,
        description: "Whether client connections to the server are required to use some form of secure transport.",
    },
    Param {
        name: "password_encryption",
        default: "scram-sha-256",
        data_type: "Enumeration",
        allowed: "md5,scram-sha-256",
        dynamic: true,
        unit: None,
        description: "Chooses the algorithm for encrypting passwords.",
    },
    Param {
        name: "log_connections",
        default: "on",
        data_type: "Boolean",
        allowed: "on,off",
        dynamic: true,
        unit: None,
        description: "Logs each successful connection.",
    },
    Param {
        name: "log_disconnections",
        default: "off",
        data_type: "Boolean",
        allowed: "on,off",
        dynamic: true,
        unit: None,
        description: "Logs end of a session, including duration.",
    },
    Param {
        name: "pgaudit.log",
        default: "none",
        data_type: "Set",
        allowed: "none,read,write,function,role,ddl,misc,all",
        dynamic: true,
        unit: None,
        description: "Specifies which classes of statements will be logged by session audit logging.",
    },
    Param {
        name: "cron.database_name",
        default: "postgres",
        data_type: "String",
        allowed: "[A-Za-z0-9_]+",
        dynamic: false,
        unit: None,
        description: "Sets the database in which pg_cron metadata is kept.",
    },
    Param {
        name: "timezone",
        default: "UTC",
        data_type: "String",
        allowed: "[A-Za-z0-9/_+-]+",
        dynamic: true,
        unit: None,
        description: "Sets the time zone for displaying and interpreting time stamps.",
    },
];

pub(crate) fn find(name: &str) -> Option<&'static Param> {
    CATALOGUE.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

impl Param {
    /// Whether `value` is acceptable for this parameter.
    pub fn accepts(&self, value: &str) -> bool {
        let v = value.trim();
        match self.data_type {
            "Set" => {
                let allowed: Vec<&str> = self.allowed.split(',').collect();
                v.is_empty()
                    || v.split(',')
                        .all(|x| allowed.iter().any(|a| a.eq_ignore_ascii_case(x.trim())))
            }
            "Boolean" => matches!(
                v.to_ascii_lowercase().as_str(),
                "on" | "off" | "true" | "false"
            ),
            "Enumeration" => self.allowed.split(',').any(|a| a.eq_ignore_ascii_case(v)),
            "Integer" => {
                let Ok(n) = v.parse::<i64>() else {
                    return false;
                };
                // "lo-hi" where lo may be negative: split at the first '-' after position 0.
                let split = self.allowed[1..].find('-').map(|i| i + 1);
                match split {
                    Some(i) => {
                        let lo = self.allowed[..i].parse::<i64>().unwrap_or(i64::MIN);
                        let hi = self.allowed[i + 1..].parse::<i64>().unwrap_or(i64::MAX);
                        (lo..=hi).contains(&n)
                    }
                    None => true,
                }
            }
            // Strings: any non-empty value made of the characters the pattern names.
            _ => {
                !v.is_empty()
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_ranges_with_negative_lower_bound() {
        let p = find("log_min_duration_statement").unwrap();
        assert!(p.accepts("-1") && p.accepts("250") && !p.accepts("-2") && !p.accepts("x"));
    }

    #[test]
    fn sets_accept_only_listed_members() {
        let p = find("azure.extensions").unwrap();
        assert!(p.accepts("vector,pgcrypto") && p.accepts("") && !p.accepts("vector,evil"));
    }
}
