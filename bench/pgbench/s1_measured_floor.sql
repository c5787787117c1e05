-- Scenario 1 floor, measured: the tenant's row and a plain sum over its rollup rows of the month.
\set t random(1, :ndata)
SELECT t.status, t.max_users, t.limits -> 'api_requests_per_month',
       (SELECT sum(m.value_sum) FROM usage_metrics m
         WHERE m.tenant_id = t.id AND m.metric_type = 'api_requests'
           AND m.period_start >= date_trunc('month', now(), 'UTC')) AS used
  FROM tenants t WHERE t.id = ('00000000-0000-4000-8000-' || lpad(to_hex(:t::int), 12, '0'))::uuid;
