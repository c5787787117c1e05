"""End-to-end webhook delivery tests of marimo_erp (delivery since version 0.8.0).

Throwaway clusters (started here with scripts/lib.sh's start_cluster, as root):
  - 54350 `webhooks`: shared_preload_libraries = marimo_erp, the delivery worker
    serving database webhooks_test, private networks allowed (the receiver is on
    127.0.0.1);
  - 54351 `webhooks-private`: the worker with the default setting, which refuses
    private, loopback and link-local addresses;
  - 54352 `webhooks-nopreload`: no shared_preload_libraries, so no worker.

The receiver (receiver.py) verifies each request with the `standardwebhooks`
reference library and logs it as JSON lines. pg_test/webhooks/run starts it and
passes WEBHOOK_RECEIVER_PORT / _LOG / _SECRETS; without them, the `receiver`
fixture starts its own.

Every wait is bounded (polls every 50 ms). Only 127.0.0.1 is ever connected to:
the private addresses are only written into webhook URLs that must be refused.
"""

import base64
import datetime as dt
import json
import os
import re
import secrets as pysecrets
import signal
import socket
import subprocess
import sys
import tomllib
import time
import uuid
from pathlib import Path

import conftest
import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from standardwebhooks import Webhook

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# The version this checkout builds: the installed extension must be it.
EXPECTED_VERSION = tomllib.loads((REPO / "Cargo.toml").read_text())["package"]["version"]
WAIT = 15.0  # default bound of every wait, seconds
GRACE = 1.0  # how long to watch for unwanted extra requests
FAST_SCHEDULE = "{1 second,1 second,1 second}"
FAST_ATTEMPTS = 4
# The webhook worker (the report worker of 0.12.0 is a process of its own, left out).
WORKER_FILTER = (
    "(backend_type ILIKE '%marimo_erp%' OR application_name ILIKE '%marimo_erp%')"
    " AND backend_type <> 'marimo_erp report worker' AND pid <> pg_backend_pid()"
)


# ---------------------------------------------------------------------------
# Helpers


def wait_for(fn, what, timeout=WAIT, interval=0.05):
    """Polls fn() until it returns something truthy; fails with `what` and the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last seen: {last!r}")
        time.sleep(interval)


def lib_sh(command):
    """Runs COMMAND in bash after sourcing scripts/lib.sh; returns its stdout."""
    proc = subprocess.run(
        ["bash", "-c", f"source scripts/lib.sh; {command}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"lib.sh `{command}` failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout.strip()


def new_secret():
    return "whsec_" + base64.b64encode(pysecrets.token_bytes(32)).decode()


def header(headers, name):
    """Case-insensitive header lookup in a dict (e.g. webhook_logs.request_headers)."""
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def v1_signatures(signature_header):
    return [s for s in (signature_header or "").split(" ") if s.startswith("v1,")]


class Db:
    """One autocommit connection to a cluster's database, reconnecting if it broke."""

    def __init__(self, cluster, dbname):
        self.cluster, self.dbname, self.conn = cluster, dbname, None

    def connect(self):
        self.conn = psycopg.connect(
            host=self.cluster.dir, port=self.cluster.port, user="postgres",
            dbname=self.dbname, autocommit=True, row_factory=dict_row,
        )
        return self

    def rows(self, sql, params=()):
        if self.conn is None or self.conn.closed:
            self.connect()
        with self.conn.cursor() as cur:
            cur.execute(sql, params or None)
            return cur.fetchall() if cur.description else []

    def row(self, sql, params=()):
        rows = self.rows(sql, params)
        return rows[0] if rows else None

    def value(self, sql, params=()):
        row = self.row(sql, params)
        return None if row is None else next(iter(row.values()))

    def close(self):
        if self.conn is not None and not self.conn.closed:
            self.conn.close()


