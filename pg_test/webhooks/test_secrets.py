"""Secrets encrypted at rest (0.11.0): webhook secrets and integration credentials.

A throwaway cluster of its own (54360 `webhooks-secrets`, the worker preloaded,
private networks allowed) whose marimo_erp.secret_key_file names a key file this
test writes (64 hex digits, owner postgres, mode 0600, outside the data
directory). Applications write plain values and the trigger stores envelopes
(enc:v1:<key id>:...); the worker reveals them to sign, and every request is
verified by the receiver with the reference `standardwebhooks` library. Also: a
key of the wrong mode, a wrong key (a clear error, nothing overwritten, the
delivery failed with the reason), an envelope copied to another row, rotation
with the previous key, a pg_dump of a populated database holding no plain
secret and restoring on the same key, and the update from 0.10.0 and the
rollback to it (plain values back).
"""

import json
import re
import secrets as pysecrets
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from test_delivery import Api, Cluster, Db, lib_sh, new_secret, receiver, wait_for  # noqa: F401  (shared helpers, the receiver fixture)

PORT = 54360
DBNAME = "webhooks_secrets"
ENVELOPE = re.compile(r"^enc:v1:([0-9a-f]{16}):[A-Za-z0-9+/]+={0,2}$")


class Keys:
    """Key files in a directory of their own, owned by postgres, outside any data directory."""

    def __init__(self):
        self.dir = lib_sh("cluster_dir webhooks-secrets-keys")
        lib_sh(f"as_root rm -rf {self.dir}; as_root install -d -m 700 -o postgres -g postgres {self.dir}")

    def make(self, name, mode="600"):
        path = f"{self.dir}/{name}.key"
        hexkey = pysecrets.token_hex(32)
        subprocess.run(["bash", "-c", f"source scripts/lib.sh; as_root sudo -u postgres sh -c "
                        f"'umask 077; cat > {path}; chmod {mode} {path}'"],
                       input=hexkey + "\n", text=True, check=True, cwd=Path(__file__).resolve().parents[2])
        return path

    def chmod(self, path, mode):
        lib_sh(f"as_root chmod {mode} {path}")


@pytest.fixture(scope="module")
def keys():
    return Keys()


@pytest.fixture(scope="module")
def cluster(keys):
    first = keys.make("first")
    c = Cluster("webhooks-secrets", PORT, DBNAME, [
        "shared_preload_libraries = 'marimo_erp'",
        f"marimo_erp.database = '{DBNAME}'",
        "marimo_erp.webhook_allow_private_networks = on",
        f"marimo_erp.secret_key_file = '{first}'",
    ])
    try:
        c.start()
    except Exception:
        print(c.log_tail())
        c.stop()
        raise
    c.first_key = first
    c.key_id = c.db.value("SELECT secret_key_id()")
    assert c.key_id and re.fullmatch(r"[0-9a-f]{16}", c.key_id)
    wait_for(lambda: c.db.rows("SELECT pid FROM pg_stat_activity WHERE backend_type ILIKE '%marimo_erp%'"
                               " AND datname = current_database()"), "the webhook worker", timeout=30)
    yield c
    c.stop()


def set_keys(cluster, current, previous=None):
    """Points the settings at key files, reloads, and waits until new sessions see them."""
    db = cluster.db
    db.rows("ALTER SYSTEM SET marimo_erp.secret_key_file = %s" % quote(current or ""))
    db.rows("ALTER SYSTEM SET marimo_erp.previous_secret_key_file = %s" % quote(previous or ""))
    db.rows("SELECT pg_reload_conf()")

    def applied():
        probe = Db(cluster, cluster.dbname).connect()
        try:
            return probe.value("SELECT current_setting('marimo_erp.secret_key_file') = %s"
                               " AND current_setting('marimo_erp.previous_secret_key_file') = %s",
                               (current or "", previous or ""))
        finally:
            probe.close()
    wait_for(applied, "the reloaded key settings")
    # The worker reloads at its next round (at most 1 s idle).
    time.sleep(1.5)
    db.close()  # this session reconnects with the new settings


