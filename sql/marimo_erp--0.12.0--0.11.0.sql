-- marimo_erp 0.12.0 -> 0.11.0: takes back what 0.12.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.11.0'" to load this file. \quit

-- == Report runs: the runner, run history and delivery ==
SELECT @extschema@.assert_no_data_loss('0.11.0', ARRAY['report_runs']);
DROP FUNCTION @extschema@.run_due_reports();
DROP FUNCTION @extschema@.run_report_now(uuid, uuid);
DROP FUNCTION @extschema@.report_run_content(uuid, uuid);
DROP FUNCTION @extschema@.cleanup_report_runs(interval, integer);
-- Out of the extension first, which also takes it off its pg_dump list (extconfig).
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.report_runs;
DROP TABLE @extschema@.report_runs;

-- == Report files: csv, json, html, xlsx and pdf ==
DROP FUNCTION @extschema@.render_analytics_result(jsonb, text, text);

-- == Report schedules: five-field cron in each report's time zone ==
-- Drops the trigger and next_report_run(); the rows keep what 0.12.0 set
-- (next_run_at, and is_active and last_error of the rows it deactivated),
-- values 0.11.0 accepts.
DROP TRIGGER scheduled_reports_keep_next_run_at ON @extschema@.scheduled_reports;
DROP FUNCTION @extschema@.keep_report_next_run_at();
DROP FUNCTION @extschema@.next_report_run(text, text, timestamptz);
COMMENT ON COLUMN @extschema@.scheduled_reports.next_run_at IS 'When the report is next due; the scheduler''s queue is ordered by it.';

-- == Saved queries that run: the per-tenant sandbox and dashboards ==
DROP FUNCTION @extschema@.render_dashboard(uuid, uuid, jsonb);
DROP FUNCTION @extschema@.run_analytics_query(uuid, uuid, jsonb, integer);
-- The sandbox's policy wherever the update or isolate_tenant_rows() put it,
-- and every privilege of marimo_analytics in the schema. The role itself
-- stays, as marimo_app and marimo_admin do: roles belong to the cluster, and
-- other databases may use it.
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT pol.polname, pol.polrelid::pg_catalog.regclass AS rel FROM pg_catalog.pg_policy pol
              WHERE pol.polname OPERATOR(pg_catalog.=) 'marimo_analytics_select'
    LOOP
        EXECUTE pg_catalog.format('DROP POLICY %I ON %s', p.polname, p.rel);
    END LOOP;
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'marimo_analytics') THEN
        -- Only where it holds a privilege: a REVOKE on a table with the
        -- default ACL (NULL) would write that ACL out, which 0.11.0 does not have.
        FOR p IN SELECT c.oid::pg_catalog.regclass AS rel FROM pg_catalog.pg_class c
                  WHERE c.relnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
                    AND (EXISTS (SELECT FROM pg_catalog.aclexplode(c.relacl) x
                                  WHERE x.grantee OPERATOR(pg_catalog.=) 'marimo_analytics'::pg_catalog.regrole)
                         OR EXISTS (SELECT FROM pg_catalog.pg_attribute a, pg_catalog.aclexplode(a.attacl) x
                                     WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid
                                       AND x.grantee OPERATOR(pg_catalog.=) 'marimo_analytics'::pg_catalog.regrole))
        LOOP
            EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM marimo_analytics', p.rel);
        END LOOP;
        REVOKE USAGE ON SCHEMA @extschema@ FROM marimo_analytics;
    END IF;
END
$$;
