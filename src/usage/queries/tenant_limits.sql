-- check_tenant_limit: the limits of tenant $1 and its configured limit $2, if any.
SELECT status, trial_ends_at IS NOT NULL AND trial_ends_at < pg_catalog.now()
               AND subscription_status NOT IN ('active', 'past_due'),
       max_users::bigint, max_storage_bytes,
       -- The CHECK constraint allows 5.0 and 1e20; clamp to bigint, i.e. no practical limit.
       CASE WHEN limits ->> $2 IS NOT NULL
            THEN LEAST((limits ->> $2)::numeric, 9223372036854775807)::bigint END,
       limits ? $2
  FROM @extschema@.tenants WHERE id = $1
