-- Scenario 3, one hot tenant: every client records for tenant 1, into one hourly row of the rollup.
\set v random(1, 100)
SELECT record_usage('00000000-0000-4000-8000-000000000001'::uuid, 'bench_calls', :v::numeric);
