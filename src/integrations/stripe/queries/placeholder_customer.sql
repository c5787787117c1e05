-- The local id of a customer a subscription names, made as a placeholder (its
-- Stripe id only, no order key) when no event of it has arrived yet.
--   $1 tenant, $2 cus_ id, $3 livemode, $4 integration.
-- No row when another transaction made it concurrently (the caller asks again).
WITH made AS (
    INSERT INTO @extschema@.stripe_customers (tenant_id, stripe_customer_id, livemode, integration_id)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (tenant_id, stripe_customer_id) DO NOTHING
    RETURNING id
)
SELECT id FROM made
UNION ALL
SELECT c.id FROM @extschema@.stripe_customers c WHERE c.tenant_id = $1 AND c.stripe_customer_id = $2
LIMIT 1
