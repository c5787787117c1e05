//! `enable_tenancy`: the seed's "add tenant_id to existing tables" step as one
//! idempotent call, for the application's own tables.

use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use super::rls;
use crate::infra::errors::{raise, required, spi};
use crate::infra::guard::PinnedSearchPath;
use crate::infra::installation;
use crate::infra::spi::run;
use crate::tenants::require_tenant;

/// What `enable_tenancy` finds out about the target before changing anything.
struct TargetTable {
    /// Quoted, schema-qualified name (`regclass::text`), safe to splice into SQL.
    name: String,
    column_type: Option<String>,
    column_not_null: bool,
    has_tenant_foreign_key: bool,
    has_tenant_index: bool,
}

/// Makes `target` tenant-scoped: adds `tenant_id uuid` referencing `tenants`
/// `ON DELETE CASCADE` with an index, fills rows without a tenant with `tenant`,
/// and sets `NOT NULL` once no row is left without one. Returns the actions it
/// took, so a second call returns an empty array. Declared in tenancy.sql with
/// `target regclass`: taken here as its OID, so that one naming no relation
/// (`0::regclass`) gets 42P01 from `inspect_target`, not the XX000 of pgrx
/// opening it as a `PgRelation`.
#[pg_extern(sql = false, volatile, parallel_unsafe)]
fn enable_tenancy(target: Option<pg_sys::Oid>, tenant: Option<pgrx::Uuid>) -> Vec<String> {
    let _search_path = PinnedSearchPath::new();
    let target = required(target, "target");
    let table = inspect_target(target);
    if let Some(tenant) = tenant {
        require_tenant(tenant);
    }
    let tenants = installation::qualified("tenants");
    let mut actions = Vec::new();

    match table.column_type.as_deref() {
        None => {
            run(&format!(
                "ALTER TABLE {} ADD COLUMN tenant_id uuid",
                table.name
            ));
            actions.push("added column tenant_id".to_string());
        }
        Some("uuid") => {}
        Some(other) => raise(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!(
                "enable_tenancy: column tenant_id of {} has type {other}, expected uuid",
                table.name
            ),
        ),
    }
    if let Some(tenant) = tenant {
        let filled = spi(Spi::connect_mut(|client| {
            client
                .update(
                    &format!(
                        "UPDATE {} SET tenant_id = $1 WHERE tenant_id IS NULL",
                        table.name
                    ),
                    None,
                    &[tenant.into()],
                )
                .map(|status| status.len())
        }));
        match filled {
            0 => {}
            1 => actions.push("set tenant_id of 1 row".to_string()),
            _ => actions.push(format!("set tenant_id of {filled} rows")),
        }
    }
    if !table.has_tenant_foreign_key {
        run(&format!(
            "ALTER TABLE {} ADD FOREIGN KEY (tenant_id) REFERENCES {tenants} (id) ON DELETE CASCADE",
            table.name
        ));
        actions.push("added foreign key to tenants".to_string());
    }
    if !table.has_tenant_index {
        run(&format!("CREATE INDEX ON {} (tenant_id)", table.name));
        actions.push("added index on tenant_id".to_string());
    }
    if !table.column_not_null {
        let rows_without_tenant = spi(Spi::get_one::<i64>(&format!(
            "SELECT count(*) FROM {} WHERE tenant_id IS NULL",
            table.name
        )))
        .unwrap_or(0);
        if rows_without_tenant == 0 {
            run(&format!(
                "ALTER TABLE {} ALTER COLUMN tenant_id SET NOT NULL",
                table.name
            ));
            actions.push("set tenant_id NOT NULL".to_string());
        } else {
            ereport!(
                WARNING,
                PgSqlErrorCode::ERRCODE_WARNING,
                format!(
                    "{rows_without_tenant} rows of {} have no tenant_id, so it stays nullable; call enable_tenancy again with a tenant to fill them",
                    table.name
                )
            );
        }
    }
    if rls::isolation_installed() {
        // Every partition too: a partition named directly is not under its parent's policies.
        let tables = spi(Spi::connect(|client| {
            let mut tables = vec![table.name.clone()];
            for row in client.select(
                "SELECT relid::pg_catalog.regclass::text FROM pg_catalog.pg_partition_tree($1::pg_catalog.regclass)
                  WHERE level OPERATOR(pg_catalog.>) 0 ORDER BY level, relid",
                None,
                &[table.name.as_str().into()],
            )? {
                tables.push(row.get::<String>(1)?.unwrap_or_default());
            }
            Ok::<_, pgrx::spi::SpiError>(tables)
        }));
        let isolated = tables
            .iter()
            .filter(|t| rls::isolate(t, "tenant_id"))
            .count();
        if isolated > 0 {
            actions.push("enabled row-level security".to_string());
        }
    }
    actions
}

/// Checks that `target` is an ordinary or partitioned user table other than
/// `tenants`, and reads what is already in place.
fn inspect_target(target: pg_sys::Oid) -> TargetTable {
    let row = spi(Spi::connect(|client| {
        let rows = client.select(
            "SELECT c.oid::pg_catalog.regclass::text, c.relkind::text, n.nspname::text,
                    (SELECT pg_catalog.format_type(a.atttypid, a.atttypmod)
                       FROM pg_catalog.pg_attribute a
                      WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped),
                    COALESCE((SELECT a.attnotnull FROM pg_catalog.pg_attribute a
                               WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped), false),
                    EXISTS (SELECT FROM pg_catalog.pg_constraint k
                              JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
                             WHERE k.conrelid = c.oid AND k.contype = 'f'
                               AND k.confrelid = $2::pg_catalog.regclass
                               AND pg_catalog.array_length(k.conkey, 1) = 1 AND a.attname = 'tenant_id'),
                    EXISTS (SELECT FROM pg_catalog.pg_index i
                              JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                             WHERE i.indrelid = c.oid AND a.attname = 'tenant_id'),
                    c.oid = $2::pg_catalog.regclass
               FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE c.oid = $1",
            None,
            &[target.into(), installation::qualified("tenants").into()],
        )?;
        let mut found = None;
        for row in rows {
            found = Some((
                row.get::<String>(1)?.unwrap_or_default(),
                row.get::<String>(2)?.unwrap_or_default(),
                row.get::<String>(3)?.unwrap_or_default(),
                row.get::<String>(4)?,
                row.get::<bool>(5)?.unwrap_or(false),
                row.get::<bool>(6)?.unwrap_or(false),
                row.get::<bool>(7)?.unwrap_or(false),
                row.get::<bool>(8)?.unwrap_or(false),
            ));
        }
        Ok::<_, pgrx::spi::SpiError>(found)
    }));
    let Some((name, relkind, namespace, column_type, column_not_null, fk, index, is_tenants)) = row
    else {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            format!(
                "enable_tenancy: argument \"target\" names no relation (OID {})",
                target.to_u32()
            ),
        );
    };
    if namespace == "pg_catalog"
        || namespace == "information_schema"
        || namespace.starts_with("pg_toast")
    {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("enable_tenancy: argument \"target\" is the system catalog {name}, not an application table"),
        );
    }
    if relkind != "r" && relkind != "p" {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("enable_tenancy: argument \"target\" is {name}, which is not a table"),
        );
    }
    if is_tenants {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            "enable_tenancy: argument \"target\" is the tenants table itself",
        );
    }
    TargetTable {
        name,
        column_type,
        column_not_null,
        has_tenant_foreign_key: fk,
        has_tenant_index: index,
    }
}
