-- User profile fields of the /user endpoint, and the per-request log behind zone analytics and
-- per-token usage. The same SQL runs on SQLite and PostgreSQL.

-- +goose Up
ALTER TABLE users ADD COLUMN first_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN last_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN telephone TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN zipcode TEXT NOT NULL DEFAULT '';

-- One row per authenticated API request, written in batches (internal/analytics). ts is the
-- request time in Unix seconds (UTC), so that hourly and daily buckets are the same integer
-- arithmetic on both databases. route is the route table pattern, never the raw path;
-- permission_group is the id of the group the route needed ('' for routes that need none);
-- allowed is false when authorization refused the request. zone_id / account_id are '' when the
-- route has none. bytes is the size of the response body; ip the client address (for uniques).
-- Rows have no foreign keys: a deleted token or zone keeps its history until it ages out.
CREATE TABLE api_requests (
    id               TEXT PRIMARY KEY,
    ts               BIGINT NOT NULL,
    method           TEXT NOT NULL,
    route            TEXT NOT NULL,
    status           INTEGER NOT NULL,
    token_id         TEXT NOT NULL,
    account_id       TEXT NOT NULL DEFAULT '',
    zone_id          TEXT NOT NULL DEFAULT '',
    permission_group TEXT NOT NULL DEFAULT '',
    allowed          BOOLEAN NOT NULL,
    bytes            BIGINT NOT NULL DEFAULT 0,
    ip               TEXT NOT NULL DEFAULT ''
);
CREATE INDEX api_requests_zone ON api_requests (zone_id, ts);
CREATE INDEX api_requests_token ON api_requests (token_id, ts);

-- +goose Down
DROP TABLE api_requests;
ALTER TABLE users DROP COLUMN zipcode;
ALTER TABLE users DROP COLUMN country;
ALTER TABLE users DROP COLUMN telephone;
ALTER TABLE users DROP COLUMN last_name;
ALTER TABLE users DROP COLUMN first_name;
