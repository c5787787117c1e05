//! Outbound provider calls (version 0.11.0): `integration_requests`, a durable
//! queue of HTTP requests to the tenants' providers, served by the background
//! worker of the webhooks room through `infra::http::Queue` (registered at
//! `_PG_init`), so that provider requests and webhook deliveries share one HTTP
//! client, timeout cap, backoff, lease and private-address rule.
//!
//! The credentials are read when a request is claimed, through
//! `infra::secrets::reveal_json`, and live only in memory until its outcome is
//! recorded: the queue, the logs and the errors never hold them (an answer or
//! error that repeats the key has it replaced by `[redacted]`).
//!
//! Success, failure and retries follow `infra::http::classify_provider`: 2xx
//! succeeded; network errors, timeouts, 429 and 5xx are tried again on the
//! request's schedule until `max_attempts`; any other status fails at once.
//! Each attempt is one `integration_logs` row; a request that fails for good
//! sets the integration's `last_error`, one that succeeds its `last_sync_at`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode, Uuid};

use crate::infra::errors::{invalid_argument, raise, required, spi};
use crate::infra::guard::PinnedSearchPath;
use crate::infra::gucs::{WEBHOOK_ALLOW_PRIVATE_NETWORKS, WEBHOOK_MAX_TIMEOUT_MS};
use crate::infra::http::{self, ProviderOutcome, Queue, Request, Response};
use crate::infra::installation;
use crate::infra::secrets::{try_reveal_json, Owner, SecretError};
use crate::infra::spi::with_schema;
use crate::infra::wake::wake_at_commit;
use crate::integrations::CREDENTIALS_SCOPE;
use crate::tenancy::access::{as_owner_for_applications, authorize_tenant, caller, Caller};

pgrx::extension_sql_file!(
    "outbound.sql",
    name = "integrations_outbound",
    requires = [
        "integrations",
        isolate_tenant_rows,
        enqueue_integration_request,
        sync_sendgrid_contacts
    ]
);

/// SendGrid's limits for one PUT /v3/marketing/contacts: 30,000 contacts or
/// 6 MB; batches stay under 5 MB of contacts, leaving room for the rest.
const SENDGRID_MAX_CONTACTS: i64 = 30_000;
const SENDGRID_MAX_BATCH_BYTES: i64 = 5_000_000;
/// The largest request body a log row keeps whole; a larger one is logged as
/// its size (a contacts batch may be megabytes, once per attempt).
const LOG_PAYLOAD_LIMIT: i64 = 64 * 1024;
/// At most this much of a failed answer goes into the error message.
const ERROR_BODY_LIMIT: usize = 500;

/// Registers the queue with the worker (from `_PG_init`, when preloading).
pub fn register() {
    http::register_queue(&PROVIDER_REQUESTS);
}

static PROVIDER_REQUESTS: ProviderRequests = ProviderRequests;

/// What the main thread keeps about a claimed request until its outcome is
/// recorded (the API key only to redact it from what is stored).
struct InFlight {
    tenant: Uuid,
    token: Uuid,
    attempt: i32,
    url: String,
    schedule: Vec<Duration>,
    api_key: Option<String>,
}

static IN_FLIGHT: Mutex<Option<HashMap<Uuid, InFlight>>> = Mutex::new(None);

fn in_flight<R>(work: impl FnOnce(&mut HashMap<Uuid, InFlight>) -> R) -> R {
    let mut guard = IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner());
    work(guard.get_or_insert_with(HashMap::new))
}

struct ProviderRequests;

impl Queue for ProviderRequests {
    fn name(&self) -> &'static str {
        "provider requests"
    }

    fn claim(&self, limit: usize) -> Vec<(Uuid, Request)> {
        if !installation::installed_at_least("0.11.0") {
            return Vec::new();
        }
        claim(limit)
    }

    fn record(&self, finished: Vec<(Uuid, Response)>) {
        let rows: Vec<(Uuid, InFlight, Response)> = in_flight(|map| {
            finished
                .into_iter()
                .filter_map(|(id, response)| map.remove(&id).map(|f| (id, f, response)))
                .collect()
        });
        record(&rows);
    }
}

const CLAIM: &str = include_str!("queries/claim_requests.sql");
/// How a request that was not sent for a passing reason (the server's key)
/// starts its error: it is retried on its schedule, not failed.
const RETRY_LATER: &str = "(will retry) ";
const RECORD: &str = include_str!("queries/record_requests.sql");

