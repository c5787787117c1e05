//! The webhook delivery worker (version 0.8.0): a background worker, started
//! when `shared_preload_libraries` includes `marimo_erp`, that serves the
//! database named by `marimo_erp.database`.
//!
//! Only its main thread touches PostgreSQL. Each round it
//! 1. records the outcomes the sending threads reported, in one transaction;
//! 2. claims due deliveries (`FOR UPDATE SKIP LOCKED`, round robin across
//!    tenants, at most `max_in_flight` per endpoint and
//!    `webhook_tenant_max_in_flight` per tenant, payloads within
//!    `webhook_max_in_flight_bytes`) by giving each a lease and a lease token,
//!    and commits, so that no HTTP request is ever sent inside a transaction;
//! 3. hands the requests to a pool of sending threads.
//!
//! A delivery whose worker dies keeps its lease until it expires (the
//! endpoint's timeout plus a margin) and is then claimed again: delivery is at
//! least once, with a `webhook-id` that never changes. An outcome is recorded
//! only under the lease token it was sent with, so two workers never both
//! complete the same attempt. New events wake the worker at commit through its
//! latch; due retries are found by polling at most every second.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, SignalWakeFlags};
use pgrx::callbacks::{register_xact_callback, PgXactCallbackEvent};
use pgrx::prelude::*;
use pgrx::{PgAtomic, Uuid};

use super::delivery::{self, Outcome, Request, Response};
use super::signing;
use crate::infra::gucs::{
    WEBHOOK_ALLOW_PRIVATE_NETWORKS, WEBHOOK_MAX_IN_FLIGHT_BYTES, WEBHOOK_MAX_PAYLOAD_BYTES,
    WEBHOOK_MAX_TIMEOUT_MS, WEBHOOK_SENDERS, WEBHOOK_TENANT_MAX_IN_FLIGHT, WORKER_DATABASE,
};
use crate::infra::installation;
use crate::infra::spi::with_schema;

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
pub fn register_worker() {
    pgrx::pg_shmem_init!(WORKER_LATCH);
    PRELOADED.store(true, Ordering::Relaxed);
    BackgroundWorkerBuilder::new("marimo_erp webhook worker")
        .set_type("marimo_erp webhook worker")
        .set_library("marimo_erp")
        .set_function("marimo_erp_webhook_worker_main")
        .enable_spi_access()
        .set_start_time(pgrx::bgworkers::BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(Duration::from_secs(1)))
        .load();
}

