-- marimo_erp 0.11.0 -> 0.12.0: analytics that run (issue 11). Each section
-- below is one capability; each adds what a fresh 0.12.0 install has, in the
-- same column order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.12.0'" to load this file. \quit

-- == Saved queries that run: the per-tenant sandbox and dashboards ==
-- (src/tenancy/tenancy.sql, src/tenancy/rls.rs, src/analytics/sandbox.rs and
-- sandbox.sql.) The role saved queries run as, as a fresh install creates it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'marimo_analytics') THEN
        CREATE ROLE marimo_analytics NOLOGIN;
        COMMENT ON ROLE marimo_analytics IS
            'marimo_erp: the role saved queries run as in run_analytics_query(); reads the current tenant''s rows of the tenant-scoped tables, no secret, writes nothing.';
    END IF;
END
$$;
-- Its policy, marimo_analytics_select, on every table that has the tenant
-- policies (extension tables, their partitions, tables enable_tenancy() made
-- tenant-scoped): isolate_tenant_rows() adds the policies a table lacks.
SELECT pg_catalog.count(@extschema@.isolate_tenant_rows(p.polrelid::pg_catalog.regclass))
  FROM (SELECT DISTINCT polrelid FROM pg_catalog.pg_policy
         WHERE polname OPERATOR(pg_catalog.=) 'marimo_tenant_select') AS p;

CREATE FUNCTION @extschema@."render_dashboard"(
    "tenant" uuid, "dashboard" uuid, "filters" jsonb DEFAULT '{}'
) RETURNS jsonb
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'render_dashboard_wrapper';
CREATE FUNCTION @extschema@."run_analytics_query"(
    "tenant" uuid, "query" uuid, "parameters" jsonb DEFAULT '{}', "max_rows" integer DEFAULT 1000
) RETURNS jsonb
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'run_analytics_query_wrapper';

-- As src/analytics/sandbox.sql.
GRANT USAGE ON SCHEMA @extschema@ TO marimo_analytics;

DO $$
DECLARE
    t record;
    readable text;
BEGIN
    FOR t IN
        SELECT c.oid, c.relname
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
           AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[])
           AND NOT c.relispartition
           AND c.relname OPERATOR(pg_catalog.<>) ALL (ARRAY['webhook_secrets', 'platform_stripe_account']::name[])
           AND EXISTS (SELECT FROM pg_catalog.pg_policy p
                        WHERE p.polrelid OPERATOR(pg_catalog.=) c.oid
                          AND p.polname OPERATOR(pg_catalog.=) 'marimo_analytics_select')
         ORDER BY c.relname
    LOOP
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
          INTO readable
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid OPERATOR(pg_catalog.=) t.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
           AND a.attname OPERATOR(pg_catalog.<>) ALL (ARRAY['secret', 'credentials']::name[])
           AND pg_catalog.has_column_privilege('marimo_app', t.oid, a.attnum, 'SELECT');
        IF readable IS NULL THEN
            CONTINUE;
        ELSIF pg_catalog.has_table_privilege('marimo_app', t.oid, 'SELECT')
              AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                               WHERE a.attrelid OPERATOR(pg_catalog.=) t.oid AND a.attnum OPERATOR(pg_catalog.>) 0
                                 AND a.attname OPERATOR(pg_catalog.=) ANY (ARRAY['secret', 'credentials']::name[])) THEN
            EXECUTE pg_catalog.format('GRANT SELECT ON %s TO marimo_analytics', t.oid::pg_catalog.regclass);
        ELSE
            EXECUTE pg_catalog.format('GRANT SELECT (%s) ON %s TO marimo_analytics', readable, t.oid::pg_catalog.regclass);
        END IF;
    END LOOP;
END
$$;

