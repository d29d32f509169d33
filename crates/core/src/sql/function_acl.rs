//! What a role holds on the functions a Grant names when some carry argument types: each
//! overload found by `to_regprocedure` (a plain name: every overload of it), read in one query
//! of the Grant's own. The shared schema scans of [`crate::sql::catalog_snapshot`] know
//! functions by name only, so a Read of a signature Grant asks here.

use crate::sql::grant::{object_sql, ObjectType, PUBLIC};
use crate::sql::introspect::FUNCTION_KINDS;
use crate::sql::pool::Session;
use crate::sql::quote::{ident, literal, QuoteError};
use crate::sql::session::SqlError;
use std::collections::{BTreeMap, BTreeSet};

/// The query: rows of (object as named, overload OID, privilege, grantable) for `role`; an
/// overload where the role holds nothing comes once with NULLs, a named function that does not
/// exist not at all. Every value is a literal from [`crate::sql::quote`].
pub fn held_sql(role: &str, schema: &str, names: &[String]) -> Result<String, QuoteError> {
    let grantee = if role == PUBLIC {
        "a.grantee = 0".to_owned()
    } else {
        format!(
            "a.grantee = pg_catalog.to_regrole({})",
            literal(&ident(role)?)?
        )
    };
    let kinds = FUNCTION_KINDS
        .iter()
        .map(|k| literal(k))
        .collect::<Result<Vec<_>, _>>()?
        .join(", ");
    let namespace = format!("pg_catalog.to_regnamespace({})", literal(&ident(schema)?)?);
    let named = names
        .iter()
        .map(|name| {
            let object = literal(name)?;
            Ok(if name.contains('(') {
                let signature = literal(&object_sql(ObjectType::Function, schema, name)?)?;
                format!("SELECT {object}::text, pg_catalog.to_regprocedure({signature})::oid")
            } else {
                format!(
                    "SELECT {object}::text, p.oid FROM pg_catalog.pg_proc p \
                     WHERE p.pronamespace = {namespace} AND p.proname = {object}"
                )
            })
        })
        .collect::<Result<Vec<_>, QuoteError>>()?;
    Ok(format!(
        "SELECT w.object, p.oid::bigint, x.privilege_type, x.is_grantable \
         FROM ({}) w(object, oid) \
         JOIN pg_catalog.pg_proc p ON p.oid = w.oid AND p.prokind IN ({kinds}) \
         LEFT JOIN LATERAL (SELECT a.privilege_type, a.is_grantable \
           FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a WHERE {grantee}) x ON true",
        named.join(" UNION ALL ")
    ))
}

/// The privileges `role` holds on every overload `names` name in `schema` (with the grant
/// option when `grantable`): a named function that does not exist holds nothing.
pub async fn privileges_held(
    session: &Session,
    role: &str,
    schema: &str,
    names: &[String],
    grantable: bool,
) -> Result<BTreeSet<String>, SqlError> {
    let sql = held_sql(role, schema, names)?;
    let rows = session.query(&sql, &[]).await?;
    // Object as named -> overload -> privileges held there.
    let mut held: BTreeMap<String, BTreeMap<i64, BTreeSet<String>>> = BTreeMap::new();
    for row in rows {
        let privileges = held
            .entry(row.get(0))
            .or_default()
            .entry(row.get(1))
            .or_default();
        let privilege: Option<String> = row.get(2);
        let with_option: Option<bool> = row.get(3);
        if let Some(privilege) = privilege {
            if !grantable || with_option == Some(true) {
                privileges.insert(privilege);
            }
        }
    }
    let mut every: Option<BTreeSet<String>> = None;
    for name in names {
        let overloads = held.remove(name).unwrap_or_default();
        let mut on_object: Option<BTreeSet<String>> = None;
        for privileges in overloads.into_values() {
            on_object = Some(match on_object {
                None => privileges,
                Some(so_far) => so_far.intersection(&privileges).cloned().collect(),
            });
        }
        let on_object = on_object.unwrap_or_default();
        every = Some(match every {
            None => on_object,
            Some(so_far) => so_far.intersection(&on_object).cloned().collect(),
        });
    }
    Ok(every.unwrap_or_default())
}