def quote(text):
    return "'" + text.replace("'", "''") + "'"


@pytest.fixture
def api(cluster, receiver):
    return Api(cluster.db, receiver)


def encrypted_hook(api, tenant, secret=None):
    """A webhook to the receiver with a known plain secret; returns (id, tag, plain secret, stored)."""
    secret = secret or new_secret()
    tag = uuid.uuid4().hex[:16]
    hook_id = api.create_webhook(tenant, api.receiver.url("ok", tag), ("*",), secret)
    api.receiver.add_secret(secret)
    api.db.rows("UPDATE webhooks SET retry_schedule = '{1 second}', max_attempts = 1"
                " WHERE tenant_id = %s AND id = %s", (tenant, hook_id))
    stored = api.db.value("SELECT secret FROM webhooks WHERE tenant_id = %s AND id = %s", (tenant, hook_id))
    return hook_id, tag, secret, stored


def stored_secret(api, tenant, hook_id):
    return api.db.value("SELECT secret FROM webhooks WHERE tenant_id = %s AND id = %s", (tenant, hook_id))


def test_plain_writes_are_stored_encrypted(cluster, api):
    tenant = api.tenant()
    hook_id, _, secret, stored = encrypted_hook(api, tenant)
    m = ENVELOPE.match(stored)
    assert m and m.group(1) == cluster.key_id, f"webhooks.secret is stored as {stored[:20]!r}..."
    assert secret not in stored
    # An UPDATE of other columns leaves the envelope as it is (no re-encryption).
    api.db.rows("UPDATE webhooks SET name = 'renamed', is_active = true WHERE tenant_id = %s AND id = %s",
                (tenant, hook_id))
    assert stored_secret(api, tenant, hook_id) == stored
    # Credentials: a jsonb object holding the envelope.
    integration = api.db.value(
        "INSERT INTO integrations (tenant_id, provider, name, credentials) VALUES (%s, 'stripe', 'main', %s)"
        " RETURNING id", (tenant, Jsonb({"api_key": "sk_test_plain_123", "webhook_secret": "whsec_x"})))
    creds = api.db.value("SELECT credentials FROM integrations WHERE id = %s", (integration,))
    assert list(creds) == ["encrypted"] and ENVELOPE.match(creds["encrypted"]), creds
    assert "sk_test_plain_123" not in json.dumps(creds)
    state = {(r["table_name"], r["key_id"]) for r in api.db.rows("SELECT * FROM secrets_at_rest")}
    assert ("webhooks", cluster.key_id) in state and ("integrations", cluster.key_id) in state
    assert ("webhooks", None) not in state


def test_deliveries_verify_with_standardwebhooks(cluster, api, receiver):
    tenant = api.tenant()
    hook_id, tag, old, _ = encrypted_hook(api, tenant)
    e1 = api.emit(tenant, "invoice.paid", {"n": 1})
    api.wait_status(tenant, hook_id, e1, "succeeded")
    r = wait_for(lambda: receiver.requests(tag), "the request")[0]
    assert r["verified"] and old in r["verified_with"], r["verify_error"]
    # Rotation moves the envelope to webhook_secrets as is; both sign.
    new = api.db.value("SELECT rotate_webhook_secret(%s, %s)", (tenant, hook_id))
    receiver.add_secret(new)
    kept = api.db.value("SELECT secret FROM webhook_secrets WHERE tenant_id = %s AND webhook_id = %s",
                        (tenant, hook_id))
    assert ENVELOPE.match(kept) and ENVELOPE.match(stored_secret(api, tenant, hook_id))
    e2 = api.emit(tenant, "invoice.paid", {"n": 2})
    api.wait_status(tenant, hook_id, e2, "succeeded")
    r = wait_for(lambda: [x for x in receiver.requests(tag) if json.loads(x["body"])["data"] == {"n": 2}],
                 "the second request")[0]
    assert old in r["verified_with"] and new in r["verified_with"], r


