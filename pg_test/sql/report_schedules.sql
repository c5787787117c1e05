-- report_schedules: next_report_run() against a table of known answers (worked
-- out by hand from the tz rules: DST days in Lisbon and New York, a leap day,
-- names, steps, ranges, day-of-month or day-of-week, year ends), its refusals,
-- and the trigger that checks scheduled_reports and keeps next_run_at.
SET timezone = 'UTC';

CREATE TEMP TABLE known (schedule text, zone text, after timestamptz, want timestamptz);
INSERT INTO known VALUES
    -- Strictly after; minutes, steps, ranges, lists.
    ('* * * * *',        'UTC', '2026-03-01 10:00:00+00', '2026-03-01 10:01:00+00'),
    ('* * * * *',        'UTC', '2026-03-01 10:00:30+00', '2026-03-01 10:01:00+00'),
    ('0 8 * * *',        'UTC', '2026-03-01 08:00:00+00', '2026-03-02 08:00:00+00'),
    ('*/15 * * * *',     'UTC', '2026-03-01 10:07:00+00', '2026-03-01 10:15:00+00'),
    ('5-10/5 * * * *',   'UTC', '2026-03-01 10:06:00+00', '2026-03-01 10:10:00+00'),
    ('10/20 * * * *',    'UTC', '2026-03-01 10:31:00+00', '2026-03-01 10:50:00+00'),
    ('0 9-17/4 * * *',   'UTC', '2026-03-01 10:00:00+00', '2026-03-01 13:00:00+00'),
    ('0 0,12 * * *',     'UTC', '2026-03-01 12:00:00+00', '2026-03-02 00:00:00+00'),
    -- Names in any case; 7 is Sunday.
    ('0 8 * * MON-FRI',  'UTC', '2026-03-06 09:00:00+00', '2026-03-09 08:00:00+00'),
    ('0 8 * * sun',      'UTC', '2026-03-02 00:00:00+00', '2026-03-08 08:00:00+00'),
    ('0 8 * * 7',        'UTC', '2026-03-02 00:00:00+00', '2026-03-08 08:00:00+00'),
    ('0 0 1 jun,Dec *',  'UTC', '2026-03-02 00:00:00+00', '2026-06-01 00:00:00+00'),
    ('0 0 1 JAN-MAR/2 *','UTC', '2026-01-02 00:00:00+00', '2026-03-01 00:00:00+00'),
    -- Both day fields restricted: either (2026-03-06 and -13 are Fridays).
    ('0 0 13 * 5',       'UTC', '2026-03-01 00:00:00+00', '2026-03-06 00:00:00+00'),
    ('0 0 13 * 5',       'UTC', '2026-03-10 00:00:00+00', '2026-03-13 00:00:00+00'),
    ('0 0 1,15 * MON',   'UTC', '2026-03-02 00:00:00+00', '2026-03-09 00:00:00+00'),
    -- One starts with '*': both (odd days that are Fridays).
    ('0 0 */2 * 5',      'UTC', '2026-03-01 00:00:00+00', '2026-03-13 00:00:00+00'),
    -- Year and month ends, in zones east and west of UTC.
    ('59 23 31 12 *',    'UTC', '2026-03-01 00:00:00+00', '2026-12-31 23:59:00+00'),
    ('0 0 1 1 *',        'UTC', '2026-12-31 23:59:00+00', '2027-01-01 00:00:00+00'),
    ('0 0 31 * *',       'UTC', '2026-03-31 00:00:00+00', '2026-05-31 00:00:00+00'),
    ('0 0 1 1 *',        'America/New_York', '2027-01-01 00:00:00+00', '2027-01-01 05:00:00+00'),
    ('0 0 1 1 *',        'Asia/Tokyo',       '2026-12-31 14:59:00+00', '2026-12-31 15:00:00+00'),
    -- Leap years: 29 February (none in 2100).
    ('0 0 29 2 *',       'UTC', '2026-03-01 00:00:00+00', '2028-02-29 00:00:00+00'),
    ('0 0 29 2 *',       'UTC', '2028-02-29 00:00:00+00', '2032-02-29 00:00:00+00'),
    ('0 0 29 2 *',       'UTC', '2096-03-01 00:00:00+00', '2104-02-29 00:00:00+00'),
    -- 08:00 in Lisbon: WET in winter, WEST in summer.
    ('0 8 * * *',        'Europe/Lisbon', '2026-01-15 12:00:00+00', '2026-01-16 08:00:00+00'),
    ('0 8 * * *',        'Europe/Lisbon', '2026-07-15 12:00:00+00', '2026-07-16 07:00:00+00'),
    -- Lisbon springs forward on 2026-03-29, 01:00 WET -> 02:00 WEST: 01:30 is
    -- skipped and runs at 02:00 WEST.
    ('30 1 * * *',       'Europe/Lisbon', '2026-03-28 12:00:00+00', '2026-03-29 01:00:00+00'),
    ('0 8 * * *',        'Europe/Lisbon', '2026-03-28 12:00:00+00', '2026-03-29 07:00:00+00'),
    ('*/20 * * * *',     'Europe/Lisbon', '2026-03-29 00:50:00+00', '2026-03-29 01:00:00+00'),
    -- Lisbon falls back on 2026-10-25, 02:00 WEST -> 01:00 WET: 01:30 once.
    ('30 1 * * *',       'Europe/Lisbon', '2026-10-24 12:00:00+00', '2026-10-25 00:30:00+00'),
    ('30 1 * * *',       'Europe/Lisbon', '2026-10-25 00:30:00+00', '2026-10-26 01:30:00+00'),
    ('*/30 * * * *',     'Europe/Lisbon', '2026-10-25 00:30:00+00', '2026-10-25 02:00:00+00'),
    -- New York springs forward on 2026-03-08, 02:00 EST -> 03:00 EDT.
    ('30 2 * * *',       'America/New_York', '2026-03-07 12:00:00+00', '2026-03-08 07:00:00+00'),
    ('30 2 * * *',       'America/New_York', '2026-03-08 07:00:00+00', '2026-03-09 06:30:00+00'),
    ('0 1 * * *',        'America/New_York', '2026-03-07 12:00:00+00', '2026-03-08 06:00:00+00'),
    -- New York falls back on 2026-11-01, 02:00 EDT -> 01:00 EST.
    ('30 1 * * *',       'America/New_York', '2026-10-31 12:00:00+00', '2026-11-01 05:30:00+00'),
    ('30 1 * * *',       'America/New_York', '2026-11-01 05:30:00+00', '2026-11-02 06:30:00+00'),
    ('0 * * * *',        'America/New_York', '2026-11-01 05:00:00+00', '2026-11-01 07:00:00+00'),
    ('0 2 * * *',        'America/New_York', '2026-10-31 12:00:00+00', '2026-11-01 07:00:00+00');

