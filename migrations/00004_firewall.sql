-- IP access rules at zone scope (zone_id set) and account scope (zone_id NULL).
-- scope_key is the zone id, or '' for account scope: unique indexes treat NULLs as distinct, so the
-- duplicate check (same scope, target and value) needs a NOT NULL column.

-- +goose Up
CREATE TABLE firewall_access_rules (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    zone_id    TEXT REFERENCES zones (id) ON DELETE CASCADE,
    scope_key  TEXT NOT NULL,
    mode       TEXT NOT NULL,
    target     TEXT NOT NULL,
    value      TEXT NOT NULL,
    notes      TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX firewall_access_rules_scope_config ON firewall_access_rules (account_id, scope_key, target, value);
CREATE INDEX firewall_access_rules_zone ON firewall_access_rules (zone_id);

-- +goose Down
DROP TABLE firewall_access_rules;
