//! SendGrid Event Webhook ingestion (version 0.11.0): a signed batch of events
//! is verified, recorded once per `sg_event_id` in the `sendgrid_events` inbox,
//! and folded into the suppression state of the tenant's `sendgrid_contacts`.
//!
//! Verification follows SendGrid's scheme (the helpers in sendgrid-python's
//! `sendgrid/helpers/eventwebhook` and their unit test): ECDSA P-256 with
//! SHA-256 over the bytes of the `X-Twilio-Email-Event-Webhook-Timestamp` header
//! followed by the raw request body (its trailing `\r\n` included), the
//! signature in `X-Twilio-Email-Event-Webhook-Signature` as base64 DER, the
//! verification key as base64 DER SubjectPublicKeyInfo. The key is public, so
//! it lives in `integrations.config->>'verification_key'`, not in the credentials.
//!
//! The fold is order-proof: every field it writes is a register that keeps the
//! value of the greatest event by (timestamp, sg_event_id in byte order), or
//! the latest time, and the status is a function of those registers only (see
//! `FOLD`). Merging is then commutative, associative and idempotent, so a batch
//! gives the same rows in any order, split across any number of calls, and a
//! replay (or an event seen again after the inbox was purged) changes nothing.

use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use pgrx::datum::Interval;
use pgrx::prelude::*;
use pgrx::{PgSqlErrorCode, Uuid};
use serde::Deserialize;

use crate::infra::errors::{invalid_argument, raise, raise_with_hint, required, spi};
use crate::infra::guard::{with_owner_privileges, PinnedSearchPath};
use crate::infra::spi::{with_schema, write_value};
use crate::tenancy::access::{as_owner_for_applications, authorize_tenant, caller, Caller};
use crate::tenancy::context::current_tenant;

/// The key of `integrations.config` that holds the Event Webhook's verification key.
pub const VERIFICATION_KEY: &str = "verification_key";

/// The event types that change a contact; any other is recorded and ignored.
const KNOWN_EVENTS: [&str; 11] = [
    "processed",
    "delivered",
    "deferred",
    "bounce",
    "dropped",
    "spamreport",
    "unsubscribe",
    "group_unsubscribe",
    "group_resubscribe",
    "open",
    "click",
];

/// The longest `sg_event_id`, `event` and `email` an event may carry (as the
/// inbox's CHECKs say).
const MOST_ID_CHARACTERS: usize = 255;
const MOST_EVENT_CHARACTERS: usize = 100;
const MOST_EMAIL_CHARACTERS: usize = 320;
/// Latest event time accepted: the end of year 9999, as timestamptz allows.
const LATEST_UNIX_SECONDS: i64 = 253_402_300_799;

/// Why a signature was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The verification key is not base64 DER SubjectPublicKeyInfo of a P-256 key.
    BadKey(String),
    /// The signature header is not base64 of a DER ECDSA signature.
    Malformed(String),
    /// A well-formed signature that does not verify.
    Mismatch,
}

/// The verification key from its base64 DER text. Whitespace is ignored, and so
/// are PEM armour lines, so the key can be pasted as SendGrid shows it.
pub fn verifying_key(text: &str) -> Result<VerifyingKey, Refusal> {
    let base64: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("-----"))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(base64.as_bytes())
        .map_err(|error| Refusal::BadKey(format!("not base64: {error}")))?;
    VerifyingKey::from_public_key_der(&der).map_err(|error| {
        Refusal::BadKey(format!(
            "not a DER SubjectPublicKeyInfo of a P-256 key: {error}"
        ))
    })
}

