-- Report schedules (0.12.0): next_report_run() reads a five-field cron
-- schedule in an IANA time zone (chrono-tz's copy of the tz database, compiled
-- into the library, not pg_timezone_names); see src/analytics/schedule.rs.
COMMENT ON FUNCTION @extschema@.next_report_run(text, text, timestamptz) IS
    'The first time strictly after "after" (default now()) that a five-field cron schedule (minute hour day-of-month month day-of-week; numbers, JAN-DEC, SUN-SAT, ranges, steps, lists; day-of-month or day-of-week when both are restricted) names in an IANA time zone (the tz database compiled into marimo_erp by chrono-tz). A time skipped by a spring-forward change runs at the first valid minute after it; a time repeated by a fall-back change runs once, at its first occurrence. Malformed or impossible schedules and unknown zones: 22023.';
REVOKE ALL ON FUNCTION @extschema@.next_report_run(text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.next_report_run(text, text, timestamptz) TO marimo_app, marimo_admin;

-- BEFORE INSERT OR UPDATE row trigger of scheduled_reports: refuses (22023) a
-- schedule or time zone next_report_run() cannot read when an active row is
-- inserted, when either changes, and when a row is activated. It keeps
-- next_run_at: NULL on an inactive row; on an active one computed from now()
-- when the schedule or time zone changes, when the row is activated, or when
-- it is NULL. An explicit next_run_at otherwise goes through: the report
-- runner advances it after each run, and an insert that gives one
-- (pg_restore, a copy) keeps it.
-- An inactive row is not checked on insert (0.13.0; 0.12.0 checked it unless
-- last_error was set): it never runs, activating it checks it, and a dump of a
-- database holding one (run_report_now clears last_error) must restore.
-- SECURITY DEFINER (0.13.0): the roles that may write scheduled_reports are not
-- all allowed to call next_report_run() themselves (pg_restore as a database
-- owner is not a member of marimo_app); it only computes.
-- It fires before scheduled_reports_set_updated_at (triggers fire in name
-- order); neither reads what the other writes.
CREATE FUNCTION @extschema@.keep_report_next_run_at() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    checked boolean;
    next_run timestamptz;
BEGIN
    IF TG_WHEN <> 'BEFORE' OR TG_LEVEL <> 'ROW' OR TG_OP NOT IN ('INSERT', 'UPDATE') THEN
        RAISE EXCEPTION 'keep_report_next_run_at() must be a row-level BEFORE INSERT OR UPDATE trigger'
            USING ERRCODE = '39P01';
    END IF;
    IF TG_OP = 'INSERT' THEN
        checked := NEW.is_active;
    ELSE
        checked := NEW.schedule IS DISTINCT FROM OLD.schedule
                OR NEW.timezone IS DISTINCT FROM OLD.timezone
                OR (NEW.is_active AND NOT OLD.is_active);
    END IF;
    IF checked THEN
        -- 22023 naming the argument (schedule or timezone) when it cannot be read.
        next_run := @extschema@.next_report_run(NEW.schedule, NEW.timezone, pg_catalog.now());
    END IF;
    IF NOT NEW.is_active THEN
        NEW.next_run_at := NULL;
    ELSIF NEW.next_run_at IS NULL OR (checked AND TG_OP = 'UPDATE') THEN
        NEW.next_run_at := COALESCE(next_run, @extschema@.next_report_run(NEW.schedule, NEW.timezone, pg_catalog.now()));
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.keep_report_next_run_at() IS
    'Trigger of scheduled_reports: refuses (22023) schedules and time zones next_report_run() cannot read when an active row is inserted, its schedule or time zone changes or it is activated (an inactive row is checked when activated, so that any dump restores); keeps next_run_at: NULL when inactive, recomputed from now() on those changes or when NULL, an explicit value otherwise kept. Runs as its owner: it only computes.';
REVOKE ALL ON FUNCTION @extschema@.keep_report_next_run_at() FROM PUBLIC;

CREATE TRIGGER scheduled_reports_keep_next_run_at
    BEFORE INSERT OR UPDATE ON @extschema@.scheduled_reports
    FOR EACH ROW EXECUTE FUNCTION @extschema@.keep_report_next_run_at();

COMMENT ON COLUMN @extschema@.scheduled_reports.next_run_at IS 'When the report is next due, in its schedule and time zone; kept by the keep_report_next_run_at trigger (NULL while inactive), advanced by the report runner; the scheduler''s queue is ordered by it.';
