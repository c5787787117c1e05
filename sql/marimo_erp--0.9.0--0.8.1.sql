-- marimo_erp 0.9.0 -> 0.8.1: takes back what 0.9.0 added, in reverse order.
-- Refuses while a table it drops holds rows, unless marimo_erp.allow_data_loss is on.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.8.1'" to load this file. \quit

-- == Search for applications, and tenant routing ==

-- == Monitoring: partitions, maintenance history, webhook backlog ==

-- == Usage: timestamptz bounds and named result types ==
-- Back to 0.8.1's anonymous row types and the timestamp signature alone.
DROP FUNCTION @extschema@.check_tenant_limit(uuid, text, bigint);
DROP FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamptz, timestamptz, text);
DROP FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text);
DROP TYPE @extschema@.tenant_limit_check;
DROP TYPE @extschema@.usage_aggregate;

CREATE FUNCTION @extschema@.check_tenant_limit(tenant uuid, limit_type text, current_value bigint DEFAULT NULL)
    RETURNS TABLE (allowed bool, limit_type text, current_value bigint, limit_value bigint, remaining bigint,
                   reason text)
    STABLE PARALLEL RESTRICTED
    LANGUAGE c AS 'MODULE_PATHNAME', 'check_tenant_limit_wrapper';
CREATE FUNCTION @extschema@.aggregate_usage_metrics(tenant uuid, metric_type text, "from" timestamp,
                                                    "to" timestamp, bucket text DEFAULT NULL)
    RETURNS TABLE (bucket_start timestamptz, metric_type text, total numeric, average numeric, minimum numeric,
                   maximum numeric, samples bigint)
    STABLE PARALLEL RESTRICTED
    LANGUAGE c AS 'MODULE_PATHNAME', 'aggregate_usage_metrics_wrapper';
COMMENT ON FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text) IS
    'Total, average, minimum, maximum and sample count of a tenant''s metric over [from, to) (read as UTC): one row for the range, or one per hour, day, week or month with data.';
COMMENT ON FUNCTION @extschema@.check_tenant_limit(uuid, text, bigint) IS
    'Checks a tenant''s usage against its limit: allowed when current_value <= limit_value and the tenant is neither suspended, cancelled nor past its trial without a subscription. Without current_value, measures usage where marimo_erp holds the data.';
REVOKE ALL ON FUNCTION
    @extschema@.check_tenant_limit(uuid, text, bigint),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.check_tenant_limit(uuid, text, bigint),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text)
    TO marimo_app, marimo_admin;

-- == Extension tables refuse changes pg_dump would not keep ==
DROP EVENT TRIGGER marimo_erp_member_ddl;
DROP FUNCTION @extschema@.guard_member_ddl();


-- == Logs without foreign keys: parallel pg_restore keeps every row ==
-- 0.8.1's foreign keys come back, validated: a log row whose tenant,
-- integration, webhook or delivery is gone (possible only since 0.9.0) stops
-- the rollback, named, rather than being deleted.
DO $$
DECLARE
    orphans bigint;
    probe record;
