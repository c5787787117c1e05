-- attack_side_channels: what an application role cannot read around row-level
-- security through EXPLAIN, and cannot leave for the next client of a pooled
-- connection in a cursor WITH HOLD or a temporary table (0.10.0, issue 14,
-- items 2 and 8).
--
-- EXPLAIN ANALYZE with the planner forced onto an index that does not lead with
-- tenant_id (ORDER BY slug; seqscan, sort and bitmapscan off): the range on slug
-- is the Index Cond, the tenant policy only a Filter, so "Rows Removed by
-- Filter" counted the other tenants' rows in any range, and walking prefixes
-- recovered their slugs, custom domains and Stripe customer ids; the same on the
-- timestamp index tenants_created_at_idx. Each attack runs twice as a fresh
-- session's very first statement, when the library is not loaded yet (this
-- cluster does not preload it), and again once it is.
--
-- Stands alone: its own schema, tenants and roles, removed at the end.
SET timezone = 'UTC';
\set A 'e1de0000-0000-4000-8000-00000000000a'
\set B 'e1de0000-0000-4000-8000-00000000000b'

CREATE SCHEMA side_regress;
INSERT INTO tenants (id, slug, name, custom_domain, stripe_customer_id, created_at) VALUES
(:'A', 'side-a', 'Side A', NULL, NULL, '2026-01-01 00:00:00+00'),
(:'B', 'side-bravo7', 'Side B', 'erp.bravo7.example', 'cus_Bravo7', '2026-03-14 15:09:26+00');
ANALYZE tenants;

-- EXPLAIN (ANALYZE) of a query, as its caller: the rows removed by filters in
-- the plan, or how EXPLAIN was refused.
CREATE FUNCTION side_regress.rows_removed(query text) RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ' || query INTO plan;
    RETURN (SELECT coalesce(sum(v::text::bigint), 0)::text
              FROM pg_catalog.jsonb_path_query(plan::jsonb, 'strict $.**."Rows Removed by Filter"') AS p(v));
EXCEPTION WHEN OTHERS THEN
    RETURN 'refused: ' || SQLSTATE;
END
$fn$;

-- The attack: with the rows removed as an oracle, one character at a time,
-- the value of another tenant in column col of tenants that starts with prefix.
CREATE FUNCTION side_regress.walk(col text, prefix text) RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
    known text := prefix;
    ch text;
    found boolean;
    answer text;
    alphabet text := '-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';
BEGIN
    LOOP
        found := false;
        FOR i IN 1 .. length(alphabet) LOOP
            ch := substr(alphabet, i, 1);
            answer := side_regress.rows_removed(format(
                'SELECT %1$I FROM public.tenants WHERE %1$I >= %2$L AND %1$I < %3$L ORDER BY %1$I',
                col, known || ch, known || ch || '~'));
            IF answer LIKE 'refused%' THEN
                RETURN answer;
            END IF;
            IF answer::bigint > 0 THEN
                known := known || ch;
                found := true;
                EXIT;
            END IF;
        END LOOP;
        EXIT WHEN NOT found OR length(known) > 40;
    END LOOP;
    RETURN known;
END
$fn$;

-- Whether plain EXPLAIN of a query shows costs (estimated rows) to its caller.
CREATE FUNCTION side_regress.shows_costs(query text) RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
    line text;
    costs boolean := false;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN ' || query LOOP
        costs := costs OR line LIKE '%cost=%' OR line LIKE '%rows=%';
    END LOOP;
    RETURN costs::text;
EXCEPTION WHEN OTHERS THEN
    RETURN 'refused: ' || SQLSTATE;
END
$fn$;

CREATE ROLE marimo_side_attacker LOGIN IN ROLE marimo_app;
CREATE ROLE marimo_side_operator LOGIN IN ROLE marimo_admin;
GRANT USAGE ON SCHEMA side_regress TO marimo_side_attacker, marimo_side_operator;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA side_regress TO marimo_side_attacker, marimo_side_operator;
ALTER ROLE marimo_side_attacker SET enable_seqscan = off;
ALTER ROLE marimo_side_attacker SET enable_sort = off;
ALTER ROLE marimo_side_attacker SET enable_bitmapscan = off;
ALTER ROLE marimo_side_operator SET enable_seqscan = off;
ALTER ROLE marimo_side_operator SET enable_sort = off;
ALTER ROLE marimo_side_operator SET enable_bitmapscan = off;

