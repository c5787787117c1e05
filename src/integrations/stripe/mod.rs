//! Stripe ingestion (version 0.11.0): verified, idempotent, order-proof events
//! of each tenant's Stripe integrations (`ingest_stripe_event`), and of the
//! platform's own account, which bills the tenants (`ingest_platform_stripe_event`).
//!
//! Each call verifies the `Stripe-Signature` header (`signature`), parses the raw
//! body with serde (`event`), and applies the state the event carries only when
//! it is later in Stripe's event order than the state a mirror row holds:
//! `(created, rank, event id)`, where rank puts a terminal state (a deleted
//! customer, a canceled or incomplete_expired subscription) after any other
//! state of the same second, and the event id (bytewise) breaks the last ties.
//! So each mirror row ends at the state of its greatest event, whatever order
//! and however often the events arrive.

use std::time::{SystemTime, UNIX_EPOCH};

use pgrx::datum::Interval;
use pgrx::prelude::*;
use pgrx::{PgSqlErrorCode, Uuid};

use crate::infra::errors::{describe_caught, invalid_argument, raise, raise_with_hint, required};
use crate::infra::guard::{
    in_subtransaction, with_owner_privileges, PinnedSearchPath, PinnedSettings,
};
use crate::infra::secrets::{reveal_json, Owner};
use crate::infra::spi::{read_value, stable_rows, write_value};
use crate::integrations::{CREDENTIALS_SCOPE, PLATFORM_STRIPE_SCOPE};
use crate::logs::registry::STRIPE_EVENTS;
use crate::logs::retention;
use crate::tenancy::access::{authorize_tenant, caller, Caller};
use crate::tenancy::context::current_tenant;

mod event;
mod signature;

use event::{Customer, Event, ItemRow, Kind, Subscription};
use signature::Refusal;

pgrx::extension_sql_file!(
    "stripe.sql",
    name = "stripe",
    requires = [
        "integrations",
        "tenants",
        "tenancy",
        set_updated_at,
        isolate_tenant_rows,
        ingest_stripe_event,
        ingest_platform_stripe_event,
        cleanup_stripe_events
    ]
);

/// The key of the signing secret in `integrations.credentials` and
/// `platform_stripe_account.credentials`.
const SECRET_KEY: &str = "webhook_secret";
/// The longest body accepted (Stripe's events are far smaller).
const MOST_PAYLOAD_BYTES: usize = 1 << 20;
/// The longest Stripe-Signature header accepted.
const MOST_HEADER_BYTES: usize = 8192;

// Ids are unique per tenant only: with a tenant set (always, for applications)
// the lookup is that tenant's, so another tenant's row with the same id can
// neither shadow nor block it.
const INTEGRATION: &str = "
    SELECT i.tenant_id, i.provider, i.credentials::pg_catalog.text, i.status
      FROM @extschema@.integrations i
     WHERE i.id OPERATOR(pg_catalog.=) $1
       AND ($2::pg_catalog.uuid IS NULL OR i.tenant_id OPERATOR(pg_catalog.=) $2)
     LIMIT 2";

const SEEN: &str = "
    SELECT true FROM @extschema@.stripe_events e
     WHERE e.tenant_id OPERATOR(pg_catalog.=) $1 AND e.integration_id OPERATOR(pg_catalog.=) $2
       AND e.event_id OPERATOR(pg_catalog.=) $3";

const APPLY_CUSTOMER: &str = include_str!("queries/apply_customer.sql");
const PLACEHOLDER_CUSTOMER: &str = include_str!("queries/placeholder_customer.sql");
const APPLY_SUBSCRIPTION: &str = include_str!("queries/apply_subscription.sql");
const RECORD: &str = include_str!("queries/record.sql");
const PLATFORM_SECRET: &str = "
    SELECT a.id, a.credentials::pg_catalog.text FROM @extschema@.platform_stripe_account a";
const APPLY_PLATFORM: &str = include_str!("queries/apply_platform.sql");
const RECORD_PLATFORM: &str = "
    UPDATE @extschema@.platform_stripe_account
       SET last_sync_at = CASE WHEN $1 IS NULL THEN pg_catalog.now() ELSE last_sync_at END,
           last_error = COALESCE($1, last_error),
           last_error_at = CASE WHEN $1 IS NULL THEN last_error_at ELSE pg_catalog.now() END
     RETURNING true";

