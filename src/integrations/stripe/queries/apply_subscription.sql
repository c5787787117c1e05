-- A subscription event's state into stripe_subscriptions and its items into
-- stripe_subscription_items, only when the event is later in Stripe's order
-- than the state the row holds. The items become exactly those of the event:
-- the ones it lacks are deleted.
--   $1 tenant, $2 sub_ id, $3 customer (local id), $4 price, $5 product,
--   $6 status, $7 quantity, $8 currency, $9 unit amount, $10 interval,
--   $11 interval count, $12/$13 current period start/end, $14 cancel at period
--   end, $15 cancel_at, $16 canceled_at, $17 ended_at, $18/$19 trial start/end
--   (times in Unix s), $20 metadata (JSON text), $21 livemode, $22 integration,
--   $23 event created, $24 rank, $25 event id, $26 the items (JSON array text).
-- Answers applied, duplicate (the row holds this very event) or stale.
WITH up AS (
    INSERT INTO @extschema@.stripe_subscriptions AS s (
        tenant_id, stripe_subscription_id, customer_id, stripe_price_id, stripe_product_id,
        status, quantity, currency, unit_amount, billing_interval, billing_interval_count,
        current_period_start, current_period_end, cancel_at_period_end, cancel_at,
        canceled_at, ended_at, trial_start, trial_end, metadata, livemode,
        integration_id, stripe_event_created_at, stripe_event_rank, stripe_event_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
            pg_catalog.to_timestamp($12::float8), pg_catalog.to_timestamp($13::float8), $14,
            pg_catalog.to_timestamp($15::float8), pg_catalog.to_timestamp($16::float8),
            pg_catalog.to_timestamp($17::float8), pg_catalog.to_timestamp($18::float8),
            pg_catalog.to_timestamp($19::float8), $20::jsonb, $21,
            $22, pg_catalog.to_timestamp($23::float8), $24, $25)
    ON CONFLICT (tenant_id, stripe_subscription_id) DO UPDATE SET
        customer_id = EXCLUDED.customer_id, stripe_price_id = EXCLUDED.stripe_price_id,
        stripe_product_id = EXCLUDED.stripe_product_id, status = EXCLUDED.status,
        quantity = EXCLUDED.quantity, currency = EXCLUDED.currency, unit_amount = EXCLUDED.unit_amount,
        billing_interval = EXCLUDED.billing_interval, billing_interval_count = EXCLUDED.billing_interval_count,
        current_period_start = EXCLUDED.current_period_start, current_period_end = EXCLUDED.current_period_end,
        cancel_at_period_end = EXCLUDED.cancel_at_period_end, cancel_at = EXCLUDED.cancel_at,
        canceled_at = EXCLUDED.canceled_at, ended_at = EXCLUDED.ended_at,
        trial_start = EXCLUDED.trial_start, trial_end = EXCLUDED.trial_end,
        metadata = EXCLUDED.metadata, livemode = EXCLUDED.livemode,
        integration_id = EXCLUDED.integration_id,
        stripe_event_created_at = EXCLUDED.stripe_event_created_at,
        stripe_event_rank = EXCLUDED.stripe_event_rank, stripe_event_id = EXCLUDED.stripe_event_id
     WHERE s.stripe_event_id IS NULL
        OR (s.stripe_event_created_at, s.stripe_event_rank, s.stripe_event_id COLLATE pg_catalog."C")
         < (EXCLUDED.stripe_event_created_at, EXCLUDED.stripe_event_rank, EXCLUDED.stripe_event_id COLLATE pg_catalog."C")
    RETURNING s.id
), items AS (
    SELECT x.* FROM pg_catalog.jsonb_to_recordset($26::jsonb) AS x(
        id text, price text, product text, lookup_key text, quantity integer,
        current_period_start float8, current_period_end float8, metadata jsonb)
), gone AS (
    DELETE FROM @extschema@.stripe_subscription_items i
     USING up
     WHERE i.tenant_id = $1 AND i.subscription_id = up.id
       AND i.stripe_subscription_item_id <> ALL (ARRAY(SELECT items.id FROM items))
), kept AS (
    INSERT INTO @extschema@.stripe_subscription_items AS i (
        tenant_id, stripe_subscription_item_id, subscription_id, stripe_price_id, stripe_product_id,
        price_lookup_key, quantity, current_period_start, current_period_end, metadata)
    SELECT $1, items.id, up.id, items.price, items.product, items.lookup_key, items.quantity,
           pg_catalog.to_timestamp(items.current_period_start), pg_catalog.to_timestamp(items.current_period_end),
           COALESCE(items.metadata, '{}'::jsonb)
      FROM up, items
    ON CONFLICT (tenant_id, stripe_subscription_item_id) DO UPDATE SET
        subscription_id = EXCLUDED.subscription_id, stripe_price_id = EXCLUDED.stripe_price_id,
        stripe_product_id = EXCLUDED.stripe_product_id, price_lookup_key = EXCLUDED.price_lookup_key,
        quantity = EXCLUDED.quantity, current_period_start = EXCLUDED.current_period_start,
        current_period_end = EXCLUDED.current_period_end, metadata = EXCLUDED.metadata
)
SELECT CASE
         WHEN EXISTS (SELECT FROM up) THEN 'applied'
         WHEN EXISTS (SELECT FROM @extschema@.stripe_subscriptions s
                       WHERE s.tenant_id = $1 AND s.stripe_subscription_id = $2 AND s.stripe_event_id = $25)
           THEN 'duplicate'
         ELSE 'stale'
       END
