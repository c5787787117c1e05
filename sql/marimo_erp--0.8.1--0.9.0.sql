-- marimo_erp 0.8.1 -> 0.9.0: the users' own paths (issue 15). Each section
-- below is one capability; each adds what a fresh 0.9.0 install has, in the
-- same column order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.9.0'" to load this file. \quit

-- == Logs without foreign keys: parallel pg_restore keeps every row ==

-- == Extension tables refuse changes pg_dump would not keep ==

-- == Usage: timestamptz bounds and named result types ==

-- == Monitoring: partitions, maintenance history, webhook backlog ==

-- == Search for applications, and tenant routing ==
-- Full-text search for applications (issue 15): the shared pieces in the
-- tenants room (src/tenants/search.sql), a stored search_vector at the end of
-- analytics_queries, dashboards and sendgrid_contacts with a trigger, the GIN
-- indexes moved onto it, and the search functions; then resolve_tenant()
-- (src/tenants/tenants.sql). The statements are those of a fresh install.
CREATE FUNCTION @extschema@.search_config(name text) RETURNS regconfig
    LANGUAGE sql
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::pg_catalog.regconfig
      FROM pg_catalog.pg_ts_config c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace
     CROSS JOIN LATERAL (SELECT pg_catalog.string_to_array(pg_catalog.lower(name), '.') AS parts) AS p
     WHERE name ~ '^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$'
       AND n.nspname = CASE WHEN pg_catalog.cardinality(p.parts) = 2 THEN p.parts[1] ELSE 'pg_catalog' END
       AND c.cfgname = p.parts[pg_catalog.cardinality(p.parts)]
       AND n.nspname !~ '^pg_(toast_)?temp_'
$$;

CREATE FUNCTION @extschema@.search_language(tenant uuid) RETURNS regconfig
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    chosen text;
    config regconfig;
BEGIN
    SELECT t.settings ->> 'search_language' INTO chosen FROM @extschema@.tenants t WHERE t.id = tenant;
    -- A configuration dropped since the tenant chose it: the default.
    config := @extschema@.search_config(chosen);
    IF config IS NOT NULL THEN
        RETURN config;
    END IF;
    chosen := COALESCE(NULLIF(pg_catalog.current_setting('marimo_erp.search_language', true), ''), 'english');
    config := @extschema@.search_config(chosen);
    IF config IS NULL THEN
        RAISE EXCEPTION 'marimo_erp.search_language "%" is not a text search configuration', chosen
            USING ERRCODE = '22023',
                  HINT = 'Set it to one, e.g. english or simple: SELECT cfgname FROM pg_ts_config.';
    END IF;
    RETURN config;
END
$$;

CREATE FUNCTION @extschema@.search_document(config regconfig, primary_text text, secondary_text text DEFAULT NULL)
    RETURNS tsvector
    LANGUAGE plpgsql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    document tsvector := pg_catalog.to_tsvector(config, '');
    body text;
    weight "char";
    parts text;
BEGIN
    FOR body, weight IN SELECT v.body, v.weight
                          FROM (VALUES (primary_text, 'A'::"char"), (secondary_text, 'B'::"char")) AS v(body, weight)
                         WHERE v.body IS NOT NULL
    LOOP
        SELECT pg_catalog.string_agg(pg_catalog.translate(m[1], '.+_-', '    ') || ' '
                                     || pg_catalog.translate(m[2], '.-', '  ') || ' ' || m[2], ' ')
          INTO parts
          FROM pg_catalog.regexp_matches(body, '([^\s@<>(),;:"\[\]]+)@([^\s@<>(),;:"\[\]]+)', 'g') AS m;
        document := document
                    || pg_catalog.setweight(pg_catalog.to_tsvector(config, body || ' ' || COALESCE(parts, '')), weight);
    END LOOP;
    RETURN document;
END
$$;

CREATE FUNCTION @extschema@.set_search_vector() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fields jsonb;
    texts text[];
