-- Scenario 3, one hot tenant: every client records for tenant 1 (one row in the indexed event table).
\set v random(1, 100)
SELECT reference.record_usage('00000000-0000-4000-8000-000000000001'::uuid, 'bench_calls', :v::numeric);