/// Wakes the worker when the current transaction commits (new deliveries are
/// visible to it only then). Without the worker this does nothing.
pub fn wake_at_commit() {
    if !PRELOADED.load(Ordering::Relaxed) || WAKE_REGISTERED.with(|w| w.replace(true)) {
        return;
    }
    // Once per transaction, however many events it emits.
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

/// The payload bytes one round claims at most (see the main loop).
const ROUND_BYTES: i64 = 2 * 1024 * 1024;

/// A claimed delivery, sent by a thread and recorded under its lease token.
struct Claim {
    tenant: Uuid,
    delivery: Uuid,
    webhook: Uuid,
    attempt: i32,
    lease_token: Uuid,
    schedule: Vec<Duration>,
    request: Request,
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn marimo_erp_webhook_worker_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = WORKER_DATABASE
        .get()
        .and_then(|d| d.to_str().ok().map(str::to_string))
        .unwrap_or_else(|| "postgres".into());
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    WORKER_LATCH
        .get()
        .store(unsafe { pg_sys::MyLatch } as usize, Ordering::Release);
    log!("marimo_erp webhook worker serving database \"{database}\"");

    let (wake_reader, wake_writer) = UnixStream::pair().expect("socketpair");
    wake_reader
        .set_nonblocking(true)
        .expect("nonblocking socket");
    let (jobs, results) = start_senders(WEBHOOK_SENDERS.get().max(1) as usize, wake_writer);
    let mut in_flight: HashMap<Uuid, Claim> = HashMap::new();
    let mut buffer = [0u8; 256];

    loop {
        let timeout_ms = if in_flight.is_empty() { 1000 } else { 50 };
        let events = unsafe {
            pg_sys::WaitLatchOrSocket(
                pg_sys::MyLatch,
                (pg_sys::WL_LATCH_SET
                    | pg_sys::WL_SOCKET_READABLE
                    | pg_sys::WL_TIMEOUT
                    | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
                wake_reader.as_raw_fd(),
                timeout_ms,
                pg_sys::PG_WAIT_EXTENSION,
            )
        };
        unsafe { pg_sys::ResetLatch(pg_sys::MyLatch) };
        let _ = events;
        // Barriers (DROP DATABASE, ...) and cancel requests wait on this.
        pgrx::check_for_interrupts!();
        if BackgroundWorker::sigterm_received() {
            break;
        }
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        while let Ok(n) = (&wake_reader).read(&mut buffer) {
            if n == 0 {
                break;
            }
        }
        let finished: Vec<(Claim, Response)> = results
            .try_iter()
            .filter_map(|(delivery, response)| {
                in_flight.remove(&delivery).map(|claim| (claim, response))
            })
            .collect();
        if !finished.is_empty() {
            BackgroundWorker::transaction(|| record(&finished));
        }
        let capacity = (WEBHOOK_SENDERS.get().max(1) as usize * 2).saturating_sub(in_flight.len());
        if capacity == 0 {
            continue;
        }
        // Payload bytes held: claimed, not yet recorded (the bodies sent). A
        // round takes in at most ROUND_BYTES (or one payload at the cap): the
        // main thread signs what it claims before sending any, so a round of
        // large payloads must not keep another tenant's small one waiting.
        let held: usize = in_flight.values().map(|c| c.request.body.len()).sum();
        let budget = (WEBHOOK_MAX_IN_FLIGHT_BYTES.get().max(0) as i64)
            .saturating_sub(held as i64)
            .min(ROUND_BYTES.max(WEBHOOK_MAX_PAYLOAD_BYTES.get() as i64));
        let claimed = BackgroundWorker::transaction(|| {
            if ready() {
                claim(capacity as i32, budget, in_flight.is_empty())
            } else {
                Vec::new()
            }
        });
        for claim in claimed {
            let request = claim.request.clone();
            let delivery_id = claim.delivery;
            in_flight.insert(delivery_id, claim);
            if jobs.send((delivery_id, request)).is_err() {
                break;
            }
        }
    }
    WORKER_LATCH.get().store(0, Ordering::Release);
    log!("marimo_erp webhook worker stopping");
    // Exit code 1: terminated outside a shutdown (pg_terminate_backend), the
    // postmaster starts the worker again; during a shutdown it restarts nothing.
    unsafe { pg_sys::proc_exit(1) };
}

type Job = (Uuid, Request);

/// Starts the sending threads. They never call PostgreSQL: each sends HTTP,
/// passes the response back and writes a byte to wake the main thread.
fn start_senders(count: usize, wake: UnixStream) -> (Sender<Job>, Receiver<(Uuid, Response)>) {
    let (job_sender, job_receiver) = mpsc::channel::<Job>();
    let (result_sender, result_receiver) = mpsc::channel::<(Uuid, Response)>();
    let job_receiver = Arc::new(Mutex::new(job_receiver));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .max_idle_connections(1024)
        .max_idle_connections_per_host(256)
        .timeout_connect(Some(Duration::from_secs(10)))
        .user_agent("marimo_erp-webhooks/0.8")
        .build()
        .into();
    // Signals must reach the main thread only: the threads start with all blocked.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut previous: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut previous);
    }
    for _ in 0..count {
        let jobs = Arc::clone(&job_receiver);
        let results = result_sender.clone();
        let agent = agent.clone();
        let mut wake = wake.try_clone().expect("wake socket");
        std::thread::spawn(move || loop {
            let job = jobs.lock().map(|receiver| receiver.recv());
            let Ok(Ok((delivery, request))) = job else {
                return;
            };
            let response = delivery::send(&agent, &request);
            if results.send((delivery, response)).is_err() {
                return;
            }
            let _ = wake.write(&[1]);
        });
    }
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &previous, std::ptr::null_mut());
    }
    (job_sender, result_receiver)
}

