//! The webhook functions an application calls: endpoints, events, secret
//! rotation, and putting deliveries back in the queue.

use pgrx::datum::{AnyElement, DatumWithOid, Interval, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::{PgSqlErrorCode, Uuid};

use super::{delivery, signing, worker};
use crate::infra::errors::{
    check_idempotency_key, invalid_argument, raise, raise_with_hint, required, spi,
};
use crate::infra::guard::PinnedSearchPath;
use crate::infra::gucs::{WEBHOOK_MAX_PAYLOAD_BYTES, WEBHOOK_MAX_PAYLOAD_BYTES_NAME};
use crate::infra::installation;
use crate::infra::spi::{read_value, with_schema};
use crate::logs::registry::{FINISHED_WEBHOOK_DELIVERIES, SPENT_WEBHOOK_EVENTS, WEBHOOK_LOGS};
use crate::logs::{history, retention};
use crate::tenancy::access::{as_owner_for_applications, authorize_tenant};

/// Deletes webhook logs older than `retention` (30 days by default, as the seed),
/// then the deliveries that finished before then and the events they leave behind.
/// SECURITY DEFINER: operators run it without owning the log partitions it drops.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn cleanup_webhook_logs(
    retention: default!(Option<Interval>, "'30 days'"),
    batch_size: default!(Option<i32>, "10000"),
) -> i64 {
    history::recorded("cleanup_webhook_logs", || {
        retention::purge(&WEBHOOK_LOGS, retention, batch_size)
            + retention::purge(&FINISHED_WEBHOOK_DELIVERIES, retention, batch_size)
            + retention::purge(&SPENT_WEBHOOK_EVENTS, retention, batch_size)
    })
}

/// An event type: lowercase dotted words, as the webhook_events CHECK says.
fn is_event_type(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name.split('.').all(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        })
}

/// What a webhook subscribes to: `*`, an event type, or a prefix such as `invoice.*`.
fn is_event_pattern(pattern: &str) -> bool {
    pattern == "*" || is_event_type(pattern.strip_suffix(".*").unwrap_or(pattern))
}

fn validate_url(url: &str) {
    let valid = url.len() <= 2048
        && !url.chars().any(char::is_whitespace)
        && delivery::host_and_port(url).is_some();
    if !valid {
        invalid_argument(format!(
            "argument \"url\" must be an http or https URL with a host and no credentials, got \"{url}\""
        ));
    }
}

/// The given secret, checked, or a new one.
fn secret_or_generated(secret: Option<&str>) -> String {
    match secret {
        Some(secret) => {
            if let Err(error) = signing::decode_secret(secret) {
                invalid_argument(format!(
                    "argument \"secret\" is not a Standard Webhooks secret: {error}"
                ));
            }
            secret.to_string()
        }
        None => signing::generate_secret(),
    }
}

/// Registers an endpoint that receives the tenant's events of `event_types`
/// (`*` for all, or a prefix such as `invoice.*`). Without a secret one is
/// generated; read it back with rotate_webhook_secret() or as an operator.
#[pg_extern(volatile, parallel_unsafe)]
fn create_webhook(
    tenant: Option<Uuid>,
    url: Option<&str>,
    event_types: default!(Option<Vec<Option<String>>>, "'{*}'"),
    secret: default!(Option<&str>, "NULL"),
) -> Uuid {
    let _search_path = PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let url = required(url, "url");
    let event_types: Vec<String> = required(event_types, "event_types")
        .into_iter()
        .map(|pattern| required(pattern, "event_types"))
        .collect();
    validate_url(url);
    if event_types.is_empty() || !event_types.iter().all(|p| is_event_pattern(p)) {
        invalid_argument(format!(
            "argument \"event_types\" must be a non-empty list of event types, '*' or prefixes like 'invoice.*', got {event_types:?}"
        ));
    }
    let secret = secret_or_generated(secret);
    authorize_tenant(tenant, true);
    spi(Spi::connect_mut(|client| {
        client
            .update(
                &format!(
                    "INSERT INTO {} (tenant_id, name, url, event_types, secret) VALUES ($1, $2, $2, $3, $4) RETURNING id",
                    installation::qualified("webhooks")
                ),
                None,
                &[tenant.into(), url.into(), event_types.into(), secret.into()],
            )?
            .first()
            .get_one::<Uuid>()
    }))
    .unwrap_or_else(|| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, "create_webhook: no row inserted"))
}

