-- check_tenant_limit where the installed SQL has no usage_deltas (before 0.13.0): tenant $1's total of metric $2 in the current UTC $3
-- ('day' or 'month'), whatever the session's time zone: the arithmetic is on
-- timestamp (without time zone) values read as UTC.
SELECT LEAST(COALESCE(pg_catalog.ceil(pg_catalog.sum(value_sum)), 0), 9223372036854775807)::bigint
  FROM @extschema@.usage_metrics,
       LATERAL (SELECT pg_catalog.date_trunc($3, pg_catalog.now() AT TIME ZONE 'UTC') AS start) w
 WHERE tenant_id = $1 AND metric_type = $2
   AND period_start >= (w.start AT TIME ZONE 'UTC')
   AND period_start < ((w.start + ('1 ' || $3)::interval) AT TIME ZONE 'UTC')
