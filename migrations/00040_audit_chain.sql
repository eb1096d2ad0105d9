-- Tamper-evident audit log and attribution (issue 11 item 6, issue 8 item 3).
-- The same SQL runs on SQLite and PostgreSQL.
--
-- Every entry belongs to one chain: 'a:<account id>' for entries about an account, 'u:<user id>'
-- for a user's own entries outside any account (sign-ins, their tokens), 'system' otherwise.
-- seq numbers a chain's entries from 1 without gaps; hash is the SHA-256 over the entry's content
-- and prev_hash, the hash of the chain's previous entry (or of the retention checkpoint). Appends
-- lock the chain's row in audit_chains, so concurrent writers never fork a chain.
-- token_id / token_name name the API token a change was made with (the actor is then the token's
-- user, or the token itself for account-owned tokens); resource_name names the resource beside its
-- id (record name, member email, token name).

-- +goose Up
ALTER TABLE audit_entries ADD COLUMN token_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_entries ADD COLUMN token_name TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_entries ADD COLUMN resource_name TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_entries ADD COLUMN chain TEXT;
ALTER TABLE audit_entries ADD COLUMN seq BIGINT;
ALTER TABLE audit_entries ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_entries ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_entries_chain_seq ON audit_entries (chain, seq);
CREATE INDEX audit_entries_token ON audit_entries (token_id);

-- The head of each chain: its last seq and hash.
CREATE TABLE audit_chains (
    chain TEXT PRIMARY KEY,
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);

-- What retention pruned: entries of chain up to seq are gone, the last of them had hash; the
-- signature (HMAC-SHA256 with the server's audit key) lets verification start from here.
CREATE TABLE audit_checkpoints (
    chain      TEXT PRIMARY KEY,
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    pruned_at  TIMESTAMP NOT NULL,
    signature  TEXT NOT NULL
);

-- How far each chain was last verified (the audit page's "chain verified up to").
CREATE TABLE audit_verified (
    chain       TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    entry_at    TIMESTAMP NOT NULL,
    verified_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE audit_verified;
DROP TABLE audit_checkpoints;
DROP TABLE audit_chains;
DROP INDEX audit_entries_token;
DROP INDEX audit_entries_chain_seq;
ALTER TABLE audit_entries DROP COLUMN hash;
ALTER TABLE audit_entries DROP COLUMN prev_hash;
ALTER TABLE audit_entries DROP COLUMN seq;
ALTER TABLE audit_entries DROP COLUMN chain;
ALTER TABLE audit_entries DROP COLUMN resource_name;
ALTER TABLE audit_entries DROP COLUMN token_name;
ALTER TABLE audit_entries DROP COLUMN token_id;
