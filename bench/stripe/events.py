#!/usr/bin/env python3
"""Stripe events for bench/stripe/run, as COPY text: n, integration, payload, Stripe-Signature.

Usage: events.py COUNT SECRETS_FILE   (SECRETS_FILE: lines "integration_id<TAB>whsec_...")

Python's standard library only. Each event is distinct (no duplicates): customer
created and updated events and subscription events with two items, spread over
the integrations in turn, many in the same second, signed as Stripe signs them
(HMAC-SHA256 over "t.body" keyed with the whole whsec_ secret, hex) at the time
of generation; the benchmark ingests them with a tolerance of one day.
"""

import hashlib
import hmac
import json
import random
import sys
import time


def sign(payload, secret, timestamp):
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def main():
    count, secrets_file = int(sys.argv[1]), sys.argv[2]
    accounts = [line.rstrip("\n").split("\t") for line in open(secrets_file) if line.strip()]
    rng = random.Random(7)
    now = int(time.time())
    created = now - 100000
    out = sys.stdout
    for n in range(1, count + 1):
        integration, secret = accounts[n % len(accounts)]
        tag = integration[:8]
        created += rng.choice([0, 0, 1])
        k = rng.randrange(200)
        if rng.random() < 0.4:
            obj = {"id": f"cus_{tag}{k}", "object": "customer", "email": f"c{k}@example.com",
                   "name": f"Customer {k} v{n}", "currency": "eur", "balance": rng.randrange(-500, 500),
                   "delinquent": False, "metadata": {"n": str(n)}, "created": now - 200000, "livemode": False,
                   "invoice_settings": {"default_payment_method": None}}
            kind = "customer.updated"
        else:
            obj = {"id": f"sub_{tag}{k}", "object": "subscription", "customer": f"cus_{tag}{k % 150}",
                   "status": rng.choice(["active", "trialing", "past_due"]), "currency": "eur",
                   "cancel_at_period_end": False, "metadata": {"n": str(n)}, "livemode": False,
                   "items": {"object": "list", "data": [
                       {"id": f"si_{tag}{k}{s}", "quantity": rng.randrange(1, 9),
                        "current_period_start": created - 100, "current_period_end": created + 2592000,
                        "price": {"id": f"price_{s}", "product": f"prod_{s}", "lookup_key": "starter",
                                  "unit_amount": 1200, "currency": "eur",
                                  "recurring": {"interval": "month", "interval_count": 1}}}
                       for s in ("a", "b")]}}
            kind = "customer.subscription.updated"
        event = {"id": f"evt_{n:08d}{tag}", "object": "event", "type": kind, "created": created,
                 "livemode": False, "api_version": "2025-06-30.basil", "data": {"object": obj}}
        payload = json.dumps(event)
        line = "\t".join([str(n), integration, payload, sign(payload, secret, now)])
        out.write(line.replace("\\", "\\\\") + "\n")


if __name__ == "__main__":
    main()
