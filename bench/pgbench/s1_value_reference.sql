-- Scenario 1, current value given: the tenant's users_count limit.
\set t random(1, :ntenants)
SELECT * FROM reference.check_tenant_limit(('00000000-0000-4000-8000-' || lpad(to_hex(:t::int), 12, '0'))::uuid, 'users_count', 42);
