"""Stripe ingestion (0.11.0, issue 12): ingest_stripe_event and ingest_platform_stripe_event.

A throwaway cluster of its own (54356 `webhooks-stripe`, no worker needed), with
`stripe_test` for every test, and two fresh databases for the order-proof test:
`stripe_once` receives its events once, in order, `stripe_many` thrice, shuffled.

Signature headers are made with the official `stripe` library
(`stripe.WebhookSignature.generate_signature_header`), never with this
extension's own code. STRIPE_EVENTS (default 10000) sets the size of the
order-proof test.
"""

import json
import os
import random
import time
import uuid

import psycopg
import pytest
import stripe

from test_delivery import Cluster, Db, new_secret  # noqa: F401  (shared helpers)

EVENTS = int(os.environ.get("STRIPE_EVENTS", "10000"))
PLANS = ["free", "starter", "professional", "enterprise"]


def sign(payload, secret, timestamp=None):
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


def whsec():
    return "whsec_" + uuid.uuid4().hex + uuid.uuid4().hex


@pytest.fixture(scope="module")
def stripe_cluster():
    cluster = Cluster("webhooks-stripe", 54356, "stripe_test", [])
    try:
        cluster.start()
    except Exception:
        print(cluster.log_tail())
        cluster.stop()
        raise
    # Two fresh databases for the order-proof test: once in order, thrice shuffled.
    cluster.pair = []
    for name in ("stripe_once", "stripe_many"):
        cluster.db.rows(f"CREATE DATABASE {name}")
        pair_db = Db(cluster, name).connect()
        pair_db.rows("CREATE EXTENSION marimo_erp")
        cluster.pair.append((name, pair_db))
    yield cluster
    for _, pair_db in cluster.pair:
        pair_db.close()
    cluster.stop()


@pytest.fixture
def db(stripe_cluster):
    return stripe_cluster.db


def connect(cluster, dbname=None):
    return psycopg.connect(host=cluster.dir, port=cluster.port, user="postgres",
                           dbname=dbname or cluster.dbname, autocommit=True)


def make_tenant(db, tenant=None, **columns):
    tenant = tenant or str(uuid.uuid4())
    slug = "t-" + tenant[:12]
    names = ["id", "slug", "name", "plan", "status"] + list(columns)
    values = [tenant, slug, slug, "starter", "active"] + list(columns.values())
    db.rows(f"INSERT INTO tenants ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})", values)
    return tenant


def make_integration(db, tenant, secret, integration=None, provider="stripe"):
    integration = integration or str(uuid.uuid4())
    db.rows("INSERT INTO integrations (tenant_id, id, provider, name, credentials) VALUES (%s, %s, %s, %s, %s)",
            (tenant, integration, provider, f"{provider}-{integration[:8]}",
             json.dumps({"webhook_secret": secret}) if secret else "{}"))
    return integration


def customer_event(customer, created, event_type="customer.updated", event_id=None, email=None, **fields):
    obj = {"id": customer, "object": "customer", "email": email or f"{customer}@example.com",
           "name": fields.pop("name", "Jane " + customer[-4:]), "currency": "eur", "balance": fields.pop("balance", 0),
           "delinquent": False, "metadata": fields.pop("metadata", {}), "created": 1700000000, "livemode": False,
           "invoice_settings": {"default_payment_method": None}}
    obj.update(fields)
    return {"id": event_id or "evt_" + uuid.uuid4().hex, "object": "event", "type": event_type,
            "created": created, "livemode": False, "api_version": "2025-06-30.basil",
            "data": {"object": obj}}


def subscription_event(subscription, customer, created, status="active", items=None,
                       event_type="customer.subscription.updated", event_id=None, trial_end=None):
    items = items if items is not None else [("si_" + subscription[4:] + "a", "price_basic", "starter", 1)]
    data = [{"id": item_id, "object": "subscription_item", "quantity": quantity,
             "current_period_start": created - 100, "current_period_end": created + 2592000,
             "price": {"id": price, "object": "price", "product": "prod_" + price[6:], "lookup_key": lookup_key,
                       "unit_amount": 1200, "currency": "eur", "metadata": {},
                       "recurring": {"interval": "month", "interval_count": 1}},
             "metadata": {}}
            for item_id, price, lookup_key, quantity in items]
    obj = {"id": subscription, "object": "subscription", "customer": customer, "status": status,
           "currency": "eur", "cancel_at_period_end": False, "cancel_at": None,
           "canceled_at": created if status == "canceled" else None,
           "ended_at": created if status == "canceled" else None,
           "trial_start": None if trial_end is None else created - 10, "trial_end": trial_end,
           "metadata": {"n": str(created)}, "livemode": False,
           "items": {"object": "list", "data": data}}
    return {"id": event_id or "evt_" + uuid.uuid4().hex, "object": "event", "type": event_type,
            "created": created, "livemode": False, "data": {"object": obj}}


