//! A backend-local cache of what a tenant's limits depend on, exact under every
//! snapshot.
//!
//! `check_tenant_limit` with a value given needs one row of `tenants`. Reading
//! it through SPI costs a statement per call; this cache keeps the inputs of
//! the rules (status, trial end, whether the subscription counts, the limits)
//! per tenant, with the row version they were read from: the relation's file
//! (`relfilenode`), the version's `ctid` and its raw `xmin`.
//!
//! Why it is exact: an entry is never trusted because nothing invalidated it,
//! but because the version it was read from is, at this call, the one a plain
//! `SELECT` of `tenants` would see. At every use the version at `ctid` is
//! fetched and tested against the calling statement's snapshot (`heap_fetch`,
//! the same visibility test a scan applies). Under one snapshot at most one
//! version of a row is visible, so a visible version with the same `xmin` is
//! the version the entry holds; any committed change (UPDATE, DELETE) by any
//! session makes it invisible to every later snapshot, so the next call
//! reloads; a change rolled back was never visible to anyone else, and is
//! invisible to its own session after the rollback; a REPEATABLE READ
//! snapshot that predates a change still sees the old version, and an entry
//! loaded from a newer version is invisible to it, so it reloads what it sees.
//! Reloading under an older snapshot therefore cannot leave a stale entry: the
//! next snapshot tests it again. (PostgreSQL's PL/pgSQL keeps compiled
//! functions the same way, by `xmin` and `ctid` of their `pg_proc` row, in
//! pl_comp.c; the idea is theirs, the code is ours.)
//!
//! `ctid` alone could point at another row after VACUUM FULL, CLUSTER or
//! TRUNCATE, which write a new file: the entry also names the file. In one
//! file, a line pointer is reused only after its version is dead to every
//! transaction, and a new version there has another `xmin` (the inserting
//! transaction of the old one has ended). One exception: a second TRUNCATE in
//! the transaction that gave the table its file empties that file in place,
//! so while the file is new in this transaction the cache is not used.
//!
//! What the cache does not decide: who may read. An entry belongs to the user
//! that loaded it, and is used only while that user has SELECT on `tenants`
//! and either row-level security does not apply to it, or it is an application
//! caller, whose only policy on `tenants` (`id = current_tenant()`) the caller
//! has already proved through `authorize_tenant`. Anyone else reads through SQL.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::prelude::*;
use pgrx::Uuid;

/// The inputs of `check_tenant_limit`'s rules for one tenant, as `tenants` holds them.
pub struct TenantLimits {
    pub status: String,
    /// `trial_ends_at` in microseconds since 2000-01-01 UTC, as `now()` is compared.
    pub trial_ends_at: Option<i64>,
    /// Whether the subscription is `active` or `past_due`, which lets a tenant past its trial go on.
    pub subscription_counts: bool,
    pub max_users: i64,
    pub max_storage_bytes: i64,
    /// The keys of `tenants.limits` with their values clamped to bigint, sorted by key.
    pub configured: Vec<(String, i64)>,
}

impl TenantLimits {
    /// Whether the trial is over without a subscription that counts, at `now()`.
    pub fn trial_over_without_subscription(&self) -> bool {
        let now = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
        !self.subscription_counts && self.trial_ends_at.is_some_and(|ends| ends < now)
    }

    /// The value of `limit_type` in `tenants.limits`, if it is a key there.
    pub fn configured(&self, limit_type: &str) -> Option<i64> {
        self.configured
            .binary_search_by(|(key, _)| key.as_str().cmp(limit_type))
            .ok()
            .map(|found| self.configured[found].1)
    }
}

/// The row version an entry was read from.
#[derive(Clone, Copy)]
pub struct RowVersion {
    pub relation: pg_sys::Oid,
    pub file: pg_sys::Oid,
    pub ctid: pg_sys::ItemPointerData,
    pub xmin: pg_sys::TransactionId,
}

struct Entry {
    version: RowVersion,
    limits: Rc<TenantLimits>,
}

/// Entries per backend before the cache starts again empty: a backend serving
/// many tenants and users keeps a bounded amount of memory.
const MOST_ENTRIES: usize = 4096;

thread_local! {
    /// This backend's entries, by tenant and the user that loaded them.
    static ENTRIES: RefCell<HashMap<([u8; 16], pg_sys::Oid), Entry>> = RefCell::new(HashMap::new());
}

fn key_of(tenant: Uuid) -> ([u8; 16], pg_sys::Oid) {
    (*tenant.as_bytes(), unsafe { pg_sys::GetUserId() })
}

