-- +goose Up
-- Fixed-window counters of internal/ratelimit when PostgreSQL is the shared store (several server
-- processes on one database without Redis). One row per limit and key; the window restarts when a
-- request arrives after expires_at (milliseconds since the Unix epoch). SQLite creates the table
-- too, unused: a single SQLite process keeps its counters in memory.
CREATE TABLE rate_limits (
    key        TEXT PRIMARY KEY,
    count      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX rate_limits_expires ON rate_limits (expires_at);

-- +goose Down
DROP TABLE rate_limits;