/// Checks SendGrid's signature (base64 DER ECDSA P-256/SHA-256) over the bytes
/// of `signed_at` followed by the bytes of `payload`, exactly as received.
pub fn verify(
    key: &VerifyingKey,
    signed_at: &str,
    payload: &str,
    signature: &str,
) -> Result<(), Refusal> {
    let der = base64::engine::general_purpose::STANDARD
        .decode(signature.trim().as_bytes())
        .map_err(|error| Refusal::Malformed(format!("not base64: {error}")))?;
    let signature = Signature::from_der(&der)
        .map_err(|error| Refusal::Malformed(format!("not a DER ECDSA signature: {error}")))?;
    let mut message = Vec::with_capacity(signed_at.len() + payload.len());
    message.extend_from_slice(signed_at.as_bytes());
    message.extend_from_slice(payload.as_bytes());
    key.verify(&message, &signature)
        .map_err(|_| Refusal::Mismatch)
}

/// The fields of an event that the inbox and the fold read; the whole object is
/// kept as the payload. Unknown fields are fine: SendGrid adds them over time.
#[derive(Deserialize)]
struct EventFields {
    sg_event_id: String,
    event: String,
    email: String,
    timestamp: i64,
    sg_message_id: Option<String>,
    reason: Option<String>,
    #[serde(rename = "type")]
    bounce_type: Option<String>,
    status: Option<String>,
    asm_group_id: Option<i64>,
}

/// One event of a batch, checked.
pub struct Event {
    sg_event_id: String,
    event: String,
    email: String,
    timestamp: i64,
    sg_message_id: Option<String>,
    reason: Option<String>,
    bounce_type: Option<String>,
    smtp_status: Option<String>,
    asm_group_id: Option<i32>,
    /// The event's JSON object, as text, for the inbox's payload.
    payload: String,
}

impl Event {
    /// Whether the fold reads this event: a known type with what that type needs
    /// (a bounce's type is bounce or blocked, bounce when absent; a group event
    /// names its group).
    fn known(&self) -> bool {
        KNOWN_EVENTS.contains(&self.event.as_str())
            && match self.event.as_str() {
                "bounce" => matches!(
                    self.bounce_type.as_deref(),
                    None | Some("bounce" | "blocked")
                ),
                "group_unsubscribe" | "group_resubscribe" => self.asm_group_id.is_some(),
                _ => true,
            }
    }

    /// The bounce type the contact records: SendGrid's `type`, `bounce` when absent.
    fn contact_bounce_type(&self) -> Option<&str> {
        (self.event == "bounce").then(|| self.bounce_type.as_deref().unwrap_or("bounce"))
    }
}

/// The events of a batch body (a JSON array of objects), parsed from the raw text.
/// `Err` says which event is wrong and why.
pub fn parse_batch(payload: &str) -> Result<Vec<Event>, String> {
    let values: Vec<serde_json::Value> = serde_json::from_str(payload)
        .map_err(|error| format!("is not a JSON array of events: {error}"))?;
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            let position = index + 1;
            if !value.is_object() {
                return Err(format!("event {position} is not a JSON object"));
            }
            let fields = EventFields::deserialize(&value)
                .map_err(|error| format!("event {position}: {error}"))?;
            let check = |name: &str, text: &str, most: usize| {
                if text.trim().is_empty() || text.chars().count() > most {
                    Err(format!(
                        "event {position}: \"{name}\" must be 1 to {most} characters long and not blank"
                    ))
                } else {
                    Ok(())
                }
            };
            check("sg_event_id", &fields.sg_event_id, MOST_ID_CHARACTERS)?;
            check("event", &fields.event, MOST_EVENT_CHARACTERS)?;
            check("email", &fields.email, MOST_EMAIL_CHARACTERS)?;
            if !(0..=LATEST_UNIX_SECONDS).contains(&fields.timestamp) {
                return Err(format!(
                    "event {position}: \"timestamp\" must be Unix seconds from 0 to {LATEST_UNIX_SECONDS}"
                ));
            }
            // An id out of int4's range is no SendGrid group: the event is ignored.
            let asm_group_id = fields.asm_group_id.and_then(|id| i32::try_from(id).ok());
            Ok(Event {
                payload: value.to_string(),
                sg_event_id: fields.sg_event_id,
                event: fields.event,
                email: fields.email,
                timestamp: fields.timestamp,
                sg_message_id: fields.sg_message_id,
                reason: fields.reason,
                bounce_type: fields.bounce_type,
                smtp_status: fields.status,
                asm_group_id,
            })
        })
        .collect()
}

