-- A customer event's state into stripe_customers, only when the event is later
-- in Stripe's order than the state the row holds (a placeholder holds none).
--   $1 tenant, $2 cus_ id, $3 email, $4 name, $5 phone, $6 currency, $7 balance,
--   $8 delinquent, $9 default payment method, $10 metadata (JSON text),
--   $11 livemode, $12 customer created (Unix s), $13 whether deleted,
--   $14 event created (Unix s), $15 integration, $16 rank, $17 event id.
-- Answers applied, duplicate (the row holds this very event) or stale.
WITH up AS (
    INSERT INTO @extschema@.stripe_customers AS c (
        tenant_id, stripe_customer_id, email, name, phone, currency, balance, delinquent,
        default_payment_method, metadata, livemode, stripe_created_at, deleted_at,
        integration_id, stripe_event_created_at, stripe_event_rank, stripe_event_id)
    VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, 0), COALESCE($8, false),
            $9, $10::jsonb, $11, pg_catalog.to_timestamp($12::float8),
            CASE WHEN $13 THEN pg_catalog.to_timestamp($14::float8) END,
            $15, pg_catalog.to_timestamp($14::float8), $16, $17)
    ON CONFLICT (tenant_id, stripe_customer_id) DO UPDATE SET
        email = EXCLUDED.email, name = EXCLUDED.name, phone = EXCLUDED.phone,
        currency = EXCLUDED.currency, balance = EXCLUDED.balance, delinquent = EXCLUDED.delinquent,
        default_payment_method = EXCLUDED.default_payment_method, metadata = EXCLUDED.metadata,
        livemode = EXCLUDED.livemode, stripe_created_at = EXCLUDED.stripe_created_at,
        deleted_at = EXCLUDED.deleted_at, integration_id = EXCLUDED.integration_id,
        stripe_event_created_at = EXCLUDED.stripe_event_created_at,
        stripe_event_rank = EXCLUDED.stripe_event_rank, stripe_event_id = EXCLUDED.stripe_event_id
     WHERE c.stripe_event_id IS NULL
        OR (c.stripe_event_created_at, c.stripe_event_rank, c.stripe_event_id COLLATE pg_catalog."C")
         < (EXCLUDED.stripe_event_created_at, EXCLUDED.stripe_event_rank, EXCLUDED.stripe_event_id COLLATE pg_catalog."C")
    RETURNING 1
)
SELECT CASE
         WHEN EXISTS (SELECT FROM up) THEN 'applied'
         WHEN EXISTS (SELECT FROM @extschema@.stripe_customers c
                       WHERE c.tenant_id = $1 AND c.stripe_customer_id = $2 AND c.stripe_event_id = $17)
           THEN 'duplicate'
         ELSE 'stale'
       END