class Cluster:
    def __init__(self, name, port, dbname, conf):
        self.name, self.port, self.dbname, self.conf = name, port, dbname, conf
        self.dir = lib_sh(f"cluster_dir {name}")
        self.db = None

    def start(self):
        conf = " ".join("'" + line.replace("'", "'\\''") + "'" for line in self.conf)
        log_file = str(Path(self.dir, "server.log"))
        if log_file not in conftest.CLUSTER_LOGS:
            conftest.CLUSTER_LOGS.append(log_file)
        lib_sh(f"start_cluster {self.dir} {self.port} {conf}")
        admin = Db(self, "postgres").connect()
        try:
            admin.rows(f'CREATE DATABASE "{self.dbname}"')
        finally:
            admin.close()
        self.db = Db(self, self.dbname).connect()
        self.db.rows("CREATE EXTENSION marimo_erp")
        version = self.db.value("SELECT extversion FROM pg_extension WHERE extname = 'marimo_erp'")
        if version != EXPECTED_VERSION:
            raise RuntimeError(
                f"installed marimo_erp is {version}, these tests are for {EXPECTED_VERSION} (make install first)")
        return self

    def stop(self):
        if self.db is not None:
            self.db.close()
        lib_sh(f"stop_cluster {self.dir}")

    def log_tail(self, lines=40):
        try:
            return "\n".join(Path(self.dir, "server.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no server log: {exc})"


class Receiver:
    def __init__(self, port, log, secrets):
        self.port, self.log, self.secrets = port, Path(log), Path(secrets)

    def add_secret(self, secret):
        with open(self.secrets, "a", encoding="utf-8") as f:
            f.write(secret + "\n")

    def requests(self, tag=None):
        try:
            data = self.log.read_bytes()
        except FileNotFoundError:
            return []
        # The receiver appends a record in as many writes as its size needs, so a read while it
        # writes can end in half a line (even half a character): only lines the newline has
        # closed are records yet.
        complete = data[: data.rfind(b"\n") + 1].decode("utf-8")
        records = [json.loads(line) for line in complete.splitlines() if line.strip()]
        return [r for r in records if tag is None or r["query"].get("tag") == tag]

    def url(self, route, tag, **params):
        query = "&".join([f"tag={tag}"] + [f"{k}={v}" for k, v in params.items()])
        return f"http://127.0.0.1:{self.port}/{route}?{query}"


class Api:
    """The SQL API of one cluster, for one test."""

    def __init__(self, db, receiver):
        self.db, self.receiver = db, receiver

    def tenant(self):
        slug = "t-" + uuid.uuid4().hex[:12]
        return self.db.value(
            "INSERT INTO tenants (slug, name, plan, status) VALUES (%s, %s, 'enterprise', 'active') RETURNING id",
            (slug, slug))

    def create_webhook(self, tenant, url, event_types=("*",), secret=None):
        return self.db.value("SELECT create_webhook(%s, %s, %s::text[], %s)",
                             (tenant, url, list(event_types), secret))

    def hook(self, tenant, route, event_types=("*",), secret=None, fast=True, timeout_ms=None, url=None, **params):
        """A webhook to the receiver's ROUTE with a unique tag; returns (id, tag, secret)."""
        tag = uuid.uuid4().hex[:16]
        hook_id = self.create_webhook(tenant, url or self.receiver.url(route, tag, **params), event_types, secret)
        stored = self.db.value("SELECT secret FROM webhooks WHERE tenant_id = %s AND id = %s", (tenant, hook_id))
        assert stored and stored.startswith("whsec_"), f"webhooks.secret is {stored!r}"
        if secret is not None:
            assert stored == secret, "create_webhook did not store the secret it was given"
        self.receiver.add_secret(stored)
        if fast:
            self.db.rows("UPDATE webhooks SET retry_schedule = %s::interval[], max_attempts = %s"
                         " WHERE tenant_id = %s AND id = %s", (FAST_SCHEDULE, FAST_ATTEMPTS, tenant, hook_id))
        if timeout_ms is not None:
            self.db.rows("UPDATE webhooks SET timeout_ms = %s WHERE tenant_id = %s AND id = %s",
                         (timeout_ms, tenant, hook_id))
        return hook_id, tag, stored

    def emit(self, tenant, event_type, payload, key=None):
        return self.db.value("SELECT emit_webhook_event(%s, %s, %s, %s)", (tenant, event_type, Jsonb(payload), key))

    def deliveries(self, tenant, event_id=None, hook_id=None):
        return self.db.rows(
            "SELECT *, next_attempt_at - now() AS due_in FROM webhook_deliveries"
            " WHERE tenant_id = %s AND (%s::uuid IS NULL OR event_id = %s)"
            " AND (%s::uuid IS NULL OR webhook_id = %s) ORDER BY created_at, id",
            (tenant, event_id, event_id, hook_id, hook_id))

    def delivery(self, tenant, hook_id, event_id):
        rows = self.deliveries(tenant, event_id, hook_id)
        assert len(rows) == 1, f"expected one delivery of event {event_id} to webhook {hook_id}, found {len(rows)}"
        return rows[0]

    def logs(self, tenant, delivery_id):
        return self.db.rows("SELECT * FROM webhook_logs WHERE tenant_id = %s AND delivery_id = %s"
                            " ORDER BY attempt, created_at", (tenant, delivery_id))

    def hook_row(self, tenant, hook_id):
        return self.db.row("SELECT * FROM webhooks WHERE tenant_id = %s AND id = %s", (tenant, hook_id))

    def wait_status(self, tenant, hook_id, event_id, statuses, timeout=WAIT):
        statuses = (statuses,) if isinstance(statuses, str) else tuple(statuses)
        last = {}

        def check():
            d = self.delivery(tenant, hook_id, event_id)
            last["d"] = {k: d[k] for k in ("status", "attempts", "next_attempt_at", "response_status", "last_error")}
            return d if d["status"] in statuses else None

        try:
            return wait_for(check, f"delivery status in {statuses}", timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; delivery: {last.get('d')}") from None

    def cancel(self, tenant, delivery_id):
        """Stops a delivery still scheduled for later, so it does not run while other tests do."""
        try:
            self.db.rows("UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL"
                         " WHERE tenant_id = %s AND id = %s AND status = 'pending'", (tenant, delivery_id))
        except psycopg.Error:
            pass


def closed_port():
    """A 127.0.0.1 port that refuses connections: bound, never listening (kept bound)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


# ---------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def receiver(tmp_path_factory):
    if os.environ.get("WEBHOOK_RECEIVER_PORT"):
        yield Receiver(int(os.environ["WEBHOOK_RECEIVER_PORT"]), os.environ["WEBHOOK_RECEIVER_LOG"],
                       os.environ["WEBHOOK_RECEIVER_SECRETS"])
        return
    work = tmp_path_factory.mktemp("receiver")
    log, secrets = work / "requests.jsonl", work / "secrets.txt"
    proc = subprocess.Popen([sys.executable, str(HERE / "receiver.py"), "--port", "0", "--log", str(log),
                             "--secrets", str(secrets)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        yield Receiver(port, log, secrets)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _cluster_fixture(name, port, dbname, conf):
    cluster = Cluster(name, port, dbname, conf)
    try:
        cluster.start()
    except Exception:
        print(cluster.log_tail(), file=sys.stderr)
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="session")
def main_cluster():
    cluster = _cluster_fixture("webhooks", 54350, "webhooks_test", [
        "shared_preload_libraries = 'marimo_erp'",
        "marimo_erp.database = 'webhooks_test'",
        "marimo_erp.webhook_allow_private_networks = on",
    ])
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def private_cluster():
    # marimo_erp.webhook_allow_private_networks is left at its default (off).
    cluster = _cluster_fixture("webhooks-private", 54351, "webhooks_private", [
        "shared_preload_libraries = 'marimo_erp'",
        "marimo_erp.database = 'webhooks_private'",
    ])
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def nopreload_cluster():
    cluster = _cluster_fixture("webhooks-nopreload", 54352, "webhooks_nopreload", [
        "marimo_erp.database = 'webhooks_nopreload'",
        "marimo_erp.webhook_allow_private_networks = on",
    ])
    yield cluster
    cluster.stop()


def _worker_pids(db):
    return [r["pid"] for r in db.rows(f"SELECT pid FROM pg_stat_activity WHERE {WORKER_FILTER}")]


@pytest.fixture(scope="session")
def worker_ready(main_cluster):
    """Waits (bounded) until the worker shows in pg_stat_activity; records whether it did."""
    try:
        wait_for(lambda: main_cluster.db.rows(f"SELECT pid FROM pg_stat_activity WHERE {WORKER_FILTER}"
                                              " AND datname = current_database()"),
                 "the marimo_erp webhook worker", timeout=30)
        return True
    except AssertionError:
        return False


@pytest.fixture
def api(main_cluster, receiver, worker_ready):
    return Api(main_cluster.db, receiver)


# ---------------------------------------------------------------------------
# The worker


def test_worker_running(main_cluster, worker_ready):
    rows = main_cluster.db.rows(
        f"SELECT pid, backend_type, application_name, datname FROM pg_stat_activity WHERE {WORKER_FILTER}")
    assert worker_ready and rows, (
        "no marimo_erp worker in pg_stat_activity 30 s after CREATE EXTENSION; server log:\n"
        + main_cluster.log_tail())
    assert any(r["datname"] == "webhooks_test" for r in rows), f"worker not connected to webhooks_test: {rows}"


# ---------------------------------------------------------------------------
# Happy path, matching, idempotency, rotation


def test_happy_path(api, receiver):
    tenant = api.tenant()
    hooks = [api.hook(tenant, "ok"), api.hook(tenant, "ok", secret=new_secret())]
    payload = {"invoice_id": "inv_123", "amount": 4200, "lines": [{"sku": "A", "qty": 2}], "note": "été ✓"}
    event = api.emit(tenant, "invoice.paid", payload)
    assert event is not None
    created_at = api.db.value("SELECT created_at FROM webhook_events WHERE tenant_id = %s AND id = %s",
                              (tenant, event))
    assert len(api.deliveries(tenant, event)) == 2

    for hook_id, tag, secret in hooks:
        d = api.wait_status(tenant, hook_id, event, "succeeded")
        wait_for(lambda: receiver.requests(tag), f"request for webhook {tag}")
    time.sleep(GRACE)

    for hook_id, tag, secret in hooks:
        reqs = receiver.requests(tag)
        assert len(reqs) == 1, f"expected exactly one request, got {len(reqs)}"
        r = reqs[0]
        assert r["method"] == "POST"
        assert r["verified"] and secret in r["verified_with"], f"signature not verified: {r['verify_error']}"
        assert r["headers"].get("content-type", "").split(";")[0].strip() == "application/json"
        assert r["headers"].get("webhook-id")
        ts = int(r["headers"]["webhook-timestamp"])
        assert abs(ts - r["arrival"]) < 30, f"webhook-timestamp {ts} far from arrival {r['arrival']}"
        body = json.loads(r["body"])
        assert body["type"] == "invoice.paid"
        assert body["data"] == payload
        stamp = dt.datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
        assert stamp.tzinfo is not None, f"timestamp {body['timestamp']!r} has no zone"
        assert abs((stamp - created_at).total_seconds()) < 1, \
            f"envelope timestamp {body['timestamp']} is not the event's created_at {created_at}"

        d = api.delivery(tenant, hook_id, event)
        assert d["status"] == "succeeded" and d["attempts"] == 1
        assert d["response_status"] == 200 and d["delivered_at"] is not None
        assert d["next_attempt_at"] is None
        logs = api.logs(tenant, d["id"])
        assert len(logs) == 1, f"expected one webhook_logs row, got {len(logs)}"
        log = logs[0]
        assert log["response_status"] == 200 and log["attempt"] == 1 and log["error"] is None
        assert header(log["request_headers"], "webhook-id") == r["headers"]["webhook-id"]
        assert log["duration_ms"] is not None and log["duration_ms"] >= 0
        if log["request_body"] is not None:
            assert log["request_body"] == r["body"]
        hook = api.hook_row(tenant, hook_id)
        assert hook["last_success_at"] is not None and hook["failure_count"] == 0


def test_default_secret_is_standard_webhooks(api):
    tenant = api.tenant()
    hook_id = api.create_webhook(tenant, "https://example.com/hook")
    row = api.hook_row(tenant, hook_id)
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+={0,2}", row["secret"])
    assert len(base64.b64decode(row["secret"][6:])) >= 24, "generated secret shorter than 24 bytes"
    assert row["event_types"] == ["*"] and row["is_active"]
    assert row["max_attempts"] == 8
    assert [str(i) for i in row["retry_schedule"]] == [
        "0:00:05", "0:05:00", "0:30:00", "2:00:00", "5:00:00", "10:00:00", "10:00:00"]


def test_wildcard_matching(api, receiver):
    tenant = api.tenant()
    star = api.hook(tenant, "ok", event_types=["*"])
    prefix = api.hook(tenant, "ok", event_types=["invoice.*"])
    exact = api.hook(tenant, "ok", event_types=["invoice.paid"])
    other = api.hook(tenant, "ok", event_types=["customer.created"])
    event = api.emit(tenant, "invoice.paid", {"n": 1})
    targets = {d["webhook_id"] for d in api.deliveries(tenant, event)}
    assert targets == {star[0], prefix[0], exact[0]}, "fan-out to the wrong webhooks"
    for hook_id, tag, _ in (star, prefix, exact):
        api.wait_status(tenant, hook_id, event, "succeeded")
    time.sleep(GRACE)
    for _, tag, _ in (star, prefix, exact):
        assert len(receiver.requests(tag)) == 1
    assert receiver.requests(other[1]) == []


def test_wildcard_prefix_is_literal(api):
    """'invoice.*' is a prefix up to the dot, and '_' is not a LIKE wildcard."""
    tenant = api.tenant()
    prefix, _, _ = api.hook(tenant, "ok", event_types=["invoice.*"])
    underscore, _, _ = api.hook(tenant, "ok", event_types=["line_item.*"])
    for event_type in ("invoice_item.created", "invoices.paid", "linexitem.created"):
        event = api.emit(tenant, event_type, {})
        assert api.deliveries(tenant, event) == [], f"{event_type} fanned out"
    event = api.emit(tenant, "line_item.created", {})
    assert {d["webhook_id"] for d in api.deliveries(tenant, event)} == {underscore}


def test_idempotency(api, receiver):
    tenant = api.tenant()
    hooks = [api.hook(tenant, "ok"), api.hook(tenant, "ok")]
    first = api.emit(tenant, "order.created", {"order": 1}, key="order-1-created")
    api.wait_status(tenant, hooks[0][0], first, "succeeded")
    second = api.emit(tenant, "order.created", {"order": 1}, key="order-1-created")
    assert second == first, "same idempotency key gave another event id"
    assert api.db.value("SELECT count(*) FROM webhook_events WHERE tenant_id = %s", (tenant,)) == 1
    for hook_id, tag, _ in hooks:
        assert len(api.deliveries(tenant, first, hook_id)) == 1
        api.wait_status(tenant, hook_id, first, "succeeded")
    time.sleep(GRACE)
    for hook_id, tag, _ in hooks:
        assert len(receiver.requests(tag)) == 1
    assert len(api.deliveries(tenant)) == 2


def test_rotation(api, receiver):
    tenant = api.tenant()
    old = new_secret()
    hook_id, tag, _ = api.hook(tenant, "ok", secret=old)
    e1 = api.emit(tenant, "invoice.paid", {"n": 1})
    api.wait_status(tenant, hook_id, e1, "succeeded")
    new = api.db.value("SELECT rotate_webhook_secret(%s, %s)", (tenant, hook_id))
    assert new and re.fullmatch(r"whsec_[A-Za-z0-9+/]+={0,2}", new) and new != old
    receiver.add_secret(new)
    e2 = api.emit(tenant, "invoice.paid", {"n": 2})
    api.wait_status(tenant, hook_id, e2, "succeeded")
    r = wait_for(lambda: [x for x in receiver.requests(tag) if json.loads(x["body"])["data"] == {"n": 2}],
                 "request of the second event")[0]
    sigs = v1_signatures(r["headers"].get("webhook-signature"))
    assert len(sigs) == 2, f"expected 2 v1 signatures, header is {r['headers'].get('webhook-signature')!r}"
    assert old in r["verified_with"], "not verifiable with the old secret"
    assert new in r["verified_with"], "not verifiable with the new secret"
    # Each v1 entry is the reference library's signature with one of the two secrets.
    stamp = dt.datetime.fromtimestamp(int(r["headers"]["webhook-timestamp"]), dt.timezone.utc)
    expected = {Webhook(secret).sign(r["headers"]["webhook-id"], stamp, r["body"]) for secret in (old, new)}
    assert set(sigs) == expected


def test_rotation_without_grace(api, receiver):
    tenant = api.tenant()
    old = new_secret()
    hook_id, tag, _ = api.hook(tenant, "ok", secret=old)
    chosen = new_secret()
    new = api.db.value("SELECT rotate_webhook_secret(%s, %s, %s, '0 seconds')", (tenant, hook_id, chosen))
    assert new == chosen
    receiver.add_secret(new)
    event = api.emit(tenant, "invoice.paid", {"n": 1})
    api.wait_status(tenant, hook_id, event, "succeeded")
    r = wait_for(lambda: receiver.requests(tag), "the request")[0]
    assert len(v1_signatures(r["headers"].get("webhook-signature"))) == 1
    assert r["verified_with"] == [new]


# ---------------------------------------------------------------------------
# Failure injection


def test_fail500_until_max_attempts(api, receiver):
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "fail500")
    event = api.emit(tenant, "invoice.paid", {})
    d = api.wait_status(tenant, hook_id, event, "failed")
    time.sleep(GRACE)
    d = api.delivery(tenant, hook_id, event)
    assert d["status"] == "failed" and d["attempts"] == FAST_ATTEMPTS and d["next_attempt_at"] is None
    assert d["response_status"] == 500 and d["last_error"]
    logs = api.logs(tenant, d["id"])
    assert [l["attempt"] for l in logs] == list(range(1, FAST_ATTEMPTS + 1))
    assert all(l["response_status"] == 500 for l in logs)
    reqs = receiver.requests(tag)
    assert len(reqs) == FAST_ATTEMPTS
    assert len({r["headers"]["webhook-id"] for r in reqs}) == 1, "webhook-id changed across retries"
    assert all(r["verified"] for r in reqs)
    gaps = [b["arrival"] - a["arrival"] for a, b in zip(reqs, reqs[1:])]
    assert all(g >= 0.75 for g in gaps), f"retries sooner than the 1 s schedule (±20 % jitter): {gaps}"
    hook = api.hook_row(tenant, hook_id)
    assert hook["failure_count"] == FAST_ATTEMPTS and hook["last_failure_at"] is not None


def test_flaky_succeeds_on_third_attempt(api, receiver):
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "flaky", fail=2)
    event = api.emit(tenant, "invoice.paid", {})
    d = api.wait_status(tenant, hook_id, event, ("succeeded", "failed"))
    assert d["status"] == "succeeded" and d["attempts"] == 3
    time.sleep(GRACE)
    reqs = receiver.requests(tag)
    assert [r["status"] for r in reqs] == [500, 500, 200]
    assert len({r["headers"]["webhook-id"] for r in reqs}) == 1, "webhook-id changed across retries"
    assert all(r["verified"] for r in reqs)
    assert [l["response_status"] for l in api.logs(tenant, d["id"])] == [500, 500, 200]
    assert api.hook_row(tenant, hook_id)["failure_count"] == 0, "failure_count not reset by the success"


def test_gone_410_disables_endpoint(api, receiver):
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "gone")
    event = api.emit(tenant, "invoice.paid", {})
    d = api.wait_status(tenant, hook_id, event, ("failed", "succeeded"))
    assert d["status"] == "failed" and d["attempts"] == 1 and d["response_status"] == 410
    hook = api.hook_row(tenant, hook_id)
    assert hook["is_active"] is False and hook["disabled_at"] is not None
    assert "410" in (hook["disabled_reason"] or ""), f"disabled_reason {hook['disabled_reason']!r}"
    time.sleep(GRACE)
    assert len(receiver.requests(tag)) == 1
    # A disabled endpoint gets no new deliveries; enable_webhook brings it back.
    later = api.emit(tenant, "invoice.paid", {"later": True})
    assert api.deliveries(tenant, later) == []
    api.db.rows("SELECT enable_webhook(%s, %s)", (tenant, hook_id))
    hook = api.hook_row(tenant, hook_id)
    assert hook["is_active"] and hook["disabled_at"] is None and hook["disabled_reason"] is None
    again = api.emit(tenant, "invoice.paid", {"again": True})
    assert len(api.deliveries(tenant, again)) == 1


def test_ratelimit_429_waits_at_least_60s(api, receiver):
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "ratelimit")
    event = api.emit(tenant, "invoice.paid", {})
    d = wait_for(lambda: [x for x in api.deliveries(tenant, event, hook_id) if x["attempts"] >= 1
                          and x["status"] == "pending"], "first attempt recorded, delivery pending again")[0]
    try:
        assert d["response_status"] == 429
        assert d["due_in"] >= dt.timedelta(seconds=59), f"next attempt in {d['due_in']} after a 429"
        assert len(receiver.requests(tag)) == 1
        logs = api.logs(tenant, d["id"])
        assert len(logs) == 1 and logs[0]["response_status"] == 429
    finally:
        api.cancel(tenant, d["id"])


def test_ratelimit_retry_after_honoured(api, receiver):
    """Retry-After: 120 is within any sane bound: the next attempt is about 120 s later (±20 % jitter)."""
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "ratelimit", after=120)
    event = api.emit(tenant, "invoice.paid", {})
    d = wait_for(lambda: [x for x in api.deliveries(tenant, event, hook_id) if x["attempts"] >= 1
                          and x["status"] == "pending"], "first attempt recorded, delivery pending again")[0]
    try:
        assert dt.timedelta(seconds=95) <= d["due_in"] <= dt.timedelta(seconds=145), \
            f"next attempt in {d['due_in']} after Retry-After: 120"
    finally:
        api.cancel(tenant, d["id"])


def test_redirect_not_followed(api, receiver):
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "redirect")
    event = api.emit(tenant, "invoice.paid", {})
    d = api.wait_status(tenant, hook_id, event, ("failed", "succeeded"))
    assert d["status"] == "failed", "a 302 counted as success"
    assert d["response_status"] == 302
    time.sleep(GRACE)
    logs = api.logs(tenant, d["id"])
    assert logs and all(l["response_status"] == 302 for l in logs)
    location = header(logs[0]["response_headers"], "location")
    assert location is None or location.startswith("/ok")
    reqs = receiver.requests(tag)
    assert reqs and all(r["route"] == "redirect" for r in reqs), \
        f"the Location was followed: {[r['path'] for r in reqs]}"


def test_connection_refused(api, receiver):
    tenant = api.tenant()
    sock = closed_port()
    try:
        port = sock.getsockname()[1]
        hook_id, tag, _ = api.hook(tenant, "ok", url=f"http://127.0.0.1:{port}/ok")
        event = api.emit(tenant, "invoice.paid", {})
        d = api.wait_status(tenant, hook_id, event, ("failed", "succeeded"))
    finally:
        sock.close()
    assert d["status"] == "failed" and d["attempts"] == FAST_ATTEMPTS, f"delivery {d['status']} after {d['attempts']}"
    assert d["response_status"] is None and d["last_error"]
    logs = api.logs(tenant, d["id"])
    assert len(logs) == FAST_ATTEMPTS, f"{len(logs)} webhook_logs rows for {FAST_ATTEMPTS} attempts"
    assert all(l["error"] and l["response_status"] is None for l in logs)
    assert re.search(r"refused|connect", logs[0]["error"], re.I), f"error {logs[0]['error']!r}"


def test_timeout(api, receiver):
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "slow", timeout_ms=200, ms=2000)
    event = api.emit(tenant, "invoice.paid", {})
    d = wait_for(lambda: [x for x in api.deliveries(tenant, event, hook_id) if x["attempts"] >= 1
                          and x["status"] in ("pending", "failed", "succeeded")], "first attempt finished")[0]
    try:
        assert d["status"] == "pending", f"delivery {d['status']} after a timeout"
        assert d["due_in"] >= dt.timedelta(seconds=59), f"next attempt in {d['due_in']} after a timeout"
        logs = api.logs(tenant, d["id"])
        assert len(logs) == 1
        assert logs[0]["response_status"] is None
        assert re.search(r"time(d)?[ _-]?out", logs[0]["error"] or "", re.I), f"error {logs[0]['error']!r}"
        assert logs[0]["duration_ms"] is not None and 150 <= logs[0]["duration_ms"] < 1900, \
            f"duration_ms {logs[0]['duration_ms']} for a 200 ms timeout"
        assert re.search(r"time(d)?[ _-]?out", d["last_error"] or "", re.I)
        assert len(receiver.requests(tag)) == 1
    finally:
        api.cancel(tenant, d["id"])


def test_large_response_body_truncated(api, receiver):
    """webhook_logs.response_body keeps about 20 KB of a 100 KB response."""
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "big", kb=100)
    event = api.emit(tenant, "invoice.paid", {})
    d = api.wait_status(tenant, hook_id, event, ("succeeded", "failed"))
    assert d["status"] == "succeeded"
    logs = api.logs(tenant, d["id"])
    assert len(logs) == 1 and logs[0]["response_status"] == 200
    body = logs[0]["response_body"] or ""
    assert 1024 <= len(body) <= 21 * 1024, f"response_body of {len(body)} characters for a 100 KiB response"
    assert d["response_body"] is None or len(d["response_body"]) <= 21 * 1024


def test_payload_is_stored_and_signed_exactly(api, receiver):
    """No f64 round trip: big and precise numbers, 1e400 and deep nesting arrive as jsonb keeps them, signed."""
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "ok")
    text = '{"amount": 1234567890123456789.99, "huge": 1e400, "deep": ' + "[" * 300 + "]" * 300 + "}"
    event = api.db.value("SELECT emit_webhook_event(%s, 'invoice.paid', %s::jsonb)", (tenant, text))
    stored = api.db.value("SELECT payload::text FROM webhook_events WHERE tenant_id = %s AND id = %s", (tenant, event))
    expected = api.db.value("SELECT %s::jsonb::text", (text,))
    assert stored == expected and "1234567890123456789.99" in stored, stored[:80]
    d = api.wait_status(tenant, hook_id, event, ("succeeded", "failed"))
    assert d["status"] == "succeeded"
    [request] = receiver.requests(tag)
    assert request["verified"], request["verify_error"]
    assert json.loads(request["body"], parse_float=str, parse_int=str)["data"]["amount"] == "1234567890123456789.99"
    assert ('"data": ' + expected) in request["body"] or ('"data":' + expected) in request["body"]


def test_nul_in_response_body_is_stored_as_text_can_hold_it(api, receiver):
    """A NUL in a receiver's body becomes U+FFFD: text cannot hold NUL (COPY, so pg_dump, would cut there)."""
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "nul")
    event = api.emit(tenant, "invoice.paid", {})
    d = api.wait_status(tenant, hook_id, event, ("succeeded", "failed"))
    assert d["status"] == "succeeded"
    logs = api.logs(tenant, d["id"])
    assert len(logs) == 1 and logs[0]["response_body"] == "ok\ufffdafter", f"response_body {logs[0]['response_body']!r}"
    position = api.db.value("SELECT position(E'\\ufffd' IN response_body) FROM webhook_logs"
                            " WHERE tenant_id = %s AND delivery_id = %s", (tenant, d["id"]))
    assert position == 3, position


# ---------------------------------------------------------------------------
# Retry and replay


def test_retry_failed_delivery(api, receiver):
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "flaky", fail=1)
    api.db.rows("UPDATE webhooks SET max_attempts = 1 WHERE tenant_id = %s AND id = %s", (tenant, hook_id))
    event = api.emit(tenant, "invoice.paid", {})
    d = api.wait_status(tenant, hook_id, event, ("failed", "succeeded"))
    assert d["status"] == "failed" and d["attempts"] == 1
    api.db.rows("SELECT retry_webhook_delivery(%s, %s)", (tenant, d["id"]))
    d = api.wait_status(tenant, hook_id, event, "succeeded")
    reqs = receiver.requests(tag)
    assert [r["status"] for r in reqs] == [500, 200]
    assert reqs[0]["headers"]["webhook-id"] == reqs[1]["headers"]["webhook-id"]


def test_replay(api, receiver):
    """replay_webhook_deliveries re-sends the webhook's failed deliveries created since `since`."""
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "flaky", fail=1)  # each event's first request fails
    api.db.rows("UPDATE webhooks SET max_attempts = 1 WHERE tenant_id = %s AND id = %s", (tenant, hook_id))
    before = api.emit(tenant, "invoice.paid", {"n": 0})
    api.wait_status(tenant, hook_id, before, "failed")
    since = api.db.value("SELECT now()")
    events = [api.emit(tenant, "invoice.paid", {"n": n}) for n in (1, 2)]
    for event in events:
        api.wait_status(tenant, hook_id, event, "failed")
    replayed = api.db.value("SELECT replay_webhook_deliveries(%s, %s, %s)", (tenant, hook_id, since))
    assert replayed == 2
    for event in events:
        api.wait_status(tenant, hook_id, event, "succeeded")
    time.sleep(GRACE)
    assert api.delivery(tenant, hook_id, before)["status"] == "failed", "a delivery older than `since` was replayed"
    reqs = receiver.requests(tag)
    assert sorted((json.loads(r["body"])["data"]["n"], r["status"]) for r in reqs) == [
        (0, 500), (1, 200), (1, 500), (2, 200), (2, 500)]
    assert all(r["verified"] for r in reqs)