/// The integration: its tenant, provider, status and verification key. An
/// application reads only the current tenant's; an operator any.
const INTEGRATION: &str = "
    SELECT i.tenant_id, i.provider, i.status, i.config ->> 'verification_key'
      FROM @extschema@.integrations i
     WHERE i.id = $1 AND ($2::pg_catalog.uuid IS NULL OR i.tenant_id = $2)
     LIMIT 2";

/// Records an event once: nothing when its sg_event_id is already in the inbox
/// for this integration (a duplicate), else its outcome.
const RECORD: &str = "
    INSERT INTO @extschema@.sendgrid_events AS e
           (tenant_id, integration_id, sg_event_id, event, email, occurred_at, sg_message_id,
            reason, bounce_type, smtp_status, asm_group_id, outcome, payload)
    SELECT $1, $2, $3, $4, $5, pg_catalog.to_timestamp($6::pg_catalog.float8), $7, $8, $9, $10, $11,
           CASE WHEN $13 AND EXISTS (SELECT FROM @extschema@.sendgrid_contacts c
                                      WHERE c.tenant_id = $1 AND c.email = pg_catalog.lower($5))
                THEN 'applied' ELSE 'ignored' END,
           $12::pg_catalog.jsonb
        ON CONFLICT (tenant_id, integration_id, sg_event_id) DO NOTHING
    RETURNING e.outcome";

