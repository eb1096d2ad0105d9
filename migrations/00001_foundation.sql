-- Users, accounts, memberships, zones, dashboard sessions and the audit log.
-- The same SQL runs on SQLite and PostgreSQL: TEXT ids, TIMESTAMP in UTC, BOOLEAN, JSON kept as TEXT.

-- +goose Up
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);

CREATE TABLE accounts (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    type              TEXT NOT NULL DEFAULT 'standard',
    enforce_twofactor BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);

-- A membership gives a user a role in an account, over all of its zones (zone_ids NULL) or the
-- zones listed in zone_ids (a JSON array). Pending memberships are invitations: user_id is NULL
-- until accepted and invite_code_hash holds the SHA-256 of the one-time code.
CREATE TABLE memberships (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id          TEXT REFERENCES users (id) ON DELETE CASCADE,
    email            TEXT NOT NULL,
    role_id          TEXT NOT NULL,
    zone_ids         TEXT,
    status           TEXT NOT NULL,
    invite_code_hash TEXT,
    invited_by       TEXT,
    expires_at       TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX memberships_account_email ON memberships (account_id, email);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE zones (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'active',
    paused     BOOLEAN NOT NULL DEFAULT FALSE,
    type       TEXT NOT NULL DEFAULT 'full',
    plan       TEXT NOT NULL DEFAULT 'free',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX zones_account_name ON zones (account_id, name);
CREATE INDEX zones_name ON zones (name);

-- Dashboard sessions live on the server so that signing out ends them for good. id is the SHA-256
-- (hex) of the random session secret held in the signed cookie.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id   TEXT,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- The audit log is append-only and outlives the objects it names, so it has no foreign keys.
CREATE TABLE audit_entries (
    id            TEXT PRIMARY KEY,
    account_id    TEXT,
    owner_user_id TEXT,
    actor_type    TEXT NOT NULL,
    actor_id      TEXT NOT NULL,
    actor_email   TEXT NOT NULL DEFAULT '',
    actor_ip      TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT '',
    interface     TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL DEFAULT '',
    resource_id   TEXT NOT NULL DEFAULT '',
    zone_id       TEXT NOT NULL DEFAULT '',
    zone_name     TEXT NOT NULL DEFAULT '',
    old_value     TEXT,
    new_value     TEXT,
    result        BOOLEAN NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX audit_entries_account ON audit_entries (account_id, created_at);
CREATE INDEX audit_entries_owner ON audit_entries (owner_user_id, created_at);

-- +goose Down
DROP TABLE audit_entries;
DROP TABLE sessions;
DROP TABLE zones;
DROP TABLE memberships;
DROP TABLE accounts;
DROP TABLE users;