# ---------------------------------------------------------------------------
# Private addresses (second cluster, default marimo_erp.webhook_allow_private_networks = off)

PRIVATE_ERROR = re.compile(r"private|loopback|link[- ]local", re.I)


def _private_error(api, tenant, hook_id, event):
    def check():
        d = api.delivery(tenant, hook_id, event)
        errors = [d["last_error"]] + [l["error"] for l in api.logs(tenant, d["id"])]
        return [e for e in errors if e] or None
    return wait_for(check, "an error recorded for the refused delivery")


def test_private_addresses_refused(private_cluster, receiver):
    api = Api(private_cluster.db, receiver)
    wait_for(lambda: _worker_pids(private_cluster.db), "the worker of the second cluster", timeout=30)
    # First the loopback receiver: only once it is refused are the other addresses written
    # into webhooks (one attempt each, short timeout), so a worker that does not check
    # addresses sends at most one request to them.
    tenant = api.tenant()
    loop_id, loop_tag, _ = api.hook(tenant, "ok")
    event = api.emit(tenant, "invoice.paid", {})
    errors = _private_error(api, tenant, loop_id, event)
    time.sleep(GRACE)
    assert receiver.requests(loop_tag) == [], "the loopback receiver was requested"
    assert any(PRIVATE_ERROR.search(e) for e in errors), f"127.0.0.1: errors do not mention it: {errors}"
    d = api.delivery(tenant, loop_id, event)
    assert d["status"] != "succeeded" and d["response_status"] is None

    tenant = api.tenant()
    hooks = []
    for url in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/"):
        hook_id, _, _ = api.hook(tenant, "ok", url=url, timeout_ms=500)
        api.db.rows("UPDATE webhooks SET max_attempts = 1 WHERE tenant_id = %s AND id = %s", (tenant, hook_id))
        hooks.append((hook_id, url))
    event = api.emit(tenant, "invoice.paid", {})
    for hook_id, url in hooks:
        errors = _private_error(api, tenant, hook_id, event)
        assert any(PRIVATE_ERROR.search(e) for e in errors), f"{url}: errors do not mention it: {errors}"
        d = api.delivery(tenant, hook_id, event)
        assert d["status"] != "succeeded" and d["response_status"] is None
        assert all(l["response_status"] is None for l in api.logs(tenant, d["id"]))