def ingest(conn, integration, payload, header, tolerance=None):
    with conn.cursor() as cur:
        if tolerance is None:
            cur.execute("SELECT * FROM ingest_stripe_event(%s, %s, %s)", (integration, payload, header))
        else:
            cur.execute("SELECT * FROM ingest_stripe_event(%s, %s, %s, %s::interval)",
                        (integration, payload, header, tolerance))
        return cur.fetchone()


def footprint(db, tenant, integration):
    """Everything an ingestion writes for the integration."""
    return (db.value("SELECT count(*) FROM stripe_events WHERE tenant_id = %s", (tenant,)),
            db.value("SELECT count(*) FROM integration_logs WHERE tenant_id = %s", (tenant,)),
            db.value("SELECT count(*) FROM stripe_customers WHERE tenant_id = %s", (tenant,)),
            db.value("SELECT count(*) FROM stripe_subscriptions WHERE tenant_id = %s", (tenant,)),
            db.value("SELECT last_sync_at FROM integrations WHERE id = %s", (integration,)),
            db.value("SELECT last_error FROM integrations WHERE id = %s", (integration,)))


@pytest.fixture
def account(db):
    secret = whsec()
    tenant = make_tenant(db)
    return tenant, make_integration(db, tenant, secret), secret


def test_official_header_verifies_and_applies(stripe_cluster, db, account):
    tenant, integration, secret = account
    payload = json.dumps(customer_event("cus_A1", int(time.time()), "customer.created", email="a@example.com"))
    with connect(stripe_cluster) as conn:
        event_id, event_type, outcome = ingest(conn, integration, payload, sign(payload, secret))
    assert (event_type, outcome) == ("customer.created", "applied")
    assert db.value("SELECT email FROM stripe_customers WHERE tenant_id = %s AND stripe_customer_id = 'cus_A1'",
                    (tenant,)) == "a@example.com"
    row = db.row("SELECT outcome, event_type, payload->>'id' AS id FROM stripe_events WHERE tenant_id = %s", (tenant,))
    assert row == {"outcome": "applied", "event_type": "customer.created", "id": event_id}
    log = db.row("SELECT direction, operation, status, request_payload->>'outcome' AS outcome FROM integration_logs"
                 " WHERE tenant_id = %s", (tenant,))
    assert log == {"direction": "inbound", "operation": "stripe.webhook", "status": "success", "outcome": "applied"}
    assert db.value("SELECT last_sync_at IS NOT NULL FROM integrations WHERE id = %s", (integration,))
    # The same event again: duplicate, and still one inbox row, one more log row.
    with connect(stripe_cluster) as conn:
        assert ingest(conn, integration, payload, sign(payload, secret))[2] == "duplicate"
    assert db.value("SELECT count(*) FROM stripe_events WHERE tenant_id = %s", (tenant,)) == 1
    assert db.value("SELECT count(*) FROM integration_logs WHERE tenant_id = %s", (tenant,)) == 2


@pytest.mark.parametrize("case", ["tampered", "wrong_secret", "expired", "future", "no_v1", "garbage_v1"])
def test_refused_requests_write_nothing(stripe_cluster, db, account, case):
    tenant, integration, secret = account
    now = int(time.time())
    payload = json.dumps(customer_event("cus_R1", now, "customer.created"))
    header = {
        "tampered": sign(payload, secret),
        "wrong_secret": sign(payload, whsec()),
        "expired": sign(payload, secret, now - 301),
        "future": sign(payload, secret, now + 301),
        "no_v1": f"t={now},v0=" + "00" * 32,
        "garbage_v1": f"t={now},v1=zz",
    }[case]
    body = payload.replace("cus_R1", "cus_R2") if case == "tampered" else payload
    before = footprint(db, tenant, integration)
    with connect(stripe_cluster) as conn:
        with pytest.raises(psycopg.Error) as error:
            ingest(conn, integration, body, header)
    expected = "22023" if case == "no_v1" else "28000"
    assert error.value.sqlstate == expected, error.value
    assert footprint(db, tenant, integration) == before


