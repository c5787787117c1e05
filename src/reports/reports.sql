-- Report runs (0.12.0): one row per run of a scheduled report, with the file it
-- produced and how it was delivered. The runner (src/reports/runs.rs) inserts a
-- run for a slot in the same transaction that advances the report's
-- next_run_at, so a slot runs at most once, even across worker restarts.

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