def test_private_hostname_refused(private_cluster, receiver):
    """A name that resolves to loopback is refused as well (checked after resolution)."""
    api = Api(private_cluster.db, receiver)
    tenant = api.tenant()
    tag = uuid.uuid4().hex[:16]
    hook_id, _, _ = api.hook(tenant, "ok", url=f"http://localhost:{receiver.port}/ok?tag={tag}")
    event = api.emit(tenant, "invoice.paid", {})
    errors = _private_error(api, tenant, hook_id, event)
    assert any(PRIVATE_ERROR.search(e) for e in errors), f"errors do not mention it: {errors}"
    time.sleep(GRACE)
    assert receiver.requests(tag) == [], "localhost was requested"


# ---------------------------------------------------------------------------
# No shared_preload_libraries: the SQL API works, nothing is sent


def test_no_preload(nopreload_cluster, receiver):
    db = nopreload_cluster.db
    api = Api(db, receiver)
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "ok")
    event = api.emit(tenant, "invoice.paid", {"n": 1})
    assert db.value("SELECT count(*) FROM webhook_events WHERE tenant_id = %s", (tenant,)) == 1
    time.sleep(3)
    d = api.delivery(tenant, hook_id, event)
    assert d["status"] == "pending" and d["attempts"] == 0
    assert api.logs(tenant, d["id"]) == []
    assert receiver.requests(tag) == []
    assert _worker_pids(db) == []