------------------------------------------------------------------------------
-- The operator: EXPLAIN ANALYZE, and its costs, stay an operator's tools (its
-- policy shows every row, so nothing is removed).
------------------------------------------------------------------------------
\c - marimo_side_operator
SELECT side_regress.rows_removed($$SELECT slug FROM tenants WHERE slug >= 'side-b' AND slug < 'side-c' ORDER BY slug$$) AS operator_rows_removed;
SELECT side_regress.shows_costs($$SELECT slug FROM tenants WHERE slug >= 'side-b' ORDER BY slug$$) AS operator_sees_costs;

------------------------------------------------------------------------------
-- The application role, with no tenant set (its policy removes every row).
------------------------------------------------------------------------------
-- The first statement of a fresh session, before the library is loaded: the
-- walk over slugs (the EXPLAIN inside it loads the library while it plans).
\c - marimo_side_attacker
SELECT side_regress.walk('slug', 'side-b') AS slug_of_b_first_statement;
-- Now the library is loaded: every column with a unique index, and the
-- timestamp index.
SELECT side_regress.walk('slug', 'side-b') AS slug_of_b;
SELECT side_regress.walk('custom_domain', 'erp.') AS custom_domain_of_b;
SELECT side_regress.walk('stripe_customer_id', 'cus_') AS stripe_customer_id_of_b;
SELECT side_regress.rows_removed($$SELECT created_at FROM tenants
        WHERE created_at >= '2026-03-14' AND created_at < '2026-03-15' ORDER BY created_at$$) AS created_at_of_b;
-- Typed by hand, with and without parentheses; EXPLAIN EXECUTE.
EXPLAIN ANALYZE SELECT slug FROM tenants WHERE slug >= 'side-b' ORDER BY slug;
EXPLAIN (ANALYZE true, COSTS OFF) SELECT slug FROM tenants WHERE slug >= 'side-b' ORDER BY slug;
PREPARE side_by_slug(text) AS SELECT slug FROM tenants WHERE slug >= $1 ORDER BY slug;
EXPLAIN (ANALYZE) EXECUTE side_by_slug('side-b');
-- ANALYZE off is plain EXPLAIN, which runs without costs (estimated rows).
SELECT side_regress.shows_costs($$SELECT slug FROM tenants WHERE slug >= 'side-b' ORDER BY slug$$) AS attacker_sees_costs;
SELECT side_regress.shows_costs($$(ANALYZE false, COSTS true) SELECT slug FROM tenants WHERE slug >= 'side-b' ORDER BY slug$$) AS attacker_sees_costs_asked;

-- Plain EXPLAIN and EXPLAIN ANALYZE typed as a fresh session's first statement.
\c - marimo_side_attacker
EXPLAIN ANALYZE SELECT slug FROM tenants WHERE slug >= 'side-b' ORDER BY slug;
\c - marimo_side_attacker
EXPLAIN SELECT slug FROM tenants WHERE slug >= 'side-b' ORDER BY slug;
-- Repeated, it runs without costs.
EXPLAIN SELECT slug FROM tenants WHERE slug >= 'side-b' ORDER BY slug;

------------------------------------------------------------------------------
-- The application role with its tenant A set: the same attacks.
------------------------------------------------------------------------------
\c - marimo_side_attacker
BEGIN;
SELECT set_tenant(:'A') IS NOT NULL AS tenant_set;
SELECT side_regress.walk('slug', 'side-b') AS slug_of_b;
SELECT side_regress.walk('custom_domain', 'erp.') AS custom_domain_of_b;
SELECT side_regress.rows_removed($$SELECT created_at FROM tenants
        WHERE created_at >= '2026-03-14' AND created_at < '2026-03-15' ORDER BY created_at$$) AS created_at_of_b;
-- A positive control: the application reads its own row.
SELECT slug FROM tenants;
COMMIT;