COMMENT ON FUNCTION @extschema@.run_analytics_query(uuid, uuid, jsonb, integer) IS
    'Runs a saved query of the tenant as the tenant (role marimo_analytics, row-level security on its rows only), read-only, one SELECT/WITH/VALUES/TABLE statement, {{name}} parameters bound with their declared types, cancelled after marimo_erp.analytics_statement_timeout (57014), at most max_rows rows (capped by marimo_erp.analytics_max_rows). Returns {"columns", "rows", "row_count", "truncated", "duration_ms"} and counts the run.';
COMMENT ON FUNCTION @extschema@.render_dashboard(uuid, uuid, jsonb) IS
    'Runs every widget of a dashboard that names a saved query (key "query"), with the dashboard''s filters overridden by the given ones as parameters (by name, or by the widget''s "parameters" mapping), each in its own subtransaction. Returns {"dashboard": {"id", "name"}, "widgets": [{"id", "title", "query_id", "result" or "error": {"sqlstate", "message"}}]}.';
REVOKE ALL ON FUNCTION
    @extschema@.run_analytics_query(uuid, uuid, jsonb, integer), @extschema@.render_dashboard(uuid, uuid, jsonb)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.run_analytics_query(uuid, uuid, jsonb, integer), @extschema@.render_dashboard(uuid, uuid, jsonb)
    TO marimo_app, marimo_admin;

-- == Report schedules: five-field cron in each report's time zone ==
-- next_report_run() (src/analytics/schedule.rs) and the trigger that checks
-- schedules and time zones and keeps next_run_at (src/analytics/schedule.sql).
CREATE FUNCTION @extschema@."next_report_run"(
	"schedule" TEXT,
	"timezone" TEXT,
	"after" timestamp with time zone DEFAULT now()
) RETURNS timestamp with time zone
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'next_report_run_wrapper';
COMMENT ON FUNCTION @extschema@.next_report_run(text, text, timestamptz) IS
    'The first time strictly after "after" (default now()) that a five-field cron schedule (minute hour day-of-month month day-of-week; numbers, JAN-DEC, SUN-SAT, ranges, steps, lists; day-of-month or day-of-week when both are restricted) names in an IANA time zone (the tz database compiled into marimo_erp by chrono-tz). A time skipped by a spring-forward change runs at the first valid minute after it; a time repeated by a fall-back change runs once, at its first occurrence. Malformed or impossible schedules and unknown zones: 22023.';
