-- attack_usage: usage metering, limits, activity and API logs (0.7.0).
--
-- The attacker (see attack_setup) reaches no usage, key, activity or API log
-- of B, does not rewrite or erase its own (A's bill and trail are the
-- operators'), and calls check_tenant_limit(), aggregate_usage_metrics() and
-- record_usage() only for the current tenant: not with no tenant, not for B,
-- not for suspended C (record_usage() writes), and the idempotency key of B
-- does not answer for A. The API usage rollup writes usage_metrics for A only.
SET timezone = 'UTC';
\set A 'a5ec0000-0000-4000-8000-00000000000a'
\set B 'a5ec0000-0000-4000-8000-00000000000b'
\set C 'a5ec0000-0000-4000-8000-00000000000c'
-- From here on, every attempt is logged under this domain.
INSERT INTO regress.attack_domains (domain) VALUES ('usage');

------------------------------------------------------------------------------
-- The attacks of this domain, besides those on every table (attack_setup).
------------------------------------------------------------------------------
-- a. No tenant set: the functions for A.
INSERT INTO regress.attacks (domain, grp, context, description, statement) VALUES
 ('usage', 'a', 'none', 'check_tenant_limit(A) with no tenant', $$SELECT * FROM check_tenant_limit({A}, 'users_count', 1)$$),
 ('usage', 'a', 'none', 'aggregate_usage_metrics(A) with no tenant', $$SELECT * FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01')$$),
 ('usage', 'a', 'none', 'record_usage(A) with no tenant', $$SELECT record_usage({A}, 'api_calls', 1)$$);

-- c. A set: rewriting or erasing its own usage and trail.
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind) VALUES
 ('usage', 'c', 'A', 'usage_metrics: rewrite its own bill', $$UPDATE usage_metrics SET value_sum = value_max WHERE tenant_id = {A}$$, 'attack'),
 ('usage', 'c', 'A', 'usage_metrics: delete its own usage', $$DELETE FROM usage_metrics WHERE tenant_id = {A}$$, 'attack'),
 ('usage', 'c', 'A', 'usage_idempotency_keys: forget its own keys', $$DELETE FROM usage_idempotency_keys WHERE tenant_id = {A}$$, 'attack'),
 ('usage', 'c', 'A', 'api_usage_logs: rewrite its own log', $$UPDATE api_usage_logs SET status_code = 200 WHERE tenant_id = {A}$$, 'attack'),
 ('usage', 'c', 'A', 'user_activities: erase its own trail', $$DELETE FROM user_activities WHERE tenant_id = {A}$$, 'attack');

-- d. A set: the functions, for B and for C.
INSERT INTO regress.attacks (domain, grp, context, description, statement) VALUES
 ('usage', 'd', 'A', 'check_tenant_limit(B, users_count)', $$SELECT * FROM check_tenant_limit({B}, 'users_count', 1)$$),
 ('usage', 'd', 'A', 'check_tenant_limit(B, webhooks_count)', $$SELECT * FROM check_tenant_limit({B}, 'webhooks_count')$$),
 ('usage', 'd', 'A', 'check_tenant_limit(B, api_calls_per_month)', $$SELECT * FROM check_tenant_limit({B}, 'api_calls_per_month')$$),
 ('usage', 'd', 'A', 'check_tenant_limit(B, seats)', $$SELECT * FROM check_tenant_limit({B}, 'seats', 1)$$),
 ('usage', 'd', 'A', 'check_tenant_limit(C, users_count)', $$SELECT * FROM check_tenant_limit({C}, 'users_count', 1)$$),
 ('usage', 'd', 'A', 'aggregate_usage_metrics(B)', $$SELECT * FROM aggregate_usage_metrics({B}, 'api_calls', '2000-01-01', '2100-01-01')$$),
 ('usage', 'd', 'A', 'aggregate_usage_metrics(B, by day)', $$SELECT * FROM aggregate_usage_metrics({B}, 'api_calls', '2000-01-01', '2100-01-01', 'day')$$),
 ('usage', 'd', 'A', 'aggregate_usage_metrics(C)', $$SELECT * FROM aggregate_usage_metrics({C}, 'api_calls', '2000-01-01', '2100-01-01')$$),
 ('usage', 'd', 'A', 'record_usage(B)', $$SELECT record_usage({B}, 'api_calls', 1)$$),
 ('usage', 'd', 'A', 'record_usage(B) with a new key', $$SELECT record_usage({B}, 'api_calls', 1, now(), 'sec-attack-key')$$),
 ('usage', 'd', 'A', 'record_usage(B) with the key of B', $$SELECT record_usage({B}, 'invoices_sent', 0, now(), 'sec-key-b')$$),
 ('usage', 'd', 'A', 'record_usage(A) with the key of B answers the hour of B',
  $$SELECT 1 WHERE record_usage({A}, 'invoices_sent', 1, '2025-01-01 10:00:00+00', 'sec-key-b') = '2024-03-03 03:00:00+00'$$),
 ('usage', 'd', 'A', 'record_usage(C)', $$SELECT record_usage({C}, 'api_calls', 1)$$);
-- No one can make a key of B answer for A: not a matter of privileges.
UPDATE regress.attacks SET superuser = false WHERE domain = 'usage' AND grp = 'd' AND description LIKE '%the key of B answers%';

-- e. C set: a suspended tenant does not record usage.
INSERT INTO regress.attacks (domain, grp, context, description, statement) VALUES
 ('usage', 'e', 'C', 'record_usage(C)', $$SELECT record_usage({C}, 'api_calls', 1)$$),
 ('usage', 'e', 'C', 'record_usage(C) with a key', $$SELECT record_usage({C}, 'api_calls', 1, now(), 'sec-c-new-key')$$);

-- Positive controls: with A set, the functions for A; with C set, the
-- suspended tenant still reads its limits and usage.
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind) VALUES
 ('usage', 'ctl', 'A', 'check_tenant_limit(A, users_count)', $$SELECT * FROM check_tenant_limit({A}, 'users_count', 1) WHERE allowed$$, 'control'),
 ('usage', 'ctl', 'A', 'check_tenant_limit(A, webhooks_count): counts 1', $$SELECT * FROM check_tenant_limit({A}, 'webhooks_count') WHERE current_value = 1$$, 'control'),
 ('usage', 'ctl', 'A', 'check_tenant_limit(A, api_calls_per_month)', $$SELECT * FROM check_tenant_limit({A}, 'api_calls_per_month') WHERE allowed$$, 'control'),
 ('usage', 'ctl', 'A', 'check_tenant_limit(A, seats)', $$SELECT * FROM check_tenant_limit({A}, 'seats', 5) WHERE allowed$$, 'control'),
 ('usage', 'ctl', 'A', 'aggregate_usage_metrics(A): 111 api_calls', $$SELECT * FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01') WHERE total = 111$$, 'control'),
 ('usage', 'ctl', 'A', 'aggregate_usage_metrics(A, by hour)', $$SELECT * FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01', 'hour')$$, 'control'),
 ('usage', 'ctl', 'A', 'record_usage(A)', $$SELECT record_usage({A}, 'api_calls', 1)$$, 'control'),
 ('usage', 'ctl', 'A', 'record_usage(A) with a new key', $$SELECT record_usage({A}, 'api_calls', 1, now(), 'sec-new-key-a')$$, 'control'),
 ('usage', 'ctl', 'A', 'record_usage(A) with its key answers its first hour',
  $$SELECT 1 WHERE record_usage({A}, 'invoices_sent', 1, '2025-01-01 10:00:00+00', 'sec-key-a') = '2024-03-03 03:00:00+00'$$, 'control');
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind) VALUES
 ('usage', 'ctlc', 'C', 'check_tenant_limit(C): refused, tenant is suspended',
  $$SELECT 1 FROM check_tenant_limit({C}, 'users_count', 1) WHERE NOT allowed AND reason = 'tenant is suspended'$$, 'control'),
 ('usage', 'ctlc', 'C', 'aggregate_usage_metrics(C)', $$SELECT * FROM aggregate_usage_metrics({C}, 'api_calls', '2000-01-01', '2100-01-01') WHERE total = 111$$, 'control');

SELECT grp, kind, count(*) FROM regress.attacks WHERE domain = 'usage' GROUP BY 1, 2 ORDER BY 1, 2;

------------------------------------------------------------------------------
-- Every attack is a valid statement: the superuser, whom nothing confines,
-- wins them. Listed are those it does not win: moving rows to B, and rows of
-- A pointing at rows of B, break the foreign keys that include tenant_id
-- (23503) or a unique key (23505) even where no policy applies; and since
-- 0.9.0 the changes to an extension table that pg_dump would not keep (RLS
-- switched off, a new owner, trigger, rule or column) are refused even to the
-- superuser, by the event trigger marimo_erp_member_ddl (0A000).
------------------------------------------------------------------------------
SET client_min_messages = warning;
CREATE TEMP TABLE superuser_run AS SELECT * FROM regress.superuser_run('usage');
RESET client_min_messages;
SELECT count(*) AS run, count(*) FILTER (WHERE won) AS won FROM superuser_run;
SELECT grp, description, outcome FROM superuser_run WHERE NOT won ORDER BY id;
-- The superuser's run changed nothing.
SELECT * FROM regress.sec_changed();

------------------------------------------------------------------------------
-- The attacker.
------------------------------------------------------------------------------
\c - marimo_attacker
SET timezone = 'UTC';

-- a. No tenant.
SELECT * FROM regress.run_attacks('usage', 'a');

-- What the attacker sees of these tables with no tenant, with A and with C.
CREATE TEMP TABLE sec_seen (relation text, no_tenant bigint, tenant_a bigint, tenant_c bigint);
INSERT INTO sec_seen (relation, no_tenant) SELECT * FROM regress.sec_counts('usage');
BEGIN;
SELECT set_tenant(:'A');
UPDATE sec_seen s SET tenant_a = c.visible FROM regress.sec_counts('usage') c WHERE c.relation = s.relation;
COMMIT;
BEGIN;
SELECT set_tenant(:'C');
UPDATE sec_seen s SET tenant_c = c.visible FROM regress.sec_counts('usage') c WHERE c.relation = s.relation;
COMMIT;
SELECT * FROM sec_seen ORDER BY (SELECT ord FROM regress.targets t WHERE t.rel = sec_seen.relation);

-- Positive controls with A, then the attacks with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('usage', 'ctl');
-- The API usage rollup writes usage for the application (into usage_deltas
-- since 0.13.0, which roll_up_usage() may already have moved), for A only.
INSERT INTO api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms, created_at)
VALUES (:'A', 'POST', '/v1/rollup', 503, 40, '2024-07-07 07:07:00+00');
SELECT metric_type, sum(value_sum) AS value_sum, sum(sample_count) AS sample_count
  FROM (SELECT metric_type, value_sum, sample_count, period_start FROM usage_metrics
        UNION ALL
        SELECT metric_type, value_sum, sample_count, period_start FROM usage_deltas) AS u
 WHERE period_start = '2024-07-07 07:00:00+00' GROUP BY metric_type ORDER BY metric_type;