------------------------------------------------------------------------------
-- Cursors WITH HOLD: filled at commit while the tenant is still set, then
-- readable by the next client of the connection, with no tenant set.
------------------------------------------------------------------------------
-- Declared before the library loaded, in the transaction that then sets A:
-- set_tenant() refuses, so nothing of A is held.
\c - marimo_side_attacker
BEGIN;
DECLARE side_held CURSOR WITH HOLD FOR SELECT slug FROM tenants;
SELECT set_tenant(:'A') IS NOT NULL AS tenant_set;
COMMIT;
-- The next client: no tenant, and no cursor.
SELECT current_tenant();
FETCH ALL FROM side_held;
-- Declared before the library loaded, with no tenant: set_tenant() refuses
-- until it is closed.
\c - marimo_side_attacker
DECLARE side_held CURSOR WITH HOLD FOR SELECT slug FROM tenants;
SELECT set_tenant(:'A') IS NOT NULL AS tenant_set;
CLOSE side_held;
SELECT set_tenant(:'A') IS NOT NULL AS tenant_set;
SELECT reset_tenant();
-- Once the library is loaded: refused, with a tenant set or not.
BEGIN;
SELECT set_tenant(:'A') IS NOT NULL AS tenant_set;
DECLARE side_held CURSOR WITH HOLD FOR SELECT slug FROM tenants;
ROLLBACK;
DECLARE side_held CURSOR WITH HOLD FOR SELECT slug FROM tenants;
BEGIN;
DECLARE side_held CURSOR WITH HOLD FOR SELECT slug FROM tenants;
ROLLBACK;
-- A positive control: a cursor WITHOUT HOLD in the tenant's transaction.
BEGIN;
SELECT set_tenant(:'A') IS NOT NULL AS tenant_set;
DECLARE side_cursor CURSOR FOR SELECT slug FROM tenants;
FETCH ALL FROM side_cursor;
COMMIT;
SELECT count(*) AS held_cursors FROM pg_cursors;

------------------------------------------------------------------------------
-- Temporary tables: with a tenant set, only ON COMMIT DROP or DELETE ROWS.
------------------------------------------------------------------------------
-- Filled under A, then read by the next client, with no tenant set.
BEGIN;
SELECT set_tenant(:'A') IS NOT NULL AS tenant_set;
CREATE TEMP TABLE side_kept AS SELECT slug FROM tenants;
COMMIT;
SELECT current_tenant();
SELECT slug FROM side_kept;
-- Every way to create one.
BEGIN;
SELECT set_tenant(:'A') IS NOT NULL AS tenant_set;
SAVEPOINT s;
CREATE TEMP TABLE side_kept AS SELECT slug FROM tenants;
ROLLBACK TO s;
SELECT slug INTO TEMP side_kept FROM tenants;
ROLLBACK TO s;
CREATE TEMP TABLE side_kept (slug text);
ROLLBACK TO s;
CREATE TABLE pg_temp.side_kept (slug text);
ROLLBACK TO s;
SET LOCAL search_path = pg_temp, public;
CREATE TABLE side_kept (slug text);
ROLLBACK TO s;
CREATE TEMP SEQUENCE side_kept_seq;
ROLLBACK TO s;
-- Positive controls.
CREATE TEMP TABLE side_dropped ON COMMIT DROP AS SELECT slug FROM tenants;
CREATE TEMP TABLE side_emptied (slug text) ON COMMIT DELETE ROWS;
INSERT INTO side_emptied SELECT slug FROM side_dropped;
SELECT (SELECT count(*) FROM side_dropped) AS dropped_rows, (SELECT count(*) FROM side_emptied) AS emptied_rows;
CREATE TEMP VIEW side_view AS SELECT slug FROM tenants;
COMMIT;
-- The next client: nothing of A left.
SELECT current_tenant();
SELECT count(*) AS emptied_rows FROM side_emptied;
SELECT count(*) AS view_rows FROM side_view;
SELECT relname FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relkind IN ('r', 'S') ORDER BY 1;

------------------------------------------------------------------------------
-- Preloaded (session_preload_libraries), the hooks see a session's very first
-- statement as they see any other.
------------------------------------------------------------------------------
\c - postgres
ALTER ROLE marimo_side_attacker SET session_preload_libraries = 'marimo_erp';
\c - marimo_side_attacker
EXPLAIN ANALYZE SELECT slug FROM tenants WHERE slug >= 'side-b' ORDER BY slug;
\c - marimo_side_attacker
DECLARE side_held CURSOR WITH HOLD FOR SELECT slug FROM tenants;

------------------------------------------------------------------------------
-- Clean up.
------------------------------------------------------------------------------
\c - postgres
DROP OWNED BY marimo_side_attacker, marimo_side_operator;
DROP ROLE marimo_side_attacker;
DROP ROLE marimo_side_operator;
DROP SCHEMA side_regress CASCADE;
DELETE FROM tenants WHERE id IN (:'A', :'B');