BEGIN
    FOR probe IN
        SELECT * FROM (VALUES
            ('user_activities', 'tenant', 'SELECT pg_catalog.count(*) FROM @extschema@.user_activities l WHERE NOT EXISTS (SELECT FROM @extschema@.tenants t WHERE t.id OPERATOR(pg_catalog.=) l.tenant_id)'),
            ('api_usage_logs', 'tenant', 'SELECT pg_catalog.count(*) FROM @extschema@.api_usage_logs l WHERE NOT EXISTS (SELECT FROM @extschema@.tenants t WHERE t.id OPERATOR(pg_catalog.=) l.tenant_id)'),
            ('integration_logs', 'integration', 'SELECT pg_catalog.count(*) FROM @extschema@.integration_logs l WHERE NOT EXISTS (SELECT FROM @extschema@.integrations i WHERE i.tenant_id OPERATOR(pg_catalog.=) l.tenant_id AND i.id OPERATOR(pg_catalog.=) l.integration_id)'),
            ('webhook_logs', 'webhook', 'SELECT pg_catalog.count(*) FROM @extschema@.webhook_logs l WHERE NOT EXISTS (SELECT FROM @extschema@.webhooks w WHERE w.tenant_id OPERATOR(pg_catalog.=) l.tenant_id AND w.id OPERATOR(pg_catalog.=) l.webhook_id)'),
            ('webhook_logs', 'delivery', 'SELECT pg_catalog.count(*) FROM @extschema@.webhook_logs l WHERE l.delivery_id IS NOT NULL AND NOT EXISTS (SELECT FROM @extschema@.webhook_deliveries d WHERE d.tenant_id OPERATOR(pg_catalog.=) l.tenant_id AND d.id OPERATOR(pg_catalog.=) l.delivery_id)')
        ) AS p(log, parent, count_query)
    LOOP
        EXECUTE probe.count_query INTO orphans;
        IF orphans OPERATOR(pg_catalog.>) 0 THEN
            RAISE EXCEPTION 'marimo_erp: cannot go back to 0.8.1: % rows of % belong to no %', orphans, probe.log, probe.parent
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = '0.8.1 has a foreign key there. Delete those rows yourself, or stay on 0.9.0.';
        END IF;
    END LOOP;
END
$$;

DROP TRIGGER tenants_delete_user_activities ON @extschema@.tenants;
DROP TRIGGER tenants_delete_api_usage_logs ON @extschema@.tenants;
DROP TRIGGER tenants_delete_integration_logs ON @extschema@.tenants;
DROP TRIGGER integrations_delete_integration_logs ON @extschema@.integrations;
DROP TRIGGER tenants_delete_webhook_logs ON @extschema@.tenants;
DROP TRIGGER webhooks_delete_webhook_logs ON @extschema@.webhooks;
DROP TRIGGER webhook_deliveries_delete_webhook_logs ON @extschema@.webhook_deliveries;
DROP FUNCTION @extschema@.delete_log_rows();

ALTER TABLE @extschema@.user_activities ADD CONSTRAINT user_activities_tenant_id_fkey FOREIGN KEY (tenant_id)
    REFERENCES @extschema@.tenants (id) ON DELETE CASCADE;
ALTER TABLE @extschema@.api_usage_logs ADD CONSTRAINT api_usage_logs_tenant_id_fkey FOREIGN KEY (tenant_id)
    REFERENCES @extschema@.tenants (id) ON DELETE CASCADE;
ALTER TABLE @extschema@.integration_logs
    ADD CONSTRAINT integration_logs_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    ADD CONSTRAINT integration_logs_integration_id_fkey FOREIGN KEY (tenant_id, integration_id)
        REFERENCES @extschema@.integrations (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE @extschema@.webhook_logs
    ADD CONSTRAINT webhook_logs_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    ADD CONSTRAINT webhook_logs_webhook_id_fkey FOREIGN KEY (tenant_id, webhook_id)
        REFERENCES @extschema@.webhooks (tenant_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT webhook_logs_delivery_id_fkey FOREIGN KEY (tenant_id, delivery_id)
        REFERENCES @extschema@.webhook_deliveries (tenant_id, id) ON DELETE CASCADE;
COMMENT ON COLUMN @extschema@.user_activities.tenant_id IS 'Tenant the activity happened in.';
COMMENT ON COLUMN @extschema@.api_usage_logs.tenant_id IS 'Tenant the request was made for.';
COMMENT ON COLUMN @extschema@.integration_logs.tenant_id IS 'Tenant that owns the integration.';
COMMENT ON COLUMN @extschema@.webhook_logs.tenant_id IS 'Tenant that owns the endpoint.';
COMMENT ON COLUMN @extschema@.user_activities_default.tenant_id IS 'Tenant the activity happened in.';
COMMENT ON COLUMN @extschema@.api_usage_logs_default.tenant_id IS 'Tenant the request was made for.';
COMMENT ON COLUMN @extschema@.integration_logs_default.tenant_id IS 'Tenant that owns the integration.';
COMMENT ON COLUMN @extschema@.webhook_logs_default.tenant_id IS 'Tenant that owns the endpoint.';
