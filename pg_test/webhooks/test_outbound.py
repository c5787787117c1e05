"""Outbound provider calls (0.11.0): integration_requests, sent by the webhook worker.

A throwaway cluster of its own (54354 `webhooks-outbound`, the worker preloaded,
private networks allowed) and one without the preload (54355
`webhooks-outbound-nopreload`). The provider is the shared loopback receiver
(receiver.py): an integration's config->>'base_url' points at its
/provider/TAG/MODE prefix, which answers like SendGrid (202 with a job_id, a
500 for the first N requests, a 400 with SendGrid's errors, or an echo of the
Authorization header).
"""

import json
import time
import uuid

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

import test_delivery
from test_delivery import Receiver, wait_for, GRACE  # noqa: F401  (shared helpers)

APP_ROLE = "outbound_app"
FAST = "{1 second}"


@pytest.fixture(scope="module")
def out_receiver():
    import os
    if os.environ.get("WEBHOOK_RECEIVER_PORT"):
        return Receiver(int(os.environ["WEBHOOK_RECEIVER_PORT"]), os.environ["WEBHOOK_RECEIVER_LOG"],
                        os.environ["WEBHOOK_RECEIVER_SECRETS"])
    pytest.skip("run through pg_test/webhooks/run, which starts the receiver")


def _start(name, port, dbname, conf):
    cluster = test_delivery._cluster_fixture(name, port, dbname, conf)
    try:
        cluster.db.rows(f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN IN ROLE marimo_app;"
                        " EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    except Exception:
        print(cluster.log_tail())
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="module")
def out_cluster():
    cluster = _start("webhooks-outbound", 54354, "webhooks_outbound", [
        "shared_preload_libraries = 'marimo_erp'",
        "marimo_erp.database = 'webhooks_outbound'",
        "marimo_erp.webhook_allow_private_networks = on",
    ])
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def nopreload_cluster():
    cluster = _start("webhooks-outbound-nopreload", 54355, "webhooks_outbound_nopreload", [
        "marimo_erp.database = 'webhooks_outbound_nopreload'",
        "marimo_erp.webhook_allow_private_networks = on",
    ])
    yield cluster
    cluster.stop()


