-- DNS records of a zone, their tags, and the record of cache purge requests.
-- The same SQL runs on SQLite and PostgreSQL: TEXT ids, TIMESTAMP in UTC, BOOLEAN, JSON kept as TEXT.

-- +goose Up
-- A DNS record. name is the lower-case FQDN without a trailing dot; content is the stored form
-- (internal/dns documents it per type; TXT holds the unquoted value); data holds the JSON
-- components of SRV and CAA records. identity is the SHA-256 (hex) of type, name, content and
-- priority: two records with the same identity in a zone are identical, which the unique index
-- refuses.
CREATE TABLE dns_records (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    zone_id    TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    name       TEXT NOT NULL,
    content    TEXT NOT NULL,
    data       TEXT,
    ttl        INTEGER NOT NULL DEFAULT 1,
    proxied    BOOLEAN NOT NULL DEFAULT FALSE,
    priority   INTEGER,
    comment    TEXT NOT NULL DEFAULT '',
    identity   TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX dns_records_identity ON dns_records (zone_id, identity);
CREATE INDEX dns_records_zone_name ON dns_records (zone_id, name);

-- Tags ("name:value") of a DNS record; a name appears at most once per record.
CREATE TABLE dns_record_tags (
    record_id TEXT NOT NULL REFERENCES dns_records (id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    value     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (record_id, name)
);

-- One row per accepted cache purge request. kind is everything, files, tags, hosts or prefixes;
-- items is the JSON array of what was purged (empty for everything). actor_type and actor_id name
-- the token or user that asked.
CREATE TABLE purge_requests (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    zone_id    TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    items      TEXT NOT NULL DEFAULT '[]',
    actor_type TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX purge_requests_zone ON purge_requests (zone_id, created_at);

-- +goose Down
DROP TABLE purge_requests;
DROP TABLE dns_record_tags;
DROP TABLE dns_records;
