-- One Stripe webhook request per transaction, as an application's endpoint
-- makes them: the next generated event, verified and applied.
SELECT r.outcome
  FROM (SELECT nextval('bench_stripe_next') AS n) k
  JOIN bench_stripe_events e ON e.n = k.n,
       ingest_stripe_event(e.integration, e.payload, e.header, '1 day') r;
