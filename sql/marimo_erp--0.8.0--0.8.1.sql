-- marimo_erp 0.8.0 -> 0.8.1: the house rebuilt room by room (the same SQL
-- surface and behaviour), and one difference between upgraded and fresh
-- databases removed.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.8.1'" to load this file. \quit

-- A database that went through 0.6.0 with rows in its logs can have an
-- explicit ACL on the logs' default partitions, equal to the owner's default
-- privileges, and a pg_init_privs row recording it, where a fresh install has
-- none (NULL: never granted, never revoked). Nobody gains or loses a privilege
-- either way, but pg_dump and the upgrade parity test tell the two apart. No
-- GRANT or REVOKE can give an ACL back its NULL, so the extension's own four
-- default partitions get their catalog rows reset, and only where the ACL is
-- exactly the owner's default; any other ACL (a DBA's grant) is left alone.
WITH defaults AS (
    SELECT c.oid
      FROM pg_catalog.pg_class c
     WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY[
               '@extschema@.webhook_logs_default', '@extschema@.integration_logs_default',
               '@extschema@.user_activities_default', '@extschema@.api_usage_logs_default'
           ]::pg_catalog.regclass[])
       AND c.relacl OPERATOR(pg_catalog.=) pg_catalog.acldefault('r', c.relowner)
), forgotten AS (
    DELETE FROM pg_catalog.pg_init_privs i
     USING defaults d, pg_catalog.pg_class c
     WHERE i.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND i.objoid OPERATOR(pg_catalog.=) d.oid AND i.objsubid OPERATOR(pg_catalog.=) 0
       AND c.oid OPERATOR(pg_catalog.=) d.oid
       AND i.initprivs OPERATOR(pg_catalog.=) pg_catalog.acldefault('r', c.relowner)
    RETURNING i.objoid
)
UPDATE pg_catalog.pg_class c SET relacl = NULL
  FROM defaults d
 WHERE c.oid OPERATOR(pg_catalog.=) d.oid
   AND (SELECT pg_catalog.count(*) FROM forgotten) OPERATOR(pg_catalog.>=) 0;
