-- Analytics (seed migration 002_create_analytics, extension version 0.2.0).
--
-- Saved queries, dashboards and scheduled reports of a tenant. A report runs
-- either a saved query or a dashboard of the same tenant: the composite foreign
-- keys (tenant_id, ...) make pointing at another tenant's query impossible.

CREATE TABLE @extschema@.analytics_queries (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    name             text        NOT NULL,
    description      text,
    query_text       text        NOT NULL,
    parameters       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    visualization    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    is_public        boolean     NOT NULL DEFAULT false,
    created_by       uuid,
    last_run_at      timestamptz,
    run_count        bigint      NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    search_vector    tsvector,
    CONSTRAINT analytics_queries_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT analytics_queries_tenant_id_name_key UNIQUE (tenant_id, name),
    CONSTRAINT analytics_queries_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT analytics_queries_name_check CHECK (pg_catalog.length(pg_catalog.btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT analytics_queries_query_text_check CHECK (pg_catalog.length(pg_catalog.btrim(query_text)) > 0),
    CONSTRAINT analytics_queries_parameters_check CHECK (pg_catalog.jsonb_typeof(parameters) = 'object'),
    CONSTRAINT analytics_queries_visualization_check CHECK (pg_catalog.jsonb_typeof(visualization) = 'object'),
    CONSTRAINT analytics_queries_run_count_check CHECK (run_count >= 0)
);

CREATE INDEX analytics_queries_tenant_id_created_at_idx ON @extschema@.analytics_queries (tenant_id, created_at);
CREATE INDEX analytics_queries_tenant_id_created_by_idx ON @extschema@.analytics_queries (tenant_id, created_by);
-- Search (0.9.0): search_vector in the tenant's language, read by search_analytics_queries().
CREATE INDEX analytics_queries_search_idx ON @extschema@.analytics_queries USING gin (search_vector);

CREATE TRIGGER analytics_queries_set_updated_at BEFORE UPDATE ON @extschema@.analytics_queries
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();
-- After set_updated_at (name order), which a refresh of the vectors undoes.
CREATE TRIGGER analytics_queries_update_search_vector
    BEFORE INSERT OR UPDATE OF tenant_id, name, description, search_vector ON @extschema@.analytics_queries
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_search_vector('name', 'description');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.analytics_queries', '');

COMMENT ON TABLE @extschema@.analytics_queries IS 'Saved custom analytics queries of a tenant.';
COMMENT ON COLUMN @extschema@.analytics_queries.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN @extschema@.analytics_queries.id IS 'Query identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.analytics_queries.name IS 'Display name, unique within the tenant (1-200 characters).';
COMMENT ON COLUMN @extschema@.analytics_queries.description IS 'What the query answers; searched together with the name.';
COMMENT ON COLUMN @extschema@.analytics_queries.query_text IS 'The saved query text, run by the application with the tenant''s privileges.';
COMMENT ON COLUMN @extschema@.analytics_queries.parameters IS 'Named parameters of the query and their defaults, as a JSON object.';
COMMENT ON COLUMN @extschema@.analytics_queries.visualization IS 'How to chart the result (type, axes, colours), as a JSON object.';
COMMENT ON COLUMN @extschema@.analytics_queries.is_public IS 'Whether every user of the tenant may see the query, not only its creator.';
COMMENT ON COLUMN @extschema@.analytics_queries.created_by IS 'User (of the application) who created the query.';
COMMENT ON COLUMN @extschema@.analytics_queries.last_run_at IS 'When the query last ran.';
COMMENT ON COLUMN @extschema@.analytics_queries.run_count IS 'How many times the query has run.';
COMMENT ON COLUMN @extschema@.analytics_queries.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.analytics_queries.updated_at IS 'When the row was last updated; kept by the set_updated_at trigger.';
COMMENT ON COLUMN @extschema@.analytics_queries.search_vector IS 'Name (weight A) and description (weight B) as a text search document in the tenant''s language; kept by a trigger, read by search_analytics_queries().';

CREATE TABLE @extschema@.dashboards (
    tenant_id                 uuid        NOT NULL,
    id                        uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    name                      text        NOT NULL,
    description               text,
    layout                    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    widgets                   jsonb       NOT NULL DEFAULT '[]'::jsonb,
    filters                   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    is_default                boolean     NOT NULL DEFAULT false,
    is_public                 boolean     NOT NULL DEFAULT false,
    refresh_interval_seconds  integer,
    created_by                uuid,
    created_at                timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at                timestamptz NOT NULL DEFAULT pg_catalog.now(),
    search_vector             tsvector,
    CONSTRAINT dashboards_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT dashboards_tenant_id_name_key UNIQUE (tenant_id, name),
    CONSTRAINT dashboards_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT dashboards_name_check CHECK (pg_catalog.length(pg_catalog.btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT dashboards_layout_check CHECK (pg_catalog.jsonb_typeof(layout) = 'object'),
    CONSTRAINT dashboards_widgets_check CHECK (pg_catalog.jsonb_typeof(widgets) = 'array'),
    CONSTRAINT dashboards_filters_check CHECK (pg_catalog.jsonb_typeof(filters) = 'object'),
    CONSTRAINT dashboards_refresh_interval_seconds_check CHECK (refresh_interval_seconds BETWEEN 10 AND 86400)
);

-- At most one default dashboard per tenant.
CREATE UNIQUE INDEX dashboards_tenant_id_default_idx ON @extschema@.dashboards (tenant_id) WHERE is_default;
CREATE INDEX dashboards_tenant_id_created_at_idx ON @extschema@.dashboards (tenant_id, created_at);
-- Search (0.9.0): search_vector in the tenant's language, read by search_dashboards().
CREATE INDEX dashboards_search_idx ON @extschema@.dashboards USING gin (search_vector);

CREATE TRIGGER dashboards_set_updated_at BEFORE UPDATE ON @extschema@.dashboards
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();
-- After set_updated_at (name order), which a refresh of the vectors undoes.
CREATE TRIGGER dashboards_update_search_vector
    BEFORE INSERT OR UPDATE OF tenant_id, name, description, search_vector ON @extschema@.dashboards
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_search_vector('name', 'description');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.dashboards', '');

COMMENT ON TABLE @extschema@.dashboards IS 'Custom dashboard configurations of a tenant.';
COMMENT ON COLUMN @extschema@.dashboards.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN @extschema@.dashboards.id IS 'Dashboard identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.dashboards.name IS 'Display name, unique within the tenant (1-200 characters).';
COMMENT ON COLUMN @extschema@.dashboards.description IS 'What the dashboard shows; searched together with the name.';
COMMENT ON COLUMN @extschema@.dashboards.layout IS 'Grid layout (positions and sizes of widgets), as a JSON object.';
COMMENT ON COLUMN @extschema@.dashboards.widgets IS 'Widgets, each naming a saved query or a metric, as a JSON array.';
COMMENT ON COLUMN @extschema@.dashboards.filters IS 'Dashboard-wide filters (date range, segments), as a JSON object.';
COMMENT ON COLUMN @extschema@.dashboards.is_default IS 'Whether this is the tenant''s default dashboard; at most one per tenant.';
COMMENT ON COLUMN @extschema@.dashboards.is_public IS 'Whether every user of the tenant may see the dashboard.';
COMMENT ON COLUMN @extschema@.dashboards.refresh_interval_seconds IS 'Auto-refresh period in seconds (10 to 86400); NULL for no auto-refresh.';
COMMENT ON COLUMN @extschema@.dashboards.created_by IS 'User (of the application) who created the dashboard.';
COMMENT ON COLUMN @extschema@.dashboards.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.dashboards.updated_at IS 'When the row was last updated; kept by the set_updated_at trigger.';
COMMENT ON COLUMN @extschema@.dashboards.search_vector IS 'Name (weight A) and description (weight B) as a text search document in the tenant''s language; kept by a trigger, read by search_dashboards().';

CREATE TABLE @extschema@.scheduled_reports (
    tenant_id           uuid        NOT NULL,
    id                  uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    name                text        NOT NULL,
    analytics_query_id  uuid,
    dashboard_id        uuid,
    schedule            text        NOT NULL,
    timezone            text        NOT NULL DEFAULT 'UTC',
    format              text        NOT NULL DEFAULT 'pdf',
    recipients          text[]      NOT NULL,
    is_active           boolean     NOT NULL DEFAULT true,
    last_run_at         timestamptz,
    next_run_at         timestamptz,
    last_status         text,
    last_error          text,
    created_by          uuid,
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT scheduled_reports_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT scheduled_reports_tenant_id_name_key UNIQUE (tenant_id, name),
    CONSTRAINT scheduled_reports_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT scheduled_reports_analytics_query_id_fkey FOREIGN KEY (tenant_id, analytics_query_id)
        REFERENCES @extschema@.analytics_queries (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT scheduled_reports_dashboard_id_fkey FOREIGN KEY (tenant_id, dashboard_id)
        REFERENCES @extschema@.dashboards (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT scheduled_reports_name_check CHECK (pg_catalog.length(pg_catalog.btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT scheduled_reports_source_check CHECK (pg_catalog.num_nonnulls(analytics_query_id, dashboard_id) = 1),
    -- A five-field cron expression (minute hour day-of-month month day-of-week).
    CONSTRAINT scheduled_reports_schedule_check CHECK (
        schedule ~ '^\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s*$' AND schedule ~ '^[0-9*/,\-\sA-Za-z?LW#]+$'),
    CONSTRAINT scheduled_reports_timezone_check CHECK (pg_catalog.length(timezone) BETWEEN 1 AND 64),
    CONSTRAINT scheduled_reports_format_check CHECK (format IN ('pdf', 'csv', 'xlsx', 'json', 'html')),
    CONSTRAINT scheduled_reports_recipients_check CHECK (
        pg_catalog.cardinality(recipients) BETWEEN 1 AND 100
        AND pg_catalog.array_position(recipients, NULL) IS NULL),
    CONSTRAINT scheduled_reports_last_status_check CHECK (last_status IN ('success', 'failed'))
);

CREATE INDEX scheduled_reports_tenant_id_analytics_query_id_idx
    ON @extschema@.scheduled_reports (tenant_id, analytics_query_id);
CREATE INDEX scheduled_reports_tenant_id_dashboard_id_idx
    ON @extschema@.scheduled_reports (tenant_id, dashboard_id);
-- The scheduler's queue: active reports by when they are next due.
CREATE INDEX scheduled_reports_next_run_at_idx ON @extschema@.scheduled_reports (next_run_at) WHERE is_active;
CREATE INDEX scheduled_reports_tenant_id_created_at_idx ON @extschema@.scheduled_reports (tenant_id, created_at);

CREATE TRIGGER scheduled_reports_set_updated_at BEFORE UPDATE ON @extschema@.scheduled_reports
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.scheduled_reports', '');

COMMENT ON TABLE @extschema@.scheduled_reports IS 'Automated reports: a saved query or a dashboard sent to recipients on a cron schedule.';
COMMENT ON COLUMN @extschema@.scheduled_reports.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN @extschema@.scheduled_reports.id IS 'Report identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.scheduled_reports.name IS 'Display name, unique within the tenant (1-200 characters).';
COMMENT ON COLUMN @extschema@.scheduled_reports.analytics_query_id IS 'Saved query the report runs (of the same tenant); exactly one of this and dashboard_id is set.';
COMMENT ON COLUMN @extschema@.scheduled_reports.dashboard_id IS 'Dashboard the report renders (of the same tenant); exactly one of this and analytics_query_id is set.';
COMMENT ON COLUMN @extschema@.scheduled_reports.schedule IS 'When to run, as a five-field cron expression, e.g. ''0 8 * * 1''.';
COMMENT ON COLUMN @extschema@.scheduled_reports.timezone IS 'IANA time zone the schedule is read in, e.g. ''Europe/Lisbon''.';
COMMENT ON COLUMN @extschema@.scheduled_reports.format IS 'Output format: pdf, csv, xlsx, json or html.';
COMMENT ON COLUMN @extschema@.scheduled_reports.recipients IS 'E-mail addresses the report is sent to (1 to 100).';
COMMENT ON COLUMN @extschema@.scheduled_reports.is_active IS 'Whether the report is scheduled; inactive reports are kept but never run.';
COMMENT ON COLUMN @extschema@.scheduled_reports.last_run_at IS 'When the report last ran.';
COMMENT ON COLUMN @extschema@.scheduled_reports.next_run_at IS 'When the report is next due; the scheduler''s queue is ordered by it.';
COMMENT ON COLUMN @extschema@.scheduled_reports.last_status IS 'Outcome of the last run: success or failed.';
COMMENT ON COLUMN @extschema@.scheduled_reports.last_error IS 'Error message of the last failed run.';
COMMENT ON COLUMN @extschema@.scheduled_reports.created_by IS 'User (of the application) who created the report.';
COMMENT ON COLUMN @extschema@.scheduled_reports.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.scheduled_reports.updated_at IS 'When the row was last updated; kept by the set_updated_at trigger.';

-- Privileges and isolation (0.7.0): operators manage every row; applications
-- their tenant's, under row-level security.
GRANT SELECT, INSERT, UPDATE, DELETE ON
    @extschema@.analytics_queries, @extschema@.dashboards, @extschema@.scheduled_reports
    TO marimo_admin, marimo_app;
SELECT pg_catalog.count(@extschema@.isolate_tenant_rows(t))
  FROM pg_catalog.unnest(ARRAY['@extschema@.analytics_queries', '@extschema@.dashboards',
                               '@extschema@.scheduled_reports']::pg_catalog.regclass[]) AS t;

-- Search (0.9.0): for applications, which under forced row-level security could
-- not use the GIN indexes themselves; the current tenant's rows only.
COMMENT ON FUNCTION @extschema@.search_analytics_queries(text, integer, uuid) IS
    'Full-text search (web search syntax: words, "phrases", or, -not) of the tenant''s saved queries by name and description, best match first, at most max_rows; tenant defaults to the current tenant, and an application may search only that one.';
COMMENT ON FUNCTION @extschema@.search_dashboards(text, integer, uuid) IS
    'Full-text search (web search syntax: words, "phrases", or, -not) of the tenant''s dashboards by name and description, best match first, at most max_rows; tenant defaults to the current tenant, and an application may search only that one.';
REVOKE ALL ON FUNCTION
    @extschema@.search_analytics_queries(text, integer, uuid), @extschema@.search_dashboards(text, integer, uuid)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.search_analytics_queries(text, integer, uuid), @extschema@.search_dashboards(text, integer, uuid)
    TO marimo_app, marimo_admin;