/// Whether this database has the delivery tables of 0.8.0 yet.
fn ready() -> bool {
    installation::installed_at_least("0.8.0")
}

/// Claims up to `limit` due deliveries, round robin across tenants, at most
/// `max_in_flight` per endpoint and `webhook_tenant_max_in_flight` per tenant
/// counting those already in flight, with payloads of at most `budget` bytes
/// in all (or one, when `idle`), and returns their requests, signed.
fn claim(limit: i32, budget: i64, idle: bool) -> Vec<Claim> {
    let mut query = with_schema(include_str!("queries/claim.sql"));
    if !installation::installed_at_least("0.10.0") {
        // The library is newer than the SQL (before ALTER EXTENSION UPDATE, or
        // after a rollback): no webhook_events.payload_bytes yet.
        query = query.replace(
            "e.payload_bytes",
            "pg_catalog.octet_length(e.payload::pg_catalog.text)",
        );
    }
    let allow_private = WEBHOOK_ALLOW_PRIVATE_NETWORKS.get();
    let arguments = [
        limit.into(),
        WEBHOOK_TENANT_MAX_IN_FLIGHT.get().max(1).into(),
        WEBHOOK_MAX_TIMEOUT_MS.get().max(1).into(),
        budget.into(),
        idle.into(),
    ];
    let rows = Spi::connect_mut(|client| {
        let mut claims = Vec::new();
        for row in client.update(&query, None, &arguments)? {
            let secrets: Vec<String> = row.get::<Vec<String>>(9)?.unwrap_or_default();
            let header_names: Vec<String> = row.get::<Vec<String>>(10)?.unwrap_or_default();
            let header_values: Vec<String> = row.get::<Vec<String>>(11)?.unwrap_or_default();
            let message_id = row.get::<String>(12)?.unwrap_or_default();
            let event_type = row.get::<String>(13)?.unwrap_or_default();
            let payload = row.get::<String>(14)?.unwrap_or_else(|| "null".into());
            let created = row.get::<String>(15)?.unwrap_or_default();
            let now = row.get::<i64>(16)?.unwrap_or_default();
            let body = delivery::envelope(&event_type, &created, &payload);
            let signatures: Vec<String> = secrets
                .iter()
                .filter_map(|secret| signing::decode_secret(secret).ok())
                .map(|key| signing::sign(&key, &message_id, now, &body))
                .collect();
            let mut headers: Vec<(String, String)> =
                header_names.into_iter().zip(header_values).collect();
            headers.push(("content-type".into(), "application/json".into()));
            headers.push(("webhook-id".into(), message_id));
            headers.push(("webhook-timestamp".into(), now.to_string()));
            headers.push(("webhook-signature".into(), signatures.join(" ")));
            claims.push(Claim {
                tenant: row.get::<Uuid>(1)?.expect("tenant_id"),
                delivery: row.get::<Uuid>(2)?.expect("id"),
                webhook: row.get::<Uuid>(3)?.expect("webhook_id"),
                attempt: row.get::<i32>(4)?.unwrap_or(1),
                lease_token: row.get::<Uuid>(5)?.expect("lease_token"),
                schedule: row
                    .get::<Vec<f64>>(8)?
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| Duration::from_secs_f64(s.max(0.0)))
                    .collect(),
                request: Request {
                    url: row.get::<String>(6)?.unwrap_or_default(),
                    headers,
                    body,
                    timeout: Duration::from_millis(
                        row.get::<i32>(7)?.unwrap_or(15_000).max(1) as u64
                    ),
                    allow_private_networks: allow_private,
                },
            });
        }
        Ok::<_, pgrx::spi::SpiError>(claims)
    });
    match rows {
        Ok(claims) => claims,
        Err(error) => {
            warning!("marimo_erp webhook worker: claiming deliveries failed: {error}");
            Vec::new()
        }
    }
}

/// A number in [-1, 1] for the ±20 % jitter of a retry delay.
fn jitter() -> f64 {
    let mut byte = [0u8; 2];
    let ok = unsafe { pg_sys::pg_strong_random(byte.as_mut_ptr().cast(), byte.len()) };
    if !ok {
        return 0.0;
    }
    f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX) * 2.0 - 1.0
}