SELECT schedule, zone, after, next_report_run(schedule, zone, after) AS got,
       next_report_run(schedule, zone, after) = want AS ok
  FROM known ORDER BY zone, after, schedule;
SELECT count(*) AS known_answers, count(*) FILTER (WHERE next_report_run(schedule, zone, after) = want) AS right
  FROM known;

-- The default "after" is now(); the answer is a whole minute.
SELECT next_report_run('* * * * *', 'UTC') > now() AS after_now,
       next_report_run('* * * * *', 'UTC') <= now() + interval '1 minute' AS within_a_minute,
       extract(second FROM next_report_run('* * * * *', 'UTC', '2026-03-01 10:00:17.5+00')) AS second;

-- Refusals: 22023 naming the argument; NULLs 22004.
SELECT s, regress.expect_error(format('SELECT next_report_run(%L, %L)', s, z))
  FROM (VALUES ('0 8 31 2 *', 'UTC'), ('0 8 30 2 *', 'UTC'), ('0 0 31 4,6,9,11 *', 'UTC'),
               ('99 99 * * *', 'UTC'), ('60 * * * *', 'UTC'), ('* 24 * * *', 'UTC'),
               ('* * 0 * *', 'UTC'), ('* * * 13 *', 'UTC'), ('* * * * 8', 'UTC'),
               ('* * * FOO *', 'UTC'), ('5-1 * * * *', 'UTC'), ('*/0 * * * *', 'UTC'),
               ('0 0 * * * *', 'UTC'), ('0 0 * *', 'UTC'), ('', 'UTC'), ('@daily', 'UTC'),
               ('0 0 L * *', 'UTC'), ('0 0 15W * *', 'UTC'), ('0 0 * * 5#3', 'UTC'),
               ('0 8 * * *', 'Mars/Olympus_Mons'), ('0 8 * * *', ''), ('0 8 * * *', 'europe/lisbon')) AS t(s, z);
