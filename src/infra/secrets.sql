-- Secrets at rest (0.11.0): the trigger function that encrypts a secret column
-- on write, and the id of the configured server key. The rooms that hold
-- secrets attach the trigger (see src/keyring/keyring.sql).
COMMENT ON FUNCTION @extschema@.encrypt_secret_column() IS
    'Trigger (BEFORE INSERT OR UPDATE, per row; arguments: scope, secret column, tenant column, row column): encrypts a plain secret (text, or a jsonb object) with AES-256-GCM under the key of marimo_erp.secret_key_file, bound to (scope, tenant, row); leaves envelopes alone, and every value when no key is configured.';
COMMENT ON FUNCTION @extschema@.secret_key_id() IS
    'Id (16 hex digits of SHA-256 over the key) of the key marimo_erp.secret_key_file names, as envelopes carry it; NULL when none is configured; an unusable key file raises F0000.';
-- The trigger's function: for the triggers only. The key id: for operators.
REVOKE ALL ON FUNCTION @extschema@.encrypt_secret_column(), @extschema@.secret_key_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.secret_key_id() TO marimo_admin;
