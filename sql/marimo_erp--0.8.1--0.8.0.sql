-- marimo_erp 0.8.1 -> 0.8.0: nothing to undo. 0.8.1 added no object and
-- dropped none; the ACLs it reset to NULL grant exactly what 0.8.0's explicit
-- default ACLs granted, so 0.8.0 runs on them unchanged.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.8.0'" to load this file. \quit