SELECT regress.expect_error($$SELECT next_report_run(NULL, 'UTC')$$);
SELECT regress.expect_error($$SELECT next_report_run('* * * * *', NULL)$$);
SELECT regress.expect_error($$SELECT next_report_run('* * * * *', 'UTC', NULL)$$);
SELECT regress.expect_error($$SELECT next_report_run('* * * * *', 'UTC', 'infinity')$$);

------------------------------------------------------------------------------
-- The trigger on scheduled_reports.
------------------------------------------------------------------------------
INSERT INTO tenants (id, slug, name) VALUES ('c5000000-0000-4000-8000-000000000001', 'regress-schedules', 'Schedules');
INSERT INTO analytics_queries (tenant_id, id, name, query_text)
VALUES ('c5000000-0000-4000-8000-000000000001', 'c5100000-0000-4000-8000-000000000001', 'Revenue', 'SELECT 1');

BEGIN;
-- An active row gets next_run_at from now(), whatever was written there.
INSERT INTO scheduled_reports (tenant_id, id, name, analytics_query_id, schedule, timezone, recipients)
VALUES ('c5000000-0000-4000-8000-000000000001', 'c5200000-0000-4000-8000-000000000001', 'Daily',
        'c5100000-0000-4000-8000-000000000001', '0 8 * * *', 'Europe/Lisbon', '{a@example.com}');
SELECT next_run_at = next_report_run('0 8 * * *', 'Europe/Lisbon', now()) AS computed
  FROM scheduled_reports WHERE id = 'c5200000-0000-4000-8000-000000000001';
-- The runner sets it explicitly: it goes through.
UPDATE scheduled_reports SET next_run_at = '2030-01-01 08:00+00', last_run_at = now()
 WHERE id = 'c5200000-0000-4000-8000-000000000001';
SELECT next_run_at FROM scheduled_reports WHERE id = 'c5200000-0000-4000-8000-000000000001';
-- A change of schedule or time zone recomputes it.
UPDATE scheduled_reports SET timezone = 'America/New_York' WHERE id = 'c5200000-0000-4000-8000-000000000001';
SELECT next_run_at = next_report_run('0 8 * * *', 'America/New_York', now()) AS recomputed
  FROM scheduled_reports WHERE id = 'c5200000-0000-4000-8000-000000000001';
UPDATE scheduled_reports SET schedule = '30 6 * * MON', next_run_at = '2030-01-01 08:00+00'
 WHERE id = 'c5200000-0000-4000-8000-000000000001';
SELECT next_run_at = next_report_run('30 6 * * MON', 'America/New_York', now()) AS recomputed
  FROM scheduled_reports WHERE id = 'c5200000-0000-4000-8000-000000000001';
