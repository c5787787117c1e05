-- marimo_erp 0.13.0 -> 0.13.1: API log ingest at the engine's floor (issue 10).
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.13.1'" to load this file. \quit

-- == Ingest: the API usage rollup, native ==
-- The statement trigger's function becomes the library's (src/usage/api_rollup.rs):
-- it reads the transition table itself and appends the same deltas as the
-- PL/pgSQL function did, as the extension's owner, without a SECURITY DEFINER
-- function's SET clause on every insert. CREATE OR REPLACE sets every attribute:
-- a C function, SECURITY INVOKER, no settings, as a fresh install creates it.
-- The trigger itself stays; its deltas are the same rows as before.
CREATE OR REPLACE FUNCTION @extschema@.rollup_api_usage() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'rollup_api_usage_wrapper';

COMMENT ON FUNCTION @extschema@.rollup_api_usage() IS
    'Statement trigger on api_usage_logs (native since 0.13.1): appends the inserted requests to usage_deltas as api_requests, api_response_time_ms and api_server_errors (status >= 500) per tenant and UTC hour, as the extension''s owner, and every 4096 deltas a backend appends rolls a batch up (roll_up_usage_in_passing).';
COMMENT ON FUNCTION @extschema@.roll_up_usage_in_passing() IS
    'roll_up_usage(8192) as the writers run it in passing (every 4096 deltas a backend appends through record_usage and API log inserts): skipped under REPEATABLE READ and SERIALIZABLE, and given up, returning 0, on a lock wait over 100 ms, a deadlock or a serialization failure, so that it never fails or stalls the caller. Not for direct use.';
