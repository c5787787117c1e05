-- The worker's record of a round of outcomes, given as parallel arrays: the
-- deliveries (only under the lease token they were claimed with), one
-- webhook_logs row per attempt, and each endpoint's health.
WITH r AS (
    -- unnest of several arrays is FROM-clause syntax: it cannot be schema-qualified.
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::integer[],
                                    $7::text[], $8::text[], $9::float8[], $10::integer[], $11::text[], $12::text[],
                                    $13::text[], $14::text[], $15::integer[], $16::integer[])
        WITH ORDINALITY AS r(tenant_id, id, webhook_id, token, outcome, status, body, error, delay, attempt,
                             url, request_headers, request_body, response_headers, duration_ms, ok, ord)
), delivered AS (
    UPDATE @extschema@.webhook_deliveries d
       SET status = CASE WHEN r.outcome = 'delivered' THEN 'succeeded'
                         WHEN r.outcome IN ('gone', 'refused') OR d.attempts >= d.max_attempts THEN 'failed'
                         ELSE 'pending' END,
           delivered_at = CASE WHEN r.outcome = 'delivered' THEN pg_catalog.now() END,
           next_attempt_at = CASE WHEN r.outcome = 'retry' AND d.attempts < d.max_attempts
                                  THEN pg_catalog.now() + pg_catalog.make_interval(secs => r.delay) END,
           lease_token = NULL, lease_expires_at = NULL,
           response_status = r.status, response_body = r.body,
           last_error = CASE WHEN r.outcome = 'gone' THEN 'the endpoint answered 410 Gone' ELSE r.error END
      FROM r
     WHERE d.tenant_id = r.tenant_id AND d.id = r.id AND d.lease_token = r.token
 RETURNING r.ord
), logged AS (
    INSERT INTO @extschema@.webhook_logs (tenant_id, webhook_id, delivery_id, attempt, request_url,
                                       request_headers, request_body, response_status, response_headers,
                                       response_body, duration_ms, error)
    SELECT tenant_id, webhook_id, id, attempt, url, request_headers::jsonb, request_body, status,
           response_headers::jsonb, body, duration_ms, error
      FROM r
     -- A delivery deleted meanwhile (its webhook's cascade, or the application)
     -- is skipped: no log row for it.
     WHERE EXISTS (SELECT FROM @extschema@.webhook_deliveries d WHERE d.tenant_id = r.tenant_id AND d.id = r.id)
 RETURNING 1
), health AS (
    SELECT tenant_id, webhook_id,
           pg_catalog.count(*) FILTER (WHERE ok = 1) AS successes,
           pg_catalog.count(*) FILTER (WHERE ok = 0) AS failures,
           pg_catalog.bool_or(outcome = 'gone') AS gone,
           (pg_catalog.array_agg(ok ORDER BY ord DESC))[1] = 1 AS last_ok
      FROM r GROUP BY tenant_id, webhook_id
), failing AS (
    SELECT h.*, w.disable_after_failures, w.disable_after,
           CASE WHEN h.last_ok THEN 0
                ELSE LEAST(w.failure_count::bigint + h.failures, 2147483647)::integer END AS failure_count,
           CASE WHEN h.last_ok THEN NULL ELSE COALESCE(w.failing_since, pg_catalog.now()) END AS failing_since
      FROM health h JOIN @extschema@.webhooks w ON w.tenant_id = h.tenant_id AND w.id = h.webhook_id
), counted AS (
    SELECT f.*, f.failing_since IS NOT NULL AND f.failure_count >= f.disable_after_failures
                AND pg_catalog.now() - f.failing_since >= f.disable_after AS sustained
      FROM failing f
)
UPDATE @extschema@.webhooks w
   SET failure_count = c.failure_count,
       failing_since = c.failing_since,
       last_success_at = CASE WHEN c.successes > 0 THEN pg_catalog.now() ELSE w.last_success_at END,
       last_failure_at = CASE WHEN c.failures > 0 THEN pg_catalog.now() ELSE w.last_failure_at END,
       -- Disabled only by sustained failure: at least disable_after_failures
       -- failed attempts in a row, spanning at least disable_after (a burst of
       -- failures within a second never disables), or by a 410 Gone.
       is_active = w.is_active AND NOT c.gone AND NOT c.sustained,
       disabled_at = CASE WHEN w.is_active AND (c.gone OR c.sustained) THEN pg_catalog.now() ELSE w.disabled_at END,
       disabled_reason = CASE
           WHEN NOT w.is_active THEN w.disabled_reason
           WHEN c.gone THEN 'the endpoint answered 410 Gone'
           WHEN c.sustained
               THEN pg_catalog.format('%s consecutive failed attempts, failing since %s', c.failure_count,
                                      pg_catalog.to_char(c.failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
           ELSE w.disabled_reason END
  FROM counted c
 WHERE w.tenant_id = c.tenant_id AND w.id = c.webhook_id
   AND (SELECT pg_catalog.count(*) FROM delivered) >= 0 AND (SELECT pg_catalog.count(*) FROM logged) >= 0