def test_expired_lease_on_last_attempt(api, receiver):
    """A delivery left in_progress by a worker that died during its last allowed attempt
    (the state a crash leaves) still ends, and the worker goes on delivering others."""
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "ok")
    api.db.rows("UPDATE webhooks SET max_attempts = 1 WHERE tenant_id = %s AND id = %s", (tenant, hook_id))
    stuck = api.emit(tenant, "invoice.paid", {"stuck": True})
    d = api.wait_status(tenant, hook_id, stuck, "succeeded")
    # As if the worker had died mid-request on attempt 1 of 1 and its lease had lapsed.
    api.db.rows("UPDATE webhook_deliveries SET status = 'in_progress', attempts = max_attempts, delivered_at = NULL,"
                " lease_token = gen_random_uuid(), lease_expires_at = now() - interval '1 second'"
                " WHERE tenant_id = %s AND id = %s", (tenant, d["id"]))
    try:
        d = api.wait_status(tenant, hook_id, stuck, ("succeeded", "failed"))
        assert d["attempts"] <= d["max_attempts"]
        later = api.emit(tenant, "invoice.paid", {"later": True})
        api.wait_status(tenant, hook_id, later, "succeeded")
    finally:
        api.db.rows("UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, lease_token = NULL,"
                    " lease_expires_at = NULL WHERE tenant_id = %s AND id = %s AND status = 'in_progress'",
                    (tenant, d["id"]))


