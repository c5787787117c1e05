-- The worker's claim: up to $1 due deliveries, at most max_in_flight per
-- endpoint counting those already in flight, each given a lease (the endpoint's
-- timeout plus a 30-second margin to record the outcome) and a lease token, with
-- what signing and sending them needs.
WITH busy AS (
    SELECT tenant_id, webhook_id, pg_catalog.count(*) AS n FROM @extschema@.webhook_deliveries
     WHERE status = 'in_progress' AND lease_expires_at > pg_catalog.now()
     GROUP BY tenant_id, webhook_id
), ranked AS (
    -- Each active endpoint offers its oldest due deliveries, as many as it
    -- has room for: one slow or disabled endpoint cannot hold up the others.
    SELECT due.tenant_id, due.id
      FROM @extschema@.webhooks w
      LEFT JOIN busy ON busy.tenant_id = w.tenant_id AND busy.webhook_id = w.id
     CROSS JOIN LATERAL (
           (SELECT d.tenant_id, d.id, d.next_attempt_at FROM @extschema@.webhook_deliveries d
             WHERE d.tenant_id = w.tenant_id AND d.webhook_id = w.id
               AND d.status = 'pending' AND d.next_attempt_at <= pg_catalog.now()
             ORDER BY d.next_attempt_at
             LIMIT GREATEST(w.max_in_flight - COALESCE(busy.n, 0), 0))
           UNION ALL
           (SELECT d.tenant_id, d.id, d.lease_expires_at FROM @extschema@.webhook_deliveries d
             WHERE d.tenant_id = w.tenant_id AND d.webhook_id = w.id
               AND d.status = 'in_progress' AND d.lease_expires_at <= pg_catalog.now()
             ORDER BY d.lease_expires_at
             LIMIT GREATEST(w.max_in_flight - COALESCE(busy.n, 0), 0))
        ) AS due
     WHERE w.is_active
), candidates AS (
    SELECT d.tenant_id, d.id FROM @extschema@.webhook_deliveries d
      JOIN ranked r ON r.tenant_id = d.tenant_id AND r.id = d.id
     ORDER BY d.next_attempt_at LIMIT $1
       FOR UPDATE OF d SKIP LOCKED
), claimed AS (
    UPDATE @extschema@.webhook_deliveries d
       -- A lapsed lease is the same attempt again: its outcome was never known.
       SET status = 'in_progress',
           attempts = CASE WHEN d.status = 'in_progress' THEN d.attempts ELSE d.attempts + 1 END,
           last_attempt_at = pg_catalog.now(),
           lease_token = pg_catalog.gen_random_uuid(),
           lease_expires_at = pg_catalog.now()
               + pg_catalog.make_interval(secs => w.timeout_ms / 1000.0 + 30)
      FROM candidates c, @extschema@.webhooks w
     WHERE d.tenant_id = c.tenant_id AND d.id = c.id
       AND w.tenant_id = d.tenant_id AND w.id = d.webhook_id
       AND (d.status = 'pending' OR d.lease_expires_at <= pg_catalog.now())
 RETURNING d.tenant_id, d.id, d.webhook_id, d.event_id, d.attempts, d.lease_token
)
SELECT c.tenant_id, c.id, c.webhook_id, c.attempts, c.lease_token, w.url, w.timeout_ms,
       ARRAY(SELECT EXTRACT(epoch FROM s)::float8 FROM pg_catalog.unnest(w.retry_schedule) s),
       ARRAY[w.secret] || ARRAY(SELECT p.secret FROM @extschema@.webhook_secrets p
                                 WHERE p.tenant_id = w.tenant_id AND p.webhook_id = w.id
                                   AND p.expires_at > pg_catalog.now() ORDER BY p.created_at DESC),
       ARRAY(SELECT h.key FROM pg_catalog.jsonb_each_text(w.custom_headers) h ORDER BY h.key),
       ARRAY(SELECT h.value FROM pg_catalog.jsonb_each_text(w.custom_headers) h ORDER BY h.key),
       e.id::text, e.event_type, e.payload::text,
       pg_catalog.to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       EXTRACT(epoch FROM pg_catalog.now())::bigint
  FROM claimed c
  JOIN @extschema@.webhooks w ON w.tenant_id = c.tenant_id AND w.id = c.webhook_id
  JOIN @extschema@.webhook_events e ON e.tenant_id = c.tenant_id AND e.id = c.event_id