/// Verifies and ingests one Stripe webhook request for a tenant's integration.
/// `payload` is the raw request body, `stripe_signature` the Stripe-Signature header.
#[pg_extern(volatile, parallel_unsafe)]
fn ingest_stripe_event(
    integration: Option<Uuid>,
    payload: Option<&str>,
    stripe_signature: Option<&str>,
    tolerance: default!(Option<Interval>, "'5 minutes'"),
) -> TableIterator<
    'static,
    (
        name!(event_id, String),
        name!(event_type, String),
        name!(outcome, String),
    ),
> {
    let _search_path = PinnedSearchPath::new();
    let _generic = generic_plans();
    let integration = required(integration, "integration");
    let (payload, header, tolerance) = arguments(payload, stripe_signature, tolerance);
    let who = caller();
    let scope = current_tenant();
    if who == Caller::Application && scope.is_none() {
        not_current_tenant(integration);
    }
    let row = with_owner_privileges(|| {
        stable_rows(INTEGRATION, &[integration.into(), scope.into()], |row| {
            Ok((
                row.get::<Uuid>(1)?,
                row.get::<String>(2)?.unwrap_or_default(),
                row.get::<String>(3)?.unwrap_or_default(),
                row.get::<String>(4)?.unwrap_or_default(),
            ))
        })
    });
    let (tenant, provider, credentials, status) = match row.as_slice() {
        [(Some(tenant), provider, credentials, status)] => (
            *tenant,
            provider.clone(),
            credentials.clone(),
            status.clone(),
        ),
        _ if who == Caller::Application => not_current_tenant(integration),
        [_, _, ..] => raise_with_hint(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("argument \"integration\": {integration} is an integration of several tenants"),
            "Call set_tenant() with the integration's tenant first, in the same transaction.",
        ),
        _ => invalid_argument(format!(
            "argument \"integration\": integration {integration} does not exist"
        )),
    };
    if status == "disabled" {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("integration {integration} is disabled"),
        );
    }
    authorize_tenant(tenant, true);
    if provider != "stripe" {
        invalid_argument(format!(
            "argument \"integration\": integration {integration} is a {provider} integration, not a stripe one"
        ));
    }
    let owner = Owner {
        scope: CREDENTIALS_SCOPE,
        tenant,
        row: integration,
    };
    let secret = secret_of(&credentials, &owner, &format!("integration {integration}"));
    signature_or_refuse(&secret, payload, header, tolerance);
    let event = parse(payload);

    let recorded = with_owner_privileges(|| {
        let seen = read_value::<bool>(
            SEEN,
            &[tenant.into(), integration.into(), event.id.as_str().into()],
        )
        .unwrap_or(false);
        let (outcome, error) = if seen {
            ("duplicate".to_owned(), None)
        } else {
            match in_subtransaction(|| apply(tenant, integration, &event)) {
                Ok(Ok(outcome)) => (outcome, None),
                Ok(Err(message)) => ("failed".to_owned(), Some(message)),
                Err(caught) => ("failed".to_owned(), Some(describe_caught(&caught))),
            }
        };
        write_value::<String>(
            RECORD,
            &[
                tenant.into(),
                integration.into(),
                event.id.as_str().into(),
                event.kind.as_str().into(),
                event.created.into(),
                event.livemode.into(),
                event.account.as_deref().into(),
                outcome.as_str().into(),
                payload.into(),
                error.as_deref().into(),
            ],
        )
        .unwrap_or(outcome)
    });
    TableIterator::once((event.id, event.kind, recorded))
}

/// Verifies and ingests one Stripe webhook request of the platform's own
/// account: subscription events update the billing columns of the tenant they
/// name. Operators only.
#[pg_extern(volatile, parallel_unsafe)]
fn ingest_platform_stripe_event(
    payload: Option<&str>,
    stripe_signature: Option<&str>,
    tolerance: default!(Option<Interval>, "'5 minutes'"),
) -> TableIterator<
    'static,
    (
        name!(event_id, String),
        name!(event_type, String),
        name!(outcome, String),
    ),
