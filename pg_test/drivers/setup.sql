-- One tenant with usage at four instants around two UTC midnights: the window
-- [2025-03-02 00:00Z, 2025-03-03 00:00Z) holds 10 + 100 = 110, and every client
-- that names that window in its own time type must get 110, whatever the time
-- zones of its process, its session and the server.
SET client_min_messages = warning;
CREATE EXTENSION marimo_erp;
INSERT INTO tenants (id, slug, name, max_users, limits)
VALUES ('33333333-3333-4333-8333-333333333333', 'drivers', 'Drivers', 50, '{"api_calls_per_day": 100}');
SELECT count(record_usage('33333333-3333-4333-8333-333333333333', 'api_calls', v, at))
  FROM (VALUES (1, '2025-03-01 23:30:00+00'::timestamptz), (10, '2025-03-02 00:30:00+00'),
               (100, '2025-03-02 23:30:00+00'), (1000, '2025-03-03 00:30:00+00')) AS u(v, at);

-- A second tenant and an application login for the pooled checks: through
-- PgBouncer in transaction mode each transaction sets its tenant and sees
-- only it.
INSERT INTO tenants (id, slug, name) VALUES ('44444444-4444-4444-8444-444444444444', 'drivers-two', 'Drivers Two');
DROP ROLE IF EXISTS marimo_driver_app;
CREATE ROLE marimo_driver_app LOGIN IN ROLE marimo_app;