def test_tolerance_bounds_and_argument(stripe_cluster, account):
    tenant, integration, secret = account
    now = int(time.time())
    with connect(stripe_cluster) as conn:
        old = json.dumps(customer_event("cus_T1", now, "customer.created"))
        assert ingest(conn, integration, old, sign(old, secret, now - 250))[2] == "applied"
        older = json.dumps(customer_event("cus_T2", now, "customer.created"))
        assert ingest(conn, integration, older, sign(older, secret, now - 3000), "1 hour")[2] == "applied"
        with pytest.raises(psycopg.Error) as error:
            ingest(conn, integration, older, sign(older, secret), "-1 second")
        assert error.value.sqlstate == "22023" and "tolerance" in str(error.value)


def test_several_v1_signatures(stripe_cluster, account):
    tenant, integration, secret = account
    payload = json.dumps(customer_event("cus_V1", int(time.time()), "customer.created"))
    good = sign(payload, secret)
    t, v1 = good.split(",")
    wrong = sign(payload, whsec()).split(",")[1]
    with connect(stripe_cluster) as conn:
        # Stripe rolling a secret: the old and the new signature, in either order, plus another scheme.
        assert ingest(conn, integration, payload, f"{t},{wrong},{v1},v0=abc")[2] == "applied"
        with pytest.raises(psycopg.Error) as error:
            ingest(conn, integration, payload, f"{t},{wrong},{wrong}")
        assert error.value.sqlstate == "28000"


def test_bad_arguments(stripe_cluster, db, account):
    tenant, integration, secret = account
    payload = json.dumps(customer_event("cus_B1", int(time.time()), "customer.created"))
    sendgrid = make_integration(db, tenant, secret, provider="sendgrid")
    no_secret = make_integration(db, tenant, None)
    cases = [
        (str(uuid.uuid4()), payload, sign(payload, secret), "22023", "integration"),
        (sendgrid, payload, sign(payload, secret), "22023", "integration"),
        (no_secret, payload, sign(payload, secret), "28000", "signing secret"),
        (integration, payload, "v1=abc", "22023", "stripe_signature"),
        (integration, payload, "t=soon,v1=abc", "22023", "stripe_signature"),
        (integration, payload, None, "22004", "stripe_signature"),
        (integration, "not json", sign("not json", secret), "22023", "payload"),
        (None, payload, sign(payload, secret), "22004", "integration"),
    ]
    with connect(stripe_cluster) as conn:
        for target, body, header, sqlstate, word in cases:
            with pytest.raises(psycopg.Error) as error:
                ingest(conn, target, body, header)
            assert error.value.sqlstate == sqlstate, (target, header, error.value)
            assert word in str(error.value), error.value


