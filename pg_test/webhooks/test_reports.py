"""Scheduled reports (0.12.0): the report worker, report_runs, delivery.

A throwaway cluster with the preload (54430 `webhooks-reports`: the webhook
worker and the report worker, a short report_worker_naptime) and one without
(54431 `webhooks-reports-nopreload`, for run_due_reports). Webhook events and
SendGrid's mail/send go to the shared loopback receiver (receiver.py): the
event's signature is verified with standardwebhooks, the SendGrid integration's
config->>'base_url' points at its /provider/TAG/MODE prefix.
"""

import base64
import datetime as dt
import json
import os
import time
import uuid

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

import report_readers
import test_delivery
from test_delivery import wait_for, GRACE
# The receiver fixture, and a cluster with the application role, as the provider tests have them.
from test_outbound import APP_ROLE, _start, out_receiver  # noqa: F401

FORMATS = ("csv", "json", "html", "xlsx", "pdf")
QUERY = ("SELECT * FROM (VALUES (1, 'alpha', 10.5), (2, 'beta, \"quoted\"', 20.25), (3, 'gamma', 0))"
         " AS t(id, label, total) ORDER BY id")
EXPECTED = [["id", "label", "total"], ["1", "alpha", "10.5"], ["2", 'beta, "quoted"', "20.25"], ["3", "gamma", "0"]]
REPORT_WORKER = "backend_type = 'marimo_erp report worker'"


@pytest.fixture(scope="module")
def rep_cluster():
    cluster = _start("webhooks-reports", 54430, "webhooks_reports", [
        "shared_preload_libraries = 'marimo_erp'",
        "marimo_erp.database = 'webhooks_reports'",
        "marimo_erp.webhook_allow_private_networks = on",
        "marimo_erp.report_worker_naptime = '200ms'",
    ])
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def nopreload_cluster():
    cluster = _start("webhooks-reports-nopreload", 54431, "webhooks_reports_nopreload", [
        "marimo_erp.database = 'webhooks_reports_nopreload'",
    ])
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def db(rep_cluster):
    wait_for(lambda: rep_cluster.db.rows(f"SELECT pid FROM pg_stat_activity WHERE {REPORT_WORKER}"
                                         " AND datname = current_database()"),
             "the marimo_erp report worker", timeout=30)
    return rep_cluster.db


class Tenant:
    """A tenant with a saved query and reports of it."""

    def __init__(self, db):
        self.db = db
        slug = "t-" + uuid.uuid4().hex[:12]
        self.id = db.value("INSERT INTO tenants (slug, name, plan, status) VALUES (%s, %s, 'enterprise', 'active')"
                           " RETURNING id", (slug, slug))
        self.query = db.value("INSERT INTO analytics_queries (tenant_id, name, query_text) VALUES (%s, 'q', %s)"
                              " RETURNING id", (self.id, QUERY))

    def report(self, fmt="json", schedule="0 3 1 1 *", active=True, recipients=("cfo@acme.example",)):
        name = f"Report {fmt} {uuid.uuid4().hex[:6]}"
        return self.db.value(
            "INSERT INTO scheduled_reports (tenant_id, name, analytics_query_id, schedule, timezone, format,"
            " recipients, is_active) VALUES (%s, %s, %s, %s, 'UTC', %s, %s, %s) RETURNING id",
            (self.id, name, self.query, schedule, fmt, list(recipients), active))

    def sendgrid(self, receiver, mode="ok", from_email="reports@acme.example"):
        self.tag = uuid.uuid4().hex[:16]
        self.api_key = "SG." + uuid.uuid4().hex
        config = {"base_url": f"http://127.0.0.1:{receiver.port}/provider/{self.tag}/{mode}"}
        if from_email:
            config["from_email"] = from_email
        self.integration = self.db.value(
            "INSERT INTO integrations (tenant_id, provider, name, config, credentials, status)"
            " VALUES (%s, 'sendgrid', 'Mail', %s, %s, 'active') RETURNING id",
            (self.id, Jsonb(config), Jsonb({"api_key": self.api_key})))

    def runs(self, report):
        return self.db.rows("SELECT * FROM report_runs WHERE tenant_id = %s AND report_id = %s"
                            " ORDER BY scheduled_for", (self.id, report))

    def run_now(self, report):
        return self.db.value("SELECT run_report_now(%s, %s)", (self.id, report))

    def run(self, run):
        return self.db.row("SELECT * FROM report_runs WHERE tenant_id = %s AND id = %s", (self.id, run))

    def content(self, run):
        return self.db.row("SELECT * FROM report_run_content(%s, %s)", (self.id, run))


