-- check_tenant_limit where the installed SQL has no usage_deltas (before
-- 0.13.0): tenant $1's total of metric $2 from $3 to $4 (the current UTC day
-- or month, computed in Rust from now()).
SELECT LEAST(COALESCE(pg_catalog.ceil(pg_catalog.sum(value_sum)), 0), 9223372036854775807)::bigint
  FROM @extschema@.usage_metrics
 WHERE tenant_id = $1 AND metric_type = $2
   AND period_start >= $3 AND period_start < $4
