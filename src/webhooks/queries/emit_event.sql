-- emit_webhook_event: stores the event ($1 tenant, $2 type, $3 payload, $4
-- idempotency key or NULL) and fans it out to one delivery per active webhook of
-- the tenant that subscribes to it: exactly, by '*', or by a prefix such as
-- 'invoice.*'. Returns the event's id, or no row for a repeated idempotency key.
WITH inserted AS (
    INSERT INTO @extschema@.webhook_events (tenant_id, event_type, payload, idempotency_key) VALUES ($1, $2, $3, $4)
    ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
    RETURNING id
), fanned_out AS (
    INSERT INTO @extschema@.webhook_deliveries (tenant_id, webhook_id, event_id, max_attempts, next_attempt_at)
    SELECT $1, w.id, i.id, w.max_attempts, pg_catalog.now()
      FROM inserted i JOIN @extschema@.webhooks w ON w.tenant_id = $1 AND w.is_active
     WHERE EXISTS (SELECT FROM pg_catalog.unnest(w.event_types) AS p(pattern)
                    WHERE p.pattern = '*' OR p.pattern = $2
                       OR (p.pattern LIKE '%.*' AND pg_catalog.starts_with($2, pg_catalog.left(p.pattern, -1))))
    RETURNING 1
)
SELECT id FROM inserted WHERE (SELECT pg_catalog.count(*) FROM fanned_out) >= 0
