-- The worker's claim of provider requests: up to $1 due ones, round robin
-- across tenants (every tenant's oldest before any tenant's second), each given
-- a lease (its timeout, capped by $2 = marimo_erp.webhook_max_timeout in ms, plus
-- 30 s to record the outcome) and a lease token. A lapsed lease is the same
-- attempt again: its outcome was never known. Requests of a disabled
-- integration wait.
WITH due AS (
    SELECT r.tenant_id, r.id, r.due_at,
           pg_catalog.row_number() OVER (PARTITION BY r.tenant_id ORDER BY r.due_at, r.id) AS turn
      FROM ((SELECT q.tenant_id, q.id, q.integration_id, q.next_attempt_at AS due_at
               FROM @extschema@.integration_requests q
              WHERE q.status = 'pending' AND q.next_attempt_at <= pg_catalog.now() AND q.attempts < q.max_attempts
              ORDER BY q.next_attempt_at LIMIT $1 * 16)
            UNION ALL
            (SELECT q.tenant_id, q.id, q.integration_id, q.lease_expires_at
               FROM @extschema@.integration_requests q
              WHERE q.status = 'in_flight' AND q.lease_expires_at <= pg_catalog.now()
              ORDER BY q.lease_expires_at LIMIT $1 * 16)) r
      JOIN @extschema@.integrations i ON i.tenant_id = r.tenant_id AND i.id = r.integration_id
     WHERE i.status <> 'disabled'
), candidates AS (
    SELECT q.tenant_id, q.id FROM @extschema@.integration_requests q
      JOIN due d ON d.tenant_id = q.tenant_id AND d.id = q.id
     ORDER BY d.turn, d.due_at, d.id LIMIT $1
       FOR UPDATE OF q SKIP LOCKED
), claimed AS (
    UPDATE @extschema@.integration_requests q
       SET status = 'in_flight',
           attempts = CASE WHEN q.status = 'in_flight' THEN q.attempts ELSE q.attempts + 1 END,
           last_attempt_at = pg_catalog.now(),
           next_attempt_at = NULL,
           lease_token = pg_catalog.gen_random_uuid(),
           -- The request's own timeout, plus the longest a claimed request can
           -- wait in the worker for a sending thread (one webhook delivery at
           -- the maximum timeout: the worker holds at most twice as many jobs
           -- as threads), plus 30 s: a lease never lapses while it is still
           -- waiting to be sent, which would send it twice.
           lease_expires_at = pg_catalog.now()
               + pg_catalog.make_interval(secs => LEAST(q.timeout_ms, $2) / 1000.0 + $2 / 1000.0 + 30)
      FROM candidates c
     WHERE q.tenant_id = c.tenant_id AND q.id = c.id
       AND ((q.status = 'pending' AND q.attempts < q.max_attempts)
            OR (q.status = 'in_flight' AND q.lease_expires_at <= pg_catalog.now()))
 RETURNING q.tenant_id, q.id, q.integration_id, q.attempts, q.lease_token, q.method, q.path,
           q.timeout_ms, q.body, q.retry_schedule
)
SELECT c.tenant_id, c.id, c.lease_token, c.attempts, c.method, c.path, i.provider,
       i.config ->> 'base_url', LEAST(c.timeout_ms, $2), c.body::text, i.credentials::text,
       ARRAY(SELECT EXTRACT(epoch FROM s)::float8 FROM pg_catalog.unnest(c.retry_schedule) s),
       c.integration_id
  FROM claimed c
  JOIN @extschema@.integrations i ON i.tenant_id = c.tenant_id AND i.id = c.integration_id
