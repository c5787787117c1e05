//! Side channels (0.10.0): what an application role (a member of marimo_app that
//! is neither marimo_admin, nor a superuser, nor BYPASSRLS) cannot read around
//! row-level security, and what it cannot leave behind for the next client of a
//! pooled connection.
//!
//! - `EXPLAIN ANALYZE` is refused (42501): with the planner forced onto an index
//!   that does not lead with `tenant_id`, a range qual becomes the Index Cond and
//!   the tenant policy a Filter, so `Rows Removed by Filter` counts other tenants'
//!   rows in any range, and walking prefixes recovers their values.
//! - Plain `EXPLAIN` runs with `COSTS OFF`: the estimates come from statistics
//!   over every tenant's rows (the histogram bounds are values), which
//!   `pg_stats` hides from these roles.
//! - `DECLARE ... WITH HOLD` is refused: a held cursor is filled at commit, while
//!   the tenant is still set, and outlives the transaction and its context.
//! - `CREATE TEMP TABLE`, `CREATE TEMP TABLE AS`, `SELECT INTO TEMP` and temporary
//!   sequences are refused while a tenant is set, unless the table is
//!   `ON COMMIT DROP` or `ON COMMIT DELETE ROWS`, so no tenant's rows outlive
//!   its transaction there. A table an application makes before it sets a
//!   tenant, and fills under one, is not caught (README says so): refusing
//!   those would refuse every temporary table of an application role.
//!
//! The hooks are installed when the library loads. Unless it is preloaded
//! (`shared_preload_libraries` or `session_preload_libraries`), it loads at the
//! first call of one of its functions in the session, which for an application
//! role is at the latest the first tenant policy planned or run (the planner may
//! evaluate `current_tenant()` to estimate it; the executor looks it up when it
//! starts). So a
//! statement that began before the library loaded passed no ProcessUtility hook.
//! Two guards close that gap: during the statement that loaded the library, an
//! `ExecutorEnd` hook refuses any EXPLAIN of an application role that the
//! ProcessUtility hook did not see, before its output is sent (EXPLAIN prints
//! after `ExecutorEnd`; only that statement, so that instrumented queries of
//! auto_explain are never taken for one later); and the first `set_tenant()` of
//! an application role in a session refuses while a held cursor from before the
//! library loaded is open.

use std::cell::Cell;
use std::ffi::{c_char, CStr};

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use super::access::{caller, Caller};
use super::context::{check_before_set_tenant, current_tenant};
use crate::infra::errors::raise_with_hint;
use crate::infra::spi::read_value;

static mut PREVIOUS_PROCESS_UTILITY: pg_sys::ProcessUtility_hook_type = None;
static mut PREVIOUS_EXECUTOR_END: pg_sys::ExecutorEnd_hook_type = None;

thread_local! {
    /// How many EXPLAINs the ProcessUtility hook let through are running.
    static VETTED_EXPLAINS: Cell<u32> = const { Cell::new(0) };
    /// Whether an application role's set_tenant() found no held cursor from
    /// before the library loaded (checked once per session).
    static NO_CURSOR_FROM_BEFORE: Cell<bool> = const { Cell::new(false) };
    /// The start of the statement during which the library loaded, when it
    /// loaded inside a transaction (a function call, not a preload).
    static LOADED_DURING: Cell<Option<pg_sys::TimestampTz>> = const { Cell::new(None) };
}

/// Installs the hooks (from _PG_init, once per backend), chaining the previous ones.
pub fn install_hooks() {
    unsafe {
        PREVIOUS_PROCESS_UTILITY = pg_sys::ProcessUtility_hook;
        pg_sys::ProcessUtility_hook = Some(process_utility);
        PREVIOUS_EXECUTOR_END = pg_sys::ExecutorEnd_hook;
        pg_sys::ExecutorEnd_hook = Some(executor_end);
    }
    let in_transaction = unsafe { pg_sys::IsTransactionState() };
    let statement = in_transaction.then(|| unsafe { pg_sys::GetCurrentStatementStartTimestamp() });
    LOADED_DURING.with(|l| l.set(statement));
    check_before_set_tenant(refuse_cursors_from_before_load);
}

/// Whether this statement is the one during which the library loaded.
fn in_loading_statement() -> bool {
    LOADED_DURING
        .with(|l| l.get())
        .is_some_and(|at| at == unsafe { pg_sys::GetCurrentStatementStartTimestamp() })
}

fn is_application() -> bool {
    caller() == Caller::Application
}

/// Counts a vetted EXPLAIN while it runs, also when it fails.
struct VettedExplain;

impl VettedExplain {
    fn enter() -> Self {
        VETTED_EXPLAINS.with(|n| n.set(n.get() + 1));
        VettedExplain
    }
}