> {
    let _search_path = PinnedSearchPath::new();
    let _generic = generic_plans();
    let (payload, header, tolerance) = arguments(payload, stripe_signature, tolerance);
    if caller() != Caller::Operator {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "only operators may ingest the platform's Stripe events",
        );
    }
    let account = with_owner_privileges(|| {
        stable_rows(PLATFORM_SECRET, &[], |row| {
            Ok((row.get::<Uuid>(1)?, row.get::<String>(2)?))
        })
    });
    let Some((Some(account), Some(credentials))) = account.into_iter().next() else {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
            "the platform's Stripe account is not configured",
            "INSERT INTO platform_stripe_account (credentials) VALUES (jsonb_build_object('webhook_secret', 'whsec_...')).",
        )
    };
    let owner = Owner {
        scope: PLATFORM_STRIPE_SCOPE,
        tenant: account,
        row: account,
    };
    let secret = secret_of(&credentials, &owner, "the platform's Stripe account");
    signature_or_refuse(&secret, payload, header, tolerance);
    let event = parse(payload);
    let (outcome, error) =
        with_owner_privileges(|| match in_subtransaction(|| apply_platform(&event)) {
            Ok(Ok(outcome)) => (outcome, None),
            Ok(Err(message)) => ("failed".to_owned(), Some(message)),
            Err(caught) => ("failed".to_owned(), Some(describe_caught(&caught))),
        });
    with_owner_privileges(|| {
        write_value::<bool>(RECORD_PLATFORM, &[error.as_deref().into()]);
    });
    TableIterator::once((event.id, event.kind, outcome))
}

/// Deletes stripe_events rows received longer than `retention` ago, in batches.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn cleanup_stripe_events(
    retention: default!(Option<Interval>, "'30 days'"),
    batch_size: default!(Option<i32>, "10000"),
) -> i64 {
    retention::purge(&STRIPE_EVENTS, retention, batch_size)
}

/// Generic plans for the kept statements while ingesting: they are all key
/// lookups, and a custom plan per call (the plan cache's first five, and later
/// whenever it judges one cheaper) re-reads every CHECK and default of the
/// tables they write (measured: about 15% of an ingested event).
fn generic_plans() -> PinnedSettings {
    PinnedSettings::new(&[(c"plan_cache_mode", c"force_generic_plan")])
}

fn not_current_tenant(integration: Uuid) -> ! {
    raise_with_hint(
        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!("integration {integration} is not an integration of the current tenant"),
        "Call set_tenant() with the integration's tenant first, in the same transaction.",
    )
}

/// The checked arguments: payload, header and the tolerance in seconds.
fn arguments<'a>(
    payload: Option<&'a str>,
    stripe_signature: Option<&'a str>,
    tolerance: Option<Interval>,
) -> (&'a str, &'a str, i64) {
    let payload = required(payload, "payload");
    let header = required(stripe_signature, "stripe_signature");
    let tolerance = required(tolerance, "tolerance");
    if payload.len() > MOST_PAYLOAD_BYTES {
        invalid_argument(format!(
            "argument \"payload\" must be at most {MOST_PAYLOAD_BYTES} bytes, got {}",
            payload.len()
        ));
    }
    if header.len() > MOST_HEADER_BYTES {
        invalid_argument(format!(
            "argument \"stripe_signature\" must be at most {MOST_HEADER_BYTES} bytes"
        ));
    }
    let micros = tolerance.as_micros();
    if !(0..=i128::from(i32::MAX) * 1_000_000).contains(&micros) {
        invalid_argument("argument \"tolerance\" must be an interval of zero or more seconds");
    }
    (payload, header, (micros / 1_000_000) as i64)
}

/// The signing secret in a credentials object (through the secrets door).
fn secret_of(credentials: &str, owner: &Owner, label: &str) -> String {
    let stored = serde_json::from_str(credentials).unwrap_or(serde_json::Value::Null);
    match reveal_json(stored, owner).get(SECRET_KEY) {
        Some(serde_json::Value::String(secret)) if !secret.is_empty() => secret.clone(),
        _ => raise_with_hint(
            PgSqlErrorCode::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
            format!("{label} has no Stripe signing secret"),
            format!("Store the endpoint's whsec_... secret as credentials->>'{SECRET_KEY}'."),
        ),
    }
}

fn signature_or_refuse(secret: &str, payload: &str, header: &str, tolerance: i64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let refused = |message: String| -> ! {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
            message,
        )
    };
    match signature::verify(secret, payload, header, now, tolerance) {
        Ok(_) => {}
        Err(Refusal::Malformed(what)) => invalid_argument(format!(
            "argument \"stripe_signature\" is not a Stripe-Signature header: it {what}"
        )),
        Err(Refusal::NoMatch) => refused(
            "Stripe signature does not match: no v1 signature of stripe_signature matches the payload under the signing secret".to_owned(),
        ),
        Err(Refusal::Expired { age }) => refused(format!(
            "Stripe signature expired: its timestamp is {age} s old, more than the tolerance of {tolerance} s"
        )),
        Err(Refusal::Future { ahead }) => refused(format!(
            "Stripe signature timestamp is {ahead} s in the future, more than the tolerance of {tolerance} s"
        )),
    }
}

