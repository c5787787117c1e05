-- marimo_erp 0.10.0 -> 0.11.0: integrations that sync (issue 12). Each section
-- below is one capability; each adds what a fresh 0.11.0 install has, in the
-- same column order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.11.0'" to load this file. \quit

-- == Secrets encrypted at rest ==

-- == Stripe: verified, idempotent, order-proof event ingestion ==

-- == SendGrid: verified event ingestion and suppression state ==

-- == Outbound provider calls: durable, retried, logged ==
