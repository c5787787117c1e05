-- A subscription event of the platform's own Stripe account into the billing
-- columns of the tenant it names, only when the event is later in Stripe's
-- order than the state tenant_stripe_billing says the tenant holds.
-- The tenant: the one whose stripe_subscription_id is the event's subscription,
-- else the one whose stripe_customer_id is its customer (a tenant that cancels
-- and subscribes again has a new subscription under the same customer). Its
-- billing follows the latest event, in Stripe's order, of any subscription of
-- its customer: an older event of a replaced subscription is stale, whatever
-- the order it arrives in.
--   $1 sub_ id, $2 cus_ id, $3 status, $4 price lookup key (or metadata plan),
--   $5 plan (a valid tenants.plan; NULL when the price names none), $6 trial end (Unix s),
--   $7 event created (Unix s), $8 rank, $9 event id.
-- Answers applied, duplicate, stale, unplanned (a tenant matches but the price
-- names no plan: nothing is written, since keeping the old plan would make the
-- result depend on which events came before), or no row when no tenant matches.
WITH tenant AS (
    SELECT t.id FROM @extschema@.tenants t
     WHERE t.stripe_subscription_id = $1 OR t.stripe_customer_id = $2
     ORDER BY (t.stripe_subscription_id IS NOT DISTINCT FROM $1) DESC
     LIMIT 1
), state AS (
    INSERT INTO @extschema@.tenant_stripe_billing AS b (
        tenant_id, stripe_subscription_id, status, price_lookup_key,
        event_created_at, event_rank, event_id)
    SELECT tenant.id, $1, $3, $4, pg_catalog.to_timestamp($7::float8), $8, $9 FROM tenant
     WHERE $5 IS NOT NULL
    ON CONFLICT (tenant_id) DO UPDATE SET
        stripe_subscription_id = EXCLUDED.stripe_subscription_id, status = EXCLUDED.status,
        price_lookup_key = EXCLUDED.price_lookup_key, event_created_at = EXCLUDED.event_created_at,
        event_rank = EXCLUDED.event_rank, event_id = EXCLUDED.event_id
     WHERE (b.event_created_at, b.event_rank, b.event_id COLLATE pg_catalog."C")
         < (EXCLUDED.event_created_at, EXCLUDED.event_rank, EXCLUDED.event_id COLLATE pg_catalog."C")
    RETURNING b.tenant_id
), billed AS (
    UPDATE @extschema@.tenants t
       SET subscription_status = $3,
           trial_ends_at = pg_catalog.to_timestamp($6::float8),
           plan = $5,
           stripe_subscription_id = $1
      FROM state
     WHERE t.id = state.tenant_id
)
SELECT CASE
         WHEN EXISTS (SELECT FROM state) THEN 'applied'
         WHEN $5 IS NULL THEN 'unplanned'
         WHEN EXISTS (SELECT FROM @extschema@.tenant_stripe_billing b, tenant
                       WHERE b.tenant_id = tenant.id AND b.event_id = $9) THEN 'duplicate'
         ELSE 'stale'
       END
  FROM tenant