def test_outcomes_order_and_items(stripe_cluster, db, account):
    tenant, integration, secret = account
    now = int(time.time())
    deliver = []
    with connect(stripe_cluster) as conn:
        def send(event):
            payload = json.dumps(event)
            return ingest(conn, integration, payload, sign(payload, secret))[2]
        # A subscription before its customer: a placeholder customer, then the customer applies.
        two_items = [("si_X1a", "price_basic", "starter", 1), ("si_X1b", "price_seat", None, 5)]
        assert send(subscription_event("sub_X1", "cus_X1", now - 50, "active", two_items,
                                       "customer.subscription.created")) == "applied"
        assert db.value("SELECT stripe_event_id IS NULL FROM stripe_customers WHERE tenant_id = %s"
                        " AND stripe_customer_id = 'cus_X1'", (tenant,))
        assert send(customer_event("cus_X1", now - 60, "customer.created", email="x@example.com")) == "applied"
        # An older state of the subscription: stale, nothing changes.
        assert send(subscription_event("sub_X1", "cus_X1", now - 55, "incomplete")) == "stale"
        # A newer one with one item fewer: the missing item goes.
        assert send(subscription_event("sub_X1", "cus_X1", now - 40, "past_due", two_items[1:])) == "applied"
        items = db.rows("SELECT stripe_subscription_item_id AS id, quantity FROM stripe_subscription_items"
                        " WHERE tenant_id = %s ORDER BY 1", (tenant,))
        assert items == [{"id": "si_X1b", "quantity": 5}]
        # Same second: canceled wins over active, whichever comes first.
        assert send(subscription_event("sub_X1", "cus_X1", now - 30, "canceled", two_items[1:],
                                       "customer.subscription.deleted", event_id="evt_0000")) == "applied"
        assert send(subscription_event("sub_X1", "cus_X1", now - 30, "active", two_items[1:],
                                       event_id="evt_zzzz")) == "stale"
        assert send({"id": "evt_" + uuid.uuid4().hex, "type": "invoice.paid", "created": now,
                     "livemode": False, "data": {"object": {"id": "in_1"}}}) == "ignored"
        # An object that does not fit the mirror (no status): failed, last_error set, nothing stored.
        bad = subscription_event("sub_X2", "cus_X1", now, "active")
        del bad["data"]["object"]["status"]
        assert send(bad) == "failed"
    assert db.value("SELECT status FROM stripe_subscriptions WHERE tenant_id = %s AND stripe_subscription_id = 'sub_X1'",
                    (tenant,)) == "canceled"
    assert db.value("SELECT last_error FROM integrations WHERE id = %s", (integration,)) is not None
    outcomes = db.rows("SELECT outcome, count(*) AS n FROM stripe_events WHERE tenant_id = %s GROUP BY 1 ORDER BY 1",
                       (tenant,))
    assert outcomes == [{"outcome": "applied", "n": 4}, {"outcome": "ignored", "n": 1}, {"outcome": "stale", "n": 2}]
    assert db.value("SELECT count(*) FROM integration_logs WHERE tenant_id = %s AND status = 'error'", (tenant,)) == 1


def test_application_only_for_its_tenant(stripe_cluster, db):
    secret_a, secret_b = whsec(), whsec()
    tenant_a, tenant_b = make_tenant(db), make_tenant(db)
    integ_a, integ_b = make_integration(db, tenant_a, secret_a), make_integration(db, tenant_b, secret_b)
    role = "stripe_app_" + uuid.uuid4().hex[:8]
    db.rows(f"CREATE ROLE {role} IN ROLE marimo_app")
    payload = json.dumps(customer_event("cus_P1", int(time.time()), "customer.created"))
    with connect(stripe_cluster) as conn:
        conn.execute(f"SET ROLE {role}")

        def as_tenant_a(sql, params):
            # set_tenant() holds for the transaction.
            with conn.transaction():
                conn.execute("SELECT set_tenant(%s)", (tenant_a,))
                return conn.execute(sql, params).fetchall()

        call = "SELECT * FROM ingest_stripe_event(%s, %s, %s)"
        assert as_tenant_a(call, (integ_a, payload, sign(payload, secret_a)))[0][2] == "applied"
        for target, secret in [(integ_b, secret_b), (str(uuid.uuid4()), secret_a)]:
            with pytest.raises(psycopg.Error) as error:
                as_tenant_a(call, (target, payload, sign(payload, secret)))
            assert error.value.sqlstate == "42501", error.value
        with pytest.raises(psycopg.Error) as error:
            as_tenant_a("SELECT * FROM ingest_platform_stripe_event(%s, %s)", (payload, sign(payload, secret_a)))
        assert error.value.sqlstate == "42501"
        with pytest.raises(psycopg.Error) as error:
            as_tenant_a("SELECT credentials FROM platform_stripe_account", ())
        assert error.value.sqlstate == "42501"
        # The application sees its own inbox rows only.
        assert as_tenant_a("SELECT count(*) FROM stripe_events", ())[0][0] == 1
    assert db.value("SELECT count(*) FROM stripe_customers WHERE tenant_id = %s", (tenant_b,)) == 0


