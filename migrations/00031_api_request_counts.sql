-- api_requests rows become aggregates: the recorder (internal/analytics) counts requests in memory
-- per (minute, zone, token, route, method, status, permission group, outcome, client address) and
-- writes one row per group with its count; ts is the latest request of the group, bytes the sum.
-- Rows written before hold one request each. The same SQL runs on SQLite and PostgreSQL.

-- +goose Up
ALTER TABLE api_requests ADD COLUMN requests BIGINT NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE api_requests DROP COLUMN requests;