BEGIN
    IF TG_WHEN <> 'BEFORE' OR TG_LEVEL <> 'ROW' OR TG_OP NOT IN ('INSERT', 'UPDATE') OR TG_NARGS NOT IN (1, 2) THEN
        RAISE EXCEPTION 'set_search_vector() must be a row-level BEFORE INSERT OR UPDATE trigger with one or two column lists'
            USING ERRCODE = '39P01';
    END IF;
    fields := pg_catalog.to_jsonb(NEW);
    SELECT pg_catalog.array_agg((SELECT pg_catalog.string_agg(fields ->> pg_catalog.btrim(c), ' ')
                                   FROM pg_catalog.unnest(pg_catalog.string_to_array(l.list, ',')) AS c)
                                ORDER BY l.n)
      INTO texts
      FROM pg_catalog.unnest(TG_ARGV) WITH ORDINALITY AS l(list, n);
    NEW.search_vector := @extschema@.search_document(
        @extschema@.search_language((fields ->> 'tenant_id')::uuid), texts[1], texts[2]);
    IF TG_OP = 'UPDATE' AND pg_catalog.current_setting('marimo_erp.search_refresh', true) = 'on' THEN
        NEW.updated_at := OLD.updated_at;
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION @extschema@.refresh_search_vectors(tenant uuid DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target regclass;
    changed bigint;
    total bigint := 0;
BEGIN
    IF tenant IS NOT NULL AND NOT EXISTS (SELECT FROM @extschema@.tenants t WHERE t.id = tenant) THEN
        RAISE EXCEPTION 'tenant % does not exist', tenant USING ERRCODE = 'P0002';
    END IF;
    -- Undone when this function returns (its SET clause opens a settings level).
    PERFORM pg_catalog.set_config('marimo_erp.search_refresh', 'on', true);
    FOR target IN
        SELECT c.oid::pg_catalog.regclass
          FROM pg_catalog.pg_depend d
          JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'marimo_erp'
          JOIN pg_catalog.pg_class c ON c.oid = d.objid AND c.relkind = 'r'
          JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'search_vector'
                                        AND a.atttypid = 'pg_catalog.tsvector'::pg_catalog.regtype
                                        AND NOT a.attisdropped
         WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'e'
         ORDER BY c.relname
    LOOP
        EXECUTE pg_catalog.format('UPDATE %s SET search_vector = NULL WHERE $1 IS NULL OR tenant_id = $1', target)
            USING tenant;
        GET DIAGNOSTICS changed = ROW_COUNT;
        total := total + changed;
    END LOOP;
    RETURN total;
END
$$;

CREATE FUNCTION @extschema@.tenants_search_language() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    chosen jsonb;
BEGIN
    IF TG_LEVEL <> 'ROW' OR TG_OP NOT IN ('INSERT', 'UPDATE') THEN
        RAISE EXCEPTION 'tenants_search_language() must be a row-level INSERT OR UPDATE trigger'
            USING ERRCODE = '39P01';
    END IF;
    IF TG_WHEN = 'AFTER' THEN
        PERFORM @extschema@.refresh_search_vectors(NEW.id);
        RETURN NULL;
    END IF;
    chosen := NEW.settings -> 'search_language';
    IF chosen IS NOT NULL AND chosen <> 'null'::jsonb
       AND (pg_catalog.jsonb_typeof(chosen) <> 'string' OR @extschema@.search_config(chosen #>> '{}') IS NULL) THEN
        RAISE EXCEPTION 'settings.search_language % is not a text search configuration', chosen
            USING ERRCODE = '22023',
                  HINT = 'Use the name of one, e.g. "english", "german" or "simple" (SELECT cfgname FROM pg_ts_config), or remove the key for the default (marimo_erp.search_language).';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tenants_search_language_check BEFORE INSERT OR UPDATE OF settings ON @extschema@.tenants
    FOR EACH ROW EXECUTE FUNCTION @extschema@.tenants_search_language();
CREATE TRIGGER tenants_search_language_refresh AFTER UPDATE OF settings ON @extschema@.tenants
    FOR EACH ROW
    WHEN (OLD.settings -> 'search_language' IS DISTINCT FROM NEW.settings -> 'search_language')
    EXECUTE FUNCTION @extschema@.tenants_search_language();

COMMENT ON FUNCTION @extschema@.search_config(text) IS
    'The text search configuration of a name (name, or schema.name outside temporary schemas; an unqualified name is a built-in of pg_catalog), NULL when there is none.';
COMMENT ON FUNCTION @extschema@.search_language(uuid) IS
    'The text search configuration a tenant''s documents and queries are parsed with: its settings->>''search_language'', else the setting marimo_erp.search_language, else english.';
COMMENT ON FUNCTION @extschema@.search_document(regconfig, text, text) IS
    'A search document: primary_text (weight A) and secondary_text (weight B) parsed with config, each e-mail address also as its parts (jane.doe@example.com as jane, doe, example, com and example.com).';
COMMENT ON FUNCTION @extschema@.set_search_vector() IS
    'Row trigger of the searchable tables: sets search_vector from the columns its arguments name (weight-A list, then weight-B list) in the language of the row''s tenant.';
COMMENT ON FUNCTION @extschema@.refresh_search_vectors(uuid) IS
    'Rebuilds search_vector of a tenant''s rows (every tenant''s with NULL) in every searchable table, keeping updated_at; run after changing marimo_erp.search_language. Returns the rows rebuilt.';
COMMENT ON FUNCTION @extschema@.tenants_search_language() IS
    'Trigger on tenants: refuses a settings.search_language that is not a text search configuration, and rebuilds the tenant''s search vectors when it changes.';


-- Internal: the triggers and the domains' search functions call them as the
-- owner. search_document is a pure function, there for anyone to try.
REVOKE ALL ON FUNCTION
    @extschema@.search_config(text), @extschema@.search_language(uuid),
    @extschema@.search_document(regconfig, text, text), @extschema@.set_search_vector(),
    @extschema@.refresh_search_vectors(uuid), @extschema@.tenants_search_language()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.search_document(regconfig, text, text) TO marimo_app, marimo_admin;
GRANT EXECUTE ON FUNCTION @extschema@.refresh_search_vectors(uuid) TO marimo_admin;

-- The stored documents, at the end of each table as in a fresh install. The
-- old GIN indexes (on to_tsvector('simple', ...)) go; the new ones are built
-- once the vectors are filled, which keeps every row's updated_at.
ALTER TABLE @extschema@.analytics_queries ADD COLUMN search_vector tsvector;
ALTER TABLE @extschema@.dashboards ADD COLUMN search_vector tsvector;
ALTER TABLE @extschema@.sendgrid_contacts ADD COLUMN search_vector tsvector;
COMMENT ON COLUMN @extschema@.analytics_queries.search_vector IS 'Name (weight A) and description (weight B) as a text search document in the tenant''s language; kept by a trigger, read by search_analytics_queries().';
COMMENT ON COLUMN @extschema@.dashboards.search_vector IS 'Name (weight A) and description (weight B) as a text search document in the tenant''s language; kept by a trigger, read by search_dashboards().';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.search_vector IS 'E-mail address (also by its parts) and names as a text search document in the tenant''s language; kept by a trigger, read by search_sendgrid_contacts().';

DROP INDEX @extschema@.analytics_queries_search_idx;
DROP INDEX @extschema@.dashboards_search_idx;
DROP INDEX @extschema@.sendgrid_contacts_search_idx;

CREATE TRIGGER analytics_queries_update_search_vector
    BEFORE INSERT OR UPDATE OF tenant_id, name, description, search_vector ON @extschema@.analytics_queries
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_search_vector('name', 'description');
CREATE TRIGGER dashboards_update_search_vector
    BEFORE INSERT OR UPDATE OF tenant_id, name, description, search_vector ON @extschema@.dashboards
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_search_vector('name', 'description');
CREATE TRIGGER sendgrid_contacts_update_search_vector
    BEFORE INSERT OR UPDATE OF tenant_id, email, first_name, last_name, search_vector ON @extschema@.sendgrid_contacts
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_search_vector('email, first_name, last_name');

SELECT @extschema@.refresh_search_vectors();

CREATE INDEX analytics_queries_search_idx ON @extschema@.analytics_queries USING gin (search_vector);
CREATE INDEX dashboards_search_idx ON @extschema@.dashboards USING gin (search_vector);
CREATE INDEX sendgrid_contacts_search_idx ON @extschema@.sendgrid_contacts USING gin (search_vector);

CREATE FUNCTION @extschema@."search_analytics_queries"(
	"query" TEXT,
	"max_rows" INT DEFAULT 50,
	"tenant" uuid DEFAULT NULL
) RETURNS TABLE (
	"id" uuid,
	"name" TEXT,
	"description" TEXT,
	"rank" real
)
STABLE PARALLEL RESTRICTED
LANGUAGE c
AS 'MODULE_PATHNAME', 'search_analytics_queries_wrapper';

CREATE FUNCTION @extschema@."search_dashboards"(
	"query" TEXT,
	"max_rows" INT DEFAULT 50,
	"tenant" uuid DEFAULT NULL
) RETURNS TABLE (
	"id" uuid,
	"name" TEXT,
	"description" TEXT,
	"rank" real
)
STABLE PARALLEL RESTRICTED
LANGUAGE c
AS 'MODULE_PATHNAME', 'search_dashboards_wrapper';

CREATE FUNCTION @extschema@."search_sendgrid_contacts"(
	"query" TEXT,
	"max_rows" INT DEFAULT 50,
	"tenant" uuid DEFAULT NULL
) RETURNS TABLE (
	"id" uuid,
	"email" TEXT,
	"first_name" TEXT,
	"last_name" TEXT,
	"status" TEXT,
	"rank" real
)
STABLE PARALLEL RESTRICTED
LANGUAGE c
AS 'MODULE_PATHNAME', 'search_sendgrid_contacts_wrapper';

CREATE FUNCTION @extschema@."sendgrid_contacts_in_list"(
	"list_id" TEXT,
	"max_rows" INT DEFAULT 1000,
	"tenant" uuid DEFAULT NULL
) RETURNS TABLE (
	"id" uuid,
	"email" TEXT,
	"first_name" TEXT,
	"last_name" TEXT,
	"status" TEXT
)
STABLE PARALLEL RESTRICTED
LANGUAGE c
AS 'MODULE_PATHNAME', 'sendgrid_contacts_in_list_wrapper';

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

COMMENT ON FUNCTION @extschema@.search_sendgrid_contacts(text, integer, uuid) IS
    'Full-text search (web search syntax) of the tenant''s SendGrid contacts by e-mail address, its parts (jane, doe, example, example.com) and names, best match first, at most max_rows; tenant defaults to the current tenant, and an application may search only that one.';
COMMENT ON FUNCTION @extschema@.sendgrid_contacts_in_list(text, integer, uuid) IS
    'The tenant''s SendGrid contacts on the list list_id, by e-mail address, at most max_rows; tenant defaults to the current tenant, and an application may read only that one.';
REVOKE ALL ON FUNCTION
    @extschema@.search_sendgrid_contacts(text, integer, uuid), @extschema@.sendgrid_contacts_in_list(text, integer, uuid)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.search_sendgrid_contacts(text, integer, uuid), @extschema@.sendgrid_contacts_in_list(text, integer, uuid)
    TO marimo_app, marimo_admin;

-- Tenant routing.
CREATE FUNCTION @extschema@.resolve_tenant(slug_or_domain text) RETURNS uuid
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found uuid;
BEGIN
    IF slug_or_domain IS NULL THEN
        RAISE EXCEPTION 'argument "slug_or_domain" must not be NULL' USING ERRCODE = '22004';
    END IF;
    -- 253 characters: the longest host name; a slug has at most 63.
    IF pg_catalog.length(slug_or_domain) NOT BETWEEN 1 AND 253 THEN
        RAISE EXCEPTION 'argument "slug_or_domain" must be 1 to 253 characters long'
            USING ERRCODE = '22023';
    END IF;
    SELECT t.id INTO found
      FROM @extschema@.tenants t
     WHERE (t.slug = slug_or_domain OR t.custom_domain = pg_catalog.lower(slug_or_domain))
       AND t.status = 'active';
    RETURN found;
END
$$;

COMMENT ON FUNCTION @extschema@.resolve_tenant(text) IS
    'The id of the active tenant whose slug, or custom domain (in any case), is slug_or_domain; NULL when none is, or when it is suspended or cancelled. Needs no tenant set; returns nothing else of the tenant.';

REVOKE ALL ON FUNCTION @extschema@.resolve_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.resolve_tenant(text) TO marimo_app, marimo_admin;
