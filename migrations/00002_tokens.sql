-- API tokens and the change feed that keeps every server process's token cache fresh.
-- The same SQL runs on SQLite and PostgreSQL.

-- +goose Up
-- An API token is user-owned (owner_kind 'user', user_id set: it acts for its user within the
-- user's current access) or account-owned (owner_kind 'account', account_id set: it acts for the
-- account and survives its creator leaving). Only the SHA-256 of the secret is kept; secret_hint
-- is the display prefix. policies and condition hold the API's wire JSON.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    owner_kind   TEXT NOT NULL CHECK (owner_kind IN ('user', 'account')),
    user_id      TEXT REFERENCES users (id) ON DELETE CASCADE,
    account_id   TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    created_by   TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL,
    policies     TEXT NOT NULL,
    condition    TEXT,
    not_before   TIMESTAMP,
    expires_on   TIMESTAMP,
    status       TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    secret_hash  TEXT NOT NULL,
    secret_hint  TEXT NOT NULL,
    parent_id    TEXT,
    issued_on    TIMESTAMP NOT NULL,
    modified_on  TIMESTAMP NOT NULL,
    last_used_on TIMESTAMP,
    CHECK ((owner_kind = 'user' AND user_id IS NOT NULL AND account_id IS NULL)
        OR (owner_kind = 'account' AND account_id IS NOT NULL AND user_id IS NULL))
);
CREATE UNIQUE INDEX api_tokens_secret_hash ON api_tokens (secret_hash);
CREATE INDEX api_tokens_user ON api_tokens (user_id, issued_on);
CREATE INDEX api_tokens_account ON api_tokens (account_id, issued_on);

-- The change feed: every change that can alter what a credential may do (a token updated,
-- rolled or deleted; a membership or role changed) bumps the single counter row and appends one
-- auth_changes row with the new sequence number, in the same transaction as the change. The
-- counter's row lock serialises writers, so sequence numbers become visible in order. Every
-- process polls the counter and drops what the new rows name from its cache.
CREATE TABLE auth_change_counter (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO auth_change_counter (id, seq) VALUES (1, 0);

CREATE TABLE auth_changes (
    seq        BIGINT PRIMARY KEY,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE auth_changes;
DROP TABLE auth_change_counter;
DROP TABLE api_tokens;
