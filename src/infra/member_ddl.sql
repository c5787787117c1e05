-- The extension's tables refuse changes pg_dump would not keep (0.9.0; see
-- member_ddl.rs). The function is called by the event trigger only.
CREATE FUNCTION @extschema@.guard_member_ddl() RETURNS event_trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'guard_member_ddl';
REVOKE ALL ON FUNCTION @extschema@.guard_member_ddl() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.guard_member_ddl() IS
    'Event trigger function of marimo_erp_member_ddl: refuses ALTER TABLE, CREATE INDEX, CREATE TRIGGER, CREATE RULE and renames on the extension''s tables (pg_dump keeps their rows, not changes to their definitions, so a restore would fail or lose them), outside extension scripts and pg_upgrade; lets partitions be attached and detached, and tuning with a WARNING.';

CREATE EVENT TRIGGER marimo_erp_member_ddl ON ddl_command_start
    WHEN TAG IN ('ALTER TABLE', 'CREATE INDEX', 'CREATE TRIGGER', 'CREATE RULE')
    EXECUTE FUNCTION @extschema@.guard_member_ddl();
COMMENT ON EVENT TRIGGER marimo_erp_member_ddl IS
    'Refuses changes to the definitions of marimo_erp''s tables that pg_dump would not keep; see guard_member_ddl().';