def test_key_file_readable_by_others_is_refused(cluster, keys):
    keys.chmod(cluster.first_key, "644")
    try:
        probe = Db(cluster, cluster.dbname).connect()
        try:
            with pytest.raises(psycopg.Error) as err:
                probe.value("SELECT secret_key_id()")
        finally:
            probe.close()
        assert err.value.sqlstate == "F0000"
        assert "group or others" in str(err.value) and "marimo_erp.secret_key_file" in str(err.value)
    finally:
        keys.chmod(cluster.first_key, "600")


def test_copied_envelope_does_not_decrypt(cluster, api):
    t1, t2 = api.tenant(), api.tenant()
    h1, _, _, stored1 = encrypted_hook(api, t1)
    h2, tag2, _, stored2 = encrypted_hook(api, t2)
    # Copying tenant 1's envelope into tenant 2's webhook is refused on write...
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        api.db.rows("UPDATE webhooks SET secret = %s WHERE tenant_id = %s AND id = %s", (stored1, t2, h2))
    assert stored_secret(api, t2, h2) == stored2, "a refused copy changed the row"
    # ...and one that gets there anyway (a superuser with triggers off, as a
    # restore with --disable-triggers loads rows) never decrypts for this row.
    api.db.rows("SET session_replication_role = replica")
    try:
        api.db.rows("UPDATE webhooks SET secret = %s WHERE tenant_id = %s AND id = %s", (stored1, t2, h2))
    finally:
        api.db.rows("RESET session_replication_role")
    assert stored_secret(api, t2, h2) == stored1, "an envelope must be stored as written"
    event = api.emit(t2, "invoice.paid", {"n": 1})
    d = api.wait_status(t2, h2, event, "failed")
    assert "does not authenticate" in d["last_error"], d["last_error"]
    assert not api.receiver.requests(tag2), "a request went out"
    assert stored_secret(api, t2, h2) == stored1, "the ciphertext was overwritten"
    # Rotation would refuse this row too (XX001); the other tests rotate everything.
    api.db.rows("DELETE FROM webhooks WHERE tenant_id = %s AND id = %s", (t2, h2))


def test_wrong_key_is_a_clear_error_and_overwrites_nothing(cluster, api, keys):
    tenant = api.tenant()
    hook_id, tag, _, stored = encrypted_hook(api, tenant)
    other = keys.make("other")
    set_keys(cluster, other)
    try:
        other_id = api.db.value("SELECT secret_key_id()")
        assert other_id != cluster.key_id
        before = api.db.rows("SELECT tenant_id, id, secret FROM webhooks ORDER BY 1, 2")
        with pytest.raises(psycopg.Error) as err:
            api.db.value("SELECT rotate_secret_key()")
        assert err.value.sqlstate == "55000"
        assert cluster.key_id in str(err.value) and other_id in str(err.value), str(err.value)
        assert "marimo_erp.secret_key_file" in str(err.value)
        assert api.db.rows("SELECT tenant_id, id, secret FROM webhooks ORDER BY 1, 2") == before
        # The worker fails the delivery with the reason, and keeps serving.
        event = api.emit(tenant, "invoice.paid", {"n": 1})
        d = api.wait_status(tenant, hook_id, event, "failed")
        assert cluster.key_id in d["last_error"] and other_id in d["last_error"], d["last_error"]
        assert stored_secret(api, tenant, hook_id) == stored
        assert not api.receiver.requests(tag)
    finally:
        set_keys(cluster, cluster.first_key)
    event = api.emit(tenant, "invoice.paid", {"n": 2})
    api.wait_status(tenant, hook_id, event, "succeeded")


