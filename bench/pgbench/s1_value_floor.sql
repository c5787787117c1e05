-- Scenario 1 floor: the primary-key lookup of the tenant's row.
\set t random(1, :ntenants)
SELECT status, subscription_status, trial_ends_at, max_users FROM tenants WHERE id = ('00000000-0000-4000-8000-' || lpad(to_hex(:t::int), 12, '0'))::uuid;
