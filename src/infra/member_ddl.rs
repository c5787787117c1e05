//! The extension's tables refuse changes that `pg_dump` would not keep.
//!
//! `pg_dump` writes `CREATE EXTENSION` for the extension's tables and their rows
//! as data, never their definitions: a column a user adds to `tenants` is not in
//! the dump, so the restore's `COPY` of `tenants` fails on it and every tenant
//! (then every row that references one) is lost. An index, trigger or rule
//! added to such a table vanishes the same way, and a renamed column breaks the
//! extension's own code. So the event trigger `marimo_erp_member_ddl` refuses,
//! before they run, `ALTER TABLE`, `CREATE INDEX`, `CREATE TRIGGER`,
//! `CREATE RULE` and renames on a table that belongs to the extension, with a
//! HINT for the supported way. It lets through what the extension, `pg_dump`
//! and `pg_upgrade` need: extension scripts, binary upgrades, attaching and
//! detaching partitions (the logs' daily partitions are ordinary tables that
//! `pg_dump` keeps), turning triggers off and on (`pg_restore --disable-triggers`),
//! and tuning a restore would only lose (storage parameters, statistics
//! targets), with a WARNING. Policies, grants and comments are not
//! guarded: `pg_dump` keeps the first two, and losing a comment loses no row.

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{PgList, PgSqlErrorCode};
use std::ffi::CStr;

use super::errors::raise_with_hint;
use super::installation;

pgrx::extension_sql_file!("member_ddl.sql", name = "member_ddl");

/// What to tell the user who wants more than the table holds.
const SUPPORTED_WAY: &str = "pg_dump keeps the rows of the extension's tables but not changes to their definitions, so a restore would lose them. Keep extra fields in the table's jsonb column (settings, metadata or config), or in a table of your own keyed by tenant_id (REFERENCES tenants (id) ON DELETE CASCADE; enable_tenancy() makes it tenant-scoped), or ask for the change in a new marimo_erp version.";

/// ALTER TABLE subcommands on an extension table that are let through.
enum Allowed {
    /// The extension, pg_dump and the DBA attach and detach the logs' partitions;
    /// `pg_restore --data-only --disable-triggers` turns triggers off and on.
    Restoring,
    /// Harmless to lose on a restore: said with a WARNING.
    Tuning,
}

fn allowed(subtype: pg_sys::AlterTableType::Type) -> Option<Allowed> {
    use pg_sys::AlterTableType::*;
    #[allow(non_upper_case_globals)]
    match subtype {
        AT_AttachPartition
        | AT_DetachPartition
        | AT_DetachPartitionFinalize
        | AT_EnableTrig
        | AT_EnableAlwaysTrig
        | AT_EnableReplicaTrig
        | AT_DisableTrig
        | AT_EnableTrigAll
        | AT_DisableTrigAll
        | AT_EnableTrigUser
        | AT_DisableTrigUser => Some(Allowed::Restoring),
        AT_SetRelOptions | AT_ResetRelOptions | AT_ReplaceRelOptions | AT_SetStatistics
        | AT_SetOptions | AT_ResetOptions | AT_ClusterOn | AT_DropCluster => Some(Allowed::Tuning),
        _ => None,
    }
}

/// The extension's table that `relation` names, if it names one and the current
/// role could change it: `None` for any other relation and for one that does
/// not exist (the command reports that).
unsafe fn member_table(relation: *mut pg_sys::RangeVar) -> Option<String> {
    if relation.is_null() {
        return None;
    }
    let relid = pg_sys::RangeVarGetRelidExtended(
        relation,
        pg_sys::NoLock as pg_sys::LOCKMODE,
        pg_sys::RVROption::RVR_MISSING_OK,
        None,
        std::ptr::null_mut(),
    );
    if relid == pg_sys::InvalidOid {
        return None;
    }
    let extension = pg_sys::get_extension_oid(c"marimo_erp".as_ptr(), true);
    if extension == pg_sys::InvalidOid
        || pg_sys::getExtensionOfObject(pg_sys::RelationRelationId, relid) != extension
    {
        return None;
    }
    // A role that may not change the table anyway gets PostgreSQL's own
    // "must be owner" (42501), not a HINT about what it could never do.
    if !pg_sys::has_privs_of_role(pg_sys::GetUserId(), installation::owner()) {
        return None;
    }
    Some(
        CStr::from_ptr((*relation).relname)
            .to_string_lossy()
            .into_owned(),
    )
}

