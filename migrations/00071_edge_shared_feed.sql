-- The edge follows the shared change feed (auth_changes, with LISTEN/NOTIFY on PostgreSQL) since
-- it landed; its own feed tables from 00070 are no longer used.

-- +goose Up
DROP TABLE edge_changes;
DROP TABLE edge_change_counter;

-- +goose Down
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
