-- check_tenant_limit: tenant $1's total of metric $2 from $3 to $4 (the
-- current UTC day or month, computed in Rust from now(): bounds given as
-- parameters keep the plan two index range scans and the call about 10%
-- faster than date arithmetic in the statement). The hourly rollups and the
-- deltas not rolled up yet (0.13.0), read under one snapshot: roll_up_usage()
-- moves a delta from one to the other in one transaction, so it counts once.
SELECT LEAST(COALESCE(pg_catalog.ceil(pg_catalog.sum(u.value_sum)), 0), 9223372036854775807)::bigint
  FROM (SELECT m.value_sum FROM @extschema@.usage_metrics AS m
         WHERE m.tenant_id = $1 AND m.metric_type = $2
           AND m.period_start >= $3 AND m.period_start < $4
        UNION ALL
        SELECT d.value_sum FROM @extschema@.usage_deltas AS d
         WHERE d.tenant_id = $1 AND d.metric_type = $2
           AND d.period_start >= $3 AND d.period_start < $4) u