-- Inactive: NULL; activated: computed again.
UPDATE scheduled_reports SET is_active = false WHERE id = 'c5200000-0000-4000-8000-000000000001';
SELECT next_run_at IS NULL AS cleared FROM scheduled_reports WHERE id = 'c5200000-0000-4000-8000-000000000001';
UPDATE scheduled_reports SET is_active = true WHERE id = 'c5200000-0000-4000-8000-000000000001';
SELECT next_run_at = next_report_run('30 6 * * MON', 'America/New_York', now()) AS computed
  FROM scheduled_reports WHERE id = 'c5200000-0000-4000-8000-000000000001';
-- NULL on an active row is filled in.
UPDATE scheduled_reports SET next_run_at = NULL WHERE id = 'c5200000-0000-4000-8000-000000000001';
SELECT next_run_at IS NOT NULL AS filled FROM scheduled_reports WHERE id = 'c5200000-0000-4000-8000-000000000001';
-- An insert that gives next_run_at (pg_restore) keeps it.
INSERT INTO scheduled_reports (tenant_id, id, name, analytics_query_id, schedule, recipients, next_run_at)
VALUES ('c5000000-0000-4000-8000-000000000001', 'c5200000-0000-4000-8000-000000000002', 'Restored',
        'c5100000-0000-4000-8000-000000000001', '0 8 * * *', '{a@example.com}', '2026-05-05 08:00+00');
SELECT next_run_at FROM scheduled_reports WHERE id = 'c5200000-0000-4000-8000-000000000002';
COMMIT;

-- Refused: bad schedules and zones on an active insert, on change, on activation.
SELECT regress.expect_error($$INSERT INTO scheduled_reports (tenant_id, name, analytics_query_id, schedule, recipients)
    VALUES ('c5000000-0000-4000-8000-000000000001', 'Bad', 'c5100000-0000-4000-8000-000000000001', '99 99 * * *', '{a@example.com}')$$);
SELECT regress.expect_error($$INSERT INTO scheduled_reports (tenant_id, name, analytics_query_id, schedule, recipients)
    VALUES ('c5000000-0000-4000-8000-000000000001', 'Bad', 'c5100000-0000-4000-8000-000000000001', '0 8 31 2 *', '{a@example.com}')$$);
SELECT regress.expect_error($$INSERT INTO scheduled_reports (tenant_id, name, analytics_query_id, schedule, timezone, recipients)
    VALUES ('c5000000-0000-4000-8000-000000000001', 'Bad', 'c5100000-0000-4000-8000-000000000001', '0 8 * * *', 'Mars/Olympus_Mons', '{a@example.com}')$$);
SELECT regress.expect_error($$UPDATE scheduled_reports SET schedule = '0 8 31 2 *' WHERE id = 'c5200000-0000-4000-8000-000000000001'$$);
SELECT regress.expect_error($$UPDATE scheduled_reports SET timezone = 'Mars/Olympus_Mons' WHERE id = 'c5200000-0000-4000-8000-000000000001'$$);
-- A row the 0.12.0 update deactivated (inactive, last_error set) restores, and
-- is checked again when activated.
INSERT INTO scheduled_reports (tenant_id, id, name, analytics_query_id, schedule, is_active, last_error, recipients)
VALUES ('c5000000-0000-4000-8000-000000000001', 'c5200000-0000-4000-8000-000000000003', 'Deactivated',
        'c5100000-0000-4000-8000-000000000001', '99 99 * * *', false, 'deactivated', '{a@example.com}');
SELECT regress.expect_error($$UPDATE scheduled_reports SET is_active = true WHERE id = 'c5200000-0000-4000-8000-000000000003'$$);
UPDATE scheduled_reports SET schedule = '0 9 * * *', is_active = true, last_error = NULL
 WHERE id = 'c5200000-0000-4000-8000-000000000003';
-- So does an inactive row without last_error (0.13.0): run_report_now clears
-- last_error, and a dump of such a row must restore; activation checks it.
INSERT INTO scheduled_reports (tenant_id, id, name, analytics_query_id, schedule, is_active, recipients)
VALUES ('c5000000-0000-4000-8000-000000000001', 'c5200000-0000-4000-8000-000000000005', 'Inactive, unreadable',
        'c5100000-0000-4000-8000-000000000001', '0 8 31 2 *', false, '{a@example.com}');