# ---------------------------------------------------------------------------
# Durability: the worker dies mid-request; the delivery is re-sent after its lease
# (last: it kills the main cluster's worker)


def test_worker_killed_mid_request(api, main_cluster, receiver):
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "slow", timeout_ms=5000, ms=3000)
    event = api.emit(tenant, "invoice.paid", {"durable": True})
    wait_for(lambda: receiver.requests(tag), "the request's arrival")
    before = _worker_pids(api.db)
    assert before, "no worker to kill"
    killed = api.db.rows(f"SELECT pid, pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE {WORKER_FILTER}")
    assert killed and all(k["ok"] for k in killed)
    try:
        api.db.value("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.fail(f"terminating the worker reset every backend (crash restart?): {exc}")
    mid = api.delivery(tenant, hook_id, event)
    d = api.wait_status(tenant, hook_id, event, ("succeeded", "failed"), timeout=120)
    assert d["status"] == "succeeded", f"delivery {d['status']}: {d['last_error']}"
    after = _worker_pids(api.db)
    assert after and not set(after) & set(before), f"worker not restarted: before {before}, after {after}"
    reqs = receiver.requests(tag)
    assert len(reqs) >= 1
    assert len({r["headers"]["webhook-id"] for r in reqs}) == 1, "webhook-id changed when re-sent"
    assert all(r["verified"] for r in reqs)
    print(f"durability: {len(reqs)} request(s), delivery was {mid['status']} right after the kill")


def test_backlog_of_a_slow_endpoint_does_not_hold_up_others(api, receiver):
    # A slow endpoint with one request in flight at most and a long backlog of due
    # deliveries: the worker claims endpoint by endpoint, so another tenant's
    # delivery goes out at once instead of waiting behind the backlog.
    slow_tenant = api.tenant()
    slow_id, _, _ = api.hook(slow_tenant, "slow", ms=2000)
    api.db.row("UPDATE webhooks SET max_in_flight = 1 WHERE tenant_id = %s AND id = %s", (slow_tenant, slow_id))
    api.db.row("SELECT count(emit_webhook_event(%s, 'invoice.paid', '{}'::jsonb)) FROM generate_series(1, 300)",
               (slow_tenant,))
    healthy_tenant = api.tenant()
    healthy_id, _, _ = api.hook(healthy_tenant, "ok")
    event = api.emit(healthy_tenant, "invoice.paid", {"n": 1})
    started = time.time()
    api.wait_status(healthy_tenant, healthy_id, event, "succeeded", timeout=5)
    assert time.time() - started < 5
    in_flight = api.db.value("SELECT count(*) FROM webhook_deliveries WHERE tenant_id = %s AND status = 'in_progress'",
                             (slow_tenant,))
    assert in_flight <= 1, f"max_in_flight = 1 but {in_flight} in flight"
    api.db.row("UPDATE webhooks SET is_active = false WHERE tenant_id = %s AND id = %s", (slow_tenant, slow_id))


def test_endpoint_disabled_after_consecutive_failures(api, receiver):
    # Endpoint health (0.10.0): once at least disable_after_failures attempts in
    # a row have failed over at least disable_after, the endpoint is disabled
    # with a reason, and its remaining deliveries wait.
    tenant = api.tenant()
    hook_id, tag, _ = api.hook(tenant, "fail500")
    api.db.row("UPDATE webhooks SET disable_after_failures = 2, disable_after = '2 seconds', max_attempts = 10"
               " WHERE tenant_id = %s AND id = %s", (tenant, hook_id))
    event = api.emit(tenant, "invoice.paid", {"n": 1})
    wait_for(lambda: not api.hook_row(tenant, hook_id)["is_active"], "the endpoint to be disabled")
    hook = api.hook_row(tenant, hook_id)
    failures = hook["failure_count"]
    assert failures >= 3, "two failures within a second do not disable it; the third, 2 s on, does"
    assert f"{failures} consecutive failed attempts, failing since" in hook["disabled_reason"]
    assert hook["disabled_at"] is not None
    time.sleep(GRACE)
    delivery = api.delivery(tenant, hook_id, event)
    assert delivery["status"] == "pending", "a disabled endpoint's delivery waits, it is not failed"
    assert len(receiver.requests(tag)) == failures
    # Re-enabled, it resumes and the count starts again.
    api.db.row("SELECT enable_webhook(%s, %s)", (tenant, hook_id))
    wait_for(lambda: len(receiver.requests(tag)) > failures, "another attempt after enable_webhook")
