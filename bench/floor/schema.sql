-- The floor: the least SQL that reads or writes the same rows, the engine's own
-- limit. It lives in the native database (schema floor) next to marimo_erp.
--
--   1. check_tenant_limit  a primary-key lookup of the tenant (and, for a measured
--                          limit, a plain sum over the tenant's rollup rows);
--   2. aggregate           a plain SELECT sum/min/max over the usage_metrics rows
--                          (bench/run times it inline);
--   3. ingest              a bare INSERT into these unindexed copies: no key, no
--                          foreign key, no CHECK, no trigger;
--   4. cleanup             DROP TABLE of the wholly expired daily partitions plus
--                          one DELETE in the boundary day, as one statement, on a
--                          copy of the same partitioned api_usage_logs (bench/run
--                          generates it from the catalog); on a table that is not
--                          partitioned (marimo_erp < 0.6.0) a single DELETE.
--   5. ingest during cleanup: 3. while 4. runs.
CREATE SCHEMA floor;

-- Same columns and defaults (id = gen_random_uuid(), created_at = now()), nothing else.
CREATE TABLE floor.api_usage_logs (LIKE public.api_usage_logs INCLUDING DEFAULTS);

-- One row per record_usage call.
CREATE TABLE floor.usage_events (
    tenant_id    uuid        NOT NULL,
    metric_type  text        NOT NULL,
    value        numeric     NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