/// Folds one event into its contact ($1 tenant, $2 e-mail, $3 event, $4 Unix
/// seconds, $5 sg_event_id, $6 bounce type, $7 reason, $8 ASM group id).
/// Registers: the last event, the last bounce (bounce or blocked, with its
/// reason) and each group's last (un)subscribe keep the greatest event by
/// (timestamp, sg_event_id in byte order); spam_reported_at and unsubscribed_at
/// keep the latest time. The status follows from them by precedence
/// (spam_report, then bounced for a last bounce of type bounce, then
/// unsubscribed, then subscribed), recomputed by the events that move those
/// registers (bounce, spamreport, unsubscribe), so the last of those sees them
/// final whatever the order. Rows that would not change are not written.
const FOLD: &str = r#"
    WITH o AS (
        SELECT c.id, c.status, c.last_event, c.last_event_at, c.last_event_id, c.bounce_type,
               c.bounce_reason, c.bounced_at, c.bounce_event_id, c.spam_reported_at,
               c.unsubscribed_at, c.asm_group_states, t.at,
               (c.last_event_at IS NULL OR t.at > c.last_event_at
                OR (t.at = c.last_event_at
                    AND $5 COLLATE pg_catalog."C" > COALESCE(c.last_event_id, '') COLLATE pg_catalog."C"))
                   AS last_newer,
               ($3 = 'bounce'
                AND (c.bounced_at IS NULL OR t.at > c.bounced_at
                     OR (t.at = c.bounced_at
                         AND $5 COLLATE pg_catalog."C" > COALESCE(c.bounce_event_id, '') COLLATE pg_catalog."C")))
                   AS bounce_newer,
               ($3 IN ('group_unsubscribe', 'group_resubscribe') AND $8 IS NOT NULL
                AND (g.state IS NULL OR $4 > (g.state ->> 'at')::pg_catalog.int8
                     OR ($4 = (g.state ->> 'at')::pg_catalog.int8
                         AND $5 COLLATE pg_catalog."C" > COALESCE(g.state ->> 'id', '') COLLATE pg_catalog."C")))
                   AS group_newer
          FROM @extschema@.sendgrid_contacts c
         CROSS JOIN (SELECT pg_catalog.to_timestamp($4::pg_catalog.float8) AS at) t
         CROSS JOIN LATERAL (SELECT c.asm_group_states -> ($8::pg_catalog.int4::pg_catalog.text) AS state) g
         WHERE c.tenant_id = $1 AND c.email = pg_catalog.lower($2)
           FOR UPDATE OF c
    ), r AS (
        SELECT o.id, o.status,
               CASE WHEN o.last_newer THEN $3::pg_catalog.text ELSE o.last_event END AS last_event,
               CASE WHEN o.last_newer THEN o.at ELSE o.last_event_at END AS last_event_at,
               CASE WHEN o.last_newer THEN $5::pg_catalog.text ELSE o.last_event_id END AS last_event_id,
               CASE WHEN o.bounce_newer THEN $6::pg_catalog.text ELSE o.bounce_type END AS bounce_type,
               CASE WHEN o.bounce_newer THEN $7::pg_catalog.text ELSE o.bounce_reason END AS bounce_reason,
               CASE WHEN o.bounce_newer THEN o.at ELSE o.bounced_at END AS bounced_at,
               CASE WHEN o.bounce_newer THEN $5::pg_catalog.text ELSE o.bounce_event_id END AS bounce_event_id,
               CASE WHEN $3 = 'spamreport' THEN GREATEST(o.spam_reported_at, o.at)
                    ELSE o.spam_reported_at END AS spam_reported_at,
               CASE WHEN $3 = 'unsubscribe' THEN GREATEST(o.unsubscribed_at, o.at)
                    ELSE o.unsubscribed_at END AS unsubscribed_at,
               CASE WHEN o.group_newer
                    -- COALESCE: the planner folds this branch with the parameters'
                    -- values even when it is not taken, and a NULL key is an error.
                    THEN o.asm_group_states || pg_catalog.jsonb_build_object(
                             COALESCE($8::pg_catalog.int4::pg_catalog.text, ''),
                             pg_catalog.jsonb_build_object('event', $3::pg_catalog.text, 'at', $4::pg_catalog.int8,
                                                           'id', $5::pg_catalog.text))
                    ELSE o.asm_group_states END AS asm_group_states
          FROM o
    ), n AS (
        SELECT r.*,
               ARRAY(SELECT s.k::pg_catalog.int4 FROM pg_catalog.jsonb_each(r.asm_group_states) AS s(k, v)
                      WHERE s.v ->> 'event' = 'group_unsubscribe' ORDER BY 1) AS suppressed_groups,
               CASE WHEN $3 NOT IN ('bounce', 'spamreport', 'unsubscribe') THEN r.status
                    WHEN r.spam_reported_at IS NOT NULL THEN 'spam_report'
                    WHEN r.bounce_type = 'bounce' THEN 'bounced'
                    WHEN r.unsubscribed_at IS NOT NULL THEN 'unsubscribed'
                    ELSE 'subscribed' END AS new_status
          FROM r
    )
    UPDATE @extschema@.sendgrid_contacts c
       SET status = n.new_status, unsubscribed_at = n.unsubscribed_at,
           bounce_type = n.bounce_type, bounce_reason = n.bounce_reason, bounced_at = n.bounced_at,
           bounce_event_id = n.bounce_event_id, spam_reported_at = n.spam_reported_at,
           suppressed_groups = n.suppressed_groups, asm_group_states = n.asm_group_states,
           last_event = n.last_event, last_event_at = n.last_event_at, last_event_id = n.last_event_id
      FROM n
     WHERE c.tenant_id = $1 AND c.id = n.id
       AND (c.status, c.unsubscribed_at, c.bounce_type, c.bounce_reason, c.bounced_at, c.bounce_event_id,
            c.spam_reported_at, c.suppressed_groups, c.asm_group_states, c.last_event, c.last_event_at,
            c.last_event_id)
           IS DISTINCT FROM
           (n.new_status, n.unsubscribed_at, n.bounce_type, n.bounce_reason, n.bounced_at, n.bounce_event_id,
            n.spam_reported_at, n.suppressed_groups, n.asm_group_states, n.last_event, n.last_event_at,
            n.last_event_id)
    RETURNING c.id"#;

/// Locks the contact with this address, if there is one, for the rest of the transaction.
const LOCK_CONTACT: &str = "
    SELECT 1 FROM @extschema@.sendgrid_contacts c
     WHERE c.tenant_id = $1 AND c.email = pg_catalog.lower($2)
       FOR UPDATE";