def test_same_id_in_another_tenant_neither_shadows_nor_blocks(stripe_cluster, db):
    """Integration ids are unique per tenant only: tenant B's row with tenant A's
    integration id must not block A's ingestion, for A's application or an operator
    acting for A; an operator without a tenant set is told the id is ambiguous."""
    secret_a, secret_b = whsec(), whsec()
    tenant_a, tenant_b = make_tenant(db), make_tenant(db)
    integ = make_integration(db, tenant_a, secret_a)
    make_integration(db, tenant_b, secret_b, integration=integ)
    role = "stripe_app_" + uuid.uuid4().hex[:8]
    db.rows(f"CREATE ROLE {role} IN ROLE marimo_app")
    call = "SELECT * FROM ingest_stripe_event(%s, %s, %s)"
    with connect(stripe_cluster) as conn:
        conn.execute(f"SET ROLE {role}")
        with conn.transaction():
            conn.execute("SELECT set_tenant(%s)", (tenant_a,))
            payload = json.dumps(customer_event("cus_Same1", int(time.time()), "customer.created"))
            assert conn.execute(call, (integ, payload, sign(payload, secret_a))).fetchall()[0][2] == "applied"
    with connect(stripe_cluster) as conn:
        payload = json.dumps(customer_event("cus_Same2", int(time.time()), "customer.created"))
        with pytest.raises(psycopg.Error) as error:
            conn.execute(call, (integ, payload, sign(payload, secret_a)))
        assert error.value.sqlstate == "22023" and "several tenants" in str(error.value), error.value
        with conn.transaction():
            conn.execute("SELECT set_tenant(%s)", (tenant_a,))
            assert conn.execute(call, (integ, payload, sign(payload, secret_a))).fetchall()[0][2] == "applied"
    assert db.value("SELECT count(*) FROM stripe_customers WHERE tenant_id = %s", (tenant_a,)) == 2
    assert db.value("SELECT count(*) FROM stripe_customers WHERE tenant_id = %s", (tenant_b,)) == 0


def test_disabled_integration_is_refused(stripe_cluster, db):
    secret = whsec()
    tenant = make_tenant(db)
    integ = make_integration(db, tenant, secret)
    db.rows("UPDATE integrations SET status = 'disabled' WHERE tenant_id = %s AND id = %s", (tenant, integ))
    payload = json.dumps(customer_event("cus_Off1", int(time.time()), "customer.created"))
    with connect(stripe_cluster) as conn:
        with pytest.raises(psycopg.Error) as error:
            conn.execute("SELECT * FROM ingest_stripe_event(%s, %s, %s)", (integ, payload, sign(payload, secret)))
        assert error.value.sqlstate == "55000", error.value
    assert db.value("SELECT count(*) FROM stripe_events WHERE tenant_id = %s", (tenant,)) == 0


# ---------------------------------------------------------------------------
# Order-proof: EVENTS events, thrice and shuffled == once and in order.

