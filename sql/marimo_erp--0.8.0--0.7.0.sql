\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.7.0'" to load this file. \quit
-- marimo_erp 0.8.0 -> 0.7.0: removes webhook delivery. Refuses while
-- webhook_secrets holds rows, unless marimo_erp.allow_data_loss is on. The
-- per-webhook retry and health settings (columns of 0.8.0) are dropped with it;
-- deliveries and events stay.

SELECT @extschema@.assert_no_data_loss('0.7.0', ARRAY['webhook_secrets']);

ALTER EXTENSION marimo_erp DROP TABLE @extschema@.webhook_secrets;
DROP TABLE @extschema@.webhook_secrets;

DROP INDEX @extschema@.webhook_deliveries_lease_expires_at_idx;
DROP INDEX @extschema@.webhook_deliveries_due_idx;
DROP INDEX @extschema@.webhook_deliveries_lapsed_idx;
ALTER TABLE @extschema@.webhook_deliveries DROP COLUMN lease_token, DROP COLUMN lease_expires_at;
ALTER TABLE @extschema@.webhooks
    DROP COLUMN retry_schedule, DROP COLUMN max_in_flight, DROP COLUMN disable_after_failures,
    DROP COLUMN disable_after, DROP COLUMN failing_since;

DROP FUNCTION @extschema@.replay_webhook_deliveries(uuid, uuid, timestamptz);
DROP FUNCTION @extschema@.retry_webhook_delivery(uuid, uuid);
DROP FUNCTION @extschema@.enable_webhook(uuid, uuid);
DROP FUNCTION @extschema@.rotate_webhook_secret(uuid, uuid, text, interval);
DROP FUNCTION @extschema@.emit_webhook_event(uuid, text, jsonb, text);
DROP FUNCTION @extschema@.create_webhook(uuid, text, text[], text);
DROP FUNCTION @extschema@.webhook_verify(text, text, bigint, text, text, integer);
DROP FUNCTION @extschema@.webhook_sign(text, text, bigint, text);
DROP FUNCTION @extschema@.webhook_generate_secret();

ALTER FUNCTION @extschema@.check_tenant_limit(uuid, text, bigint) PARALLEL SAFE;
ALTER FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text) PARALLEL SAFE;
