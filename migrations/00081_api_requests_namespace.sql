-- The Workers KV namespace an API request acted on ('' for other routes), so a token's usage view
-- can say which of the namespaces it names it used.

-- +goose Up
ALTER TABLE api_requests ADD COLUMN namespace_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE api_requests DROP COLUMN namespace_id;
