-- marimo_erp 0.11.0 -> 0.10.0: takes back what 0.11.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.10.0'" to load this file. \quit

-- == Outbound provider calls: durable, retried, logged ==

-- == SendGrid: verified event ingestion and suppression state ==

-- == Stripe: verified, idempotent, order-proof event ingestion ==

-- == Secrets encrypted at rest ==