/// One integration_logs row for the call, and the integration's last_sync_at.
const LOG: &str = "
    WITH logged AS (
        INSERT INTO @extschema@.integration_logs
               (tenant_id, integration_id, operation, direction, http_method, request_payload,
                response_payload, status, duration_ms)
        VALUES ($1, $2, 'sendgrid.event_webhook', 'inbound', 'POST',
                pg_catalog.jsonb_build_object('events', $3::pg_catalog.int4, 'bytes', $4::pg_catalog.int4,
                                              'signed_at', $5::pg_catalog.text),
                pg_catalog.jsonb_build_object('applied', $6::pg_catalog.int4, 'duplicate', $7::pg_catalog.int4,
                                              'ignored', $8::pg_catalog.int4),
                'success', $9::pg_catalog.int4)
        RETURNING 1
    )
    UPDATE @extschema@.integrations SET last_sync_at = pg_catalog.now()
     WHERE tenant_id = $1 AND id = $2
    RETURNING (SELECT pg_catalog.count(*) FROM logged)::pg_catalog.int8";

/// Raises `28000 invalid_authorization_specification`: the request is not SendGrid's.
fn refuse(message: impl Into<String>, hint: &str) -> ! {
    raise_with_hint(
        PgSqlErrorCode::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
        message,
        hint,
    )
}

/// The integration's tenant and verification key, for this caller.
fn integration_of(integration: Uuid, caller: Caller) -> (Uuid, Option<String>) {
    let scope = match caller {
        Caller::Application => Some(current_tenant().unwrap_or_else(|| {
            raise_with_hint(
                PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                "no tenant is set, so no integration can be ingested for",
                "Call set_tenant() with the integration's tenant first, in the same transaction.",
            )
        })),
        _ => None,
    };
    let statement = with_schema(INTEGRATION);
    let rows = with_owner_privileges(|| {
        spi(Spi::connect(|client| {
            let mut rows = Vec::new();
            for row in client.select(&statement, None, &[integration.into(), scope.into()])? {
                rows.push((
                    row.get::<Uuid>(1)?,
                    row.get::<String>(2)?.unwrap_or_default(),
                    row.get::<String>(3)?.unwrap_or_default(),
                    row.get::<String>(4)?,
                ));
            }
            Ok(rows)
        }))
    });
    let (tenant, provider, status, key) = match rows.as_slice() {
        [row] => row.clone(),
        [] if caller == Caller::Application => raise(
            // The same answer for another tenant's integration and for none, so
            // that an application cannot tell the two apart.
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("integration {integration} is not an integration of the current tenant"),
        ),
        [] => raise(
            PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
            format!("integration {integration} does not exist"),
        ),
        _ => raise_with_hint(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "argument \"integration\": {integration} names integrations of several tenants"
            ),
            "Call set_tenant() with the tenant whose integration it is.",
        ),
    };
    let tenant = tenant.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "integration without tenant",
        )
    });
    if provider != "sendgrid" {
        invalid_argument(format!(
            "argument \"integration\": {integration} is a {provider} integration, not a sendgrid one"
        ));
    }
    if status == "disabled" {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("integration {integration} is disabled"),
        );
    }
    (tenant, key)
}

/// Refuses a `signed_at` farther than `tolerance` from now, in either direction.
fn check_freshness(signed_at: &str, tolerance_seconds: f64) {
    let Ok(seconds) = signed_at.trim().parse::<i64>() else {
        invalid_argument(format!(
            "argument \"signed_at\" must be Unix seconds, got \"{signed_at}\""
        ));
    };
    let now = spi(Spi::get_one::<f64>(
        "SELECT pg_catalog.date_part('epoch', pg_catalog.now())",
    ))
    .unwrap_or_default();
    let skew = now - seconds as f64;
    if skew.abs() > tolerance_seconds {
        refuse(
            format!(
                "signed_at {seconds} is {} seconds {} now, beyond the tolerance of {tolerance_seconds} seconds",
                skew.abs().round(),
                if skew >= 0.0 { "before" } else { "after" }
            ),
            "A stale or replayed request, or a clock off: check the server's clock; pass tolerance => NULL only to re-ingest a stored request.",
        );
    }
}

