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
//! Since 0.11.0 it also serves the queues registered in `infra::http` (the
//! integrations room's provider requests): each round, before the deliveries,
//! each queue records its outcomes and claims up to a quarter of the free
//! capacity (at least one), in transactions of their own, and its requests go
//! to the same sending threads with the same agent.
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
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::prelude::*;
use pgrx::spi::SpiHeapTupleData;
use pgrx::{PgAtomic, Uuid};

use super::delivery::{self, jitter, Outcome, Request, Response, MAX_RETRY_DELAY};
use super::signing;
use super::WEBHOOK_SECRET_SCOPE;
use crate::infra::errors::describe_caught;
use crate::infra::guard::in_subtransaction;
use crate::infra::gucs::{
    WEBHOOK_ALLOW_PRIVATE_NETWORKS, WEBHOOK_MAX_IN_FLIGHT_BYTES, WEBHOOK_MAX_PAYLOAD_BYTES,
    WEBHOOK_MAX_TIMEOUT_MS, WEBHOOK_SENDERS, WEBHOOK_TENANT_MAX_IN_FLIGHT,
};
use crate::infra::installation;
use crate::infra::secrets;
use crate::infra::spi::{self, with_schema};
use crate::infra::wake;
/// Wakes the worker when the current transaction commits (`infra::wake`).
pub use crate::infra::wake::wake_at_commit;
use crate::infra::worker::{self, backoff, guarded_transaction};

/// Set by a start of the worker that found its database, for the next start,
/// which then connects to it (a process connects to one database only once).
static DATABASE_FOUND: PgAtomic<AtomicBool> =
    unsafe { PgAtomic::new(c"marimo_erp_webhook_worker_database_found") };
/// Connections to the database begun since the last one that succeeded: a
/// start that finds it above 0 knows that the previous one died connecting.
static CONNECTS_FAILED: PgAtomic<AtomicU32> =
    unsafe { PgAtomic::new(c"marimo_erp_webhook_worker_connects_failed") };

/// The worker's way to its database (`infra::worker`).
static LINK: worker::Link = worker::Link {
    label: "marimo_erp webhook worker",
    found: &DATABASE_FOUND,
    failed: &CONNECTS_FAILED,
};

