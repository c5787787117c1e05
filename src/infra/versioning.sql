-- Version steps (0.5.0): what rollback scripts call before dropping a table.

REVOKE ALL ON FUNCTION @extschema@.assert_no_data_loss(text, text[]) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.assert_no_data_loss(text, text[]) IS
    'Used by rollback scripts: refuses (SQLSTATE 55000) to go back to the given version while a table of the extension it would drop (named in tables) holds rows, unless marimo_erp.allow_data_loss is on.';
