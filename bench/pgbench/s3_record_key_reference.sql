-- Scenario 3 diagnostic: one usage event with a fresh idempotency key.
\set t random(1, :ntenants)
\set v random(1, 100)
\set k random(1, 2000000000)
SELECT reference.record_usage(('00000000-0000-4000-8000-' || lpad(to_hex(:t::int), 12, '0'))::uuid, 'bench_keyed', :v::numeric, now(), 'key-' || :k);
