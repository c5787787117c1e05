-- Catalog snapshot of everything the marimo_erp extension owns, one sorted line
-- per fact. Two databases whose snapshots are equal have the same extension
-- schema: an upgraded one and a fresh install must agree line for line.
--
-- Columns carry their position among the table's live columns: an upgrade
-- must give a table the column order a fresh install has, or a dump's
-- INSERTs and a customised table's COPY would no longer line up.
-- Privileges are compared exactly: a NULL ACL (the default, never granted or
-- revoked) differs from an explicit ACL that happens to equal the default, as
-- pg_dump and pg_init_privs tell them apart. Entries are sorted (their order
-- means nothing). With -v acl=meaning a NULL ACL is shown as the default one
-- instead, for comparisons across released scripts that cannot be changed.
\pset format unaligned
\pset tuples_only on
\if :{?acl}
\else
\set acl exact
\endif
WITH ext AS (
    SELECT e.oid, e.extconfig, e.extcondition FROM pg_catalog.pg_extension e WHERE e.extname = 'marimo_erp'
), members AS (
    SELECT d.classid, d.objid
      FROM pg_catalog.pg_depend d, ext
     WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), rels AS (
    SELECT c.oid, c.oid::regclass::text AS name, c.relkind, c.relacl, c.relowner, c.reloptions, c.relrowsecurity,
           c.relforcerowsecurity, c.relpersistence, c.relispartition
      FROM pg_catalog.pg_class c JOIN members m ON m.classid = 'pg_catalog.pg_class'::regclass AND m.objid = c.oid
), procs AS (
    SELECT p.oid FROM pg_catalog.pg_proc p JOIN members m ON m.classid = 'pg_catalog.pg_proc'::regclass AND m.objid = p.oid
)
SELECT line FROM (
    SELECT 'member ' || pg_catalog.pg_describe_object(classid, objid, 0) FROM members
    UNION ALL
    SELECT pg_catalog.format('relation %s kind=%s persistence=%s partition=%s acl=%s options=%s rls=%s/%s comment=%L',
                  name, relkind, relpersistence, relispartition,
                  (SELECT array_agg(x::text ORDER BY x::text)
                     FROM unnest(CASE WHEN relacl IS NULL AND :'acl' = 'meaning'
                                      THEN pg_catalog.acldefault('r', relowner) ELSE relacl END) x),
                  reloptions, relrowsecurity,
                  relforcerowsecurity, pg_catalog.obj_description(oid, 'pg_class'))
      FROM rels
    UNION ALL
    SELECT pg_catalog.format('column %s.%I position=%s type=%s notnull=%s default=%s generated=%L identity=%L collation=%s acl=%s comment=%L',
                  r.name, a.attname,
                  pg_catalog.row_number() OVER (PARTITION BY r.oid ORDER BY a.attnum),
                  pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attgenerated, a.attidentity, a.attcollation,
                  (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(a.attacl) x),
                  pg_catalog.col_description(r.oid, a.attnum))
      FROM rels r
      JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    UNION ALL
    -- NOT NULL constraints (PostgreSQL 18 keeps them in pg_constraint) by their
    -- column: their names are generated and depend on which names were taken
    -- when the table was made, e.g. by a table an upgrade renamed.
    SELECT pg_catalog.format('constraint %s %s %s deferrable=%s/%s valid=%s comment=%L', r.name,
                  CASE WHEN k.contype = 'n' THEN 'not-null' ELSE pg_catalog.quote_ident(k.conname) END,
                  pg_catalog.pg_get_constraintdef(k.oid), k.condeferrable, k.condeferred, k.convalidated,
                  pg_catalog.obj_description(k.oid, 'pg_constraint'))
      FROM rels r JOIN pg_catalog.pg_constraint k ON k.conrelid = r.oid
    UNION ALL
    SELECT pg_catalog.format('index %s valid=%s comment=%L', pg_catalog.pg_get_indexdef(i.indexrelid), i.indisvalid,
                  pg_catalog.obj_description(i.indexrelid, 'pg_class'))
      FROM rels r JOIN pg_catalog.pg_index i ON i.indrelid = r.oid
    UNION ALL
    SELECT pg_catalog.format('trigger %s enabled=%s', pg_catalog.pg_get_triggerdef(t.oid), t.tgenabled)
      FROM rels r JOIN pg_catalog.pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
    UNION ALL
    SELECT pg_catalog.format('policy %s %I cmd=%s permissive=%s roles=%s using=%s check=%s', r.name, p.polname,
                  p.polcmd, p.polpermissive, p.polroles::regrole[],
                  pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
      FROM rels r JOIN pg_catalog.pg_policy p ON p.polrelid = r.oid
    UNION ALL
    SELECT pg_catalog.format('view %s %s', r.name, pg_catalog.pg_get_viewdef(r.oid))
      FROM rels r WHERE r.relkind IN ('v', 'm')
    UNION ALL
    SELECT pg_catalog.format('function %s acl=%s comment=%L definition=%L', p.oid::regprocedure,
                  (SELECT array_agg(x::text ORDER BY x::text)
                     FROM unnest(CASE WHEN p.proacl IS NULL AND :'acl' = 'meaning'
                                      THEN pg_catalog.acldefault('f', p.proowner) ELSE p.proacl END) x),
                  pg_catalog.obj_description(p.oid, 'pg_proc'), pg_catalog.pg_get_functiondef(p.oid))
      FROM procs JOIN pg_catalog.pg_proc p USING (oid)
    UNION ALL
    -- What pg_dump takes as the extension's own privileges (it dumps only changes from them).
    -- Columns by name: a column dropped by an old version leaves a gap in attnum.
    SELECT pg_catalog.format('init_privs %s type=%s acl=%s',
                  pg_catalog.pg_describe_object(i.classoid, i.objoid, i.objsubid), i.privtype,
                  (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(i.initprivs) x))
      FROM pg_catalog.pg_init_privs i JOIN members m ON m.classid = i.classoid AND m.objid = i.objoid
     -- By meaning, an initial ACL equal to the default is no ACL at all.
     WHERE :'acl' <> 'meaning'
        OR (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(i.initprivs) x) IS DISTINCT FROM
           (SELECT array_agg(x::text ORDER BY x::text) FROM (
                SELECT unnest(pg_catalog.acldefault('r', c.relowner)) FROM pg_catalog.pg_class c
                 WHERE i.classoid = 'pg_catalog.pg_class'::regclass AND c.oid = i.objoid AND i.objsubid = 0
                UNION ALL
                SELECT unnest(pg_catalog.acldefault('f', p.proowner)) FROM pg_catalog.pg_proc p
                 WHERE i.classoid = 'pg_catalog.pg_proc'::regclass AND p.oid = i.objoid) AS d(x))
    UNION ALL
    -- Every member by name, whatever its kind (types, event triggers, ...).
    SELECT pg_catalog.format('member %s', pg_catalog.pg_describe_object(m.classid, m.objid, 0))
      FROM members m
    UNION ALL
    -- Standalone composite types only (PostgreSQL 17 and later also record each
    -- table's row type as a member; the columns above cover those).
    SELECT pg_catalog.format('type_attribute %s position=%s %s %s comment=%L', t.oid::regtype,
                  pg_catalog.row_number() OVER (PARTITION BY t.oid ORDER BY a.attnum), a.attname,
                  pg_catalog.format_type(a.atttypid, a.atttypmod), pg_catalog.col_description(t.typrelid, a.attnum))
      FROM pg_catalog.pg_type t
      JOIN members m ON m.classid = 'pg_catalog.pg_type'::regclass AND m.objid = t.oid
      JOIN pg_catalog.pg_class r ON r.oid = t.typrelid AND r.relkind = 'c'
      JOIN pg_catalog.pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE t.typtype = 'c'
    UNION ALL
    SELECT pg_catalog.format('event_trigger %s on=%s tags=%s function=%s enabled=%s comment=%L', t.evtname,
                  t.evtevent, t.evttags, t.evtfoid::regprocedure, t.evtenabled,
                  pg_catalog.obj_description(t.oid, 'pg_event_trigger'))
      FROM pg_catalog.pg_event_trigger t
      JOIN members m ON m.classid = 'pg_catalog.pg_event_trigger'::regclass AND m.objid = t.oid
    UNION ALL
    SELECT pg_catalog.format('config_dump %s condition=%L', c.tbl::regclass, c.cond)
      FROM ext, LATERAL unnest(ext.extconfig, ext.extcondition) AS c(tbl, cond)
) AS facts(line)
ORDER BY line COLLATE "C";