/// Called from `_PG_init` while `shared_preload_libraries` is being processed.
pub fn register_worker() {
    wake::init_shared_memory();
    pgrx::pg_shmem_init!(DATABASE_FOUND);
    pgrx::pg_shmem_init!(CONNECTS_FAILED);
    worker::register(
        &LINK,
        "marimo_erp_webhook_worker_main",
        Duration::from_secs(1),
    );
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
    /// Why the request must not be sent (its secret does not decode): the
    /// delivery fails with this error instead of going out unsigned.
    refused: Option<String>,
}

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn marimo_erp_webhook_worker_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = worker::connect(&LINK);
    wake::set_worker_latch(unsafe { pg_sys::MyLatch });
    log!("marimo_erp webhook worker serving database \"{database}\"");

    let (wake_reader, wake_writer) = UnixStream::pair().expect("socketpair");
    wake_reader
        .set_nonblocking(true)
        .expect("nonblocking socket");
    let (jobs, results) = start_senders(WEBHOOK_SENDERS.get().max(1) as usize, wake_writer);
    let mut in_flight: HashMap<Uuid, Claim> = HashMap::new();
    // The other queues (provider requests, 0.11.0): what each has in flight.
    let queues = crate::infra::http::queues();
    let mut queued_in_flight: std::collections::HashSet<(usize, Uuid)> = Default::default();
    let mut buffer = [0u8; 256];
    // After a failed round the worker waits before claiming again, longer each
    // time: it never exits on what the data holds.
    let mut failed_rounds: u32 = 0;
    let mut resume_at: Option<Instant> = None;

    loop {
        let mut timeout_ms: i64 = if in_flight.is_empty() { 1000 } else { 50 };
        if let Some(at) = resume_at {
            let left = at.saturating_duration_since(Instant::now()).as_millis() as i64;
            timeout_ms = timeout_ms.min(left.max(1));
        }
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
        let mut finished: Vec<(Claim, Response)> = Vec::new();
        let mut queued_finished: Vec<Vec<(Uuid, Response)>> =
            (0..queues.len()).map(|_| Vec::new()).collect();
        for (key, response) in results.try_iter() {
            match key {
                Key::Delivery(delivery) => {
                    if let Some(claim) = in_flight.remove(&delivery) {
                        finished.push((claim, response));
                    }
                }
                Key::Queued(queue, id) => {
                    if queued_in_flight.remove(&(queue, id)) {
                        queued_finished[queue].push((id, response));
                    }
                }
            }
        }
        for (index, outcomes) in queued_finished.into_iter().enumerate() {
            if outcomes.is_empty() {
                continue;
            }
            let count = outcomes.len();
            if let Err(error) = guarded_transaction(|| queues[index].record(outcomes)) {
                warning!(
                    "marimo_erp webhook worker: recording {count} {} outcomes failed, they are sent again once their leases lapse: {error}",
                    queues[index].name()
                );
            }
        }
        if !finished.is_empty() {
            if let Err(error) = guarded_transaction(|| record(&finished)) {
                warning!(
                    "marimo_erp webhook worker: recording {} outcomes failed, their deliveries are sent again once their leases lapse: {error}",
                    finished.len()
                );
            }
        }
        if resume_at.is_some_and(|at| Instant::now() < at) {
            continue;
        }
        resume_at = None;
        let mut capacity = (WEBHOOK_SENDERS.get().max(1) as usize * 2)
            .saturating_sub(in_flight.len() + queued_in_flight.len());
        if capacity == 0 {
            continue;
        }
        // The other queues first, each at most a quarter of the free capacity
        // (at least one), so that neither a webhook backlog nor theirs starves the other.
        for (index, queue) in queues.iter().enumerate() {
            let limit = (capacity / 4).max(1).min(capacity);
            if limit == 0 {
                break;
            }
            match guarded_transaction(|| queue.claim(limit)) {
                Ok(claimed) => {
                    for (id, request) in claimed {
                        queued_in_flight.insert((index, id));
                        capacity = capacity.saturating_sub(1);
                        if jobs.send((Key::Queued(index, id), request)).is_err() {
                            break;
                        }
                    }
                }
                Err(error) => warning!(
                    "marimo_erp webhook worker: claiming {} failed: {error}",
                    queue.name()
                ),
            }
        }
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
        let claimed = match guarded_transaction(|| {
            if ready() {
                claim(capacity as i32, budget, in_flight.is_empty())
            } else {
                Vec::new()
            }
        }) {
            Ok(claimed) => {
                failed_rounds = 0;
                claimed
            }
            Err(error) => {
                failed_rounds = failed_rounds.saturating_add(1);
                let wait = backoff(failed_rounds);
                warning!(
                    "marimo_erp webhook worker: claiming deliveries failed ({failed_rounds} in a row), claiming again in {} ms: {error}",
                    wait.as_millis()
                );
                if let Err(error) = guarded_transaction(set_aside_inconsistent) {
                    warning!("marimo_erp webhook worker: setting inconsistent deliveries aside failed: {error}");
                }
                resume_at = Some(Instant::now() + wait);
                Vec::new()
            }
        };
        let mut refused = Vec::new();
        for claim in claimed {
            if let Some(reason) = &claim.refused {
                let response = Response {
                    error: Some(format!("not sent: {reason}")),
                    ..Default::default()
                };
                refused.push((claim, response));
                continue;
            }
            let request = claim.request.clone();
            let delivery_id = claim.delivery;
            in_flight.insert(delivery_id, claim);
            if jobs.send((Key::Delivery(delivery_id), request)).is_err() {
                break;
            }
        }
        if !refused.is_empty() {
            for (claim, _) in &refused {
                warning!(
                    "marimo_erp webhook worker: delivery {} (tenant {}, webhook {}) not sent: {}",
                    claim.delivery,
                    claim.tenant,
                    claim.webhook,
                    claim.refused.as_deref().unwrap_or_default()
                );
            }
            if let Err(error) = guarded_transaction(|| record(&refused)) {
                warning!("marimo_erp webhook worker: recording refused deliveries failed: {error}");
            }
        }
    }
    wake::set_worker_latch(std::ptr::null_mut());
    log!("marimo_erp webhook worker stopping");
    // Exit code 1: terminated outside a shutdown (pg_terminate_backend), the
    // postmaster starts the worker again; during a shutdown it restarts nothing.
    unsafe { pg_sys::proc_exit(1) };
}

/// After a claim failed: deliveries whose state no claim can take (pending with
/// no attempt left, which only a superuser or the table owner can write) are
/// failed with a clear error, so that the next claim goes past them.
fn set_aside_inconsistent() {
    if !ready() {
        return;
    }
    let statement = with_schema(
        "UPDATE @extschema@.webhook_deliveries
            SET status = 'failed', next_attempt_at = NULL, lease_token = NULL, lease_expires_at = NULL,
                last_error = 'set aside by the worker: pending with no attempt left (attempts >= max_attempts)'
          WHERE status = 'pending' AND attempts >= max_attempts",
    );
    let count = Spi::connect_mut(|client| client.update(&statement, None, &[]).map(|s| s.len()));
    if let Ok(count) = count {
        if count > 0 {
            log!("marimo_erp webhook worker: set {count} inconsistent deliveries aside (failed)");
        }
    }
}