/// The cached limits of `tenant` when the version they came from is the one
/// the calling statement's snapshot sees, and the caller may use the cache.
pub fn lookup(tenant: Uuid, application_caller: bool) -> Option<Rc<TenantLimits>> {
    let (version, limits) = ENTRIES.with(|entries| {
        entries
            .borrow()
            .get(&key_of(tenant))
            .map(|entry| (entry.version, Rc::clone(&entry.limits)))
    })?;
    (may_use_cache(version.relation, application_caller) && is_visible_now(&version))
        .then_some(limits)
}

/// Keeps what was read from `version` for the next calls.
pub fn store(tenant: Uuid, version: RowVersion, limits: Rc<TenantLimits>) {
    let file_may_be_reused = unsafe {
        let relation = pg_sys::try_table_open(version.relation, pg_sys::AccessShareLock as _);
        if relation.is_null() {
            return;
        }
        let new = file_is_new_in_this_transaction(relation);
        pg_sys::table_close(relation, pg_sys::NoLock as _);
        new
    };
    if file_may_be_reused {
        return;
    }
    ENTRIES.with(|entries| {
        let mut entries = entries.borrow_mut();
        if entries.len() >= MOST_ENTRIES {
            entries.clear();
        }
        entries.insert(key_of(tenant), Entry { version, limits });
    });
}

/// The cache is for users with SELECT on the whole table, to whom row-level
/// security does not apply, or for application callers (see the module comment).
fn may_use_cache(relation: pg_sys::Oid, application_caller: bool) -> bool {
    let user = unsafe { pg_sys::GetUserId() };
    let may_select = unsafe {
        let mut missing = false;
        pg_sys::pg_class_aclcheck_ext(relation, user, pg_sys::ACL_SELECT as _, &mut missing)
            == pg_sys::AclResult::ACLCHECK_OK
            && !missing
    };
    if !may_select {
        return false;
    }
    let rls = unsafe { pg_sys::check_enable_rls(relation, pg_sys::InvalidOid, true) };
    rls != pg_sys::CheckEnableRlsResult::RLS_ENABLED as i32 || application_caller
}

/// Whether `version` is the version of its row that the active snapshot sees.
fn is_visible_now(version: &RowVersion) -> bool {
    unsafe {
        if !pg_sys::ActiveSnapshotSet() {
            return false;
        }
        // The relation may be gone (the extension dropped): then no entry holds.
        let relation = pg_sys::try_table_open(version.relation, pg_sys::AccessShareLock as _);
        if relation.is_null() {
            return false;
        }
        let visible = (*(*relation).rd_rel).relfilenode == version.file
            && !file_is_new_in_this_transaction(relation)
            && block_exists(relation, &version.ctid)
            && fetch_is_visible(relation, version);
        // The lock stays to the end of the transaction, as a query's does.
        pg_sys::table_close(relation, pg_sys::NoLock as _);
        visible
    }
}

/// Whether the relation's file is new in this transaction (the table created,
/// or given a new file by TRUNCATE, VACUUM FULL or CLUSTER, in it): a TRUNCATE
/// then empties that same file in place (heap_truncate_one_rel), and rows
/// inserted again in the same transaction can take the same ctid with the
/// same xmin. Until the transaction ends no entry is kept or trusted.
unsafe fn file_is_new_in_this_transaction(relation: pg_sys::Relation) -> bool {
    let relation = unsafe { &*relation };
    #[cfg(feature = "pg15")]
    let new_file = relation.rd_newRelfilenodeSubid;
    #[cfg(not(feature = "pg15"))]
    let new_file = relation.rd_newRelfilelocatorSubid;
    relation.rd_createSubid != 0 || new_file != 0
}

/// A ctid past the end of the file (VACUUM truncated it) must not be read.
unsafe fn block_exists(relation: pg_sys::Relation, ctid: &pg_sys::ItemPointerData) -> bool {
    let block = pgrx::itemptr::item_pointer_get_block_number(ctid);
    block < pg_sys::RelationGetNumberOfBlocksInFork(relation, pg_sys::ForkNumber::MAIN_FORKNUM)
}

unsafe fn fetch_is_visible(relation: pg_sys::Relation, version: &RowVersion) -> bool {
    let mut tuple = pg_sys::HeapTupleData {
        t_self: version.ctid,
        ..Default::default()
    };
    let mut buffer: pg_sys::Buffer = pg_sys::InvalidBuffer as _;
    let visible = pg_sys::heap_fetch(
        relation,
        pg_sys::GetActiveSnapshot(),
        &mut tuple,
        &mut buffer,
        true,
    );
    // The buffer stays pinned (keep_buf), so the header can be read.
    let same_version = visible
        && !tuple.t_data.is_null()
        && (*tuple.t_data).t_choice.t_heap.t_xmin == version.xmin;
    if buffer != pg_sys::InvalidBuffer as pg_sys::Buffer {
        pg_sys::ReleaseBuffer(buffer);
    }
    same_version
}
