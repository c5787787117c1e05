-- What one ingest_stripe_event call did: the event in the inbox (unless it is a
-- duplicate or failed), one integration_logs row, and the integration's sync
-- state (last_sync_at, or last_error when applying failed).
--   $1 tenant, $2 integration, $3 event id, $4 type, $5 created (Unix s),
--   $6 livemode, $7 account, $8 outcome, $9 payload (text), $10 error or NULL.
-- Answers the outcome: duplicate when another transaction recorded the event first.
WITH inbox AS (
    INSERT INTO @extschema@.stripe_events (
        tenant_id, integration_id, event_id, event_type, stripe_created_at, livemode, account,
        outcome, payload)
    SELECT $1, $2, $3, $4, pg_catalog.to_timestamp($5::float8), $6, $7, $8, $9::jsonb
     WHERE $8 IN ('applied', 'stale', 'ignored')
    ON CONFLICT (tenant_id, integration_id, event_id) DO NOTHING
    RETURNING outcome
), answer AS (
    SELECT CASE WHEN $8 IN ('applied', 'stale', 'ignored') AND NOT EXISTS (SELECT FROM inbox)
                THEN 'duplicate' ELSE $8 END AS outcome
), logged AS (
    INSERT INTO @extschema@.integration_logs (
        tenant_id, integration_id, operation, direction, http_method, request_payload, status, error_message)
    SELECT $1, $2, 'stripe.webhook', 'inbound', 'POST',
           pg_catalog.jsonb_build_object('event_id', $3, 'type', $4, 'outcome', answer.outcome),
           CASE WHEN $10 IS NULL THEN 'success' ELSE 'error' END, $10
      FROM answer
), synced AS (
    UPDATE @extschema@.integrations i
       SET last_sync_at = CASE WHEN $10 IS NULL THEN pg_catalog.now() ELSE i.last_sync_at END,
           last_error = COALESCE($10, i.last_error),
           last_error_at = CASE WHEN $10 IS NULL THEN i.last_error_at ELSE pg_catalog.now() END
     WHERE i.tenant_id = $1 AND i.id = $2
       -- Once per transaction is enough for last_sync_at (now() is the transaction's start).
       AND ($10 IS NOT NULL OR i.last_sync_at IS DISTINCT FROM pg_catalog.now())
)
SELECT outcome FROM answer
