-- The worker's claim: up to $1 due deliveries, fairly across tenants, each given
-- a lease (the request's timeout plus a 30-second margin to record the outcome)
-- and a lease token, with what signing and sending them needs.
--   $1 how many at most (the worker's free capacity);
--   $2 marimo_erp.webhook_tenant_max_in_flight: the most in flight per tenant,
--      over all its endpoints, and so per endpoint too;
--   $3 marimo_erp.webhook_max_timeout (ms): the longest any request may take,
--      whatever webhooks.timeout_ms says;
--   $4 the payload bytes the worker may still take in (marimo_erp.webhook_max_in_flight_bytes
--      less what it holds), $5 whether it holds none: then the first delivery
--      is claimed even when its payload alone is larger.
WITH busy AS (
    SELECT tenant_id, webhook_id, pg_catalog.count(*) AS n FROM @extschema@.webhook_deliveries
     WHERE status = 'in_progress' AND lease_expires_at > pg_catalog.now()
     GROUP BY tenant_id, webhook_id
), tenant_busy AS (
    SELECT tenant_id, pg_catalog.sum(n)::bigint AS n FROM busy GROUP BY tenant_id
), offered AS (
    -- Each active endpoint of a tenant with room offers its oldest due
    -- deliveries, as many as it has room for under its max_in_flight, bounded
    -- by the tenant's: one slow or disabled endpoint cannot hold up the others.
    -- No endpoint offers more than its tenant has room for, nor more than $1:
    -- the turns past those are never claimed, and with 64 endpoints offering
    -- them all the round sorted 64 times what it could take.
    SELECT due.tenant_id, due.id, due.event_id, due.due_at
      FROM @extschema@.webhooks w
      LEFT JOIN busy ON busy.tenant_id = w.tenant_id AND busy.webhook_id = w.id
      LEFT JOIN tenant_busy tb ON tb.tenant_id = w.tenant_id
     CROSS JOIN LATERAL (
           (SELECT d.tenant_id, d.id, d.event_id, d.next_attempt_at AS due_at FROM @extschema@.webhook_deliveries d
             WHERE d.tenant_id = w.tenant_id AND d.webhook_id = w.id
               AND d.status = 'pending' AND d.next_attempt_at <= pg_catalog.now()
             ORDER BY d.next_attempt_at
             LIMIT GREATEST(LEAST(w.max_in_flight - COALESCE(busy.n, 0), $2 - COALESCE(tb.n, 0), $1), 0))
           UNION ALL
           (SELECT d.tenant_id, d.id, d.event_id, d.lease_expires_at FROM @extschema@.webhook_deliveries d
             WHERE d.tenant_id = w.tenant_id AND d.webhook_id = w.id
               AND d.status = 'in_progress' AND d.lease_expires_at <= pg_catalog.now()
             ORDER BY d.lease_expires_at
             LIMIT GREATEST(LEAST(w.max_in_flight - COALESCE(busy.n, 0), $2 - COALESCE(tb.n, 0), $1), 0))
        ) AS due
     WHERE w.is_active AND COALESCE(tb.n, 0) < $2
), ranked AS (
    -- Each tenant's turns, oldest first, as many as the tenant has room for.
    SELECT o.tenant_id, o.id, o.event_id, o.due_at, o.turn
      FROM (SELECT o.*, pg_catalog.row_number() OVER (PARTITION BY o.tenant_id ORDER BY o.due_at, o.id) AS turn
              FROM offered o) o
      LEFT JOIN tenant_busy tb ON tb.tenant_id = o.tenant_id
     WHERE o.turn <= $2 - COALESCE(tb.n, 0)
), candidates AS (
    -- Round robin: every tenant's first turn before any tenant's second, so a
    -- tenant's backlog, however old and long, goes after the others' newest.
    SELECT d.tenant_id, d.id, r.event_id, r.turn, r.due_at FROM @extschema@.webhook_deliveries d
      JOIN ranked r ON r.tenant_id = d.tenant_id AND r.id = d.id
     ORDER BY r.turn, r.due_at, r.id LIMIT $1
       FOR UPDATE OF d SKIP LOCKED
), sized AS (
    SELECT c.tenant_id, c.id, c.turn, c.due_at, COALESCE(e.payload_bytes, 0)::bigint AS size
      FROM candidates c
      JOIN @extschema@.webhook_events e ON e.tenant_id = c.tenant_id AND e.id = c.event_id
), chosen AS (
    -- In that order, while their payloads fit in what the worker may take in.
    -- A payload larger than that alone (an event stored before the cap, or
    -- before it was lowered) neither stops the others nor goes out but first
    -- and alone, when the worker holds nothing.
    SELECT s.tenant_id, s.id FROM (
        SELECT z.tenant_id, z.id, z.size,
               pg_catalog.sum(CASE WHEN z.size <= $4 THEN z.size ELSE 0 END)
                   OVER (ORDER BY z.turn, z.due_at, z.id ROWS UNBOUNDED PRECEDING) AS running,
               pg_catalog.row_number() OVER (ORDER BY z.turn, z.due_at, z.id) AS n
          FROM sized z) s
     WHERE (s.size <= $4 AND s.running <= $4) OR (s.n = 1 AND $5)
), claimed AS (
    UPDATE @extschema@.webhook_deliveries d
       -- A lapsed lease is the same attempt again: its outcome was never known.
       SET status = 'in_progress',
           attempts = CASE WHEN d.status = 'in_progress' THEN d.attempts ELSE d.attempts + 1 END,
           last_attempt_at = pg_catalog.now(),
           lease_token = pg_catalog.gen_random_uuid(),
           lease_expires_at = pg_catalog.now()
               + pg_catalog.make_interval(secs => LEAST(w.timeout_ms, $3) / 1000.0 + 30)
      FROM chosen c, @extschema@.webhooks w
     WHERE d.tenant_id = c.tenant_id AND d.id = c.id
       AND w.tenant_id = d.tenant_id AND w.id = d.webhook_id
       AND (d.status = 'pending' OR d.lease_expires_at <= pg_catalog.now())
 RETURNING d.tenant_id, d.id, d.webhook_id, d.event_id, d.attempts, d.lease_token
)
SELECT c.tenant_id, c.id, c.webhook_id, c.attempts, c.lease_token, w.url, LEAST(w.timeout_ms, $3),
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
