-- Full-text search (extension version 0.9.0): what every searchable table of the
-- domains shares. Each such table has a stored column search_vector, kept by the
-- row trigger set_search_vector() in the language of the row's tenant, and a GIN
-- index on it; the domains' search functions (search_analytics_queries, ...) read
-- it as the owner with an explicit tenant filter, because under forced row-level
-- security the @@ operator, not being leakproof, can never be an index condition
-- for an application role.
--
-- The language: the tenant's settings->>'search_language' (a text search
-- configuration such as english, german or simple), else the setting
-- marimo_erp.search_language, else english. A document and the query searching
-- it must be parsed with the same configuration, so the vectors are rebuilt
-- (refresh_search_vectors) when a tenant's language changes; an operator runs it
-- after changing marimo_erp.search_language.

-- A text search configuration by name (name or schema.name; an unqualified name
-- is one of pg_catalog's built-in configurations), NULL when there is none.
-- Temporary schemas are never looked in: a configuration there exists only for
-- one session, and another session's trigger could not find it.
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

-- The configuration a tenant's documents and queries are parsed with. Reads the
-- tenants row as the owner: the row triggers call it for any caller's rows.
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

-- A document: the primary text (weight A) and the secondary text (weight B),
-- each parsed with config, plus the parts of every e-mail address in them. The
-- parser keeps an address as one token, so jane.doe@example.com is also indexed
-- as jane, doe, example, com and example.com, through the same configuration:
-- stemming applies to them as it does to the query.
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

-- BEFORE INSERT OR UPDATE row trigger of a searchable table: sets search_vector
-- from the columns named by its arguments (a comma-separated list of the
-- weight-A columns, then optionally of the weight-B ones), in the language of
-- the row's tenant; a value the caller wrote there is replaced. When
-- refresh_search_vectors() is rebuilding (marimo_erp.search_refresh, which only
-- a superuser can set), the row keeps its updated_at: the trigger fires after
-- the table's set_updated_at trigger (triggers fire in name order).
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

-- Rebuilds search_vector of one tenant's rows (or every tenant's, with NULL) in
-- every searchable table of the extension: its member tables with a tsvector
-- column search_vector. Their set_search_vector trigger recomputes each row;
-- updated_at stays as it was. Returns how many rows it rebuilt.
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

-- The tenants' search language: refused unless it names a text search
-- configuration (BEFORE), and the tenant's documents rebuilt when it changes
-- (AFTER), as the owner: the rows are the tenant's, whoever changed the setting.
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
