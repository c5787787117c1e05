//! Webhooks: endpoints, the events to dispatch, delivery attempts and their
//! request/response logs (version 0.3.0); events fanned out to deliveries that a
//! background worker sends, signed as Standard Webhooks, with retries (0.8.0).

use pgrx::datum::{Interval, JsonB, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::{PgSqlErrorCode, Uuid};

use crate::errors::{invalid_argument, raise, required, spi};
use crate::extension;
use crate::retention::{self, LogTable};
use crate::security::{self, Caller};

pub mod delivery;
pub mod signing;
pub mod worker;

pgrx::extension_sql_file!(
    "../../sql/webhooks.sql",
    name = "webhooks",
    requires = ["analytics", cleanup_webhook_logs]
);

const WEBHOOK_LOG: LogTable = LogTable {
    table: "webhook_logs",
    time_column: "created_at",
    only_where: None,
};
/// Deliveries that are over: delivered, failed (kept for replay until now) or cancelled.
const FINISHED_DELIVERIES: LogTable = LogTable {
    table: "webhook_deliveries",
    time_column: "updated_at",
    only_where: Some("status IN ('succeeded', 'failed', 'cancelled')"),
};
/// Events no delivery refers to any more.
const SPENT_EVENTS: LogTable = LogTable {
    table: "webhook_events",
    time_column: "created_at",
    only_where: Some(
        "NOT EXISTS (SELECT FROM @extschema@.webhook_deliveries d
                      WHERE d.tenant_id = webhook_events.tenant_id AND d.event_id = webhook_events.id)",
    ),
};