def app_call(cluster, tenant, sql, params=()):
    conn = psycopg.connect(host=cluster.dir, port=cluster.port, user=APP_ROLE, dbname=cluster.dbname,
                           row_factory=dict_row)
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT set_tenant(%s)", (tenant,))
            cur.execute(sql, params)
            return cur.fetchall()
    except psycopg.Error as exc:
        return exc.sqlstate
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# The worker: a report due every minute runs once per minute, across a restart


def test_every_minute_once_per_slot_across_restart(db, rep_cluster):
    t = Tenant(db)
    report = t.report(schedule="* * * * *")
    # Due now (a slot in the past: the one catch-up run), as after downtime.
    db.rows("UPDATE scheduled_reports SET next_run_at = date_trunc('minute', now()) - interval '10 minutes'"
            " WHERE tenant_id = %s AND id = %s", (t.id, report))
    first = wait_for(lambda: [r for r in t.runs(report) if r["status"] != "pending"] or None,
                     "the catch-up run", timeout=20)
    assert len(first) == 1 and first[0]["status"] == "succeeded", first
    row = db.row("SELECT next_run_at, last_status, last_run_at FROM scheduled_reports WHERE tenant_id = %s"
                 " AND id = %s", (t.id, report))
    assert row["next_run_at"] > db.value("SELECT now()"), "next_run_at did not move past now"
    assert row["last_status"] == "success" and row["last_run_at"] is not None
    # Only one catch-up run for the ten missed slots.
    time.sleep(GRACE)
    assert len(t.runs(report)) == 1
    # The worker is terminated (pg_terminate_backend); the postmaster starts it again.
    old = db.value(f"SELECT pid FROM pg_stat_activity WHERE {REPORT_WORKER}")
    assert db.value("SELECT pg_terminate_backend(%s)", (old,))
    wait_for(lambda: db.value(f"SELECT pid FROM pg_stat_activity WHERE {REPORT_WORKER} AND pid <> %s", (old,)),
             "the report worker started again", timeout=30)
    # The next two slots run, one run each, a minute apart.
    runs = wait_for(lambda: (lambda rs: rs if len(rs) >= 3 and all(r["status"] != "pending" for r in rs) else None)
                    (t.runs(report)), "two more runs, one per minute", timeout=150)
    slots = [r["scheduled_for"] for r in runs]
    assert len(slots) == len(set(slots)), f"a slot ran twice: {slots}"
    assert all(s.second == 0 and s.microsecond == 0 for s in slots[1:]), slots
    assert slots[2] - slots[1] == dt.timedelta(minutes=1), slots
    assert all(r["status"] == "succeeded" for r in runs), [r["error"] for r in runs]
    db.rows("UPDATE scheduled_reports SET is_active = false WHERE tenant_id = %s AND id = %s", (t.id, report))


