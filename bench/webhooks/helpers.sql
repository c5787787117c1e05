-- Helpers of bench/webhooks/run, in the benchmark's database (schema bench_wh).

CREATE SCHEMA bench_wh;

-- The payload of every event: an order, about 200 bytes of JSON.
CREATE FUNCTION bench_wh.payload(n bigint) RETURNS jsonb LANGUAGE sql IMMUTABLE
AS $$ SELECT jsonb_build_object('order', 'ORD-' || lpad(n::text, 8, '0'), 'customer', 'CUS-00042',
                                'amount', '1234.50', 'currency', 'EUR', 'status', 'paid',
                                'lines', jsonb_build_array(jsonb_build_object('sku', 'SKU-1', 'qty', 2),
                                                           jsonb_build_object('sku', 'SKU-2', 'qty', 1))) $$;

CREATE FUNCTION bench_wh.tenant(label text) RETURNS uuid LANGUAGE sql STABLE
AS $$ SELECT id FROM tenants WHERE slug = 'bench-wh-' || label $$;

-- A tenant with `endpoints` webhooks base_url/e1 ... base_url/eN subscribed to
-- every event, each allowed 64 requests in flight.
CREATE PROCEDURE bench_wh.setup(label text, endpoints integer, base_url text)
LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
BEGIN
    INSERT INTO tenants (slug, name, status, plan, subscription_status)
    VALUES ('bench-wh-' || label, 'Webhook bench ' || label, 'active', 'professional', 'active')
    RETURNING id INTO t;
    PERFORM create_webhook(t, base_url || '/e' || i, '{*}') FROM generate_series(1, endpoints) AS i;
    UPDATE webhooks SET max_in_flight = 64 WHERE tenant_id = t;
END $$;

-- Emits `events` events in one transaction; the caller commits.
CREATE FUNCTION bench_wh.emit(t uuid, events integer) RETURNS bigint LANGUAGE sql VOLATILE
AS $$ SELECT count(emit_webhook_event(t, 'order.paid', bench_wh.payload(i))) FROM generate_series(1, events) AS i $$;

-- Called right after the COMMIT of an emit: waits (polling every 20 ms, each
-- poll in its own transaction so that no snapshot is held) until no delivery
-- of the tenant is pending or in progress, at most timeout_s. started_at is
-- when it was called (the commit, give or take one client round trip).
-- Times are epoch seconds.
CREATE PROCEDURE bench_wh.wait_done(t uuid, timeout_s float8,
                                    INOUT started_at float8 DEFAULT NULL,
                                    INOUT finished_at float8 DEFAULT NULL,
                                    INOUT remaining bigint DEFAULT NULL,
                                    INOUT polls integer DEFAULT NULL)
LANGUAGE plpgsql AS $$
BEGIN
    started_at := extract(epoch FROM clock_timestamp());
    polls := 0;
    LOOP
        SELECT count(*) INTO remaining FROM webhook_deliveries
         WHERE tenant_id = t AND status IN ('pending', 'in_progress');
        finished_at := extract(epoch FROM clock_timestamp());
        polls := polls + 1;
        EXIT WHEN remaining = 0 OR finished_at > started_at + timeout_s;
        COMMIT;
        PERFORM pg_sleep(0.02);
    END LOOP;
END $$;

-- Emits n events one at a time, gap_ms apart, each committed on its own, and
-- keeps each event's id with the time right after its COMMIT returned (and,
-- for a bracket, the time right before it: the commit, and the worker's wake-up
-- at commit, happen in between).
CREATE TABLE bench_wh.commits (
    event_id      uuid        PRIMARY KEY,
    committed_at  timestamptz NOT NULL,
    before_commit timestamptz NOT NULL
);

CREATE PROCEDURE bench_wh.latency(t uuid, n integer, gap_ms integer)
LANGUAGE plpgsql AS $$
DECLARE
    ev uuid;
    ids uuid[] := '{}';
    afters timestamptz[] := '{}';
    befores timestamptz[] := '{}';
    before timestamptz;
BEGIN
    FOR i IN 1..n LOOP
        ev := emit_webhook_event(t, 'order.paid', bench_wh.payload(i));
        before := clock_timestamp();
        COMMIT;
        afters := afters || clock_timestamp();
        befores := befores || before;
        ids := ids || ev;
        PERFORM pg_sleep(gap_ms / 1000.0);
    END LOOP;
    INSERT INTO bench_wh.commits SELECT * FROM unnest(ids, afters, befores);
END $$;

-- Forgets every event, delivery and log row (between runs, with the worker idle).
CREATE PROCEDURE bench_wh.reset()
LANGUAGE sql AS $$
    TRUNCATE webhook_logs, webhook_deliveries, webhook_events;
$$;
