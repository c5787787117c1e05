"""Fairness across tenants (issue 14, item 3): one tenant cannot starve the others.

A throwaway cluster of its own (54353 `webhooks-fairness`, the worker preloaded,
private networks allowed), so that its settings and its floods touch no other
test. Tenant A attacks, tenant B is measured: B's webhook goes to the shared
loopback receiver (receiver.py, which logs each request's arrival), and B's
latency is the time from just before emit_webhook_event to the arrival there.
Tenant A's endpoints are sinks in this process (`Sink`): one that answers 200 at
once (floods, large payloads) and one that accepts connections and never answers.

Each attack prints its figures (B's median and worst latency, what A got through);
the acceptance bound is B's median under 1 s. The flood's size is FAIRNESS_FLOOD
events (default 20000), fanned out to 4 endpoints of A, plus events emitted
during the measurement.
"""

import json
import os
import socket
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
from psycopg.types.json import Jsonb

from test_delivery import Api, Cluster, Receiver, wait_for, new_secret  # noqa: F401  (shared helpers)
import test_delivery

FLOOD_EVENTS = int(os.environ.get("FAIRNESS_FLOOD", "20000"))
A_HOOKS = 4  # endpoints of the attacking tenant
SAMPLES = 20  # B's events per measurement
SAMPLE_INTERVAL = 0.25  # s between B's events
MAX_TIMEOUT_MS = 3000  # marimo_erp.webhook_max_timeout of this cluster
TENANT_MAX_IN_FLIGHT = 16  # marimo_erp.webhook_tenant_max_in_flight of this cluster (its default)


# ---------------------------------------------------------------------------
# Tenant A's endpoints


