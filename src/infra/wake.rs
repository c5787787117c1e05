//! Waking the background worker (moved here from `webhooks::worker` in 0.11.0,
//! so that every room that queues outbound requests, webhook deliveries and
//! provider requests alike, wakes the same worker at commit).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use pgrx::callbacks::{register_xact_callback, PgXactCallbackEvent};
use pgrx::prelude::*;
use pgrx::PgAtomic;

/// The worker's latch, in shared memory, so that any backend can wake it.
static WORKER_LATCH: PgAtomic<AtomicUsize> =
    unsafe { PgAtomic::new(c"marimo_erp_webhook_worker_latch") };
/// Whether this process has the shared memory above (only under shared_preload_libraries).
static PRELOADED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Whether the current transaction already wakes the worker at commit.
    static WAKE_REGISTERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Called from `_PG_init` while `shared_preload_libraries` is being processed.
pub fn init_shared_memory() {
    pgrx::pg_shmem_init!(WORKER_LATCH);
    PRELOADED.store(true, Ordering::Relaxed);
}

/// The worker publishes its latch when it starts serving (null when it stops).
pub fn set_worker_latch(latch: *mut pg_sys::Latch) {
    WORKER_LATCH.get().store(latch as usize, Ordering::Release);
}

/// Wakes the worker when the current transaction commits (new requests are
/// visible to it only then). Without the worker this does nothing.
pub fn wake_at_commit() {
    if !PRELOADED.load(Ordering::Relaxed) || WAKE_REGISTERED.with(|w| w.replace(true)) {
        return;
    }
    // Once per transaction, however many requests it queues.
    register_xact_callback(PgXactCallbackEvent::Abort, || {
        WAKE_REGISTERED.with(|w| w.set(false))
    });
    register_xact_callback(PgXactCallbackEvent::Commit, || {
        WAKE_REGISTERED.with(|w| w.set(false));
        let latch = WORKER_LATCH.get().load(Ordering::Acquire);
        if latch != 0 {
            unsafe { pg_sys::SetLatch(latch as *mut pg_sys::Latch) };
        }
    });
}