impl Drop for VettedExplain {
    fn drop(&mut self) {
        VETTED_EXPLAINS.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// The elements of a pointer List.
unsafe fn list_elements(list: *mut pg_sys::List) -> Vec<*mut std::ffi::c_void> {
    if list.is_null() {
        return Vec::new();
    }
    (0..(*list).length as usize)
        .map(|i| (*(*list).elements.add(i)).ptr_value)
        .collect()
}

unsafe fn defname_is(option: *mut pg_sys::DefElem, name: &CStr) -> bool {
    !(*option).defname.is_null() && CStr::from_ptr((*option).defname) == name
}

/// Whether the EXPLAIN options ask for ANALYZE (read as EXPLAIN reads them).
unsafe fn explain_analyzes(explain: *mut pg_sys::ExplainStmt) -> bool {
    list_elements((*explain).options)
        .into_iter()
        .map(|option| option as *mut pg_sys::DefElem)
        .filter(|option| defname_is(*option, c"analyze"))
        .fold(false, |_, option| pg_sys::defGetBoolean(option))
}

/// The EXPLAIN options with COSTS OFF in place of any COSTS option.
unsafe fn without_costs(options: *mut pg_sys::List) -> *mut pg_sys::List {
    let mut kept: *mut pg_sys::List = std::ptr::null_mut();
    for option in list_elements(options) {
        if !defname_is(option as *mut pg_sys::DefElem, c"costs") {
            kept = pg_sys::lappend(kept, option);
        }
    }
    let off = pg_sys::makeString(pg_sys::pstrdup(c"off".as_ptr()));
    let costs = pg_sys::makeDefElem(pg_sys::pstrdup(c"costs".as_ptr()), off.cast(), -1);
    pg_sys::lappend(kept, costs.cast())
}

/// Whether a relation created under this name is temporary (explicitly, by its
/// schema pg_temp, or because pg_temp leads the search_path).
unsafe fn creates_temporary(relation: *mut pg_sys::RangeVar) -> bool {
    if relation.is_null() {
        return false;
    }
    if (*relation).relpersistence as u8 == pg_sys::RELPERSISTENCE_TEMP {
        return true;
    }
    // As CREATE will resolve it (and with the same errors).
    pg_sys::isTempNamespace(pg_sys::RangeVarGetCreationNamespace(relation))
}

fn refuse_temporary(what: &str, hint: &str) -> ! {
    raise_with_hint(
        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!("{what} is not allowed for an application role while a tenant is set"),
        hint,
    )
}

/// Refuses what an application role may not do with a temporary table that
/// keeps its rows across commits.
unsafe fn check_temporary_table(
    relation: *mut pg_sys::RangeVar,
    on_commit: pg_sys::OnCommitAction::Type,
    what: &str,
) {
    let ends_with_transaction = on_commit == pg_sys::OnCommitAction::ONCOMMIT_DROP
        || on_commit == pg_sys::OnCommitAction::ONCOMMIT_DELETE_ROWS;
    if !ends_with_transaction
        && is_application()
        && current_tenant().is_some()
        && creates_temporary(relation)
    {
        refuse_temporary(
            what,
            "A temporary table would keep the tenant's rows after its transaction, for the next client of the connection. \
             Create it with ON COMMIT DROP (or ON COMMIT DELETE ROWS).",
        );
    }
}

/// Checks a utility statement of an application role; returns the statement
/// to run (EXPLAIN gets COSTS OFF) and whether it is a vetted EXPLAIN.
unsafe fn vet(pstmt: *mut pg_sys::PlannedStmt) -> (*mut pg_sys::PlannedStmt, bool) {
    let statement = (*pstmt).utilityStmt;
    if statement.is_null() {
        return (pstmt, false);
    }
    match (*statement).type_ {
        pg_sys::NodeTag::T_ExplainStmt => {
            if !is_application() {
                return (pstmt, false);
            }
            let explain = statement as *mut pg_sys::ExplainStmt;
            if explain_analyzes(explain) {
                raise_with_hint(
                    PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                    "EXPLAIN ANALYZE is not allowed for an application role",
                    "Its row counts include rows of other tenants that row-level security filters out. \
                     Run EXPLAIN without ANALYZE, or EXPLAIN ANALYZE as an operator (marimo_admin).",
                );
            }
            // A copy: the tree may be cached (a prepared or PL/pgSQL statement).
            let copy = pg_sys::copyObjectImpl(pstmt.cast()) as *mut pg_sys::PlannedStmt;
            let explain = (*copy).utilityStmt as *mut pg_sys::ExplainStmt;
            (*explain).options = without_costs((*explain).options);
            (copy, true)
        }
        pg_sys::NodeTag::T_DeclareCursorStmt => {
            let cursor = statement as *mut pg_sys::DeclareCursorStmt;
            if ((*cursor).options as u32 & pg_sys::CURSOR_OPT_HOLD) != 0 && is_application() {
                raise_with_hint(
                    PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                    "DECLARE ... WITH HOLD is not allowed for an application role",
                    "A held cursor keeps the tenant's rows after its transaction, for the next client of the connection. \
                     Declare it WITHOUT HOLD, inside the transaction that sets the tenant.",
                );
            }
            (pstmt, false)
        }
        pg_sys::NodeTag::T_CreateStmt => {
            let create = statement as *mut pg_sys::CreateStmt;
            check_temporary_table((*create).relation, (*create).oncommit, "CREATE TEMP TABLE");
            (pstmt, false)
        }
        pg_sys::NodeTag::T_CreateTableAsStmt => {
            let create = statement as *mut pg_sys::CreateTableAsStmt;
            let into = (*create).into;
            if !into.is_null() && (*create).objtype == pg_sys::ObjectType::OBJECT_TABLE {
                check_temporary_table((*into).rel, (*into).onCommit, "CREATE TEMP TABLE AS");
            }
            (pstmt, false)
        }
        pg_sys::NodeTag::T_CreateSeqStmt => {
            let create = statement as *mut pg_sys::CreateSeqStmt;
            if is_application()
                && current_tenant().is_some()
                && creates_temporary((*create).sequence)
            {
                refuse_temporary(
                    "CREATE TEMP SEQUENCE",
                    "A temporary sequence would keep a value of the tenant after its transaction, for the next client of the connection.",
                );
            }
            (pstmt, false)
        }
        _ => (pstmt, false),
    }
}

#[pg_guard]
#[allow(clippy::too_many_arguments)]
unsafe extern "C-unwind" fn process_utility(
    pstmt: *mut pg_sys::PlannedStmt,
    query_string: *const c_char,
    read_only_tree: bool,
    context: pg_sys::ProcessUtilityContext::Type,
    params: pg_sys::ParamListInfo,
    query_env: *mut pg_sys::QueryEnvironment,
    dest: *mut pg_sys::DestReceiver,
    qc: *mut pg_sys::QueryCompletion,
) {
    let (pstmt, vetted) = vet(pstmt);
    let _vetted = vetted.then(VettedExplain::enter);
    match PREVIOUS_PROCESS_UTILITY {
        Some(previous) => pg_sys::ffi::pg_guard_ffi_boundary(|| {
            previous(
                pstmt,
                query_string,
                read_only_tree,
                context,
                params,
                query_env,
                dest,
                qc,
            )
        }),
        None => pg_sys::standard_ProcessUtility(
            pstmt,
            query_string,
            read_only_tree,
            context,
            params,
            query_env,
            dest,
            qc,
        ),
    }
}

/// Whether a query ending here is the plan of an EXPLAIN: EXPLAIN alone
/// (explain-only), or EXPLAIN ANALYZE (instrumented, its rows sent nowhere).
unsafe fn is_explain(query: *mut pg_sys::QueryDesc) -> bool {
    let estate = (*query).estate;
    if !estate.is_null() && ((*estate).es_top_eflags as u32 & pg_sys::EXEC_FLAG_EXPLAIN_ONLY) != 0 {
        return true;
    }
    if (*query).instrument_options == 0 || (*query).dest.is_null() {
        return false;
    }
    let dest = (*(*query).dest).mydest;
    #[cfg(any(feature = "pg17", feature = "pg18"))]
    if dest == pg_sys::CommandDest::DestExplainSerialize {
        return true;
    }
    dest == pg_sys::CommandDest::DestNone
}

#[pg_guard]
unsafe extern "C-unwind" fn executor_end(query: *mut pg_sys::QueryDesc) {
    // Read before the executor state is freed; EXPLAIN prints after this.
    let refuse = VETTED_EXPLAINS.with(|n| n.get()) == 0
        && in_loading_statement()
        && is_explain(query)
        && is_application();
    match PREVIOUS_EXECUTOR_END {
        Some(previous) => pg_sys::ffi::pg_guard_ffi_boundary(|| previous(query)),
        None => pg_sys::standard_ExecutorEnd(query),
    }
    if refuse {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "EXPLAIN of an application role began before marimo_erp was loaded in this session",
            "Repeat the statement: marimo_erp is loaded now, and EXPLAIN runs without ANALYZE and without costs \
             for application roles. Preloading marimo_erp (session_preload_libraries) avoids this.",
        );
    }
}

/// For set_tenant(): refuses, once per session for an application role, while a
/// cursor WITH HOLD is open that was declared before the library loaded (the
/// hook refuses any later one): it would be filled at commit under the tenant.
fn refuse_cursors_from_before_load() {
    if NO_CURSOR_FROM_BEFORE.with(|c| c.get()) || !is_application() {
        return;
    }
    const HELD_CURSOR: &str = "SELECT EXISTS (SELECT FROM pg_catalog.pg_cursors WHERE is_holdable)";
    if read_value::<bool>(HELD_CURSOR, &[]).unwrap_or(false) {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "a cursor WITH HOLD is open in this session",
            "A held cursor would keep the tenant's rows after its transaction. CLOSE it (or CLOSE ALL) before set_tenant().",
        );
    }
    NO_CURSOR_FROM_BEFORE.with(|c| c.set(true));
}
