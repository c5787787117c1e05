//! Execution guards: what a function that runs SQL holds while it runs.

use pgrx::prelude::*;

use super::installation;

/// `search_path` pinned to `pg_catalog, pg_temp` while the value lives, restored
/// afterwards, as a function's `SET search_path` clause would. Every statement
/// the Rust code runs names its relations with their schema, but types, and
/// functions and operators in expressions, are looked up on the search_path,
/// where the caller may have put its own (a temporary `uuid` domain is found
/// before the real one). An ERROR inside ends the (sub)transaction, which
/// restores the setting itself.
/// Put one at the top of every function that runs SQL as its caller.
pub struct PinnedSearchPath(i32);

impl PinnedSearchPath {
    pub fn new() -> Self {
        let nest_level = unsafe { pg_sys::NewGUCNestLevel() };
        unsafe {
            pg_sys::set_config_option(
                c"search_path".as_ptr(),
                c"pg_catalog, pg_temp".as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_SAVE,
                true,
                0,
                false,
            );
        }
        PinnedSearchPath(nest_level)
    }
}

impl Drop for PinnedSearchPath {
    fn drop(&mut self) {
        // On an ERROR the (sub)transaction's abort restores the setting.
        if !std::thread::panicking() {
            unsafe { pg_sys::AtEOXact_GUC(true, self.0) };
        }
    }
}

/// Runs `work` as the extension's owner with `search_path` pinned, as a
/// SECURITY DEFINER function would, but only for the statements that need it.
/// The caller's search_path cannot reach them. An ERROR inside ends the
/// (sub)transaction, which restores the user and the setting.
pub fn with_owner_privileges<R>(work: impl FnOnce() -> R) -> R {
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
    let result = {
        let _pinned = PinnedSearchPath::new();
        work()
    };
    unsafe { pg_sys::SetUserIdAndSecContext(user, context) };
    result
}