fn refuse(what: &str, table: &str) -> ! {
    raise_with_hint(
        PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
        format!("marimo_erp: {what} on table \"{table}\" is refused: the table belongs to the extension marimo_erp"),
        SUPPORTED_WAY,
    )
}

/// Checks one statement about to run (the parse tree of `ddl_command_start`).
unsafe fn check_statement(parsetree: *mut pg_sys::Node) {
    if parsetree.is_null() {
        return;
    }
    match (*parsetree).type_ {
        pg_sys::NodeTag::T_AlterTableStmt => {
            let stmt = parsetree as *mut pg_sys::AlterTableStmt;
            if (*stmt).objtype != pg_sys::ObjectType::OBJECT_TABLE {
                return;
            }
            let Some(table) = member_table((*stmt).relation) else {
                return;
            };
            let cmds = PgList::<pg_sys::AlterTableCmd>::from_pg((*stmt).cmds);
            let mut tuned = false;
            for cmd in cmds.iter_ptr() {
                match allowed((*cmd).subtype) {
                    Some(Allowed::Restoring) => {}
                    Some(Allowed::Tuning) => tuned = true,
                    None => refuse("ALTER TABLE", &table),
                }
            }
            if tuned {
                warning!(
                    "marimo_erp: \"{table}\" belongs to the extension: pg_dump does not keep this setting, set it again after a restore"
                );
            }
        }
        pg_sys::NodeTag::T_IndexStmt => {
            let stmt = parsetree as *mut pg_sys::IndexStmt;
            if let Some(table) = member_table((*stmt).relation) {
                refuse("CREATE INDEX", &table);
            }
        }
        pg_sys::NodeTag::T_CreateTrigStmt => {
            let stmt = parsetree as *mut pg_sys::CreateTrigStmt;
            if let Some(table) = member_table((*stmt).relation) {
                refuse("CREATE TRIGGER", &table);
            }
        }
        pg_sys::NodeTag::T_RuleStmt => {
            let stmt = parsetree as *mut pg_sys::RuleStmt;
            if let Some(table) = member_table((*stmt).relation) {
                refuse("CREATE RULE", &table);
            }
        }
        pg_sys::NodeTag::T_RenameStmt => {
            let stmt = parsetree as *mut pg_sys::RenameStmt;
            let on_table = matches!(
                (*stmt).renameType,
                pg_sys::ObjectType::OBJECT_TABLE
                    | pg_sys::ObjectType::OBJECT_COLUMN
                    | pg_sys::ObjectType::OBJECT_TABCONSTRAINT
            );
            if on_table {
                if let Some(table) = member_table((*stmt).relation) {
                    refuse("a rename", &table);
                }
            }
        }
        _ => {}
    }
}

#[unsafe(no_mangle)]
#[doc(hidden)]
pub extern "C" fn pg_finfo_guard_member_ddl() -> &'static pg_sys::Pg_finfo_record {
    const V1_API: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1_API
}

/// The event trigger function `guard_member_ddl()` (declared in member_ddl.sql:
/// pgrx has no `event_trigger` return type).
///
/// # Safety
/// Called by PostgreSQL's function manager only.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn guard_member_ddl(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    let context = (*fcinfo).context;
    let is_event_trigger =
        !context.is_null() && (*context).type_ == pg_sys::NodeTag::T_EventTriggerData;
    if !is_event_trigger {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
            "marimo_erp: guard_member_ddl() is an event trigger function",
            "It runs on its own before DDL commands; do not call it.",
        );
    }
    // Extension scripts (CREATE and ALTER EXTENSION) and pg_upgrade define the tables.
    if !pg_sys::creating_extension && !pg_sys::IsBinaryUpgrade {
        check_statement((*(context as *mut pg_sys::EventTriggerData)).parsetree);
    }
    pg_sys::Datum::from(0)
}
