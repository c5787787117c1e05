-- Scenario 1, measured: API requests this UTC month against the tenant's monthly limit.
\set t random(1, :ndata)
SELECT * FROM check_tenant_limit(('00000000-0000-4000-8000-' || lpad(to_hex(:t::int), 12, '0'))::uuid, 'api_requests_per_month');