class Provider:
    """A tenant with a SendGrid integration whose base URL is the receiver's /provider/TAG/MODE."""

    def __init__(self, db, receiver, mode="ok"):
        self.db, self.receiver = db, receiver
        self.tag = uuid.uuid4().hex[:16]
        self.api_key = "SG." + uuid.uuid4().hex + ".secret-" + uuid.uuid4().hex
        slug = "t-" + uuid.uuid4().hex[:12]
        self.tenant = db.value("INSERT INTO tenants (slug, name, plan, status) VALUES (%s, %s, 'enterprise', 'active')"
                               " RETURNING id", (slug, slug))
        self.base_url = f"http://127.0.0.1:{receiver.port}/provider/{self.tag}/{mode}"
        self.integration = db.value(
            "INSERT INTO integrations (tenant_id, provider, name, config, credentials, status)"
            " VALUES (%s, 'sendgrid', 'Newsletter', %s, %s, 'active') RETURNING id",
            (self.tenant, Jsonb({"base_url": self.base_url}), Jsonb({"api_key": self.api_key})))

    def contact(self, email, first=None, last=None, lists=(), custom=None):
        return self.db.value(
            "INSERT INTO sendgrid_contacts (tenant_id, email, first_name, last_name, list_ids, custom_fields)"
            " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            (self.tenant, email, first, last, list(lists), Jsonb(custom or {})))

    def sync(self, schedule=FAST, max_attempts=None):
        """sync_sendgrid_contacts, with the queued requests' schedule made fast in the same transaction."""
        conn = self.db.conn if self.db.conn and not self.db.conn.closed else self.db.connect().conn
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT sync_sendgrid_contacts(%s, %s) AS n", (self.tenant, self.integration))
            n = cur.fetchone()["n"]
            cur.execute("UPDATE integration_requests SET retry_schedule = %s::interval[],"
                        " max_attempts = COALESCE(%s, max_attempts)"
                        " WHERE tenant_id = %s AND status = 'pending'", (schedule, max_attempts, self.tenant))
        return n

    def requests(self):
        return self.db.rows("SELECT * FROM integration_requests WHERE tenant_id = %s ORDER BY created_at, id",
                            (self.tenant,))

    def logs(self):
        return self.db.rows("SELECT * FROM integration_logs WHERE tenant_id = %s ORDER BY created_at, id",
                            (self.tenant,))

    def integration_row(self):
        return self.db.row("SELECT last_sync_at, last_error, last_error_at FROM integrations"
                           " WHERE tenant_id = %s AND id = %s", (self.tenant, self.integration))

    def wait_finished(self, count=None, timeout=20):
        def done():
            rows = self.requests()
            if rows and all(r["status"] in ("succeeded", "failed") for r in rows) \
                    and (count is None or len(rows) == count):
                return rows
            return None
        return wait_for(done, f"the requests of tenant {self.tenant} finished", timeout)

    def received(self):
        return self.receiver.requests(self.tag)

    def assert_no_key_stored(self):
        """No row of the queue or the logs (as text, every column) holds the API key."""
        for table in ("integration_requests", "integration_logs"):
            hits = self.db.value(f"SELECT count(*) FROM {table} t WHERE tenant_id = %s AND t::text LIKE %s",
                                 (self.tenant, "%" + self.api_key + "%"))
            assert hits == 0, f"{hits} rows of {table} hold the API key"
        # Nor any part of it long enough to matter.
        secret_part = self.api_key.split(".secret-")[1]
        for table in ("integration_requests", "integration_logs"):
            hits = self.db.value(f"SELECT count(*) FROM {table} t WHERE tenant_id = %s AND t::text LIKE %s",
                                 (self.tenant, "%" + secret_part + "%"))
            assert hits == 0, f"{hits} rows of {table} hold part of the API key"


def worker_serving(db):
    return db.rows("SELECT pid FROM pg_stat_activity WHERE backend_type ILIKE '%%marimo_erp%%'"
                   " AND datname = current_database()")


@pytest.fixture
def db(out_cluster):
    wait_for(lambda: worker_serving(out_cluster.db), "the worker", timeout=30)
    return out_cluster.db


def test_sync_reaches_sendgrid(db, out_receiver):
    p = Provider(db, out_receiver)
    ada = p.contact("ada@acme.example", "Ada", "Lovelace", lists=["list-b", "list-a"], custom={"e1_T": "vip"})
    bob = p.contact("bob@acme.example", "Bob", None, lists=["list-a", "list-b"])
    cy = p.contact("cy@acme.example")
    assert p.sync() == 3
    rows = p.wait_finished(count=2)
    assert [r["status"] for r in rows] == ["succeeded", "succeeded"], rows
    assert all(r["attempts"] == 1 and r["method"] == "PUT" and r["path"] == "/v3/marketing/contacts" for r in rows)

    received = p.received()
    assert len(received) == 2, received
    bodies = []
    for r in received:
        assert r["method"] == "PUT"
        assert r["path"] == f"/provider/{p.tag}/ok/v3/marketing/contacts"
        assert r["headers"]["authorization"] == f"Bearer {p.api_key}"
        assert r["headers"]["content-type"] == "application/json"
        bodies.append(json.loads(r["body"]))
    with_lists = [b for b in bodies if "list_ids" in b]
    without = [b for b in bodies if "list_ids" not in b]
    assert len(with_lists) == 1 and len(without) == 1, bodies
    assert with_lists[0]["list_ids"] == ["list-a", "list-b"]
    assert with_lists[0]["contacts"] == [
        {"email": "ada@acme.example", "first_name": "Ada", "last_name": "Lovelace", "custom_fields": {"e1_T": "vip"}},
        {"email": "bob@acme.example", "first_name": "Bob"},
    ]
    assert without[0]["contacts"] == [{"email": "cy@acme.example"}]

    # Synced: the contacts, the integration, one success log per attempt with SendGrid's job_id.
    synced = db.rows("SELECT id, last_synced_at FROM sendgrid_contacts WHERE tenant_id = %s", (p.tenant,))
    assert {r["id"] for r in synced} == {ada, bob, cy} and all(r["last_synced_at"] for r in synced), synced
    assert p.integration_row()["last_sync_at"] is not None
    logs = p.logs()
    assert len(logs) == 2, logs
    for log in logs:
        assert log["direction"] == "outbound" and log["http_method"] == "PUT" and log["status"] == "success"
        assert log["operation"] == "contacts.upsert" and log["response_status"] == 202
        assert log["endpoint"] == f"{p.base_url}/v3/marketing/contacts"
        assert log["response_payload"]["job_id"].startswith(f"job-{p.tag}-")
        assert log["request_payload"]["contacts"], log
        assert log["error_message"] is None and log["duration_ms"] >= 0
    p.assert_no_key_stored()

    # Nothing changed: nothing to sync. A changed contact goes again, alone.
    assert p.sync() == 0
    db.rows("UPDATE sendgrid_contacts SET first_name = 'Cy' WHERE tenant_id = %s AND id = %s", (p.tenant, cy))
    assert p.sync() == 1
    p.wait_finished(count=3)
    assert json.loads(p.received()[-1]["body"]) == {"contacts": [{"email": "cy@acme.example", "first_name": "Cy"}]}


def test_500_is_retried_then_succeeds(db, out_receiver):
    p = Provider(db, out_receiver, mode="fail500-2")
    contact = p.contact("dee@acme.example", "Dee")
    assert p.sync() == 1
    (row,) = p.wait_finished(count=1, timeout=30)
    assert row["status"] == "succeeded" and row["attempts"] == 3, row
    assert len(p.received()) == 3
    logs = p.logs()
    assert [(l["status"], l["response_status"]) for l in logs] == [("error", 500), ("error", 500), ("success", 202)]
    assert logs[0]["error_message"].startswith("HTTP 500")
    assert logs[0]["response_payload"] == {"errors": [{"message": "internal error"}]}
    assert db.value("SELECT last_synced_at FROM sendgrid_contacts WHERE tenant_id = %s AND id = %s",
                    (p.tenant, contact)) is not None
    integration = p.integration_row()
    assert integration["last_sync_at"] is not None and integration["last_error"] is None
    p.assert_no_key_stored()


def test_400_fails_at_once(db, out_receiver):
    p = Provider(db, out_receiver, mode="bad")
    contact = p.contact("eve@acme.example")
    assert p.sync() == 1
    (row,) = p.wait_finished(count=1)
    assert row["status"] == "failed" and row["attempts"] == 1 and row["response_status"] == 400, row
    assert row["completed_at"] is not None and row["next_attempt_at"] is None
    time.sleep(GRACE * 2)
    assert len(p.received()) == 1, "a 400 must not be retried"
    (log,) = p.logs()
    assert log["status"] == "error" and log["response_status"] == 400
    assert "invalid contacts" in log["error_message"]
    integration = p.integration_row()
    assert integration["last_error"].startswith("HTTP 400") and integration["last_error_at"] is not None
    assert integration["last_sync_at"] is None
    assert db.value("SELECT last_synced_at FROM sendgrid_contacts WHERE tenant_id = %s AND id = %s",
                    (p.tenant, contact)) is None


def test_exhausted_attempts_fail(db, out_receiver):
    p = Provider(db, out_receiver, mode="fail500-99")
    p.contact("fay@acme.example")
    assert p.sync(max_attempts=2) == 1
    (row,) = p.wait_finished(count=1, timeout=30)
    assert row["status"] == "failed" and row["attempts"] == 2, row
    assert len(p.received()) == 2 and len(p.logs()) == 2
    assert p.integration_row()["last_error"].startswith("HTTP 500")


def test_key_repeated_by_provider_is_redacted(db, out_receiver):
    p = Provider(db, out_receiver, mode="echo")
    p.contact("gus@acme.example")
    assert p.sync() == 1
    p.wait_finished(count=1)
    (received,) = p.received()
    assert received["headers"]["authorization"] == f"Bearer {p.api_key}"
    (log,) = p.logs()
    assert log["response_payload"]["authorization"] == "Bearer [redacted]"
    p.assert_no_key_stored()


def test_no_api_key_fails_without_sending(db, out_receiver):
    p = Provider(db, out_receiver)
    db.rows("UPDATE integrations SET credentials = '{}' WHERE tenant_id = %s AND id = %s", (p.tenant, p.integration))
    p.contact("hal@acme.example")
    assert p.sync() == 1
    (row,) = p.wait_finished(count=1)
    assert row["status"] == "failed" and "api_key" in row["last_error"], row
    assert p.received() == []
    assert len(p.logs()) == 1


def test_credentials_the_server_has_no_key_for_wait_for_a_retry(db, out_receiver):
    """Encrypted credentials and no key on this server (a key file being replaced, a
    reload not yet seen): the request is not sent and waits for its retry rather
    than failing for good; once the attempts run out it fails."""
    p = Provider(db, out_receiver)
    # This cluster has no key, so the trigger stores the envelope as written.
    db.rows("UPDATE integrations SET credentials = %s WHERE tenant_id = %s AND id = %s",
            (Jsonb({"encrypted": "enc:v1:0123456789abcdef:" + "A" * 48}), p.tenant, p.integration))
    p.contact("ida@acme.example")
    assert p.sync(max_attempts=2) == 1
    (row,) = p.wait_finished(count=1)
    assert row["status"] == "failed" and row["attempts"] == 2, row
    assert "(will retry)" in row["last_error"] and "secret_key_file" in row["last_error"], row
    assert p.received() == []
    assert len(p.logs()) == 2, "each attempt is one log row"


def test_enqueue_mail_send_for_operators(db, out_receiver):
    p = Provider(db, out_receiver)
    mail = {"personalizations": [{"to": [{"email": "ops@acme.example"}]}],
            "from": {"email": "reports@acme.example"}, "subject": "Weekly report",
            "content": [{"type": "text/plain", "value": "Hello"}]}
    request = db.value("SELECT enqueue_integration_request(%s, %s, 'mail.send', 'POST', '/v3/mail/send', %s)",
                       (p.tenant, p.integration, Jsonb(mail)))
    (row,) = p.wait_finished(count=1)
    assert row["id"] == request and row["status"] == "succeeded"
    (received,) = p.received()
    assert received["method"] == "POST" and received["path"].endswith("/v3/mail/send")
    assert json.loads(received["body"]) == mail
    (log,) = p.logs()
    assert log["operation"] == "mail.send" and log["request_payload"] == mail
    # Bad arguments name themselves.
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="path"):
        db.value("SELECT enqueue_integration_request(%s, %s, 'mail.send', 'POST', 'v3/mail/send')",
                 (p.tenant, p.integration))
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="integration"):
        db.value("SELECT enqueue_integration_request(%s, %s, 'mail.send', 'POST', '/v3/mail/send')",
                 (p.tenant, uuid.uuid4()))


