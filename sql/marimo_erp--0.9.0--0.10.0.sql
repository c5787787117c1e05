-- marimo_erp 0.9.0 -> 0.10.0: hardening (issue 14). Each section below is one
-- capability; each adds what a fresh 0.10.0 install has, in the same column
-- order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.10.0'" to load this file. \quit

-- == Webhooks: the worker owns its columns, and what applications write is checked ==
-- Rows the new CHECKs refuse are repaired first, never deleted (a BEFORE UPDATE
-- trigger moves their updated_at):
-- - custom_headers keeps only entries with an HTTP-token name that is not
--   hop-by-hop, content-* or webhook-*, and a string, number or boolean value
--   (kept as its text, control characters turned into spaces); an object still
--   over 8 KB becomes {}.
UPDATE @extschema@.webhooks w
   SET custom_headers = COALESCE((
           SELECT pg_catalog.jsonb_object_agg(h.key,
                      pg_catalog.regexp_replace(h.value #>> '{}', '[[:cntrl:]]', ' ', 'g'))
             FROM pg_catalog.jsonb_each(w.custom_headers) AS h
            WHERE pg_catalog.jsonb_typeof(h.value) IN ('string', 'number', 'boolean')
              AND h.key ~ '^[-!#$%&''*+.^_`|~0-9A-Za-z]{1,100}$'
              AND h.key !~* '^(connection|keep-alive|proxy-.*|te|trailers?|transfer-encoding|upgrade|host|expect|content-.*|webhook-.*)$'),
           '{}'::jsonb)
 WHERE pg_catalog.jsonb_path_exists(w.custom_headers,
           '$.keyvalue() ? (@.value.type() != "string"
                            || !(@.key like_regex "^[-!#$%&''*+.^_`|~0-9A-Za-z]{1,100}$")
                            || @.key like_regex "^(connection|keep-alive|proxy-.*|te|trailers?|transfer-encoding|upgrade|host|expect|content-.*|webhook-.*)$" flag "i"
                            || @.value like_regex "[[:cntrl:]]")');
UPDATE @extschema@.webhooks SET custom_headers = '{}'::jsonb WHERE pg_catalog.length(custom_headers::text) > 8192;
-- - retry_schedule: each delay is clamped to 1 second .. 7 days.
UPDATE @extschema@.webhooks w
   SET retry_schedule = ARRAY(SELECT LEAST(GREATEST(s.delay, '00:00:01'::interval), '7 days'::interval)
                                FROM pg_catalog.unnest(w.retry_schedule) WITH ORDINALITY AS s(delay, n) ORDER BY s.n)
 WHERE NOT ('00:00:01'::interval <= ALL (w.retry_schedule) AND '7 days'::interval >= ALL (w.retry_schedule));
-- - failing_since: an infinite or future time becomes now (the run of failures
--   is counted from the update on).
UPDATE @extschema@.webhooks SET failing_since = pg_catalog.now()
 WHERE NOT pg_catalog.isfinite(failing_since) OR failing_since > pg_catalog.now();
-- - a secret the decoder refuses (the worker sent its requests unsigned) is
--   replaced by a generated one, and the webhook is disabled with the reason, so
--   that nothing goes out signed with a key the receiver does not know: set a
--   secret with rotate_webhook_secret(), then enable_webhook(). A rotated-out
--   secret the decoder refuses is replaced and expires now.
UPDATE @extschema@.webhooks
   SET secret = @extschema@.webhook_generate_secret(),
       is_active = false,
       disabled_at = COALESCE(disabled_at, pg_catalog.now()),
       disabled_reason = 'the secret could not be decoded (0.10.0 update): set one with rotate_webhook_secret(), then enable_webhook()'
 WHERE secret !~ '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]={0,2})?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$';
UPDATE @extschema@.webhook_secrets
   SET secret = @extschema@.webhook_generate_secret(), expires_at = LEAST(expires_at, pg_catalog.now())
 WHERE secret !~ '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]={0,2})?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$';

ALTER TABLE @extschema@.webhooks
    DROP CONSTRAINT webhooks_secret_check,
    ADD CONSTRAINT webhooks_secret_check CHECK (secret ~ '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]={0,2})?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$'),
    DROP CONSTRAINT webhooks_custom_headers_check,
    ADD CONSTRAINT webhooks_custom_headers_check CHECK (
        pg_catalog.jsonb_typeof(custom_headers) = 'object'
        AND pg_catalog.length(custom_headers::text) <= 8192
        AND NOT pg_catalog.jsonb_path_exists(custom_headers,
            '$.keyvalue() ? (@.value.type() != "string"
                             || !(@.key like_regex "^[-!#$%&''*+.^_`|~0-9A-Za-z]{1,100}$")
                             || @.key like_regex "^(connection|keep-alive|proxy-.*|te|trailers?|transfer-encoding|upgrade|host|expect|content-.*|webhook-.*)$" flag "i"
                             || @.value like_regex "[[:cntrl:]]")')),
    DROP CONSTRAINT webhooks_retry_schedule_check,
    ADD CONSTRAINT webhooks_retry_schedule_check CHECK (
        pg_catalog.cardinality(retry_schedule) BETWEEN 1 AND 50
        AND pg_catalog.array_position(retry_schedule, NULL) IS NULL
        AND '00:00:01'::interval <= ALL (retry_schedule)
        AND '7 days'::interval >= ALL (retry_schedule)),
    ADD CONSTRAINT webhooks_failing_since_check CHECK (pg_catalog.isfinite(failing_since));
ALTER TABLE @extschema@.webhook_secrets
    DROP CONSTRAINT webhook_secrets_secret_check,
    ADD CONSTRAINT webhook_secrets_secret_check CHECK (secret ~ '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]={0,2})?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$');

-- The worker owns the delivery state and the endpoints' health: applications
-- write the configuration only (see webhooks.sql).
REVOKE INSERT, UPDATE ON @extschema@.webhook_deliveries FROM marimo_app;
GRANT INSERT (tenant_id, webhook_id, event_id, max_attempts, next_attempt_at)
    ON @extschema@.webhook_deliveries TO marimo_app;
REVOKE INSERT, UPDATE ON @extschema@.webhooks FROM marimo_app;
GRANT INSERT (tenant_id, id, name, description, url, secret, event_types, is_active, max_attempts, timeout_ms,
              custom_headers, retry_schedule, max_in_flight, disable_after_failures, disable_after)
    ON @extschema@.webhooks TO marimo_app;
GRANT UPDATE (name, description, url, secret, event_types, is_active, max_attempts, timeout_ms,
              custom_headers, retry_schedule, max_in_flight, disable_after_failures, disable_after)
    ON @extschema@.webhooks TO marimo_app;
COMMENT ON COLUMN @extschema@.webhooks.custom_headers IS 'Extra HTTP headers sent with every request, as a JSON object of header name (an HTTP token, not hop-by-hop, content-* or webhook-*) to a string without control characters; at most 8 KB.';
COMMENT ON COLUMN @extschema@.webhooks.retry_schedule IS 'Delays before each retry (1-50 of them, each 1 second to 7 days; the last repeats): Svix''s 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h by default, each with ±20 % jitter; a 429 or a timeout waits at least 60 s.';
COMMENT ON COLUMN @extschema@.webhooks.disable_after_failures IS 'Fewest consecutive failed attempts before the endpoint is disabled; it is disabled only once they also span disable_after.';
COMMENT ON COLUMN @extschema@.webhooks.disable_after IS 'How long the endpoint must fail without a success (and at least disable_after_failures times) before it is disabled.';
COMMENT ON COLUMN @extschema@.webhooks.failing_since IS 'When the current run of failures began (finite); NULL after a success. Kept by the worker.';

-- == Webhooks: fairness across tenants (claims, limits, payload size) ==

-- == Maintenance in bounded chunks ==

-- == Side channels: what an application role cannot read through EXPLAIN or cursors ==
