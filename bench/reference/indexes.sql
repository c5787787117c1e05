-- The seed's keys and indexes of api_usage_logs, added to the reference copy after
-- its bulk load (bench/run loads the rows first: building an index over sorted
-- rows is faster and leaves it denser than growing it row by row).
ALTER TABLE reference.api_usage_logs
    ADD CONSTRAINT api_usage_logs_pkey PRIMARY KEY (tenant_id, id),
    ADD CONSTRAINT api_usage_logs_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES public.tenants (id) ON DELETE CASCADE;
CREATE INDEX api_usage_logs_tenant_id_created_at_idx ON reference.api_usage_logs (tenant_id, created_at);
CREATE INDEX api_usage_logs_tenant_id_endpoint_created_at_idx
    ON reference.api_usage_logs (tenant_id, endpoint, created_at);
CREATE INDEX api_usage_logs_tenant_id_status_code_idx ON reference.api_usage_logs (tenant_id, status_code);
CREATE INDEX api_usage_logs_created_at_idx ON reference.api_usage_logs (created_at);
