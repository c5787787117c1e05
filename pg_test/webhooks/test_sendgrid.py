"""SendGrid Event Webhook ingestion (version 0.11.0, issue 12): ingest_sendgrid_events.

A throwaway cluster of its own (54357 `webhooks-sendgrid`, nothing preloaded).
What the tests check, against references nobody here wrote:
  - SendGrid's official test vector (sendgrid-python, test/unit/test_eventwebhook.py:
    the key, signature and timestamp, the payload built as that test builds it)
    is accepted, and its four negative cases (another key, another payload,
    another signature, another timestamp) are refused with 28000, writing nothing;
  - batches signed here with a fresh P-256 key (`cryptography`), which the
    official helper (`sendgrid.EventWebhook`) also accepts, are ingested; a
    stale or future timestamp, a tampered body and malformed arguments are refused;
  - a generated batch (several contacts, every event type, same-second ties)
    gives the same rows in order once, and shuffled, split and each part
    delivered three times, in another database; both equal a model of the
    README's precedence rule written here;
  - a replay changes no row of sendgrid_contacts or sendgrid_events;
  - an application role ingests only for its current tenant's integrations.
"""

import base64
import json
import random
import threading
import time

import psycopg
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from psycopg.rows import dict_row
from sendgrid import EventWebhook

from test_delivery import Cluster, Db  # noqa: F401  (shared helpers)

APP_ROLE = "sendgrid_app"
TENANT_A = "aaaaaaaa-0000-4000-8000-000000000001"
TENANT_B = "bbbbbbbb-0000-4000-8000-000000000002"
VECTOR_INTEGRATION = "10000000-0000-4000-8000-0000000000a1"
OTHER_KEY_INTEGRATION = "10000000-0000-4000-8000-0000000000a2"
FRESH_INTEGRATION = "10000000-0000-4000-8000-0000000000a3"
STRIPE_INTEGRATION = "10000000-0000-4000-8000-0000000000a4"
B_INTEGRATION = "10000000-0000-4000-8000-0000000000b1"

# SendGrid's test vector (sendgrid-python, test/unit/test_eventwebhook.py).
VECTOR_KEY = ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw"
              "+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==")
VECTOR_SIGNATURE = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
VECTOR_TIMESTAMP = "1600112502"
VECTOR_EVENT = {
    "email": "hello@world.com",
    "event": "dropped",
    "reason": "Bounced Address",
    "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
    "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
    "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
    "timestamp": 1600112492,
}
# As the test builds it: sorted keys, no spaces, then \r\n.
VECTOR_PAYLOAD = json.dumps([VECTOR_EVENT], sort_keys=True, separators=(",", ":")) + "\r\n"
# The negative cases of the same test.
OTHER_KEY = ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj"
             "+y7GjUuFDb/R1NGe1OPzpA==")
OTHER_SIGNATURE = ("MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=")

INGEST = "SELECT * FROM ingest_sendgrid_events(%s, %s, %s, %s, %s::interval)"
# Every column but the ones that record when (or by which random id) a row was written.
CONTACT_COLUMNS = ("email, status, unsubscribed_at, bounce_type, bounce_reason, bounced_at, bounce_event_id, "
                   "spam_reported_at, suppressed_groups, asm_group_states, last_event, last_event_at, last_event_id")
EVENT_COLUMNS = ("integration_id, sg_event_id, event, email, occurred_at, sg_message_id, reason, bounce_type, "
                 "smtp_status, asm_group_id, outcome, payload")


