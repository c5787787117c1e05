-- Scenarios 3 and 5: one API request logged into the seed's unpartitioned api_usage_logs (key, foreign key, four indexes).
\set t random(1, :ntenants)
\set ms random(3, 1500)
\set e random(1, 100)
INSERT INTO reference.api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms, request_size_bytes, response_size_bytes)
VALUES (('00000000-0000-4000-8000-' || lpad(to_hex(:t::int), 12, '0'))::uuid, 'GET', '/v1/invoices/{id}', CASE WHEN :e::int > 99 THEN 503 ELSE 200 END, :ms::int, 0, 2048);
