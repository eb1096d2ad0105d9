-- Mails about tokens (issue 11 item 1): "expires in 7 days / 1 day" and "reported as leaked and
-- disabled". One row per notice sent, so a periodic scan that runs in several processes, or
-- again after a crash, mails each notice once. The same SQL runs on SQLite and PostgreSQL.

-- +goose Up
CREATE TABLE token_notices (
    token_id TEXT NOT NULL,
    kind     TEXT NOT NULL,
    sent_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (token_id, kind)
);

-- +goose Down
DROP TABLE token_notices;
