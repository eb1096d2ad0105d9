-- The HTTP edge (internal/edge): its change feed, its running processes, when each purge took
-- effect, and its traffic counts. The same SQL runs on SQLite and PostgreSQL.

-- +goose Up
-- The edge's change feed: purges and access rule changes that every edge process applies within a
-- second. Writers bump edge_change_counter and append an edge_changes row with the new sequence
-- number in the same transaction as the change; edge processes poll for rows above the last one
-- they applied. kind is 'purge' (subject: purge request id) or 'firewall' (subject: account id).
CREATE TABLE edge_change_counter (
    id  INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO edge_change_counter (id, seq) VALUES (1, 0);

CREATE TABLE edge_changes (
    seq        BIGINT PRIMARY KEY,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX edge_changes_created ON edge_changes (created_at);

-- When an edge process last applied the purge (NULL: no edge process has applied it yet).
ALTER TABLE purge_requests ADD COLUMN applied_at TIMESTAMP;

-- Running edge processes: each one refreshes its row every few seconds, so the dashboard can tell
-- whether the edge is running. geoip says whether it can evaluate ASN and country rules.
CREATE TABLE edge_nodes (
    id         TEXT PRIMARY KEY,
    addr       TEXT NOT NULL,
    geoip      BOOLEAN NOT NULL DEFAULT FALSE,
    started_at TIMESTAMP NOT NULL,
    seen_at    TIMESTAMP NOT NULL
);

-- Edge traffic of a zone in one minute (minute: Unix seconds at the start of the minute, UTC), as
-- one edge process counted it between two flushes: several rows may cover the same zone and
-- minute and are summed when read. status holds {"200": n, ...}, countries {"NL": n, ...},
-- threat_rules {rule id: n} as JSON; uniques is a base64 HyperLogLog sketch of client addresses.
CREATE TABLE edge_traffic (
    id              TEXT PRIMARY KEY,
    zone_id         TEXT NOT NULL,
    minute          BIGINT NOT NULL,
    requests        BIGINT NOT NULL DEFAULT 0,
    bytes           BIGINT NOT NULL DEFAULT 0,
    cached_requests BIGINT NOT NULL DEFAULT 0,
    cached_bytes    BIGINT NOT NULL DEFAULT 0,
    threats         BIGINT NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT '{}',
    countries       TEXT NOT NULL DEFAULT '{}',
    threat_rules    TEXT NOT NULL DEFAULT '{}',
    uniques         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX edge_traffic_zone_minute ON edge_traffic (zone_id, minute);

-- +goose Down
DROP TABLE edge_traffic;
DROP TABLE edge_nodes;
ALTER TABLE purge_requests DROP COLUMN applied_at;
DROP TABLE edge_changes;
DROP TABLE edge_change_counter;