ROLLBACK;

-- b. The rows of B and C, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('usage', 'b');
COMMIT;

-- c. Writing for B, moving to B, rewriting its own usage and trail, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('usage', 'c');
COMMIT;

-- d. Functions for B and for C, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('usage', 'd');
COMMIT;
-- The refusal names the tenant and says why.
BEGIN;
SELECT set_tenant(:'A');
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('a5ec0000-0000-4000-8000-00000000000b', 'users_count', 1)$$);
SELECT regress.expect_error($$SELECT record_usage('a5ec0000-0000-4000-8000-00000000000b', 'api_calls', 1)$$);
COMMIT;

-- e. Suspended C set.
BEGIN;
SELECT set_tenant(:'C');
SELECT * FROM regress.run_attacks('usage', 'ctlc');
SELECT * FROM regress.run_attacks('usage', 'e');
SELECT regress.expect_error($$SELECT record_usage('a5ec0000-0000-4000-8000-00000000000c', 'api_calls', 1)$$);
COMMIT;

-- l. Side channels, with A set: errors in the attacker's quals, and a leaky
-- function that records every value it is called with.
CREATE TEMP TABLE sec_leaked (v text);
CREATE FUNCTION pg_temp.sec_leak(v text) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO pg_temp.sec_leaked VALUES (v);
    RETURN true;
END
$fn$;
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('usage', 'l');
COMMIT;

-- j. Undoing row-level security on these tables, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('usage', 'j');
COMMIT;

------------------------------------------------------------------------------
-- The superuser again: nothing of A, B or C changed, and the tally
-- of this domain: every attempt, and those that succeeded (none).
------------------------------------------------------------------------------
\c - postgres
SET timezone = 'UTC';
SELECT * FROM regress.sec_changed();
SELECT count(*) AS attempts, count(*) FILTER (WHERE succeeded) AS succeeded FROM regress.attack_log WHERE domain = 'usage';
SELECT attempt, description, outcome FROM regress.attack_log WHERE domain = 'usage' AND succeeded ORDER BY attempt;
