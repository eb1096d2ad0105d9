-- Workers KV namespaces and their key/value pairs.
--
-- Keys and values are byte strings. BYTEA is PostgreSQL's binary type; SQLite accepts any type
-- name and gives BYTEA NUMERIC affinity, which never converts a BLOB, and the store always binds
-- []byte, so both databases hold and compare raw bytes: ORDER BY key is byte order on both (a TEXT
-- key would sort by the PostgreSQL database's collation instead).
-- expiration is unix seconds, NULL for keys that never expire; expired rows are invisible to reads
-- and purged lazily.

-- +goose Up
CREATE TABLE kv_namespaces (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX kv_namespaces_account_title ON kv_namespaces (account_id, title);

CREATE TABLE kv_pairs (
    namespace_id TEXT NOT NULL REFERENCES kv_namespaces (id) ON DELETE CASCADE,
    key          BYTEA NOT NULL,
    value        BYTEA NOT NULL,
    metadata     TEXT,
    expiration   BIGINT,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (namespace_id, key)
);
CREATE INDEX kv_pairs_expiration ON kv_pairs (expiration);

-- +goose Down
DROP TABLE kv_pairs;
DROP TABLE kv_namespaces;
