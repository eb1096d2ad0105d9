-- One-time links sent by mail (issue 11 item 4): password reset, sign-up confirmation, email
-- change. The same SQL runs on SQLite and PostgreSQL.
--
-- id is the SHA-256 of the link's secret (the secret itself is only in the mail). kind is
-- 'password_reset', 'signup' or 'email_change'. payload holds what the link completes (a pending
-- sign-up's password hash and names, as JSON); used_at marks a link spent: each works once.

-- +goose Up
CREATE TABLE email_tokens (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    payload    TEXT NOT NULL DEFAULT '',
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX email_tokens_user ON email_tokens (user_id);

-- +goose Down
DROP TABLE email_tokens;
