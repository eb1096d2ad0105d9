-- The DNS change feed: every change to a zone or a DNS record bumps dns_change_counter and
-- appends a dns_changes row with the new sequence number, in the same transaction as the change.
-- The counter's row lock serialises writers, so sequence numbers become visible in order. Every
-- server process polls the counter and reloads only what the new rows name into its in-memory
-- zone index (internal/dnsserver). record_id is '' for a change to the zone itself (created,
-- paused, deleted).

-- +goose Up
CREATE TABLE dns_change_counter (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO dns_change_counter (id, seq) VALUES (1, 0);

CREATE TABLE dns_changes (
    seq        BIGINT PRIMARY KEY,
    zone_id    TEXT NOT NULL,
    record_id  TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX dns_changes_created_at ON dns_changes (created_at);

-- +goose Down
DROP TABLE dns_changes;
DROP TABLE dns_change_counter;