SELECT regress.expect_error($$UPDATE scheduled_reports SET is_active = true WHERE id = 'c5200000-0000-4000-8000-000000000005'$$);
SELECT name, schedule, is_active, next_run_at IS NOT NULL AS scheduled FROM scheduled_reports
 WHERE tenant_id = 'c5000000-0000-4000-8000-000000000001' ORDER BY id;

-- A role that may write scheduled_reports without being allowed to call
-- next_report_run() itself (here BYPASSRLS with table grants, as a loader or
-- a restoring database owner can be): the trigger computes as its owner.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'marimo_schedules_loader') THEN
        DROP OWNED BY marimo_schedules_loader;
        DROP ROLE marimo_schedules_loader;
    END IF;
END
$$;
CREATE ROLE marimo_schedules_loader LOGIN BYPASSRLS;
GRANT USAGE ON SCHEMA public TO marimo_schedules_loader;
GRANT SELECT, INSERT ON scheduled_reports TO marimo_schedules_loader;
SET ROLE marimo_schedules_loader;
SELECT has_function_privilege('next_report_run(text, text, timestamptz)', 'EXECUTE') AS loader_may_call;
INSERT INTO scheduled_reports (tenant_id, id, name, analytics_query_id, schedule, recipients)
VALUES ('c5000000-0000-4000-8000-000000000001', 'c5200000-0000-4000-8000-000000000006', 'Loaded',
        'c5100000-0000-4000-8000-000000000001', '0 8 * * *', '{a@example.com}');
SELECT next_run_at IS NOT NULL AS loaded_scheduled FROM scheduled_reports WHERE id = 'c5200000-0000-4000-8000-000000000006';
RESET ROLE;
DROP OWNED BY marimo_schedules_loader;
DROP ROLE marimo_schedules_loader;


-- An application role, for its current tenant: the same rules.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'marimo_schedules_app') THEN
        DROP OWNED BY marimo_schedules_app;
        DROP ROLE marimo_schedules_app;
    END IF;
END
$$;
CREATE ROLE marimo_schedules_app LOGIN;
GRANT marimo_app TO marimo_schedules_app;
GRANT USAGE ON SCHEMA regress TO marimo_schedules_app;
\c - marimo_schedules_app
SET timezone = 'UTC';
BEGIN;
SELECT set_tenant('c5000000-0000-4000-8000-000000000001') IS NOT NULL AS tenant_set;
SELECT next_report_run('0 8 * * *', 'Europe/Lisbon', '2026-03-28 12:00+00') AS app_next;
INSERT INTO scheduled_reports (tenant_id, id, name, analytics_query_id, schedule, timezone, recipients)
VALUES ('c5000000-0000-4000-8000-000000000001', 'c5200000-0000-4000-8000-000000000004', 'By the application',
        'c5100000-0000-4000-8000-000000000001', '*/5 * * * *', 'Asia/Kolkata', '{a@example.com}');
SELECT next_run_at = next_report_run('*/5 * * * *', 'Asia/Kolkata', now()) AS computed
  FROM scheduled_reports WHERE id = 'c5200000-0000-4000-8000-000000000004';
SELECT regress.expect_error($$UPDATE scheduled_reports SET schedule = '0 0 30 2 *' WHERE id = 'c5200000-0000-4000-8000-000000000004'$$);
SELECT regress.expect_error($$UPDATE scheduled_reports SET timezone = 'Mars/Olympus_Mons' WHERE id = 'c5200000-0000-4000-8000-000000000004'$$);
COMMIT;
\c - postgres
SET timezone = 'UTC';
DROP OWNED BY marimo_schedules_app;
DROP ROLE marimo_schedules_app;

DELETE FROM tenants WHERE id = 'c5000000-0000-4000-8000-000000000001';