def test_rotation_reencrypts_everything_under_the_new_key(cluster, api, keys, receiver):
    tenant = api.tenant()
    hook_id, tag, secret, _ = encrypted_hook(api, tenant)
    api.db.rows("SELECT rotate_webhook_secret(%s, %s, %s)", (tenant, hook_id, new_secret()))
    # A plain secret stored before a key was configured (written with the trigger off).
    plain_hook = api.create_webhook(tenant, receiver.url("ok", "plain-" + tag), ("never.sent",), None)
    plain = new_secret()
    with api.db.conn.transaction():
        api.db.rows("SET LOCAL session_replication_role = replica")
        api.db.rows("UPDATE webhooks SET secret = %s WHERE tenant_id = %s AND id = %s", (plain, tenant, plain_hook))
    assert api.db.value("SELECT count(*) FROM secrets_at_rest WHERE key_id IS NULL") >= 1
    second = keys.make("second")
    set_keys(cluster, second, previous=cluster.first_key)
    try:
        second_id = api.db.value("SELECT secret_key_id()")
        total = api.db.value("SELECT sum(secrets) FROM secrets_at_rest")
        rotated = api.db.value("SELECT rotate_secret_key()")
        assert rotated == total, f"rotated {rotated} of {total} secrets"
        state = api.db.rows("SELECT table_name, key_id, secrets FROM secrets_at_rest")
        assert {r["key_id"] for r in state} == {second_id}, state
        assert api.db.value("SELECT rotate_secret_key()") == 0, "a second rotation has nothing to do"
        # The old key is no longer needed.
        set_keys(cluster, second)
        event = api.emit(tenant, "invoice.paid", {"n": 1})
        api.wait_status(tenant, hook_id, event, "succeeded")
        r = wait_for(lambda: receiver.requests(tag), "the request")[-1]
        assert secret in r["verified_with"], r
    finally:
        # The rest of the module runs on the first key again.
        set_keys(cluster, cluster.first_key, previous=second)
        api.db.value("SELECT rotate_secret_key()")
        set_keys(cluster, cluster.first_key)


def run(cmd, **kw):
    return subprocess.run(["bash", "-c", "source scripts/lib.sh; " + cmd], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], **kw)


