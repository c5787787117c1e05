-- usage: record_usage (hourly UTC rollups) and aggregate_usage_metrics.
SET timezone = 'UTC';

INSERT INTO tenants (id, slug, name) VALUES
    ('b0000000-0000-4000-8000-000000000001', 'regress-usage-a', 'Usage A'),
    ('b0000000-0000-4000-8000-000000000002', 'regress-usage-b', 'Usage B');

------------------------------------------------------------------------------
-- record_usage returns the start of the UTC hour of "at".
------------------------------------------------------------------------------
-- Two values in the 10:00 hour of Monday 2024-03-04: 5 and 3.
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'api_calls', 5, '2024-03-04 10:05:00+00');
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'api_calls', 3, '2024-03-04 10:59:59.999999+00');
-- They share one row: sum 8, 2 samples, min 3, max 5.
SELECT roll_up_usage() > 0 AS rolled_up;  -- the deltas of the calls above into usage_metrics
SELECT period_start, value_sum, sample_count, value_min, value_max
  FROM usage_metrics WHERE tenant_id = 'b0000000-0000-4000-8000-000000000001' AND metric_type = 'api_calls';

-- The start of an hour belongs to that hour; other hours get other rows.
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'api_calls', 2, '2024-03-04 11:00:00+00');
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'api_calls', 10, '2024-03-05 00:30:00+00');
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'api_calls', 1, '2024-03-10 23:59:00+00');  -- Sunday
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'api_calls', 4, '2024-03-11 00:00:00+00');  -- Monday
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'api_calls', 6, '2024-04-01 00:00:00+00');
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'api_calls', 7, '2024-02-29 23:00:00+00');  -- leap day
-- "at" in another offset: 14:20 at -03:30 is 17:50 UTC.
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'offset_calls', 1, '2024-03-04 14:20:00-03:30');

-- Other metrics and other tenants in the same hours, to be left out below.
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'storage_gb', 100, '2024-03-04 10:30:00+00');
SELECT record_usage('b0000000-0000-4000-8000-000000000002', 'api_calls', 1000, '2024-03-04 10:30:00+00');

SELECT roll_up_usage() > 0 AS rolled_up;  -- the deltas of the calls above into usage_metrics
SELECT tenant_id, metric_type, period_start, value_sum, sample_count, value_min, value_max
  FROM usage_metrics WHERE tenant_id::text LIKE 'b0000000-%'
 ORDER BY tenant_id, metric_type, period_start;

-- Zero and fractional values are recorded as given.
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'gb_hours', 0, '2024-03-04 10:00:00+00');
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'gb_hours', 1.25, '2024-03-04 10:10:00+00');
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'gb_hours', 0.5, '2024-03-04 10:20:00+00');
SELECT roll_up_usage() > 0 AS rolled_up;  -- the deltas of the calls above into usage_metrics
SELECT value_sum, sample_count, value_min, value_max
  FROM usage_metrics WHERE tenant_id = 'b0000000-0000-4000-8000-000000000001' AND metric_type = 'gb_hours';

-- Without "at", the hour of now().
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'now_calls', 1) = date_trunc('hour', now(), 'UTC') AS current_hour;

------------------------------------------------------------------------------
-- The session time zone changes nothing: buckets are UTC hours.
------------------------------------------------------------------------------
SET timezone = 'Asia/Kolkata';  -- +05:30
-- 05:20 in Kolkata is 23:50 UTC the day before: the bucket is 23:00 UTC
-- (04:30 local), not the local hour 05:00 (23:30 UTC).
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'tz_calls', 1, '2024-03-04 05:20:00+05:30') AT TIME ZONE 'UTC' AS bucket_utc;
-- A timestamptz without an offset is read in the session's zone: 10:45 IST is 05:15 UTC.
SELECT record_usage('b0000000-0000-4000-8000-000000000001', 'tz_calls', 2, '2024-03-04 10:45:00') AT TIME ZONE 'UTC' AS bucket_utc;
SELECT roll_up_usage() > 0 AS rolled_up;  -- the deltas of the calls above into usage_metrics
SELECT period_start AT TIME ZONE 'UTC' AS period_start_utc, value_sum
  FROM usage_metrics WHERE tenant_id = 'b0000000-0000-4000-8000-000000000001' AND metric_type = 'tz_calls'
 ORDER BY period_start;
-- Day buckets are UTC days whatever the session's zone.
SELECT bucket_start AT TIME ZONE 'UTC' AS bucket_start_utc, total, samples
  FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'tz_calls', '2024-03-01', '2024-03-31', 'day');
