-- Indexes that serve every list's filter and order, so that a page costs what a page costs
-- (issue 10). Each list's query plan is checked by internal/store's TestListQueryPlans on SQLite
-- and PostgreSQL. The same SQL runs on both.

-- +goose Up
-- DNS records: the default order (type, then name) and DNS constraints on types.
CREATE INDEX dns_records_zone_type_name ON dns_records (zone_id, type, name);
-- order=name (both directions), and DNS constraints on names.
DROP INDEX dns_records_zone_name;
CREATE INDEX dns_records_zone_name ON dns_records (zone_id, name, type);

-- Audit log: newest first with id as the tie-break, per account and per user.
DROP INDEX audit_entries_account;
CREATE INDEX audit_entries_account ON audit_entries (account_id, created_at, id);
DROP INDEX audit_entries_owner;
CREATE INDEX audit_entries_owner ON audit_entries (owner_user_id, created_at, id);

-- Members in the order they joined.
CREATE INDEX memberships_account_created ON memberships (account_id, created_at, id);

-- IP access rules of one scope, oldest first.
CREATE INDEX firewall_access_rules_scope_created ON firewall_access_rules (account_id, scope_key, created_at, id);

-- KV namespaces of an account, oldest first.
CREATE INDEX kv_namespaces_account_created ON kv_namespaces (account_id, created_at, id);

-- +goose Down
DROP INDEX kv_namespaces_account_created;
DROP INDEX firewall_access_rules_scope_created;
DROP INDEX memberships_account_created;
DROP INDEX audit_entries_owner;
CREATE INDEX audit_entries_owner ON audit_entries (owner_user_id, created_at);
DROP INDEX audit_entries_account;
CREATE INDEX audit_entries_account ON audit_entries (account_id, created_at);
DROP INDEX dns_records_zone_name;
CREATE INDEX dns_records_zone_name ON dns_records (zone_id, name);
DROP INDEX dns_records_zone_type_name;