/// Deletes webhook logs older than `retention` (30 days by default, as the seed),
/// then the deliveries that finished before then and the events they leave behind.
/// SECURITY DEFINER: operators run it without owning the log partitions it drops.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn cleanup_webhook_logs(
    retention: default!(Option<Interval>, "'30 days'"),
    batch_size: default!(Option<i32>, "10000"),
) -> i64 {
    retention::purge(&WEBHOOK_LOG, retention, batch_size)
        + retention::purge(&FINISHED_DELIVERIES, retention, batch_size)
        + retention::purge(&SPENT_EVENTS, retention, batch_size)
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

fn validate_idempotency_key(key: Option<&str>) {
    if let Some(key) = key {
        if key.is_empty() || key.len() > 255 {
            invalid_argument("argument \"idempotency_key\" must be 1 to 255 bytes long");
        }
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

/// Runs `work` as the extension owner for application callers, who may not
/// read the secrets it needs; as the caller otherwise.
fn with_secret_access<R>(caller: Caller, work: impl FnOnce() -> R) -> R {
    match caller {
        Caller::Application => security::with_owner_privileges(work),
        _ => work(),
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
    let _search_path = crate::security::PinnedSearchPath::new();
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
    security::authorize_tenant(tenant, true);
    spi(Spi::connect_mut(|client| {
        client
            .update(
                &format!(
                    "INSERT INTO {} (tenant_id, name, url, event_types, secret) VALUES ($1, $2, $2, $3, $4) RETURNING id",
                    extension::qualified("webhooks")
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
#[pg_extern(volatile, parallel_unsafe)]
fn emit_webhook_event(
    tenant: Option<Uuid>,
    event_type: Option<&str>,
    payload: Option<JsonB>,
    idempotency_key: default!(Option<&str>, "NULL"),
) -> Uuid {
    let _search_path = crate::security::PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let event_type = required(event_type, "event_type");
    let payload = required(payload, "payload");
    if !is_event_type(event_type) {
        invalid_argument(format!(
            "argument \"event_type\" must be lowercase dotted words such as invoice.paid, got \"{event_type}\""
        ));
    }
    validate_idempotency_key(idempotency_key);
    security::authorize_tenant(tenant, true);
    let events = extension::qualified("webhook_events");
    let statement = format!(
        "WITH inserted AS (
             INSERT INTO {events} (tenant_id, event_type, payload, idempotency_key) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
             RETURNING id
         ), fanned_out AS (
             INSERT INTO {deliveries} (tenant_id, webhook_id, event_id, max_attempts, next_attempt_at)
             SELECT $1, w.id, i.id, w.max_attempts, pg_catalog.now()
               FROM inserted i JOIN {webhooks} w ON w.tenant_id = $1 AND w.is_active
              WHERE EXISTS (SELECT FROM pg_catalog.unnest(w.event_types) AS p(pattern)
                             WHERE p.pattern = '*' OR p.pattern = $2
                                OR (p.pattern LIKE '%.*' AND pg_catalog.starts_with($2, pg_catalog.left(p.pattern, -1))))
             RETURNING 1
         )
         SELECT id FROM inserted WHERE (SELECT pg_catalog.count(*) FROM fanned_out) >= 0",
        deliveries = extension::qualified("webhook_deliveries"),
        webhooks = extension::qualified("webhooks"),
    );
    let inserted = spi(Spi::connect_mut(|client| {
        let result = client.update(
            &statement,
            None,
            &[
                tenant.into(),
                event_type.into(),
                payload.into(),
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
            &format!("SELECT id FROM {events} WHERE tenant_id = $1 AND idempotency_key = $2"),
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
    let _search_path = crate::security::PinnedSearchPath::new();
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
    let caller = security::authorize_tenant(tenant, true);
    let statement = format!(
        "WITH current AS (
             SELECT tenant_id, id, secret FROM {webhooks} WHERE tenant_id = $1 AND id = $2 FOR UPDATE
         ), kept AS (
             INSERT INTO {previous} (tenant_id, webhook_id, secret, expires_at)
             SELECT tenant_id, id, secret, pg_catalog.now() + $4 FROM current
             ON CONFLICT (tenant_id, webhook_id, secret) DO UPDATE SET expires_at = excluded.expires_at
             RETURNING 1
         )
         UPDATE {webhooks} w SET secret = $3 FROM current
          WHERE w.tenant_id = current.tenant_id AND w.id = current.id AND (SELECT pg_catalog.count(*) FROM kept) >= 0
         RETURNING w.id",
        webhooks = extension::qualified("webhooks"),
        previous = extension::qualified("webhook_secrets"),
    );
    let rotated = with_secret_access(caller, || {
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
    let _search_path = crate::security::PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let webhook = required(webhook, "webhook");
    security::authorize_tenant(tenant, true);
    update_or_missing(
        &format!(
            "UPDATE {} SET is_active = true, disabled_at = NULL, disabled_reason = NULL, failure_count = 0,
                    failing_since = NULL
              WHERE tenant_id = $1 AND id = $2",
            extension::qualified("webhooks")
        ),
        tenant,
        webhook,
        None,
        "webhook",
    );
    worker::wake_at_commit();
}

/// Sends a failed (or pending, or cancelled) delivery again now, with one more attempt.
#[pg_extern(volatile, parallel_unsafe)]
fn retry_webhook_delivery(tenant: Option<Uuid>, delivery: Option<Uuid>) {
    let _search_path = crate::security::PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let delivery_id = required(delivery, "delivery");
    security::authorize_tenant(tenant, true);
    update_or_missing(
        &format!(
            "UPDATE {} SET status = 'pending', next_attempt_at = pg_catalog.now(), last_error = NULL,
                    max_attempts = GREATEST(max_attempts, attempts + 1)
              WHERE tenant_id = $1 AND id = $2 AND status IN ('failed', 'pending', 'cancelled')",
            extension::qualified("webhook_deliveries")
        ),
        tenant,
        delivery_id,
        None,
        "delivery",
    );
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
    let _search_path = crate::security::PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let webhook = required(webhook, "webhook");
    let since = required(since, "since");
    security::authorize_tenant(tenant, true);
    let replayed = update_or_missing(
        &format!(
            "UPDATE {} SET status = 'pending', next_attempt_at = pg_catalog.now(), last_error = NULL,
                    max_attempts = GREATEST(max_attempts, attempts + 1)
              WHERE tenant_id = $1 AND webhook_id = $2 AND status = 'failed' AND created_at >= $3",
            extension::qualified("webhook_deliveries")
        ),
        tenant,
        webhook,
        Some(since),
        "webhook",
    );
    worker::wake_at_commit();
    replayed
}

pgrx::extension_sql_file!(
    "../../sql/webhook_delivery.sql",
    name = "webhook_delivery",
    requires = [
        "security",
        create_webhook,
        emit_webhook_event,
        rotate_webhook_secret,
        enable_webhook,
        retry_webhook_delivery,
        replay_webhook_deliveries,
        signing::webhook_generate_secret,
        signing::webhook_sign,
        signing::webhook_verify
    ]
);