def generate(rng, accounts, platform_tenants, total):
    """(target, event) pairs: target is an integration id, or None for the platform account."""
    events = []
    base = int(time.time()) - 200000
    per_account = total // (len(accounts) + 1)
    for integration, _tenant in accounts:
        clock = base
        mine = []
        customers = [f"cus_{integration[:6]}{n}" for n in range(per_account // 20)]
        subscriptions = {f"sub_{integration[:6]}{n}": rng.choice(customers) for n in range(per_account // 12)}
        for customer in customers:
            mine.append((integration, customer_event(customer, clock, "customer.created")))
        while len(mine) < per_account:
            clock += rng.choice([0, 0, 0, 1, 2])  # many events share a second
            roll = rng.random()
            if roll < 0.35:
                customer = rng.choice(customers)
                kind = "customer.deleted" if rng.random() < 0.05 else "customer.updated"
                mine.append((integration, customer_event(customer, clock, kind, name=f"N{rng.randrange(1000)}",
                                                         balance=rng.randrange(-500, 500),
                                                         metadata={"k": str(rng.randrange(10))})))
            elif roll < 0.95:
                sub = rng.choice(list(subscriptions))
                status = rng.choice(["trialing", "active", "active", "past_due", "unpaid", "paused", "canceled"])
                kind = {"canceled": "customer.subscription.deleted", "paused": "customer.subscription.paused"}.get(
                    status, rng.choice(["customer.subscription.updated", "customer.subscription.created",
                                        "customer.subscription.trial_will_end", "customer.subscription.resumed"]))
                items = [(f"si_{sub[4:]}{k}", rng.choice(["price_basic", "price_pro", "price_seat"]),
                          rng.choice([None, "starter"]), rng.randrange(1, 9))
                         for k in rng.sample("abcd", rng.randrange(0, 4))]
                mine.append((integration, subscription_event(sub, subscriptions[sub], clock, status, items, kind)))
            else:
                mine.append((integration, {"id": "evt_" + uuid.uuid4().hex, "type": "charge.succeeded",
                                           "created": clock, "livemode": False, "data": {"object": {"id": "ch_1"}}}))
        events.extend(mine)
    clock = base
    while len(events) < total:
        clock += rng.choice([0, 0, 1])
        tenant, customer, sub = rng.choice(platform_tenants)
        status = rng.choice(["trialing", "active", "past_due", "canceled", "unpaid"])
        plan = rng.choice(PLANS + ["unknown_plan"])
        events.append((None, subscription_event(sub, customer, clock, status, [("si_" + sub[4:] + "p", "price_" + plan,
                                                                                    plan, 1)],
                                                trial_end=clock + 86400 if status == "trialing" else None)))
    return events


def deliver(conn, deliveries, secrets):
    outcomes = {}
    for start in range(0, len(deliveries), 500):
        batch = deliveries[start:start + 500]
        payloads = [json.dumps(event) for _, event in batch]
        headers = [sign(p, secrets[target]) for p, (target, _) in zip(payloads, batch)]
        targets = [target for target, _ in batch]
        rows = conn.execute(
            """SELECT x.n, r.outcome
                 FROM unnest(%s::uuid[], %s::text[], %s::text[]) WITH ORDINALITY AS x(integration, payload, header, n),
                      LATERAL (SELECT * FROM ingest_stripe_event(x.integration, x.payload, x.header)
                                WHERE x.integration IS NOT NULL
                               UNION ALL
                               SELECT * FROM ingest_platform_stripe_event(x.payload, x.header)
                                WHERE x.integration IS NULL) r
                ORDER BY x.n""", (targets, payloads, headers)).fetchall()
        for (n, outcome) in rows:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


STATE = {
    "customers": """SELECT tenant_id, stripe_customer_id, email, name, phone, currency, balance, delinquent,
                           default_payment_method, metadata, livemode, stripe_created_at, deleted_at, integration_id,
                           stripe_event_created_at, stripe_event_rank, stripe_event_id
                      FROM stripe_customers ORDER BY tenant_id, stripe_customer_id""",
    "subscriptions": """SELECT s.tenant_id, s.stripe_subscription_id, c.stripe_customer_id, s.stripe_price_id,
                               s.stripe_product_id, s.status, s.quantity, s.currency, s.unit_amount, s.billing_interval,
                               s.billing_interval_count, s.current_period_start, s.current_period_end,
                               s.cancel_at_period_end, s.cancel_at, s.canceled_at, s.ended_at, s.trial_start,
                               s.trial_end, s.metadata, s.livemode, s.integration_id, s.stripe_event_created_at,
                               s.stripe_event_rank, s.stripe_event_id
                          FROM stripe_subscriptions s JOIN stripe_customers c
                            ON c.tenant_id = s.tenant_id AND c.id = s.customer_id
                         ORDER BY 1, 2""",
    "items": """SELECT i.tenant_id, i.stripe_subscription_item_id, s.stripe_subscription_id, i.stripe_price_id,
                       i.stripe_product_id, i.price_lookup_key, i.quantity, i.current_period_start,
                       i.current_period_end, i.metadata
                  FROM stripe_subscription_items i JOIN stripe_subscriptions s
                    ON s.tenant_id = i.tenant_id AND s.id = i.subscription_id
                 ORDER BY 1, 2""",
    "tenants": """SELECT id, slug, plan, subscription_status, stripe_customer_id, stripe_subscription_id, trial_ends_at
                    FROM tenants ORDER BY id""",
    "billing": """SELECT tenant_id, stripe_subscription_id, status, price_lookup_key, event_created_at, event_rank,
                         event_id FROM tenant_stripe_billing ORDER BY tenant_id""",
    "inbox": """SELECT tenant_id, integration_id, event_id, event_type, outcome IN ('applied', 'stale') AS mirrored
                  FROM stripe_events ORDER BY 1, 2, 3""",
}


def snapshot(conn):
    return {name: conn.execute(sql).fetchall() for name, sql in STATE.items()}


def order_key(event):
    obj = event["data"]["object"]
    terminal = event["type"] == "customer.deleted" or obj.get("status") in ("canceled", "incomplete_expired")
    return (event["created"], 2 if terminal else 1, event["id"].encode())


def test_thrice_shuffled_equals_once_in_order(stripe_cluster):
    rng = random.Random(int(os.environ.get("STRIPE_SEED", "12")))
    (once_name, once_db), (many_name, many_db) = stripe_cluster.pair
    secrets, accounts, platform_tenants = {None: whsec()}, [], []
    for target_db in (once_db, many_db):
        target_db.rows("DELETE FROM platform_stripe_account")
        target_db.rows("INSERT INTO platform_stripe_account (credentials) VALUES (%s)",
                       (json.dumps({"webhook_secret": secrets[None]}),))
    tenants = [str(uuid.uuid4()) for _ in range(4)]
    for n, tenant in enumerate(tenants):
        customer, sub = f"cus_plat{n}", f"sub_plat{n}"
        for target_db in (once_db, many_db):
            make_tenant(target_db, tenant, stripe_customer_id=customer, stripe_subscription_id=sub)
        platform_tenants.append((tenant, customer, sub))
        for _ in range(2):  # two Stripe accounts per tenant
            integration, secret = str(uuid.uuid4()), whsec()
            for target_db in (once_db, many_db):
                make_integration(target_db, tenant, secret, integration)
            secrets[integration] = secret
            accounts.append((integration, tenant))
    events = generate(rng, accounts, platform_tenants, EVENTS)
    assert len(events) == EVENTS
    ties = sum(1 for a, b in zip(events, events[1:]) if a[1]["created"] == b[1]["created"])
    assert ties > EVENTS // 3, "the generator makes same-second events"

    with connect(stripe_cluster, once_name) as conn:
        started = time.monotonic()
        once_outcomes = deliver(conn, events, secrets)
        once_seconds = time.monotonic() - started
        once = snapshot(conn)
    thrice = events * 3
    rng.shuffle(thrice)
    with connect(stripe_cluster, many_name) as conn:
        started = time.monotonic()
        many_outcomes = deliver(conn, thrice, secrets)
        many_seconds = time.monotonic() - started
        many = snapshot(conn)
    print(f"\nstripe: {EVENTS} events once in order in {once_seconds:.1f} s ({EVENTS / once_seconds:.0f}/s): "
          f"{once_outcomes}; thrice shuffled in {many_seconds:.1f} s ({3 * EVENTS / many_seconds:.0f}/s): "
          f"{many_outcomes}")
    # The only failures: platform events whose price names no plan (nothing written, last_error set).
    unplanned = sum(1 for target, event in events if target is None and
                    event["data"]["object"]["items"]["data"][0]["price"]["lookup_key"] == "unknown_plan")
    assert once_outcomes.get("failed", 0) == unplanned and many_outcomes.get("failed", 0) == 3 * unplanned
    # Every tenant event is in the inbox once; each of its repeats came back duplicate.
    tenant_events = sum(1 for target, _ in events if target is not None)
    assert len(many["inbox"]) == tenant_events
    assert many_outcomes["duplicate"] >= 2 * tenant_events
    for name in STATE:
        assert once[name] == many[name], f"{name} differ"
    assert len(once["subscriptions"]) > 100 and len(once["items"]) > 100

    # And the state held is the greatest event's, by the documented order.
    latest = {}
    for target, event in events:
        obj = event["data"]["object"]
        if target is None or not event["type"].startswith("customer.subscription."):
            continue
        if obj["id"] not in latest or order_key(event) > order_key(latest[obj["id"]]):
            latest[obj["id"]] = event
    statuses = {row[1]: row[5] for row in once["subscriptions"]}
    assert statuses == {sub: event["data"]["object"]["status"] for sub, event in latest.items()}
    platform_latest = {}
    for target, event in events:
        if target is None and event["data"]["object"]["items"]["data"][0]["price"]["lookup_key"] != "unknown_plan":
            sub = event["data"]["object"]["id"]
            if sub not in platform_latest or order_key(event) > order_key(platform_latest[sub]):
                platform_latest[sub] = event
    by_sub = {row[5]: row for row in once["tenants"] if row[5] is not None}
    for sub, event in platform_latest.items():
        obj = event["data"]["object"]
        assert by_sub[sub][3] == obj["status"]
        assert (by_sub[sub][6] is None) == (obj["trial_end"] is None)
        assert by_sub[sub][2] == obj["items"]["data"][0]["price"]["lookup_key"]