-- timestamp bounds (the seed's '...'::TIMESTAMP) are read as UTC, not in the session's zone.
SELECT bucket_start AT TIME ZONE 'UTC' AS bucket_start_utc, total, samples
  FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'tz_calls', '2024-03-03 23:00'::timestamp,
                               '2024-03-04 00:00'::timestamp);
-- timestamptz bounds (0.9.0) are instants; an untyped literal is one too (the
-- preferred type), read in the session's zone like any timestamptz: 04:30 IST
-- to 05:30 IST is the same UTC hour, 23:00 to 00:00.
SELECT bucket_start AT TIME ZONE 'UTC' AS bucket_start_utc, total, samples
  FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'tz_calls', '2024-03-04 04:30', '2024-03-04 05:30');
SELECT bucket_start AT TIME ZONE 'UTC' AS bucket_start_utc, total, samples
  FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'tz_calls',
                               '2024-03-03 23:00+00'::timestamptz, '2024-03-04 00:00+00'::timestamptz);
SET timezone = 'UTC';

------------------------------------------------------------------------------
-- aggregate_usage_metrics over the whole range: one row.
--   hour rows of api_calls for tenant A:
--     2024-02-29 23:00  7 (1)       2024-03-04 10:00  8 (2, min 3, max 5)
--     2024-03-04 11:00  2 (1)       2024-03-05 00:00 10 (1)
--     2024-03-10 23:00  1 (1)       2024-03-11 00:00  4 (1)
--     2024-04-01 00:00  6 (1)
------------------------------------------------------------------------------
-- February to April: everything, 38 over 8 samples.
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'api_calls', '2024-02-01', '2024-05-01');
-- March: 8 + 2 + 10 + 1 + 4 = 25 over 6 samples; 2024-04-01 00:00 is "to" and excluded.
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'api_calls', '2024-03-01', '2024-04-01');
-- One microsecond more and it is included: 31 over 7.
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'api_calls', '2024-03-01', '2024-04-01 00:00:00.000001');
-- "from" exactly on a row includes it, "to" exactly on a row excludes it.
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'api_calls', '2024-03-04 10:00', '2024-03-04 11:00');
-- Resolution is the hour: from 10:30 leaves out the 10:00 row.
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'api_calls', '2024-03-04 10:30', '2024-03-04 12:00');
-- Another metric of the same tenant, and the other tenant, in the same hours.
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'storage_gb', '2024-03-01', '2024-04-01');
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000002', 'api_calls', '2024-03-01', '2024-04-01');
-- Unbounded range.
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'api_calls', '-infinity', 'infinity');

-- No data: exactly one row, total 0, 0 samples, no average, minimum or maximum.
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'api_calls', '2023-01-01', '2023-02-01');
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'never_recorded', '2024-01-01', '2025-01-01');
-- A bucket width with no data: no rows.
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'api_calls', '2023-01-01', '2023-02-01', 'day');

------------------------------------------------------------------------------
-- Buckets: one row per bucket with data, in time order.
------------------------------------------------------------------------------
-- hour: the seven rows as recorded.
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'api_calls', '2024-02-01', '2024-05-01', 'hour');
-- day: 02-29 7; 03-04 10 (3 samples, min 2, max 5); 03-05 10; 03-10 1; 03-11 4; 04-01 6.
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'api_calls', '2024-02-01', '2024-05-01', 'day');
-- week (ISO, from Monday): 02-26 7; 03-04 8+2+10+1 = 21 (5 samples); 03-11 4; 04-01 6.
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'api_calls', '2024-02-01', '2024-05-01', 'week');
-- month: 02 7; 03 25 (6 samples); 04 6.
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'api_calls', '2024-02-01', '2024-05-01', 'month');
-- Buckets respect [from, to) too: March alone, by week.
SELECT * FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'api_calls', '2024-03-01', '2024-04-01', 'week');
-- The bucket totals add up to the whole-range total.
SELECT (SELECT sum(total) FROM aggregate_usage_metrics('b0000000-0000-4000-8000-000000000001', 'api_calls', '2024-02-01', '2024-05-01', b)) AS bucket_sum,
       b AS bucket
  FROM unnest(ARRAY['hour', 'day', 'week', 'month']) b;

-- Cleanup.
DELETE FROM tenants WHERE id::text LIKE 'b0000000-%';
SELECT count(*) FROM usage_metrics WHERE tenant_id::text LIKE 'b0000000-%';
