-- The worker's record of provider request outcomes, given as parallel arrays:
-- the requests (only under the lease token they were claimed with), one
-- integration_logs row per attempt (direction outbound; the request body as
-- queued, which holds no credential, whole up to $11 bytes), the contacts a
-- contacts.upsert synced (those not changed since it was queued), and each
-- integration's last_sync_at (a success) or last_error (a request failed for good).
WITH r AS (
    -- unnest of several arrays is FROM-clause syntax: it cannot be schema-qualified.
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::integer[], $6::text[],
                         $7::text[], $8::float8[], $9::integer[], $10::text[])
        AS r(tenant_id, id, token, outcome, response_status, response, error, delay, duration_ms, url)
), done AS (
    UPDATE @extschema@.integration_requests q
       SET status = CASE WHEN r.outcome = 'succeeded' THEN 'succeeded'
                         WHEN r.outcome = 'failed' OR q.attempts >= q.max_attempts THEN 'failed'
                         ELSE 'pending' END,
           next_attempt_at = CASE WHEN r.outcome = 'retry' AND q.attempts < q.max_attempts
                                  THEN pg_catalog.now() + pg_catalog.make_interval(secs => r.delay) END,
           completed_at = CASE WHEN r.outcome = 'retry' AND q.attempts < q.max_attempts
                               THEN NULL ELSE pg_catalog.now() END,
           lease_token = NULL, lease_expires_at = NULL,
           response_status = r.response_status,
           last_error = CASE WHEN r.outcome = 'succeeded' THEN NULL ELSE r.error END
      FROM r
     WHERE q.tenant_id = r.tenant_id AND q.id = r.id AND q.lease_token = r.token
 RETURNING q.tenant_id, q.id, q.integration_id, q.operation, q.method, q.body, q.context, q.status,
           q.created_at, r.response_status, r.response, r.error, r.duration_ms, r.url
), logged AS (
    INSERT INTO @extschema@.integration_logs (tenant_id, integration_id, operation, direction, http_method,
                                             endpoint, request_payload, response_status, response_payload,
                                             status, error_message, duration_ms)
    SELECT d.tenant_id, d.integration_id, d.operation, 'outbound', d.method, d.url,
           CASE WHEN d.body IS NULL OR pg_catalog.octet_length(d.body::text) <= $11 THEN d.body
                ELSE pg_catalog.jsonb_build_object('omitted', 'larger than the log keeps',
                                                   'bytes', pg_catalog.octet_length(d.body::text)) END,
           d.response_status, d.response::jsonb,
           CASE WHEN d.status = 'succeeded' THEN 'success' ELSE 'error' END,
           CASE WHEN d.status <> 'succeeded' THEN COALESCE(d.error, 'failed') END,
           d.duration_ms
      FROM done d
    RETURNING 1
), synced AS (
    UPDATE @extschema@.sendgrid_contacts c
       SET last_synced_at = pg_catalog.now()
      FROM done d
     WHERE d.status = 'succeeded' AND d.operation = 'contacts.upsert'
       AND c.tenant_id = d.tenant_id
       -- Only the elements that are uuids: a context an operator wrote by hand
       -- must not make this statement, and with it the whole batch's record, fail.
       AND c.id IN (SELECT x::uuid FROM pg_catalog.jsonb_array_elements_text(
                        CASE WHEN pg_catalog.jsonb_typeof(d.context -> 'sendgrid_contacts') = 'array'
                             THEN d.context -> 'sendgrid_contacts' ELSE '[]'::jsonb END) x
                     WHERE x OPERATOR(pg_catalog.~*) '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
       AND c.updated_at <= d.created_at
    RETURNING 1
), summary AS (
    SELECT d.tenant_id, d.integration_id,
           pg_catalog.bool_or(d.status = 'succeeded') AS succeeded,
           (pg_catalog.array_agg(COALESCE(d.error, 'failed')) FILTER (WHERE d.status = 'failed'))[1] AS failure
      FROM done d GROUP BY d.tenant_id, d.integration_id
)
UPDATE @extschema@.integrations i
   SET last_sync_at = CASE WHEN s.succeeded THEN pg_catalog.now() ELSE i.last_sync_at END,
       last_error = COALESCE(s.failure, i.last_error),
       last_error_at = CASE WHEN s.failure IS NOT NULL THEN pg_catalog.now() ELSE i.last_error_at END
  FROM summary s
 WHERE i.tenant_id = s.tenant_id AND i.id = s.integration_id
   AND (SELECT pg_catalog.count(*) FROM logged) >= 0 AND (SELECT pg_catalog.count(*) FROM synced) >= 0