def test_slow_report_neither_stalls_webhooks_nor_runs_twice(db, out_receiver):
    """A report that takes seconds runs in the report worker: a webhook event emitted
    meanwhile is delivered at once, and terminating the report worker during the run
    does not run the slot again."""
    api = test_delivery.Api(db, out_receiver)
    t = Tenant(db)
    hook_id, hook_tag, _ = api.hook(t.id, "ok", event_types=("invoice.*",))
    db.rows("UPDATE analytics_queries SET query_text = 'SELECT 1 AS id, pg_sleep(6)::text AS slept'"
            " WHERE tenant_id = %s", (t.id,))
    report = t.report("json")
    db.rows("UPDATE scheduled_reports SET next_run_at = now() WHERE tenant_id = %s AND id = %s", (t.id, report))
    wait_for(lambda: t.runs(report), "the slow run claimed", timeout=20)
    time.sleep(0.5)
    started = time.monotonic()
    event = api.emit(t.id, "invoice.paid", {"n": 1})
    api.wait_status(t.id, hook_id, event, "succeeded", timeout=4)
    assert time.monotonic() - started < 4, "a webhook waited for the report"
    assert t.runs(report)[0]["status"] == "pending", "the report was not still running"
    old = db.value(f"SELECT pid FROM pg_stat_activity WHERE {REPORT_WORKER}")
    assert db.value("SELECT pg_terminate_backend(%s)", (old,))
    wait_for(lambda: db.value(f"SELECT pid FROM pg_stat_activity WHERE {REPORT_WORKER} AND pid <> %s", (old,)),
             "the report worker started again", timeout=40)
    time.sleep(2)
    db.rows("UPDATE scheduled_reports SET is_active = false WHERE tenant_id = %s AND id = %s", (t.id, report))
    runs = t.runs(report)
    slots = [r["scheduled_for"] for r in runs]
    assert len(slots) == len(set(slots)), f"a slot ran twice: {slots}"
    # The worker finishes the run it is in (SIGTERM is read between runs), or a later
    # round fails it as interrupted; either way the slot never runs again.
    run = runs[0]
    assert run["status"] in ("succeeded", "failed"), run
    assert run["status"] == "succeeded" or run["error"].startswith("interrupted"), run


# ---------------------------------------------------------------------------
# Files: one per format, read with a real reader


@pytest.mark.parametrize("fmt", FORMATS)
def test_file_per_format(db, fmt):
    t = Tenant(db)
    report = t.report(fmt)
    run = t.run_now(report)
    row = t.run(run)
    assert row["status"] == "succeeded", row["error"]
    assert row["format"] == fmt and row["row_count"] == 3 and row["triggered_by"] == "manual"
    content = t.content(run)
    assert content["file_name"] == row["file_name"] and bytes(content["content"]) == bytes(row["content"])
    assert content["content_type"] == report_readers.CONTENT_TYPES[fmt]
    assert content["file_name"].endswith("." + fmt)
    assert report_readers.read_report(fmt, bytes(content["content"])) == [EXPECTED]


# ---------------------------------------------------------------------------
# Delivery: the webhook event and the SendGrid e-mail


def test_event_and_email_delivered(db, out_receiver):
    api = test_delivery.Api(db, out_receiver)
    t = Tenant(db)
    hook_id, hook_tag, secret = api.hook(t.id, "ok", event_types=("report.*",))
    t.sendgrid(out_receiver)
    report = t.report("csv", recipients=("cfo@acme.example", "ops@acme.example"))
    run = t.run_now(report)
    row = t.run(run)
    assert row["status"] == "succeeded" and row["email_status"] == "queued", row
    # The webhook event, signed.
    event = row["webhook_event_id"]
    api.wait_status(t.id, hook_id, event, "succeeded")
    (hit,) = wait_for(lambda: out_receiver.requests(hook_tag), "the report.completed event")
    assert hit["verified"] and secret in hit["verified_with"], hit["verify_error"]
    body = json.loads(hit["body"])
    assert body["type"] == "report.completed"
    data = body["data"]
    assert data["run_id"] == str(run) and data["report_id"] == str(report)
    assert data["status"] == "succeeded" and data["format"] == "csv" and data["row_count"] == 3
    assert "report_run_content" in data["content"]["fetch"] and data["content"]["file_name"] == row["file_name"]
    # The e-mail: SendGrid v3 mail/send with the file attached.
    requests = wait_for(lambda: out_receiver.requests(t.tag), "the SendGrid request")
    assert len(requests) == 1
    (mail,) = requests
    assert mail["method"] == "POST" and mail["path"].endswith("/v3/mail/send")
    assert mail["headers"]["authorization"] == f"Bearer {t.api_key}"
    sent = json.loads(mail["body"])
    assert [p["email"] for p in sent["personalizations"][0]["to"]] == ["cfo@acme.example", "ops@acme.example"]
    assert sent["from"]["email"] == "reports@acme.example" and sent["subject"]
    (attachment,) = sent["attachments"]
    assert base64.b64decode(attachment["content"]) == bytes(t.content(run)["content"])
    assert attachment["filename"] == row["file_name"] and attachment["type"] == row["content_type"]
    # Logged, and the request is over.
    wait_for(lambda: db.value("SELECT status = 'succeeded' FROM integration_requests WHERE tenant_id = %s"
                              " AND id = %s", (t.id, row["email_request_id"])), "the request succeeded")
    logs = db.rows("SELECT * FROM integration_logs WHERE tenant_id = %s", (t.id,))
    assert len(logs) == 1 and logs[0]["operation"] == "mail.send" and logs[0]["response_status"] == 202
    assert t.api_key not in json.dumps(logs[0], default=str)