/// Stores an event and creates one delivery for each active webhook of the
/// tenant that subscribes to it (exactly, by `*`, or by a prefix such as
/// `invoice.*`). A repeated idempotency key returns the first event and
/// delivers nothing again. The delivery worker is woken at commit.
///
/// Declared in webhooks.sql with `payload jsonb`. The payload stays the jsonb
/// datum the caller passed, untouched on its way into `webhook_events`: pgrx's
/// `JsonB` would parse it with serde_json, which reads numbers as f64
/// (`1234567890123456789.99` came out as `1234567890123456800`) and refuses
/// what jsonb accepts (`1e400`, deep nesting) with an internal error.
#[pg_extern(sql = false, volatile, parallel_unsafe)]
fn emit_webhook_event(
    tenant: Option<Uuid>,
    event_type: Option<&str>,
    payload: Option<AnyElement>,
    idempotency_key: Option<&str>,
) -> Uuid {
    let _search_path = PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let event_type = required(event_type, "event_type");
    let payload = required(payload, "payload");
    if !is_event_type(event_type) {
        invalid_argument(format!(
            "argument \"event_type\" must be lowercase dotted words such as invoice.paid, got \"{event_type}\""
        ));
    }
    check_idempotency_key(idempotency_key);
    check_payload_size(payload);
    authorize_tenant(tenant, true);
    let statement = with_schema(include_str!("queries/emit_event.sql"));
    let inserted = spi(Spi::connect_mut(|client| {
        let result = client.update(
            &statement,
            None,
            &[
                tenant.into(),
                event_type.into(),
                // SAFETY: the datum is the jsonb argument itself, valid for this call.
                unsafe { DatumWithOid::new(payload, pg_sys::JSONBOID) },
                idempotency_key.into(),
            ],
        )?;
        if result.is_empty() {
            return Ok(None);
        }
        result.first().get_one::<Uuid>()
    }));
    match inserted {
        Some(event) => {
            worker::wake_at_commit();
            event
        }
        None => spi(Spi::get_one_with_args::<Uuid>(
            &format!(
                "SELECT id FROM {} WHERE tenant_id = $1 AND idempotency_key = $2",
                installation::qualified("webhook_events")
            ),
            &[tenant.into(), idempotency_key.into()],
        ))
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "emit_webhook_event: no event",
            )
        }),
    }
}

/// Refuses a payload whose JSON text (what is sent) is longer than
/// `marimo_erp.webhook_max_payload_bytes`: `54000 program_limit_exceeded`, as
/// the webhook_events trigger does for direct inserts, here naming the argument.
fn check_payload_size(payload: AnyElement) {
    let cap = WEBHOOK_MAX_PAYLOAD_BYTES.get();
    // SAFETY: the datum is the jsonb argument itself, valid for this call.
    let size = read_value::<i32>(
        "SELECT pg_catalog.octet_length($1::pg_catalog.text)",
        &[unsafe { DatumWithOid::new(payload, pg_sys::JSONBOID) }],
    )
    .unwrap_or(0);
    if size > cap {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!(
                "argument \"payload\" is {size} bytes of JSON text, more than {WEBHOOK_MAX_PAYLOAD_BYTES_NAME} ({cap} bytes)"
            ),
            "Send a smaller payload, e.g. the ids the receiver fetches the rest by.",
        );
    }
}

/// Gives a webhook a new secret (generated when none is given) and keeps the
/// old one for `grace` (24 hours by default): until then every request carries
/// a signature with each, so receivers can switch at their pace. Returns the new secret.
#[pg_extern(volatile, parallel_unsafe)]
fn rotate_webhook_secret(
    tenant: Option<Uuid>,
    webhook: Option<Uuid>,
    secret: default!(Option<&str>, "NULL"),
    grace: default!(Option<Interval>, "'24 hours'"),
) -> String {
    let _search_path = PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let webhook = required(webhook, "webhook");
    let grace = required(grace, "grace");
    let secret = secret_or_generated(secret);
    let negative = spi(Spi::get_one_with_args::<bool>(
        "SELECT $1 < pg_catalog.make_interval()",
        &[grace.into()],
    ));
    if negative != Some(false) {
        invalid_argument("argument \"grace\" must not be negative");
    }
    let caller = authorize_tenant(tenant, true);
    let mut statement = with_schema(include_str!("queries/rotate_secret.sql"));
    if !installation::installed_at_least("0.11.0") {
        // The library newer than the SQL (before ALTER EXTENSION UPDATE, or
        // after a rollback): webhook_secrets is still keyed by its secret.
        statement = statement.replace(
            "    RETURNING 1",
            "    ON CONFLICT (tenant_id, webhook_id, secret) DO UPDATE SET expires_at = excluded.expires_at\n    RETURNING 1",
        );
    }
    let rotated = as_owner_for_applications(caller, || {
        spi(Spi::connect_mut(|client| {
            client
                .update(
                    &statement,
                    None,
                    &[
                        tenant.into(),
                        webhook.into(),
                        secret.as_str().into(),
                        grace.into(),
                    ],
                )
                .map(|status| status.len())
        }))
    });
    if rotated == 0 {
        raise(
            PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
            format!("webhook {webhook} of tenant {tenant} does not exist"),
        );
    }
    secret
}

