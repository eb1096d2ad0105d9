-- Two-factor sign-in with TOTP (issue 11 item 3). The same SQL runs on SQLite and PostgreSQL.
--
-- totp_secret is the confirmed secret, totp_pending_secret one being set up; both are encrypted
-- (AES-256-GCM under a key derived from the server's session key) and base64-encoded.
-- totp_enabled_at is NULL while two-factor is off. totp_last_step is the time step of the last
-- code accepted: a code of that step or an earlier one is refused, so a code works once.
-- Recovery codes are stored as SHA-256 hashes; used_at marks one spent.

-- +goose Up
ALTER TABLE users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_pending_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMP;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

CREATE TABLE recovery_codes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX recovery_codes_user_hash ON recovery_codes (user_id, code_hash);

-- +goose Down
DROP TABLE recovery_codes;
ALTER TABLE users DROP COLUMN totp_last_step;
ALTER TABLE users DROP COLUMN totp_enabled_at;
ALTER TABLE users DROP COLUMN totp_pending_secret;
ALTER TABLE users DROP COLUMN totp_secret;