fn parse(payload: &str) -> Event {
    let event: Event = serde_json::from_str(payload).unwrap_or_else(|error| {
        invalid_argument(format!(
            "argument \"payload\" is not a Stripe event: {error}"
        ))
    });
    if event.id.is_empty()
        || event.id.len() > 255
        || event.kind.is_empty()
        || event.kind.len() > 255
    {
        invalid_argument(
            "argument \"payload\": the event's id and type must be 1 to 255 bytes long",
        );
    }
    if escapes_nul(payload) {
        // jsonb, where the inbox keeps the payload, cannot hold U+0000: refused
        // here, clearly, rather than failing later with nothing logged.
        invalid_argument(
            "argument \"payload\" holds \\u0000, which the inbox (jsonb) cannot store",
        );
    }
    event
}

/// Whether JSON text holds the escape `\u0000` (a backslash run of odd length
/// before `u0000`; an even run is escaped backslashes followed by text).
fn escapes_nul(json: &str) -> bool {
    json.match_indices("u0000")
        .any(|(at, _)| json[..at].bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1)
}

/// Applies a tenant's event to the mirrors: `applied`, `stale`, `duplicate` or
/// `ignored`, or the message of why its object does not parse.
fn apply(tenant: Uuid, integration: Uuid, event: &Event) -> Result<String, String> {
    let kind = event::kind(&event.kind);
    let outcome = match kind {
        Kind::Other => "ignored".to_owned(),
        Kind::Customer { deleted } => {
            let customer: Customer = event::object(&event.data.object)?;
            let metadata = event::metadata(&customer.metadata).to_string();
            let payment_method = customer
                .invoice_settings
                .as_ref()
                .and_then(|s| s.default_payment_method.as_ref())
                .map(|r| r.id().to_owned());
            write_value::<String>(
                APPLY_CUSTOMER,
                &[
                    tenant.into(),
                    customer.id.as_str().into(),
                    customer.email.as_deref().into(),
                    customer.name.as_deref().into(),
                    customer.phone.as_deref().into(),
                    customer.currency.as_deref().into(),
                    customer.balance.into(),
                    customer.delinquent.into(),
                    payment_method.as_deref().into(),
                    metadata.as_str().into(),
                    event.livemode.into(),
                    customer.created.into(),
                    deleted.into(),
                    event.created.into(),
                    integration.into(),
                    event::customer_rank(deleted).into(),
                    event.id.as_str().into(),
                ],
            )
            .unwrap_or_default()
        }
        Kind::Subscription => {
            let subscription: Subscription = event::object(&event.data.object)?;
            let customer =
                placeholder_customer(tenant, integration, event, subscription.customer.id());
            apply_subscription(tenant, integration, customer, event, &subscription)
        }
    };
    Ok(outcome)
}

/// The local id of the customer a subscription names, made as a placeholder
/// (only its Stripe id, and no order key, so its first event applies) when no
/// event of it arrived yet.
fn placeholder_customer(tenant: Uuid, integration: Uuid, event: &Event, customer: &str) -> Uuid {
    let args = [
        tenant.into(),
        customer.into(),
        event.livemode.into(),
        integration.into(),
    ];
    // A second try reads with a new snapshot a row another transaction just made.
    write_value::<Uuid>(PLACEHOLDER_CUSTOMER, &args)
        .or_else(|| write_value::<Uuid>(PLACEHOLDER_CUSTOMER, &args))
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_T_R_SERIALIZATION_FAILURE,
                format!("customer {customer} was being created concurrently"),
            )
        })
}