def test_application_only_for_its_tenant(db, out_cluster, out_receiver):
    mine, other = Provider(db, out_receiver), Provider(db, out_receiver)
    mine.contact("ivy@acme.example")
    other.contact("jo@acme.example")
    conn = psycopg.connect(host=out_cluster.dir, port=out_cluster.port, user=APP_ROLE,
                           dbname=out_cluster.dbname, row_factory=dict_row)
    try:
        def run(tenant, sql, params):
            try:
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute("SELECT set_tenant(%s)", (tenant,))
                    cur.execute(sql, params)
                    return cur.fetchall()
            except psycopg.Error as exc:
                return exc.sqlstate

        assert run(mine.tenant, "SELECT sync_sendgrid_contacts(%s, %s)", (other.tenant, other.integration)) == "42501"
        assert run(mine.tenant, "SELECT sync_sendgrid_contacts(%s, %s)", (mine.tenant, other.integration)) == "22023"
        assert run(mine.tenant, "SELECT sync_sendgrid_contacts(%s, %s) AS n",
                   (mine.tenant, mine.integration)) == [{"n": 1}]
        assert run(mine.tenant, "SELECT enqueue_integration_request(%s, %s, 'x', 'GET', '/x')",
                   (mine.tenant, mine.integration)) == "42501"
        # It reads its own tenant's requests only, and cannot write them.
        seen = run(mine.tenant, "SELECT tenant_id FROM integration_requests", ())
        assert seen and {r["tenant_id"] for r in seen} == {mine.tenant}
        assert run(mine.tenant, "UPDATE integration_requests SET max_attempts = 50", ()) == "42501"
    finally:
        conn.close()
    mine.wait_finished(count=1)
    assert len(mine.received()) == 1
    assert other.requests() == [] and other.received() == []


def test_without_preload_requests_wait(nopreload_cluster, out_receiver):
    p = Provider(nopreload_cluster.db, out_receiver)
    p.contact("kim@acme.example")
    assert p.sync() == 1
    time.sleep(3)
    (row,) = p.requests()
    assert row["status"] == "pending" and row["attempts"] == 0
    assert p.received() == [] and p.logs() == []