/// Records a round of outcomes: the deliveries (only under the lease token they
/// were claimed with), one webhook_logs row per attempt, and each endpoint's health.
fn record(finished: &[(Claim, Response)]) {
    let mut columns = Columns::default();
    for (claim, response) in finished {
        let base = delivery::scheduled_delay(&claim.schedule, claim.attempt as usize);
        let (outcome, delay) = match delivery::classify(response, base, jitter()) {
            Outcome::Delivered => ("delivered", 0.0),
            Outcome::Gone => ("gone", 0.0),
            Outcome::Retry { delay } => ("retry", delay.as_secs_f64()),
        };
        columns.push(claim, response, outcome, delay);
    }
    let statement = with_schema(include_str!("queries/record.sql"));
    let result = Spi::connect_mut(|client| {
        client
            .update(&statement, None, &columns.arguments())
            .map(|_| ())
    });
    if let Err(error) = result {
        warning!(
            "marimo_erp webhook worker: recording {} outcomes failed: {error}",
            finished.len()
        );
    }
}

/// The outcomes of a round as parallel arrays, for one `unnest`.
#[derive(Default)]
struct Columns {
    tenant: Vec<Uuid>,
    delivery: Vec<Uuid>,
    webhook: Vec<Uuid>,
    token: Vec<Uuid>,
    outcome: Vec<String>,
    status: Vec<Option<i32>>,
    body: Vec<Option<String>>,
    error: Vec<Option<String>>,
    delay: Vec<f64>,
    attempt: Vec<i32>,
    url: Vec<String>,
    request_headers: Vec<String>,
    request_body: Vec<String>,
    response_headers: Vec<Option<String>>,
    duration_ms: Vec<i32>,
    ok: Vec<i32>,
}

impl Columns {
    fn push(&mut self, claim: &Claim, response: &Response, outcome: &str, delay: f64) {
        self.tenant.push(claim.tenant);
        self.delivery.push(claim.delivery);
        self.webhook.push(claim.webhook);
        self.token.push(claim.lease_token);
        self.outcome.push(outcome.to_string());
        self.status.push(response.status.map(i32::from));
        self.body.push(
            response
                .status
                .map(|_| delivery::storable(&response.body, delivery::LOG_BODY_LIMIT)),
        );
        let error = response.error.clone().or_else(|| match response.status {
            Some(status) if !(200..300).contains(&status) => Some(format!("HTTP {status}")),
            _ => None,
        });
        self.error
            .push(error.map(|e| delivery::storable(&e, delivery::LOG_BODY_LIMIT)));
        self.delay.push(delay);
        self.attempt.push(claim.attempt);
        self.url.push(claim.request.url.clone());
        self.request_headers
            .push(json_object(&claim.request.headers));
        self.request_body
            .push(delivery::truncate(&claim.request.body, delivery::LOG_BODY_LIMIT).to_string());
        self.response_headers
            .push(response.status.map(|_| json_object(&response.headers)));
        self.duration_ms
            .push(response.duration.as_millis().min(i32::MAX as u128) as i32);
        self.ok.push(i32::from(outcome == "delivered"));
    }

    fn arguments(&self) -> Vec<pgrx::datum::DatumWithOid<'static>> {
        vec![
            self.tenant.clone().into(),
            self.delivery.clone().into(),
            self.webhook.clone().into(),
            self.token.clone().into(),
            self.outcome.clone().into(),
            self.status.clone().into(),
            self.body.clone().into(),
            self.error.clone().into(),
            self.delay.clone().into(),
            self.attempt.clone().into(),
            self.url.clone().into(),
            self.request_headers.clone().into(),
            self.request_body.clone().into(),
            self.response_headers.clone().into(),
            self.duration_ms.clone().into(),
            self.ok.clone().into(),
        ]
    }
}

/// Headers as a JSON object (later names win), for the log.
fn json_object(headers: &[(String, String)]) -> String {
    let fields: Vec<String> = headers
        .iter()
        .map(|(name, value)| {
            format!(
                "{}:{}",
                delivery::json_string(&name.to_ascii_lowercase()),
                delivery::json_string(value)
            )
        })
        .collect();
    format!("{{{}}}", fields.join(","))
}