/// Verifies a SendGrid Event Webhook request and ingests its batch of events
/// for `integration` (provider sendgrid), returning each event's outcome.
#[allow(clippy::type_complexity)]
// parallel_unsafe: it writes; the tenant context is read in this backend only.
#[pg_extern(volatile, parallel_unsafe)]
fn ingest_sendgrid_events(
    integration: Option<Uuid>,
    payload: Option<&str>,
    signature: Option<&str>,
    signed_at: Option<&str>,
    tolerance: default!(Option<Interval>, "'5 minutes'"),
) -> TableIterator<
    'static,
    (
        name!(sg_event_id, String),
        name!(event, String),
        name!(outcome, String),
    ),
> {
    let started = std::time::Instant::now();
    let _search_path = PinnedSearchPath::new();
    let integration = required(integration, "integration");
    let payload = required(payload, "payload");
    let signature = required(signature, "signature");
    let signed_at = required(signed_at, "signed_at");
    let tolerance_seconds = tolerance.map(|tolerance| {
        let seconds = spi(Spi::get_one_with_args::<f64>(
            "SELECT pg_catalog.date_part('epoch', $1::pg_catalog.interval)",
            &[tolerance.into()],
        ))
        .unwrap_or_default();
        if seconds < 0.0 {
            invalid_argument("argument \"tolerance\" must not be negative");
        }
        seconds
    });

    let caller = caller();
    let (tenant, key) = integration_of(integration, caller);
    authorize_tenant(tenant, true);

    let hint_key = format!(
        "Set the integration's config->>'{VERIFICATION_KEY}' to the verification key of SendGrid's signed Event Webhook (base64 DER)."
    );
    let Some(key) = key else {
        refuse(
            format!("integration {integration} has no config->>'{VERIFICATION_KEY}'"),
            &hint_key,
        );
    };
    let key = match verifying_key(&key) {
        Ok(key) => key,
        Err(Refusal::BadKey(why)) => refuse(
            format!("the verification key of integration {integration} is {why}"),
            &hint_key,
        ),
        Err(_) => unreachable!("verifying_key refuses only a key"),
    };
    match verify(&key, signed_at, payload, signature) {
        Ok(()) => {}
        Err(Refusal::Malformed(why)) => {
            invalid_argument(format!("argument \"signature\" is {why}"))
        }
        Err(_) => refuse(
            "the SendGrid signature does not verify: the body, signed_at or key differ from what SendGrid signed",
            "Pass the raw request body unchanged (with its trailing \\r\\n) and the headers X-Twilio-Email-Event-Webhook-Signature and X-Twilio-Email-Event-Webhook-Timestamp as received.",
        ),
    }
    if let Some(tolerance_seconds) = tolerance_seconds {
        check_freshness(signed_at, tolerance_seconds);
    }
    let events = parse_batch(payload)
        .unwrap_or_else(|why| invalid_argument(format!("argument \"payload\" {why}")));

    // Processed in one global order, so that concurrent calls with overlapping
    // batches (SendGrid posts in parallel and retries) take their locks in the
    // same order and cannot deadlock: address by address (sorted), first the
    // contact's row, then the inbox keys of its events (sorted by sg_event_id).
    // The fold does not depend on the order; outcomes come back in the batch's.
    let addresses: Vec<String> = events.iter().map(|e| e.email.to_lowercase()).collect();
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by(|&a, &b| {
        (&addresses[a], &events[a].sg_event_id, a).cmp(&(&addresses[b], &events[b].sg_event_id, b))
    });
    let outcomes = as_owner_for_applications(caller, || {
        let mut outcomes = vec![(String::new(), String::new(), String::new()); events.len()];
        let mut locked: Option<&str> = None;
        for &index in &order {
            let event = &events[index];
            if locked != Some(addresses[index].as_str()) {
                write_value::<i32>(LOCK_CONTACT, &[tenant.into(), event.email.as_str().into()]);
                locked = Some(addresses[index].as_str());
            }
            let recorded = write_value::<String>(
                RECORD,
                &[
                    tenant.into(),
                    integration.into(),
                    event.sg_event_id.as_str().into(),
                    event.event.as_str().into(),
                    event.email.as_str().into(),
                    event.timestamp.into(),
                    event.sg_message_id.as_deref().into(),
                    event.reason.as_deref().into(),
                    event.bounce_type.as_deref().into(),
                    event.smtp_status.as_deref().into(),
                    event.asm_group_id.into(),
                    event.payload.as_str().into(),
                    event.known().into(),
                ],
            );
            let outcome = recorded.unwrap_or_else(|| "duplicate".to_owned());
            if outcome == "applied" {
                write_value::<Uuid>(
                    FOLD,
                    &[
                        tenant.into(),
                        event.email.as_str().into(),
                        event.event.as_str().into(),
                        event.timestamp.into(),
                        event.sg_event_id.as_str().into(),
                        event.contact_bounce_type().into(),
                        event.reason.as_deref().into(),
                        event.asm_group_id.into(),
                    ],
                );
            }
            outcomes[index] = (event.sg_event_id.clone(), event.event.clone(), outcome);
        }
        let count = |wanted: &str| {
            outcomes
                .iter()
                .filter(|(_, _, outcome)| outcome == wanted)
                .count() as i32
        };
        let clamp = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let elapsed = clamp(started.elapsed().as_millis() as usize);
        write_value::<i64>(
            LOG,
            &[
                tenant.into(),
                integration.into(),
                clamp(events.len()).into(),
                clamp(payload.len()).into(),
                signed_at.into(),
                count("applied").into(),
                count("duplicate").into(),
                count("ignored").into(),
                elapsed.into(),
            ],
        );
        outcomes
    });
    TableIterator::new(outcomes)
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    // SendGrid's own test vector (sendgrid-python, test/unit/test_eventwebhook.py).
    const KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
    const OTHER_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==";
    const SIGNATURE: &str = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=";
    const OTHER_SIGNATURE: &str = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=";
    const TIMESTAMP: &str = "1600112502";
    const PAYLOAD: &str = "[{\"email\":\"hello@world.com\",\"event\":\"dropped\",\"reason\":\"Bounced Address\",\"sg_event_id\":\"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA\",\"sg_message_id\":\"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0\",\"smtp-id\":\"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>\",\"timestamp\":1600112492}]\r\n";

    #[pg_test]
    fn sendgrid_vector_and_its_negative_cases() {
        let key = verifying_key(KEY).unwrap();
        assert_eq!(verify(&key, TIMESTAMP, PAYLOAD, SIGNATURE), Ok(()));
        let other = verifying_key(OTHER_KEY).unwrap();
        assert_eq!(
            verify(&other, TIMESTAMP, PAYLOAD, SIGNATURE),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify(&key, TIMESTAMP, "payload", SIGNATURE),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify(&key, TIMESTAMP, PAYLOAD, OTHER_SIGNATURE),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify(&key, "timestamp", PAYLOAD, SIGNATURE),
            Err(Refusal::Mismatch)
        );
        // Without the trailing \r\n the body is not what SendGrid signed.
        assert_eq!(
            verify(&key, TIMESTAMP, PAYLOAD.trim_end(), SIGNATURE),
            Err(Refusal::Mismatch)
        );
        assert!(matches!(
            verify(&key, TIMESTAMP, PAYLOAD, "not base64!"),
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(verifying_key("AAAA"), Err(Refusal::BadKey(_))));
        let events = parse_batch(PAYLOAD).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, "dropped");
        assert_eq!(events[0].timestamp, 1_600_112_492);
        assert!(events[0].known());
        assert!(parse_batch("{}").is_err());
        assert!(parse_batch("[{\"event\":\"open\"}]").is_err());
    }
}
