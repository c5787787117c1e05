-- Scenario 3 floor, one hot tenant: a bare INSERT of tenant 1's event into an unindexed table.
\set v random(1, 100)
INSERT INTO floor.usage_events (tenant_id, metric_type, value) VALUES ('00000000-0000-4000-8000-000000000001'::uuid, 'bench_calls', :v::numeric);