def test_dump_holds_no_plain_secret_and_restores(cluster, api, receiver):
    tenant = api.tenant()
    plains = []
    for _ in range(3):
        _, _, secret, _ = encrypted_hook(api, tenant)
        plains.append(secret)
    hook_id = api.db.value("SELECT id FROM webhooks WHERE tenant_id = %s LIMIT 1", (tenant,))
    plains.append(api.db.value("SELECT rotate_webhook_secret(%s, %s)", (tenant, hook_id)))
    api_key = "sk_live_" + pysecrets.token_hex(16)
    plains.append(api_key)
    api.db.rows("INSERT INTO integrations (tenant_id, provider, name, credentials) VALUES (%s, 'sendgrid', 'm', %s)",
                (tenant, Jsonb({"api_key": api_key})))
    dump = f"{cluster.dir}/dump.sql"
    out = run(f'as_root sudo -u postgres "$PG_BIN/pg_dump" -h {cluster.dir} -p {PORT} -d {DBNAME} -f {dump}')
    assert out.returncode == 0, out.stderr
    text = run(f"as_root cat {dump}").stdout
    assert "marimo_erp" in text and len(text) > 10000
    found = [p[:12] for p in plains if p in text or p.removeprefix("whsec_") in text]
    assert not found, f"the dump holds plain secrets: {found}"
    assert "enc:v1:" + cluster.key_id in text
    # Restored into a fresh database on the same server key, the secrets open:
    # the rollback to 0.10.0 decrypts them (and would refuse if it could not).
    admin = Db(cluster, "postgres").connect()
    admin.rows("DROP DATABASE IF EXISTS secrets_restored")
    admin.rows("CREATE DATABASE secrets_restored")
    admin.close()
    out = run(f'as_root sudo -u postgres "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h {cluster.dir} -p {PORT}'
              f" -d secrets_restored -f {dump}")
    assert out.returncode == 0, out.stderr[-2000:]
    restored = Db(cluster, "secrets_restored").connect()
    try:
        assert restored.value("SELECT count(*) FROM secrets_at_rest WHERE key_id IS NULL") == 0
        restored.rows("ALTER EXTENSION marimo_erp UPDATE TO '0.10.0'")
        values = {r["secret"] for r in restored.rows(
            "SELECT secret FROM webhooks WHERE tenant_id = %s UNION ALL"
            " SELECT secret FROM webhook_secrets WHERE tenant_id = %s", (tenant, tenant))}
        assert set(plains[:4]) <= values, "the rollback did not give back the plain secrets"
        creds = restored.value("SELECT credentials FROM integrations WHERE tenant_id = %s", (tenant,))
        assert creds == {"api_key": api_key}
        pkey = restored.value("SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                              " WHERE conname = 'webhook_secrets_pkey'")
        assert pkey == "PRIMARY KEY (tenant_id, webhook_id, secret)"
        # And the update encrypts them again, saying how many.
        notices = []
        restored.conn.add_notice_handler(lambda n: notices.append(n.message_primary))
        restored.rows("ALTER EXTENSION marimo_erp UPDATE TO '0.11.0'")
        assert any(re.search(r"\d+ secrets encrypted under key " + cluster.key_id, n) for n in notices), notices
        assert restored.value("SELECT count(*) FROM secrets_at_rest WHERE key_id IS NULL") == 0
    finally:
        restored.close()


def test_rollback_refuses_without_the_key_and_update_without_key_says_how(cluster, api, keys):
    admin = Db(cluster, "postgres").connect()
    admin.rows("DROP DATABASE IF EXISTS secrets_rollback")
    admin.rows("CREATE DATABASE secrets_rollback")
    admin.close()
    db = Db(cluster, "secrets_rollback").connect()
    try:
        db.rows("CREATE EXTENSION marimo_erp VERSION '0.11.0'")
        t = db.value("INSERT INTO tenants (slug, name) VALUES ('rb', 'rb') RETURNING id")
        secret = new_secret()
        hook = db.value("SELECT create_webhook(%s, 'http://127.0.0.1:9/x', '{*}', %s)", (t, secret))
        stored = db.value("SELECT secret FROM webhooks WHERE id = %s", (hook,))
        assert ENVELOPE.match(stored)
        set_keys(cluster, "")
        db.close()
        with pytest.raises(psycopg.Error) as err:
            db.rows("ALTER EXTENSION marimo_erp UPDATE TO '0.10.0'")
        assert err.value.sqlstate == "55000" and cluster.key_id in str(err.value), str(err.value)
        assert db.value("SELECT extversion FROM pg_extension WHERE extname = 'marimo_erp'") == "0.11.0"
        assert db.value("SELECT secret FROM webhooks WHERE id = %s", (hook,)) == stored
        # Without a key: plain values work as before, and the update says how to encrypt.
        db.rows("DROP EXTENSION marimo_erp CASCADE")
        db.rows("CREATE EXTENSION marimo_erp VERSION '0.10.0'")
        t = db.value("INSERT INTO tenants (slug, name) VALUES ('rb2', 'rb2') RETURNING id")
        db.value("SELECT create_webhook(%s, 'http://127.0.0.1:9/x', '{*}', %s)", (t, secret))
        notices = []
        db.conn.add_notice_handler(lambda n: notices.append(n.message_primary))
        db.rows("ALTER EXTENSION marimo_erp UPDATE TO '0.11.0'")
        assert any("stay stored in clear" in n for n in notices), notices
        assert db.value("SELECT secret FROM webhooks WHERE tenant_id = %s", (t,)) == secret
        hook2 = db.value("SELECT create_webhook(%s, 'http://127.0.0.1:9/y', '{*}', %s)", (t, new_secret()))
        assert db.value("SELECT secret FROM webhooks WHERE id = %s", (hook2,)).startswith("whsec_")
    finally:
        db.close()
        set_keys(cluster, cluster.first_key)


def test_only_operators_rotate_and_read_the_state(cluster):
    db = Db(cluster, cluster.dbname).connect()
    try:
        db.rows("SET ROLE marimo_app")
        for statement in ("SELECT rotate_secret_key()", "SELECT * FROM secrets_at_rest", "SELECT secret_key_id()"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.rows(statement)
        db.rows("RESET ROLE")
        db.rows("SET ROLE marimo_admin")
        assert db.value("SELECT secret_key_id()") == cluster.key_id
        assert db.value("SELECT rotate_secret_key()") == 0, "everything is under the current key already"
        assert {r["key_id"] for r in db.rows("SELECT key_id FROM secrets_at_rest")} == {cluster.key_id}
    finally:
        db.close()


def test_credentials_are_written_whole(cluster, api):
    tenant = api.tenant()
    integration = api.db.value(
        "INSERT INTO integrations (tenant_id, provider, name, credentials) VALUES (%s, 'stripe', 'merge', %s)"
        " RETURNING id", (tenant, Jsonb({"api_key": "sk_test_merge"})))
    stored = api.db.value("SELECT credentials FROM integrations WHERE id = %s", (integration,))
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        api.db.rows("UPDATE integrations SET credentials = credentials || '{\"extra\": 1}' WHERE id = %s",
                    (integration,))
    api.db.rows("UPDATE integrations SET credentials = %s WHERE id = %s",
                (Jsonb({"api_key": "sk_test_merge", "extra": 1}), integration))
    new = api.db.value("SELECT credentials FROM integrations WHERE id = %s", (integration,))
    assert list(new) == ["encrypted"] and new != stored


def test_upsert_keeping_the_proposed_rows_envelope_is_refused(cluster, api):
    """INSERT ... ON CONFLICT DO UPDATE SET credentials = EXCLUDED.credentials: the
    INSERT trigger sealed the value for the proposed row (a new id); stored on the
    existing row it could never be opened, so it is refused (22023), and the
    stored secret stays as it was. Writing the value in clear in the UPDATE works."""
    tenant = api.tenant()
    integration = api.db.value(
        "INSERT INTO integrations (tenant_id, provider, name, credentials) VALUES (%s, 'stripe', 'upsert', %s)"
        " RETURNING id", (tenant, Jsonb({"api_key": "sk_test_first"})))
    stored = api.db.value("SELECT credentials FROM integrations WHERE id = %s", (integration,))
    upsert = ("INSERT INTO integrations (tenant_id, provider, name, credentials) VALUES (%s, 'stripe', 'upsert', %s)"
              " ON CONFLICT (tenant_id, provider, name) DO UPDATE SET credentials = {}")
    with pytest.raises(psycopg.errors.InvalidParameterValue) as error:
        api.db.rows(upsert.format("EXCLUDED.credentials"), (tenant, Jsonb({"api_key": "sk_test_second"})))
    assert "does not belong to this row" in str(error.value), error.value
    assert api.db.value("SELECT credentials FROM integrations WHERE id = %s", (integration,)) == stored
    api.db.rows(upsert.format("%s"), (tenant, Jsonb({"api_key": "sk_test_second"}), Jsonb({"api_key": "sk_test_second"})))
    new = api.db.value("SELECT credentials FROM integrations WHERE id = %s", (integration,))
    assert list(new) == ["encrypted"] and new != stored
    # A row holding a secret keeps its id: moving it would strand the envelope.
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        api.db.rows("UPDATE integrations SET id = gen_random_uuid() WHERE id = %s", (integration,))