/// What a sending thread works on: a webhook delivery, or a request of the
/// queue registered at that index in `infra::http::queues()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Delivery(Uuid),
    Queued(usize, Uuid),
}

type Job = (Key, Request);

/// Starts the sending threads. They never call PostgreSQL: each sends HTTP,
/// passes the response back and writes a byte to wake the main thread.
fn start_senders(count: usize, wake: UnixStream) -> (Sender<Job>, Receiver<(Key, Response)>) {
    let (job_sender, job_receiver) = mpsc::channel::<Job>();
    let (result_sender, result_receiver) = mpsc::channel::<(Key, Response)>();
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
/// in all (or one, when `idle`), and returns their requests, signed. Every
/// value is read as untrusted: a NULL or an out-of-range value is never a panic,
/// and a delivery whose secret does not decode is refused, never sent unsigned.
fn claim(limit: i32, budget: i64, idle: bool) -> Vec<Claim> {
    let allow_private = WEBHOOK_ALLOW_PRIVATE_NETWORKS.get();
    let arguments = [
        limit.into(),
        WEBHOOK_TENANT_MAX_IN_FLIGHT.get().max(1).into(),
        WEBHOOK_MAX_TIMEOUT_MS.get().max(1).into(),
        budget.into(),
        idle.into(),
    ];
    let read = |row: &SpiHeapTupleData<'_>| claim_from_row(row, allow_private);
    if installation::installed_at_least("0.10.0") {
        // Every round runs it: from its kept plan, planned once per worker.
        return spi::write_rows(CLAIM, &arguments, read);
    }
    // The library is newer than the SQL (before ALTER EXTENSION UPDATE, or
    // after a rollback): no webhook_events.payload_bytes yet. Rare and
    // short-lived, so this text is planned each time, never kept.
    let query = with_schema(CLAIM).replace(
        "e.payload_bytes",
        "pg_catalog.octet_length(e.payload::pg_catalog.text)",
    );
    let rows = Spi::connect_mut(|client| {
        let mut claims = Vec::new();
        for row in client.update(&query, None, &arguments)? {
            claims.extend(read(&row)?);
        }
        Ok::<_, pgrx::spi::SpiError>(claims)
    });
    match rows {
        Ok(claims) => claims,
        Err(error) => pgrx::error!("claiming deliveries failed: {error}"),
    }
}

/// The claim statement (`queries/claim.sql`): a `static`, so that its kept
/// plan, found by the text's address, is the same one every round.
static CLAIM: &str = include_str!("queries/claim.sql");
/// The record statement (`queries/record.sql`).
static RECORD: &str = include_str!("queries/record.sql");

/// One claimed row as a signed request, or `None` (with a warning) for a row
/// without its identifiers.
fn claim_from_row(
    row: &SpiHeapTupleData<'_>,
    allow_private: bool,
) -> pgrx::spi::SpiResult<Option<Claim>> {
    let (Some(tenant), Some(delivery), Some(webhook), Some(lease_token)) = (
        row.get::<Uuid>(1)?,
        row.get::<Uuid>(2)?,
        row.get::<Uuid>(3)?,
        row.get::<Uuid>(5)?,
    ) else {
        warning!("marimo_erp webhook worker: a claimed row lacks its identifiers; skipped");
        return Ok(None);
    };
    let secrets: Vec<Option<String>> = row.get(9)?.unwrap_or_default();
    let header_names: Vec<Option<String>> = row.get(10)?.unwrap_or_default();
    let header_values: Vec<Option<String>> = row.get(11)?.unwrap_or_default();
    let message_id = row.get::<String>(12)?.unwrap_or_default();
    let event_type = row.get::<String>(13)?.unwrap_or_default();
    let payload = row.get::<String>(14)?.unwrap_or_else(|| "null".into());
    let created = row.get::<String>(15)?.unwrap_or_default();
    let now = row.get::<i64>(16)?.unwrap_or_default();
    let body = delivery::envelope(&event_type, &created, &payload);
    // Secrets are stored encrypted once a key is configured: revealed
    // here, in memory, for this webhook only (infra::secrets). A secret
    // that cannot be revealed (missing or wrong key) refuses the
    // delivery with the reason, recorded as a failed attempt; the
    // ciphertext is left as it is.
    let owner = secrets::Owner {
        scope: WEBHOOK_SECRET_SCOPE,
        tenant,
        row: webhook,
    };
    let revealed: Vec<Result<String, secrets::SecretError>> = secrets
        .iter()
        .flatten()
        .map(|stored| secrets::try_reveal_text(stored, &owner))
        .collect();
    // The current secret must decode; rotated-out ones that do not are left out.
    let refused = match secrets.first().cloned().flatten().and(revealed.first()) {
        Some(Ok(secret)) => match signing::decode_secret(secret) {
            Ok(_) => None,
            Err(error) => Some(format!(
                "it would go out unsigned: {error}; set a new one with rotate_webhook_secret()"
            )),
        },
        Some(Err(error)) => Some(format!(
            "it would go out unsigned: its secret cannot be decrypted: {error}"
        )),
        None => Some("it would go out unsigned: the webhook has no secret".to_string()),
    };
    let mut signatures: Vec<String> = Vec::new();
    for signature in revealed
        .iter()
        .flatten()
        .filter_map(|secret| signing::decode_secret(secret).ok())
        .map(|key| signing::sign(&key, &message_id, now, &body))
    {
        if !signatures.contains(&signature) {
            signatures.push(signature);
        }
    }
    let mut headers: Vec<(String, String)> = header_names
        .into_iter()
        .zip(header_values)
        .filter_map(|(name, value)| Some((name?, value?)))
        .collect();
    headers.push(("content-type".into(), "application/json".into()));
    headers.push(("webhook-id".into(), message_id));
    headers.push(("webhook-timestamp".into(), now.to_string()));
    headers.push(("webhook-signature".into(), signatures.join(" ")));
    let schedule: Vec<Option<f64>> = row.get(8)?.unwrap_or_default();
    Ok(Some(Claim {
        tenant,
        delivery,
        webhook,
        attempt: row.get::<i32>(4)?.unwrap_or(1).max(1),
        lease_token,
        schedule: delivery::schedule_from_seconds(schedule),
        request: Request {
            method: "POST".into(),
            url: row.get::<String>(6)?.unwrap_or_default(),
            headers,
            body,
            timeout: Duration::from_millis(
                row.get::<i32>(7)?.unwrap_or(15_000).clamp(1, 120_000) as u64
            ),
            allow_private_networks: allow_private,
        },
        refused,
    }))
}

/// Records a round of outcomes: the deliveries (only under the lease token they
/// were claimed with), one webhook_logs row per attempt, and each endpoint's
/// health. The round is one statement in a subtransaction; if it fails, each
/// outcome is recorded alone in its own, so that one bad row fails alone (it is
/// logged and skipped: its delivery goes out again when its lease lapses).
fn record(finished: &[(Claim, Response)]) {
    let all: Vec<&(Claim, Response)> = finished.iter().collect();
    let error = match in_subtransaction(|| record_rows(&all)).map_err(|e| describe_caught(&e)) {
        Ok(()) => return,
        Err(error) => error,
    };
    if finished.len() > 1 {
        log!(
            "marimo_erp webhook worker: recording {} outcomes together failed ({error}); recording them one by one",
            finished.len()
        );
    }
    for outcome in finished {
        let result = if finished.len() > 1 {
            in_subtransaction(|| record_rows(&[outcome])).map_err(|e| describe_caught(&e))
        } else {
            Err(error.clone())
        };
        if let Err(error) = result {
            let (claim, _) = outcome;
            warning!(
                "marimo_erp webhook worker: the outcome of delivery {} (tenant {}, webhook {}, attempt {}) could not be recorded and is skipped: {error}",
                claim.delivery,
                claim.tenant,
                claim.webhook,
                claim.attempt
            );
        }
    }
}

/// One record statement for `rows`.
fn record_rows(rows: &[&(Claim, Response)]) {
    let mut columns = Columns::default();
    for (claim, response) in rows.iter().map(|r| (&r.0, &r.1)) {
        let (outcome, delay) = if claim.refused.is_some() {
            ("refused", 0.0)
        } else {
            let base = delivery::scheduled_delay(&claim.schedule, claim.attempt as usize);
            match delivery::classify(response, base, jitter()) {
                Outcome::Delivered => ("delivered", 0.0),
                Outcome::Gone => ("gone", 0.0),
                Outcome::Retry { delay } => ("retry", delay.min(MAX_RETRY_DELAY).as_secs_f64()),
            }
        };
        columns.push(claim, response, outcome, delay);
    }
    // Every round with outcomes runs it: from its kept plan, planned once per worker.
    spi::write(RECORD, &columns.arguments());
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
