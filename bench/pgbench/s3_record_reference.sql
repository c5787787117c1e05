-- Scenario 3: one usage event (one row in the indexed event table).
\set t random(1, :ntenants)
\set v random(1, 100)
SELECT reference.record_usage(('00000000-0000-4000-8000-' || lpad(to_hex(:t::int), 12, '0'))::uuid, 'bench_calls', :v::numeric);