/// Runs one UPDATE of a webhook or delivery of the tenant and raises P0002
/// naming `what` when it changed no row. Returns the number of rows changed.
fn update_or_missing(
    statement: &str,
    tenant: Uuid,
    id: Uuid,
    extra: Option<TimestampWithTimeZone>,
    what: &str,
) -> i64 {
    let mut args = vec![tenant.into(), id.into()];
    if let Some(since) = extra {
        args.push(since.into());
    }
    let changed = spi(Spi::connect_mut(|client| {
        client
            .update(statement, None, &args)
            .map(|s| s.len() as i64)
    }));
    if changed == 0 && extra.is_none() {
        raise(
            PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
            format!("{what} {id} of tenant {tenant} does not exist or is not in a state for this"),
        );
    }
    changed
}

/// Re-enables a webhook that was disabled (by its health or by a 410), resets
/// its failure count, and lets its pending deliveries go out again.
#[pg_extern(volatile, parallel_unsafe)]
fn enable_webhook(tenant: Option<Uuid>, webhook: Option<Uuid>) {
    let _search_path = PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let webhook = required(webhook, "webhook");
    let caller = authorize_tenant(tenant, true);
    as_owner_for_applications(caller, || {
        update_or_missing(
        &format!(
            "UPDATE {} SET is_active = true, disabled_at = NULL, disabled_reason = NULL, failure_count = 0,
                    failing_since = NULL
              WHERE tenant_id = $1 AND id = $2",
            installation::qualified("webhooks")
        ),
        tenant,
        webhook,
        None,
        "webhook",
    )
    });
    worker::wake_at_commit();
}

/// Sends a failed (or pending, or cancelled) delivery again now, with one more attempt.
#[pg_extern(volatile, parallel_unsafe)]
fn retry_webhook_delivery(tenant: Option<Uuid>, delivery: Option<Uuid>) {
    let _search_path = PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let delivery_id = required(delivery, "delivery");
    let caller = authorize_tenant(tenant, true);
    as_owner_for_applications(caller, || {
        update_or_missing(
        &format!(
            "UPDATE {} SET status = 'pending', next_attempt_at = pg_catalog.now(), last_error = NULL,
                    max_attempts = GREATEST(max_attempts, attempts + 1)
              WHERE tenant_id = $1 AND id = $2 AND status IN ('failed', 'pending', 'cancelled')",
            installation::qualified("webhook_deliveries")
        ),
        tenant,
        delivery_id,
        None,
        "delivery",
    )
    });
    worker::wake_at_commit();
}

/// Sends again every failed delivery of a webhook created since `since`, each
/// with one more attempt. Returns how many.
#[pg_extern(volatile, parallel_unsafe)]
fn replay_webhook_deliveries(
    tenant: Option<Uuid>,
    webhook: Option<Uuid>,
    since: Option<TimestampWithTimeZone>,
) -> i64 {
    let _search_path = PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let webhook = required(webhook, "webhook");
    let since = required(since, "since");
    let caller = authorize_tenant(tenant, true);
    let replayed = as_owner_for_applications(caller, || {
        update_or_missing(
        &format!(
            "UPDATE {} SET status = 'pending', next_attempt_at = pg_catalog.now(), last_error = NULL,
                    max_attempts = GREATEST(max_attempts, attempts + 1)
              WHERE tenant_id = $1 AND webhook_id = $2 AND status = 'failed' AND created_at >= $3",
            installation::qualified("webhook_deliveries")
        ),
        tenant,
        webhook,
        Some(since),
        "webhook",
    )
    });
    worker::wake_at_commit();
    replayed
}