fn apply_subscription(
    tenant: Uuid,
    integration: Uuid,
    customer: Uuid,
    event: &Event,
    subscription: &Subscription,
) -> String {
    let items: Vec<ItemRow<'_>> = subscription
        .items
        .data
        .iter()
        .map(|item| ItemRow {
            id: &item.id,
            price: item.price.as_ref().map(|p| p.id.as_str()),
            product: item
                .price
                .as_ref()
                .and_then(|p| p.product.as_ref())
                .map(|r| r.id()),
            lookup_key: item.price.as_ref().and_then(|p| p.lookup_key.as_deref()),
            quantity: item.quantity.unwrap_or(1),
            current_period_start: item.current_period_start,
            current_period_end: item.current_period_end,
            metadata: event::metadata(&item.metadata),
        })
        .collect();
    let items_json = serde_json::to_string(&items).unwrap_or_else(|_| "[]".to_owned());
    let main = subscription.items.data.first();
    let price = main.and_then(|i| i.price.as_ref());
    let recurring = price.and_then(|p| p.recurring.as_ref());
    let period_start = subscription
        .current_period_start
        .or(main.and_then(|i| i.current_period_start));
    let period_end = subscription
        .current_period_end
        .or(main.and_then(|i| i.current_period_end));
    let metadata = event::metadata(&subscription.metadata).to_string();
    write_value::<String>(
        APPLY_SUBSCRIPTION,
        &[
            tenant.into(),                       // 1
            subscription.id.as_str().into(),     // 2
            customer.into(),                     // 3
            price.map(|p| p.id.as_str()).into(), // 4
            price
                .and_then(|p| p.product.as_ref())
                .map(|r| r.id())
                .into(), // 5
            subscription.status.as_str().into(), // 6
            main.and_then(|i| i.quantity).unwrap_or(1).into(), // 7
            subscription
                .currency
                .as_deref()
                .or(price.and_then(|p| p.currency.as_deref()))
                .into(), // 8
            price.and_then(|p| p.unit_amount).into(), // 9
            recurring.and_then(|r| r.interval.as_deref()).into(), // 10
            recurring.and_then(|r| r.interval_count).unwrap_or(1).into(), // 11
            period_start.into(),                 // 12
            period_end.into(),                   // 13
            subscription.cancel_at_period_end.unwrap_or(false).into(), // 14
            subscription.cancel_at.into(),       // 15
            subscription.canceled_at.into(),     // 16
            subscription.ended_at.into(),        // 17
            subscription.trial_start.into(),     // 18
            subscription.trial_end.into(),       // 19
            metadata.as_str().into(),            // 20
            event.livemode.into(),               // 21
            integration.into(),                  // 22
            event.created.into(),                // 23
            event::subscription_rank(&subscription.status).into(), // 24
            event.id.as_str().into(),            // 25
            items_json.as_str().into(),          // 26
        ],
    )
    .unwrap_or_default()
}

/// The tenants' plans, as tenants_plan_check allows them.
const PLANS: [&str; 4] = ["free", "starter", "professional", "enterprise"];

/// Applies a platform event to the billing columns of the tenant it names.
fn apply_platform(event: &Event) -> Result<String, String> {
    if event::kind(&event.kind) != Kind::Subscription {
        return Ok("ignored".to_owned());
    }
    let subscription: Subscription = event::object(&event.data.object)?;
    let price = subscription
        .items
        .data
        .first()
        .and_then(|i| i.price.as_ref());
    let lookup_key = price.and_then(|p| p.lookup_key.as_deref());
    let metadata_plan = price
        .and_then(|p| p.metadata.as_ref())
        .and_then(|m| m.get("plan"))
        .and_then(|v| v.as_str());
    let plan = [lookup_key, metadata_plan]
        .into_iter()
        .flatten()
        .find(|candidate| PLANS.contains(candidate));
    let outcome = write_value::<String>(
        APPLY_PLATFORM,
        &[
            subscription.id.as_str().into(),
            subscription.customer.id().into(),
            subscription.status.as_str().into(),
            lookup_key.or(metadata_plan).into(),
            plan.into(),
            subscription.trial_end.into(),
            event.created.into(),
            event::subscription_rank(&subscription.status).into(),
            event.id.as_str().into(),
        ],
    )
    .unwrap_or_else(|| "ignored".to_owned());
    if outcome == "unplanned" {
        return Err(format!(
            "the price of subscription {}'s first item names no plan: set its lookup_key or metadata.plan to one of {}, then resend the event",
            subscription.id,
            PLANS.join(", ")
        ));
    }
    Ok(outcome)
}

#[cfg(test)]
mod unit_tests {
    use super::escapes_nul;

    #[test]
    fn only_an_unescaped_u0000_escape_is_a_nul() {
        assert!(escapes_nul(r#"{"name": "a\u0000b"}"#));
        assert!(escapes_nul(r#"{"name": "\\\u0000"}"#));
        assert!(!escapes_nul(r#"{"name": "a\\u0000b"}"#));
        assert!(!escapes_nul(r#"{"name": "u0000", "n": "\u0001"}"#));
    }
}
