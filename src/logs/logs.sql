-- The log machinery (extension version 0.6.0): daily partitions and the
-- maintenance job. The log tables themselves are defined by their domains.

REVOKE ALL ON FUNCTION @extschema@.create_log_partitions(text, date, date), @extschema@.run_maintenance(interval)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_log_partitions(text, date, date), @extschema@.run_maintenance(interval)
    TO marimo_admin;

COMMENT ON FUNCTION @extschema@.create_log_partitions(text, date, date) IS
    'Creates the daily partitions of a log table (webhook_logs, integration_logs, user_activities, api_usage_logs) for every UTC day from from_day to to_day that no partition covers yet, moving matching rows out of the default partition; returns how many it created.';
COMMENT ON FUNCTION @extschema@.run_maintenance(interval) IS
    'Creates the daily log partitions from yesterday to premake ahead (default 7 days) and runs every cleanup with its default retention; returns what it did. Schedule it at least daily, e.g. with pg_cron.';

-- The history of maintenance (0.9.0): one row per run_maintenance() call and per
-- cleanup call, written by the call itself, in the calling transaction: a call
-- that fails leaves no row. For operators
-- only: no tenant's data, so no row-level security; marimo_admin reads it.
-- run_maintenance() prunes it after marimo_erp.maintenance_history_retention.
CREATE TABLE @extschema@.maintenance_runs (
    id                  uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    task                text        NOT NULL,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz NOT NULL,
    duration            interval    GENERATED ALWAYS AS (finished_at - started_at) STORED,
    rows_removed        bigint      NOT NULL DEFAULT 0,
    partitions_created  integer     NOT NULL DEFAULT 0,
    partitions_dropped  integer     NOT NULL DEFAULT 0,
    run_by              text        NOT NULL,
    maintenance_run     uuid,
    details             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT maintenance_runs_pkey PRIMARY KEY (id),
    CONSTRAINT maintenance_runs_finished_check CHECK (finished_at >= started_at),
    CONSTRAINT maintenance_runs_counts_check CHECK (
        rows_removed >= 0 AND partitions_created >= 0 AND partitions_dropped >= 0),
    CONSTRAINT maintenance_runs_details_check CHECK (pg_catalog.jsonb_typeof(details) = 'object')
);

CREATE INDEX maintenance_runs_started_at_idx ON @extschema@.maintenance_runs (started_at);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.maintenance_runs', '');

COMMENT ON TABLE @extschema@.maintenance_runs IS
    'History of run_maintenance() and of every cleanup_* call: when each ran, for how long, as whom and what it did. run_maintenance() deletes the rows older than marimo_erp.maintenance_history_retention (90 days by default), so it does not grow forever. Operators only (marimo_admin).';
COMMENT ON COLUMN @extschema@.maintenance_runs.id IS 'Identifier of the run.';
COMMENT ON COLUMN @extschema@.maintenance_runs.task IS 'The function that ran: run_maintenance or a cleanup_* function.';
COMMENT ON COLUMN @extschema@.maintenance_runs.started_at IS 'When the call began (clock time, not the transaction''s start).';
COMMENT ON COLUMN @extschema@.maintenance_runs.finished_at IS 'When the call finished its work; it is committed with the transaction that made the call.';
COMMENT ON COLUMN @extschema@.maintenance_runs.duration IS 'How long the call took: finished_at - started_at.';
COMMENT ON COLUMN @extschema@.maintenance_runs.rows_removed IS 'Rows the call removed, by deleting them or by dropping their partitions (for run_maintenance, those of the cleanups it ran and of the history it pruned).';
COMMENT ON COLUMN @extschema@.maintenance_runs.partitions_created IS 'Daily log partitions the call created.';
COMMENT ON COLUMN @extschema@.maintenance_runs.partitions_dropped IS 'Wholly expired daily log partitions the call dropped.';
COMMENT ON COLUMN @extschema@.maintenance_runs.run_by IS 'The role that made the call (the session''s role, outside any SECURITY DEFINER function).';
COMMENT ON COLUMN @extschema@.maintenance_runs.maintenance_run IS 'For a cleanup that run_maintenance() called, the id of that run_maintenance() row; NULL for a call of its own.';
COMMENT ON COLUMN @extschema@.maintenance_runs.details IS 'What the call did, as JSON: tables (each table cleaned, with rows_removed, partitions_dropped and the cutoff older_than), partitions_created (each with rows_moved out of the default partition), and for run_maintenance premake_days.';

GRANT SELECT ON @extschema@.maintenance_runs TO marimo_admin;
