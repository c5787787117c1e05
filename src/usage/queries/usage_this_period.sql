-- check_tenant_limit: tenant $1's total of metric $2 in the current UTC $3
-- ('day' or 'month'), whatever the session's time zone: the arithmetic is on
-- timestamp (without time zone) values read as UTC. The hourly rollups and
-- the deltas not rolled up yet (0.13.0), read under one snapshot: roll_up_usage()
-- moves a delta from one to the other in one transaction, so it counts once.
SELECT LEAST(COALESCE(pg_catalog.ceil(pg_catalog.sum(u.value_sum)), 0), 9223372036854775807)::bigint
  FROM (SELECT pg_catalog.date_trunc($3, pg_catalog.now() AT TIME ZONE 'UTC') AS start) w,
       LATERAL (SELECT m.value_sum FROM @extschema@.usage_metrics AS m
                 WHERE m.tenant_id = $1 AND m.metric_type = $2
                   AND m.period_start >= (w.start AT TIME ZONE 'UTC')
                   AND m.period_start < ((w.start + ('1 ' || $3)::interval) AT TIME ZONE 'UTC')
                UNION ALL
                SELECT d.value_sum FROM @extschema@.usage_deltas AS d
                 WHERE d.tenant_id = $1 AND d.metric_type = $2
                   AND d.period_start >= (w.start AT TIME ZONE 'UTC')
                   AND d.period_start < ((w.start + ('1 ' || $3)::interval) AT TIME ZONE 'UTC')) u
