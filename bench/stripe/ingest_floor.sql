-- The floor: the least SQL that keeps each request, an inbox insert of the raw
-- body, unverified and unparsed, with no mirror, log or sync state.
INSERT INTO bench_stripe_floor (integration, event_id, payload)
SELECT e.integration, e.n::text, e.payload::jsonb
  FROM (SELECT nextval('bench_stripe_next') AS n) k
  JOIN bench_stripe_events e ON e.n = k.n
ON CONFLICT DO NOTHING;