REVOKE ALL ON FUNCTION @extschema@.next_report_run(text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.next_report_run(text, text, timestamptz) TO marimo_app, marimo_admin;

-- BEFORE INSERT OR UPDATE row trigger of scheduled_reports: refuses (22023) a
-- schedule or time zone next_report_run() cannot read, on every insert, on a
-- change of either, and when a row is activated. It keeps next_run_at: NULL
-- on an inactive row; on an active one computed from now() when the schedule
-- or time zone changes, when the row is activated, or when it is NULL. An
-- explicit next_run_at otherwise goes through: the report runner advances it
-- after each run, and an insert that gives one (pg_restore, a copy) keeps it.
-- One exception to the checks: a row inserted inactive with last_error set,
-- which is how the 0.12.0 update leaves rows whose schedule it could not read,
-- so that a dump of them restores; activating it checks it.
-- It fires before scheduled_reports_set_updated_at (triggers fire in name
-- order); neither reads what the other writes.
CREATE FUNCTION @extschema@.keep_report_next_run_at() RETURNS trigger
    LANGUAGE plpgsql
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
        checked := NEW.is_active OR NEW.last_error IS NULL;
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
    'Trigger of scheduled_reports: refuses (22023) schedules and time zones next_report_run() cannot read when a row is inserted (except inactive with last_error set, as the 0.12.0 update leaves them), its schedule or time zone changes or it is activated; keeps next_run_at: NULL when inactive, recomputed from now() on those changes or when NULL, an explicit value otherwise kept.';
REVOKE ALL ON FUNCTION @extschema@.keep_report_next_run_at() FROM PUBLIC;

CREATE TRIGGER scheduled_reports_keep_next_run_at
    BEFORE INSERT OR UPDATE ON @extschema@.scheduled_reports
    FOR EACH ROW EXECUTE FUNCTION @extschema@.keep_report_next_run_at();

COMMENT ON COLUMN @extschema@.scheduled_reports.next_run_at IS 'When the report is next due, in its schedule and time zone; kept by the keep_report_next_run_at trigger (NULL while inactive), advanced by the report runner; the scheduler''s queue is ordered by it.';

-- Rows of 0.11.0, whose CHECK accepted schedules such as '99 99 * * *' and any
-- time zone name: a row whose schedule or time zone next_report_run() cannot
-- read becomes inactive, with last_error saying why (nothing fails, nothing is
-- deleted; its schedule stays as written, for its owner to correct, and the
-- trigger checks it again when it is activated). Every other active row gets
-- its next_run_at from now(), every inactive one NULL. The trigger above does
-- this itself; updated_at keeps its value, as no one edited the reports.
ALTER TABLE @extschema@.scheduled_reports DISABLE TRIGGER scheduled_reports_set_updated_at;
DO $$
DECLARE
    r record;
    why text;
BEGIN
    FOR r IN SELECT tenant_id, id, schedule, timezone FROM @extschema@.scheduled_reports ORDER BY tenant_id, id LOOP
        BEGIN
            PERFORM @extschema@.next_report_run(r.schedule, r.timezone, pg_catalog.now());
        EXCEPTION WHEN invalid_parameter_value THEN
            GET STACKED DIAGNOSTICS why = MESSAGE_TEXT;
            -- The trigger does not check a row that stays inactive with an
            -- unchanged schedule: it sets next_run_at to NULL.
            UPDATE @extschema@.scheduled_reports
               SET is_active = false,
                   last_error = pg_catalog.format('marimo_erp 0.12.0 deactivated this report: %s', why)
             WHERE tenant_id = r.tenant_id AND id = r.id;
            RAISE WARNING 'marimo_erp 0.12.0: scheduled report % of tenant % deactivated: %', r.id, r.tenant_id, why;
        END;
    END LOOP;
    -- The rest: NULL next_run_at on an active row is computed, an inactive
    -- row's is cleared.
    UPDATE @extschema@.scheduled_reports
       SET next_run_at = NULL
     WHERE next_run_at IS NOT NULL OR is_active;
END
$$;
ALTER TABLE @extschema@.scheduled_reports ENABLE TRIGGER scheduled_reports_set_updated_at;

-- == Report files: csv, json, html, xlsx and pdf ==
-- render_analytics_result (src/reports/render.sql): a result written as a file; reads no table.
CREATE FUNCTION @extschema@.render_analytics_result(result jsonb, format text, title text DEFAULT 'Report')
    RETURNS bytea
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'render_analytics_result_wrapper';
COMMENT ON FUNCTION @extschema@.render_analytics_result(jsonb, text, text) IS
    'The report file (bytea) of result, a run_analytics_query result or a render_dashboard result, in format csv, json, html, xlsx or pdf, headed by title: one table per query result or dashboard widget (a failed widget shows its error), header row first, with a note when truncated; reads no table. A bad format or shape is refused with 22023.';
REVOKE ALL ON FUNCTION @extschema@.render_analytics_result(jsonb, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.render_analytics_result(jsonb, text, text)
    TO marimo_admin, marimo_app;

-- == Report runs: the runner, run history and delivery ==
-- A new table (no existing rows to repair) and the runner's functions; the
-- same objects as src/reports/reports.sql creates on a fresh install.
-- The runner's functions (src/reports/runs.rs), as pgrx declares them.
CREATE FUNCTION @extschema@.run_due_reports() RETURNS integer
    STRICT VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'run_due_reports_wrapper';
CREATE FUNCTION @extschema@.run_report_now(tenant uuid, report uuid) RETURNS uuid
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'run_report_now_wrapper';
CREATE FUNCTION @extschema@.report_run_content(tenant uuid, run uuid)
    RETURNS TABLE (content bytea, content_type text, file_name text)
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'report_run_content_wrapper';
CREATE FUNCTION @extschema@.cleanup_report_runs(retention interval DEFAULT NULL, batch_size integer DEFAULT 10000)
    RETURNS bigint
    VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path TO pg_catalog, pg_temp
    LANGUAGE c AS 'MODULE_PATHNAME', 'cleanup_report_runs_wrapper';

CREATE TABLE @extschema@.report_runs (
    tenant_id           uuid        NOT NULL,
    id                  uuid        NOT NULL,
    report_id           uuid        NOT NULL,
    scheduled_for       timestamptz NOT NULL,
    triggered_by        text        NOT NULL DEFAULT 'schedule',
    status              text        NOT NULL DEFAULT 'pending',
    format              text        NOT NULL,
    started_at          timestamptz,
    finished_at         timestamptz,
    row_count           integer,
    content             bytea,
    content_type        text,
    file_name           text,
    error               text,
    webhook_event_id    uuid,
    email_status        text        NOT NULL DEFAULT 'pending',
    email_request_id    uuid,
    email_error         text,
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT report_runs_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT report_runs_tenant_id_report_id_scheduled_for_key UNIQUE (tenant_id, report_id, scheduled_for),
    CONSTRAINT report_runs_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT report_runs_report_id_fkey FOREIGN KEY (tenant_id, report_id)
        REFERENCES @extschema@.scheduled_reports (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT report_runs_triggered_by_check CHECK (triggered_by IN ('schedule', 'manual')),
    CONSTRAINT report_runs_status_check CHECK (status IN ('pending', 'succeeded', 'failed')),
    CONSTRAINT report_runs_format_check CHECK (format IN ('pdf', 'csv', 'xlsx', 'json', 'html')),
    CONSTRAINT report_runs_row_count_check CHECK (row_count >= 0),
    CONSTRAINT report_runs_content_check CHECK (
        content IS NULL OR (content_type IS NOT NULL AND file_name IS NOT NULL)),
    CONSTRAINT report_runs_finished_check CHECK (status = 'pending' OR finished_at IS NOT NULL),
    CONSTRAINT report_runs_email_status_check CHECK (email_status IN ('pending', 'queued', 'skipped'))
);

-- Run history of a report, newest first.
CREATE INDEX report_runs_tenant_id_report_id_created_at_idx
    ON @extschema@.report_runs (tenant_id, report_id, created_at);
-- Read by cleanup_report_runs().
CREATE INDEX report_runs_created_at_idx ON @extschema@.report_runs (created_at);
-- Runs a crash interrupted, failed by a later round.
CREATE INDEX report_runs_pending_idx ON @extschema@.report_runs (created_at) WHERE status = 'pending';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.report_runs', '');

COMMENT ON TABLE @extschema@.report_runs IS
    'Runs of scheduled reports, one per report and scheduled time: outcome, the rendered file and its delivery; purged by cleanup_report_runs.';
COMMENT ON COLUMN @extschema@.report_runs.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN @extschema@.report_runs.id IS 'Run identifier (a time-ordered UUID v7), unique within the tenant.';
COMMENT ON COLUMN @extschema@.report_runs.report_id IS 'Scheduled report (scheduled_reports.id of the same tenant) this is a run of.';
COMMENT ON COLUMN @extschema@.report_runs.scheduled_for IS 'The slot of the schedule the run is for (for run_report_now, when it was asked for); at most one run per report and slot.';
COMMENT ON COLUMN @extschema@.report_runs.triggered_by IS 'What started the run: schedule (the worker or run_due_reports) or manual (run_report_now).';
COMMENT ON COLUMN @extschema@.report_runs.status IS 'pending (claimed, not finished; a run left pending by a crash is failed by a later round), succeeded or failed.';
COMMENT ON COLUMN @extschema@.report_runs.format IS 'Format of the file: pdf, csv, xlsx, json or html (the report''s format when it ran).';
COMMENT ON COLUMN @extschema@.report_runs.started_at IS 'When the run started executing.';
COMMENT ON COLUMN @extschema@.report_runs.finished_at IS 'When the run finished, succeeded or failed.';
COMMENT ON COLUMN @extschema@.report_runs.row_count IS 'Rows in the report (summed over a dashboard''s widgets).';
COMMENT ON COLUMN @extschema@.report_runs.content IS 'The rendered file; read it with report_run_content(tenant, run).';
COMMENT ON COLUMN @extschema@.report_runs.content_type IS 'MIME type of content, e.g. text/csv.';
COMMENT ON COLUMN @extschema@.report_runs.file_name IS 'File name of content, as attached to the e-mail.';
COMMENT ON COLUMN @extschema@.report_runs.error IS 'Why the run failed; NULL when it succeeded.';
COMMENT ON COLUMN @extschema@.report_runs.webhook_event_id IS 'The report.completed or report.failed event (webhook_events.id) emitted to the tenant''s endpoints; its deliveries say how it went.';
COMMENT ON COLUMN @extschema@.report_runs.email_status IS 'The e-mail to the recipients: pending (run not finished), queued (a SendGrid request, see email_request_id) or skipped (see email_error).';
COMMENT ON COLUMN @extschema@.report_runs.email_request_id IS 'The queued SendGrid mail/send request (integration_requests.id); its status and integration_logs say how it went.';
COMMENT ON COLUMN @extschema@.report_runs.email_error IS 'Why no e-mail was queued (no active SendGrid integration, no from_email, the run failed).';
COMMENT ON COLUMN @extschema@.report_runs.created_at IS 'When the run was claimed; cleanup_report_runs deletes rows by this column.';

-- Runs are written by the runner only; operators and applications read them
-- (applications their tenant's, under row-level security) and may delete them.
GRANT SELECT, DELETE ON @extschema@.report_runs TO marimo_admin, marimo_app;
-- Saved queries read every tenant-scoped table the sandbox role may see, the
-- tenant's report history included (its rows only, under marimo_analytics_select).
GRANT SELECT ON @extschema@.report_runs TO marimo_analytics;
SELECT @extschema@.isolate_tenant_rows('@extschema@.report_runs');

COMMENT ON FUNCTION @extschema@.run_due_reports() IS
    'Runs every active scheduled report that is due (next_run_at <= now()), one run per slot, and returns how many ran; the report worker does the same each round, so call it (e.g. from pg_cron) on servers without the preload. Operators only.';
COMMENT ON FUNCTION @extschema@.run_report_now(uuid, uuid) IS
    'Runs a scheduled report of the tenant at once (whether active or not) and returns the run id; its schedule is unchanged. An application may run only its current tenant''s reports.';
COMMENT ON FUNCTION @extschema@.report_run_content(uuid, uuid) IS
    'The file of a report run: content, content_type and file_name (no row when the run has no file). An application may read only its current tenant''s runs.';
COMMENT ON FUNCTION @extschema@.cleanup_report_runs(interval, integer) IS
    'Deletes report runs created longer ago than retention (by default marimo_erp.report_run_retention, 90 days) in batches of batch_size; returns how many. run_maintenance() runs it.';
REVOKE ALL ON FUNCTION
    @extschema@.run_due_reports(), @extschema@.run_report_now(uuid, uuid),
    @extschema@.report_run_content(uuid, uuid), @extschema@.cleanup_report_runs(interval, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.run_due_reports(), @extschema@.cleanup_report_runs(interval, integer)
    TO marimo_admin;
GRANT EXECUTE ON FUNCTION @extschema@.run_report_now(uuid, uuid), @extschema@.report_run_content(uuid, uuid)
    TO marimo_admin, marimo_app;
