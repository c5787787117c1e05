-- Adoption (0.9.0): the rows of a database the seed's migrations built, copied
-- into the extension's tables (see adoption/mod.rs and the README).
CREATE FUNCTION @extschema@.adopt_seed_tables(source pg_catalog.regnamespace)
    RETURNS TABLE (table_name text, rows_copied bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- Parents before children, so that every foreign key finds its row.
    tables constant text[] := ARRAY[
        'tenants', 'analytics_queries', 'dashboards', 'scheduled_reports',
        'webhooks', 'webhook_events', 'webhook_deliveries', 'webhook_logs',
        'integrations', 'integration_logs', 'stripe_customers', 'stripe_subscriptions', 'sendgrid_contacts',
        'usage_metrics', 'user_activities', 'api_usage_logs'];
    target text;
    source_table pg_catalog.regclass;
    target_table pg_catalog.regclass;
    shared_columns text;
    holds_rows boolean;
BEGIN
    IF source IS NULL THEN
        RAISE EXCEPTION 'marimo_erp: argument "source" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF source OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace THEN
        RAISE EXCEPTION 'marimo_erp: argument "source" must be the schema the seed''s tables were moved to, not the extension''s own'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- All or nothing: a second adoption would copy every row twice.
    FOREACH target IN ARRAY tables LOOP
        EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM @extschema@.%I)', target) INTO holds_rows;
        IF holds_rows THEN
            RAISE EXCEPTION 'marimo_erp: cannot adopt the seed''s tables: %.% already holds rows', '@extschema@', target
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'adopt_seed_tables() fills an empty installation, once.';
        END IF;
    END LOOP;
    FOREACH target IN ARRAY tables LOOP
        source_table := pg_catalog.to_regclass(pg_catalog.format('%s.%I', source, target));
        CONTINUE WHEN source_table IS NULL;
        target_table := pg_catalog.format('@extschema@.%I', target)::pg_catalog.regclass;
        -- The columns both have, by name; generated ones are computed again.
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(t.attname), ', ' ORDER BY t.attnum)
          INTO shared_columns
          FROM pg_catalog.pg_attribute t
          JOIN pg_catalog.pg_attribute s ON s.attrelid OPERATOR(pg_catalog.=) source_table
                                        AND s.attname OPERATOR(pg_catalog.=) t.attname
                                        AND s.attnum OPERATOR(pg_catalog.>) 0 AND NOT s.attisdropped
         WHERE t.attrelid OPERATOR(pg_catalog.=) target_table AND t.attnum OPERATOR(pg_catalog.>) 0
           AND NOT t.attisdropped AND t.attgenerated OPERATOR(pg_catalog.=) '';
        CONTINUE WHEN shared_columns IS NULL;
        EXECUTE pg_catalog.format('INSERT INTO %s (%s) SELECT %s FROM %s', target_table, shared_columns, shared_columns,
                                  source_table);
        GET DIAGNOSTICS rows_copied = ROW_COUNT;
        table_name := target;
        RETURN NEXT;
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION @extschema@.adopt_seed_tables(pg_catalog.regnamespace) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.adopt_seed_tables(pg_catalog.regnamespace) IS
    'Copies every row of the tables a database built by the seed''s migrations holds, moved into the schema source, into the extension''s empty tables (columns of the same name; parents first); returns the rows copied per table. The source tables are left as they are. For the owner or a superuser only.';