def test_email_500_is_retried(db, out_receiver):
    t = Tenant(db)
    t.sendgrid(out_receiver, mode="fail500-1")
    report = t.report("json")
    run = t.run_now(report)
    request = t.run(run)["email_request_id"]
    wait_for(lambda: db.value("SELECT status = 'succeeded' FROM integration_requests WHERE tenant_id = %s"
                              " AND id = %s", (t.id, request)), "the retried request succeeded", timeout=30)
    assert [r["status"] for r in out_receiver.requests(t.tag)] == [500, 202]
    logs = db.rows("SELECT response_status FROM integration_logs WHERE tenant_id = %s ORDER BY created_at", (t.id,))
    assert [l["response_status"] for l in logs] == [500, 202]


def test_without_sendgrid_email_skipped(db):
    t = Tenant(db)
    run = t.run_now(t.report("json"))
    row = t.run(run)
    assert row["status"] == "succeeded"
    assert row["email_status"] == "skipped" and "SendGrid" in row["email_error"]
    assert row["webhook_event_id"] is not None


def test_failed_run_recorded_and_event(db):
    t = Tenant(db)
    db.rows("UPDATE analytics_queries SET query_text = 'SELECT 1/0' WHERE tenant_id = %s", (t.id,))
    report = t.report("json")
    run = t.run_now(report)
    row = t.run(run)
    assert row["status"] == "failed" and "division by zero" in row["error"] and row["content"] is None
    assert db.value("SELECT event_type FROM webhook_events WHERE tenant_id = %s AND id = %s",
                    (t.id, row["webhook_event_id"])) == "report.failed"
    rep = db.row("SELECT last_status, last_error FROM scheduled_reports WHERE tenant_id = %s AND id = %s",
                 (t.id, report))
    assert rep["last_status"] == "failed" and "division by zero" in rep["last_error"]
    assert t.content(run) is None


# ---------------------------------------------------------------------------
# run_due_reports (no preload), interrupted runs, access rules


def test_run_due_reports_without_preload(nopreload_cluster):
    db = nopreload_cluster.db
    t = Tenant(db)
    report = t.report("json", schedule="* * * * *")
    db.rows("UPDATE scheduled_reports SET next_run_at = now() - interval '1 hour' WHERE tenant_id = %s"
            " AND id = %s", (t.id, report))
    assert db.value("SELECT run_due_reports()") == 1
    assert db.value("SELECT run_due_reports()") == 0
    (run,) = t.runs(report)
    assert run["status"] == "succeeded" and run["triggered_by"] == "schedule"
    nxt = db.value("SELECT next_run_at FROM scheduled_reports WHERE tenant_id = %s AND id = %s", (t.id, report))
    assert nxt > db.value("SELECT now()")
    # The same slot again (next_run_at put back by hand) does not run twice.
    db.rows("UPDATE scheduled_reports SET next_run_at = %s WHERE tenant_id = %s AND id = %s",
            (run["scheduled_for"], t.id, report))
    assert db.value("SELECT run_due_reports()") == 0
    assert len(t.runs(report)) == 1
    # Inactive reports never run.
    db.rows("UPDATE scheduled_reports SET is_active = false, next_run_at = now() - interval '1 minute'"
            " WHERE tenant_id = %s AND id = %s", (t.id, report))
    assert db.value("SELECT run_due_reports()") == 0


def test_interrupted_run_is_failed_not_rerun(nopreload_cluster):
    db = nopreload_cluster.db
    t = Tenant(db)
    report = t.report("json")
    run = str(uuid.uuid4())
    db.rows("INSERT INTO report_runs (tenant_id, id, report_id, scheduled_for, format, created_at)"
            " VALUES (%s, %s, %s, now() - interval '1 hour', 'json', now() - interval '1 hour')",
            (t.id, run, report))
    db.value("SELECT run_due_reports()")
    row = t.run(run)
    assert row["status"] == "failed" and row["error"].startswith("interrupted"), row
    assert len(t.runs(report)) == 1