/// The provider's real API base, when the integration's config names none.
fn default_base_url(provider: &str) -> Option<&'static str> {
    match provider {
        "sendgrid" => Some("https://api.sendgrid.com"),
        "stripe" => Some("https://api.stripe.com"),
        _ => None,
    }
}

/// One request the claim took, as the claim query answers it.
struct Claimed {
    tenant: Uuid,
    id: Uuid,
    token: Uuid,
    attempt: i32,
    method: String,
    path: String,
    provider: String,
    base_url: Option<String>,
    timeout_ms: i32,
    body: Option<String>,
    credentials: String,
    schedule: Vec<Option<f64>>,
    integration: Uuid,
}

/// Claims up to `limit` due requests, round robin across tenants, and returns
/// the ones to send. A request that cannot be sent (no API key, no usable base
/// URL) fails at once in the same transaction, with an error that says why.
fn claim(limit: usize) -> Vec<(Uuid, Request)> {
    let statement = with_schema(CLAIM);
    let max_timeout = WEBHOOK_MAX_TIMEOUT_MS.get().max(1);
    let allow_private = WEBHOOK_ALLOW_PRIVATE_NETWORKS.get();
    let rows = Spi::connect_mut(|client| {
        let mut out = Vec::new();
        let arguments = [
            (limit.min(i32::MAX as usize) as i32).into(),
            max_timeout.into(),
        ];
        for row in client.update(&statement, None, &arguments)? {
            let (Some(tenant), Some(id), Some(token)) = (
                row.get::<Uuid>(1)?,
                row.get::<Uuid>(2)?,
                row.get::<Uuid>(3)?,
            ) else {
                continue;
            };
            let attempt = row.get::<i32>(4)?.unwrap_or(1).max(1);
            let method = row.get::<String>(5)?.unwrap_or_else(|| "POST".into());
            let path = row.get::<String>(6)?.unwrap_or_default();
            let provider = row.get::<String>(7)?.unwrap_or_default();
            let base_url = row.get::<String>(8)?;
            let timeout_ms = row.get::<i32>(9)?.unwrap_or(15_000).clamp(1, 120_000);
            let body = row.get::<String>(10)?;
            let credentials = row.get::<String>(11)?.unwrap_or_else(|| "{}".into());
            let schedule: Vec<Option<f64>> = row.get(12)?.unwrap_or_default();
            let Some(integration) = row.get::<Uuid>(13)? else {
                continue;
            };
            out.push(Claimed {
                tenant,
                id,
                token,
                attempt,
                method,
                path,
                provider,
                base_url,
                timeout_ms,
                body,
                credentials,
                schedule,
                integration,
            });
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    });
    let rows = match rows {
        Ok(rows) => rows,
        Err(error) => pgrx::error!("claiming provider requests failed: {error}"),
    };
    let mut to_send = Vec::new();
    let mut refused = Vec::new();
    for Claimed {
        tenant,
        id,
        token,
        attempt,
        method,
        path,
        provider,
        base_url,
        timeout_ms,
        body,
        credentials,
        schedule,
        integration,
    } in rows
    {
        let base = base_url
            .filter(|b| !b.is_empty())
            .or_else(|| default_base_url(&provider).map(str::to_string));
        let url = base
            .map(|b| format!("{}{}", b.trim_end_matches('/'), path))
            .unwrap_or_default();
        // Read at send time, through the one door to a stored secret; a secret
        // that cannot be revealed (no key, the wrong key) fails this request
        // with the reason instead of aborting the worker's round.
        let owner = Owner {
            scope: CREDENTIALS_SCOPE,
            tenant,
            row: integration,
        };
        let revealed = serde_json::from_str::<serde_json::Value>(&credentials)
            .map_err(|e| format!("the integration's credentials are not JSON: {e}"))
            .and_then(|c| {
                try_reveal_json(c, &owner).map_err(|e| {
                    // The server's key missing or not the one the secret needs
                    // (a key file being replaced, a reload not yet seen) can
                    // pass: those wait for a retry. A secret that does not
                    // authenticate never will.
                    let when = match e {
                        SecretError::KeyFile { .. }
                        | SecretError::NoKey { .. }
                        | SecretError::WrongKey { .. } => RETRY_LATER,
                        _ => "",
                    };
                    format!("{when}the integration's credentials cannot be read: {e}")
                })
            });
        let (api_key, reveal_problem) = match revealed {
            Ok(c) => (
                c.get("api_key")
                    .and_then(|k| k.as_str())
                    .map(str::to_string)
                    .filter(|k| !k.is_empty()),
                None,
            ),
            Err(problem) => (None, Some(problem)),
        };
        let flight = InFlight {
            tenant,
            token,
            attempt,
            url: url.clone(),
            schedule: http::schedule_from_seconds(schedule),
            api_key: api_key.clone(),
        };
        let problem = if let Some(problem) = reveal_problem {
            Some(problem)
        } else if url.is_empty() {
            Some(format!(
                "the integration's config has no base_url and provider {provider} has no default"
            ))
        } else if http::host_and_port(&url).is_none() {
            Some(format!("the URL {url} is not an http(s) URL with a host"))
        } else if api_key.is_none() {
            Some("the integration's credentials hold no api_key".to_string())
        } else if api_key
            .as_deref()
            .is_some_and(|k| k.chars().any(|c| c.is_control()))
        {
            Some("the integration's api_key holds a control character".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            refused.push((
                id,
                flight,
                Response {
                    error: Some(format!("not sent: {problem}")),
                    ..Default::default()
                },
            ));
            continue;
        }
        let mut headers = vec![
            ("accept".to_string(), "application/json".to_string()),
            (
                "authorization".to_string(),
                format!("Bearer {}", api_key.unwrap_or_default()),
            ),
        ];
        if body.is_some() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        let request = Request {
            method,
            url,
            headers,
            body: body.unwrap_or_default(),
            timeout: Duration::from_millis(timeout_ms as u64),
            allow_private_networks: allow_private,
        };
        in_flight(|map| map.insert(id, flight));
        to_send.push((id, request));
    }
    if !refused.is_empty() {
        record(&refused);
    }
    to_send
}

/// `text` with the API key replaced, so that what is stored never holds it.
fn redacted(text: &str, api_key: Option<&str>) -> String {
    match api_key {
        Some(key) if key.len() >= 4 => text.replace(key, "[redacted]"),
        _ => text.to_string(),
    }
}

/// Records outcomes: the requests (only under the lease token they were
/// claimed with), one integration_logs row per attempt, the contacts a sync
/// upserted, and the integrations' last_sync_at / last_error.
fn record(rows: &[(Uuid, InFlight, Response)]) {
    if rows.is_empty() {
        return;
    }
    let mut tenant = Vec::new();
    let mut id = Vec::new();
    let mut token = Vec::new();
    let mut outcome = Vec::new();
    let mut status: Vec<Option<i32>> = Vec::new();
    let mut answer: Vec<Option<String>> = Vec::new();
    let mut error: Vec<Option<String>> = Vec::new();
    let mut delay = Vec::new();
    let mut duration = Vec::new();
    let mut url = Vec::new();
    for (request, flight, response) in rows {
        let key = flight.api_key.as_deref();
        let unsent = response
            .error
            .as_deref()
            .and_then(|e| e.strip_prefix("not sent: "));
        let (kind, wait) = if let Some(problem) = unsent {
            if problem.starts_with(RETRY_LATER) {
                let base = http::scheduled_delay(&flight.schedule, flight.attempt as usize);
                ("retry", base.min(http::MAX_RETRY_DELAY).as_secs_f64())
            } else {
                ("failed", 0.0)
            }
        } else {
            let base = http::scheduled_delay(&flight.schedule, flight.attempt as usize);
            match http::classify_provider(response, base, http::jitter()) {
                ProviderOutcome::Succeeded => ("succeeded", 0.0),
                ProviderOutcome::Failed => ("failed", 0.0),
                ProviderOutcome::Retry { delay } => {
                    ("retry", delay.min(http::MAX_RETRY_DELAY).as_secs_f64())
                }
            }
        };
        let body = redacted(&http::storable(&response.body, http::LOG_BODY_LIMIT), key);
        // Only a JSON answer is kept (response_payload is jsonb), and only whole.
        let json = response.status.filter(|_| {
            !body.trim().is_empty()
                && body.len() < http::LOG_BODY_LIMIT
                && !body.contains("\\u0000")
                && serde_json::from_str::<serde_json::Value>(&body).is_ok()
        });
        let message = response.error.clone().or_else(|| match response.status {
            Some(code) if !(200..300).contains(&code) => {
                let excerpt = http::truncate(body.trim(), ERROR_BODY_LIMIT);
                Some(if excerpt.is_empty() {
                    format!("HTTP {code}")
                } else {
                    format!("HTTP {code}: {excerpt}")
                })
            }
            _ => None,
        });
        tenant.push(flight.tenant);
        id.push(*request);
        token.push(flight.token);
        outcome.push(kind.to_string());
        status.push(response.status.map(i32::from));
        answer.push(json.map(|_| body.clone()));
        error.push(message.map(|m| redacted(&http::storable(&m, http::LOG_BODY_LIMIT), key)));
        delay.push(wait);
        duration.push(response.duration.as_millis().min(i32::MAX as u128) as i32);
        url.push(redacted(&flight.url, key));
    }
    let statement = with_schema(RECORD);
    let arguments: Vec<pgrx::datum::DatumWithOid<'static>> = vec![
        tenant.into(),
        id.into(),
        token.into(),
        outcome.into(),
        status.into(),
        answer.into(),
        error.into(),
        delay.into(),
        duration.into(),
        url.into(),
        LOG_PAYLOAD_LIMIT.into(),
    ];
    let result = Spi::connect_mut(|client| client.update(&statement, None, &arguments).map(|_| ()));
    if let Err(error) = result {
        pgrx::error!("recording provider requests failed: {error}");
    }
}

/// The integration of `tenant` with this id, and its provider; 22023 naming
/// the argument when there is none.
fn provider_of(tenant: Uuid, integration: Uuid) -> String {
    let provider = spi(Spi::get_one_with_args::<String>(
        &with_schema(
            "SELECT (SELECT provider FROM @extschema@.integrations WHERE tenant_id = $1 AND id = $2)",
        ),
        &[tenant.into(), integration.into()],
    ));
    provider.unwrap_or_else(|| {
        invalid_argument(format!(
            "argument \"integration\": tenant {tenant} has no integration {integration}"
        ))
    })
}

/// Queues an HTTP request to the provider of a tenant's integration: `path`
/// below the integration's base URL (`config->>'base_url'`, by default the
/// provider's API), a JSON `body` without credentials (the worker adds
/// `Authorization: Bearer <credentials->>'api_key'>` when it sends), and a
/// `context` object saying what success means locally. Operators only (the
/// rooms that send for applications call it as the extension's owner).
#[allow(clippy::too_many_arguments)]
#[pg_extern(volatile, parallel_unsafe)]
fn enqueue_integration_request(
    tenant: Option<Uuid>,
    integration: Option<Uuid>,
    operation: Option<&str>,
    method: Option<&str>,
    path: Option<&str>,
    body: default!(Option<JsonB>, "NULL"),
    context: default!(Option<JsonB>, "'{}'"),
    max_attempts: default!(Option<i32>, "8"),
) -> Uuid {
    let _search_path = PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let integration = required(integration, "integration");
    let operation = required(operation, "operation");
    let method = required(method, "method").to_ascii_uppercase();
    let path = required(path, "path");
    let context = required(context, "context");
    let max_attempts = required(max_attempts, "max_attempts");
    if caller() != Caller::Operator {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "enqueue_integration_request() is for operators (marimo_admin)",
        );
    }
    let operation_length = operation.trim().chars().count();
    if !(1..=200).contains(&operation_length) {
        invalid_argument(format!(
            "argument \"operation\" must have 1-200 characters after trimming, got {operation_length}"
        ));
    }
    if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
        invalid_argument(format!(
            "argument \"method\" must be GET, POST, PUT, PATCH or DELETE, got \"{method}\""
        ));
    }
    if !path.starts_with('/')
        || path.len() > 2048
        || !path.bytes().all(|b| (b'!'..=b'~').contains(&b))
    {
        invalid_argument(format!(
            "argument \"path\" must start with / and hold at most 2048 printable ASCII characters without spaces, got \"{path}\""
        ));
    }
    if !context.0.is_object() {
        invalid_argument("argument \"context\" must be a JSON object");
    }
    if !(1..=50).contains(&max_attempts) {
        invalid_argument(format!(
            "argument \"max_attempts\" must be between 1 and 50, got {max_attempts}"
        ));
    }
    provider_of(tenant, integration);
    wake_at_commit();
    spi(Spi::get_one_with_args::<Uuid>(
        &with_schema(
            "INSERT INTO @extschema@.integration_requests
                    (tenant_id, integration_id, operation, method, path, body, context, max_attempts)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        ),
        &[
            tenant.into(),
            integration.into(),
            operation.into(),
            method.into(),
            path.into(),
            body.into(),
            context.into(),
            max_attempts.into(),
        ],
    ))
    .unwrap_or_else(|| pgrx::error!("enqueue_integration_request: the insert returned no id"))
}

