-- rotate_webhook_secret: gives webhook $2 of tenant $1 the secret $3 and keeps
-- the current one in webhook_secrets until now() + $4. Returns the webhook's id,
-- or no row when the tenant has no such webhook. The secret moves as stored
-- (encrypted or not: its envelope is bound to the webhook, not to the table).
WITH current AS (
    SELECT tenant_id, id, secret FROM @extschema@.webhooks WHERE tenant_id = $1 AND id = $2 FOR UPDATE
), kept AS (
    INSERT INTO @extschema@.webhook_secrets (tenant_id, webhook_id, secret, expires_at)
    SELECT tenant_id, id, secret, pg_catalog.now() + $4 FROM current
    RETURNING 1
)
UPDATE @extschema@.webhooks w SET secret = $3 FROM current
 WHERE w.tenant_id = current.tenant_id AND w.id = current.id AND (SELECT pg_catalog.count(*) FROM kept) >= 0
RETURNING w.id
