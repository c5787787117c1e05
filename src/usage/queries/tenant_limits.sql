-- check_tenant_limit: what the limits of tenant $1 depend on, for the backend's
-- cache (limits_cache.rs): the row version (ctid, raw xmin) the values come
-- from, and the inputs of every rule, not its answer (the trial rule depends on
-- now()). The keys of `limits` and their values, clamped to bigint (the CHECK
-- constraint allows 5.0 and 1e20: no practical limit), in one order.
SELECT ctid, xmin, status, trial_ends_at,
       subscription_status IN ('active', 'past_due'),
       max_users::bigint, max_storage_bytes,
       ARRAY(SELECT e.key FROM pg_catalog.jsonb_each_text(limits) e ORDER BY e.key),
       ARRAY(SELECT LEAST(e.value::numeric, 9223372036854775807)::bigint
               FROM pg_catalog.jsonb_each_text(limits) e ORDER BY e.key)
  FROM @extschema@.tenants WHERE id = $1