/// The upserts of a sync: the tenant's contacts never synced or changed since
/// (`updated_at > last_synced_at`), grouped by their list_ids (SendGrid's
/// request applies one list_ids to all its contacts), in batches within
/// SendGrid's limits, each one queued request whose context names its contacts.
const SYNC_CONTACTS: &str = "
WITH pending AS (
    SELECT c.id, c.email,
           ARRAY(SELECT DISTINCT l FROM pg_catalog.unnest(c.list_ids) l ORDER BY l) AS list_ids,
           pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
               'email', c.email, 'first_name', c.first_name, 'last_name', c.last_name,
               'custom_fields', CASE WHEN c.custom_fields <> '{}'::jsonb THEN c.custom_fields END)) AS contact
      FROM @extschema@.sendgrid_contacts c
     WHERE c.tenant_id = $1 AND (c.last_synced_at IS NULL OR c.updated_at > c.last_synced_at)
), numbered AS (
    SELECT p.*,
           (pg_catalog.row_number() OVER w - 1) / $3 AS by_count,
           (pg_catalog.sum(pg_catalog.octet_length(p.contact::text)) OVER w) / $4 AS by_size
      FROM pending p
    WINDOW w AS (PARTITION BY p.list_ids ORDER BY p.email, p.id ROWS UNBOUNDED PRECEDING)
), batches AS (
    SELECT n.list_ids, pg_catalog.count(*) AS contacts,
           pg_catalog.jsonb_agg(n.contact ORDER BY n.email, n.id) AS body_contacts,
           pg_catalog.jsonb_agg(n.id ORDER BY n.email, n.id) AS ids
      FROM numbered n
     GROUP BY n.list_ids, n.by_count, n.by_size
), queued AS (
    INSERT INTO @extschema@.integration_requests (tenant_id, integration_id, operation, method, path, body, context)
    SELECT $1, $2, 'contacts.upsert', 'PUT', '/v3/marketing/contacts',
           CASE WHEN pg_catalog.cardinality(b.list_ids) > 0
                THEN pg_catalog.jsonb_build_object('list_ids', pg_catalog.to_jsonb(b.list_ids),
                                                   'contacts', b.body_contacts)
                ELSE pg_catalog.jsonb_build_object('contacts', b.body_contacts) END,
           pg_catalog.jsonb_build_object('sendgrid_contacts', b.ids)
      FROM batches b
    RETURNING 1
)
SELECT COALESCE(pg_catalog.sum(b.contacts), 0)::bigint FROM batches b
 WHERE (SELECT pg_catalog.count(*) FROM queued) >= 0";

/// Queues upserts of the tenant's SendGrid contacts that were never synced or
/// changed since to SendGrid's Marketing Contacts API through `integration` (a
/// sendgrid integration of the tenant); the worker sends them, and success sets
/// their last_synced_at. Returns the number of contacts queued. An application
/// may sync only its current tenant (42501); operators any.
#[pg_extern(volatile, parallel_unsafe)]
fn sync_sendgrid_contacts(tenant: Option<Uuid>, integration: Option<Uuid>) -> i64 {
    let _search_path = PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let integration = required(integration, "integration");
    let caller = authorize_tenant(tenant, true);
    as_owner_for_applications(caller, || {
        let provider = provider_of(tenant, integration);
        if provider != "sendgrid" {
            invalid_argument(format!(
                "argument \"integration\": integration {integration} is a {provider} integration, not sendgrid"
            ));
        }
        wake_at_commit();
        spi(Spi::get_one_with_args::<i64>(
            &with_schema(SYNC_CONTACTS),
            &[
                tenant.into(),
                integration.into(),
                SENDGRID_MAX_CONTACTS.into(),
                SENDGRID_MAX_BATCH_BYTES.into(),
            ],
        ))
        .unwrap_or(0)
    })
}
