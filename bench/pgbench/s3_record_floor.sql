-- Scenario 3 floor: a bare INSERT of the event into an unindexed table.
\set t random(1, :ntenants)
\set v random(1, 100)
INSERT INTO floor.usage_events (tenant_id, metric_type, value) VALUES (('00000000-0000-4000-8000-' || lpad(to_hex(:t::int), 12, '0'))::uuid, 'bench_calls', :v::numeric);