class _OkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.requests += 1
            self.server.bytes += len(body)
            self.server.largest = max(self.server.largest, len(body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


class Sink:
    """A loopback endpoint in this process: 'ok' answers 200 at once, 'hang' never answers."""

    def __init__(self, mode):
        self.mode = mode
        self.held = []
        if mode == "ok":
            self.server = ThreadingHTTPServer(("127.0.0.1", 0), _OkHandler)
            self.server.daemon_threads = True
            self.server.lock = threading.Lock()
            self.server.requests = self.server.bytes = self.server.largest = 0
            self.port = self.server.server_address[1]
            self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                           daemon=True)
        else:
            self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.listener.bind(("127.0.0.1", 0))
            self.listener.listen(1024)
            self.port = self.listener.getsockname()[1]
            self.thread = threading.Thread(target=self._hold, daemon=True)
        self.thread.start()

    def _hold(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(conn)  # read nothing, answer nothing

    def url(self, path="/a"):
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def requests(self):
        return self.server.requests if self.mode == "ok" else len(self.held)

    def close(self):
        if self.mode == "ok":
            self.server.shutdown()
            self.server.server_close()
        else:
            # The listener first, so that the worker's one retry on a new connection is refused.
            self.listener.close()
            for conn in self.held:
                try:
                    conn.close()
                except OSError:
                    pass


# ---------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def fair_receiver(tmp_path_factory):
    if os.environ.get("WEBHOOK_RECEIVER_PORT"):
        return Receiver(int(os.environ["WEBHOOK_RECEIVER_PORT"]), os.environ["WEBHOOK_RECEIVER_LOG"],
                        os.environ["WEBHOOK_RECEIVER_SECRETS"])
    pytest.skip("run through pg_test/webhooks/run, which starts the receiver")


@pytest.fixture(scope="module")
def fair_cluster():
    cluster = Cluster("webhooks-fairness", 54353, "webhooks_fairness", [
        "shared_preload_libraries = 'marimo_erp'",
        "marimo_erp.database = 'webhooks_fairness'",
        "marimo_erp.webhook_allow_private_networks = on",
        f"marimo_erp.webhook_max_timeout = {MAX_TIMEOUT_MS}",
        f"marimo_erp.webhook_tenant_max_in_flight = {TENANT_MAX_IN_FLIGHT}",
    ])
    try:
        cluster.start()
    except Exception:
        print(cluster.log_tail())
        cluster.stop()
        raise
    wait_for(lambda: test_delivery._worker_pids(cluster.db), "the marimo_erp webhook worker", timeout=30)
    yield cluster
    cluster.stop()


@pytest.fixture
def fair(fair_cluster, fair_receiver):
    return Api(fair_cluster.db, fair_receiver)


def connect(cluster):
    return psycopg.connect(host=cluster.dir, port=cluster.port, user="postgres", dbname=cluster.dbname,
                           autocommit=True)


def worker_pid(db):
    pids = test_delivery._worker_pids(db)
    return pids[0] if pids else None


def rss_kb(pid, field="VmRSS"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


# ---------------------------------------------------------------------------
# Measurement


def measure_b(api, cluster, label, samples=SAMPLES, interval=SAMPLE_INTERVAL, wait=60.0):
    """Tenant B emits SAMPLES events; returns their latencies (s; None if never received)."""
    tenant_b = api.tenant()
    hook_b, tag, _ = api.hook(tenant_b, "ok")
    sent = {}
    with connect(cluster) as conn:
        for i in range(samples):
            started = time.time()
            event = conn.execute("SELECT emit_webhook_event(%s, 'probe.sent', %s)",
                                 (tenant_b, Jsonb({"i": i}))).fetchone()[0]
            sent[str(event)] = started
            time.sleep(interval)

    def arrived():
        seen = {r["headers"].get("webhook-id"): r["arrival"] for r in api.receiver.requests(tag)}
        return seen if all(e in seen for e in sent) else None

    try:
        seen = wait_for(arrived, f"tenant B's {samples} deliveries", timeout=wait, interval=0.2)
    except AssertionError:
        seen = {r["headers"].get("webhook-id"): r["arrival"] for r in api.receiver.requests(tag)}
    latencies = [(seen[e] - t) if e in seen else None for e, t in sent.items()]
    got = sorted(x for x in latencies if x is not None)
    missing = len(latencies) - len(got)
    ranked = got + [float("inf")] * missing
    median = statistics.median(ranked)
    print(f"\n[fairness] {label}: tenant B median {median * 1000:.0f} ms, "
          f"p90 {ranked[int(len(ranked) * 0.9) - 1] * 1000:.0f} ms, worst "
          f"{(max(got) * 1000 if got else float('inf')):.0f} ms, "
          f"{len(got)}/{len(latencies)} received within {wait:.0f} s")
    return median, latencies


class Emitter(threading.Thread):
    """Tenant A emitting batches in its own connection until stopped."""

    def __init__(self, cluster, tenant, payload_sql, batch):
        super().__init__(daemon=True)
        self.cluster, self.tenant, self.payload_sql, self.batch = cluster, tenant, payload_sql, batch
        self.stop_flag = threading.Event()
        self.emitted = 0
        self.error = None

    def run(self):
        try:
            with connect(self.cluster) as conn:
                while not self.stop_flag.is_set():
                    conn.execute(
                        f"SELECT count(emit_webhook_event(%s, 'flood.tick', {self.payload_sql}))"
                        " FROM generate_series(1, %s) g", (self.tenant, self.batch))
                    self.emitted += self.batch
        except Exception as exc:  # reported by the test
            self.error = exc

    def stop(self):
        self.stop_flag.set()
        self.join(timeout=60)


def attacker(api, sink, hooks=A_HOOKS, timeout_ms=120000):
    """Tenant A with HOOKS endpoints at SINK, each with the most the table allows."""
    tenant_a = api.tenant()
    ids = []
    for n in range(hooks):
        hook_id = api.create_webhook(tenant_a, sink.url(f"/a{n}"))
        api.db.rows("UPDATE webhooks SET max_in_flight = 256, timeout_ms = %s WHERE tenant_id = %s AND id = %s",
                    (timeout_ms, tenant_a, hook_id))
        ids.append(hook_id)
    return tenant_a, ids


def stand_down(api, tenant_a):
    """Stops tenant A's remaining deliveries, so that later tests do not wait behind them.

    As an operator would while the worker runs: the endpoints first, so that no
    claim takes A's deliveries any more, then the backlog in batches that skip
    rows the worker holds. One UPDATE of the whole backlog deadlocked with the
    worker (CI, PostgreSQL 18): the rows the worker claimed while it ran, which
    it rechecked and skipped, it kept locked (as READ COMMITTED does), so the
    worker's record of a round waited on it, and it waited on the record, which
    had already written rows further on."""
    api.db.rows("UPDATE webhooks SET is_active = false WHERE tenant_id = %s", (tenant_a,))

    def none_left_pending():
        batch = api.db.rows(
            "WITH batch AS (SELECT tenant_id, id FROM webhook_deliveries"
            "                WHERE tenant_id = %s AND status = 'pending' LIMIT 10000 FOR UPDATE SKIP LOCKED)"
            " UPDATE webhook_deliveries d SET status = 'cancelled', next_attempt_at = NULL"
            "   FROM batch WHERE d.tenant_id = batch.tenant_id AND d.id = batch.id RETURNING 1", (tenant_a,))
        return not batch and not api.db.value(
            "SELECT count(*) FROM webhook_deliveries WHERE tenant_id = %s AND status = 'pending'", (tenant_a,))

    wait_for(none_left_pending, "tenant A's pending deliveries to be cancelled", timeout=60)


def in_flight(api, tenant):
    return api.db.value("SELECT count(*) FROM webhook_deliveries WHERE tenant_id = %s AND status = 'in_progress'"
                        " AND lease_expires_at > now()", (tenant,))


def setting(api, name, default=None):
    value = api.db.value("SELECT current_setting(%s, true)", (name,))
    return default if value in (None, "") else value


# ---------------------------------------------------------------------------
# The three attacks


def test_flood_does_not_starve_another_tenant(fair, fair_cluster):
    sink = Sink("ok")
    tenant_a, _ = attacker(fair, sink)
    emitter = None
    try:
        started = time.time()
        fair.db.rows("SELECT count(emit_webhook_event(%s, 'flood.tick', jsonb_build_object('i', g)))"
                     " FROM generate_series(1, %s) g", (tenant_a, FLOOD_EVENTS))
        print(f"\n[fairness] flood: {FLOOD_EVENTS} events x {A_HOOKS} endpoints of tenant A emitted in "
              f"{time.time() - started:.1f} s")
        emitter = Emitter(fair_cluster, tenant_a, "jsonb_build_object('i', g)", 500)
        emitter.start()
        peak = [0]

        def watch():
            while not emitter.stop_flag.is_set():
                peak[0] = max(peak[0], in_flight(fair, tenant_a) or 0)
                time.sleep(0.1)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        before = sink.requests
        t0 = time.time()
        median, _ = measure_b(fair, fair_cluster, f"flood of {FLOOD_EVENTS}+ events by tenant A")
        rate = (sink.requests - before) / (time.time() - t0)
        emitter.stop()
        watcher.join(timeout=5)
        backlog = fair.db.value("SELECT count(*) FROM webhook_deliveries WHERE tenant_id = %s AND status = 'pending'",
                                (tenant_a,))
        print(f"[fairness] flood: tenant A got {rate:.0f} requests/s through meanwhile, emitted "
              f"{emitter.emitted} more, {backlog} still pending; at most {peak[0]} of A's in flight")
        assert emitter.error is None, emitter.error
        assert median < 1.0, f"tenant B's median latency {median:.2f} s under tenant A's flood"
        limit = int(setting(fair, "marimo_erp.webhook_tenant_max_in_flight", "256"))
        assert peak[0] <= limit, f"{peak[0]} of tenant A's deliveries in flight, tenant limit {limit}"
        assert rate > 0, "tenant A got nothing through: fairness must not stop the flooding tenant"
    finally:
        if emitter is not None and emitter.is_alive():
            emitter.stop()
        stand_down(fair, tenant_a)
        sink.close()


def test_round_robin_across_several_flooding_tenants(fair, fair_cluster):
    # Five flooding tenants together offer more due deliveries than the worker
    # has room for (5 x 16 > 2 x webhook_senders): only the round robin puts
    # tenant B's newest event before their older backlogs.
    sink = Sink("ok")
    attackers = [attacker(fair, sink)[0] for _ in range(5)]
    try:
        started = time.time()
        for tenant_a in attackers:
            fair.db.rows("SELECT count(emit_webhook_event(%s, 'flood.tick', jsonb_build_object('i', g)))"
                         " FROM generate_series(1, %s) g", (tenant_a, FLOOD_EVENTS // 10))
        print(f"\n[fairness] round robin: 5 tenants x {FLOOD_EVENTS // 10} events x {A_HOOKS} endpoints emitted in "
              f"{time.time() - started:.1f} s")
        median, _ = measure_b(fair, fair_cluster, "5 tenants flood at once")
        assert median < 1.0, f"tenant B's median latency {median:.2f} s while five tenants flood"
    finally:
        for tenant_a in attackers:
            stand_down(fair, tenant_a)
        sink.close()


def test_hanging_receiver_holds_only_its_own_slots(fair, fair_cluster):
    sink = Sink("hang")
    tenant_a, hooks = attacker(fair, sink, timeout_ms=120000)
    try:
        fair.db.rows("SELECT count(emit_webhook_event(%s, 'hang.tick', jsonb_build_object('i', g)))"
                     " FROM generate_series(1, 300) g", (tenant_a,))
        wait_for(lambda: sink.requests >= 1, "tenant A's requests to reach the hanging endpoint")
        time.sleep(0.5)
        held = in_flight(fair, tenant_a)
        lease = fair.db.value("SELECT max(lease_expires_at - now()) FROM webhook_deliveries"
                              " WHERE tenant_id = %s AND status = 'in_progress'", (tenant_a,))
        print(f"\n[fairness] hang: {held} of tenant A's deliveries in flight, {sink.requests} connections"
              f" held, longest lease {lease}")
        median, _ = measure_b(fair, fair_cluster, "tenant A's receiver never answers", wait=150)
        assert median < 1.0, f"tenant B's median latency {median:.2f} s while tenant A's receiver hangs"
        limit = int(setting(fair, "marimo_erp.webhook_tenant_max_in_flight", "256"))
        assert held <= limit, f"{held} of tenant A's deliveries in flight, tenant limit {limit}"
        # timeout_ms = 120000, but the setting bounds it: the lease and the request.
        assert lease.total_seconds() <= MAX_TIMEOUT_MS / 1000 + 30 + 1, f"lease of {lease} for a bounded timeout"
        log = wait_for(lambda: fair.db.row(
            "SELECT duration_ms, error FROM webhook_logs WHERE tenant_id = %s ORDER BY created_at LIMIT 1",
            (tenant_a,)), "the first hung request to time out", timeout=MAX_TIMEOUT_MS / 1000 + 15)
        print(f"[fairness] hang: first request of tenant A ended after {log['duration_ms']} ms: {log['error']}")
        assert log["duration_ms"] < MAX_TIMEOUT_MS + 2000, log
    finally:
        stand_down(fair, tenant_a)
        sink.close()


def test_large_payloads_do_not_starve_another_tenant(fair, fair_cluster):
    cap = int(setting(fair, "marimo_erp.webhook_max_payload_bytes", "1048576"))
    # A JSON string whose text is exactly the cap: the largest payload allowed.
    payload_sql = f"to_jsonb(repeat('x', {cap - 2}) || '')"
    sink = Sink("ok")
    tenant_a, _ = attacker(fair, sink)
    emitter = None
    try:
        pid = worker_pid(fair.db)
        rss_before = rss_kb(pid)
        fair.db.rows(f"SELECT count(emit_webhook_event(%s, 'big.tick', {payload_sql})) FROM generate_series(1, 40) g",
                     (tenant_a,))
        emitter = Emitter(fair_cluster, tenant_a, payload_sql, 4)
        emitter.start()
        peak = [0]

        def watch():
            while not emitter.stop_flag.is_set():
                peak[0] = max(peak[0], rss_kb(pid) or 0)
                time.sleep(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        median, _ = measure_b(fair, fair_cluster, f"tenant A sends {cap}-byte payloads")
        emitter.stop()
        watcher.join(timeout=5)
        print(f"[fairness] large payloads: tenant A got {sink.requests} requests of up to {sink.server.largest} bytes"
              f" through; worker RSS {rss_before} kB before, peak {peak[0]} kB (VmHWM {rss_kb(pid, 'VmHWM')} kB)")
        assert emitter.error is None, emitter.error
        assert median < 1.0, f"tenant B's median latency {median:.2f} s while tenant A sends large payloads"
        assert sink.requests > 0
        assert peak[0] < 512 * 1024, f"worker RSS peaked at {peak[0]} kB"
    finally:
        if emitter is not None and emitter.is_alive():
            emitter.stop()
        stand_down(fair, tenant_a)
        sink.close()


# ---------------------------------------------------------------------------
# Limits


def test_create_webhook_beyond_webhooks_count_refused(fair, fair_cluster):
    tenant = fair.tenant()
    fair.db.rows("UPDATE tenants SET limits = '{\"webhooks_count\": 3}' WHERE id = %s", (tenant,))
    for n in range(3):
        fair.create_webhook(tenant, f"https://hooks.example.com/{n}")
    with pytest.raises(psycopg.Error) as refused:
        fair.create_webhook(tenant, "https://hooks.example.com/4")
    assert refused.value.sqlstate == "53400", refused.value.sqlstate
    assert "webhooks_count" in str(refused.value) and "3" in str(refused.value), str(refused.value)
    # A direct INSERT, as an application may make, is refused alike.
    with pytest.raises(psycopg.Error) as direct:
        fair.db.rows("INSERT INTO webhooks (tenant_id, name, url, secret) VALUES (%s, 'direct', %s, %s)",
                     (tenant, "https://hooks.example.com/direct", new_secret()))
    assert direct.value.sqlstate == "53400", direct.value.sqlstate
    assert fair.db.value("SELECT count(*) FROM webhooks WHERE tenant_id = %s", (tenant,)) == 3
    # Without the key, no limit.
    other = fair.tenant()
    for n in range(5):
        fair.create_webhook(other, f"https://hooks.example.com/{n}")


def test_concurrent_inserts_cannot_pass_webhooks_count(fair, fair_cluster):
    tenant = fair.tenant()
    fair.db.rows("UPDATE tenants SET limits = '{\"webhooks_count\": 1}' WHERE id = %s", (tenant,))
    first, second = connect(fair_cluster), connect(fair_cluster)
    try:
        first.execute("BEGIN")
        first.execute("SELECT create_webhook(%s, 'https://hooks.example.com/1')", (tenant,))
        outcome = {}

        def other():
            try:
                second.execute("SELECT create_webhook(%s, 'https://hooks.example.com/2')", (tenant,))
                outcome["ok"] = True
            except psycopg.Error as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(1.0)
        assert thread.is_alive(), f"the second insert did not wait for the first: {outcome}"
        first.execute("COMMIT")
        thread.join(timeout=15)
        assert "error" in outcome and outcome["error"].sqlstate == "53400", outcome
        assert fair.db.value("SELECT count(*) FROM webhooks WHERE tenant_id = %s", (tenant,)) == 1
    finally:
        first.close()
        second.close()


def test_payload_over_the_cap_refused(fair, fair_cluster):
    cap = int(setting(fair, "marimo_erp.webhook_max_payload_bytes", "1048576"))
    tenant = fair.tenant()
    with pytest.raises(psycopg.Error) as refused:
        fair.db.value("SELECT emit_webhook_event(%s, 'big.one', to_jsonb(repeat('x', %s)))", (tenant, cap - 1))
    assert refused.value.sqlstate == "54000", refused.value.sqlstate
    assert '"payload"' in str(refused.value) and str(cap) in str(refused.value), str(refused.value)
    # 50 MB, as in the attack: refused before anything is stored.
    with pytest.raises(psycopg.Error) as huge:
        fair.db.value("SELECT emit_webhook_event(%s, 'big.one', to_jsonb(repeat('x', 50 * 1024 * 1024)))", (tenant,))
    assert huge.value.sqlstate == "54000", huge.value.sqlstate
    # Directly into the table, as an application may.
    with pytest.raises(psycopg.Error) as direct:
        fair.db.rows("INSERT INTO webhook_events (tenant_id, event_type, payload) VALUES (%s, 'big.one',"
                     " to_jsonb(repeat('x', %s)))", (tenant, cap - 1))
    assert direct.value.sqlstate == "54000", direct.value.sqlstate
    assert "payload" in str(direct.value)
    event = fair.db.value("INSERT INTO webhook_events (tenant_id, event_type, payload) VALUES (%s, 'small.one', '{}')"
                          " RETURNING id", (tenant,))
    # An update under a tenant context (as an application makes it) is refused;
    # an operator's, outside one, is not (as pg_restore, it may keep what exists).
    app = connect(fair_cluster)
    try:
        with pytest.raises(psycopg.Error) as grown:
            with app.transaction():
                app.execute("SELECT set_tenant(%s)", (tenant,))
                app.execute("UPDATE webhook_events SET payload = to_jsonb(repeat('x', %s))"
                            " WHERE tenant_id = %s AND id = %s", (cap - 1, tenant, event))
        assert grown.value.sqlstate == "54000", grown.value.sqlstate
    finally:
        app.close()
    fair.db.rows("UPDATE webhook_events SET payload = to_jsonb(repeat('x', %s)) WHERE tenant_id = %s AND id = %s",
                 (cap - 1, tenant, event))
    assert fair.db.value("SELECT payload_bytes FROM webhook_events WHERE tenant_id = %s AND id = %s",
                         (tenant, event)) == cap + 1
    assert fair.db.value("SELECT count(*) FROM webhook_events WHERE tenant_id = %s", (tenant,)) == 1


def test_payload_at_the_cap_delivered_byte_exact(fair):
    cap = int(setting(fair, "marimo_erp.webhook_max_payload_bytes", "1048576"))
    tenant = fair.tenant()
    hook_id, tag, secret = fair.hook(tenant, "ok")
    # Multi-byte characters and escapes, padded to exactly the cap in UTF-8 bytes.
    unit = 'é✓"\\x'
    head = json.dumps(unit * 1000, ensure_ascii=False)  # a JSON string, as jsonb prints it
    pad = cap - len(head.encode())
    text = head[:-1] + "y" * pad + '"'
    event = fair.db.value("SELECT emit_webhook_event(%s, 'big.exact', %s::jsonb)", (tenant, text))
    stored = fair.db.value("SELECT payload::text FROM webhook_events WHERE tenant_id = %s AND id = %s", (tenant, event))
    assert len(stored.encode()) == cap, f"{len(stored.encode())} bytes stored, cap {cap}"
    d = fair.wait_status(tenant, hook_id, event, ("succeeded", "failed"), timeout=30)
    assert d["status"] == "succeeded", d
    [request] = fair.receiver.requests(tag)
    assert request["verified"] and secret in request["verified_with"], request["verify_error"]
    assert request["body"].endswith('"data":' + stored + "}"), request["body"][:200]
    assert json.loads(request["body"])["data"] == json.loads(text)


def test_payload_larger_than_a_round_still_goes_out(fair):
    # An event larger than what a round takes in (stored before the cap, or by a
    # superuser who raised it for a session) goes out alone, byte-exact.
    tenant = fair.tenant()
    hook_id, tag, _ = fair.hook(tenant, "ok")
    size = 3 * 1024 * 1024
    with connect(fair.db.cluster) as conn:
        conn.execute("SET marimo_erp.webhook_max_payload_bytes = %s" % (size + 16))
        event = conn.execute("SELECT emit_webhook_event(%s, 'big.legacy', to_jsonb(repeat('z', %s)))",
                             (tenant, size - 2)).fetchone()[0]
    d = fair.wait_status(tenant, hook_id, event, ("succeeded", "failed"), timeout=60)
    assert d["status"] == "succeeded", d
    [request] = fair.receiver.requests(tag)
    assert request["verified"], request["verify_error"]
    assert len(json.loads(request["body"])["data"]) == size - 2
