//! Execution guards: what a function that runs SQL holds while it runs.

use std::ffi::CStr;
use std::panic::AssertUnwindSafe;

use pgrx::pg_sys::panic::CaughtError;
use pgrx::pg_sys::PgTryBuilder;
use pgrx::prelude::*;

use super::installation;

/// Settings pinned while the value lives and restored afterwards, as a
/// function's `SET` clause would: each is set at a new GUC nest level, which
/// dropping the value closes. An ERROR inside ends the (sub)transaction, which
/// restores them itself.
pub struct PinnedSettings(i32);

impl PinnedSettings {
    pub fn new(settings: &[(&CStr, &CStr)]) -> Self {
        let nest_level = unsafe { pg_sys::NewGUCNestLevel() };
        for (name, value) in settings {
            set_config(
                name,
                value,
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucAction::GUC_ACTION_SAVE,
            );
        }
        PinnedSettings(nest_level)
    }

    /// Timestamps printed and read back in one unambiguous form (ISO dates,
    /// numeric UTC offsets), whatever the caller's DateStyle and TimeZone: a
    /// zone abbreviation in another style (`IST`) can read back as another
    /// offset under the caller's `timezone_abbreviations`.
    pub fn timestamps_as_iso_utc() -> Self {
        Self::new(&[(c"DateStyle", c"ISO, YMD"), (c"TimeZone", c"UTC")])
    }
}

impl Drop for PinnedSettings {
    fn drop(&mut self) {
        // On an ERROR the (sub)transaction's abort restores the settings.
        if !std::thread::panicking() {
            unsafe { pg_sys::AtEOXact_GUC(true, self.0) };
        }
    }
}

/// `search_path` pinned to `pg_catalog, pg_temp` while the value lives, restored
/// afterwards. Every statement the Rust code runs names its relations with their
/// schema, but types, and functions and operators in expressions, are looked up
/// on the search_path, where the caller may have put its own (a temporary `uuid`
/// domain is found before the real one).
/// Put one at the top of every function that runs SQL as its caller.
pub struct PinnedSearchPath {
    _pinned: PinnedSettings,
}

impl PinnedSearchPath {
    pub fn new() -> Self {
        PinnedSearchPath {
            _pinned: PinnedSettings::new(&[(c"search_path", c"pg_catalog, pg_temp")]),
        }
    }
}

/// Runs `work` as the extension's owner with `search_path` pinned, as a
/// SECURITY DEFINER function would, but only for the statements that need it.
/// The caller's search_path cannot reach them. An ERROR inside ends the
/// (sub)transaction, which restores the user and the setting.
pub fn with_owner_privileges<R>(work: impl FnOnce() -> R) -> R {
    as_owner(|| {
        let _search_path = PinnedSearchPath::new();
        work()
    })
}

/// Runs `work` as the extension's owner, with the caller's search_path: only
/// for statements that name every object with its schema, types and functions
/// included (the API usage rollup, on every insert, where a GUC nest level
/// would cost more than the statement). An ERROR inside ends the
/// (sub)transaction, which restores the user.
pub fn as_owner<R>(work: impl FnOnce() -> R) -> R {
    let owner = installation::owner();
    let (mut user, mut context) = (pg_sys::InvalidOid, 0);
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(
            owner,
            context
                | (pg_sys::SECURITY_LOCAL_USERID_CHANGE | pg_sys::SECURITY_RESTRICTED_OPERATION)
                    as i32,
        );
    }
    let result = work();
    unsafe { pg_sys::SetUserIdAndSecContext(user, context) };
    result
}

/// Sets a setting from C in this session: `GUC_ACTION_SAVE` until the current
/// GUC nest level ends, `GUC_ACTION_SET` for the session. `context` is the
/// privilege it is set with (`PGC_SUSET` sets what the caller could not `SET`).
pub fn set_config(
    name: &CStr,
    value: &CStr,
    context: pg_sys::GucContext::Type,
    action: pg_sys::GucAction::Type,
) {
    unsafe {
        pg_sys::set_config_option(
            name.as_ptr(),
            value.as_ptr(),
            context,
            pg_sys::GucSource::PGC_S_SESSION,
            action,
            true,
            0,
            false,
        );
    }
}

/// Runs `work` in a subtransaction: an ERROR in it rolls back only what it did
/// and comes back as the caught error; on success what it did (and the locks it
/// took) moves up to the enclosing transaction. The caller's memory context and
/// resource owner are restored either way.
pub fn in_subtransaction<R>(work: impl FnOnce() -> R) -> Result<R, Box<CaughtError>> {
    let (memory_context, resource_owner) =
        unsafe { (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner) };
    unsafe { pg_sys::BeginInternalSubTransaction(std::ptr::null()) };
    let result = PgTryBuilder::new(AssertUnwindSafe(move || Ok(work())))
        .catch_others(|error| Err(Box::new(error)))
        .execute();
    unsafe {
        if result.is_ok() {
            pg_sys::ReleaseCurrentSubTransaction();
        } else {
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
        }
        pg_sys::MemoryContextSwitchTo(memory_context);
        pg_sys::CurrentResourceOwner = resource_owner;
    }
    result
}
