-- SendGrid's Event Webhook (extension version 0.11.0): the inbox of every event
-- ingest_sendgrid_events() recorded, once per sg_event_id and integration, and
-- the comments of the suppression state it keeps in sendgrid_contacts (whose
-- columns are at the end of that table, in integrations.sql).

CREATE TABLE @extschema@.sendgrid_events (
    tenant_id               uuid        NOT NULL,
    integration_id          uuid        NOT NULL,
    sg_event_id             text        NOT NULL,
    event                   text        NOT NULL,
    email                   text        NOT NULL,
    occurred_at             timestamptz NOT NULL,
    sg_message_id           text,
    reason                  text,
    bounce_type             text,
    smtp_status             text,
    asm_group_id            integer,
    outcome                 text        NOT NULL,
    payload                 jsonb       NOT NULL,
    received_at             timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT sendgrid_events_pkey PRIMARY KEY (tenant_id, integration_id, sg_event_id),
    CONSTRAINT sendgrid_events_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT sendgrid_events_integration_id_fkey FOREIGN KEY (tenant_id, integration_id)
        REFERENCES @extschema@.integrations (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT sendgrid_events_sg_event_id_check CHECK (pg_catalog.length(sg_event_id) BETWEEN 1 AND 255),
    CONSTRAINT sendgrid_events_event_check CHECK (pg_catalog.length(event) BETWEEN 1 AND 100),
    CONSTRAINT sendgrid_events_email_check CHECK (pg_catalog.length(email) BETWEEN 1 AND 320),
    CONSTRAINT sendgrid_events_outcome_check CHECK (outcome IN ('applied', 'ignored')),
    CONSTRAINT sendgrid_events_payload_check CHECK (pg_catalog.jsonb_typeof(payload) = 'object')
);

-- A contact's history by time; and the purge of old rows by received_at.
CREATE INDEX sendgrid_events_tenant_id_email_occurred_at_idx
    ON @extschema@.sendgrid_events (tenant_id, email, occurred_at);
CREATE INDEX sendgrid_events_received_at_idx ON @extschema@.sendgrid_events (received_at);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.sendgrid_events', '');

COMMENT ON TABLE @extschema@.sendgrid_events IS
    'Inbox of SendGrid Event Webhook events, one row per sg_event_id and integration, written by ingest_sendgrid_events() after the batch''s signature verified; a replayed event is a duplicate and writes nothing. Old rows may be deleted (by received_at): the contacts'' state does not depend on them.';
COMMENT ON COLUMN @extschema@.sendgrid_events.tenant_id IS 'Tenant that owns the integration.';
COMMENT ON COLUMN @extschema@.sendgrid_events.integration_id IS 'SendGrid integration whose webhook delivered the event (integrations.id of the same tenant).';
COMMENT ON COLUMN @extschema@.sendgrid_events.sg_event_id IS 'SendGrid''s unique event id (1-255 characters); the same id again is a duplicate.';
COMMENT ON COLUMN @extschema@.sendgrid_events.event IS 'Event type as SendGrid sent it: processed, delivered, deferred, bounce, dropped, spamreport, unsubscribe, group_unsubscribe, group_resubscribe, open, click, or another (recorded, ignored).';
COMMENT ON COLUMN @extschema@.sendgrid_events.email IS 'Recipient address as SendGrid sent it; matched to sendgrid_contacts.email in lowercase.';
COMMENT ON COLUMN @extschema@.sendgrid_events.occurred_at IS 'When the event happened: SendGrid''s timestamp (Unix seconds).';
COMMENT ON COLUMN @extschema@.sendgrid_events.sg_message_id IS 'SendGrid''s id of the message the event is about, if sent.';
COMMENT ON COLUMN @extschema@.sendgrid_events.reason IS 'SendGrid''s reason (bounce, dropped, deferred), if sent.';
COMMENT ON COLUMN @extschema@.sendgrid_events.bounce_type IS 'SendGrid''s type of a bounce event: bounce (hard) or blocked; as sent.';
COMMENT ON COLUMN @extschema@.sendgrid_events.smtp_status IS 'SendGrid''s status field (an SMTP status code such as 5.1.1), if sent.';
COMMENT ON COLUMN @extschema@.sendgrid_events.asm_group_id IS 'Unsubscribe group (ASM group id) of the message or of a group_unsubscribe or group_resubscribe event, if sent.';
COMMENT ON COLUMN @extschema@.sendgrid_events.outcome IS 'applied (folded into the contact with this address) or ignored (an event type it does not read, a bounce of another type, a group event without group, or no contact with this address).';
COMMENT ON COLUMN @extschema@.sendgrid_events.payload IS 'The event''s JSON object as SendGrid sent it.';
COMMENT ON COLUMN @extschema@.sendgrid_events.received_at IS 'When the event was ingested (transaction time); old rows can be deleted by this column.';

COMMENT ON COLUMN @extschema@.sendgrid_contacts.bounce_type IS 'Type of the contact''s last bounce event (greatest by timestamp, then sg_event_id): bounce (hard; the status is then bounced) or blocked (transient); NULL if none.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.bounce_reason IS 'Reason SendGrid gave for that last bounce.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.bounced_at IS 'When that last bounce happened.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.bounce_event_id IS 'sg_event_id of that last bounce: the tie-break between bounces of the same second.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.spam_reported_at IS 'When the contact last reported a message as spam (SendGrid spamreport event); the status is then spam_report.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.suppressed_groups IS 'Unsubscribe groups (ASM group ids, ascending, no NULL) the contact left: those whose last group event is group_unsubscribe.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.asm_group_states IS 'Last group event of each unsubscribe group, as a JSON object of group id to {"event", "at" (Unix seconds), "id" (sg_event_id)}; suppressed_groups is derived from it.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.last_event IS 'Type of the contact''s last SendGrid event (greatest by timestamp, then sg_event_id).';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.last_event_at IS 'When that last event happened.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.last_event_id IS 'sg_event_id of that last event: the tie-break between events of the same second.';

COMMENT ON FUNCTION @extschema@.ingest_sendgrid_events(uuid, text, text, text, interval) IS
    'Verifies a SendGrid Event Webhook request (ECDSA P-256/SHA-256 over signed_at || payload with the integration''s config->>''verification_key'', signed_at within tolerance of now, NULL for no check) and ingests its events: each recorded once in sendgrid_events and folded into the suppression state of the tenant''s contact with that address; returns each event''s outcome (applied, duplicate, ignored). An application may ingest only for the current tenant''s integrations.';

-- Applications read their tenant's inbox; only the function writes it.
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.sendgrid_events TO marimo_admin;
GRANT SELECT ON @extschema@.sendgrid_events TO marimo_app;
SELECT @extschema@.isolate_tenant_rows('@extschema@.sendgrid_events');

REVOKE ALL ON FUNCTION @extschema@.ingest_sendgrid_events(uuid, text, text, text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ingest_sendgrid_events(uuid, text, text, text, interval)
    TO marimo_app, marimo_admin;