class Signer:
    """A fresh P-256 key pair, signing as SendGrid does: ECDSA/SHA-256 over timestamp || body."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public = base64.b64encode(der).decode()

    def sign(self, body, timestamp=None):
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = base64.b64encode(self.key.sign((timestamp + body).encode(), ec.ECDSA(hashes.SHA256()))).decode()
        return signature, timestamp


def body_of(events):
    """A request body as SendGrid posts it: the JSON array, then \r\n."""
    return json.dumps(events, separators=(",", ":")) + "\r\n"


SIGNER = Signer()


def setup_database(db):
    configs = {"vector": json.dumps({"verification_key": VECTOR_KEY}),
               "other": json.dumps({"verification_key": OTHER_KEY}),
               "fresh": json.dumps({"verification_key": SIGNER.public})}
    db.rows(f"INSERT INTO tenants (id, name, slug) VALUES ('{TENANT_A}', 'A', 'sg-a'), ('{TENANT_B}', 'B', 'sg-b')")
    db.rows(f"""
        INSERT INTO integrations (tenant_id, id, provider, name, config) VALUES
          ('{TENANT_A}', '{VECTOR_INTEGRATION}', 'sendgrid', 'vector', %(vector)s),
          ('{TENANT_A}', '{OTHER_KEY_INTEGRATION}', 'sendgrid', 'other key', %(other)s),
          ('{TENANT_A}', '{FRESH_INTEGRATION}', 'sendgrid', 'fresh', %(fresh)s),
          ('{TENANT_A}', '{STRIPE_INTEGRATION}', 'stripe', 'stripe', %(fresh)s),
          ('{TENANT_B}', '{B_INTEGRATION}', 'sendgrid', 'b', %(fresh)s)""", configs)
    db.rows(f"""
        INSERT INTO sendgrid_contacts (tenant_id, id, email)
        SELECT '{TENANT_A}', ('c0000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'user' || g || '@example.com'
          FROM generate_series(1, 8) g""")
    db.rows(f"""INSERT INTO sendgrid_contacts (tenant_id, email)
                VALUES ('{TENANT_A}', 'hello@world.com'), ('{TENANT_B}', 'user1@example.com')""")


@pytest.fixture(scope="module")
def cluster():
    cluster = Cluster("webhooks-sendgrid", 54357, "webhooks_sendgrid", [])
    try:
        cluster.start()
        cluster.db.rows(f"DROP ROLE IF EXISTS {APP_ROLE}")
        cluster.db.rows(f"CREATE ROLE {APP_ROLE} LOGIN IN ROLE marimo_app")
        setup_database(cluster.db)
    except Exception:
        cluster.stop()
        raise
    yield cluster
    cluster.stop()


@pytest.fixture
def db(cluster):
    return cluster.db


def fresh_database(cluster, name):
    admin = Db(cluster, "postgres").connect()
    try:
        admin.rows(f'DROP DATABASE IF EXISTS "{name}"')
        admin.rows(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    db = Db(cluster, name).connect()
    db.rows("CREATE EXTENSION marimo_erp")
    setup_database(db)
    return db


def ingest(db, integration, body, signature, timestamp, tolerance="5 minutes"):
    return [(r["sg_event_id"], r["event"], r["outcome"])
            for r in db.rows(INGEST, (integration, body, signature, timestamp, tolerance))]


def state(db):
    """Every row of sendgrid_contacts and sendgrid_events, all columns, in a fixed order."""
    return (db.rows("SELECT * FROM sendgrid_contacts ORDER BY tenant_id, email"),
            db.rows("SELECT * FROM sendgrid_events ORDER BY tenant_id, integration_id, sg_event_id"))


def written(db):
    return db.value("SELECT (SELECT count(*) FROM sendgrid_events) + (SELECT count(*) FROM integration_logs)"
                    " + (SELECT count(*) FROM sendgrid_contacts WHERE last_event IS NOT NULL)")


def refused(db, sqlstate, *args, **kwargs):
    before, count = state(db), written(db)
    with pytest.raises(psycopg.Error) as error:
        ingest(db, *args, **kwargs)
    assert error.value.sqlstate == sqlstate, error.value
    assert state(db) == before and written(db) == count, "a refused call wrote rows"
    return error.value


# ---------------------------------------------------------------------------
# SendGrid's vector


def test_vector_payload_is_what_sendgrid_signed():
    # The official helper accepts these exact bytes (and this checks our copy of the vector).
    assert EventWebhook(VECTOR_KEY).verify_signature(VECTOR_PAYLOAD, VECTOR_SIGNATURE, VECTOR_TIMESTAMP)
    assert VECTOR_PAYLOAD.endswith("}]\r\n") and ", " not in VECTOR_PAYLOAD


def test_vector_negative_cases_refused(db):
    # Another key: the integration configured with the test's other key.
    refused(db, "28000", OTHER_KEY_INTEGRATION, VECTOR_PAYLOAD, VECTOR_SIGNATURE, VECTOR_TIMESTAMP, None)
    refused(db, "28000", VECTOR_INTEGRATION, "payload", VECTOR_SIGNATURE, VECTOR_TIMESTAMP, None)
    refused(db, "28000", VECTOR_INTEGRATION, VECTOR_PAYLOAD, OTHER_SIGNATURE, VECTOR_TIMESTAMP, None)
    refused(db, "28000", VECTOR_INTEGRATION, VECTOR_PAYLOAD, VECTOR_SIGNATURE, "timestamp", None)
    # Also: the body without its trailing \r\n, and a neighbouring second.
    refused(db, "28000", VECTOR_INTEGRATION, VECTOR_PAYLOAD.rstrip("\r\n"), VECTOR_SIGNATURE, VECTOR_TIMESTAMP, None)
    refused(db, "28000", VECTOR_INTEGRATION, VECTOR_PAYLOAD, VECTOR_SIGNATURE, "1600112503", None)
    # The vector is from 2020: with the default tolerance it is stale.
    error = refused(db, "28000", VECTOR_INTEGRATION, VECTOR_PAYLOAD, VECTOR_SIGNATURE, VECTOR_TIMESTAMP)
    assert "tolerance" in str(error)


def test_vector_accepted(db):
    # After the refusals (test order): they left nothing behind.
    assert ingest(db, VECTOR_INTEGRATION, VECTOR_PAYLOAD, VECTOR_SIGNATURE, VECTOR_TIMESTAMP, None) == [
        (VECTOR_EVENT["sg_event_id"], "dropped", "applied")]
    row = db.row("SELECT event, email, occurred_at = to_timestamp(1600112492) AS at, reason, sg_message_id, payload"
                  " FROM sendgrid_events WHERE sg_event_id = %s", (VECTOR_EVENT["sg_event_id"],))
    assert row["at"] and row["reason"] == "Bounced Address" and row["payload"] == VECTOR_EVENT
    contact = db.row("SELECT status, last_event, last_event_id FROM sendgrid_contacts WHERE email = 'hello@world.com'")
    assert contact == {"status": "subscribed", "last_event": "dropped", "last_event_id": VECTOR_EVENT["sg_event_id"]}
    log = db.row("SELECT direction, operation, status, response_payload FROM integration_logs"
                 " WHERE integration_id = %s", (VECTOR_INTEGRATION,))
    assert log == {"direction": "inbound", "operation": "sendgrid.event_webhook", "status": "success",
                   "response_payload": {"applied": 1, "duplicate": 0, "ignored": 0}}
    assert db.value("SELECT last_sync_at IS NOT NULL FROM integrations WHERE id = %s", (VECTOR_INTEGRATION,))
    # Again: a duplicate, nothing changes.
    before = state(db)
    assert ingest(db, VECTOR_INTEGRATION, VECTOR_PAYLOAD, VECTOR_SIGNATURE, VECTOR_TIMESTAMP, None) == [
        (VECTOR_EVENT["sg_event_id"], "dropped", "duplicate")]
    assert state(db) == before


# ---------------------------------------------------------------------------
# Fresh keys, freshness, malformed arguments


def test_fresh_key_signature_accepted_by_both(db):
    events = [{"email": "user1@example.com", "event": "open", "sg_event_id": "fresh-open-1",
               "timestamp": int(time.time()), "sg_message_id": "m1"}]
    body = body_of(events)
    signature, timestamp = SIGNER.sign(body)
    assert EventWebhook(SIGNER.public).verify_signature(body, signature, timestamp)
    assert ingest(db, FRESH_INTEGRATION, body, signature, timestamp) == [("fresh-open-1", "open", "applied")]


def test_stale_and_future_timestamps_refused(db):
    body = body_of([{"email": "user1@example.com", "event": "open", "sg_event_id": "fresh-open-stale",
                     "timestamp": int(time.time())}])
    for offset in (-601, 601):
        signature, timestamp = SIGNER.sign(body, int(time.time()) + offset)
        refused(db, "28000", FRESH_INTEGRATION, body, signature, timestamp, "10 minutes")
    # Within a wider tolerance the same request is accepted.
    signature, timestamp = SIGNER.sign(body, int(time.time()) - 601)
    assert ingest(db, FRESH_INTEGRATION, body, signature, timestamp, "11 minutes")[0][2] == "applied"


def test_tampered_body_refused(db):
    body = body_of([{"email": "user2@example.com", "event": "spamreport", "sg_event_id": "tampered",
                     "timestamp": int(time.time())}])
    signature, timestamp = SIGNER.sign(body)
    refused(db, "28000", FRESH_INTEGRATION, body.replace("user2", "user3"), signature, timestamp)
    # The untampered body verifies (here for tenant B's integration, which has the
    # same key; an operator may ingest for any tenant); B has no such contact.
    assert ingest(db, B_INTEGRATION, body, signature, timestamp) == [("tampered", "spamreport", "ignored")]


def test_malformed_arguments(db):
    body = "{}\r\n"
    signature, timestamp = SIGNER.sign(body)
    assert "payload" in str(refused(db, "22023", FRESH_INTEGRATION, body, signature, timestamp))
    body = body_of([{"event": "open", "sg_event_id": "no-email", "timestamp": 1}])
    signature, timestamp = SIGNER.sign(body)
    assert "email" in str(refused(db, "22023", FRESH_INTEGRATION, body, signature, timestamp))
    assert "signature" in str(refused(db, "22023", FRESH_INTEGRATION, body, "not base64!", timestamp))
    assert "tolerance" in str(refused(db, "22023", FRESH_INTEGRATION, body, signature, timestamp, "-1 minute"))
    signature, _ = SIGNER.sign(body, "soon")
    assert "signed_at" in str(refused(db, "22023", FRESH_INTEGRATION, body, signature, "soon"))
    assert "integration" in str(refused(db, "22023", STRIPE_INTEGRATION, body, signature, timestamp))
    refused(db, "P0002", "10000000-0000-4000-8000-00000000ffff", body, signature, timestamp)
    for position in range(4):
        args = [FRESH_INTEGRATION, body, signature, timestamp]
        args[position] = None
        refused(db, "22004", *args)


def test_unknown_events_and_addresses_ignored(db):
    now = int(time.time())
    events = [{"email": "user4@example.com", "event": "machine_opened", "sg_event_id": "unknown-type", "timestamp": now},
              {"email": "nobody@example.com", "event": "bounce", "sg_event_id": "no-contact", "timestamp": now},
              {"email": "USER4@example.com", "event": "bounce", "type": "weird", "sg_event_id": "odd-bounce",
               "timestamp": now},
              {"email": "user4@example.com", "event": "group_unsubscribe", "sg_event_id": "no-group", "timestamp": now}]
    body = body_of(events)
    signature, timestamp = SIGNER.sign(body)
    assert [r[2] for r in ingest(db, FRESH_INTEGRATION, body, signature, timestamp)] == ["ignored"] * 4
    assert db.value("SELECT last_event FROM sendgrid_contacts WHERE email = 'user4@example.com'") is None
    assert db.value("SELECT count(*) FROM sendgrid_events WHERE sg_event_id IN"
                    " ('unknown-type', 'no-contact', 'odd-bounce', 'no-group')") == 4


# ---------------------------------------------------------------------------
# Order: shuffled, split, replayed batches; the precedence rule


def generated_events(seed=12, count=400):
    """Events for user1..user8 (and an unknown address), every type, many in the same second."""
    rng = random.Random(seed)
    base = 1_790_000_000
    types = ["processed", "delivered", "deferred", "bounce", "dropped", "spamreport", "unsubscribe",
             "group_unsubscribe", "group_resubscribe", "open", "click"]
    weights = [6, 6, 3, 3, 2, 1, 2, 3, 3, 6, 4]
    events = []
    # Contacts 1-2 get every type; 3-4 no spam report; 5-6 no bounce either;
    # 7-8 only deliveries and engagement: so every status comes out.
    excluded = {3: {"spamreport"}, 4: {"spamreport"}, 5: {"spamreport", "bounce"}, 6: {"spamreport", "bounce"},
                7: {"spamreport", "bounce", "unsubscribe"}, 8: {"spamreport", "bounce", "unsubscribe"}}
    for n in range(count):
        who = rng.randint(1, 9)
        email = f"user{who}@example.com" if who < 9 else "stranger@example.com"
        if who == 3:
            email = email.upper()  # matched in lowercase
        kind = rng.choices(types, weights)[0]
        while kind in excluded.get(who, ()):
            kind = rng.choices(types, weights)[0]
        event = {"email": email, "event": kind,
                 "sg_event_id": f"gen-{rng.getrandbits(40):010x}-{n}",
                 "timestamp": base + rng.randint(0, 40), "sg_message_id": f"msg-{rng.randint(1, 30)}"}
        if event["event"] == "bounce":
            event["type"] = rng.choice(["bounce", "blocked"])
            event["reason"] = rng.choice(["550 5.1.1 unknown user", "421 try later", "mailbox full"])
        if event["event"] in ("group_unsubscribe", "group_resubscribe"):
            event["asm_group_id"] = rng.choice([7, 8, 9])
        if event["event"] == "click":
            event["url"] = "https://example.com/x"
        events.append(event)
    return events


def model(events):
    """The README's rule, independently: registers keep the greatest (timestamp, sg_event_id)."""
    contacts = {}
    for e in events:
        email = e["email"].lower()
        if not (email.startswith("user") and email.endswith("@example.com")):
            continue
        c = contacts.setdefault(email, {"last": None, "bounce": None, "spam": None, "unsub": None,
                                        "groups": {}, "suppression_seen": False})
        key = (e["timestamp"], e["sg_event_id"].encode())
        if c["last"] is None or key > c["last"][0]:
            c["last"] = (key, e["event"])
        if e["event"] == "bounce" and (c["bounce"] is None or key > c["bounce"][0]):
            c["bounce"] = (key, e["type"], e["reason"])
        if e["event"] == "spamreport":
            c["spam"] = max(c["spam"] or 0, e["timestamp"])
        if e["event"] == "unsubscribe":
            c["unsub"] = max(c["unsub"] or 0, e["timestamp"])
        if e["event"] in ("group_unsubscribe", "group_resubscribe"):
            g = c["groups"].get(e["asm_group_id"])
            if g is None or key > g[0]:
                c["groups"][e["asm_group_id"]] = (key, e["event"])
        c["suppression_seen"] |= e["event"] in ("bounce", "spamreport", "unsubscribe")
    result = {}
    for email, c in contacts.items():
        if not c["suppression_seen"]:
            status = "subscribed"
        elif c["spam"] is not None:
            status = "spam_report"
        elif c["bounce"] is not None and c["bounce"][1] == "bounce":
            status = "bounced"
        elif c["unsub"] is not None:
            status = "unsubscribed"
        else:
            status = "subscribed"
        result[email] = {
            "status": status,
            "last_event": c["last"][1],
            "last_event_id": c["last"][0][1].decode(),
            "bounce_type": c["bounce"][1] if c["bounce"] else None,
            "bounce_reason": c["bounce"][2] if c["bounce"] else None,
            "suppressed_groups": sorted(g for g, v in c["groups"].items() if v[1] == "group_unsubscribe"),
            "spam": c["spam"], "unsub": c["unsub"],
        }
    return result


def deliver(db, events, tolerance=None):
    body = body_of(events)
    signature, timestamp = SIGNER.sign(body)
    return ingest(db, FRESH_INTEGRATION, body, signature, timestamp, tolerance)


def table_rows(db):
    return (db.rows(f"SELECT {CONTACT_COLUMNS} FROM sendgrid_contacts ORDER BY tenant_id, email"),
            db.rows(f"SELECT {EVENT_COLUMNS} FROM sendgrid_events ORDER BY tenant_id, integration_id, sg_event_id"))


def test_shuffled_split_replayed_batches_give_the_same_rows(cluster):
    events = generated_events()
    ties = len(events) - len({(e["email"].lower(), e["timestamp"]) for e in events})
    assert ties > 50, "the batch should have many same-second events of one contact"
    in_order = fresh_database(cluster, "sendgrid_in_order")
    shuffled = fresh_database(cluster, "sendgrid_shuffled")
    try:
        ordered = sorted(events, key=lambda e: (e["timestamp"], e["sg_event_id"]))
        outcomes = deliver(in_order, ordered)
        assert {o for _, _, o in outcomes} == {"applied", "ignored"}
        rng = random.Random(5)
        parts = []
        for copy in range(3):
            mixed = events[:]
            rng.shuffle(mixed)
            cut = sorted(rng.sample(range(1, len(mixed)), 6))
            parts += [mixed[a:b] for a, b in zip([0] + cut, cut + [len(mixed)])]
        rng.shuffle(parts)
        seen = {}
        for part in parts:
            for sg_event_id, _, outcome in deliver(shuffled, part):
                seen.setdefault(sg_event_id, []).append(outcome)
        assert all(len(v) == 3 and v.count("duplicate") == 2 for v in seen.values())
        assert table_rows(in_order) == table_rows(shuffled)

        expected = model(events)
        contacts = {r["email"]: r for r in in_order.rows(
            "SELECT email, status, last_event, last_event_id, bounce_type, bounce_reason, suppressed_groups,"
            " extract(epoch FROM spam_reported_at)::int8 AS spam, extract(epoch FROM unsubscribed_at)::int8 AS unsub"
            f" FROM sendgrid_contacts WHERE tenant_id = '{TENANT_A}' AND last_event IS NOT NULL")}
        assert contacts == {email: {"email": email, **row} for email, row in expected.items()}
        statuses = {r["status"] for r in contacts.values()}
        assert len(contacts) == 8 and {"spam_report", "unsubscribed", "subscribed"} <= statuses, statuses
    finally:
        in_order.close()
        shuffled.close()


def test_precedence_rule(cluster):
    db = fresh_database(cluster, "sendgrid_precedence")
    try:
        def status_after(*events):
            assert {o for _, _, o in deliver(db, list(events))} == {"applied"}
            return db.value("SELECT status FROM sendgrid_contacts WHERE email = 'user5@example.com'")

        def ev(n, event, t, **extra):
            return {"email": "user5@example.com", "event": event, "sg_event_id": f"p-{n}", "timestamp": t, **extra}

        assert status_after(ev(1, "unsubscribe", 100)) == "unsubscribed"
        # A blocked bounce is transient: still unsubscribed.
        assert status_after(ev(2, "bounce", 110, type="blocked", reason="421")) == "unsubscribed"
        assert status_after(ev(3, "bounce", 120, type="bounce", reason="550")) == "bounced"
        # An older blocked bounce does not replace the newer hard one.
        assert status_after(ev(4, "bounce", 115, type="blocked", reason="421")) == "bounced"
        assert status_after(ev(5, "spamreport", 90)) == "spam_report"
        assert status_after(ev(6, "group_unsubscribe", 130, asm_group_id=7),
                            ev(7, "group_resubscribe", 130, asm_group_id=7)) == "spam_report"
        row = db.row("SELECT suppressed_groups, bounce_type, bounce_reason FROM sendgrid_contacts"
                     " WHERE email = 'user5@example.com'")
        # Same second: the greater sg_event_id ("p-7", the resubscribe) wins.
        assert row == {"suppressed_groups": [], "bounce_type": "bounce", "bounce_reason": "550"}
    finally:
        db.close()


def test_replay_changes_no_row(db):
    events = generated_events(seed=99, count=120)
    deliver(db, events)
    before = state(db)
    logs = db.value("SELECT count(*) FROM integration_logs")
    outcomes = deliver(db, list(reversed(events)))
    assert {o for _, _, o in outcomes} == {"duplicate"}
    assert state(db) == before
    assert db.value("SELECT count(*) FROM integration_logs") == logs + 1


# ---------------------------------------------------------------------------
# Application roles


def test_application_role_only_for_its_tenant(cluster):
    body = body_of([{"email": "user6@example.com", "event": "open", "sg_event_id": "app-1",
                     "timestamp": int(time.time())}])
    signature, timestamp = SIGNER.sign(body)
    with psycopg.connect(host=cluster.dir, port=cluster.port, user=APP_ROLE, dbname=cluster.dbname,
                         row_factory=dict_row) as conn:
        def attempt(tenant, integration):
            with conn.transaction():
                if tenant:
                    conn.execute("SELECT set_tenant(%s)", (tenant,))
                return [tuple(r.values()) for r in conn.execute(
                    INGEST, (integration, body, signature, timestamp, "5 minutes")).fetchall()]

        for tenant, integration in ((None, FRESH_INTEGRATION), (TENANT_B, FRESH_INTEGRATION),
                                    (TENANT_A, B_INTEGRATION)):
            with pytest.raises(psycopg.Error) as error:
                attempt(tenant, integration)
            assert error.value.sqlstate == "42501", error.value
        assert attempt(TENANT_A, FRESH_INTEGRATION) == [("app-1", "open", "applied")]
        # The inbox is the function's: an application reads it, never writes it.
        for statement in ("DELETE FROM sendgrid_events",
                          "UPDATE sendgrid_events SET outcome = 'ignored'",
                          f"""INSERT INTO sendgrid_events (tenant_id, integration_id, sg_event_id, event, email,
                                                           occurred_at, outcome, payload)
                              VALUES ('{TENANT_A}', '{FRESH_INTEGRATION}', 'forged', 'open', 'user6@example.com',
                                      now(), 'applied', '{{}}')"""):
            with pytest.raises(psycopg.Error) as error, conn.transaction():
                conn.execute("SELECT set_tenant(%s)", (TENANT_A,))
                conn.execute(statement)
            assert error.value.sqlstate == "42501", statement
        with conn.transaction():
            conn.execute("SELECT set_tenant(%s)", (TENANT_B,))
            assert conn.execute("SELECT count(*) AS n FROM sendgrid_events WHERE sg_event_id = 'app-1'"
                                ).fetchone()["n"] == 0
    assert cluster.db.value("SELECT count(*) FROM sendgrid_events WHERE sg_event_id = 'app-1'") == 1


def test_same_event_twice_in_one_batch(db):
    event = {"email": "user7@example.com", "event": "click", "sg_event_id": "twice", "timestamp": int(time.time()),
             "url": "https://example.com/"}
    assert [o for _, _, o in deliver(db, [event, event])] == ["applied", "duplicate"]


def test_concurrent_overlapping_batches_do_not_deadlock(cluster):
    """SendGrid posts batches in parallel and retries them: four sessions ingest the
    same events at once, each in another order; every call succeeds, each event is
    applied once, and the rows equal those of one in-order delivery."""
    events = generated_events(seed=31, count=300)
    reference = fresh_database(cluster, "sendgrid_reference")
    concurrent = fresh_database(cluster, "sendgrid_concurrent")
    try:
        deliver(reference, sorted(events, key=lambda e: (e["timestamp"], e["sg_event_id"])))
        bodies = []
        for n in range(4):
            mixed = events[:]
            random.Random(n).shuffle(mixed)
            body = body_of(mixed)
            bodies.append((body, *SIGNER.sign(body)))
        results, errors = [], []
        barrier = threading.Barrier(len(bodies))

        def run(body, signature, timestamp):
            try:
                with psycopg.connect(host=cluster.dir, port=cluster.port, user="postgres",
                                     dbname="sendgrid_concurrent") as conn:
                    barrier.wait()
                    rows = conn.execute(INGEST, (FRESH_INTEGRATION, body, signature, timestamp, None)).fetchall()
                    results.append([r[2] for r in rows])
            except Exception as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)

        threads = [threading.Thread(target=run, args=b) for b in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        non_duplicates = sum(o != "duplicate" for outcomes in results for o in outcomes)
        assert len(results) == 4 and non_duplicates == len(events)
        assert table_rows(reference) == table_rows(concurrent)
    finally:
        reference.close()
        concurrent.close()