def test_application_access(nopreload_cluster):
    cluster, db = nopreload_cluster, nopreload_cluster.db
    mine, other = Tenant(db), Tenant(db)
    my_report, other_report = mine.report("json"), other.report("json")
    other_run = other.run_now(other_report)
    assert app_call(cluster, mine.id, "SELECT run_report_now(%s, %s)", (other.id, other_report)) == "42501"
    assert app_call(cluster, mine.id, "SELECT * FROM report_run_content(%s, %s)", (other.id, other_run)) == "42501"
    assert app_call(cluster, mine.id, "SELECT run_due_reports()") == "42501"
    assert app_call(cluster, mine.id, "SELECT run_report_now(%s, %s)", (mine.id, other_report)) == "22023"
    (ran,) = app_call(cluster, mine.id, "SELECT run_report_now(%s, %s) AS id", (mine.id, my_report))
    assert mine.run(ran["id"])["status"] == "succeeded"
    (content,) = app_call(cluster, mine.id, "SELECT * FROM report_run_content(%s, %s)", (mine.id, ran["id"]))
    assert report_readers.read_report("json", bytes(content["content"])) == [EXPECTED]
    # It reads its own tenant's runs only, and cannot write them.
    seen = app_call(cluster, mine.id, "SELECT tenant_id FROM report_runs", ())
    assert {r["tenant_id"] for r in seen} == {mine.id}
    assert app_call(cluster, mine.id, "UPDATE report_runs SET status = 'failed'", ()) == "42501"
    # Bad arguments name themselves.
    with pytest.raises(psycopg.errors.NullValueNotAllowed, match="report"):
        db.value("SELECT run_report_now(%s, NULL)", (mine.id,))


def test_operator_who_is_not_superuser(nopreload_cluster):
    """The pg_cron setup the README recommends: an operator login (marimo_admin, not a
    superuser) runs due reports and runs one at once, though it may not write report_runs."""
    cluster, db = nopreload_cluster, nopreload_cluster.db
    db.rows("DO $$ BEGIN CREATE ROLE reports_operator LOGIN IN ROLE marimo_admin;"
            " EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    t = Tenant(db)
    report = t.report("json", schedule="* * * * *")
    db.rows("UPDATE scheduled_reports SET next_run_at = now() - interval '1 hour' WHERE tenant_id = %s"
            " AND id = %s", (t.id, report))
    conn = psycopg.connect(host=cluster.dir, port=cluster.port, user="reports_operator",
                           dbname=cluster.dbname, autocommit=True)
    try:
        assert conn.execute("SELECT run_due_reports()").fetchone()[0] >= 1
        ran = conn.execute("SELECT run_report_now(%s, %s)", (t.id, report)).fetchone()[0]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE report_runs SET status = 'failed' WHERE tenant_id = %s", (t.id,))
    finally:
        conn.close()
    assert [r["status"] for r in t.runs(report)] == ["succeeded", "succeeded"]
    assert t.run(ran)["triggered_by"] == "manual"


def test_cleanup_in_maintenance(nopreload_cluster):
    db = nopreload_cluster.db
    t = Tenant(db)
    report = t.report("json")
    old = str(uuid.uuid4())
    db.rows("INSERT INTO report_runs (tenant_id, id, report_id, scheduled_for, format, status, finished_at,"
            " created_at) VALUES (%s, %s, %s, now() - interval '200 days', 'json', 'succeeded', now(),"
            " now() - interval '200 days')", (t.id, old, report))
    recent = t.run_now(report)
    rows = db.rows("SELECT * FROM run_maintenance() WHERE relation = 'report_runs'")
    assert rows and rows[0]["rows"] >= 1, rows
    assert t.run(old) is None and t.run(recent) is not None
    db.rows("SET marimo_erp.report_run_retention = '20d'")
    db.rows("UPDATE report_runs SET created_at = now() - interval '21 days' WHERE tenant_id = %s", (t.id,))
    assert db.value("SELECT cleanup_report_runs()") == 1
    db.rows("RESET marimo_erp.report_run_retention")
